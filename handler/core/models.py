"""Typed values that cross module boundaries: feed items and extracted article fields."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from handler.core import sitedefs
from handler.core.errors import UrlError
from handler.core.times import instant
from handler.core.urls import parse_web_url


def canonical_url(url: str) -> str:
    """The URL without fragment, query or default-port noise; host lower-cased."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", "", ""))


def url_id(url: str) -> str:
    """The id of a page that is no registered site's article: a hash of its canonical URL."""
    return "url-" + hashlib.sha256(canonical_url(url).encode()).hexdigest()[:20]


def article_id(url: str) -> str:
    """Stable archive id: ``<site>-<number>`` when a registered site's id rule reads the URL's
    path (core/sitedefs.py), else a hash of the URL."""
    canonical = canonical_url(url)
    path = urlsplit(canonical).path
    for known in sitedefs.sites():
        number = known.number_of(path)
        if number is not None:
            return f"{known.name}-{number}"
    return url_id(canonical)


_ITEM_FIELDS = frozenset(
    {"id", "link", "title", "kicker", "headline", "teaser", "category", "published"}
)


@dataclass(frozen=True)
class FeedItem:
    """One entry of the feed, as the archive needs it."""

    id: str
    link: str
    title: str  # as in the feed: "Kicker: Headline"
    kicker: str | None
    headline: str
    teaser: str | None
    category: str | None
    published: datetime | None

    def fingerprint(self) -> str:
        """What the feed says about the item (link, title, teaser, category, date); when it
        changes, the article may have changed and is looked at again at the next run."""
        said = [self.link, self.title, self.teaser, self.category,
                self.published.isoformat() if self.published else None]  # fmt: skip
        return hashlib.sha256(json.dumps(said, ensure_ascii=False).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the run state and fan-out messages carry items this way)."""
        return {**asdict(self), "published": self.published.isoformat() if self.published else None}

    @classmethod
    def for_url(cls, url: str) -> FeedItem:
        """A URL reached without a feed (a replay, an import) as an item of its own."""
        return cls(id=article_id(url), link=url, title="", kicker=None, headline="",
                   teaser=None, category=None, published=None)  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FeedItem:
        """The item ``to_json`` wrote (the archive's own state)."""
        return cls(**{**raw, "published": instant(raw.get("published"))})

    @classmethod
    def from_untrusted(cls, raw: Any) -> FeedItem:
        """An item from outside (a queue message), checked field by field: the link must be an
        unambiguous URL and the id the one that link gives. ValueError says what is wrong."""
        if not isinstance(raw, dict) or set(raw) != _ITEM_FIELDS:
            raise ValueError(f"a feed item needs exactly the fields {sorted(_ITEM_FIELDS)}")
        for name in ("id", "link", "title", "headline"):
            if not isinstance(raw[name], str):
                raise ValueError(f"item {name} must be a string")
        for name in ("kicker", "teaser", "category", "published"):
            if raw[name] is not None and not isinstance(raw[name], str):
                raise ValueError(f"item {name} must be a string or null")
        try:
            parse_web_url(raw["link"])
        except UrlError as exc:
            raise ValueError(f"item link: {exc}") from exc
        if article_id(raw["link"]) != raw["id"]:
            raise ValueError(f"item id {raw['id']!r} is not the one its link gives")
        return cls.from_json(raw)


# paragraph / subheading: running text. box: a fact box inside the text (``title`` holds its
# heading). list_item: one item of a list. quote: a block quotation. question: an interviewer's
# question. liveticker_entry: the heading of one liveticker entry (``time`` as printed, "14:32");
# its text follows as paragraphs.
BlockType = Literal[
    "paragraph", "subheading", "box", "list_item", "quote", "question", "liveticker_entry"
]


@dataclass(frozen=True)
class Block:
    """One block of the article body, in reading order."""

    type: BlockType
    text: str
    title: str | None = None  # box only
    time: str | None = None  # liveticker_entry only

    def to_json(self) -> dict[str, str]:
        """The stored form: optional fields only when set (schema 1.0 readers see no change on
        paragraphs and subheadings)."""
        stored = {"type": self.type, "text": self.text}
        if self.title is not None:
            stored["title"] = self.title
        if self.time is not None:
            stored["time"] = self.time
        return stored


@dataclass(frozen=True)
class Baseline:
    """How far the site rule's text and trafilatura's independent reading of the page agree.

    ``baseline_in_ours``: the share of trafilatura's tokens found in ours (low: the rule lost
    text trafilatura sees). ``ours_in_baseline``: the share of ours found in trafilatura's (low:
    the rule took text trafilatura calls boilerplate, or trafilatura missed part of it).
    """

    library: str
    version: str
    baseline_in_ours: float
    ours_in_baseline: float
    agrees: bool = True  # both figures at or above the calibrated thresholds
    missing: tuple[str, ...] = ()  # trafilatura's lines the rule's text lacks, for the warning

    def to_json(self) -> dict[str, object]:
        return {
            "library": self.library,
            "version": self.version,
            "recall_baseline_in_ours": self.baseline_in_ours,
            "recall_ours_in_baseline": self.ours_in_baseline,
            "agrees": self.agrees,
        }


@dataclass(frozen=True)
class Image:
    """A picture of the article: its address, caption and credit, each as published."""

    url: str
    caption: str | None = None
    credit: str | None = None


@dataclass
class ArticleFields:
    """What extraction found on one page, before it becomes the stored document.

    The fields between ``profile`` and ``section`` are the article's content: the stored
    document holds each under its own name, in this order (``text`` is added after ``body``),
    and a change to any of them makes a new version (see archive/document.py). A new content
    field is declared among them, in the schema and in the golden files, and nowhere else. The
    fields from ``section`` on say where the article came from and how it was read.
    """

    url: str
    profile: str  # which rule produced it (a site's layout, e.g. "ntv-2025"; or "generic")
    # --- content
    language: str | None = None
    kicker: str | None = None
    title: str | None = None
    seo_title: str | None = None
    teaser: str | None = None
    body: list[Block] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    dateline: str | None = None
    published_at: datetime | None = None
    modified_at: datetime | None = None
    keywords: list[str] = field(default_factory=list)
    source_line: str | None = None
    agencies: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    kind: str = "article"
    paywalled: bool = False
    # --- provenance: where it came from, how it was read
    section: str | None = None
    publisher: str | None = None  # the site rule's name for the publisher, else the page's
    # Where ``published_at`` was read: "structured data" (JSON-LD or meta tags) or "page" (its
    # own date line or time element); None when the page states no time (it is then None).
    published_at_source: str | None = None
    # Without a stated time, the publication day where one is known (YYYY-MM-DD): the date line
    # gives a day but no time ("page"), or trafilatura's htmldate guessed it from the URL or
    # other dates on the page ("estimate"). Never a timestamp, never the fetch time.
    published_day: str | None = None
    published_day_source: str | None = None
    baseline: Baseline | None = None
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def content_names(cls) -> tuple[str, ...]:
        """The content fields, in stored order (see the class doc)."""
        names = [f.name for f in fields(cls)]
        return tuple(names[names.index("profile") + 1 : names.index("section")])

    @property
    def text(self) -> str:
        """The body as plain text: blocks in order, a box's title before its text."""
        return "\n\n".join(
            f"{block.title}\n\n{block.text}" if block.title else block.text for block in self.body
        )
