"""What a site build remembers between runs, so the next one renders only what changed.

    <state>/build.json          how far each manifest day file was read (its size then), the
                                newest edits and articles, per-section edits, articles per day
    <state>/months/YYYY-MM.json one publication month: rows for its day pages, its articles'
                                search text, and the search index files written for it

``<state>`` is ``state/site/`` inside the archive's store (never under the published
``site/``), or ``_build/`` in a folder the site was written to with ``--output``. The state is
written last and by compare-and-swap: a build that dies midway leaves the old state, and the
next build renders the same articles again (pages are idempotent)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from handler.core import jsontext
from handler.core.errors import ConflictError
from handler.store.base import JSON_CONTENT_TYPE, BlobStore

FORMAT = 1  # bumped when the state's shape changes: an older state means a full build
MAX_EDITS = 100  # the home page and edits.atom
MAX_NEWEST = 30  # the home page's newest articles
MAX_SECTION_EDITS = 50  # each section's feed


@dataclass
class SiteState:
    """The build's memory. Rows are plain dicts (see ``pages.row``); lists are newest first."""

    read: dict[str, int] = field(default_factory=dict)  # manifest day key -> bytes read
    edits: list[dict[str, Any]] = field(default_factory=list)
    newest: list[dict[str, Any]] = field(default_factory=list)
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)  # YYYY-MM-DD -> articles that day
    assets: str = ""  # the stylesheet's digest as last written
    token: str | None = None  # the stored state's version, for the compare-and-swap

    def add_edit(self, edit: dict[str, Any]) -> None:
        self.edits = _newest([edit, *self.edits], MAX_EDITS)
        section = edit.get("section") or ""
        if section:
            self.sections[section] = _newest([edit, *self.sections.get(section, [])],
                                             MAX_SECTION_EDITS)  # fmt: skip

    def add_new(self, row: dict[str, Any]) -> None:
        self.newest = _newest([row, *self.newest], MAX_NEWEST)


def _newest(rows: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    """Newest first by time, one row per (article, time), at most ``most``."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for row in sorted(rows, key=lambda r: str(r["time"]), reverse=True):
        if (row["id"], row["time"]) not in seen:
            seen.add((row["id"], row["time"]))
            kept.append(row)
    return kept[:most]


class StateFiles:
    """The state's files in ``store`` under ``prefix``."""

    def __init__(self, store: BlobStore, prefix: str) -> None:
        self.store, self.prefix = store, prefix

    def load(self) -> SiteState:
        """The last build's state; an empty one (a full build) when there is none, when it
        is of an older format, or when it cannot be read (it only ever saves work)."""
        current = self.store.read(f"{self.prefix}build.json")
        try:
            raw = jsontext.loads(current.data) if current.data is not None else {}
        except (ValueError, RecursionError):
            raw = {}
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            return SiteState(token=current.version)
        try:
            return SiteState(
                read={str(k): int(v) for k, v in dict(raw["read"]).items()},
                edits=[dict(row) for row in raw["edits"]],
                newest=[dict(row) for row in raw["newest"]],
                sections={str(k): [dict(r) for r in v] for k, v in dict(raw["sections"]).items()},
                days={str(k): int(v) for k, v in dict(raw["days"]).items()},
                assets=str(raw.get("assets") or ""),
                token=current.version,
            )
        except (KeyError, TypeError, ValueError):
            return SiteState(token=current.version)

    def save(self, state: SiteState) -> None:
        """ConflictError when another build saved since this one loaded."""
        body = {"format": FORMAT, "read": state.read, "edits": state.edits,
                "newest": state.newest, "sections": state.sections, "days": state.days,
                "assets": state.assets}  # fmt: skip
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        self.store.put_if(f"{self.prefix}build.json", data, JSON_CONTENT_TYPE, state.token)

    def month(self, month: str) -> MonthState:
        """One month's rows and search records (an empty month when unreadable: the next
        full build rebuilds it)."""
        data = self.store.get(f"{self.prefix}months/{month}.json")
        try:
            raw = jsontext.loads(data) if data is not None else {}
            return MonthState(
                days={str(day): dict(rows) for day, rows in dict(raw.get("days", {})).items()},
                records={str(k): dict(v) for k, v in dict(raw.get("records", {})).items()},
                files={str(k): str(v) for k, v in dict(raw.get("files", {})).items()},
            )
        except (ValueError, RecursionError, TypeError, AttributeError):
            return MonthState()

    def save_month(self, month: str, state: MonthState) -> None:
        body = {"days": {day: rows for day, rows in state.days.items() if rows},
                "records": state.records, "files": state.files}  # fmt: skip
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        self.store.put(f"{self.prefix}months/{month}.json", data.encode(), JSON_CONTENT_TYPE)


@dataclass
class MonthState:
    """One publication month: its articles by day (rows for the day pages), their search
    records, and the search index files last written for it."""

    days: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    records: dict[str, dict[str, str]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


__all__ = ["ConflictError", "MonthState", "SiteState", "StateFiles"]
