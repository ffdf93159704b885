"""The run state and fan-out's feed states in the store: loaded, changed by compare-and-swap,
and copied aside when unreadable (see ``quarantining``); parked records under ``failed/``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from handler.archive.state import FeedState, Pending, RunState
from handler.archive.statefile import (
    UnreadableStateError,
    decode_feed_state,
    decode_run_state,
    encode_feed_state,
    encode_run_state,
)
from handler.core import jsontext
from handler.core.config import RetryPolicy
from handler.core.errors import ConflictError
from handler.core.log import logger
from handler.core.models import FeedItem
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
        return compare_and_swap(
            self.store, STATE_KEY, self._decode, encode_run_state, change, first
        )

    def _decode(self, data: bytes | None) -> RunState:
        return quarantining(self.store, STATE_KEY, decode_run_state, RunState)(data)

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


def load_feed_state(store: BlobStore, feed_url: str) -> FeedState:
    key = feed_state_key(feed_url)
    return quarantining(store, key, decode_feed_state, FeedState)(store.read(key).data)


def update_feed_state(
    store: BlobStore, feed_url: str, change: Callable[[FeedState], None]
) -> FeedState:
    key = feed_state_key(feed_url)
    decode = quarantining(store, key, decode_feed_state, FeedState)
    return compare_and_swap(store, key, decode, encode_feed_state, change)


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
