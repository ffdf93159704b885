"""Reading the archive: the API the CLI's list/show/export (and consumers' scripts) use.

Dates select publication days (the ``articles/YYYY/MM/DD/`` folders, UTC); without dates the
whole ``articles/`` prefix is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from handler.archive.catalog import Catalog, version_time
from handler.core.errors import ArchiveError, StoreError
from handler.store import BlobStore
from handler.store.layout import (
    ARTICLES_PREFIX,
    articles_day_prefix,
    id_pointer_key,
    versions_prefix,
)

MAX_DAYS = 3660  # a range longer than ten years is a typo, not a request


class NotFoundError(ArchiveError):
    """No such article in the store."""


def iter_articles(
    store: BlobStore,
    since: date | None = None,
    until: date | None = None,
    skipped: list[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The current version of every article published in [since, until], oldest day first.
    A document that cannot be read is left out (one bad file never hides the good ones) and
    named, with why, in ``skipped``."""
    for key in article_keys(store, since, until):
        data = store.get(key)
        if data is None:
            continue
        try:
            yield document(data, key)
        except StoreError as exc:
            if skipped is not None:
                skipped.append(str(exc))


def document(data: bytes, key: str) -> dict[str, Any]:
    """A stored document, or StoreError naming the key when it is not one."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise StoreError(f"{key}: not a readable document ({type(exc).__name__})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
        raise StoreError(f"{key}: not a readable document (no id)")
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
        if data is not None and key.endswith(".json"):
            doc = document(data, key)
            found.setdefault(version_time(doc), doc)
    return [found[when] for when in sorted(found, key=_moment)]


def _moment(iso_time: str) -> datetime:
    try:
        moment = datetime.fromisoformat(iso_time)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def article_keys(
    store: BlobStore, since: date | None, until: date | None, ids: frozenset[str] = frozenset()
) -> Iterator[str]:
    """Keys of current documents by publication day, optionally only these ids."""
    for prefix in day_prefixes(since, until):
        for key in store.list(prefix):
            stem = key.rsplit("/", 1)[-1].removesuffix(".json")
            if key.endswith(".json") and (not ids or stem in ids):
                yield key


def day_prefixes(since: date | None, until: date | None) -> Iterator[str]:
    if since is None and until is None:
        yield ARTICLES_PREFIX
        return
    first = since or until
    last = until or datetime.now(UTC).date()
    assert first is not None
    if last < first:
        raise ArchiveError(f"the range {first}..{last} is empty: 'since' is after 'until'")
    if (last - first).days > MAX_DAYS:
        raise StoreError(f"the range {first}..{last} is longer than {MAX_DAYS} days")
    for offset in range((last - first).days + 1):
        yield articles_day_prefix(first + timedelta(days=offset))
