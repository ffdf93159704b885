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
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from handler.archive.catalog import Catalog
from handler.archive.document import Document
from handler.archive.extraction import extract_document
from handler.archive.leases import RunLease
from handler.archive.schedule import DueRevisits, Revisit, RevisitSchedule
from handler.archive.state import utcnow
from handler.archive.statestore import StateStore
from handler.archive.versions import Intent, save_version
from handler.core.capture import Capture, Validators
from handler.core.config import RunSettings
from handler.core.errors import ArchiveError, NotAnArticleError, OlderCaptureError
from handler.core.log import logger
from handler.core.models import FeedItem
from handler.ingest.feeds import FeedConfig
from handler.ingest.fetch import HTML_TYPES, HostAllowlist, HttpClient
from handler.run.notify import ChangeEvents
from handler.run.outcomes import ArticleOutcome, Progress, RunSummary, Status
from handler.store import BlobStore, open_store

GONE_STATUSES = frozenset({404, 410})  # a revisit that meets these ends the article's schedule
RemainingSeconds = Callable[[], float]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Work:
    """One article to archive: a feed item (from ``feed``), or a scheduled ``revisit``."""

    item: FeedItem
    feed: FeedConfig | None = None
    revisit: Revisit | None = None


class RunContext:
    """What every use case of one run shares: settings, the store, HTTP clients, the run state,
    the catalog and the change events, and archiving one article (fetch → extract → commit)."""

    def __init__(
        self,
        settings: RunSettings,
        store: BlobStore | None = None,
        progress: Progress | None = None,
        remaining_s: RemainingSeconds | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        # What "now" is for the revisit schedule and retries; a simulation (bench/day.py) moves it.
        self.clock: Clock = clock or utcnow
        self.store = store if store is not None else open_store(settings.store)
        self.store.check_writable()  # before anything is fetched: no work done for nothing
        # One client per set of allowlist additions: a feed's extra hosts are its own.
        self._clients: dict[frozenset[str], HttpClient] = {}
        self._clients_lock = threading.Lock()
        self.progress = progress
        self._ticks = 0  # articles reported to ``progress`` by use cases that go one at a time
        self._progress_total = 0  # how many they expect; 0: not known in advance
        self._ticks_lock = threading.Lock()
        self.remaining_s = remaining_s
        self.state = StateStore(self.store, settings.retry)
        self.run_id = uuid.uuid4().hex[:12]
        lease = RunLease(self.store, self.run_id, deadline=self._invocation_deadline)
        self.catalog = Catalog(self.store, self.run_id, settings.pending_grace_s, lease)
        self.events = ChangeEvents(settings.event_bus)
        self.schedule = RevisitSchedule(self.store, settings.revisit_after)
        self._scheduled: list[datetime] = []  # due times of entries this run wrote
        self._scheduled_lock = threading.Lock()
        self._listed = False  # a run lists the schedule at most once
        # The feeds this run polls, by URL: a revisit gets its own feed's configuration.
        self.configured_feeds: dict[str, FeedConfig] = {}
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
        return self.archive_work([Work(item, feed) for item in items], force)

    def archive_work(self, work: Iterable[Work], force: bool = False) -> list[ArticleOutcome]:
        """Archive each piece of work on the run's thread pool; outcomes in the same order."""
        todo = list(work)
        done: list[ArticleOutcome] = []
        workers = max(1, min(self.settings.concurrency, len(todo) or 1))

        def one(w: Work) -> ArticleOutcome:
            return self.archive_one(w.item, w.feed, force, revisit=w.revisit)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="article") as pool:
            try:
                for outcome in pool.map(one, todo):
                    done.append(outcome)
                    if self.progress is not None:
                        self.progress(len(done), len(todo), outcome)
            except BaseException:  # Ctrl-C: the articles not started are not started at all
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return done

    def expect_progress(self, total: int) -> None:
        """How many articles the use case will report with ``tick`` (for a time-left estimate)."""
        self._progress_total = max(0, total)

    def tick(self, outcome: ArticleOutcome) -> None:
        """One article done by a use case that archives one at a time (backfill, import,
        reprocess): reported to ``progress``, the CLI's progress bar on a terminal."""
        if self.progress is None:
            return
        with self._ticks_lock:
            self._ticks += 1
            done = self._ticks
        self.progress(done, self._progress_total, outcome)

    def archive_one(
        self,
        item: FeedItem,
        feed: FeedConfig | None = None,
        force: bool = False,
        poll_run_id: str | None = None,
        revisit: Revisit | None = None,
        news: bool = True,
    ) -> ArticleOutcome:
        """Fetch, extract and store one article; never raises. ``poll_run_id``: the poller run
        that queued it (fan-out), carried into the change event. ``revisit``: the schedule
        entry this is the revisit of (fetched conditionally, then advanced). ``news``: a new
        article gets revisits (a backfilled one from the past does not)."""
        if self.out_of_time():
            logger.info("article deferred: time budget", extra=self.ids(item.id))
            return ArticleOutcome(id=item.id, url=item.link, status="deferred",
                                  revisit=revisit is not None)  # fmt: skip
        outcome, validators = self._archive(item, feed, force, poll_run_id, revisit)
        if revisit is not None:
            self._revisited(revisit, outcome, validators)
        elif outcome.status == "new" and news and self.schedule.enabled:
            self._schedule_first(item, feed, validators)
        return outcome

    def _archive(
        self,
        item: FeedItem,
        feed: FeedConfig | None,
        force: bool,
        poll_run_id: str | None,
        revisit: Revisit | None,
    ) -> tuple[ArticleOutcome, Validators | None]:
        conditional = revisit.validators.request_headers() if revisit and not force else None

        def fetch_and_keep() -> tuple[ArticleOutcome, Validators | None]:
            response = self.client_for(feed).get(
                item.link, accept=HTML_TYPES, headers=conditional, deadline=self.deadline()
            )
            validators = Validators.of(response)
            if response.status == 304:  # unchanged since the capture: no extraction, no write
                logger.info("article not modified", extra=self.ids(item.id))
                return ArticleOutcome(id=item.id, url=item.link, status="unchanged",
                                      revisit=True, not_modified=True), validators  # fmt: skip
            kept = self._keep(response, item, feed, force=force, poll_run_id=poll_run_id,
                              revisit=revisit is not None)  # fmt: skip
            return kept, validators

        return self._guarded(item, revisit is not None, fetch_and_keep)

    def archive_capture(self, response: Capture, capture: bytes) -> ArticleOutcome:
        """Archive a page another crawler captured (a WARC import): the record's time is the
        fetch time and the record itself the capture. A capture older than the archived
        version with other content is skipped: history never replaces what is current."""
        item = FeedItem.for_url(response.url)
        if self.out_of_time():
            return ArticleOutcome(id=item.id, url=item.link, status="deferred")

        def keep() -> tuple[ArticleOutcome, None]:
            return self._keep(response, item, None, capture=capture, newer_only=True), None

        return self._guarded(item, False, keep)[0]

    def _guarded(
        self,
        item: FeedItem,
        revisit: bool,
        work: Callable[[], tuple[ArticleOutcome, Validators | None]],
    ) -> tuple[ArticleOutcome, Validators | None]:
        """The work's outcome, or the outcome its error makes: never raises."""
        try:
            return work()
        except NotAnArticleError as exc:
            return self.skipped(item.id, item.link, exc, revisit), None
        except OlderCaptureError as exc:
            logger.info("older capture skipped", extra={**self.ids(item.id), "reason": str(exc)})
            return ArticleOutcome(id=item.id, url=item.link, status="skipped",
                                  reason=str(exc)), None  # fmt: skip
        except ArchiveError as exc:
            return self.failed(item.id, item.link, str(exc), exc, revisit), None
        except Exception as exc:  # a bug must not cost the other articles
            logger.exception("internal error", extra=self.ids(item.id))
            reason = f"internal error: {type(exc).__name__}: {exc}"
            return self.failed(item.id, item.link, reason, revisit=revisit), None

    def _keep(
        self,
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
        validators = Validators.of(response)
        doc = extract_document(
            response.body,
            response.final_url,
            fetched_at=response.fetched_at,
            feed_url=feed.url if feed else None,
            feed_item=item if feed else None,
            capture={
                "status": response.status,
                "final_url": response.final_url,
                "etag": validators.etag,
                "last_modified": validators.last_modified,
            },
            charset=response.charset,
            profile=feed.profile if feed else "ntv",
        )
        if not self.ntv_hosts.allows(urlsplit(response.final_url).hostname or ""):
            doc = doc.bound_to(response.final_url)
        status, change = self.commit(doc, response, force=force, poll_run_id=poll_run_id,
                                     capture=capture, newer_only=newer_only)  # fmt: skip
        return self.stored(doc, item.link, status, revisit, change)

    def _schedule_first(
        self, item: FeedItem, feed: FeedConfig | None, validators: Validators | None
    ) -> None:
        """A first version is stored: its first revisit goes on the schedule. A failure here
        costs that article its revisits, never its version (said, and counted as an error)."""
        try:
            entry = self.schedule.start(item, feed.url if feed else None,
                                        feed.profile if feed else "ntv",
                                        validators or Validators(), self.clock())  # fmt: skip
        except ArchiveError as exc:
            logger.error("revisit not scheduled", extra={**self.ids(item.id), "reason": str(exc)})
            return
        if entry is not None:
            self._note_scheduled(entry.due)

    def _revisited(
        self, entry: Revisit, outcome: ArticleOutcome, validators: Validators | None
    ) -> None:
        """Move the schedule on after a revisit: the next step, or no more revisits when the
        page is gone or no longer an article. A deferred revisit stays due."""
        if outcome.status == "deferred":
            return
        try:
            if outcome.status == "skipped" or outcome.http_status in GONE_STATUSES:
                self.schedule.drop(entry)
                return
            following = self.schedule.advance(entry, self.clock(), validators)
        except ArchiveError as exc:
            # The entry stays due: the next run revisits it again (at least once, never lost).
            logger.error("revisit not advanced", extra={**self.ids(entry.id), "reason": str(exc)})
            return
        if following is not None:
            self._note_scheduled(following.due)

    def _note_scheduled(self, due: datetime) -> None:
        with self._scheduled_lock:
            self._scheduled.append(due)

    def take_scheduled(self) -> datetime | None:
        """The earliest due time of the entries this run wrote since the last call (for the
        run state's hint, see RunState.next_revisit_at)."""
        with self._scheduled_lock:
            written, self._scheduled = self._scheduled, []
        return min(written, default=None)

    def due_revisits(self, may_be_due: bool = True) -> DueRevisits | None:
        """The schedule's due entries, listed once per run (None on a second call, and when
        the run state says nothing can be due, so nothing is listed)."""
        if self._listed or not self.schedule.enabled or not may_be_due:
            return None
        self._listed = True
        return self.schedule.due(self.clock())

    def commit(
        self,
        document: Document,
        response: Capture | None,
        force: bool = False,
        poll_run_id: str | None = None,
        capture: bytes | None = None,
        newer_only: bool = False,
    ) -> tuple[Status, str | None]:
        """Store a version; a new or updated one goes into the manifest and is announced.
        The catalog's intent marker is written just before the document (see Catalog). Here
        the typed document meets the store: its JSON is what versions and catalog write.
        Returns the status and, for an updated version, its change summary."""
        doc = document.to_json()
        markers: list[tuple[str, Status]] = []

        def intend(intent: Intent) -> None:
            markers.append((self.catalog.intend(doc, intent), intent.status))

        try:
            status: Status = save_version(self.store, doc, response, force=force,
                                          before_writes=intend, capture=capture,
                                          newer_only=newer_only)  # fmt: skip
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
        said = (doc.get("changes") or {}).get("summary") if status == "updated" else None
        return status, said if isinstance(said, str) else None

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

    def next_look(self, listing: DueRevisits) -> datetime:
        """When the schedule must be listed again: at its next due entry, or, when it is
        empty, one last step from now (runs that write entries lower it, see poll)."""
        return listing.next_due or self.clock() + self.settings.revisit_after[-1]

    def stored(
        self,
        doc: Document,
        url: str,
        status: Status,
        revisit: bool = False,
        change: str | None = None,
    ) -> ArticleOutcome:
        outcome = ArticleOutcome(id=doc.id, url=url, status=status, key=doc.key,
                                 fallback=doc.fallback, disagreement=not doc.agrees,
                                 revisit=revisit, change=change)  # fmt: skip
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
        self,
        article_id: str,
        url: str,
        reason: str,
        error: ArchiveError | None = None,
        revisit: bool = False,
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
            revisit=revisit,
        )

    def skipped(
        self, article_id: str, url: str, error: NotAnArticleError, revisit: bool = False
    ) -> ArticleOutcome:
        """A page that is not an article: said once, not written, not retried."""
        logger.info("not an article", extra={**self.ids(article_id), "url": url,
                                             "reason": error.reason})  # fmt: skip
        return ArticleOutcome(id=article_id, url=url, status="skipped", reason=str(error),
                              revisit=revisit)  # fmt: skip

    def summary(self, feed_url: str | None) -> RunSummary:
        return RunSummary(run_id=self.run_id, feed_url=feed_url, store=self.store.describe())

    @contextmanager
    def summarised(self, feed_url: str | None) -> Iterator[RunSummary]:
        """A use case's summary, timed and finished (catalog settled, events counted) when the
        use case returns; not when it raises (the run failed and says so itself)."""
        started = time.monotonic()
        summary = self.summary(feed_url)
        try:
            yield summary
        except BaseException:
            # Interrupted (Ctrl-C) or failed: what was stored gets its manifest lines now and
            # this run's markers are settled at once; nothing waits for a recovery window.
            self.abandon()
            raise
        self.finish(summary, started)

    def settle_catalog(self, recover: bool = True) -> None:
        """The run's manifest lines (one append per day), then (``recover``) what crashed
        runs left: that costs a listing, so a long run settling often recovers at its end."""
        for line in self.catalog.flush(recover):
            logger.warning("recovered a crashed run's version", extra=self.ids(line["id"]))
            self.events.emit(line, run_id=self.run_id)

    def abandon(self) -> None:
        """Settle this run's own markers and release its lease (see Catalog.abandon). Best
        effort: the run is already failing, and its lease expires by itself if this cannot."""
        try:
            for line in self.catalog.abandon():
                self.events.emit(line, run_id=self.run_id)
        except Exception:
            logger.warning("could not settle this run's markers", exc_info=True,
                           extra={"run_id": self.run_id})  # fmt: skip

    def _invocation_deadline(self) -> datetime | None:
        """When the Lambda invocation ends (its timeout bounds the run's lease); None outside."""
        if self.remaining_s is None:
            return None
        return datetime.now(UTC) + timedelta(seconds=max(0.0, self.remaining_s()))

    def finish(self, summary: RunSummary, started: float) -> RunSummary:
        self.settle_catalog()
        self.catalog.release()
        summary.duration_s = time.monotonic() - started
        summary.events_failed = self.events.failed
        logger.info("run finished", extra={"run_id": self.run_id, **summary.counts})
        return summary

    @property
    def first_step(self) -> timedelta:
        return self.settings.revisit_after[0] if self.schedule.enabled else timedelta(0)

    def expect_first_revisits(self) -> None:
        """Before a run that may archive new articles: the run state's revisit hint comes no
        later than the first step from now, so the entries the run writes are found even if
        it dies before its own state write (see RunState.next_revisit_at)."""
        if not self.schedule.enabled:
            return
        early = self.clock() + self.settings.revisit_after[0]
        self.state.update(lambda state: state.expect_revisit(early))

    def ids(self, article_id: str) -> dict[str, str]:
        return {"run_id": self.run_id, "article_id": article_id}
