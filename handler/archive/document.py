"""The normalised, stored document: its fields, its content hash, its version identity."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from handler import __version__
from handler.core.models import ArticleFields, FeedItem, article_id, canonical_url, url_id
from handler.store.layout import raw_key

SCHEMA_VERSION = "1.1.0"


# The fields whose change makes a new article version: the article's content as the model
# declares it (ArticleFields.content_names, with ``text`` after ``body``), and its identity.
# Fetch time, feed context (incl. source.feed), capture and extraction details are about
# *this copy*, not the article, and stay out of the hash.
def _content_names() -> tuple[str, ...]:
    names: list[str] = []
    for name in ArticleFields.content_names():
        names += [name, "text"] if name == "body" else [name]
    return tuple(names)


CONTENT_FIELDS = ("id", "url", "source", *_content_names())


def build_document(
    fields: ArticleFields,
    *,
    status: str,
    fetched_at: datetime,
    feed_url: str | None = None,
    feed_item: FeedItem | None = None,
    capture: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Turn extracted fields into the stored document (a JSON-ready dict)."""
    url = canonical_url(fields.url)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": article_id(url),
        "url": url,
        "source": {"publisher": fields.publisher, "feed": feed_url, "section": fields.section},
        "feed": _feed_context(feed_url, feed_item),
        **content_of(fields),
        "fetched_at": iso(fetched_at, "milliseconds"),
    }
    doc["content_sha256"] = content_hash(doc)
    doc["capture"] = {**(capture or {}), "raw_key": raw_key(doc) if capture else None}
    doc["extraction"] = {
        "profile": fields.profile,
        "status": status,
        "warnings": list(fields.warnings),
        "library": "trafilatura",
        "version": _version_of("trafilatura"),
        "baseline": fields.baseline.to_json() if fields.baseline else None,
        "extractor": f"ntv-archive/{__version__}",
        "libraries": {name: _version_of(name) for name in ("trafilatura", "lxml")},
    }
    return doc


def content_of(fields: ArticleFields) -> dict[str, Any]:
    """The content fields as stored: each under its name, JSON-ready, ``text`` after ``body``."""
    content: dict[str, Any] = {}
    for name in ArticleFields.content_names():
        content[name] = _json_ready(getattr(fields, name))
        if name == "body":
            content["text"] = fields.text
    return content


def _json_ready(value: Any) -> Any:
    """One field's value as JSON: times in ISO 8601, blocks and images as objects."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if hasattr(value, "to_json"):
        return value.to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


def bind_to_host(doc: dict[str, Any], served_url: str) -> dict[str, Any]:
    """The document of a page served by a host that is not ntv.de (another site's feed): its
    ``url`` must be on the host that served it, and its id is that URL's hash, never an
    ``ntv-`` id. Otherwise a page elsewhere that declares an ntv.de canonical URL (or merely
    has an ntv-like path) would replace that ntv article's document."""
    served_host = (urlsplit(served_url).hostname or "").lower()
    url = doc["url"]
    if (urlsplit(url).hostname or "").lower() != served_host:
        url = canonical_url(served_url)
    bound = {**doc, "url": url, "id": url_id(url)}
    bound["content_sha256"] = content_hash(bound)
    return bound


def content_hash(doc: dict[str, Any]) -> str:
    """SHA-256 over the content fields, serialised canonically (sorted keys, no spaces)."""
    content = {name: doc.get(name) for name in CONTENT_FIELDS}
    # Which feed led to the article is context, not content: the same article reached through
    # a second feed is not a new version.
    content["source"] = {k: v for k, v in (doc.get("source") or {}).items() if k != "feed"}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def encode(doc: dict[str, Any]) -> bytes:
    """The stored bytes: UTF-8, one line (Athena's JSON SerDe reads a document per line), key
    order as built. ``ntv-archive show ID`` prints it indented for people."""
    return (json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def iso(value: datetime | None, timespec: str = "seconds") -> str | None:
    """ISO 8601 with offset (to the second unless asked); naive values are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec=timespec)


def _feed_context(feed_url: str | None, item: FeedItem | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {
        "url": feed_url,
        "item_title": item.title,
        "kicker": item.kicker,
        "headline": item.headline,
        "teaser": item.teaser,
        "category": item.category,
        "published": iso(item.published),
    }


@cache
def _version_of(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version  # 20 ms, needed once a run

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"
