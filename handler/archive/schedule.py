"""The revisit schedule: when each archived article is looked at again.

An article archived for the first time gets one entry, ``index/revisit/<due>-<id>.json``, due
one step after it was first seen (steps from ``RunSettings.revisit_after``, 30 min to 7 days by
default). A revisit fetches the page conditionally (the entry keeps the capture's ETag and
Last-Modified) and then *advances* the entry: the next step's entry is written first and only
then the old one deleted. So:

- a run reads only what is due: entries are named by due time, a listing meets the due ones
  first and stops at the first one that is not due (no per-article record is read otherwise);
- the schedule holds only articles younger than the last step, whatever the archive's size;
- a run that dies between its fetch and the advance leaves the old entry, and the next run
  revisits again (at least once, never lost); two runs revisiting one entry at once write the
  same next key, so the worst case is one fetch too many.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from handler.core import jsontext
from handler.core.capture import Validators
from handler.core.config import DEFAULT_PROFILE
from handler.core.log import logger
from handler.core.models import FeedItem
from handler.core.times import instant
from handler.store.base import JSON_CONTENT_TYPE, BlobStore
from handler.store.layout import REVISIT_PREFIX, revisit_due_at, revisit_key

MAX_STEPS = 1000  # as many as a schedule may have (core/config.py MAX_REVISIT_STEPS)
MAX_AHEAD = timedelta(days=400)  # the last step of any schedule lies within this (config caps it)


@dataclass(frozen=True)
class Revisit:
    """One scheduled look at an archived article."""

    item: FeedItem  # the feed item it was archived from (or a replayed URL's stand-in)
    feed_url: str | None
    profile: str
    first_seen: datetime
    step: int  # which step of the schedule this entry is (0: the first revisit)
    due: datetime
    validators: Validators = field(default_factory=Validators)

    @property
    def id(self) -> str:
        return self.item.id

    @property
    def key(self) -> str:
        return revisit_key(self.due, self.item.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item.to_json(),
            "feed_url": self.feed_url,
            "profile": self.profile,
            "first_seen": self.first_seen.isoformat(),
            "step": self.step,
            "due": self.due.isoformat(),
            "etag": self.validators.etag,
            "last_modified": self.validators.last_modified,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Revisit:
        """An entry read back from the store, checked at this border: times in the window
        (core/times.py), a step that is a small whole number. ValueError says what is wrong."""
        first_seen = instant(raw["first_seen"], with_offset=True)
        due = instant(raw["due"], ahead=MAX_AHEAD, with_offset=True)
        step = raw["step"]
        if first_seen is None or due is None:
            raise ValueError(f"first_seen {raw['first_seen']!r} or due {raw['due']!r} is not a "
                             "time with a UTC offset that a revisit can have")  # fmt: skip
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < MAX_STEPS:
            raise ValueError(f"step {step!r} is not a step of a schedule")
        feed_url, profile = raw.get("feed_url"), raw.get("profile") or DEFAULT_PROFILE
        if not (feed_url is None or isinstance(feed_url, str)) or not isinstance(profile, str):
            raise ValueError("feed_url or profile is not text")
        return cls(
            item=FeedItem.from_untrusted(raw["item"]),
            feed_url=feed_url,
            profile=profile,
            first_seen=first_seen,
            step=step,
            due=due,
            validators=Validators.from_untrusted(raw.get("etag"), raw.get("last_modified")),
        )


@dataclass(frozen=True)
class DueRevisits:
    """What one listing of the schedule found: the entries due now, and when the next one
    not yet due falls (None: the schedule holds nothing else)."""

    entries: list[Revisit]
    next_due: datetime | None


class RevisitSchedule:
    def __init__(self, store: BlobStore, steps: tuple[timedelta, ...]) -> None:
        self.store = store
        self.steps = steps

    @property
    def enabled(self) -> bool:
        return bool(self.steps)

    def start(
        self,
        item: FeedItem,
        feed_url: str | None,
        profile: str,
        validators: Validators,
        first_seen: datetime,
    ) -> Revisit | None:
        """Schedule the first revisit of an article archived for the first time."""
        if not self.steps:
            return None
        entry = Revisit(item, feed_url, profile, first_seen, 0, first_seen + self.steps[0],
                        validators)  # fmt: skip
        self._write(entry)
        return entry

    def due(self, now: datetime, limit: int | None = None) -> DueRevisits:
        """The entries due at ``now`` (oldest first, at most ``limit``) and the next due time
        after them; reads the listing only as far as the first entry not yet due."""
        entries: list[Revisit] = []
        for key in self.store.list(REVISIT_PREFIX):
            due = revisit_due_at(key)
            if due is None:
                continue  # not a name this layout made
            if due > now or (limit is not None and len(entries) >= limit):
                return DueRevisits(entries, due)
            entry = self._read(key)
            if entry is not None:
                entries.append(entry)
        return DueRevisits(entries, None)

    def advance(
        self, entry: Revisit, now: datetime, validators: Validators | None = None
    ) -> Revisit | None:
        """The entry's revisit is done: schedule the next step still ahead of ``now`` (steps
        a late run missed are not made up), then drop the entry. None: the schedule for this
        article is finished."""
        upcoming = [
            (n, entry.first_seen + step)
            for n, step in enumerate(self.steps)
            if n > entry.step and entry.first_seen + step > now
        ]
        following = None
        if upcoming:
            step, due = upcoming[0]
            following = replace(entry, step=step, due=due,
                                validators=validators or entry.validators)  # fmt: skip
            self._write(following)
        # Entries of the steps skipped over: a run that died between writing the next entry
        # and deleting this one left one of them, which would otherwise revisit in parallel.
        last = following.step if following is not None else len(self.steps)
        for skipped in range(entry.step + 1, last):
            self.store.delete(revisit_key(entry.first_seen + self.steps[skipped], entry.id))
        if following is None or following.key != entry.key:
            self.store.delete(entry.key)
        return following

    def drop(self, entry: Revisit) -> None:
        """The article is gone (404/410) or no longer an article: no more revisits."""
        self.store.delete(entry.key)

    def _write(self, entry: Revisit) -> None:
        body = json.dumps(entry.to_json(), ensure_ascii=False).encode()
        self.store.put(entry.key, body, JSON_CONTENT_TYPE)

    def _read(self, key: str) -> Revisit | None:
        data = self.store.get(key)
        if data is None:
            return None  # advanced by a concurrent run after the listing
        try:
            entry = Revisit.from_json(jsontext.loads(data))
            if entry.key != key:  # advancing it would write and delete under another name
                raise ValueError(f"the entry is for {entry.key}, not for {key}")
            return entry
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            # A schedule entry is a reminder, not archive content: an unreadable one is said
            # once and removed, so it is not met again on every run.
            said = {"key": key, "reason": str(exc)}
            logger.warning("unreadable revisit entry removed", extra=said)
            self.store.delete(key)
            return None


def scheduled_revisits(store: BlobStore) -> list[datetime]:
    """When each scheduled revisit is due, soonest first (one listing, no entry read)."""
    return [due for key in store.list(REVISIT_PREFIX) if (due := revisit_due_at(key)) is not None]
