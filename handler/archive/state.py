"""What the archive remembers between runs: one object, ``state/run-state.json``.

- ``feeds``: each feed's HTTP validators (ETag, Last-Modified) for conditional polls.
- ``seen``: each feed's listed items and their fingerprints (what the feed said about them at
  the last run that archived them); an item is fetched again when its fingerprint changes.
- ``newest``: the newest publication date each feed has listed; a feed whose oldest item is
  newer than that has a gap the news sitemap fills (run/catchup.py). It moves only when new
  items appear, so it costs an idle poll no write.
- ``next_revisit_at``: when the revisit schedule next has something due (see schedule.py), so a
  poll with nothing due does not even list it. Missing: unknown (list). A run that may write
  entries due before the hint lowers it first (run/poll.py, run/replay.py), so an entry is
  never hidden behind the hint, even by a run that dies before its own state write.
- ``pending``: articles that failed or were deferred, with attempts, the next retry time and
  every reason. They are retried on later runs even after they left the feed; after
  ``RetryPolicy.max_attempts`` failures an article is parked under ``failed/<id>.json``.

Every change is a compare-and-swap on the state object (re-read and re-applied on conflict), so
concurrent runs never lose each other's updates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from handler.core.capture import Validators as FeedValidators
from handler.core.models import FeedItem
from handler.core.times import instant

# How far ahead a stored "not before" time may lie (a retry, the next revisit): past that it
# was not written by this code, and counts as absent (core/times.py).
HINT_AHEAD = timedelta(days=400)


@dataclass
class Pending:
    """An article still owed to the archive."""

    item: FeedItem
    feed_url: str | None
    attempts: int = 0
    next_retry_at: str = ""
    reasons: list[dict[str, str]] = field(default_factory=list)

    def due(self, now: datetime) -> bool:
        when = instant(self.next_retry_at, ahead=HINT_AHEAD)
        return when is None or when <= now  # none, or unreadable (a hand-edited state): now


@dataclass
class RunState:
    feeds: dict[str, FeedValidators] = field(default_factory=dict)
    pending: dict[str, Pending] = field(default_factory=dict)
    # feed -> id -> when it was parked: polls skip these until a replay archives them. Only
    # the ids the feed still lists are kept (see keep_parked_listed): the record of every
    # parked article is its own object under failed/, so this stays as small as a feed.
    parked: dict[str, dict[str, str]] = field(default_factory=dict)
    seen: dict[str, dict[str, str]] = field(default_factory=dict)  # feed -> id -> fingerprint
    newest: dict[str, str] = field(default_factory=dict)  # feed -> newest item date it listed
    next_revisit_at: str | None = None

    def revisits_may_be_due(self, now: datetime) -> bool:
        """Whether the schedule must be listed at ``now`` (unknown counts as maybe)."""
        hint = instant(self.next_revisit_at, ahead=HINT_AHEAD)
        return hint is None or hint <= now  # no hint, or a tampered one: list

    def revisits_later_than(self, moment: datetime) -> bool:
        """Whether the hint says nothing is due until after ``moment``."""
        return not self.revisits_may_be_due(moment)

    def expect_revisit(self, due: datetime | None) -> None:
        """An entry due at ``due`` was written: the hint may only move earlier."""
        if due is None or self.next_revisit_at is None:
            return  # unknown already means "list"
        if self.revisits_later_than(due):
            self.next_revisit_at = due.isoformat()

    def listed_revisits(self, next_due: datetime, loaded: str | None) -> None:
        """A run listed the schedule when the hint was ``loaded``; it should look again at
        ``next_due``. Another run may have lowered the hint since (an entry it added after our
        listing), so a changed hint is only ever lowered, never replaced."""
        if self.next_revisit_at == loaded:
            self.next_revisit_at = next_due.isoformat()
        else:
            self.expect_revisit(next_due)

    def newest_listed(self, feed_url: str) -> datetime | None:
        return instant(self.newest.get(feed_url))

    def saw_listed(self, feed_url: str, dates: list[datetime]) -> None:
        """Move the feed's newest listed date on (never back: concurrent runs only add)."""
        latest = newest_of(self.newest.get(feed_url), dates)
        if latest is not None:
            self.newest[feed_url] = latest

    def parked_ids(self) -> set[str]:
        return {article_id for ids in self.parked.values() for article_id in ids}

    def keep_parked_listed(self, feed_url: str, listed: set[str]) -> None:
        """Forget parked ids the feed no longer lists: no poll will meet them again, and their
        records stay under failed/. (Ids parked before parking was kept per feed are under
        "" and are judged by whichever feed polls first.)"""
        for bucket in (feed_url, ""):
            kept = {i: when for i, when in self.parked.get(bucket, {}).items() if i in listed}
            if kept:
                self.parked[bucket] = kept
            else:
                self.parked.pop(bucket, None)

    def unpark(self, article_id: str) -> bool:
        """Whether the article was parked here (it no longer is)."""
        found = False
        for bucket in list(self.parked):
            found = self.parked[bucket].pop(article_id, None) is not None or found
            if not self.parked[bucket]:
                del self.parked[bucket]
        return found

    def validators(self, feed_url: str) -> FeedValidators:
        return self.feeds.get(feed_url, FeedValidators())

    def pending_for(self, feed_url: str | None) -> Iterator[Pending]:
        return (p for p in self.pending.values() if p.feed_url == feed_url)


@dataclass
class FeedState:
    """Fan-out mode keeps one small object per feed (``state/feeds/<hash>.json``): its
    validators and the fingerprints of the items already queued. Per feed, so a thousand
    feeds polled at once never contend on, or rewrite, one big object."""

    validators: FeedValidators = field(default_factory=FeedValidators)
    seen: dict[str, str] = field(default_factory=dict)
    newest: str | None = None  # the newest publication date the feed has listed (catch-up)


def newest_of(known: str | None, dates: list[datetime]) -> str | None:
    """The later of a stored newest date (ISO) and the newest of ``dates``, as ISO."""
    stored = instant(known)
    latest = max(dates, default=None)
    if latest is None or (stored is not None and latest <= stored):
        return known
    return latest.isoformat()


def utcnow() -> datetime:
    return datetime.now(UTC)
