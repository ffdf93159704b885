"""ntv.de page layouts: one rule class per layout, each with its selectors as data.

A new ntv layout is a new class beside these, registered in ``handler.sites.RULES``; a rule is
chosen by ``matches`` (what the page contains), never by URL or date. Today's site is a Next.js
build whose CSS-module class names carry a per-build hash suffix (``storyline_paragraph_p__qSR5N``),
so its selectors match the stable prefix only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lxml import etree

from handler.core.models import ArticleFields, Block, Image
from handler.extract import metadata
from handler.extract.page import Page, clean_text, node_text
from handler.sites.ntv.parsing import (
    PUBLISHER,
    detect_kind,
    is_publisher,
    parse_byline,
    parse_date_line,
    parse_interview_credit,
    parse_source_line,
    parse_ticker_entry,
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
    blocks: str  # the body's block elements (p, h2/h3, lists, quotes, boxes) in document order
    byline: str
    source_line: str
    figures: str  # each figure of the article (hero and inline), in document order
    figure_caption: str  # relative to a figure
    figure_credit: str  # relative to a figure; some layouts put "(Foto: ...)" in the caption
    box: str = "self::*[false()]"  # relative to a block: it is a fact box
    box_title: str = "self::*[false()]"  # relative to a box
    # The page's own date line ("03.02.2025, 16:38 Uhr"): the publication time when the
    # structured data states none.
    date_line: str = "self::*[false()]"
    subheading_tags: frozenset[str] = frozenset({"h2", "h3"})
    # The old layout sets the lead as the first paragraph wholly in <strong>, <em> or <i>.
    teaser_in_emphasis: bool = False


_EMPHASIS = frozenset({"strong", "b", "em", "i"})
_BOLD = frozenset({"strong", "b"})
_LIST_TAGS = frozenset({"ul", "ol"})
MAX_INLINE_HEADING = 120  # a bold line longer than this is a bold paragraph, not a heading


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
        teaser_node = self._teaser(root)
        nodes = [node for node in root.xpath(sel.blocks) if node is not teaser_node]
        credit_node, interviewers = _interview_credit(nodes)
        body = [block for node in nodes if node is not credit_node
                for block in self._blocks(node, interview=bool(interviewers))]  # fmt: skip
        authors, dateline = parse_byline(_text_of(_first(root, sel.byline)))
        line = parse_date_line(_text_of(_first(root, sel.date_line)), page.zone)
        authors = authors or interviewers or metadata.person_authors(page)
        ld = page.article_ld
        title = _text_of(_first(root, sel.headline)) or clean_text(page.meta.get("og:title"))
        seo_title = clean_text(ld.get("headline"))
        source_line = _text_of(_first(root, sel.source_line))
        agencies, editors = parse_source_line(source_line)
        return ArticleFields(
            url=page.url,
            profile=self.profile,
            **{
                **metadata.page_fields(
                    page, line.time if line else None, line.day if line else None
                ),
                "publisher": PUBLISHER,
                "kind": detect_kind(page, sum(b.type == "liveticker_entry" for b in body)),
            },
            kicker=_text_of(_first(root, sel.kicker))
            or clean_text(page.meta.get("ntv:kicker"))
            or None,
            title=title or None,
            seo_title=seo_title if seo_title and seo_title != title else None,
            teaser=_text_of(teaser_node),
            body=body,
            authors=[name for name in authors if not is_publisher(name)],
            dateline=dateline,
            source_line=source_line,
            agencies=agencies,
            editors=editors,
            images=self._images(root),
        )

    def _teaser(self, root: etree._Element) -> etree._Element | None:
        node = _first(root, self.selectors.teaser)
        if node is not None and self.selectors.teaser_in_emphasis and not _set_in(node, _EMPHASIS):
            return None  # the first paragraph is ordinary text: there is no lead
        return node

    def _blocks(self, node: etree._Element, interview: bool) -> list[Block]:
        """The typed blocks one body element holds (a list holds several; furniture none)."""
        sel = self.selectors
        if node.xpath(sel.box):
            return _box(node, sel.box_title)
        if node.tag in _LIST_TAGS:
            items = (node_text(item) for item in node.iterchildren("li"))
            return [Block(type="list_item", text=text) for text in items if text]
        text = node_text(node)
        if not text:
            return []
        if node.tag == "blockquote":
            return [Block(type="quote", text=text)]
        heading = node.tag in sel.subheading_tags or _set_in(node, _BOLD)
        entry = parse_ticker_entry(text) if heading else None
        if entry is not None:
            return [Block(type="liveticker_entry", text=entry[1], time=entry[0])]
        if node.tag in sel.subheading_tags:
            return [Block(type="subheading", text=text)]
        if heading and interview:  # interviews set the questions in bold
            return [Block(type="question", text=text)]
        if heading and len(text) <= MAX_INLINE_HEADING and not text.endswith((".", ":")):
            return [Block(type="subheading", text=text)]  # a bold line between paragraphs
        return [Block(type="paragraph", text=text)]

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
        date_line=f".//*[{_has_class('article-detail-head_infos')}]/span",
        source_line=f".//p[{_has_class('article-detail-footer_source__')}]",
        figures=f".//figure[{_has_class('widget-picture-inline_picture__')}]",
        figure_caption="figcaption",
        figure_credit=f".//*[{_has_class('widget-picture-inline_credit__')}]",
    )


_LEGACY_TEXT = f"div[{_has_class('article__text')}]"
_LEGACY_BOX = f"div[{_has_class('article__aside--text')}]"


class NtvLegacy(NtvLayout):
    """The previous site (``article__*`` classes, URLs ``...-article25136526.html``): ten
    years of articles, and every capture made before the move to Next.js."""

    profile = "ntv-legacy"
    _text = _LEGACY_TEXT
    _box = _LEGACY_BOX
    selectors = LayoutSelectors(
        marker=f"//article//{_text}",
        root=f"//article[.//{_text}]",
        kicker=f".//*[{_has_class('article__kicker')}]",
        headline=f".//*[{_has_class('article__headline')}]",
        teaser=f"(.//{_text}/p)[1]",
        blocks=" | ".join(
            f".//{_LEGACY_TEXT}/{child}"
            for child in ("p", "h2", "h3", "ul", "ol", "blockquote", _LEGACY_BOX)
        ),
        byline=f".//*[{_has_class('article__author')}]",
        date_line=f".//*[{_has_class('article__date')}]",
        source_line=f".//*[{_has_class('article__source')}]",
        figures=f".//*[{_has_class('article__media')} or {_has_class('article__aside--img')}]"
        "//figure",
        figure_caption=f".//*[{_has_class('article__caption')} or "
        f"{_has_class('article__aside__caption')}]",
        figure_credit=f".//*[{_has_class('article__credit')} or "
        f"{_has_class('article__aside__copy')}]",
        box=f"self::{_box}",
        box_title=f".//*[{_has_class('article__aside__title')}]",
        teaser_in_emphasis=True,
    )


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


def _set_in(node: etree._Element, tags: frozenset[str]) -> bool:
    """True when all of the element's text sits inside child elements of ``tags`` (a lead in
    <strong>, an interview question in <b>), not in running text around them."""
    if clean_text(node.text) or not len(node):
        return False
    return all(
        (child.tag in tags or child.tag == "br") and not clean_text(child.tail) for child in node
    ) and any(child.tag in tags and node_text(child) for child in node)


def _interview_credit(nodes: list[etree._Element]) -> tuple[etree._Element | None, list[str]]:
    """The "Mit X sprach Y" line (an emphasised paragraph) and its interviewers, if any."""
    for node in reversed(nodes):
        if node.tag == "p" and _set_in(node, _EMPHASIS):
            interviewers = parse_interview_credit(node_text(node))
            if interviewers:
                return node, interviewers
    return None, []


def _box(node: etree._Element, title_xpath: str) -> list[Block]:
    """A fact box: its title and its paragraphs as one block."""
    title_node = _first(node, title_xpath)
    paragraphs = [node_text(p) for p in node.iter("p")]
    text = "\n\n".join(p for p in paragraphs if p)
    if not text:
        return []
    return [Block(type="box", text=text, title=_text_of(title_node))]
