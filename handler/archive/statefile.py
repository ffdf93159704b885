"""The run state's and a feed state's stored JSON, both ways. Read back part by part and entry
by entry: an entry of the wrong shape (a hand edit, a tampered object) is dropped with a warning
and the rest kept; an object that is not JSON at all is UnreadableStateError (the store side
copies it aside, see statestore.quarantining)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from handler.archive.state import HINT_AHEAD, FeedState, Pending, RunState
from handler.core import jsontext
from handler.core.capture import Validators as FeedValidators
from handler.core.log import logger
from handler.core.models import FeedItem
from handler.core.times import instant


def encode_feed_state(state: FeedState) -> bytes:
    record: dict[str, Any] = {"validators": asdict(state.validators),
                              "seen": dict(sorted(state.seen.items()))}  # fmt: skip
    if state.newest is not None:
        record["newest"] = state.newest
    return json.dumps(record, sort_keys=True).encode()


def decode_feed_state(data: bytes | None) -> FeedState:
    """One feed's state, part by part as the run state's (see ``decode_run_state``)."""
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


def encode_run_state(state: RunState) -> bytes:
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


def decode_run_state(data: bytes | None) -> RunState:
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
