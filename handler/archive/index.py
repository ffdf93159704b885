"""The manifest as the archive's index: what is in the archive, without opening documents.

Every stored version has exactly one manifest line (the catalog invariant, see catalog.py), so
the day files ``index/YYYY/MM/DD.jsonl`` together name every article and its current version:
the line with the latest ``version`` per id. Reading them costs one LIST page per 1,000 days
and one GET per day that holds anything, however many documents those days hold; calendar
days with no file cost nothing.

A range selects articles by **publication** day (the ``articles/YYYY/MM/DD/`` folder of the
current document, as ``list --since/--until`` always did). Day files are by capture day, and
an article is not captured before it is published, so a range starting at ``since`` reads the
day files from the day before ``since`` on (a day of slack for clocks and time zones).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from handler.core import jsontext
from handler.core.errors import ArchiveError
from handler.store.base import BlobStore
from handler.store.layout import INDEX_PREFIX, is_manifest_area, manifest_day
from handler.store.parallel import DEFAULT_READERS, read_in_order

CAPTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Location:
    """Where an article's current version is stored: all that reading it takes (export,
    reprocess). A third of an Entry's memory, which counts at 100,000 articles."""

    id: str
    key: str  # articles/YYYY/MM/DD/<id>.json
    version: str

    @property
    def day(self) -> date:
        """The publication day: the folder the current document is filed in."""
        year, month, day = self.key.split("/")[1:4]
        return date(int(year), int(month), int(day))


@dataclass(frozen=True, slots=True)
class Entry(Location):
    """An article's current version as its manifest line describes it (what ``list`` shows)."""

    title: str | None
    published_at: str | None
    url: str | None  # None on lines written before the manifest carried it
    section: str | None
    content_sha256: str

    def row(self) -> dict[str, Any]:
        """What ``list`` shows of the article."""
        return {"id": self.id, "published_at": self.published_at, "title": self.title,
                "section": self.section, "url": self.url}  # fmt: skip


Folded = TypeVar("Folded", bound=Location)


def manifest_days(store: BlobStore) -> Iterator[tuple[date, str]]:
    """``(day, key)`` of every manifest day file, oldest first (a listing, no reads)."""
    for key in store.list(INDEX_PREFIX):
        if not is_manifest_area(key):
            return  # ids/, pending/, revisit/ follow the day files: nothing more to find
        day = manifest_day(key)
        if day is not None:
            yield day, key


def check_range(since: date | None, until: date | None) -> None:
    if since is not None and until is not None and until < since:
        raise ArchiveError(f"the range {since}..{until} is empty: 'since' is after 'until'")


def current_entries(
    store: BlobStore,
    since: date | None = None,
    until: date | None = None,
    ids: frozenset[str] = frozenset(),
    readers: int = DEFAULT_READERS,
) -> list[Entry]:
    """The current version of every article published in [since, until] (either may be open),
    optionally only ``ids``, in key order (publication day, then id)."""
    return _current(store, since, until, ids, readers, _entry)


def current_locations(
    store: BlobStore,
    since: date | None = None,
    until: date | None = None,
    ids: frozenset[str] = frozenset(),
    readers: int = DEFAULT_READERS,
) -> list[Location]:
    """As current_entries, only where each current version is (for reading them all)."""
    return _current(store, since, until, ids, readers, _location)


def _current(
    store: BlobStore,
    since: date | None,
    until: date | None,
    ids: frozenset[str],
    readers: int,
    parse: Callable[[dict[str, Any]], Folded | None],
) -> list[Folded]:
    check_range(since, until)
    first_file = since - CAPTURE_SLACK if since is not None else None
    keys = [key for day, key in manifest_days(store) if first_file is None or day >= first_file]
    latest: dict[str, Folded] = {}
    for _key, data in read_in_order(store, keys, readers):
        for line in _lines(data):
            entry = parse(line)
            if entry is None or (ids and entry.id not in ids):
                continue
            known = latest.get(entry.id)
            if known is None or not _earlier(entry.version, known.version):
                latest[entry.id] = entry
    chosen = (
        e
        for e in latest.values()
        if (since is None or e.day >= since) and (until is None or e.day <= until)
    )
    return sorted(chosen, key=lambda e: e.key)


def _lines(data: bytes | None) -> Iterator[dict[str, Any]]:
    for raw in (data or b"").splitlines():
        try:
            line = jsontext.loads(raw)
        except ValueError:
            continue  # a torn line names nothing (appends are whole; this is a foreign edit)
        if isinstance(line, dict):
            yield line


def _location(line: dict[str, Any]) -> Location | None:
    """The line's location, if the line is a whole one naming a document of this layout."""
    if not str(line.get("key", "")).startswith("articles/") or "content_sha256" not in line:
        return None
    try:
        location = Location(id=str(line["id"]), key=str(line["key"]), version=str(line["version"]))
        location.day  # noqa: B018 - a key this layout did not make names no article
    except (KeyError, TypeError, ValueError):
        return None
    return location


def _entry(line: dict[str, Any]) -> Entry | None:
    location = _location(line)
    if location is None:
        return None
    return Entry(
        id=location.id,
        key=location.key,
        version=location.version,
        title=_text(line.get("title")),
        published_at=_text(line.get("published_at")),
        url=_text(line.get("url")),
        section=_text(line.get("section")),
        content_sha256=str(line["content_sha256"]),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _earlier(version: str, than: str) -> bool:
    """Whether ``version`` was made before ``than``. Versions are written in one ISO form
    (UTC, milliseconds), which sorts as text; only differently written ones are parsed (no
    parsed time is kept per article: at 100,000 articles that is memory an export needs)."""
    if len(version) == len(than) and version.endswith("+00:00") and than.endswith("+00:00"):
        return version < than
    return moment_of(version) < moment_of(than)


def moment_of(iso_time: str) -> datetime:
    try:
        moment = datetime.fromisoformat(iso_time)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
