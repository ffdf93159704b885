"""The poll use case: read a feed (or every feed of a feeds file), archive what is new, owed or
changed, and fold the outcomes into the run state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from handler.archive.state import Pending, RunState, utcnow
from handler.core.errors import FeedError, StoreError
from handler.core.log import logger
from handler.core.models import FeedItem
from handler.ingest.feed import FeedValidators, read_feed
from handler.ingest.feeds import FeedConfig
from handler.run.context import RunContext
from handler.run.outcomes import ArticleOutcome, RunSummary


def poll_feeds(ctx: RunContext, feeds: list[FeedConfig]) -> RunSummary:
    """Poll each feed; one feed failing never stops the others (FeedError if all fail)."""
    summaries: list[RunSummary] = []
    errors: list[dict[str, str]] = []
    for feed in feeds:
        try:
            summaries.append(poll(ctx, feed))
        except FeedError as exc:
            errors.append(feed_failed(ctx, feed, exc))
    if not summaries:
        raise all_feeds_failed(errors)
    if len(feeds) == 1:
        return summaries[0]
    with ctx.summarised(None) as total:
        merge_summaries(total, summaries, errors)
    return total


def feed_failed(ctx: RunContext, feed: FeedConfig, exc: FeedError) -> dict[str, str]:
    """Log one feed's failure; the record goes into the run's ``feed_errors``."""
    logger.error("feed failed", extra={"run_id": ctx.run_id, "feed": feed.name,
                                       "reason": str(exc)})  # fmt: skip
    return {"feed": feed.name, "url": feed.url, "reason": str(exc)}


def poll(ctx: RunContext, feed: FeedConfig | None = None) -> RunSummary:
    """Read the feed and archive its items; FeedError if the feed cannot be read."""
    feed = feed or FeedConfig(name="default", url=ctx.settings.feed_url)
    url = feed.url
    with ctx.summarised(url) as summary:
        state = ctx.state.load()
        fetched = read_feed(ctx.client_for(feed), url, state.validators(url), ctx.deadline())
        now = utcnow()
        listed = fetched.items[: ctx.settings.max_items]
        todo = plan_poll(listed, list(state.pending_for(url)), set(state.parked), now)
        logger.info(
            "feed read",
            extra={"run_id": ctx.run_id, "feed": url, "not_modified": fetched.not_modified,
                   "listed": len(listed), "todo": len(todo)},
        )  # fmt: skip
        summary.not_modified = fetched.not_modified
        summary.items = len(todo)
        summary.outcomes = ctx.archive_items(todo, feed=feed)
        # Items cut by --max-items were never looked at: keep the feed unconditional until a
        # run has seen all of it. Failed and deferred ones are owed by the state instead.
        seen_all = len(listed) == len(fetched.items) and not fetched.not_modified
        validators = fetched.validators if seen_all else None
        results = list(zip(todo, summary.outcomes, strict=True))
        save_state(ctx, summary, url, lambda s: record(ctx, s, url, results, validators, now))
    return summary


def save_state(
    ctx: RunContext, summary: RunSummary, url: str, fold: Callable[[RunState], None]
) -> None:
    """Fold the run into the state. A failure with documents stored makes a partial run (exit
    1: the next run re-reads the feed and retries); with nothing stored it fails the run."""
    try:
        final = ctx.state.update(fold)
        summary.pending = sum(1 for _ in final.pending_for(url))
    except StoreError as exc:
        if not any(o.status in ("new", "updated") for o in summary.outcomes):
            raise  # nothing was stored: the run could not do its work (exit 2)
        logger.error("state not written", extra={"run_id": ctx.run_id, "reason": str(exc)})
        summary.errors.append(f"state not written: {exc}")


def record(
    ctx: RunContext,
    state: RunState,
    feed_url: str,
    results: list[tuple[FeedItem, ArticleOutcome]],
    validators: FeedValidators | None,
    now: datetime,
) -> None:
    """Fold one run's outcomes into the run state (called again on a write conflict)."""
    for item, outcome in results:
        if outcome.status == "failed":
            ctx.state.record_failure(state, item, feed_url, outcome.reason or "", now,
                                     run_id=ctx.run_id, error=outcome.error,
                                     http_status=outcome.http_status)  # fmt: skip
        elif outcome.status == "deferred":
            state.pending.setdefault(item.id, Pending(item=item, feed_url=feed_url))
        else:
            ctx.state.record_success(state, item.id)
    if validators is not None and validators.request_headers():
        state.feeds[feed_url] = validators


def all_feeds_failed(errors: list[dict[str, str]]) -> FeedError:
    """The error that fails a run in which no feed could be read (one line)."""
    if len(errors) == 1:
        return FeedError(errors[0]["reason"])
    error = FeedError(f"all {len(errors)} feeds failed; first: {errors[0]['reason']}")
    error.failed_feeds = len(errors)
    return error


def merge_summaries(
    total: RunSummary, parts: list[RunSummary], feed_errors: list[dict[str, str]]
) -> RunSummary:
    """One summary for a run over several feeds, with a line per feed."""
    total.items = sum(p.items for p in parts)
    total.outcomes = [o for p in parts for o in p.outcomes]
    total.pending = sum(p.pending for p in parts)
    total.not_modified = all(p.not_modified for p in parts) and not feed_errors
    total.feeds = [
        {"url": p.feed_url, "items": p.items, "not_modified": p.not_modified, **p.counts}
        for p in parts
    ]
    total.feed_errors = feed_errors
    total.errors = [e for p in parts for e in p.errors]
    return total


def plan_poll(
    listed: list[FeedItem], pending: list[Pending], parked: set[str], now: datetime
) -> list[FeedItem]:
    """This run's work: listed items neither parked nor waiting out a retry delay, then due
    retries of items no longer listed (leaving the feed is no reason to lose an article)."""
    waiting = parked | {p.item.id for p in pending if not p.due(now)}
    listed_ids = {item.id for item in listed}
    retries = [p.item for p in pending if p.due(now) and p.item.id not in listed_ids]
    return [item for item in listed if item.id not in waiting] + retries
