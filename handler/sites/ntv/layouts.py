"""ntv.de page layouts: one rule class per layout, each with its selectors as data.

A new ntv layout is a new class beside these, registered in ``handler.sites.RULES``; a rule is
chosen by ``matches`` (what the page contains), never by URL or date. Today's site is a Next.js
build whose CSS-module class names carry a per-build hash suffix (``storyline_paragraph_p__qSR5N``),
so its selectors match the stable prefix only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from lxml import etree

from handler.extract import metadata
from handler.extract.page import Page, clean_text, node_text
from handler.models import ArticleFields, Block, BlockType, Image
from handler.sites.ntv.parsing import (
    detect_kind,
    is_paywalled,
    parse_byline,
    parse_source_line,
    split_credit,
    strip_credit_wrapper,
)


def _has_class(prefix: str) -> str:
    """XPath predicate: some class token starts with ``prefix`` (hash suffixes vary per build)."""
    return f"contains(concat(' ', normalize-space(@class)), ' {prefix}')"


@dataclass(frozen=True)
class LayoutSelectors:
    """XPaths of one layout; all but ``marker`` are relative to the article root."""

    marker: str  # present only on article pages of this layout
    root: str
    kicker: str
    headline: str
    teaser: str
    blocks: str  # paragraphs and subheadings, in document order
    byline: str
    source_line: str
    figures: str  # each figure of the article (hero and inline), in document order
    figure_caption: str  # relative to a figure
    figure_credit: str  # relative to a figure; some layouts put "(Foto: ...)" in the caption
    subheading_tags: frozenset[str] = frozenset({"h2", "h3"})


class NtvLayout:
    """What every ntv layout extracts the same way; subclasses supply selectors only."""

    profile: ClassVar[str]
    selectors: ClassVar[LayoutSelectors]

    def matches(self, page: Page) -> bool:
        return page.first(self.selectors.marker) is not None

    def extract(self, page: Page) -> ArticleFields:
        sel = self.selectors
        root = page.first(sel.root)
        if root is None:  # marker present but no article root: treat as not matching
            return ArticleFields(url=page.url, profile=self.profile, warnings=["no article root"])
        teaser_node = _first(root, sel.teaser)
        authors, dateline = parse_byline(_text_of(_first(root, sel.byline)))
        authors = authors or metadata.person_authors(page)
        ld = page.article_ld
        title = _text_of(_first(root, sel.headline)) or clean_text(page.meta.get("og:title"))
        seo_title = clean_text(ld.get("headline"))
        source_line = _text_of(_first(root, sel.source_line))
        agencies, editors = parse_source_line(source_line)
        return ArticleFields(
            url=page.url,
            profile=self.profile,
            kicker=_text_of(_first(root, sel.kicker))
            or clean_text(page.meta.get("ntv:kicker"))
            or None,
            title=title or None,
            seo_title=seo_title if seo_title and seo_title != title else None,
            teaser=_text_of(teaser_node),
            body=self._blocks(root, skip=teaser_node),
            authors=authors,
            dateline=dateline,
            section=section_of(page),
            language=metadata.language(page),
            published_at=metadata.published_at(page),
            modified_at=metadata.modified_at(page),
            keywords=metadata.keywords(page),
            source_line=source_line,
            agencies=agencies,
            editors=editors,
            images=self._images(root),
            kind=detect_kind(page),
            paywalled=is_paywalled(page),
        )

    def _blocks(self, root: etree._Element, skip: etree._Element | None) -> list[Block]:
        blocks = []
        for node in root.xpath(self.selectors.blocks):
            text = node_text(node)
            if node is skip or not text:
                continue
            kind: BlockType = (
                "subheading" if node.tag in self.selectors.subheading_tags else "paragraph"
            )
            blocks.append(Block(type=kind, text=text))
        return blocks

    def _images(self, root: etree._Element) -> list[Image]:
        images = []
        for figure in root.xpath(self.selectors.figures):
            url = _image_url(figure)
            if not url:
                continue
            caption, credit = split_credit(_text_of(_first(figure, self.selectors.figure_caption)))
            credit_node = _first(figure, self.selectors.figure_credit)
            if credit_node is not None:
                credit = strip_credit_wrapper(node_text(credit_node)) or credit
            images.append(Image(url=url, caption=caption, credit=credit))
        return images


class Ntv2025(NtvLayout):
    """The current Next.js site (article URLs ``...-id30134161.html``)."""

    profile = "ntv-2025"
    selectors = LayoutSelectors(
        marker=f"//article[{_has_class('article-index_article__')}]//*[{_has_class('storyline_')}]",
        root=f"//article[{_has_class('article-index_article__')}]",
        kicker=f".//h2[{_has_class('article-detail-head_headlines__')}]"
        f"/span[not({_has_class('article-detail-head_headline__')})]",
        headline=f".//*[{_has_class('article-detail-head_headline__')}]",
        teaser=f".//p[{_has_class('storyline_lead_text_')}]",
        blocks=f".//p[{_has_class('storyline_paragraph_')}]"
        f" | .//h2[{_has_class('storyline_subheadline_')}]"
        f" | .//h3[{_has_class('storyline_subheadline_')}]",
        byline=f".//*[{_has_class('article-detail-head_author')}]",
        source_line=f".//p[{_has_class('article-detail-footer_source__')}]",
        figures=f".//figure[{_has_class('widget-picture-inline_picture__')}]",
        figure_caption="figcaption",
        figure_credit=f".//*[{_has_class('widget-picture-inline_credit__')}]",
    )


class NtvLegacy(NtvLayout):
    """The previous site (``article__*`` classes, URLs ``...-article25136526.html``)."""

    profile = "ntv-legacy"
    _text = f"div[{_has_class('article__text')}]"
    selectors = LayoutSelectors(
        marker=f"//article//{_text}",
        root=f"//article[.//{_text}]",
        kicker=f".//*[{_has_class('article__kicker')}]",
        headline=f".//*[{_has_class('article__headline')}]",
        # The lead is the first paragraph when it is set entirely in italics.
        teaser=f"(.//{_text}/p)[1][i and not(normalize-space(text()))]",
        blocks=f".//{_text}/p | .//{_text}/h2 | .//{_text}/h3",
        byline=f".//*[{_has_class('article__author')}]",
        source_line=f".//*[{_has_class('article__source')}]",
        figures=f".//*[{_has_class('article__media')} or {_has_class('article__aside--img')}]"
        "//figure",
        figure_caption=f".//*[{_has_class('article__caption')} or "
        f"{_has_class('article__aside__caption')}]",
        figure_credit=f".//*[{_has_class('article__credit')} or "
        f"{_has_class('article__aside__copy')}]",
    )


def section_of(page: Page) -> str | None:
    """Top-level section as the site names it: breadcrumb level 2, else the URL's first folder."""
    crumbs = page.breadcrumbs
    if len(crumbs) >= 3:  # home, section, ..., the article itself
        return crumbs[1][0] or None
    folder = urlsplit(page.document_url).path.strip("/").split("/")[0]
    return folder.capitalize() if folder and "." not in folder else None


def _image_url(figure: etree._Element) -> str | None:
    # Lazy-loaded images keep the real address in data-src; <noscript> holds a plain copy.
    for img in figure.iter("img"):
        url = img.get("src") or img.get("data-src")
        if url and not url.startswith("data:"):
            return str(url).strip()
    return None


def _first(root: etree._Element, xpath: str) -> etree._Element | None:
    found = root.xpath(xpath)
    return found[0] if found else None


def _text_of(node: etree._Element | None) -> str | None:
    return (node_text(node) or None) if node is not None else None
