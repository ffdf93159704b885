"""What each typed request does: the one dispatcher both doors use (Lambda events, and the CLI's
``run``, ``replay`` and ``reprocess``), each request handed to its use case with the run context."""

from __future__ import annotations

from handler.core.config import RunSettings
from handler.ingest.feeds import FeedConfig
from handler.ingest.feeds import configured_feeds as feeds_of
from handler.run.backfill import Job, backfill
from handler.run.context import RunContext
from handler.run.events import Backfill, Event, Import, Poll, Replay, Reprocess, ScheduledPoll
from handler.run.fanout import WorkQueue, fanout_poll
from handler.run.importing import import_sources
from handler.run.outcomes import RunSummary
from handler.run.poll import poll, poll_feeds
from handler.run.replay import replay
from handler.run.reprocess import reprocess


def configured_feeds(settings: RunSettings) -> list[FeedConfig]:
    """The feeds file's feeds, or the one FEED_URL feed when there is no file."""
    return feeds_of(settings.feeds_file, settings.feed_url)


def run_event(event: Event, ctx: RunContext) -> RunSummary:
    match event:
        case ScheduledPoll(schedule=schedule):
            feeds = [f for f in configured_feeds(ctx.settings) if schedule in (None, f.schedule)]
            if ctx.settings.mode == "fanout":
                return fanout_poll(ctx, feeds)
            return poll_feeds(ctx, feeds)
        case Poll(feed_url=feed_url):
            return poll(ctx, FeedConfig(name="adhoc", url=feed_url))
        case Replay(urls=urls, force=force):
            return replay(ctx, urls, force=force)
        case Reprocess():
            if ctx.settings.mode == "fanout":  # shards go to the workers
                return reprocess(ctx, event, WorkQueue(str(ctx.settings.queue_url)))
            return reprocess(ctx, event)
        case Backfill(since=since, until=until, section=section):
            return backfill(ctx, Job(since, until, section))
        case Import(keys=keys, section=section):
            return import_sources(ctx, import_urls(keys, ctx.settings.store), section)


def import_urls(keys: tuple[str, ...], store: str) -> list[str]:
    """An import event's keys as s3:// URLs: a bare key is in the archive's own bucket."""
    bucket = store.removeprefix("s3://").split("/", 1)[0] if store.startswith("s3://") else None
    urls = []
    for key in keys:
        if key.startswith("s3://"):
            urls.append(key)
        elif bucket:
            urls.append(f"s3://{bucket}/{key.lstrip('/')}")
        else:
            urls.append(key)  # a local archive (``ntv-archive invoke``): a local path
    return urls
