"""One article: HTML -> the normalised document. No network, no store.

The page is parsed once; the site rule that recognises the layout extracts the structure, and
pages no rule knows (or where the rule finds no body) go to trafilatura and are marked
``extraction.status = "fallback"`` with a warning saying why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from handler.document import build_document
from handler.errors import ExtractionError
from handler.extract.generic import extract_generic
from handler.extract.page import Page
from handler.models import ArticleFields, FeedItem
from handler.sites import select_rule

# Bounds on one page, far above real ones (the largest of the real ntv pages in the corpus has
# about 6,400 tags and 28,000 characters of text): a page within the byte cap can still hold
# 600,000 empty paragraphs, which would cost gigabytes as a tree and as a document.
MAX_TAGS = 50_000
MAX_TEXT_CHARS = 400_000


def extract_article(
    html: str | bytes,
    url: str,
    *,
    fetched_at: datetime | None = None,
    feed_url: str | None = None,
    feed_item: FeedItem | None = None,
    capture: dict[str, Any] | None = None,
    charset: str | None = None,
    profile: str = "ntv",
) -> dict[str, Any]:
    """The normalised document for one page; ExtractionError when it holds no article text.

    ``charset`` is the one the HTTP response declared, if any (see ``page.decode_html``);
    ``profile`` is the feed's site profile (``generic`` skips the site rules).
    """
    tags = html.count(b"<") if isinstance(html, bytes) else html.count("<")
    if tags > MAX_TAGS:  # before parsing: the tree, not the bytes, is what takes the memory
        raise ExtractionError(f"{url}: page too large to parse ({tags} tags, cap {MAX_TAGS})")
    page = Page.parse(html, url, charset)
    fields, status = extract_fields(page, use_site_rules=profile != "generic")
    if not fields.body:
        raise ExtractionError(f"{url}: no article text found (profile {fields.profile})")
    if len(fields.text) > MAX_TEXT_CHARS:
        raise ExtractionError(
            f"{url}: article text too long ({len(fields.text)} characters, cap {MAX_TEXT_CHARS})"
        )
    fields.url = page.document_url
    return build_document(
        fields,
        status=status,
        fetched_at=fetched_at or datetime.now(UTC),
        feed_url=feed_url,
        feed_item=feed_item,
        capture=capture,
    )


def extract_fields(page: Page, use_site_rules: bool = True) -> tuple[ArticleFields, str]:
    """(fields, status): the matching site rule's result, else trafilatura's ("fallback")."""
    if not use_site_rules:
        return extract_generic(page), "ok"
    rule = select_rule(page)
    if rule is not None:
        fields = rule.extract(page)
        if fields.body:
            return fields, "ok"
        reason = f"site rule {rule.profile} matched but found no body; used trafilatura"
    else:
        reason = "no site rule matched the page layout; used trafilatura"
    fields = extract_generic(page)
    fields.warnings.append(reason)
    return fields, "fallback"


__all__ = ["extract_article", "extract_fields"]
