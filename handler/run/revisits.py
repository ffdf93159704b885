"""A run's side of the revisit schedule: the first revisit of each new article, moving an entry
on after its revisit, the due entries listed once per run, and the hint the run state keeps of
when the schedule next has something due (see RunState.next_revisit_at)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from handler.archive.schedule import DueRevisits, Revisit, RevisitSchedule
from handler.archive.statestore import StateStore
from handler.core.capture import Validators
from handler.core.config import DEFAULT_PROFILE
from handler.core.errors import ArchiveError
from handler.core.log import logger
from handler.core.models import FeedItem
from handler.ingest.feeds import FeedConfig
from handler.run.outcomes import ArticleOutcome

GONE_STATUSES = frozenset({404, 410})  # a revisit that meets these ends the article's schedule


class RunRevisits:
    """The revisit schedule as one run uses it (thread-safe: article threads report to it)."""

    def __init__(self, schedule: RevisitSchedule, steps: tuple[timedelta, ...],
                 clock: Callable[[], datetime], run_id: str) -> None:  # fmt: skip
        self.schedule = schedule
        self.steps = steps
        self.clock = clock
        self.run_id = run_id
        self._written: list[datetime] = []  # due times of the entries this run wrote
        self._lock = threading.Lock()
        self._listed = False  # a run lists the schedule at most once

    @property
    def enabled(self) -> bool:
        return self.schedule.enabled

    @property
    def first_step(self) -> timedelta:
        return self.steps[0] if self.enabled else timedelta(0)

    def start(self, item: FeedItem, feed: FeedConfig | None, validators: Validators | None) -> None:
        """A first version is stored: its first revisit goes on the schedule. A failure here
        costs that article its revisits, never its version (said, and counted as an error)."""
        try:
            entry = self.schedule.start(item, feed.url if feed else None,
                                        feed.profile if feed else DEFAULT_PROFILE,
                                        validators or Validators(), self.clock())  # fmt: skip
        except ArchiveError as exc:
            logger.error("revisit not scheduled", extra={**self._ids(item.id), "reason": str(exc)})
            return
        if entry is not None:
            self._wrote(entry.due)

    def after(self, entry: Revisit, outcome: ArticleOutcome, validators: Validators | None) -> None:
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
            logger.error("revisit not advanced", extra={**self._ids(entry.id), "reason": str(exc)})
            return
        if following is not None:
            self._wrote(following.due)

    def take_written(self) -> datetime | None:
        """The earliest due time of the entries this run wrote since the last call (for the
        run state's hint)."""
        with self._lock:
            written, self._written = self._written, []
        return min(written, default=None)

    def due(self, may_be_due: bool = True) -> DueRevisits | None:
        """The schedule's due entries, listed once per run (None on a second call, and when
        the run state says nothing can be due, so nothing is listed)."""
        if self._listed or not self.enabled or not may_be_due:
            return None
        self._listed = True
        return self.schedule.due(self.clock())

    def next_look(self, listing: DueRevisits) -> datetime:
        """When the schedule must be listed again: at its next due entry, or, when it is
        empty, one last step from now (runs that write entries lower it, see poll)."""
        return listing.next_due or self.clock() + self.steps[-1]

    def expect_first(self, state: StateStore) -> None:
        """Before a run that may archive new articles: the run state's revisit hint comes no
        later than the first step from now, so the entries the run writes are found even if
        it dies before its own state write (see RunState.next_revisit_at)."""
        if not self.enabled:
            return
        early = self.clock() + self.steps[0]
        state.update(lambda run_state: run_state.expect_revisit(early))

    def _wrote(self, due: datetime) -> None:
        with self._lock:
            self._written.append(due)

    def _ids(self, article_id: str) -> dict[str, str]:
        return {"run_id": self.run_id, "article_id": article_id}
