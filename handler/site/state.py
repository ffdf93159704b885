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
import re
from dataclasses import dataclass, field
from typing import Any

from handler.core import jsontext
from handler.core.times import instant
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
        is of an older format, or when it cannot be read (it only ever saves work). Read entry
        by entry (``_row``, ``_counts``): an entry of the wrong shape is left out, never let
        into a page or a key."""
        current = self.store.read(f"{self.prefix}build.json")
        raw = _json_object(current.data)
        if raw.get("format") != FORMAT:
            return SiteState(token=current.version)
        sections = _object(raw, "sections")
        return SiteState(
            read=_counts(raw.get("read"), _MANIFEST_KEY),
            edits=_rows(raw.get("edits")),
            newest=_rows(raw.get("newest")),
            sections={str(k): _rows(v) for k, v in sections.items() if _rows(v)},
            days=_counts(raw.get("days"), _DAY),
            assets=str(raw.get("assets") or "")[:64],
            token=current.version,
        )

    def save(self, state: SiteState) -> None:
        """ConflictError when another build saved since this one loaded."""
        body = {"format": FORMAT, "read": state.read, "edits": state.edits,
                "newest": state.newest, "sections": state.sections, "days": state.days,
                "assets": state.assets}  # fmt: skip
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        self.store.put_if(f"{self.prefix}build.json", data, JSON_CONTENT_TYPE, state.token)

    def month(self, month: str) -> MonthState:
        """One month's rows and search records, read entry by entry (an unreadable month is
        empty: the next full build rebuilds it)."""
        raw = _json_object(self.store.get(f"{self.prefix}months/{month}.json"))
        days, records = _object(raw, "days"), _object(raw, "records")
        files = _object(raw, "files")
        return MonthState(
            days={day: {row["id"]: row for row in _rows(list(rows.values()))}
                  for day, rows in days.items() if _DAY.match(str(day)) and isinstance(rows, dict)},
            records={k: {"title": v["title"], "text": v["text"]} for k, v in records.items()
                     if _ID.match(str(k)) and isinstance(v, dict)
                     and isinstance(v.get("title"), str) and isinstance(v.get("text"), str)},
            files={k: v for k, v in files.items() if isinstance(v, str) and _SEARCH_FILE.match(k)},
        )  # fmt: skip

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


_ID = re.compile(r"^[a-z]+-[0-9a-f]+\Z")  # an article id, as the store's layout allows
_DAY = re.compile(r"^\d{4}-\d\d-\d\d\Z")
_MANIFEST_KEY = re.compile(r"^index/\d{4}/\d\d/\d\d\.jsonl\Z")
_DIFF = re.compile(r"^diffs/[a-z]+-[0-9a-f]+/\d{1,6}\.html\Z")
_SEARCH_FILE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?\Z")  # Pagefind's names
MAX_COUNT = 10**9


def _json_object(data: bytes | None) -> dict[str, Any]:
    try:
        raw = jsontext.loads(data) if data is not None else {}
    except (ValueError, RecursionError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _object(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    return value if isinstance(value, dict) else {}


def _counts(value: object, key: re.Pattern[str]) -> dict[str, int]:
    """``{key: count}`` entries whose key has the expected form and whose count is a whole
    number from 0 to MAX_COUNT (JSON may say 1e400, -3, true or "5": none of them is one)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if key.match(str(k)) and type(v) is int
            and 0 <= v <= MAX_COUNT}  # fmt: skip


def _rows(value: object) -> list[dict[str, Any]]:
    """The listing rows of ``value`` that have the shape ``pages.ArticlePages`` gives them:
    an article id, a time, and for an edit its diff page and summary."""
    rows = []
    for row in value if isinstance(value, list) else []:
        if not (isinstance(row, dict) and _ID.match(str(row.get("id")))
                and instant(row.get("time"), with_offset=True) is not None):  # fmt: skip
            continue
        kept = {"id": row["id"], "time": row["time"],
                "title": row["title"] if isinstance(row.get("title"), str) else row["id"],
                "section": row["section"] if isinstance(row.get("section"), str) else "",
                "published_at": (row["published_at"] if instant(row.get("published_at"),
                                 with_offset=True) is not None else None),
                "versions": row["versions"] if type(row.get("versions")) is int
                and 1 <= row["versions"] <= MAX_COUNT else 1}  # fmt: skip
        if "diff" in row:
            if not (_DIFF.match(str(row["diff"])) and isinstance(row.get("summary"), str)):
                continue
            kept |= {"diff": row["diff"], "summary": row["summary"]}
        rows.append(kept)
    return rows


__all__ = ["MonthState", "SiteState", "StateFiles"]
