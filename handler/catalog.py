"""Discovery without listing the bucket: the per-day manifest and the id pointers.

    index/YYYY/MM/DD.jsonl     one line per document version made that day (UTC)
    index/ids/<id>.json        where the current version of an article lives

A consumer finds what is new by reading one small manifest object per day, and any article by
id with one pointer read. Manifest lines are appended by compare-and-swap, so concurrent runs
never drop each other's lines.
"""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

from handler.errors import ConflictError, StoreError
from handler.store.base import JSON_CONTENT_TYPE, BlobStore
from handler.store.layout import article_key

NDJSON_CONTENT_TYPE = "application/x-ndjson; charset=utf-8"
MAX_CONFLICTS = 25


def version_time(doc: dict[str, Any]) -> str:
    """When this version was made: its re-extraction time, else its fetch time."""
    return str(doc.get("reprocessed_at") or doc["fetched_at"])


def manifest_key(day: str) -> str:
    """``day`` as YYYY-MM-DD (or an ISO timestamp, read in UTC)."""
    moment = datetime.fromisoformat(day)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"index/{moment:%Y/%m/%d}.jsonl"


def id_pointer_key(article_id: str) -> str:
    return f"index/ids/{article_id}.json"


def manifest_line(doc: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "key": article_key(doc),
        "status": status,
        "title": doc.get("title"),
        "published_at": doc.get("published_at"),
        "version": version_time(doc),
        "content_sha256": doc["content_sha256"],
    }


class Catalog:
    """Manifest lines are appended at once (``record``) or buffered for one append per day at
    the end of a run (``record(..., defer=True)`` then ``flush``): a run storing hundreds of
    versions makes one compare-and-swap per day instead of one per version on the same hot key.
    """

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self._buffered: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def record(self, doc: dict[str, Any], status: str, defer: bool = False) -> dict[str, Any]:
        """Point the id at a stored version and add its manifest line; returns the line."""
        line = manifest_line(doc, status)
        pointer = json.dumps({"id": line["id"], "key": line["key"]}).encode()
        self.store.put(id_pointer_key(line["id"]), pointer, JSON_CONTENT_TYPE)
        key = manifest_key(line["version"])
        if defer:
            with self._lock:
                self._buffered.setdefault(key, []).append(line)
        else:
            self._append(key, [line])
        return line

    def flush(self) -> None:
        """Append every buffered line: one compare-and-swap per manifest day."""
        with self._lock:
            buffered, self._buffered = self._buffered, {}
        for key, lines in sorted(buffered.items()):
            self._append(key, lines)

    def current_key(self, article_id: str) -> str | None:
        data = self.store.get(id_pointer_key(article_id))
        return str(json.loads(data)["key"]) if data else None

    def lines(self, day: str) -> list[dict[str, Any]]:
        data = self.store.get(manifest_key(day))
        return [json.loads(line) for line in data.splitlines() if line.strip()] if data else []

    def _append(self, key: str, lines: list[dict[str, Any]]) -> None:
        encoded = b"".join(
            json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            for line in lines
        )
        for attempt in range(MAX_CONFLICTS):
            current = self.store.read(key)
            try:
                self.store.put_if(
                    key, (current.data or b"") + encoded, NDJSON_CONTENT_TYPE, current.version
                )
                return
            except ConflictError:
                # Another run appended first; back off a little (jittered) and append after it.
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
        raise StoreError(
            f"{self.store.describe()}: {key} kept changing; {len(lines)} lines not added"
        )
