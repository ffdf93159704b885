"""Reading the archive: the API the CLI's list/show/export (and consumers' scripts) use.

What is in the archive comes from the manifest (archive/index.py): one read per day file,
not per document. Documents are opened only when their content is asked for (``show``,
``export``), several at a time and streamed in order. Dates select publication days (the
``articles/YYYY/MM/DD/`` folders, UTC); without dates the whole archive is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from handler.archive.catalog import Catalog
from handler.archive.index import current_entries, current_locations, moment_of
from handler.archive.manifest import version_time
from handler.core import jsontext
from handler.core.errors import ArchiveError, StoreError
from handler.core.log import logger
from handler.core.times import instant
from handler.store import BlobStore
from handler.store.layout import (
    ARTICLES_PREFIX,
    FAILED_PREFIX,
    INDEX_PREFIX,
    STATE_KEY,
    id_pointer_key,
    versions_prefix,
)
from handler.store.parallel import DEFAULT_READERS, read_in_order


class NotFoundError(ArchiveError):
    """No such article in the store."""


# What any archive holds once a run has written to it: the run state, the index, documents,
# parked articles' records.
_ARCHIVE_MARKS = (STATE_KEY, INDEX_PREFIX, ARTICLES_PREFIX, FAILED_PREFIX)


def holds_archive(store: BlobStore) -> bool:
    """Whether the store holds an archive (at most four cheap reads: a GET and one-key
    listings). Reading and reprocessing refuse a store that does not: a mistyped --store or
    ARCHIVE_STORE must not look like an empty archive, nor get a job planned into it."""
    if store.get(STATE_KEY) is not None:
        return True
    return any(next(iter(store.list(prefix)), None) is not None for prefix in _ARCHIVE_MARKS[1:])


def require_archive(store: BlobStore) -> None:
    """StoreError unless the store holds an archive (see ``holds_archive``)."""
    if not holds_archive(store):
        raise StoreError(f"no archive at {store.describe()} (nothing has been archived there)")


def iter_articles(
    store: BlobStore,
    since: date | None = None,
    until: date | None = None,
    skipped: list[str] | None = None,
    readers: int = DEFAULT_READERS,
    on_total: Callable[[int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """The current version of every article published in [since, until], oldest day first,
    streamed (``readers`` documents read at a time). A document that cannot be read is left
    out (one bad file never hides the good ones) and named, with why, in ``skipped``.
    ``on_total`` hears how many documents are to come, once the manifest is read."""
    located = current_locations(store, since, until, readers=readers)
    if on_total is not None:
        on_total(len(located))
    for key, data in read_in_order(store, (at.key for at in located), readers):
        try:
            if data is None:
                raise StoreError(f"{key}: named by the manifest but not stored", key=key)
            yield document(data, key)
        except StoreError as exc:
            if skipped is not None:
                skipped.append(str(exc))


def list_articles(
    store: BlobStore,
    since: date | None = None,
    until: date | None = None,
    readers: int = DEFAULT_READERS,
) -> list[dict[str, Any]]:
    """What ``list`` shows of every article published in [since, until], from the manifest
    alone. Lines written before the manifest carried ``url`` and ``section`` send the reader
    to those documents (only those)."""
    entries = current_entries(store, since, until, readers=readers)
    rows = [entry.row() for entry in entries]
    older = [n for n, entry in enumerate(entries) if entry.url is None]
    found = read_in_order(store, (entries[n].key for n in older), readers)
    for n, (key, data) in zip(older, found, strict=True):
        try:
            doc = document(data, key) if data is not None else {}
        except StoreError:
            doc = {}
        rows[n] |= {"url": doc.get("url"), "section": (doc.get("source") or {}).get("section")}
    return rows


def document(data: bytes, key: str) -> dict[str, Any]:
    """A stored document, or StoreError naming the key when it is not one."""
    try:
        doc = jsontext.loads(data)
    except (ValueError, RecursionError) as exc:
        raise StoreError(f"{key}: not a readable document ({type(exc).__name__})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
        raise StoreError(f"{key}: not a readable document (no id)")
    # The fields every reader orders or names versions by, checked here once: a tampered
    # document (a stub, a year-1 date) is refused with its key, never a fault further on.
    if instant(doc.get("fetched_at"), with_offset=True) is None:
        raise StoreError(f"{key}: not a readable document (fetched_at missing or not a time)")
    if (
        "reprocessed_at" in doc
        and doc["reprocessed_at"] is not None
        and instant(doc["reprocessed_at"], with_offset=True) is None
    ):
        raise StoreError(f"{key}: not a readable document (reprocessed_at not a time)")
    if not isinstance(doc.get("content_sha256"), str):
        raise StoreError(f"{key}: not a readable document (no content_sha256: a stub?)")
    return doc


def get_article(store: BlobStore, article_id: str) -> dict[str, Any]:
    try:
        key = Catalog(store).current_key(article_id)
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(
            f"{id_pointer_key(article_id)}: not a readable pointer", key=id_pointer_key(article_id)
        ) from exc
    data = store.get(key) if key else None
    if data is None or key is None:
        raise NotFoundError(f"no article {article_id!r} in {store.describe()}")
    return document(data, key)


def article_versions(store: BlobStore, article_id: str) -> list[dict[str, Any]]:
    """Every stored version of an article, oldest first, the current one last (NotFoundError
    when there is none). Versions are ordered by when they were made (fetch or re-extraction
    time); a superseded copy equal to the current version (a crash's leftover) is not doubled."""
    current = get_article(store, article_id)
    found = {version_time(current): current}
    for key in store.list(versions_prefix(article_id)):
        data = store.get(key)
        if data is None or not key.endswith(".json"):
            continue
        try:
            doc = document(data, key)
        except StoreError as exc:  # a tampered old version: said, and the others shown
            logger.warning("unreadable version skipped", extra={"key": key, "reason": str(exc)})
            continue
        found.setdefault(version_time(doc), doc)
    return [found[when] for when in sorted(found, key=moment_of)]
