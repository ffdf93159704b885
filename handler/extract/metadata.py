"""Page-level metadata every extraction path reads the same way: JSON-LD first, then meta tags."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from handler.extract.page import Page, clean_text, parse_timestamp


def page_fields(
    page: Page, line_time: datetime | None = None, line_day: date | None = None
) -> dict[str, Any]:
    """The fields every extraction path reads from the page's own metadata, the same way: a
    site rule and trafilatura's fallback both start from these (a rule overrides what it
    knows better, e.g. the kind of an ntv liveticker), so each default is filled once.
    ``line_time`` / ``line_day``: what the site's own date line states, where a rule read one
    (see ``publication``)."""
    return {
        "section": section(page),
        "language": language(page),
        **publication(page, line_time, line_day),
        "modified_at": modified_at(page),
        "keywords": keywords(page),
        "kind": kind(page),
        "paywalled": paywalled(page),
        "publisher": publisher(page),
    }


def publication(
    page: Page, line_time: datetime | None = None, line_day: date | None = None
) -> dict[str, Any]:
    """When the article was published, as the page states it, and where that was read: its
    structured data, else its date line's time (a site rule's reading) or the article's time
    element; without a stated time, the date line's day alone (never made a midnight)."""
    stated = published_at(page)
    if stated is not None:
        return {"published_at": stated, "published_at_source": "structured data"}
    stated = line_time or time_element(page)
    if stated is not None:
        return {"published_at": stated, "published_at_source": "page"}
    return {"published_at": None, "published_at_source": None,
            "published_day": line_day.isoformat() if line_day else None,
            "published_day_source": "page" if line_day else None}  # fmt: skip


# Meta tags that state a publication time, in the order they are trusted.
PUBLISHED_META = ("date", "article:published_time", "og:article:published_time", "pubdate")


def published_at(page: Page) -> datetime | None:
    """The publication time the page's structured data states: JSON-LD, then meta tags
    (``content=``, else ``value=``, see ``Page.meta``)."""
    ld = page.article_ld
    # VideoObject pages carry uploadDate instead of datePublished.
    stated = [ld.get("datePublished"), ld.get("uploadDate"),
              *(page.meta.get(name) for name in PUBLISHED_META)]  # fmt: skip
    return next((t for t in (parse_timestamp(v, page.zone) for v in stated) if t), None)


def time_element(page: Page, within: str = "//article") -> datetime | None:
    """The first ``<time datetime=...>`` inside the article (a date line's machine form), in
    the page's zone when it has no offset; None when there is none or it is no full time."""
    for node in page.tree.xpath(f"{within}//time[@datetime]")[:1]:
        value = str(node.get("datetime"))
        return parse_timestamp(value, page.zone) if "T" in value or " " in value else None
    return None


def modified_at(page: Page) -> datetime | None:
    return parse_timestamp(page.article_ld.get("dateModified"), page.zone) or parse_timestamp(
        page.meta.get("last-modified"), page.zone
    )


def keywords(page: Page) -> list[str]:
    raw = page.article_ld.get("keywords") or page.meta.get("news_keywords") or ""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return [k for k in (clean_text(str(i)) for i in items) if k]


def person_authors(page: Page) -> list[str]:
    """Names of JSON-LD ``author`` entries typed Person (organisations are publishers)."""
    raw = page.article_ld.get("author") or []
    entries = raw if isinstance(raw, list) else [raw]
    publishers = publisher_names(page)  # sites type their newsroom as a Person, too
    names = (clean_text(e.get("name")) for e in entries
             if isinstance(e, dict) and e.get("@type") == "Person")  # fmt: skip
    return [name for name in names if name and name.lower() not in publishers]


def language(page: Page) -> str | None:
    return clean_text(page.tree.get("lang")) or clean_text(page.meta.get("language")) or None


def section(page: Page) -> str | None:
    """Top-level section as the site names it: breadcrumb level 2, else (no breadcrumb, or a
    nameless one) the URL's first folder."""
    crumbs = page.breadcrumbs
    if len(crumbs) >= 3 and crumbs[1][0]:  # home, section, ..., the article itself
        return crumbs[1][0]
    folder = urlsplit(page.document_url).path.strip("/").split("/")[0]
    return folder.capitalize() if folder and "." not in folder else None


# schema.org types that say what kind of page it is; an article type (or none) is "article".
KIND_TYPES: dict[str, frozenset[str]] = {
    "liveticker": frozenset({"LiveBlogPosting"}),
    "video": frozenset({"VideoObject"}),
    "audio": frozenset({"AudioObject", "PodcastEpisode"}),
    "gallery": frozenset({"ImageGallery"}),
}
ARTICLE_TYPES = frozenset({"NewsArticle", "Article", "ReportageNewsArticle", "OpinionNewsArticle"})


def ld_types(page: Page) -> set[str]:
    types = page.article_ld.get("@type") or []
    return {t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)}


def kind(page: Page) -> str:
    """article / liveticker / video / audio / gallery / other, from the JSON-LD type."""
    types = ld_types(page)
    for name, kind_types in KIND_TYPES.items():
        if types & kind_types:
            return name
    return "article" if types & ARTICLE_TYPES or not types else "other"


def paywalled(page: Page) -> bool:
    """schema.org's ``isAccessibleForFree: false`` is how a page declares a paywall."""
    return str(page.article_ld.get("isAccessibleForFree")).strip().lower() == "false"


def publisher(page: Page) -> str | None:
    """The publisher the page names: JSON-LD ``publisher.name``, else ``og:site_name``."""
    named = page.article_ld.get("publisher")
    name = clean_text(named.get("name")) if isinstance(named, dict) else ""
    return name or clean_text(page.meta.get("og:site_name")) or None


def publisher_names(page: Page) -> set[str]:
    """Every way the page names its publisher (lower-cased), so none becomes an author."""
    named = page.article_ld.get("publisher")
    found = {
        clean_text(named.get("name")) if isinstance(named, dict) else "",
        clean_text(page.meta.get("og:site_name")),
        clean_text(page.meta.get("copyright")),
    }
    return {name.lower() for name in found if name}
