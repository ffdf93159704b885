"""The normalised, stored document: its fields, its content hash, its version identity."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, is_dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from handler.core.capture import CaptureRecord
from handler.core.models import ArticleFields, FeedItem, article_id, canonical_url, url_id
from handler.core.packages import installed_version
from handler.core.version import __version__
from handler.schema import article_schema
from handler.store.layout import article_key, raw_key

# The version documents are written with: the schema file's own (``schema_version``'s
# default), so the two can never disagree.
SCHEMA_VERSION: str = article_schema()["properties"]["schema_version"]["default"]


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


@dataclass(frozen=True)
class Document:
    """One version of one article, typed, from extraction to the store edge. Code reads its
    attributes; ``to_json`` is the one place it becomes the stored JSON."""

    fields: ArticleFields
    id: str
    url: str  # canonical
    status: str  # the extraction's: "ok" or "fallback"
    fetched_at: datetime
    feed_url: str | None = None
    feed: dict[str, Any] | None = None  # the feed item's own view of the article
    capture: CaptureRecord | None = None  # None: no capture of its own (see kept_capture)
    # A re-extraction keeps its original's capture object as stored (raw_key and all).
    kept_capture: dict[str, Any] | None = None
    reprocessed_at: datetime | None = None

    @property
    def fallback(self) -> bool:
        return self.status == "fallback"

    @property
    def agrees(self) -> bool:
        """The site rule's text agrees with trafilatura's (or was not compared)."""
        return self.fields.baseline is None or self.fields.baseline.agrees

    @property
    def key(self) -> str:
        """Where the current version lives in the store."""
        return article_key(self._json)

    def bound_to(self, served_url: str) -> Document:
        """The document of a page served by a host that is not ntv.de (another site's feed):
        its ``url`` must be on the host that served it, and its id is that URL's hash, never an
        ``ntv-`` id. Otherwise a page elsewhere that declares an ntv.de canonical URL (or
        merely has an ntv-like path) would replace that ntv article's document."""
        served_host = (urlsplit(served_url).hostname or "").lower()
        url = self.url
        if (urlsplit(url).hostname or "").lower() != served_host:
            url = canonical_url(served_url)
        return replace(self, url=url, id=url_id(url))

    def reprocessed(
        self, feed: dict[str, Any] | None, capture: dict[str, Any], at: datetime
    ) -> Document:
        """This extraction as a re-extraction of a stored capture: the original's feed context
        and capture, and when it was made."""
        return replace(self, feed=feed, kept_capture=capture, reprocessed_at=at)

    def to_json(self) -> dict[str, Any]:
        """The stored document (a fresh dict each call)."""
        return json.loads(json.dumps(self._json))

    @cached_property
    def _json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "url": self.url,
            "source": {"publisher": self.fields.publisher, "feed": self.feed_url,
                       "section": self.fields.section},
            "feed": self.feed,
            **content_of(self.fields),
            "fetched_at": iso(self.fetched_at, "milliseconds"),
        }  # fmt: skip
        doc["content_sha256"] = content_hash(doc)
        doc["changes"] = None  # filled when stored over an earlier version (archive/changes.py)
        if self.kept_capture is not None:
            doc["capture"] = dict(self.kept_capture)  # the stored capture, raw_key and all
        elif self.capture is not None:
            doc["capture"] = {**self.capture.to_json(), "raw_key": raw_key(doc)}
        else:
            doc["capture"] = {"raw_key": None}
        doc["extraction"] = {
            "profile": self.fields.profile,
            "status": self.status,
            "warnings": list(self.fields.warnings),
            "library": "trafilatura",
            "version": installed_version("trafilatura"),
            "baseline": self.fields.baseline.to_json() if self.fields.baseline else None,
            "published_at_source": self.fields.published_at_source,
            "published_day": self.fields.published_day,
            "published_day_source": self.fields.published_day_source,
            "extractor": f"ntv-archive/{__version__}",
            "libraries": {name: installed_version(name) for name in ("trafilatura", "lxml")},
        }
        if self.reprocessed_at is not None:
            doc["reprocessed_at"] = iso(self.reprocessed_at, "milliseconds")
        return doc


def build_document(
    fields: ArticleFields,
    *,
    status: str,
    fetched_at: datetime,
    feed_url: str | None = None,
    feed_item: FeedItem | None = None,
    capture: CaptureRecord | None = None,
) -> Document:
    """Turn extracted fields into the document of this version."""
    url = canonical_url(fields.url)
    return Document(
        fields=fields,
        id=article_id(url),
        url=url,
        status=status,
        fetched_at=fetched_at,
        feed_url=feed_url,
        feed=_feed_context(feed_url, feed_item),
        capture=capture,
    )


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


def content_hash(doc: dict[str, Any]) -> str:
    """SHA-256 over the content fields in their canonical form (``canonical_content``),
    serialised canonically (sorted keys, no spaces)."""
    canonical = json.dumps(canonical_content(doc), sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))  # fmt: skip
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def canonical_content(doc: dict[str, Any]) -> dict[str, Any]:
    """What the content hash covers: the content fields, with every value that holds nothing
    (null, "", [], {}, false) left out at any depth. So the hash is the content's, not the
    schema's: a field added to the schema (a content field, a block's optional attribute) is
    absent from every document that has no value for it, and their hashes stay what they were.
    Which feed led to the article is context, not content: the same article reached through
    a second feed is not a new version."""
    content = {name: doc.get(name) for name in CONTENT_FIELDS}
    content["source"] = {k: v for k, v in (doc.get("source") or {}).items() if k != "feed"}
    kept: dict[str, Any] = _without_empty(content)
    return kept


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _without_empty(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if not _empty(v)}
    if isinstance(value, list):
        return [_without_empty(item) for item in value]  # a list's items keep their places
    return value


def _empty(value: Any) -> bool:
    return value is None or value is False or value in ("", [], {})


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
