"""One article: HTML -> the normalised document. No network, no store.

The page is parsed once. trafilatura reads every page (``extract.generic``); the site's layout
rule, when one recognises the page, gives the structure and trafilatura fills what it lacks and
checks it (``extraction.baseline``). Pages no layout knows are built from trafilatura's reading
and marked ``extraction.status = "fallback"`` with a warning saying why; pages the site knows
are not articles (author pages, section fronts) raise NotAnArticleError.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from handler.archive.document import Document, build_document
from handler.core import sitedefs
from handler.core.capture import CaptureRecord
from handler.core.config import DEFAULT_PROFILE
from handler.core.errors import ExtractionError, NotAnArticleError
from handler.core.models import ArticleFields, FeedItem
from handler.extract.agreement import compare, disagreement
from handler.extract.generic import Reading, generic_fields, read_page
from handler.extract.page import Page, parse_timestamp
from handler.sites import Site, site_for

# Bounds on one page, far above real ones (the largest of the real ntv pages in the corpus has
# about 6,400 tags and 28,000 characters of text): a page within the byte cap can still hold
# 600,000 empty paragraphs, which would cost gigabytes as a tree and as a document.
MAX_TAGS = 50_000
MAX_TEXT_CHARS = 400_000


# One extraction at a time per process. lxml trees under trafilatura crash the interpreter
# (SIGSEGV/SIGABRT, no traceback) when several threads extract at once: reproduced here by
# bench/runs.py at concurrency 8 (2 runs in 5 died), and reported upstream as
# adbar/trafilatura#840 and #925. Extraction is CPU-bound Python that holds the GIL anyway, so
# the lock costs next to nothing; fetching and storing stay concurrent. The whole extraction is
# inside it, parse to teardown, so no tree is built or freed beside another thread's.
_EXTRACTION_LOCK = threading.Lock()


@dataclass(frozen=True)
class Extraction:
    """What reading one page gives: its fields, and how they were read ("ok": the site's
    layout rule, checked against trafilatura; "fallback": trafilatura under the site's
    conventions). The document is built from it by archive/document.py's build_document."""

    fields: ArticleFields
    status: str


def extract_page(
    html: str | bytes, url: str, *, charset: str | None = None, profile: str = DEFAULT_PROFILE
) -> Extraction:
    """The fields of one page; NotAnArticleError for a page that is not an article,
    ExtractionError when it holds no article text.

    ``charset`` is the one the HTTP response declared, if any (see ``page.decode_html``);
    ``profile`` is the feed's site profile (``generic``: trafilatura alone). Thread-safe:
    callers in a thread pool are served one at a time (see ``_EXTRACTION_LOCK``).
    """
    with _EXTRACTION_LOCK:
        return _extract(html, url, charset, profile)


def extract_document(
    html: str | bytes,
    url: str,
    *,
    fetched_at: datetime | None = None,
    feed_url: str | None = None,
    feed_item: FeedItem | None = None,
    capture: CaptureRecord | None = None,
    charset: str | None = None,
    profile: str = DEFAULT_PROFILE,
) -> Document:
    """One saved page's document in one call (``ntv-archive extract``, tests, benchmarks):
    ``extract_page`` then ``build_document``; the run's own paths call the two apart."""
    extraction = extract_page(html, url, charset=charset, profile=profile)
    return build_document(extraction.fields, status=extraction.status,
                          fetched_at=fetched_at or datetime.now(UTC), feed_url=feed_url,
                          feed_item=feed_item, capture=capture)  # fmt: skip


def extract_article(html: str | bytes, url: str, **options: Any) -> dict[str, Any]:
    """The stored JSON of ``extract_document``'s document (same options): what
    ``ntv-archive extract`` prints and what readers get."""
    return extract_document(html, url, **options).to_json()


def _extract(html: str | bytes, url: str, charset: str | None, profile: str) -> Extraction:
    tags = html.count(b"<") if isinstance(html, bytes) else html.count("<")
    if tags > MAX_TAGS:  # before parsing: the tree, not the bytes, is what takes the memory
        raise ExtractionError(
            f"{url}: page too large to parse ({tags} tags, cap {MAX_TAGS})", url=url
        )
    known = sitedefs.site(profile)
    page = Page.parse(html, url, charset, zone=known.zone if known else "UTC")
    fields, status = extract_fields(page, site_for(profile))
    if not fields.body:
        raise ExtractionError(f"{url}: no article text found (profile {fields.profile})", url=url)
    if len(fields.text) > MAX_TEXT_CHARS:
        raise ExtractionError(
            f"{url}: article text too long ({len(fields.text)} characters, cap {MAX_TEXT_CHARS})"
        )
    fields.url = page.document_url
    return Extraction(fields, status)


def extract_fields(page: Page, site: Site | None) -> tuple[ArticleFields, str]:
    """(fields, status): the site's layout rule checked against trafilatura ("ok"), else
    trafilatura's reading under the site's conventions ("fallback")."""
    rule, refusal = site.recognise(page) if site else (None, None)
    if refusal:
        raise NotAnArticleError(page.url, refusal)
    reading = read_page(page)
    if rule is not None:
        fields = rule.extract(page)
        if fields.body:
            return checked(fill_gaps(fields, reading, page.zone), reading), "ok"
        why = f"site rule {rule.profile} matched but found no body; used trafilatura"
    else:
        why = "no site rule matched the page layout; used trafilatura"
    fields = fill_gaps(generic_fields(page, reading), reading, page.zone)
    if site is None:
        return checked(fields, reading), "ok"
    fields = site.conventions(fields, page)
    fields.warnings.append(why)
    return checked(fields, reading), "fallback"


def fill_gaps(fields: ArticleFields, reading: Reading, zone: str = "UTC") -> ArticleFields:
    """What the layout rule did not find, from trafilatura's reading."""
    fields.title = fields.title or reading.title
    fields.language = fields.language or reading.language
    if fields.published_at is None and fields.published_day is None:
        # trafilatura's date is htmldate's guess (a date in the URL, in the text, a copyright
        # line): a day, never a time, and only an estimate. It is said as one, apart from
        # published_at, which holds only what the page states.
        fields.published_day = estimated_day(reading.date)
        fields.published_day_source = "estimate" if fields.published_day else None
    fields.keywords = fields.keywords or list(reading.tags)
    return fields


def estimated_day(value: str | None) -> str | None:
    """A guessed date as YYYY-MM-DD, when it is one and within the window of outside times."""
    moment = parse_timestamp(value[:10] if value else None)
    return moment.date().isoformat() if moment is not None else None


def checked(fields: ArticleFields, reading: Reading) -> ArticleFields:
    """The fields with their agreement with trafilatura, and a warning when it is low."""
    # Every text the document holds, as trafilatura's text holds headline and source line too.
    ours = "\n".join(filter(None, [fields.section, fields.kicker, fields.title, fields.teaser,
                                    fields.text, fields.source_line]))  # fmt: skip
    headline = "\n".join(filter(None, [fields.kicker, fields.title]))
    fields.baseline = compare(ours, reading, headline)
    warning = disagreement(fields.baseline)
    if warning:
        fields.warnings.append(warning)
    return fields


__all__ = ["Extraction", "extract_article", "extract_document", "extract_fields", "extract_page"]
