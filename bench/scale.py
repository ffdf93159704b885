#!/usr/bin/env python3
"""Reading and re-extracting at archive scale: list, export, reprocess, parked articles.

    .venv/bin/python bench/scale.py [--sizes 1000,10000,100000] [--s3-sizes 1000,10000]
                                    [--reprocess-size 10000] [--workers 1,4,8] [--rounds 3]

Archives of each size are written through the project's own write path (bench/synthetic.py:
100 articles a publication day) into a local directory, cached under --cache between runs.
For S3, the same objects are uploaded to moto in server mode (a separate process, a real HTTP
endpoint), so each request is a real round trip.

Printed per size: `list` store requests and days covered, wall time (median and spread of
--rounds runs); `export` documents/s with sequential and parallel reads and their ratio, and
the peak RSS and wall time of an export run as its own process (local and S3). Reprocess (on
--reprocess-size documents, 10% made stale before each run so some versions are written):
inline in invocations of
--budget seconds until complete (invocations, documents/s), and through an SQS queue (moto)
drained by 1, 4 and 8 worker processes (documents/s per worker, total wall time). Parked:
the idle poll's store requests and store time with 50,000 parked records. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")  # the runs' own logs are not the report
ROOT = Path(__file__).resolve().parents[1]

from common import Answer, CountingStore, LocalServer  # noqa: E402
from synthetic import build_archive, make_stale  # noqa: E402

DOCS_PER_DAY = 100


def median_spread(samples: list[float]) -> dict[str, float]:
    middle = statistics.median(samples)
    spread = (max(samples) - min(samples)) / middle if middle else 0.0
    return {"median": round(middle, 4), "spread": round(spread, 3), "runs": len(samples)}


def rounds(run: Callable[[], float], count: int) -> dict[str, float]:
    return median_spread([run() for _ in range(count)])


def built(cache: Path, size: int) -> Path:
    root = cache / f"archive-{size}"
    marker = root / ".built"
    if marker.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    build_archive(str(root), size, max(1, size // DOCS_PER_DAY))
    marker.write_text(json.dumps({"documents": size, "build_s": time.perf_counter() - started}))
    return root


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# --- list ------------------------------------------------------------------------------------


def list_local(root: Path, count: int) -> dict:
    from handler.archive.index import manifest_days
    from handler.archive.reader import list_articles
    from handler.store import LocalStore

    store = CountingStore(LocalStore(root))
    rows = list_articles(store)
    days = sum(1 for _ in manifest_days(LocalStore(root)))
    return {
        "documents": len(rows),
        "days": days,
        "store_requests": store.requests,
        "wall_s": rounds(lambda: timed(lambda: list_articles(LocalStore(root))), count),
    }


def export_rss(store: str, env: dict[str, str] | None = None) -> dict:
    """An export of the whole archive in a process of its own: its peak RSS and time."""
    child = (
        "import json, os, sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from handler.cli import main\n"
        "sys.stdout = open(os.devnull, 'w')\n"
        "started = time.perf_counter()\n"
        f"code = main(['export', '--store', {store!r}])\n"
        "wall = time.perf_counter() - started\n"
        "status = open('/proc/self/status').read().splitlines()\n"
        "peak = next(int(l.split()[1]) for l in status if l.startswith('VmHWM:'))\n"
        "figures = {'code': code, 'wall_s': wall, 'peak_rss_mb': peak / 1024}\n"
        "print(json.dumps(figures), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          check=True, env={**os.environ, **(env or {})})  # fmt: skip
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    assert figures["code"] == 0, done.stderr[-2000:]
    return {"peak_rss_mb": round(figures["peak_rss_mb"], 1), "wall_s": round(figures["wall_s"], 2)}


# --- S3 (moto server) ------------------------------------------------------------------------


class MotoServer:
    def __init__(self) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        import urllib.request

        for _ in range(200):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("moto server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def s3_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=32),
    )


def upload(root: Path, endpoint: str, bucket: str) -> None:
    """The manifest and the documents: all that list and export read (not the captures)."""
    client = s3_client(endpoint)
    client.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    paths = [p for area in ("index", "articles") for p in (root / area).rglob("*")
             if p.is_file() and not p.name.startswith(".")]  # fmt: skip

    def put(path: Path) -> None:
        key = f"a/{path.relative_to(root).as_posix()}"
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, paths))


def export_before(store: object, first: date, last: date) -> int:
    """Export as it was before the manifest became the index: a LIST per calendar day, then
    one GET after another (the baseline "sequential reads of today")."""
    from datetime import timedelta

    from handler.archive.reader import document
    from handler.store.layout import articles_day_prefix

    exported = 0
    for offset in range((last - first).days + 1):
        for key in store.list(articles_day_prefix(first + timedelta(days=offset))):  # type: ignore[attr-defined]
            data = store.get(key)  # type: ignore[attr-defined]
            if data is not None:
                document(data, key)
                exported += 1
    return exported


def s3_figures(root: Path, size: int, server: MotoServer, count: int, latency_ms: float) -> dict:
    """List and export against moto S3; with ``latency_ms``, each request also waits that long
    before it is sent, as a round trip to S3 in a region would (moto on loopback answers in
    about a millisecond, so without it parallel reads only overlap CPU work)."""
    from handler.archive.index import manifest_days
    from handler.archive.reader import iter_articles, list_articles
    from handler.store import S3Store

    bucket = f"scale-{size}"
    upload(root, server.url, bucket)
    client = s3_client(server.url)
    requests: list[str] = []
    delay = {"s": 0.0}

    def sent(request: object, **_: object) -> None:
        requests.append("request")
        if delay["s"]:
            time.sleep(delay["s"])

    client.meta.events.register("before-send.s3", sent)
    store = S3Store(bucket, "a")
    store.client = client
    rows = list_articles(store)
    listed_with = len(requests)  # (the listing of days below is the bench's, not list's)
    days = [day for day, _ in manifest_days(store)]
    listed = {
        "documents": len(rows),
        "days": len(days),
        "store_requests": listed_with,
        "wall_s": rounds(lambda: timed(lambda: list_articles(store)), count),
    }

    def rate(export: Callable[[], int]) -> float:
        started = time.perf_counter()
        exported = export()
        assert exported == size, (exported, size)
        return size / (time.perf_counter() - started)

    def compare() -> dict:
        before = [rate(lambda: export_before(store, days[0], days[-1])) for _ in range(count)]
        parallel = [rate(lambda: sum(1 for _ in iter_articles(store))) for _ in range(count)]
        ratios = [p / b for p, b in zip(parallel, before, strict=True)]
        return {"before_docs_s": median_spread(before), "parallel_docs_s": median_spread(parallel),
                "ratio": median_spread(ratios)}  # fmt: skip

    aws = {"AWS_ENDPOINT_URL": server.url, "AWS_REGION": "eu-central-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # fmt: skip
    figures = {"list": listed, "export": compare(),
               "export_process": export_rss(f"s3://{bucket}/a", aws)}  # fmt: skip
    if latency_ms:
        delay["s"] = latency_ms / 1000
        figures[f"export_with_{latency_ms:g}ms_round_trips"] = compare()
        delay["s"] = 0.0
    return figures


# --- reprocess --------------------------------------------------------------------------------


def reprocess_inline(root: Path, budget_s: float) -> dict:
    """Invocations of ``budget_s`` seconds each (as Lambda's remaining time) until complete."""
    from synthetic import settings

    from handler.run.context import RunContext
    from handler.run.events import Reprocess
    from handler.run.reprocess import reprocess

    since = date(2000, 1, 1)
    invocations, documents = 0, 0
    started = time.perf_counter()
    while True:
        # Lambda's remaining time: the budget of work plus the reserve a run keeps to finish.
        config = settings(str(root))
        end = time.monotonic() + budget_s + config.min_remaining_s
        pipeline = RunContext(config, remaining_s=lambda end=end: end - time.monotonic())
        # The first invocation starts the job over (the archive was reprocessed before); the
        # others resume it, as a re-invoked Lambda would.
        summary = reprocess(pipeline, Reprocess(since, None, restart=invocations == 0))
        invocations += 1
        documents += len(summary.outcomes)
        if summary.reprocess and summary.reprocess["complete"]:
            break
        if not summary.outcomes:
            raise SystemExit(f"an invocation of {budget_s} s did no work: raise --budget")
    wall = time.perf_counter() - started
    return {
        "invocations": invocations,
        "budget_s": budget_s,
        "documents": documents,
        "wall_s": round(wall, 1),
        "docs_per_s": round(documents / wall, 1),
    }


WORKER = r"""
import json, os, sys, time
sys.path[:0] = [sys.argv[1]]
import boto3
from handler.app import worker_handler
from handler.cli.tools import LocalContext
sqs = boto3.client("sqs")
url = os.environ["QUEUE_URL"]
busy, started = 0.0, time.perf_counter()
idle = 0
while idle < 3:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                              WaitTimeSeconds=0).get("Messages", [])
    if not got:
        idle += 1
        time.sleep(0.2)
        continue
    idle = 0
    records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"], "attributes": m["Attributes"], "eventSource": "aws:sqs"}
               for m in got]
    t0 = time.perf_counter()
    response = worker_handler({"Records": records}, LocalContext(900))
    busy += time.perf_counter() - t0
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for r in records:
        if r["messageId"] not in failed:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=r["receiptHandle"])
print(json.dumps({"busy_s": busy, "wall_s": time.perf_counter() - started}))
"""


def reprocess_fanout(root: Path, server: MotoServer, workers: int) -> dict:
    """The reprocess event in fan-out mode queues a shard per day; ``workers`` processes drain
    the queue through the worker handler (the same code Lambda runs)."""
    import boto3

    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": server.url,
        "AWS_REGION": "eu-central-1",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "ARCHIVE_STORE": str(root),
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    sqs = boto3.client(
        "sqs",
        endpoint_url=server.url,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = f"reprocess-{workers}-{time.monotonic_ns()}.fifo"
    queue = sqs.create_queue(
        QueueName=name, Attributes={"FifoQueue": "true", "VisibilityTimeout": "900"}
    )["QueueUrl"]
    env |= {"MODE": "fanout", "QUEUE_URL": queue}
    event = json.dumps({"action": "reprocess", "since": "2000-01-01", "restart": True})
    poller = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from handler.app import lambda_handler\n"
        "from handler.cli.tools import LocalContext\n"
        f"print(json.dumps(lambda_handler(json.loads({event!r}), LocalContext(900))['queued']))\n"
    )
    started = time.perf_counter()
    planned = subprocess.run(
        [sys.executable, "-c", poller], env=env, check=True, capture_output=True, text=True
    )
    queued = json.loads(planned.stdout.strip().splitlines()[-1])
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(ROOT)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(workers)
    ]
    results = [json.loads(child.communicate()[0].strip().splitlines()[-1]) for child in children]
    wall = time.perf_counter() - started
    return {
        "workers": workers,
        "shards": queued,
        "wall_s": round(wall, 1),
        "worker_busy_s": [round(r["busy_s"], 1) for r in results],
    }


# --- parked ------------------------------------------------------------------------------------


def parked_idle_poll(parked: int) -> dict:
    """An idle poll (the feed answers 304) over an archive with ``parked`` parked records, and
    the same poll over a state from before, which held every parked id."""
    from handler.archive.state import Pending
    from handler.archive.statestore import StateStore
    from handler.core.config import FetchSettings, RunSettings
    from handler.core.models import FeedItem
    from handler.run.context import RunContext
    from handler.run.poll import poll
    from handler.store import LocalStore
    from handler.store.layout import STATE_KEY

    class TimedStore(CountingStore):
        seconds = 0.0

        def __getattr__(self, name: str) -> object:
            inner = super().__getattr__(name)
            if not callable(inner) or name in ("list",):
                return inner

            def timed_call(*args: object, **kwargs: object) -> object:
                started = time.perf_counter()
                try:
                    return inner(*args, **kwargs)
                finally:
                    TimedStore.seconds += time.perf_counter() - started

            return timed_call

    server = LocalServer(
        lambda path, headers: Answer(304, b"", "application/rss+xml", {"ETag": '"same"'})
    )
    feed = f"{server.base}/politik/rss"
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(tmp)
        states = StateStore(store)
        reasons = [{"at": "2026-01-01T00:00:00+00:00", "reason": "HTTP 404"}]
        for n in range(parked):
            item = FeedItem.for_url(f"https://www.n-tv.de/politik/Weg-id{60000000 + n}.html")
            entry = Pending(item=item, feed_url=feed, attempts=3, reasons=reasons)
            states.park(entry, datetime(2026, 1, 1, tzinfo=UTC))
        legacy = {
            "feeds": {feed: {"etag": '"same"', "last_modified": None}},
            "parked": {f"ntv-{60000000 + n}": "2026-01-01T00:00:00" for n in range(parked)},
        }
        settings = RunSettings(
            feed_url=feed, store=tmp, fetch=FetchSettings(extra_hosts=frozenset({"127.0.0.1"}))
        )
        # Now: the state keeps parked ids only while a feed lists them (these left it); before,
        # it held every parked id for ever and every poll read them all.
        now = {"feeds": legacy["feeds"], "parked": {}}
        for label, state in (("state_from_before", legacy), ("now", now)):
            store.put(STATE_KEY, json.dumps(state).encode(), "application/json")
            poll(RunContext(settings, store=store))  # settles the revisit hint: steady state
            samples = []
            for _ in range(5):
                TimedStore.seconds = 0.0
                timed_store = TimedStore(store)
                poll(RunContext(settings, store=timed_store))
                samples.append(TimedStore.seconds * 1000)
            out[label] = {
                "state_bytes": len(store.get(STATE_KEY) or b""),
                "store_requests": timed_store.requests,
                "store_ms": median_spread(samples),
            }
    server.stop()
    return {"parked": parked, **out}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--s3-sizes", default="1000,10000")
    parser.add_argument("--reprocess-size", type=int, default=10000)
    parser.add_argument("--workers", default="1,4,8")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per inline invocation")
    parser.add_argument("--parked", type=int, default=50000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--s3-latency-ms", type=float, default=20.0,
        help="round trip added to each S3 request (smallest S3 size only)",
    )  # fmt: skip
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "ntv-scale"))
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    s3_sizes = [int(s) for s in args.s3_sizes.split(",") if s]
    report: dict = {"local": {}, "s3": {}}

    for size in sizes:
        root = built(cache, size)
        report["local"][size] = {
            "list": list_local(root, args.rounds),
            "export": export_rss(str(root)),
        }
        print(f"local {size}: {json.dumps(report['local'][size])}", flush=True)

    server = MotoServer()
    try:
        for size in s3_sizes:
            latency = args.s3_latency_ms if size == min(s3_sizes) else 0.0
            report["s3"][size] = s3_figures(built(cache, size), size, server, args.rounds, latency)
            print(f"s3 {size}: {json.dumps(report['s3'][size])}", flush=True)
        if args.reprocess_size:
            source = built(cache, args.reprocess_size)
            work = cache / f"reprocess-{args.reprocess_size}"
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(source, work)
            make_stale(work, every=10)
            inline = reprocess_inline(work, args.budget)
            print(f"reprocess inline: {json.dumps(inline)}", flush=True)
            fanout = []
            for workers in [int(w) for w in args.workers.split(",") if w]:
                make_stale(work, every=10)
                result = reprocess_fanout(work, server, workers)
                result["docs_per_s"] = round(args.reprocess_size / result["wall_s"], 1)
                result["docs_per_s_per_worker"] = round(result["docs_per_s"] / workers, 1)
                fanout.append(result)
                print(f"reprocess fan-out: {json.dumps(result)}", flush=True)
            report["reprocess"] = {
                "documents": args.reprocess_size,
                "inline": inline,
                "fanout": fanout,
            }
    finally:
        server.stop()
    if args.parked:
        report["parked"] = parked_idle_poll(args.parked)
        print(f"parked: {json.dumps(report['parked'])}", flush=True)
    report["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
