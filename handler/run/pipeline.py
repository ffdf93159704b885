"""The pipeline: feed -> fetch -> extract -> store, for one run. CLI and Lambda both call this.

Articles are processed on a thread pool so fetches overlap; one article failing never stops the
others: its failure becomes an outcome with a reason.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from handler.archive.catalog import Catalog
from handler.archive.document import bind_to_host
from handler.archive.extraction import extract_article
from handler.archive.state import Pending, RunState, StateStore, utcnow
from handler.archive.versions import Intent, save_version
from handler.core.config import RunSettings
from handler.core.errors import ArchiveError, FeedError, NotAnArticleError, StoreError
from handler.core.log import logger
from handler.core.models import FeedItem, article_id
from handler.ingest.feed import FeedValidators, read_feed
from handler.ingest.feeds import FeedConfig
from handler.ingest.fetch import HostAllowlist, HttpClient, Response
from handler.run.notify import ChangeEvents
from handler.store import BlobStore, open_store
from handler.store.layout import article_key

HTML_TYPES = ("text/html", "application/xhtml+xml")
# "deferred": not started because the invocation's time was running out; the next run does it.
# "skipped": the page is not an article (an author page, a section front); nothing is written
# and nothing retried.
Status = Literal["new", "updated", "unchanged", "failed", "deferred", "skipped"]
STATUSES: tuple[Status, ...] = ("new", "updated", "unchanged", "failed", "deferred", "skipped")


@dataclass(frozen=True)
class ArticleOutcome:
    id: str
    url: str
    status: Status
    reason: str | None = None
    key: str | None = None
    fallback: bool = False
    disagreement: bool = False  # the site rule's text and trafilatura's disagree (a warning)
    error: str | None = None  # a failure's error class: FetchError, ExtractionError, StoreError
    http_status: int | None = None  # a failure's HTTP status, when the server answered one


@dataclass
class RunSummary:
    run_id: str
    feed_url: str | None
    store: str
    items: int = 0
    not_modified: bool = False  # the feed answered 304: only retries were due
    pending: int = 0  # articles of this feed still owed (failed or deferred) after the run
    events_failed: int = 0  # change events that could not be sent (documents are stored)
    feeds: list[dict[str, Any]] = field(default_factory=list)  # per feed, when several
    feed_errors: list[dict[str, str]] = field(default_factory=list)  # feeds that failed
    queued: int = 0  # fan-out mode: items sent to the work queue
    errors: list[str] = field(default_factory=list)  # run-level failures after work was done
    duration_s: float = 0.0
    outcomes: list[ArticleOutcome] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        counts["fallback"] = sum(o.fallback for o in self.outcomes)
        counts["disagreement"] = sum(o.disagreement for o in self.outcomes)
        return counts

    @property
    def failures(self) -> list[ArticleOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "feed_url": self.feed_url,
            "store": self.store,
            "items": self.items,
            "not_modified": self.not_modified,
            "events_failed": self.events_failed,
            "pending": self.pending,
            **self.counts,
            "duration_s": round(self.duration_s, 3),
            "failures": [
                {
                    "id": o.id,
                    "url": o.url,
                    "reason": o.reason,
                    "error": o.error,
                    "http_status": o.http_status,
                }
                for o in self.failures
            ],
            **({"feeds": self.feeds} if self.feeds else {}),
            **({"feed_errors": self.feed_errors} if self.feed_errors else {}),
            "queued": self.queued,
            **({"errors": self.errors} if self.errors else {}),
            "articles": [asdict(o) for o in self.outcomes],
        }


Progress = Callable[[int, int, ArticleOutcome], None]
RemainingSeconds = Callable[[], float]


class Pipeline:
    """One configured run: owns the HTTP client and the store handle."""

    def __init__(
        self,
        settings: RunSettings,
        store: BlobStore | None = None,
        client: HttpClient | None = None,
        progress: Progress | None = None,
        remaining_s: RemainingSeconds | None = None,
    ) -> None:
        self.settings = settings
        self.store = store if store is not None else open_store(settings.store)
        self.store.check_writable()  # before anything is fetched: no work done for nothing
        # One client per set of allowlist additions: a feed's extra hosts are its own.
        self._clients: dict[frozenset[str], HttpClient] = {}
        self._clients_lock = threading.Lock()
        if client is not None:
            self._clients[frozenset()] = client
        self.progress = progress
        self.remaining_s = remaining_s
        self.state = StateStore(self.store, settings.retry)
        self.run_id = uuid.uuid4().hex[:12]
        self.catalog = Catalog(self.store, self.run_id, grace_s=settings.pending_grace_s)
        self.events = ChangeEvents(settings.event_bus)
        # ntv.de and the hosts configured to stand in for it (ALLOWED_HOSTS / --allow-host); a
        # page any other host served (a feed's own allow_hosts) is bound to that host.
        self.ntv_hosts = HostAllowlist(settings.fetch.allowed_domains, settings.fetch.extra_hosts)

    @property
    def client(self) -> HttpClient:
        return self.client_for(None)

    def client_for(self, feed: FeedConfig | None) -> HttpClient:
        extra = feed.allow_hosts if feed else frozenset()
        with self._clients_lock:  # article threads ask at once; each set gets one client
            if extra not in self._clients:
                fetch = self.settings.fetch
                hosts = fetch.extra_hosts | extra
                self._clients[extra] = HttpClient(replace(fetch, extra_hosts=hosts))
            return self._clients[extra]

    def poll_feeds(self, feeds: list[FeedConfig]) -> RunSummary:
        """Poll each feed; one feed failing never stops the others (FeedError if all fail)."""
        started = time.monotonic()
        summaries: list[RunSummary] = []
        errors: list[dict[str, str]] = []
        for feed in feeds:
            try:
                summaries.append(self.poll(feed))
            except FeedError as exc:
                errors.append(self.feed_failed(feed, exc))
        if not summaries:
            raise all_feeds_failed(errors)
        if len(feeds) == 1:
            return summaries[0]
        return self.finish(merge_summaries(self.summary(None), summaries, errors), started)

    def feed_failed(self, feed: FeedConfig, exc: FeedError) -> dict[str, str]:
        """Log one feed's failure; the record goes into the run's ``feed_errors``."""
        logger.error("feed failed", extra={"run_id": self.run_id, "feed": feed.name,
                                           "reason": str(exc)})  # fmt: skip
        return {"feed": feed.name, "url": feed.url, "reason": str(exc)}

    def poll(self, feed: FeedConfig | None = None) -> RunSummary:
        """Read the feed and archive its items; FeedError if the feed cannot be read."""
        feed = feed or FeedConfig(name="default", url=self.settings.feed_url)
        url = feed.url
        started = time.monotonic()
        summary = self.summary(url)
        state = self.state.load()
        fetched = read_feed(self.client_for(feed), url, state.validators(url), self.deadline())
        now = utcnow()
        listed = fetched.items[: self.settings.max_items]
        todo = plan_poll(listed, list(state.pending_for(url)), set(state.parked), now)
        logger.info(
            "feed read",
            extra={"run_id": self.run_id, "feed": url, "not_modified": fetched.not_modified,
                   "listed": len(listed), "todo": len(todo)},
        )  # fmt: skip
        summary.not_modified = fetched.not_modified
        summary.items = len(todo)
        summary.outcomes = self.archive_items(todo, feed=feed)
        # Items cut by --max-items were never looked at: keep the feed unconditional until a
        # run has seen all of it. Failed and deferred ones are owed by the state instead.
        seen_all = len(listed) == len(fetched.items) and not fetched.not_modified
        results = list(zip(todo, summary.outcomes, strict=True))
        try:
            final = self.state.update(
                lambda s: self.record(
                    s, url, results, fetched.validators if seen_all else None, now
                )
            )
            summary.pending = sum(1 for _ in final.pending_for(url))
        except StoreError as exc:
            if not any(o.status in ("new", "updated") for o in summary.outcomes):
                raise  # nothing was stored: the run could not do its work (exit 2)
            # Documents are stored already: this is a partial run (exit 1), not one that could
            # not start. The next run re-reads the feed unconditionally and retries as needed.
            logger.error("state not written", extra={"run_id": self.run_id, "reason": str(exc)})
            summary.errors.append(f"state not written: {exc}")
        return self.finish(summary, started)

    def record_successes(self, state: RunState, article_ids: list[str]) -> None:
        for archived_id in article_ids:
            self.state.record_success(state, archived_id)

    def record(
        self,
        state: RunState,
        feed_url: str,
        results: list[tuple[FeedItem, ArticleOutcome]],
        validators: FeedValidators | None,
        now: datetime,
    ) -> None:
        """Fold one run's outcomes into the run state (called again on a write conflict)."""
        for item, outcome in results:
            if outcome.status == "failed":
                self.state.record_failure(state, item, feed_url, outcome.reason or "", now,
                                          run_id=self.run_id)  # fmt: skip
            elif outcome.status == "deferred":
                state.pending.setdefault(item.id, Pending(item=item, feed_url=feed_url))
            else:
                self.state.record_success(state, item.id)
        if validators is not None and validators.request_headers():
            state.feeds[feed_url] = validators

    def replay(self, urls: Iterable[str], force: bool = False) -> RunSummary:
        """Fetch and archive these URLs (allowlist applies); ``force`` rewrites unchanged ones."""
        started = time.monotonic()
        items = [item_for_url(url) for url in urls]
        summary = self.summary(None)
        summary.items = len(items)
        summary.outcomes = self.archive_items(items, force=force)
        archived = [i.id for i, o in zip(items, summary.outcomes, strict=True) if o.key]
        if archived:  # a replay is how a parked or pending article is brought home
            self.state.update(lambda state: self.record_successes(state, archived))
        return self.finish(summary, started)

    def archive_items(
        self, items: Iterable[FeedItem], feed: FeedConfig | None = None, force: bool = False
    ) -> list[ArticleOutcome]:
        todo = list(items)
        done: list[ArticleOutcome] = []
        workers = max(1, min(self.settings.concurrency, len(todo) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="article") as pool:
            for outcome in pool.map(lambda item: self.archive_one(item, feed, force), todo):
                done.append(outcome)
                if self.progress is not None:
                    self.progress(len(done), len(todo), outcome)
        return done

    def archive_one(
        self,
        item: FeedItem,
        feed: FeedConfig | None = None,
        force: bool = False,
        poll_run_id: str | None = None,
    ) -> ArticleOutcome:
        """Fetch, extract and store one article; never raises. ``poll_run_id``: the poller run
        that queued it (fan-out), carried into the change event."""
        if self.out_of_time():
            logger.info("article deferred: time budget", extra=self.ids(item.id))
            return ArticleOutcome(id=item.id, url=item.link, status="deferred")
        try:
            response = self.client_for(feed).get(
                item.link, accept=HTML_TYPES, deadline=self.deadline()
            )
            doc = extract_article(
                response.body,
                response.final_url,
                fetched_at=response.fetched_at,
                feed_url=feed.url if feed else None,
                feed_item=item if feed else None,
                capture={"status": response.status, "final_url": response.final_url},
                charset=response.charset,
                profile=feed.profile if feed else "ntv",
            )
            if not self.ntv_hosts.allows(urlsplit(response.final_url).hostname or ""):
                doc = bind_to_host(doc, response.final_url)
            status = self.commit(doc, response, force=force, poll_run_id=poll_run_id)
        except NotAnArticleError as exc:
            return self.skipped(item.id, item.link, exc)
        except ArchiveError as exc:
            return self.failed(item.id, item.link, str(exc), exc)
        except Exception as exc:  # a bug must not cost the other articles
            logger.exception("internal error", extra=self.ids(item.id))
            return self.failed(item.id, item.link, f"internal error: {type(exc).__name__}: {exc}")
        return self.stored(doc, item.link, status)

    def commit(
        self,
        doc: dict[str, Any],
        response: Response | None,
        force: bool = False,
        poll_run_id: str | None = None,
    ) -> Status:
        """Store a version; a new or updated one goes into the manifest and is announced.
        The catalog's intent marker is written just before the document (see Catalog)."""
        markers: list[tuple[str, Status]] = []

        def intend(intent: Intent) -> None:
            markers.append((self.catalog.intend(doc, intent), intent.status))

        try:
            status: Status = save_version(self.store, doc, response, force=force,
                                          before_writes=intend)  # fmt: skip
        except ArchiveError:
            for marker, _ in markers:  # undo what the failed attempts half-wrote
                self.catalog.confirm(marker)
            raise
        if status == "unchanged" and markers:
            # An earlier attempt's write may have landed although it was answered with an
            # error (then 412 on the retry): the stored version is ours, and needs its line.
            confirmed = self.catalog.confirm(markers[-1][0])
            for stale, _ in markers[:-1]:
                self.store.delete(stale)
            status = "new" if confirmed == "new" else "updated" if confirmed else "unchanged"
            markers = markers[-1:] if confirmed else []
        for stale, _ in markers[:-1]:
            self.store.delete(stale)  # an attempt that lost a race; the last one committed
        if status != "unchanged":
            line = self.catalog.record(doc, status, marker=markers[-1][0], defer=True)
            self.events.emit(line, run_id=self.run_id, poll_run_id=poll_run_id)
        return status

    def deadline(self) -> float | None:
        """When a fetch must end (``time.monotonic()``) so that the invocation still writes its
        state and catalog before its own timeout; None outside Lambda."""
        if self.remaining_s is None:
            return None
        left = max(0.0, self.remaining_s())
        # The reserve never takes more than half of what is left: a short invocation still
        # reads its feed (and defers its articles) instead of failing at once.
        return time.monotonic() + left - min(self.settings.finish_reserve_s, left / 2)

    def out_of_time(self) -> bool:
        """True when the invocation has too little time left to finish one more article."""
        if self.remaining_s is None:
            return False
        return self.remaining_s() < self.settings.min_remaining_s

    def stored(self, doc: dict[str, Any], url: str, status: Status) -> ArticleOutcome:
        extraction = doc["extraction"]
        fallback = extraction["status"] == "fallback"
        disagreement = not (extraction.get("baseline") or {}).get("agrees", True)
        key = article_key(doc)
        outcome = ArticleOutcome(id=doc["id"], url=url, status=status, key=key,
                                 fallback=fallback, disagreement=disagreement)  # fmt: skip
        logger.info(f"article {status}", extra={**self.ids(doc["id"]), "key": key})
        if fallback:
            logger.warning("fallback extraction", extra={**self.ids(doc["id"]), "url": url})
        if disagreement:
            logger.warning("extraction disagrees with trafilatura",
                           extra={**self.ids(doc["id"]), "url": url,
                                  "baseline": extraction["baseline"],
                                  "warnings": extraction["warnings"]})  # fmt: skip
        return outcome

    def failed(
        self, article_id: str, url: str, reason: str, error: ArchiveError | None = None
    ) -> ArticleOutcome:
        """A failure with its context (error class, HTTP status) as data, so a reader of the
        summary tells a 404 from a timeout without parsing ``reason``."""
        context = error.context() if error else {}
        logger.warning("article failed", extra={**self.ids(article_id), "reason": reason,
                                                "error": type(error).__name__ if error else None,
                                                **context})  # fmt: skip
        return ArticleOutcome(
            id=article_id,
            url=url,
            status="failed",
            reason=reason,
            error=type(error).__name__ if error else None,
            http_status=error.status if error else None,
        )

    def skipped(self, article_id: str, url: str, error: NotAnArticleError) -> ArticleOutcome:
        """A page that is not an article: said once, not written, not retried."""
        logger.info("not an article", extra={**self.ids(article_id), "url": url,
                                             "reason": error.reason})  # fmt: skip
        return ArticleOutcome(id=article_id, url=url, status="skipped", reason=str(error))

    def summary(self, feed_url: str | None) -> RunSummary:
        return RunSummary(run_id=self.run_id, feed_url=feed_url, store=self.store.describe())

    def settle_catalog(self) -> None:
        """The run's manifest lines (one append per day), then what crashed runs left."""
        for line in self.catalog.flush():
            logger.warning("recovered a crashed run's version", extra=self.ids(line["id"]))
            self.events.emit(line, run_id=self.run_id)

    def finish(self, summary: RunSummary, started: float) -> RunSummary:
        self.settle_catalog()
        summary.duration_s = time.monotonic() - started
        summary.events_failed = self.events.failed
        logger.info("run finished", extra={"run_id": self.run_id, **summary.counts})
        return summary

    def ids(self, article_id: str) -> dict[str, str]:
        return {"run_id": self.run_id, "article_id": article_id}


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


def item_for_url(url: str) -> FeedItem:
    """A replayed URL as a feed item of its own (no feed context)."""
    return FeedItem(
        id=article_id(url),
        link=url,
        title="",
        kicker=None,
        headline="",
        teaser=None,
        category=None,
        published=None,
    )
