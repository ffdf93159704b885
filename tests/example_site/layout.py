"""The Example Times' one layout: ``<main class="story">`` with an ``h1``, a ``p.lede`` and
``p.graf`` paragraphs; its byline in ``span.author``."""

from __future__ import annotations

from typing import ClassVar

from handler.core.models import ArticleFields, Block
from handler.extract import metadata
from handler.extract.page import Page, node_text


class ExampleLayout:
    profile: ClassVar[str] = "example-2026"

    def matches(self, page: Page) -> bool:
        return page.first('//main[@class="story"]') is not None

    def extract(self, page: Page) -> ArticleFields:
        title = page.first('//main[@class="story"]/h1')
        lede = page.first('//main[@class="story"]/p[@class="lede"]')
        grafs = page.tree.xpath('//main[@class="story"]/p[@class="graf"]')
        authors = [node_text(n) for n in page.tree.xpath('//span[@class="author"]')]
        return ArticleFields(
            url=page.url,
            profile=self.profile,
            **{**metadata.page_fields(page), "publisher": "The Example Times"},
            title=node_text(title) if title is not None else None,
            teaser=node_text(lede) if lede is not None else None,
            body=[Block(type="paragraph", text=node_text(g)) for g in grafs if node_text(g)],
            authors=[a for a in authors if a],
        )
