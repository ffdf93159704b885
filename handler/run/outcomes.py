"""What a run reports: one outcome per article, and the run's summary (counts, failures)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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
    revisit: bool = False  # a scheduled revisit (not a feed item, retry or replay)
    not_modified: bool = False  # the page answered 304 to the conditional fetch: no work done
    change: str | None = None  # an updated version's change summary ("body: 1 paragraph ...")


MAX_LISTED = 1000  # outcomes listed in a summary (see RunSummary._articles)


def response_lost_something(response: dict[str, Any]) -> bool:
    """Whether a run's summary (or a Lambda response) says something asked for was not done:
    an article failed, a feed failed, the run failed after storing, or an imported file was
    damaged (malformed records, or cut short). The CLI's exit code 1 and ``invoke``'s follow it."""
    sources = response.get("sources") or []
    damaged = any(s.get("error") or s.get("malformed") for s in sources if isinstance(s, dict))
    return bool(
        response.get("failed")
        or response.get("batchItemFailures")
        or response.get("feed_errors")
        or response.get("errors")
        or damaged
    )


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
    catchup: dict[str, Any] | None = None  # what a catch-up after a gap found (run/catchup.py)
    sources: list[dict[str, Any]] = field(default_factory=list)  # an import's files, each
    backfill: dict[str, Any] | None = None  # a backfill's job and cursor (run/backfill.py)
    reprocess: dict[str, Any] | None = None  # a reprocess's job and cursor (run/reprocess.py)
    site: dict[str, Any] | None = None  # the site update after the run (run/publish.py)
    duration_s: float = 0.0
    outcomes: list[ArticleOutcome] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        counts["fallback"] = sum(o.fallback for o in self.outcomes)
        counts["disagreement"] = sum(o.disagreement for o in self.outcomes)
        counts["revisited"] = sum(o.revisit for o in self.outcomes)
        counts["unmodified"] = sum(o.not_modified for o in self.outcomes)
        return counts

    @property
    def failures(self) -> list[ArticleOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def lost_something(self) -> bool:
        """True when the run did not do all it was asked: see ``response_lost_something``
        (the same rule, over the parts it reads, not a whole serialised summary)."""
        said = {"failed": len(self.failures), "feed_errors": self.feed_errors,
                "errors": self.errors, "sources": self.sources}  # fmt: skip
        return response_lost_something(said)

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
            **({"catchup": self.catchup} if self.catchup else {}),
            **({"sources": self.sources} if self.sources else {}),
            **({"backfill": self.backfill} if self.backfill else {}),
            **({"reprocess": self.reprocess} if self.reprocess else {}),
            **({"site": self.site} if self.site else {}),
            **self._articles(),
        }

    def _articles(self) -> dict[str, Any]:
        """One outcome per article; a run over more than MAX_LISTED (a reprocess of a year)
        lists the first MAX_LISTED that are not ``unchanged`` and says how many it left out,
        so a Lambda response stays far below its 6 MB limit. The counts above cover them all."""
        if len(self.outcomes) <= MAX_LISTED:
            return {"articles": [asdict(o) for o in self.outcomes]}
        listed = [asdict(o) for o in self.outcomes if o.status != "unchanged"][:MAX_LISTED]
        return {"articles": listed, "articles_omitted": len(self.outcomes) - len(listed)}


Progress = Callable[[int, int, ArticleOutcome], None]


class Ticker:
    """Progress of a use case that archives one article at a time (backfill, import,
    reprocess), reported to ``progress`` (the CLI's progress bar on a terminal)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.total = 0  # how many the use case expects; 0: not known in advance
        self._done = 0
        self._lock = threading.Lock()

    def expect(self, total: int) -> None:
        self.total = max(0, total)

    def tick(self, outcome: ArticleOutcome) -> None:
        if self.progress is None:
            return
        with self._lock:
            self._done += 1
            done = self._done
        self.progress(done, self.total, outcome)
