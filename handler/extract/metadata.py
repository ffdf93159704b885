"""Page-level metadata every extraction path reads the same way: JSON-LD first, then meta tags."""

from __future__ import annotations

from datetime import datetime

from handler.extract.page import Page, clean_text, parse_timestamp


def published_at(page: Page) -> datetime | None:
    ld = page.article_ld
    # VideoObject pages carry uploadDate instead of datePublished.
    return (
        parse_timestamp(ld.get("datePublished"))
        or parse_timestamp(ld.get("uploadDate"))
        or parse_timestamp(page.meta.get("date"))
    )


def modified_at(page: Page) -> datetime | None:
    return parse_timestamp(page.article_ld.get("dateModified")) or parse_timestamp(
        page.meta.get("last-modified")
    )


def keywords(page: Page) -> list[str]:
    raw = page.article_ld.get("keywords") or page.meta.get("news_keywords") or ""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return [k for k in (clean_text(str(i)) for i in items) if k]


def person_authors(page: Page) -> list[str]:
    """Names of JSON-LD ``author`` entries typed Person (organisations are publishers)."""
    raw = page.article_ld.get("author") or []
    entries = raw if isinstance(raw, list) else [raw]
    return [
        clean_text(e.get("name"))
        for e in entries
        if isinstance(e, dict) and e.get("@type") == "Person" and clean_text(e.get("name"))
    ]


def language(page: Page) -> str | None:
    return clean_text(page.tree.get("lang")) or clean_text(page.meta.get("language")) or None
