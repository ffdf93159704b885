"""Feed: fetch the bytes, refuse XML tricks, parse with feedparser, map to FeedItems."""

from __future__ import annotations

import calendar
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from handler.errors import FeedError, FetchError, UrlError
from handler.fetch import HttpClient
from handler.log import logger
from handler.models import FeedItem, article_id
from handler.state import FeedValidators
from handler.urls import parse_web_url

FEED_CONTENT_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "application/rdf+xml",
)
# A DOCTYPE with an internal subset or any ENTITY declaration is how billion-laughs and
# external-entity attacks start; no real news feed needs one.
_DTD_TRICK = re.compile(rb"<!DOCTYPE[^>]*\[|<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True)
class FeedFetch:
    """One poll of a feed: its items, or "not modified" (304) and no items."""

    items: list[FeedItem]
    validators: FeedValidators
    not_modified: bool = False


def read_feed(client: HttpClient, feed_url: str, known: FeedValidators | None = None) -> FeedFetch:
    """Fetch (conditionally, given ``known`` validators) and parse the feed.

    FeedError with a one-line reason on any failure.
    """
    known = known or FeedValidators()
    try:
        response = client.get(feed_url, accept=FEED_CONTENT_TYPES, headers=known.request_headers())
    except FetchError as exc:
        raise FeedError(f"feed {exc}") from exc
    if response.status == 304:
        return FeedFetch(items=[], validators=known, not_modified=True)
    validators = FeedValidators(
        etag=response.header("ETag"), last_modified=response.header("Last-Modified")
    )
    return FeedFetch(items=parse_feed(response.body, feed_url), validators=validators)


def parse_feed(data: bytes, feed_url: str) -> list[FeedItem]:
    """Parse feed bytes (no network) into items; duplicate GUIDs keep their first entry."""
    if _DTD_TRICK.search(data[:4096]):
        raise FeedError(f"feed {feed_url}: refused DTD/entity declarations in the XML")
    import feedparser  # here, not at the top: a poll answered by 304 never parses a feed

    # A stream, never bytes or str: feedparser would try those as a URL or a local file name.
    parsed = feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version"):
        cause = parsed.get("bozo_exception") or "no RSS/Atom root element"
        raise FeedError(f"feed {feed_url}: not a feed ({_first_line(cause)})")
    items: list[FeedItem] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        item = _to_item(entry, feed_url)
        if item is not None and item.id not in seen:
            seen.add(item.id)
            items.append(item)
    skipped = len(parsed.entries) - len(items)
    if skipped or not items:
        logger.warning(
            "feed items skipped" if items else "feed has no archivable items",
            extra={"feed": feed_url, "entries": len(parsed.entries), "skipped": skipped,
                   "why": "entries without a usable link, or repeating an earlier link"},
        )  # fmt: skip
    return items


def split_title(title: str) -> tuple[str | None, str]:
    """ntv feed titles are "Kicker: Headline"; split at the first ': ' (kickers may be quoted)."""
    kicker, sep, headline = title.partition(": ")
    if not sep or not kicker.strip() or not headline.strip():
        return None, title.strip()
    return kicker.strip(), headline.strip()


def _to_item(entry: Any, feed_url: str) -> FeedItem | None:
    link = (entry.get("link") or "").strip()
    if not link:
        return None  # nothing to fetch; feedparser keeps such entries, we cannot archive them
    try:
        parse_web_url(link)  # one malformed link must cost that item, not the whole run
    except UrlError as exc:
        logger.warning("feed item refused", extra={"feed": feed_url, "reason": str(exc)})
        return None
    title = (entry.get("title") or "").strip()
    kicker, headline = split_title(title)
    tags = entry.get("tags") or []
    return FeedItem(
        id=article_id(link),
        link=link,
        title=title,
        kicker=kicker,
        headline=headline,
        teaser=(entry.get("summary") or "").strip() or None,
        category=(tags[0].get("term") if tags else None) or None,
        published=_to_datetime(entry.get("published_parsed")),
    )


def _to_datetime(value: Any) -> datetime | None:
    # feedparser normalises dates to a UTC struct_time.
    if not value:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)


def _first_line(value: object) -> str:
    return str(value).strip().splitlines()[0] if str(value).strip() else "unknown"
