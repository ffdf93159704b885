"""What a site is to the extraction: its layouts, the pages that are not articles, its name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

from handler.core.models import ArticleFields
from handler.extract.page import Page


class LayoutRule(Protocol):
    """One layout of a site: recognises its pages and extracts their structure."""

    profile: ClassVar[str]

    def matches(self, page: Page) -> bool: ...

    def extract(self, page: Page) -> ArticleFields: ...


class PageRecogniser(Protocol):
    """A kind of page that is not an article (an author profile, a section front)."""

    reason: ClassVar[str]

    def matches(self, page: Page) -> bool: ...


@dataclass(frozen=True)
class Site:
    """A publisher's rules. ``layouts``: newest first (what its feed links to today).
    ``not_articles``: consulted only when no layout matched, so an article is never refused.
    ``conventions``: applied to trafilatura's fields when no layout matched (a redesign)."""

    name: str
    publisher: str
    layouts: tuple[LayoutRule, ...]
    not_articles: tuple[PageRecogniser, ...]
    conventions: Callable[[ArticleFields, Page], ArticleFields]

    def recognise(self, page: Page) -> tuple[LayoutRule | None, str | None]:
        """(the layout rule that matches, why the page is not an article): at most one is set.
        The non-article recognisers are asked only when no layout matched."""
        layout = next((rule for rule in self.layouts if rule.matches(page)), None)
        if layout is not None:
            return layout, None
        return None, next((kind.reason for kind in self.not_articles if kind.matches(page)), None)
