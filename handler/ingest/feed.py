"""Feed: fetch the bytes, refuse XML tricks, parse with feedparser, map to FeedItems."""

from __future__ import annotations

import calendar
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from handler.core import sitedefs
from handler.core.capture import Validators
from handler.core.config import DEFAULT_PROFILE
from handler.core.errors import FeedError, FetchError, UrlError
from handler.core.log import logger
from handler.core.models import FeedItem, article_id
from handler.core.times import instant
from handler.core.urls import parse_web_url
from handler.ingest.fetch import HttpClient

FEED_CONTENT_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "application/rdf+xml",
)
# A DOCTYPE with an internal subset or any ENTITY declaration is how billion-laughs and
# external-entity attacks start; no real news feed needs one. Searched for in the whole
# document, decoded the way an XML parser would decode it (a UTF-16 feed hides it from a
# byte search), and in the raw bytes as well.
_DTD_TRICK = re.compile(r"<!\s*DOCTYPE[^>\[]*\[|<!\s*ENTITY", re.IGNORECASE)
_DTD_TRICK_BYTES = re.compile(rb"<!\s*DOCTYPE[^>\[]*\[|<!\s*ENTITY", re.IGNORECASE)
# XML 1.0, Appendix F: the byte order marks and first-character patterns that name an encoding.
_SNIFFED = (
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"), (b"\xef\xbb\xbf", "utf-8"),
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"),
)  # fmt: skip
_DECLARED = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
# Encodings a feed may declare: ASCII-compatible, so the declaration itself reads true. Others
# (UTF-7, EBCDIC, ...) could spell "<!ENTITY" in bytes no search would recognise.
_ASCII_COMPATIBLE = re.compile(
    r"^(utf-?8|us-?ascii|ascii|iso-?8859-\d+|latin-?\d|windows-125\d|cp125\d|koi8-[ru])$", re.I
)


# A feed's validators are the same pair an article's capture keeps (see ingest/fetch.py).
FeedValidators = Validators


@dataclass(frozen=True)
class FeedFetch:
    """One poll of a feed: its items, or "not modified" (304) and no items."""

    items: list[FeedItem]
    validators: FeedValidators
    not_modified: bool = False


def read_feed(
    client: HttpClient,
    feed_url: str,
    known: FeedValidators | None = None,
    deadline: float | None = None,
    profile: str = DEFAULT_PROFILE,
) -> FeedFetch:
    """Fetch (conditionally, given ``known`` validators) and parse the feed.

    FeedError with a one-line reason on any failure.
    """
    known = known or FeedValidators()
    try:
        response = client.get(
            feed_url, accept=FEED_CONTENT_TYPES, headers=known.request_headers(), deadline=deadline
        )
    except FetchError as exc:
        raise FeedError(f"feed {exc}") from exc
    if response.status == 304:
        return FeedFetch(items=[], validators=known, not_modified=True)
    validators = Validators.of(response)
    return FeedFetch(items=parse_feed(response.body, feed_url, profile), validators=validators)


def refuse_dtd_tricks(data: bytes, feed_url: str) -> None:
    """FeedError if the document declares a DTD internal subset or an entity anywhere."""
    if _DTD_TRICK_BYTES.search(data) or _DTD_TRICK.search(xml_text(data, feed_url)):
        raise FeedError(
            f"feed {feed_url}: refused DTD/entity declarations in the XML", url=feed_url
        )


def xml_text(data: bytes, feed_url: str) -> str:
    """The document decoded as an XML parser would: BOM or first-bytes pattern, else the
    declared encoding (ASCII-compatible ones only), else UTF-8. Undecodable bytes become
    U+FFFD: this text is only searched, never stored."""
    for mark, encoding in _SNIFFED:
        if data.startswith(mark):
            return data.decode(encoding, errors="replace")
    declared = _DECLARED.match(data)
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    if not _ASCII_COMPATIBLE.match(encoding):
        raise FeedError(
            f"feed {feed_url}: refused encoding {encoding!r} (not ASCII-compatible)", url=feed_url
        )
    return data.decode(encoding, errors="replace")


def parse_feed(data: bytes, feed_url: str, profile: str = DEFAULT_PROFILE) -> list[FeedItem]:
    """Parse feed bytes (no network) into items; duplicate GUIDs keep their first entry. Titles
    are split into kicker and headline by the convention of ``profile``'s site."""
    refuse_dtd_tricks(data, feed_url)
    import feedparser  # here, not at the top: a poll answered by 304 never parses a feed

    # A stream, never bytes or str: feedparser would try those as a URL or a local file name.
    parsed = feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version"):
        cause = parsed.get("bozo_exception") or "no RSS/Atom root element"
        raise FeedError(f"feed {feed_url}: not a feed ({_first_line(cause)})", url=feed_url)
    items: list[FeedItem] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        item = _to_item(entry, feed_url, profile)
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


def _to_item(entry: Any, feed_url: str, profile: str) -> FeedItem | None:
    link = (entry.get("link") or "").strip()
    if not link:
        return None  # nothing to fetch; feedparser keeps such entries, we cannot archive them
    try:
        parse_web_url(link)  # one malformed link must cost that item, not the whole run
    except UrlError as exc:
        logger.warning("feed item refused", extra={"feed": feed_url, "reason": str(exc)})
        return None
    title = (entry.get("title") or "").strip()
    kicker, headline = sitedefs.split_title(title, profile)  # the feed's site's convention
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
    try:
        return instant(datetime.fromtimestamp(calendar.timegm(value), tz=UTC))
    except (OverflowError, ValueError, OSError, TypeError):
        return None  # a date feedparser read, but no time a news item can have


def _first_line(value: object) -> str:
    return str(value).strip().splitlines()[0] if str(value).strip() else "unknown"
