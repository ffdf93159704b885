"""The poll use case: read a feed (or every feed of a feeds file), archive what is new, owed or
changed, and fold the outcomes into the run state."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from handler.archive.schedule import Revisit
from handler.archive.state import Pending, RunState
from handler.core.errors import FeedError, StoreError
from handler.core.log import logger
from handler.core.models import FeedItem
from handler.ingest.feed import FeedValidators, read_feed
from handler.ingest.feeds import FeedConfig
from handler.run.article import Work, archive_work
from handler.run.catchup import catch_up, gap_since
from handler.run.context import RunContext
from handler.run.outcomes import ArticleOutcome, RunSummary


def poll_feeds(ctx: RunContext, feeds: list[FeedConfig]) -> RunSummary:
    """Poll each feed; one feed failing never stops the others (FeedError if all fail)."""
    started = time.monotonic()  # the whole run's time, every feed's poll included
    summaries: list[RunSummary] = []
    errors: list[dict[str, str]] = []
    ctx.configured_feeds = {feed.url: feed for feed in feeds}  # for revisits of their articles
    for feed in feeds:
        try:
            summaries.append(poll(ctx, feed))
        except FeedError as exc:
            errors.append(feed_failed(ctx, feed, exc))
    if not summaries:
        raise all_feeds_failed(errors)
    if len(feeds) == 1:
        return summaries[0]
    total = ctx.summary(None)
    merge_summaries(total, summaries, errors)
    return ctx.finish(total, started)


def feed_failed(ctx: RunContext, feed: FeedConfig, exc: FeedError) -> dict[str, str]:
    """Log one feed's failure; the record goes into the run's ``feed_errors``."""
    logger.error("feed failed", extra={"run_id": ctx.run_id, "feed": feed.name,
                                       "reason": str(exc)})  # fmt: skip
    return {"feed": feed.name, "url": feed.url, "reason": str(exc)}


def poll(ctx: RunContext, feed: FeedConfig | None = None) -> RunSummary:
    """Read the feed and archive what it lists new or changed, the retries owed and the
    revisits due; FeedError if the feed cannot be read."""
    feed = feed or FeedConfig(name="default", url=ctx.settings.feed_url)
    url = feed.url
    with ctx.summarised(url) as summary:
        state = ctx.state.load()
        hint = state.next_revisit_at  # as loaded: the fold tells our listing from others' hints
        fetched = read_feed(ctx.client_for(feed), url, state.validators(url), ctx.deadline(),
                            feed.profile)  # fmt: skip
        now = ctx.clock()
        listed = fetched.items[: ctx.settings.max_items]
        todo = plan_poll(listed, list(state.pending_for(url)), state.parked_ids(), now,
                         state.seen.get(url, {}))  # fmt: skip
        gap = None if fetched.not_modified else gap_since(state.newest_listed(url), listed)
        if gap is not None:  # the feed no longer reaches back to what it listed last time
            found = catch_up(ctx, feed, gap, listed)
            summary.catchup = found.to_dict()
            waiting = {i.id for i in todo} | state.parked_ids()
            todo += [item for item in found.items if item.id not in waiting]
        listing = ctx.revisits.due(state.revisits_may_be_due(now))
        if todo and listing is None and state.revisits_later_than(now + ctx.revisits.first_step):
            ctx.revisits.expect_first(
                ctx.state
            )  # new articles' entries must not outlive a crash unseen
        due = listing.entries if listing else []
        work = plan_work(todo, due, feed, listed, ctx.configured_feeds)
        logger.info(
            "feed read",
            extra={"run_id": ctx.run_id, "feed": url, "not_modified": fetched.not_modified,
                   "listed": len(listed), "todo": len(todo),
                   "revisits": sum(w.revisit is not None for w in work)},
        )  # fmt: skip
        summary.not_modified = fetched.not_modified
        summary.items = len(work)
        summary.outcomes = archive_work(ctx, work)
        # Items cut by --max-items were never looked at: keep the feed unconditional until a
        # run has seen all of it. Failed and deferred ones are owed by the state instead.
        seen_all = len(listed) == len(fetched.items) and not fetched.not_modified
        validators = fetched.validators if seen_all else None
        results = list(zip(work, summary.outcomes, strict=True))
        seen = None if fetched.not_modified else seen_after(listed, results, state.seen.get(url))
        scheduled = ctx.revisits.take_written()

        def fold(s: RunState) -> None:
            record(ctx, s, url, results, validators, now)
            s.saw_listed(url, [i.published for i in listed if i.published is not None])
            if seen is not None:
                s.seen[url] = seen
                s.keep_parked_listed(url, {item.id for item in fetched.items})
            if listing is not None:
                s.listed_revisits(ctx.revisits.next_look(listing), hint)
            s.expect_revisit(scheduled)

        save_state(ctx, summary, url, fold)
    return summary


def plan_work(
    todo: list[FeedItem],
    due: list[Revisit],
    feed: FeedConfig,
    listed: list[FeedItem],
    configured: dict[str, FeedConfig] | None = None,
) -> list[Work]:
    """The run's work: the feed's items, then the revisits due. A due article the feed lists
    is revisited once, with the feed's item (fresh). A revisit gets the configuration of the
    feed it came from when this run has it (``configured``), else that feed's URL and profile
    but no extra hosts: stored data never widens the allowlist."""
    configured = {**(configured or {}), feed.url: feed}
    fresh = {item.id: item for item in listed}
    revisit_ids = {entry.id for entry in due}
    work = [Work(item, feed) for item in todo if item.id not in revisit_ids]
    for entry in due:
        item = fresh.get(entry.id, entry.item)
        if entry.feed_url is None:
            work.append(Work(item, None, entry))
            continue
        own = configured.get(entry.feed_url) or FeedConfig(
            name="revisit", url=entry.feed_url, profile=entry.profile
        )
        work.append(Work(item, own, entry))
    return work


def seen_after(
    listed: list[FeedItem],
    results: list[tuple[Work, ArticleOutcome]],
    before: dict[str, str] | None,
) -> dict[str, str]:
    """The feed's items as this run leaves them: an item archived (or found unchanged) keeps
    its fingerprint; one that failed or was deferred has none, so a later run fetches it; one
    not looked at (parked, waiting for a retry) keeps what it had."""
    done = {w.item.id: o.status not in ("failed", "deferred") for w, o in results}
    seen: dict[str, str] = {}
    for item in listed:
        if done.get(item.id):
            seen[item.id] = item.fingerprint()
        elif item.id not in done and before and item.id in before:
            seen[item.id] = before[item.id]
    return seen


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
    results: list[tuple[Work, ArticleOutcome]],
    validators: FeedValidators | None,
    now: datetime,
) -> None:
    """Fold one run's outcomes into the run state (called again on a write conflict). A
    revisit owes nothing when it fails: its schedule entry holds the next attempt."""
    for work, outcome in results:
        item = work.item
        if work.revisit is not None:
            if outcome.key:  # archived after all: nothing owed for it any more
                ctx.state.record_success(state, item.id)
        elif outcome.status == "failed":
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
    listed: list[FeedItem],
    pending: list[Pending],
    parked: set[str],
    now: datetime,
    seen: dict[str, str] | None = None,
) -> list[FeedItem]:
    """This run's feed work: listed items that are new or whose fingerprint changed (``seen``:
    what the feed said of them when they were last archived) and are neither parked nor
    waiting out a retry delay, then due retries of items no longer listed (leaving the feed is
    no reason to lose an article). An owed item is retried when due, changed or not."""
    seen = seen or {}
    waiting = parked | {p.item.id for p in pending if not p.due(now)}
    owed = {p.item.id for p in pending if p.due(now)}
    listed_ids = {item.id for item in listed}
    retries = [p.item for p in pending if p.due(now) and p.item.id not in listed_ids]
    changed = [
        item
        for item in listed
        if item.id not in waiting and (item.id in owed or seen.get(item.id) != item.fingerprint())
    ]
    return changed + retries
