"""A page parsed once: the lxml tree plus the structured data every rule reads from it."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
from lxml import etree

from handler.core import jsontext, times
from handler.core.errors import ExtractionError, UrlError
from handler.core.urls import parse_web_url

_ARTICLE_TYPES = frozenset(
    {"NewsArticle", "Article", "ReportageNewsArticle", "LiveBlogPosting", "VideoObject"}
)
_SPACE = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# lxml refuses str input that still declares an encoding; the text is decoded by then.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)  # fmt: skip
MAX_JSON_LD_CHARS = 1_000_000


def clean_text(value: object) -> str:
    """Collapse every run of whitespace (incl. NBSP) to one space and trim. Anything but a
    string (a JSON-LD field of the wrong type, say) is no text at all."""
    if not isinstance(value, str):
        return ""
    return _SPACE.sub(" ", value.replace("\xa0", " ")).strip()


def node_text(node: etree._Element) -> str:
    return clean_text(node.text_content())


@dataclass
class Page:
    """The parsed HTML and its JSON-LD / meta tags, shared by site rules and trafilatura."""

    url: str
    tree: lxml.html.HtmlElement
    json_ld: list[dict[str, Any]] = field(default_factory=list)
    zone: str = "UTC"  # what a time the page writes without an offset means (its site's zone)

    @classmethod
    def parse(
        cls, html: str | bytes, url: str, charset: str | None = None, zone: str = "UTC"
    ) -> Page:
        """Parse once; bytes are decoded by ``decode_html`` (``charset``: the HTTP header's)."""
        text = decode_html(html, charset) if isinstance(html, bytes) else html
        if not text.strip():
            raise ExtractionError(f"{url}: empty page", url=url)
        try:
            tree = lxml.html.document_fromstring(_XML_DECLARATION.sub("", text, count=1))
        except (etree.ParserError, ValueError) as exc:
            raise ExtractionError(f"{url}: HTML could not be parsed ({exc})", url=url) from exc
        return cls(url=url, tree=tree, json_ld=list(_read_json_ld(tree)), zone=zone)

    @cached_property
    def meta(self) -> dict[str, str]:
        """``<meta name|property=... content=...>``, first occurrence wins. A tag without
        ``content`` gives its ``value`` (archiving tools rewrite ``property``/``content`` to
        ``name``/``value``): a fallback, so a tag that has ``content`` always wins."""
        found: dict[str, str] = {}
        fallback: dict[str, str] = {}
        for node in self.tree.iter("meta"):
            key = node.get("name") or node.get("property")
            content, value = node.get("content"), node.get("value")
            if key and content is not None:
                found.setdefault(key.lower(), content.strip())
            elif key and value is not None:
                fallback.setdefault(key.lower(), value.strip())
        return fallback | found

    @cached_property
    def article_ld(self) -> dict[str, Any]:
        """The page's own NewsArticle-like JSON-LD object (empty dict when there is none)."""
        for obj in self.json_ld:
            types = obj.get("@type")
            types = types if isinstance(types, list) else [types]
            if _ARTICLE_TYPES.intersection(t for t in types if isinstance(t, str)):
                return obj
        return {}

    @cached_property
    def breadcrumbs(self) -> list[tuple[str, str]]:
        """(name, url) pairs of the JSON-LD BreadcrumbList, in position order."""
        for obj in self.json_ld:
            if obj.get("@type") != "BreadcrumbList":
                continue
            crumbs = []
            for element in json_ld_list(obj.get("itemListElement")):
                if not isinstance(element, dict):
                    continue
                # schema.org allows the name on the item or on the ListItem, and the item as
                # an object or as its URL; pages use each.
                item = element.get("item")
                named = item.get("name") if isinstance(item, dict) else None
                url = item.get("@id") if isinstance(item, dict) else item
                crumbs.append((clean_text(named or element.get("name")), str(url or "")))
            return crumbs
        return []

    @cached_property
    def canonical_url(self) -> str | None:
        for node in self.tree.iter("link"):
            if (node.get("rel") or "").lower() == "canonical" and node.get("href"):
                return str(node.get("href")).strip()
        return self.meta.get("og:url")

    @cached_property
    def document_url(self) -> str:
        """The URL the article names itself by (canonical), else the one it was fetched from.
        The page's own URL passes the one URL parser like any URL from outside: one that
        parser refuses (``https://[`` in a mangled link) is no name at all."""
        canonical = self.canonical_url
        if canonical and canonical.startswith(("http://", "https://")):
            try:
                parse_web_url(canonical)
            except UrlError:
                return self.url
            return canonical
        return self.url

    def first(self, xpath: str) -> etree._Element | None:
        found = self.tree.xpath(xpath)
        return found[0] if found else None


def decode_html(data: bytes, header_charset: str | None = None) -> str:
    """Bytes to text the way browsers rank the evidence: BOM, HTTP header, <meta>, then UTF-8,
    and Windows-1252 when the bytes are not UTF-8 (what undeclared German pages usually are)."""
    for bom, encoding in _BOMS:  # UTF-32's marks first: UTF-16's are their prefixes
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    meta = _META_CHARSET.search(data[:4096])
    for candidate in (header_charset, meta.group(1).decode("ascii") if meta else None):
        if candidate and _known_codec(candidate):
            try:
                return data.decode(candidate, errors="replace")
            except (UnicodeError, ValueError, TypeError):
                continue  # a codec that fails whatever the bytes ("undefined", "idna"): no charset
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# Text codecs Python has that no web page is in: they fail on any bytes (undefined, idna),
# read backslashes as escapes, or are what browsers refuse for safety (UTF-7).
_NOT_WEB_CHARSETS = frozenset(
    {"undefined", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "utf-7"}
)


def _known_codec(name: str) -> bool:
    """A text encoding a page can be in: not a bytes-to-bytes codec such as hex, zlib or rot13,
    nor one of Python's text codecs that no web page uses."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return False
    return bool(getattr(info, "_is_text_encoding", True)) and info.name not in _NOT_WEB_CHARSETS


def parse_timestamp(value: object, zone: str = "UTC") -> datetime | None:
    """ISO 8601, or a CMS's "2023-04-28 18:11:01.0"; a missing offset means ``zone`` (the
    page's site's, see core/sitedefs.py).
    The page's own offset is kept; a time outside the window every outside time must lie in
    (``times.instant``: not before 1990, not past tomorrow) is no date at all."""
    if not isinstance(value, str) or not value.strip() or len(value) > times.MAX_TEXT:
        return None
    text = value.strip().replace(" ", "T", 1)
    text = re.sub(r"\.\d+(?=$|[+-]\d\d:?\d\d$|Z$)", "", text)  # drop fractions: we keep seconds
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(zone))
    # A news page's date is from this world: year 1 or 9999 is a placeholder, not a date (and
    # would not survive conversion to UTC in keys and manifests); one in the future is a guess.
    return parsed if times.instant(parsed) is not None else None


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _read_json_ld(tree: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        text = script.text or ""
        if len(text) > MAX_JSON_LD_CHARS:
            continue
        try:
            data = jsontext.loads(text)
        except (ValueError, RecursionError):
            continue  # a broken (or absurdly nested) block is the site's bug; others count
        for obj in data if isinstance(data, list) else [data]:
            if isinstance(obj, dict):
                graph = json_ld_list(obj["@graph"]) if "@graph" in obj else [obj]
                objects.extend(o for o in graph if isinstance(o, dict))
    return objects


def json_ld_list(value: object) -> list[Any]:
    """A JSON-LD value that should hold several: a list as it is, one object as a list of it,
    anything else (a number, a string: a site's bug) as none."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []
