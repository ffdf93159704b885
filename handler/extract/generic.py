"""trafilatura's reading of a page: the engine under every extraction and its independent check.

Site-neutral: nothing here knows a publisher. A site rule adds structure on top of this reading
(see ``handler.sites``); pages no rule knows are built from it alone (``generic_fields``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handler.core.models import ArticleFields, Block
from handler.core.packages import installed_version
from handler.extract import metadata
from handler.extract.page import Page, clean_text


@dataclass(frozen=True)
class Reading:
    """What trafilatura found on the page (its text as lines, its metadata as found)."""

    version: str
    title: str | None = None
    description: str | None = None
    lines: tuple[str, ...] = ()
    author: str | None = None
    date: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    language: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def read_page(page: Page) -> Reading:
    """trafilatura's ``bare_extraction`` on the tree already parsed (no second parse of the
    HTML; trafilatura cleans a copy, so the site rules' tree stays as it was)."""
    # Imported here, not at module level: it is the heaviest import (~120 ms) and idle polls,
    # which extract nothing, should not pay for it.
    import trafilatura

    found: Any = trafilatura.bare_extraction(
        page.tree,
        url=page.url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
    )
    if found is None:
        return Reading(version=installed_version("trafilatura"))
    data = found.as_dict() if hasattr(found, "as_dict") else dict(found)
    title = clean_text(data.get("title")) or None
    lines = [clean_text(line) for line in (data.get("text") or "").splitlines()]
    if lines and lines[0] == title:  # trafilatura keeps the page's h1 as the first line
        lines = lines[1:]
    return Reading(
        version=installed_version("trafilatura"),
        title=title,
        description=clean_text(data.get("description")) or None,
        lines=tuple(line for line in lines if line),
        author=clean_text(data.get("author")) or None,
        date=data.get("date") if isinstance(data.get("date"), str) else None,
        tags=tuple(
            k for tag in data.get("tags") or [] for k in map(clean_text, tag.split(",")) if k
        ),
        language=clean_text(data.get("language")) or None,
    )


# Less text than this is navigation trafilatura kept from a page without an article ("Startseite"
# from an empty app shell), not an article: the fallback finds no body.
MIN_ARTICLE_CHARS = 80


def generic_fields(page: Page, reading: Reading, profile: str = "generic") -> ArticleFields:
    """The document fields from trafilatura's reading plus the page's own metadata."""
    lines = reading.lines if len(reading.text) >= MIN_ARTICLE_CHARS else ()
    return ArticleFields(
        url=page.url,
        profile=profile,
        **metadata.page_fields(page),
        title=reading.title,
        teaser=reading.description,
        body=[Block(type="paragraph", text=line) for line in lines],
        # trafilatura joins several authors with "; "; JSON-LD persons when it found none.
        authors=[a for a in map(clean_text, (reading.author or "").split(";")) if a]
        or metadata.person_authors(page),
    )
