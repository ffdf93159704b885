"""Writing one article version into a store: dedupe by content hash, keep prior versions.

Write order makes a crash harmless: the raw capture first, then the superseded version, and the
current document last. A run that dies between them leaves at most an extra WARC or a copy of the
prior version; the next run sees the old document still current and does the work again.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from handler.document import encode
from handler.errors import StoreError
from handler.fetch import Response
from handler.store.base import JSON_CONTENT_TYPE, WARC_CONTENT_TYPE, BlobStore
from handler.store.layout import article_key, raw_key, version_key
from handler.warc import capture_warc

SaveOutcome = Literal["new", "updated", "unchanged"]


def save_version(
    store: BlobStore, doc: dict[str, Any], response: Response | None, force: bool = False
) -> SaveOutcome:
    """Store ``doc`` unless the current version has the same content hash (or ``force``)."""
    key = article_key(doc)
    previous_bytes = store.get(key)
    previous = _load(previous_bytes, store, key) if previous_bytes is not None else None
    unchanged = previous is not None and previous.get("content_sha256") == doc["content_sha256"]
    if unchanged and not force:
        return "unchanged"
    if response is not None:
        store.put(raw_key(doc), capture_warc(response), WARC_CONTENT_TYPE)
    if previous is not None and previous_bytes is not None:
        store.put(version_key(previous), previous_bytes, JSON_CONTENT_TYPE)
    store.put(key, encode(doc), JSON_CONTENT_TYPE)
    return "new" if previous is None else "updated"


def _load(data: bytes, store: BlobStore, key: str) -> dict[str, Any]:
    try:
        loaded = json.loads(data)
        if isinstance(loaded, dict) and "fetched_at" in loaded:
            return loaded
    except ValueError:
        pass
    # Never overwrite what we cannot read: that would lose it.
    raise StoreError(f"{store.describe()}: {key} is not a readable document; left untouched")
