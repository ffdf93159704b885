"""A job's cursor read back from the store (a backfill's, a reprocess's): each field checked
against the cursor's own type, never trusted, never overwritten when unreadable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from handler.core import jsontext
from handler.core.errors import StoreError

S = TypeVar("S")


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
