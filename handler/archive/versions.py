"""Writing one article version into a store: dedupe by content hash, keep prior versions.

Write order: the catalog's intent marker first (``before_writes``; it holds the version about to
be superseded), then the raw capture, the current document by compare-and-swap against the
version that was read, and only after that commit the copy of the superseded version under
``versions/``. So a version is never stored twice (no copy of a still-current version), and a
run that dies between commit and copy leaves a marker from which the catalog writes the copy
(``Catalog.recover``). A run that dies before the commit leaves at most an orphaned WARC, which
the catalog removes. Two runs writing the same article at once cannot both win: the loser
re-reads, finds the winner's document and either stops ("unchanged", its own WARC removed) or
stores its version on top of the winner's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from handler.archive.changes import changes
from handler.archive.document import content_hash, encode
from handler.archive.warc import capture_warc
from handler.core import jsontext
from handler.core.capture import Capture
from handler.core.errors import ConflictError, OlderCaptureError, StoreError
from handler.store.base import JSON_CONTENT_TYPE, WARC_CONTENT_TYPE, BlobStore, Versioned
from handler.store.conflicts import attempts
from handler.store.layout import article_key, filed_day, id_pointer_key, raw_key, version_key

SaveOutcome = Literal["new", "updated", "unchanged"]


@dataclass(frozen=True)
class Intent:
    """What one write attempt is about to store (the catalog's marker records it first, so
    whatever a crash leaves half-done can be told apart and settled)."""

    status: SaveOutcome
    raw_key: str | None  # the capture it writes, if any
    superseded_key: str | None  # where it copies the version it replaces, if any
    superseded: bytes | None = None  # that version's stored bytes, copied after the commit


def save_version(
    store: BlobStore,
    doc: dict[str, Any],
    response: Capture | None,
    force: bool = False,
    before_writes: Callable[[Intent], None] | None = None,
    capture: bytes | None = None,
    newer_only: bool = False,
) -> SaveOutcome:
    """Store ``doc`` unless the current version has the same content hash (or ``force``).
    ``before_writes`` hears of each attempt before it writes anything (the catalog writes its
    intent marker there). ``capture``: the raw capture as it is to be stored (an imported
    record), instead of one made from ``response``. ``newer_only``: OlderCaptureError rather
    than replace a current version fetched later."""
    key, first = _filed_key(store, doc)
    wrote_raw = False
    raw: bytes | None = None
    for current in attempts(store, key, "the current document", first=first):
        previous = _load(current.data, store, key) if current.data is not None else None
        # The earlier version's hash is computed again from its stored fields, not read: a
        # version written under an earlier canonical form (or schema) is judged by today's.
        same = previous is not None and content_hash(previous) == doc["content_sha256"]
        # force rewrites once; after losing a race to identical content there is nothing to force.
        if same and (not force or wrote_raw):
            # A concurrent run stored this very content first: our capture is an orphan, unless
            # both fetched in the same millisecond and the winner's document names that key.
            winner_capture = ((previous or {}).get("capture") or {}).get("raw_key")
            if wrote_raw and capture_key(doc) != winner_capture:
                store.delete(capture_key(doc))
            return "unchanged"
        if newer_only and previous is not None and _later(previous, doc):
            raise OlderCaptureError(
                f"{key}: the capture of {doc['fetched_at']} is older than the archived version "
                f"of {previous.get('fetched_at')}", key=key)  # fmt: skip
        if previous is not None and not doc.get("reprocessed_at"):
            _own_version_time(store, doc, previous, wrote_raw)
        superseded = version_key(previous) if previous is not None else None
        # What changed since the version it replaces, against the one actually read (a lost
        # race re-reads and compares again with the winner's).
        doc["changes"] = changes(previous, doc) if previous is not None else None
        if before_writes is not None:
            written_key = capture_key(doc) if response is not None else None
            status: SaveOutcome = "new" if previous is None else "updated"
            before_writes(Intent(status, written_key, superseded, current.data))
        if response is not None and not wrote_raw:
            raw = raw or (capture if capture is not None else capture_warc(response))
            if not _created(store, capture_key(doc), raw):
                # Another run's capture of this article in the same millisecond: this one
                # moves on a millisecond (a new key; this attempt's marker goes as stale).
                _next_millisecond(doc, wrote_raw)
                continue
            wrote_raw = True
        try:
            store.put_if(key, encode(doc), JSON_CONTENT_TYPE, expected=current.version)
        except ConflictError:
            continue
        if superseded is not None and current.data is not None:
            store.put(superseded, current.data, JSON_CONTENT_TYPE)
        return "new" if previous is None else "updated"
    raise AssertionError("unreachable: attempts() raises when they run out")


def _filed_key(store: BlobStore, doc: dict[str, Any]) -> tuple[str, Versioned | None]:
    """Where the article's current document is, with it when already read. An article whose
    publication day changed since it was filed (a corrected date) stays where it was filed:
    ``doc["filed_on"]`` names that day, so every key made from it (the document's, its
    manifest line's, its capture's) agrees, and the article keeps one current document."""
    key = article_key(doc)
    current = store.read(key)
    if current.data is not None:
        return key, current
    pointer = store.get(id_pointer_key(str(doc["id"])))
    try:
        pointed = str(jsontext.loads(pointer)["key"]) if pointer else None
    except (ValueError, KeyError, TypeError, RecursionError):
        pointed = None  # an unreadable pointer names no filing
    day = filed_day(pointed) if pointed and pointed != key else None
    filed = store.read(str(pointed)) if day is not None else None
    if filed is None or filed.data is None:
        return key, current
    doc["filed_on"] = day
    return article_key(doc), filed


def capture_key(doc: dict[str, Any]) -> str:
    """Where the document's capture is: the key it names, else the one its fetch time gives."""
    key = (doc.get("capture") or {}).get("raw_key")
    return key if isinstance(key, str) and key else raw_key(doc)


def _own_version_time(
    store: BlobStore, doc: dict[str, Any], previous: dict[str, Any], wrote_raw: bool
) -> None:
    """Two runs fetching one article in the same millisecond made two versions of one version
    time (and then one manifest line for both, the line naming the other's hash). The later
    one to commit moves its fetch time on by a millisecond until no stored version of the
    article has it: as current (``previous``) or among the superseded ones."""
    for _ in range(1000):  # a thousand versions in one millisecond: not a race, a loop
        made = str(previous.get("reprocessed_at") or previous.get("fetched_at"))
        if made != doc["fetched_at"] and store.get(version_key(doc)) is None:
            return
        _next_millisecond(doc, wrote_raw)


def _next_millisecond(doc: dict[str, Any], wrote_raw: bool) -> None:
    """The document's fetch time a millisecond on; its capture key with it, unless the
    capture is already written (the document names the key it is under)."""
    moment = datetime.fromisoformat(doc["fetched_at"]) + timedelta(milliseconds=1)
    doc["fetched_at"] = moment.isoformat(timespec="milliseconds")
    capture = doc.get("capture")
    if not wrote_raw and isinstance(capture, dict) and capture.get("raw_key"):
        capture["raw_key"] = raw_key(doc)


def _created(store: BlobStore, key: str, data: bytes) -> bool:
    """Write a capture only where none is (a capture is never written over another); True
    also when the one there is this very capture (an earlier attempt's write that landed
    although it was answered with an error)."""
    try:
        store.put_if(key, data, WARC_CONTENT_TYPE, expected=None)
    except ConflictError:
        return store.get(key) == data
    return True


def _later(stored: dict[str, Any], doc: dict[str, Any]) -> bool:
    """Whether the stored version was fetched after ``doc``."""
    try:
        return datetime.fromisoformat(stored["fetched_at"]) > datetime.fromisoformat(
            doc["fetched_at"]
        )
    except (KeyError, TypeError, ValueError):
        return False


def _load(data: bytes, store: BlobStore, key: str) -> dict[str, Any]:
    try:
        loaded = jsontext.loads(data)
        if isinstance(loaded, dict) and "fetched_at" in loaded:
            return loaded
    except ValueError:
        pass
    # Never overwrite what we cannot read: that would lose it.
    raise StoreError(
        f"{store.describe()}: {key} is not a readable document; left untouched", key=key
    )
