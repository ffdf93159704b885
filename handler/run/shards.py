"""A reprocess job's unit of work in fan-out mode: one publication day's documents (at most
SHARD_DOCUMENTS of them), sent to the workers as a queue message and checked whole when one
comes back (see run/reprocess.py for the job itself)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from handler.archive.index import Location
from handler.core import jsontext
from handler.core.errors import EventError
from handler.core.times import day as time_day
from handler.core.times import instant
from handler.run.events import check_ids

SHARD_DOCUMENTS = 50  # documents per queued shard at most


@dataclass(frozen=True)
class Shard:
    """One publication day of a job: the unit of work a worker gets."""

    job: str
    day: date
    ids: tuple[str, ...]
    reprocessed_at: str

    def to_body(self) -> str:
        return json.dumps({"reprocess": {"job": self.job, "day": self.day.isoformat(),
                                         "ids": list(self.ids),
                                         "reprocessed_at": self.reprocessed_at}})  # fmt: skip

    @property
    def group_id(self) -> str:  # shards are independent: each its own group, all in parallel
        return self.deduplication_id[:64]

    @property
    def deduplication_id(self) -> str:
        shard = f"{self.job} {self.day} {self.reprocessed_at} {' '.join(self.ids)}"
        return hashlib.sha256(shard.encode()).hexdigest()

    @classmethod
    def from_body(cls, body: str) -> Shard | None:
        """The shard a message carries; None when it carries none (a feed item); EventError
        when it claims to be a shard and is not a well-formed one."""
        try:
            raw = jsontext.loads(body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(raw, dict) or "reprocess" not in raw:
            return None
        try:
            shard = raw["reprocess"]
            ids = check_ids(shard.get("ids") or [], "ids")
            stated = shard["reprocessed_at"]
            at = instant(stated, with_offset=True)  # not before 1990, not after now (+ a day)
            if at is None:
                raise ValueError(f"reprocessed_at {stated!r} is not a time it can have")
            day = time_day(shard["day"])
            if day is None:
                raise ValueError(f"day {shard['day']!r} is not a publication day")
            return cls(str(shard["job"])[:200], day, ids, at.isoformat())
        except (KeyError, TypeError, ValueError, AttributeError, EventError) as exc:
            raise EventError(f"work message is not a reprocess shard ({exc})") from exc


def plan_shards(located: list[Location], job: str, reprocessed_at: str) -> list[Shard]:
    """A message's worth of work each: one day's articles, at most SHARD_DOCUMENTS of them, so
    a worker batch of ten shards ends well inside the worker's timeout however busy the day."""
    by_day: dict[date, list[str]] = {}
    for entry in located:
        by_day.setdefault(entry.day, []).append(entry.id)
    return [
        Shard(job, day, tuple(ids[start : start + SHARD_DOCUMENTS]), reprocessed_at)
        for day, ids in sorted(by_day.items())
        for start in range(0, len(ids), SHARD_DOCUMENTS)
    ]
