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

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from handler.core import jsontext
from handler.core.config import RetryPolicy
from handler.core.errors import ConflictError, StoreError
from handler.core.log import logger
from handler.core.models import FeedItem
from handler.core.times import instant
from handler.ingest.feed import FeedValidators
from handler.store.base import JSON_CONTENT_TYPE, BlobStore, Versioned
from handler.store.conflicts import attempts
from handler.store.layout import (
    FAILED_PREFIX,
    STATE_KEY,
    failed_key,
    feed_state_key,
    quarantine_key,
)
from handler.store.parallel import read_in_order

S = TypeVar("S")
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


class StateStore:
    """Loads the run state and applies changes to it by compare-and-swap."""

    def __init__(self, store: BlobStore, policy: RetryPolicy | None = None) -> None:
        self.store = store
        self.policy = policy or RetryPolicy()
        self._loaded: Versioned | None = None

    def load(self) -> RunState:
        self._loaded = self.store.read(STATE_KEY)
        return self._decode(self._loaded.data)

    def update(self, change: Callable[[RunState], None]) -> RunState:
        """Apply ``change`` to the freshest state and write it back; no write if nothing changed."""
        # The first try starts from what load() read (one store request saved per run).
        first, self._loaded = self._loaded, None
        return compare_and_swap(self.store, STATE_KEY, self._decode, _encode, change, first)

    def _decode(self, data: bytes | None) -> RunState:
        return quarantining(self.store, STATE_KEY, _decode, RunState)(data)

    def record_failure(
        self,
        state: RunState,
        item: FeedItem,
        feed_url: str | None,
        reason: str,
        now: datetime,
        run_id: str = "",
        error: str | None = None,
        http_status: int | None = None,
    ) -> None:
        entry = state.pending.get(item.id) or Pending(item=item, feed_url=feed_url)
        if run_id and any(r.get("run") == run_id for r in entry.reasons):
            # This run's failure is in already: its state write landed although it was answered
            # with an error, and the compare-and-swap retry is folding the run in again.
            return
        entry.attempts += 1
        attempt: dict[str, Any] = {"at": now.isoformat(timespec="seconds"), "reason": reason}
        # The failure's context as data (error class, HTTP status) for whoever decides on it
        # later: `ntv-archive status`, failed/<id>.json, a revisit policy.
        attempt |= {k: v for k, v in (("error", error), ("http_status", http_status)) if v}
        entry.reasons.append({**attempt, "run": run_id} if run_id else attempt)
        if entry.attempts >= self.policy.max_attempts:
            self.park(entry, now)
            state.pending.pop(item.id, None)
            parked_at = now.isoformat(timespec="seconds")
            state.parked.setdefault(feed_url or "", {})[item.id] = parked_at
            return
        entry.next_retry_at = self.policy.next_retry(entry.attempts, now).isoformat()
        state.pending[item.id] = entry

    def record_success(self, state: RunState, article_id: str) -> None:
        state.pending.pop(article_id, None)
        if state.unpark(article_id):
            self.store.delete(failed_key(article_id))

    def forget_parked(self, article_ids: list[str]) -> None:
        """Remove the parked records of articles archived after all (a replay): the state
        keeps only the parked ids a feed still lists, so the record is removed by key."""
        for article_id in article_ids:
            self.store.delete(failed_key(article_id))

    def park(self, entry: Pending, now: datetime) -> None:
        record = {
            "id": entry.item.id,
            "url": entry.item.link,
            "feed_url": entry.feed_url,
            "attempts": entry.attempts,
            "parked_at": now.isoformat(timespec="seconds"),
            "reasons": entry.reasons,
        }
        body = json.dumps(record, ensure_ascii=False, indent=2).encode()
        self.store.put(failed_key(entry.item.id), body, JSON_CONTENT_TYPE)

    def parked_keys(self) -> list[str]:
        """The keys of every parked article's record (a listing: no record is read)."""
        return [key for key in self.store.list(FAILED_PREFIX) if key.endswith(".json")]

    def parked(self, keys: list[str] | None = None) -> list[dict[str, Any]]:
        """The parked articles' records (those of ``keys``, else all), read several at a
        time; a record that cannot be read is shown as such rather than hiding the others."""
        found = []
        for key, data in read_in_order(self.store, self.parked_keys() if keys is None else keys):
            if data is None:
                continue  # replayed and removed since the listing
            try:
                record = jsontext.loads(data)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                stem = key.removeprefix(FAILED_PREFIX).removesuffix(".json")
                unreadable = [{"reason": f"{key}: unreadable ({exc})"}]
                record = {"id": stem, "attempts": 0, "reasons": unreadable}
            found.append(record)
        return found


@dataclass
class FeedState:
    """Fan-out mode keeps one small object per feed (``state/feeds/<hash>.json``): its
    validators and the fingerprints of the items already queued. Per feed, so a thousand
    feeds polled at once never contend on, or rewrite, one big object."""

    validators: FeedValidators = field(default_factory=FeedValidators)
    seen: dict[str, str] = field(default_factory=dict)
    newest: str | None = None  # the newest publication date the feed has listed (catch-up)


def load_feed_state(store: BlobStore, feed_url: str) -> FeedState:
    key = feed_state_key(feed_url)
    return quarantining(store, key, _decode_feed, FeedState)(store.read(key).data)


def update_feed_state(
    store: BlobStore, feed_url: str, change: Callable[[FeedState], None]
) -> FeedState:
    key = feed_state_key(feed_url)
    decode = quarantining(store, key, _decode_feed, FeedState)
    return compare_and_swap(store, key, decode, _encode_feed, change)


def quarantining(
    store: BlobStore, key: str, decode: Callable[[bytes | None], S], fresh: Callable[[], S]
) -> Callable[[bytes | None], S]:
    """``decode``, except that a state object that is not a JSON object at all is first copied
    aside (under ``state/quarantine/``, named by its content) and the run goes on from a fresh
    state: an archive that stopped polling until someone looked would lose every article the
    feed listed meanwhile. The copy keeps what it owed for a person to read."""

    def read(data: bytes | None) -> S:
        try:
            return decode(data)
        except UnreadableStateError as exc:
            kept = quarantine_key(key, data or b"")
            store.put(kept, data or b"", JSON_CONTENT_TYPE)
            logger.warning("state unreadable: moved aside, starting afresh",
                           extra={"key": key, "kept": kept, "reason": str(exc)[:200]})  # fmt: skip
            return fresh()

    return read


def compare_and_swap(
    store: BlobStore,
    key: str,
    decode: Callable[[bytes | None], S],
    encode: Callable[[S], bytes],
    change: Callable[[S], None],
    first: Versioned | None = None,
) -> S:
    """Apply ``change`` to the freshest object at ``key`` and write it back by compare-and-swap
    (re-read and re-applied on conflict); no write when nothing changed."""
    for current in attempts(store, key, "state", first):
        value = decode(current.data)
        before = encode(value)
        change(value)
        after = encode(value)
        if after == before:
            return value
        try:
            store.put_if(key, after, JSON_CONTENT_TYPE, expected=current.version)
            return value
        except ConflictError:
            continue  # someone else wrote in between: start again from their version
    raise AssertionError("unreachable: attempts() raises when they run out")


def decode_cursor(data: bytes | None, key: str, cursor: Callable[..., S], job: str,
                  what: str) -> S:  # fmt: skip
    """A job's stored cursor (``cursor(job)`` when there is none: a backfill's, a
    reprocess's); StoreError when unreadable, so it is never overwritten: the job would start
    again from its beginning."""
    if data is None:
        return cursor(job)
    try:
        raw = jsontext.loads(data)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        decoded = cursor(**{**_checked_fields(cursor, raw), "job": job})
        check = getattr(decoded, "check", None)
        if check is not None:
            check()  # what only the cursor itself knows (a reprocess cursor's days)
        return decoded
    except (ValueError, TypeError, RecursionError) as exc:
        raise StoreError(f"{key} is not a readable {what} cursor ({exc}); move it aside",
                         key=key) from exc  # fmt: skip


MAX_POSITION = 10_000_000  # no cursor counts further: a sitemap, a day, a job's documents


def _checked_fields(cursor: Callable[..., Any], raw: dict[str, Any]) -> dict[str, Any]:
    """A cursor's stored fields checked against its dataclass's own: whole numbers from 0 to
    MAX_POSITION, true booleans (``"done": "no"`` is not true), bounded text and lists of it.
    ValueError names the first field that is not what it says."""
    import dataclasses

    kinds = {f.name: str(f.type) for f in dataclasses.fields(cursor)}  # type: ignore[arg-type]
    for name, value in raw.items():
        kind = kinds.get(name)
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool)
            and 0 <= value <= MAX_POSITION,
            "bool": isinstance(value, bool),
            "str": isinstance(value, str) and len(value) <= 1000,
            "list[str]": isinstance(value, list) and len(value) <= MAX_POSITION
            and all(isinstance(v, str) and len(v) <= 100 for v in value),
        }.get(kind or "", False)  # fmt: skip
        if not ok:
            raise ValueError(f"field {name!r} is not a {kind or 'known field'}: {value!r:.60}")
    return raw


def _encode_feed(state: FeedState) -> bytes:
    record: dict[str, Any] = {"validators": asdict(state.validators),
                              "seen": dict(sorted(state.seen.items()))}  # fmt: skip
    if state.newest is not None:
        record["newest"] = state.newest
    return json.dumps(record, sort_keys=True).encode()


def _decode_feed(data: bytes | None) -> FeedState:
    """One feed's state, part by part as the run state's (see ``_decode``)."""
    if data is None:
        return FeedState()
    raw = _object(data)
    newest = raw.get("newest")
    return FeedState(
        _validators(raw.get("validators", {})) if isinstance(raw.get("validators"), dict)
        else FeedValidators(),
        _entries(raw, "seen", _text),
        newest if isinstance(newest, str) and instant(newest) else None,
    )  # fmt: skip


def newest_of(known: str | None, dates: list[datetime]) -> str | None:
    """The later of a stored newest date (ISO) and the newest of ``dates``, as ISO."""
    stored = instant(known)
    latest = max(dates, default=None)
    if latest is None or (stored is not None and latest <= stored):
        return known
    return latest.isoformat()


def utcnow() -> datetime:
    return datetime.now(UTC)


def _encode(state: RunState) -> bytes:
    document: dict[str, Any] = {
        "feeds": {url: asdict(v) for url, v in sorted(state.feeds.items())},
        "pending": {
            key: {
                **asdict(p),
                "item": p.item.to_json(),
            }
            for key, p in sorted(state.pending.items())
        },
        "parked": {feed: dict(sorted(ids.items())) for feed, ids in sorted(state.parked.items())},
        "seen": {url: dict(sorted(ids.items())) for url, ids in sorted(state.seen.items())},
        "newest": dict(sorted(state.newest.items())),
    }
    if state.next_revisit_at is not None:
        document["next_revisit_at"] = state.next_revisit_at
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True).encode()


class UnreadableStateError(ValueError):
    """The run state object is not a JSON object at all: it is moved aside, never trusted."""


def _decode(data: bytes | None) -> RunState:
    """The run state, each entry checked on its own: an entry of the wrong shape (a hand edit,
    a tampered object) is dropped with a warning and the rest kept. UnreadableStateError when
    the object as a whole is not a JSON object."""
    if data is None:
        return RunState()
    raw = _object(data)
    hint = raw.get("next_revisit_at")
    return RunState(
        feeds=_entries(raw, "feeds", _validators),
        pending=_entries(raw, "pending", _pending),
        parked=_parked(raw.get("parked", {})),
        seen=_entries(raw, "seen", _text_map),
        newest=_entries(raw, "newest", _text),
        next_revisit_at=hint if isinstance(hint, str) and instant(hint, ahead=HINT_AHEAD) else None,
    )


def _object(data: bytes) -> dict[str, Any]:
    try:
        raw = jsontext.loads(data)
    except ValueError as exc:  # malformed, nested too deeply, not UTF-8
        raise UnreadableStateError(str(exc)) from None
    if not isinstance(raw, dict):
        raise UnreadableStateError("not a JSON object")
    return raw


E = TypeVar("E")
MAX_TEXT = 4096  # no id, URL, fingerprint or time this code writes is longer


def _entries(raw: dict[str, Any], part: str, decode: Callable[[Any], E]) -> dict[str, E]:
    """One part of the state (a map by feed URL or key), entry by entry."""
    value = raw.get(part, {})
    if not isinstance(value, dict):
        logger.warning("run state part dropped", extra={"part": part, "reason": "not a map"})
        return {}
    kept: dict[str, E] = {}
    for key, entry in value.items():
        try:
            kept[_text(key)] = decode(entry)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            dropped = {"part": part, "key": str(key)[:200], "reason": str(exc)[:200]}
            logger.warning("run state entry dropped", extra=dropped)
    return kept


def _text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(f"not text: {value!r:.60}")
    return value


def _text_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("not a map")
    return {_text(k): _text(v) for k, v in value.items()}


def _reason(value: Any) -> dict[str, Any]:
    """One attempt's record: text keys, JSON scalar values (a reason, an error class, a status)."""
    if not isinstance(value, dict):
        raise ValueError("a reason is not a map")
    for key, scalar in value.items():
        _text(key)
        if scalar is not None and not isinstance(scalar, str | int | float | bool):
            raise ValueError(f"reason field {key!r:.40} is not a scalar")
        if isinstance(scalar, str):
            _text(scalar)
    return value


def _validators(value: Any) -> FeedValidators:
    if not isinstance(value, dict):
        raise ValueError("not a map")
    return FeedValidators.from_untrusted(value.get("etag"), value.get("last_modified"))


def _parked(raw: Any) -> dict[str, dict[str, str]]:
    """feed -> id -> when; a state written before parked ids were kept per feed has them flat
    (id -> when), and they go under "" (see RunState.keep_parked_listed). Entries that are not
    text are dropped."""
    parked: dict[str, dict[str, str]] = {}
    for name, value in raw.items() if isinstance(raw, dict) else ():
        try:
            if isinstance(value, dict):
                parked.setdefault(_text(name), {}).update(_text_map(value))
            else:
                parked.setdefault("", {})[_text(name)] = _text(value)
        except ValueError:
            logger.warning(
                "run state entry dropped", extra={"part": "parked", "key": str(name)[:200]}
            )
    return parked


def _pending(raw: Any) -> Pending:
    """An owed article: its item as a queue message's is checked, attempts a small whole
    number, the retry time text, the reasons a list of text maps."""
    if not isinstance(raw, dict):
        raise ValueError("not a map")
    attempts_made = raw.get("attempts", 0)
    if (
        not isinstance(attempts_made, int)
        or isinstance(attempts_made, bool)
        or not 0 <= attempts_made <= 1000
    ):
        raise ValueError(f"attempts {attempts_made!r:.20}")
    reasons = raw.get("reasons", [])
    if not isinstance(reasons, list) or len(reasons) > 1000:
        raise ValueError("reasons not a list")
    feed_url = raw.get("feed_url")
    return Pending(
        item=FeedItem.from_untrusted(raw["item"]),
        feed_url=None if feed_url is None else _text(feed_url),
        attempts=attempts_made,
        next_retry_at=_text(raw.get("next_retry_at", "")),
        reasons=[_reason(reason) for reason in reasons],
    )
