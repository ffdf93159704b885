"""Site rules: per-publisher, per-layout extraction, chosen by what the page contains."""

from __future__ import annotations

from typing import ClassVar, Protocol

from handler.extract.page import Page
from handler.models import ArticleFields
from handler.sites.ntv import Ntv2025, NtvLegacy


class SiteRule(Protocol):
    profile: ClassVar[str]

    def matches(self, page: Page) -> bool: ...

    def extract(self, page: Page) -> ArticleFields: ...


# Newest layout first: it is what the live feed links to.
RULES: tuple[SiteRule, ...] = (Ntv2025(), NtvLegacy())


def select_rule(page: Page) -> SiteRule | None:
    return next((rule for rule in RULES if rule.matches(page)), None)
