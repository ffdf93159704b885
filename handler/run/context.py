"""The shared run context every use case works over (poll, replay, reprocess, fan-out, worker).

Articles are processed on a thread pool so fetches overlap; one article failing never stops the
others: its failure becomes an outcome with a reason.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from urllib.parse import urlsplit

from handler.archive.catalog import Catalog
from handler.archive.document import Document
from handler.archive.extraction import extract_document
from handler.archive.state import StateStore
from handler.archive.versions import Intent, save_version
from handler.core.config import RunSettings
from handler.core.errors import ArchiveError, NotAnArticleError
from handler.core.log import logger
from handler.core.models import FeedItem
from handler.ingest.feeds import FeedConfig
from handler.ingest.fetch import HostAllowlist, HttpClient, Response
from handler.run.notify import ChangeEvents
from handler.run.outcomes import ArticleOutcome, Progress, RunSummary, Status
from handler.store import BlobStore, open_store

HTML_TYPES = ("text/html", "application/xhtml+xml")
RemainingSeconds = Callable[[], float]


class RunContext:
    """What every use case of one run shares: settings, the store, HTTP clients, the run state,
    the catalog and the change events, and archiving one article (fetch → extract → commit)."""

    def __init__(
        self,
        settings: RunSettings,
        store: BlobStore | None = None,
        progress: Progress | None = None,
        remaining_s: RemainingSeconds | None = None,
    ) -> None:
        self.settings = settings
        self.store = store if store is not None else open_store(settings.store)
        self.store.check_writable()  # before anything is fetched: no work done for nothing
        # One client per set of allowlist additions: a feed's extra hosts are its own.
        self._clients: dict[frozenset[str], HttpClient] = {}
        self._clients_lock = threading.Lock()
        self.progress = progress
        self.remaining_s = remaining_s
        self.state = StateStore(self.store, settings.retry)
        self.run_id = uuid.uuid4().hex[:12]
        self.catalog = Catalog(self.store, self.run_id, grace_s=settings.pending_grace_s)
        self.events = ChangeEvents(settings.event_bus)
        # ntv.de and the hosts configured to stand in for it (ALLOWED_HOSTS / --allow-host); a
        # page any other host served (a feed's own allow_hosts) is bound to that host.
        self.ntv_hosts = HostAllowlist(settings.fetch.allowed_domains, settings.fetch.extra_hosts)

    def client_for(self, feed: FeedConfig | None) -> HttpClient:
        extra = feed.allow_hosts if feed else frozenset()
        with self._clients_lock:  # article threads ask at once; each set gets one client
            if extra not in self._clients:
                fetch = self.settings.fetch
                hosts = fetch.extra_hosts | extra
                self._clients[extra] = HttpClient(replace(fetch, extra_hosts=hosts))
            return self._clients[extra]

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
            doc = extract_document(
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
                doc = doc.bound_to(response.final_url)
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
        document: Document,
        response: Response | None,
        force: bool = False,
        poll_run_id: str | None = None,
    ) -> Status:
        """Store a version; a new or updated one goes into the manifest and is announced.
        The catalog's intent marker is written just before the document (see Catalog). Here
        the typed document meets the store: its JSON is what versions and catalog write."""
        doc = document.to_json()
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

    def stored(self, doc: Document, url: str, status: Status) -> ArticleOutcome:
        outcome = ArticleOutcome(id=doc.id, url=url, status=status, key=doc.key,
                                 fallback=doc.fallback, disagreement=not doc.agrees)  # fmt: skip
        logger.info(f"article {status}", extra={**self.ids(doc.id), "key": doc.key})
        if doc.fallback:
            logger.warning("fallback extraction", extra={**self.ids(doc.id), "url": url})
        if not doc.agrees:
            baseline = doc.fields.baseline.to_json() if doc.fields.baseline else None
            logger.warning("extraction disagrees with trafilatura",
                           extra={**self.ids(doc.id), "url": url, "baseline": baseline,
                                  "warnings": doc.fields.warnings})  # fmt: skip
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

    @contextmanager
    def summarised(self, feed_url: str | None) -> Iterator[RunSummary]:
        """A use case's summary, timed and finished (catalog settled, events counted) when the
        use case returns; not when it raises (the run failed and says so itself)."""
        started = time.monotonic()
        summary = self.summary(feed_url)
        yield summary
        self.finish(summary, started)

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
