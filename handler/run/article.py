"""Archiving one article, the step every use case shares: fetch (conditionally, for a revisit)
→ extract → commit, on the run's thread pool so fetches overlap. One article failing never
stops the others: its failure becomes an outcome with a reason."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from handler.archive.document import build_document
from handler.archive.extraction import extract_page
from handler.archive.schedule import Revisit
from handler.core.capture import Capture, CaptureRecord, Validators
from handler.core.config import DEFAULT_PROFILE
from handler.core.errors import ArchiveError, NotAnArticleError, OlderCaptureError
from handler.core.log import logger
from handler.core.models import FeedItem
from handler.ingest.feeds import FeedConfig
from handler.ingest.fetch import HTML_TYPES
from handler.run.commit import commit, failed, skipped, stored
from handler.run.context import RunContext
from handler.run.outcomes import ArticleOutcome

Kept = tuple[ArticleOutcome, Validators | None]


@dataclass(frozen=True)
class Work:
    """One article to archive: a feed item (from ``feed``), or a scheduled ``revisit``."""

    item: FeedItem
    feed: FeedConfig | None = None
    revisit: Revisit | None = None


def archive_items(ctx: RunContext, items: Iterable[FeedItem], feed: FeedConfig | None = None,
                  force: bool = False) -> list[ArticleOutcome]:  # fmt: skip
    return archive_work(ctx, [Work(item, feed) for item in items], force)


def archive_work(
    ctx: RunContext, work: Iterable[Work], force: bool = False
) -> list[ArticleOutcome]:
    """Archive each piece of work on the run's thread pool; outcomes in the same order."""
    todo = list(work)
    done: list[ArticleOutcome] = []
    workers = max(1, min(ctx.settings.concurrency, len(todo) or 1))

    def one(w: Work) -> ArticleOutcome:
        return archive_one(ctx, w.item, w.feed, force, revisit=w.revisit)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="article") as pool:
        try:
            for outcome in pool.map(one, todo):
                done.append(outcome)
                if ctx.progress is not None:
                    ctx.progress(len(done), len(todo), outcome)
        except BaseException:  # Ctrl-C: the articles not started are not started at all
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return done


def archive_one(
    ctx: RunContext,
    item: FeedItem,
    feed: FeedConfig | None = None,
    force: bool = False,
    poll_run_id: str | None = None,
    revisit: Revisit | None = None,
    news: bool = True,
) -> ArticleOutcome:
    """Fetch, extract and store one article; never raises. ``poll_run_id``: the poller run
    that queued it (fan-out), carried into the change event. ``revisit``: the schedule entry
    this is the revisit of (fetched conditionally, then advanced). ``news``: a new article
    gets revisits (a backfilled one from the past does not)."""
    if ctx.out_of_time():
        logger.info("article deferred: time budget", extra=ctx.ids(item.id))
        return ArticleOutcome(id=item.id, url=item.link, status="deferred",
                              revisit=revisit is not None)  # fmt: skip
    conditional = revisit.validators.request_headers() if revisit and not force else None

    def fetch_and_keep() -> Kept:
        response = ctx.client_for(feed).get(
            item.link, accept=HTML_TYPES, headers=conditional, deadline=ctx.deadline()
        )
        validators = Validators.of(response)
        if response.status == 304:  # unchanged since the capture: no extraction, no write
            logger.info("article not modified", extra=ctx.ids(item.id))
            return ArticleOutcome(id=item.id, url=item.link, status="unchanged",
                                  revisit=True, not_modified=True), validators  # fmt: skip
        kept = keep(ctx, response, item, feed, force=force, poll_run_id=poll_run_id,
                    revisit=revisit is not None)  # fmt: skip
        return kept, validators

    outcome, validators = guarded(ctx, item, revisit is not None, fetch_and_keep)
    if revisit is not None:
        ctx.revisits.after(revisit, outcome, validators)
    elif outcome.status == "new" and news and ctx.revisits.enabled:
        ctx.revisits.start(item, feed, validators)
    return outcome


def archive_capture(ctx: RunContext, response: Capture, capture: bytes) -> ArticleOutcome:
    """Archive a page another crawler captured (a WARC import): the record's time is the
    fetch time and the record itself the capture. A capture older than the archived version
    with other content is skipped: history never replaces what is current."""
    item = FeedItem.for_url(response.url)
    if ctx.out_of_time():
        return ArticleOutcome(id=item.id, url=item.link, status="deferred")

    def kept() -> Kept:
        return keep(ctx, response, item, None, capture=capture, newer_only=True), None

    return guarded(ctx, item, False, kept)[0]


def guarded(ctx: RunContext, item: FeedItem, revisit: bool, work: Callable[[], Kept]) -> Kept:
    """The work's outcome, or the outcome its error makes: never raises."""
    try:
        return work()
    except NotAnArticleError as exc:
        return skipped(ctx, item.id, item.link, exc, revisit), None
    except OlderCaptureError as exc:
        logger.info("older capture skipped", extra={**ctx.ids(item.id), "reason": str(exc)})
        return ArticleOutcome(id=item.id, url=item.link, status="skipped", reason=str(exc)), None
    except ArchiveError as exc:
        return failed(ctx, item.id, item.link, str(exc), exc, revisit), None
    except Exception as exc:  # a bug must not cost the other articles
        logger.exception("internal error", extra=ctx.ids(item.id))
        reason = f"internal error: {type(exc).__name__}: {exc}"
        return failed(ctx, item.id, item.link, reason, revisit=revisit), None


def keep(
    ctx: RunContext,
    response: Capture,
    item: FeedItem,
    feed: FeedConfig | None,
    force: bool = False,
    poll_run_id: str | None = None,
    revisit: bool = False,
    capture: bytes | None = None,
    newer_only: bool = False,
) -> ArticleOutcome:
    """Extract a fetched (or imported) page and store its version; raises ArchiveError."""
    extraction = extract_page(response.body, response.final_url, charset=response.charset,
                              profile=feed.profile if feed else DEFAULT_PROFILE)  # fmt: skip
    doc = build_document(extraction.fields, status=extraction.status,
                         fetched_at=response.fetched_at, feed_url=feed.url if feed else None,
                         feed_item=item if feed else None,
                         capture=CaptureRecord.of(response))  # fmt: skip
    if not ctx.site_hosts.allows(urlsplit(response.final_url).hostname or ""):
        doc = doc.bound_to(response.final_url)
    committed = commit(ctx, doc, response, force=force, poll_run_id=poll_run_id,
                       capture=capture, newer_only=newer_only)  # fmt: skip
    return stored(ctx, doc, item.link, committed, revisit)
