#!/usr/bin/env python3
"""Fan-out at scale, in one process: 20 feeds x 50 items through an SQS FIFO queue (moto).

    .venv/bin/python bench/fanout.py [--feeds 20] [--items 50] [--delay 0.1] [--workers 10]
                                     [--repeat 3]

The poller (fan-out mode) polls every feed and queues one message per item; worker threads,
standing in for concurrent Lambda invocations, receive batches of 10 and run the worker's own
code on them (each with the default concurrency of 8). Every HTTP response is ``delay`` late.
The queue is an in-memory stand-in speaking SQS's three calls (moto's in-process SQS is too slow
and not thread-safe for this); SQS semantics are tested against moto in tests/test_fanout.py.

Floor: the poller asks the feeds 8 at a time (ceil(feeds / 8) x delay), then the workers'
latency bound ceil(items / (workers x 8)) x delay, unless the CPU time (one process, one GIL)
is longer. Printed: throughput, wall time, floor, their ratio. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import FIXTURE_ID, FIXTURE_PAGE, Answer, DelayedSite, spread_of  # noqa: E402

CONCURRENCY = 8


class MemorySQS:
    """send_message_batch / receive_message / delete_message, thread-safe, in memory."""

    def __init__(self) -> None:
        self.waiting: list[dict] = []
        self.lock = threading.Lock()
        self.sent = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:  # noqa: N803
        with self.lock:
            for entry in Entries:
                self.sent += 1
                attributes = {
                    "ApproximateReceiveCount": "1",
                    "MessageGroupId": entry["MessageGroupId"],
                }
                message = {"MessageId": f"m{self.sent}", "Body": entry["MessageBody"]}
                message |= {"ReceiptHandle": f"r{self.sent}", "Attributes": attributes}
                self.waiting.append(message)
        return {"Successful": Entries}

    def receive_message(self, QueueUrl: str, MaxNumberOfMessages: int, **_: object) -> dict:  # noqa: N803
        with self.lock:
            batch, self.waiting = (
                self.waiting[:MaxNumberOfMessages],
                self.waiting[MaxNumberOfMessages:],
            )
        return {"Messages": batch}

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:  # noqa: N803
        pass  # received messages are already out of `waiting`


class ManyFeeds(DelayedSite):
    """``feeds`` feeds at /feed/<n>/rss, each listing its own ``items`` articles."""

    def __init__(self, feeds: int, items: int, delay: float) -> None:
        super().__init__(feeds * items, delay)
        template = FIXTURE_PAGE.read_bytes()  # this measures the fan-out, not the extraction
        self.pages = {
            path: template.replace(FIXTURE_ID, path.rsplit("-id", 1)[1][:-5].encode())
            for path in self.pages
        }
        self.feed_count, self.per_feed = feeds, items

    def feed(self, number: int = 0) -> bytes:  # type: ignore[override]
        base = self.base
        paths = list(self.pages)[number * self.per_feed : (number + 1) * self.per_feed]
        items = "".join(f"<item><title>K: T</title><link>{base}{p}</link></item>" for p in paths)
        return f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()

    @property
    def base(self) -> str:
        return self.server.base

    def _respond(self, path: str, headers: Mapping[str, str]) -> Answer:
        if not path.startswith("/feed/"):  # an article
            return super()._respond(path, headers)
        time.sleep(self.delay)  # /feed/<n>/rss -> that feed
        self.hits["feed"] += 1
        return Answer(200, self.feed(int(path.split("/")[2])), "application/rss+xml")


def one_round(args: argparse.Namespace) -> dict:
    """One poll of every feed and the workers draining the queue; the round's figures."""
    from handler.core.config import FetchSettings, RunSettings
    from handler.ingest.feeds import FeedConfig
    from handler.run.context import RunContext
    from handler.run.fanout import WorkQueue, fanout_poll
    from handler.run.worker import DeadLetters, process_batch

    site = ManyFeeds(args.feeds, args.items, args.delay)
    items = args.feeds * args.items
    with tempfile.TemporaryDirectory() as store:
        sqs, queue = MemorySQS(), "memory://work.fifo"
        settings = RunSettings(
            store=store, concurrency=CONCURRENCY, mode="fanout", queue_url=queue,
            fetch=FetchSettings(extra_hosts=frozenset({"127.0.0.1"})),
        )  # fmt: skip
        feeds = [
            FeedConfig(name=f"f{n}", url=f"{site.base}/feed/{n}/rss") for n in range(args.feeds)
        ]
        wall0, cpu0 = time.perf_counter(), time.process_time()
        queued = fanout_poll(RunContext(settings), feeds, WorkQueue(queue, client=sqs)).queued
        poll_s = time.perf_counter() - wall0
        archived = []
        lock = threading.Lock()

        def lambda_worker() -> None:
            pipeline = RunContext(settings)
            while True:
                got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                          AttributeNames=["All"]).get("Messages", [])  # fmt: skip
                if not got:
                    return
                records = [
                    {"messageId": m["MessageId"], "body": m["Body"],
                     "attributes": m["Attributes"], "eventSource": "aws:sqs"}
                    for m in got
                ]  # fmt: skip
                failures, summary = process_batch(pipeline, records, DeadLetters(None))
                failed = {f["itemIdentifier"] for f in failures}
                for message in got:
                    if message["MessageId"] not in failed:
                        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
                with lock:
                    archived.append(summary.counts["new"])

        threads = [threading.Thread(target=lambda_worker) for _ in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        stored = len(list(Path(store).glob("articles/*/*/*/*.json")))
    site.stop()

    poll_floor = math.ceil(args.feeds / CONCURRENCY) * args.delay
    latency_bound = poll_floor + math.ceil(items / (args.workers * CONCURRENCY)) * args.delay
    floor = max(latency_bound, poll_floor + cpu)
    print(f"round: queued {queued}, archived {sum(archived)} ({stored} stored); wall "
          f"{wall:.2f} s (poll {poll_s:.2f} s), CPU {cpu:.2f} s, floor {floor:.2f} s (latency "
          f"bound {latency_bound:.2f} s, CPU-bound {poll_floor + cpu:.2f} s): "
          f"ratio {wall / floor:.2f}x")  # fmt: skip
    return {"items": items, "stored": stored, "wall_s": wall, "floor_s": floor,
            "ratio": wall / floor, "articles_per_s": items / wall}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    args = parser.parse_args()
    print(f"{args.feeds} feeds x {args.items} items, {args.delay * 1000:.0f} ms per response, "
          f"{args.workers} workers x {CONCURRENCY}")  # fmt: skip
    rounds = [one_round(args) for _ in range(max(1, args.repeat))]
    ratio = spread_of([r["ratio"] for r in rounds])
    rate = spread_of([r["articles_per_s"] for r in rounds])
    print(f"ratio median {ratio['median']:.2f}x (min {ratio['min']:.2f}x, max "
          f"{ratio['max']:.2f}x over {ratio['runs']} rounds); throughput median "
          f"{rate['median']:.0f} articles/s")  # fmt: skip
    stored = min(r["stored"] for r in rounds)
    items = rounds[0]["items"]
    figures = {"fanout_items": items, "fanout_archived": stored,
               "fanout_wall_s": spread_of([r["wall_s"] for r in rounds])["median"],
               "fanout_floor_s": spread_of([r["floor_s"] for r in rounds])["median"],
               "fanout_ratio": ratio["median"], "fanout_ratio_runs": ratio,
               "fanout_articles_per_s": rate["median"]}  # fmt: skip
    print(json.dumps(figures))
    return 0 if stored == items else 1


if __name__ == "__main__":
    sys.exit(main())
