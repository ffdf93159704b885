"""ntv.de pages that are not articles, recognised by what they contain."""

from __future__ import annotations

from typing import ClassVar

from handler.extract import metadata
from handler.extract.page import Page

# A section front lists teasers; an article page lists a few dozen beside its text too, but it
# matches a layout first and is never asked. Without an article JSON-LD object this many
# teasers mean a listing page.
MIN_FRONT_TEASERS = 10


class AuthorPage:
    """An author's profile (``/autoren/...``): a portrait, a short biography, their articles."""

    reason: ClassVar[str] = "an author page"

    def matches(self, page: Page) -> bool:
        return bool(page.tree.xpath("//section[contains(concat(' ', @class, ' '), ' author ')]"))


class SectionFront:
    """A front page or section front: a list of teasers and no article of its own."""

    reason: ClassVar[str] = "a section front"

    def matches(self, page: Page) -> bool:
        if metadata.ld_types(page) & metadata.ARTICLE_TYPES:
            return False
        return len(page.tree.xpath("//article")) >= MIN_FRONT_TEASERS
