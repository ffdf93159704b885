"""The shared run context every use case works over (poll, replay, reprocess, fan-out, worker,
backfill, import): settings, the store, HTTP clients, the run state, the catalog, the change
events, the revisit schedule, the time budget and the run's summary. Archiving one article is
run/article.py; committing a version run/commit.py; the revisit side run/revisits.py.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from handler.archive.catalog import Catalog
from handler.archive.leases import RunLease
from handler.archive.schedule import RevisitSchedule
from handler.archive.state import utcnow
from handler.archive.statestore import StateStore
from handler.core.config import RunSettings
from handler.core.log import logger
from handler.ingest.allowlist import HostAllowlist
from handler.ingest.feeds import FeedConfig
from handler.ingest.fetch import HttpClient
from handler.run.notify import ChangeEvents
from handler.run.outcomes import Progress, RunSummary, Ticker
from handler.run.revisits import RunRevisits
from handler.store import BlobStore, open_store

RemainingSeconds = Callable[[], float]
Clock = Callable[[], datetime]


class RunContext:
    """What every use case of one run shares (see the module's doc)."""

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
        self.ticker = Ticker(progress)  # for the use cases that archive one at a time
        self.remaining_s = remaining_s
        self.state = StateStore(self.store, settings.retry)
        self.run_id = uuid.uuid4().hex[:12]
        lease = RunLease(self.store, self.run_id, deadline=self._invocation_deadline)
        self.catalog = Catalog(self.store, self.run_id, settings.pending_grace_s, lease)
        self.events = ChangeEvents(settings.event_bus)
        schedule = RevisitSchedule(self.store, settings.revisit_after)
        self.revisits = RunRevisits(schedule, settings.revisit_after, self.clock, self.run_id)
        # The feeds this run polls, by URL: a revisit gets its own feed's configuration.
        self.configured_feeds: dict[str, FeedConfig] = {}
        # The sites' hosts and those configured to stand in for them (ALLOWED_HOSTS /
        # --allow-host); a page any other host served (a feed's allow_hosts) is bound to it.
        self.site_hosts = HostAllowlist(settings.fetch.allowed_domains, settings.fetch.extra_hosts)

    def client_for(self, feed: FeedConfig | None) -> HttpClient:
        extra = feed.allow_hosts if feed else frozenset()
        with self._clients_lock:  # article threads ask at once; each set gets one client
            if extra not in self._clients:
                fetch = self.settings.fetch
                hosts = fetch.extra_hosts | extra
                self._clients[extra] = HttpClient(replace(fetch, extra_hosts=hosts))
            return self._clients[extra]

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

    def ids(self, article_id: str) -> dict[str, str]:
        return {"run_id": self.run_id, "article_id": article_id}
