"""Fan-out mode: the poller queues one SQS message per new or changed feed item; workers
(handler.run.worker) archive them. Scaling is Lambda + SQS's job, not threads in one invocation.

The queue is FIFO: ``MessageGroupId`` is the article id (one article is never worked on twice
at once, different articles in parallel) and ``MessageDeduplicationId`` is id + the item's
fingerprint, so the same version queued twice within SQS's 5-minute window is dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from handler.archive.schedule import Revisit
from handler.archive.state import FeedState, newest_of
from handler.archive.statestore import load_feed_state, update_feed_state
from handler.core import jsontext
from handler.core.aws import SqsQueue
from handler.core.errors import ArchiveError, ConfigError, EventError, FeedError
from handler.core.log import logger
from handler.core.models import FeedItem
from handler.ingest.feed import FeedFetch, read_feed
from handler.ingest.feeds import FeedConfig, parse_feed_entry
from handler.run.catchup import catch_up, gap_since
from handler.run.context import RunContext
from handler.run.outcomes import RunSummary
from handler.run.poll import all_feeds_failed, feed_failed

SQS_BATCH = 10
_RUN_ID = re.compile(r"^[0-9a-f]{1,32}\Z")


@dataclass(frozen=True)
class WorkMessage:
    feed: FeedConfig | None  # None: a revisit of an article that came from no feed (replay)
    item: FeedItem
    # The poller's run: the worker logs it and puts it in the change event, so one article can
    # be followed from the poll through the queue and the worker to a consumer.
    run_id: str | None = None
    revisit: Revisit | None = None  # the schedule entry, when this is a revisit

    def to_body(self) -> str:
        feed = None
        if self.feed is not None:
            feed = {**asdict(self.feed), "allow_hosts": sorted(self.feed.allow_hosts)}
            section = feed.pop("section_name")  # spelled as in a feeds file
            feed |= {"section": section} if section else {}
        body: dict[str, Any] = {"feed": feed, "item": self.item.to_json(), "run_id": self.run_id}
        if self.revisit is not None:
            body["revisit"] = self.revisit.to_json()
        return json.dumps(body, ensure_ascii=False)

    @property
    def group_id(self) -> str:
        """One article is never worked on twice at once; different articles in parallel."""
        return self.item.id

    @property
    def deduplication_id(self) -> str:
        """The same feed version (or the same revisit) queued twice within SQS's window is
        dropped by the queue."""
        if self.revisit is not None:
            return f"{self.item.id}-r{self.revisit.key.rsplit('/', 1)[-1][:19]}"
        return f"{self.item.id}-{self.item.fingerprint()[:64]}"

    @classmethod
    def from_body(cls, body: str) -> WorkMessage:
        """A message is data, not authority: every field is checked as a feeds file entry
        and a feed item are, and its ``allow_hosts`` are dropped (the worker's allowlist is
        its own configuration, see ``trusted_feed``)."""
        try:
            raw = jsontext.loads(body)
            revisit_raw = raw.get("revisit") if isinstance(raw, dict) else None
            if not isinstance(raw, dict) or not (
                isinstance(raw.get("feed"), dict) or (raw.get("feed") is None and revisit_raw)
            ):
                raise ValueError("expected {'feed': {...}, 'item': {...}}")
            run_id = raw.get("run_id")
            if run_id is not None and not (isinstance(run_id, str) and _RUN_ID.match(run_id)):
                raise ValueError(f"run_id must be a run id, got {run_id!r}")
            feed = None
            if raw["feed"] is not None:
                feed = parse_feed_entry({**raw["feed"], "allow_hosts": []}, "feed")
            item = FeedItem.from_untrusted(raw.get("item"))
            revisit = _untrusted_revisit(revisit_raw, item) if revisit_raw is not None else None
            return cls(feed=feed, item=item, run_id=run_id, revisit=revisit)
        except (ValueError, ConfigError, RecursionError) as exc:
            raise EventError(f"work message is not a feed item ({exc})") from exc


def _untrusted_revisit(raw: Any, item: FeedItem) -> Revisit:
    """A message's schedule entry, checked: its item is the message's (already checked) and
    its times and step are what they claim to be."""
    if not isinstance(raw, dict):
        raise ValueError("revisit must be an object")
    try:
        entry = Revisit.from_json({**raw, "item": item.to_json()})
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"revisit is not a schedule entry ({exc})") from exc
    if entry.first_seen.tzinfo is None or entry.due.tzinfo is None or entry.step < 0:
        raise ValueError("revisit times must carry a UTC offset and its step be >= 0")
    for name in ("etag", "last_modified", "feed_url"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise ValueError(f"revisit {name} must be a string or null")
    return entry


def trusted_feed(named: FeedConfig | None, configured: list[FeedConfig]) -> FeedConfig | None:
    """The worker's own configuration of the feed a message names (its extra hosts and
    profile), or the message's feed with no extra hosts when none is configured so."""
    if named is None:
        return None
    for feed in configured:
        if (feed.name, feed.url) == (named.name, named.url):
            return feed
    return named


class Queueable(Protocol):
    """What goes on the work queue: a feed item to archive, or a reprocess shard."""

    @property
    def group_id(self) -> str: ...

    @property
    def deduplication_id(self) -> str: ...

    def to_body(self) -> str: ...


class WorkQueue(SqsQueue):
    """Sends work messages to the FIFO queue (boto3 imported only in fan-out runs)."""

    def send(self, messages: Sequence[Queueable]) -> None:
        for start in range(0, len(messages), SQS_BATCH):
            batch = messages[start : start + SQS_BATCH]
            entries = [
                {
                    "Id": str(n),
                    "MessageBody": m.to_body(),
                    "MessageGroupId": m.group_id,
                    "MessageDeduplicationId": m.deduplication_id,
                }
                for n, m in enumerate(batch)
            ]
            failed = self.client.send_message_batch(QueueUrl=self.url, Entries=entries).get(
                "Failed"
            )
            if failed:
                raise ArchiveError(
                    f"{self.url}: {len(failed)} messages refused: {failed[0].get('Message')}"
                )


def fanout_poll(
    ctx: RunContext, feeds: list[FeedConfig], queue: WorkQueue | None = None
) -> RunSummary:
    """Poll every feed (conditionally) and queue its new or changed items."""
    queue = queue or WorkQueue(str(ctx.settings.queue_url))

    def attempt(feed: FeedConfig) -> tuple[int, FeedFetch] | FeedError:
        try:
            return _fan_out_feed(ctx, queue, feed)
        except FeedError as exc:
            return exc

    with ctx.summarised(feeds[0].url if len(feeds) == 1 else None) as total:
        # Feeds are polled concurrently (each has its own state object): a thousand feeds take
        # about feeds / concurrency round trips, not one after another.
        workers = max(1, min(ctx.settings.concurrency, len(feeds)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="feed") as pool:
            results = list(pool.map(attempt, feeds))
        for feed, result in zip(feeds, results, strict=True):
            if isinstance(result, FeedError):
                total.feed_errors.append(feed_failed(ctx, feed, result))
                continue
            queued, fetched = result
            total.queued += queued
            total.items += len(fetched.items)
            total.feeds.append({"url": feed.url, "items": len(fetched.items), "queued": queued,
                                "not_modified": fetched.not_modified})  # fmt: skip
        if total.feed_errors and not total.feeds:
            raise all_feeds_failed(total.feed_errors)
        total.queued += _queue_revisits(ctx, queue, feeds)
        total.not_modified = all(f["not_modified"] for f in total.feeds) and not total.feed_errors
    return total


def _fan_out_feed(ctx: RunContext, queue: WorkQueue, feed: FeedConfig) -> tuple[int, FeedFetch]:
    state = load_feed_state(ctx.store, feed.url)
    fetched = read_feed(ctx.client_for(feed), feed.url, state.validators, ctx.deadline(),
                        feed.profile)  # fmt: skip
    changed = [i for i in fetched.items if state.seen.get(i.id) != i.fingerprint()]
    newest = datetime.fromisoformat(state.newest) if state.newest else None
    gap = None if fetched.not_modified else gap_since(newest, fetched.items)
    if gap is not None:  # an outage longer than the feed's window: the sitemap fills it
        changed += catch_up(ctx, feed, gap, fetched.items).items
    queue.send([WorkMessage(feed, item, ctx.run_id) for item in changed])
    counts = {"listed": len(fetched.items), "queued": len(changed)}
    logger.info("feed fanned out", extra={"run_id": ctx.run_id, "feed": feed.name, **counts})
    update_feed_state(ctx.store, feed.url, lambda s: _remember(s, fetched))
    return len(changed), fetched


def _queue_revisits(ctx: RunContext, queue: WorkQueue, feeds: list[FeedConfig]) -> int:
    """Queue the schedule's due revisits (the worker advances each entry once it is done; an
    entry still due at the next poll is queued again, and SQS drops the copy in its window)."""
    listing = ctx.revisits.due()
    if listing is None or not listing.entries:
        return 0
    by_url = {feed.url: feed for feed in feeds}
    messages = []
    for entry in listing.entries:
        feed = None
        if entry.feed_url is not None:
            feed = by_url.get(entry.feed_url) or FeedConfig(
                name="revisit", url=entry.feed_url, profile=entry.profile
            )
        messages.append(WorkMessage(feed, entry.item, ctx.run_id, entry))
    queue.send(messages)
    logger.info("revisits queued", extra={"run_id": ctx.run_id, "queued": len(messages)})
    return len(messages)


def _remember(state: FeedState, fetched: FeedFetch) -> None:
    """Only after the messages are queued: a failed send leaves them to the next poll."""
    if not fetched.not_modified:
        state.seen = {i.id: i.fingerprint() for i in fetched.items}
        state.newest = newest_of(
            state.newest, [i.published for i in fetched.items if i.published is not None]
        )
    if fetched.validators.request_headers():
        state.validators = fetched.validators
