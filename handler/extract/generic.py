"""Generic extraction with trafilatura, for pages no site rule recognises."""

from __future__ import annotations

from typing import Any

from handler.extract import metadata
from handler.extract.page import Page, clean_text, parse_timestamp
from handler.models import ArticleFields, Block
from handler.sites.ntv import parse_byline, section_of
from handler.sites.ntv.parsing import detect_kind, is_paywalled


def extract_generic(page: Page) -> ArticleFields:
    """Body and metadata from trafilatura on the already parsed tree (it works on a copy)."""
    # Imported here: only pages no site rule knows need it, and it is the heaviest import
    # (~120 ms), so ordinary runs and idle polls never pay for it.
    import trafilatura

    result: Any = trafilatura.bare_extraction(
        page.tree,
        url=page.url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
    )
    if result is None:
        return ArticleFields(url=page.url, profile="generic")
    found = result.as_dict() if hasattr(result, "as_dict") else dict(result)
    authors = parse_byline(found.get("author"))[0] or metadata.person_authors(page)
    title = clean_text(found.get("title")) or None
    lines = [clean_text(line) for line in (found.get("text") or "").splitlines()]
    if lines and lines[0] == title:  # trafilatura keeps the page's h1 as the first line
        lines = lines[1:]
    return ArticleFields(
        url=page.url,
        profile="generic",
        title=title,
        teaser=clean_text(found.get("description")) or None,
        body=[Block(type="paragraph", text=line) for line in lines if line],
        authors=authors,
        section=section_of(page),
        language=metadata.language(page) or found.get("language") or None,
        # trafilatura's own date is a day without time: the page's metadata comes first.
        published_at=metadata.published_at(page) or parse_timestamp(found.get("date")),
        modified_at=metadata.modified_at(page),
        kind=detect_kind(page),
        paywalled=is_paywalled(page),
        keywords=[
            k for tag in found.get("tags") or [] for k in map(clean_text, tag.split(",")) if k
        ],
    )
