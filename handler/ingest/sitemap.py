"""Sitemaps (sitemaps.org, with Google's news extension): what a site says it has published.

    <urlset>        <url><loc/><lastmod/><news:news><news:publication_date/><news:title/>…
    <sitemapindex>  <sitemap><loc/><lastmod/></sitemap>…

Read the way feeds are: through the allowlisted client with its size cap, conditionally when
validators are known, and refused when the XML carries a DTD (entity tricks) — lxml parses
with entity resolution and network access off. A ``.gz`` sitemap sent as a file (not as a
Content-Encoding) is gunzipped here, with the same cap on what it inflates to.

Parsed with lxml (already here for extraction) rather than a sitemap library: the maintained
one (ultimate-sitemap-parser) is GPL-3.0 and fetches with its own HTTP client, around the
allowlist.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from handler.core.capture import Validators
from handler.core.errors import FeedError, FetchError, UrlError
from handler.core.log import logger
from handler.core.times import instant
from handler.core.urls import join_url
from handler.ingest.feed import refuse_dtd_tricks
from handler.ingest.fetch import HttpClient

SITEMAP_TYPES = (
    "application/xml",
    "text/xml",
    "application/gzip",
    "application/x-gzip",
    "application/octet-stream",
)
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"
_GZIP_MAGIC = b"\x1f\x8b"


class SitemapError(FeedError):
    """A sitemap could not be read: unreachable, HTTP error, not a sitemap, hostile XML."""


@dataclass(frozen=True)
class SitemapEntry:
    """One ``<url>`` of a sitemap."""

    loc: str
    lastmod: datetime | None = None
    published: datetime | None = None  # news:publication_date
    title: str | None = None  # news:title

    @property
    def when(self) -> datetime | None:
        """The entry's time: its publication date, else its last modification."""
        return self.published or self.lastmod


@dataclass(frozen=True)
class Sitemap:
    """A parsed sitemap: its entries (a urlset) or its child sitemaps (an index)."""

    url: str
    entries: tuple[SitemapEntry, ...] = ()
    children: tuple[SitemapEntry, ...] = ()  # an index's sitemaps (loc, lastmod)


@dataclass(frozen=True)
class SitemapFetch:
    sitemap: Sitemap | None  # None: not modified since ``validators``
    validators: Validators


def read_sitemap(
    client: HttpClient,
    url: str,
    known: Validators | None = None,
    deadline: float | None = None,
) -> SitemapFetch:
    """Fetch (conditionally, given ``known``) and parse one sitemap; SitemapError says why not."""
    known = known or Validators()
    try:
        response = client.get(url, accept=SITEMAP_TYPES, headers=known.request_headers(),
                              deadline=deadline)  # fmt: skip
    except FetchError as exc:
        raise SitemapError(f"sitemap {exc}", url=url, status=exc.status) from exc
    if response.status == 304:
        return SitemapFetch(None, known)
    body = gunzipped(response.body, url, client.settings.max_bytes)
    return SitemapFetch(parse_sitemap(body, response.final_url), Validators.of(response))


def walk(
    client: HttpClient, url: str, max_sitemaps: int, deadline: float | None = None
) -> Iterator[Sitemap]:
    """The sitemap at ``url`` and, when it is an index, its children (at most ``max_sitemaps``
    in all, in the order the index lists them). A child that cannot be read is logged and
    skipped: one broken sitemap must not hide the others."""
    top = read_sitemap(client, url, deadline=deadline).sitemap
    assert top is not None  # unconditional fetch
    yield top
    for child in top.children[: max(0, max_sitemaps - 1)]:
        try:
            fetched = read_sitemap(client, child.loc, deadline=deadline).sitemap
        except SitemapError as exc:
            logger.warning("sitemap skipped", extra={"sitemap": child.loc, "reason": str(exc)})
            continue
        if fetched is not None:
            yield fetched


def gunzipped(data: bytes, url: str, cap: int) -> bytes:
    """``data`` inflated when it is a gzip file, never past ``cap`` bytes."""
    if not data.startswith(_GZIP_MAGIC):
        return data
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise SitemapError(f"sitemap {url}: not a readable gzip file ({exc})", url=url) from exc
    if len(inflated) > cap or inflater.unconsumed_tail:
        raise SitemapError(f"sitemap {url}: larger than {cap} bytes inflated (size cap)", url=url)
    return inflated


def parse_sitemap(data: bytes, url: str) -> Sitemap:
    """Sitemap bytes (no network) as entries or children; SitemapError when they are not a
    sitemap. Entries whose ``loc`` is not an unambiguous http(s) URL are dropped (logged)."""
    try:
        refuse_dtd_tricks(data, url)
    except FeedError as exc:
        raise SitemapError(str(exc).replace("feed ", "sitemap ", 1), url=url) from exc
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=True)  # fmt: skip
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise SitemapError(f"sitemap {url}: not XML ({exc})", url=url) from exc
    kind = etree.QName(root).localname
    if kind == "urlset":
        return Sitemap(url, entries=tuple(_entries(root, "url", url)))
    if kind == "sitemapindex":
        return Sitemap(url, children=tuple(_entries(root, "sitemap", url)))
    raise SitemapError(f"sitemap {url}: not a sitemap (root element <{kind}>)", url=url)


def in_section(url: str, section: str | None) -> bool:
    """Whether ``url`` lies under the section's folder (``/politik/…``); no section: all."""
    if not section:
        return True
    path = urlsplit(url).path.lower()
    return path.startswith(f"/{section.strip('/').lower()}/")


def _entries(root: object, tag: str, url: str) -> Iterator[SitemapEntry]:
    dropped = 0
    for node in root.iter(_SITEMAP_NS + tag, tag):  # type: ignore[attr-defined]
        loc = _text(node, _SITEMAP_NS + "loc") or _text(node, "loc")
        try:
            joined = join_url(url, loc or "")
        except UrlError:
            dropped += 1
            continue
        yield SitemapEntry(
            loc=joined,
            lastmod=_time(_text(node, _SITEMAP_NS + "lastmod") or _text(node, "lastmod")),
            published=_time(_text(node, f"{_NEWS_NS}news/{_NEWS_NS}publication_date")),
            title=_text(node, f"{_NEWS_NS}news/{_NEWS_NS}title"),
        )
    if dropped:
        said = {"sitemap": url, "dropped": dropped, "why": "no usable http(s) URL"}
        logger.warning("sitemap entries dropped", extra=said)


def _text(node: object, path: str) -> str | None:
    found = node.find(path)  # type: ignore[attr-defined]
    text = found.text.strip() if found is not None and found.text else ""
    return text or None


def _time(value: str | None) -> datetime | None:
    """A W3C datetime (or a bare date) in UTC; None when absent, unreadable or out of the
    window any real entry lies in (core/times.py): such an entry counts as undated."""
    return instant(value)
