"""The manifest: one line per document version, in one file per day (``index/YYYY/MM/DD.jsonl``),
appended by compare-and-swap so that concurrent runs never drop each other's lines."""

from __future__ import annotations

import json
from typing import Any

from handler.core import jsontext
from handler.core.errors import ConflictError
from handler.store.base import BlobStore
from handler.store.conflicts import attempts
from handler.store.layout import article_key, manifest_key

NDJSON_CONTENT_TYPE = "application/x-ndjson; charset=utf-8"


def version_time(doc: dict[str, Any]) -> str:
    """When this version was made: its re-extraction time, else its fetch time."""
    return str(doc.get("reprocessed_at") or doc["fetched_at"])


def manifest_line(doc: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "key": article_key(doc),
        "status": status,
        "title": doc.get("title"),
        "published_at": doc.get("published_at"),
        "version": version_time(doc),
        "content_sha256": doc["content_sha256"],
        "changes": doc.get("changes"),
        # What a listing shows, so `list` never opens a document (older lines lack these).
        "url": doc.get("url"),
        "section": (doc.get("source") or {}).get("section"),
        "fetched_at": doc.get("fetched_at"),
    }


def line_day_key(line: dict[str, Any]) -> str:
    """The day file a line belongs to: the day its capture was made. A re-extraction re-reads
    an old capture, so its line joins that day's file rather than today's: a reprocess of a
    year rewrites each day file once instead of making today's file hold the whole year.
    (Older lines have no ``fetched_at``; their version is their fetch time.)"""
    return manifest_key(str(line.get("fetched_at") or line["version"]))


def append_lines(store: BlobStore, key: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append the lines the day file lacks (by id + version); returns those appended."""
    for current in attempts(store, key, f"{len(lines)} manifest lines to add"):
        present = _identities(current.data)
        fresh, seen = [], set(present)
        for line in lines:
            if (line["id"], line["version"]) not in seen:
                seen.add((line["id"], line["version"]))
                fresh.append(line)
        if not fresh:
            return []
        encoded = b"".join(
            json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            for line in fresh
        )
        try:
            store.put_if(key, (current.data or b"") + encoded, NDJSON_CONTENT_TYPE, current.version)
            return fresh
        except ConflictError:
            # Another run appended first (or our own write landed but was answered with an
            # error): re-read and append what is still missing.
            continue
    raise AssertionError("unreachable: attempts() raises when they run out")


def _identities(data: bytes | None) -> set[tuple[str, str]]:
    found = set()
    for raw in (data or b"").splitlines():
        try:
            line = jsontext.loads(raw)
            found.add((str(line["id"]), str(line["version"])))
        except (ValueError, KeyError, TypeError):
            continue  # a torn or foreign line identifies nothing
    return found
