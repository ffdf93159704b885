"""ntv.de conventions for the small texts around an article: byline, source line, photo credit,
page kind. Pure functions over strings and the parsed page, shared by every layout."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from handler.extract.page import Page, clean_text

# The newsroom names itself in author fields; it is the publisher, never an author.
_PUBLISHER_NAMES = re.compile(r"^n-?tv(\.de)?( nachrichten)?$", re.IGNORECASE)
_BYLINE_PREFIX = re.compile(r"^von\s+", re.IGNORECASE)
_CREDIT = re.compile(r"\s*\((?:Foto|Fotos|Bild|Bilder|Grafik|Video|Quelle):\s*([^()]*)\)\s*$")
_SOURCE_PREFIX = re.compile(r"^Quelle:\s*(?:n-?tv\.de|ntv)\s*,?\s*", re.IGNORECASE)

# Agency codes as ntv's source lines spell them ("Quelle: ntv.de, chr/rts").
AGENCIES: dict[str, str] = {
    "dpa": "dpa",
    "rts": "Reuters",
    "rtr": "Reuters",
    "reuters": "Reuters",
    "afp": "AFP",
    "ap": "AP",
    "sid": "SID",
    "kna": "KNA",
    "epd": "epd",
    "dts": "dts",
    "ddp": "ddp",
    "apa": "APA",
    "sda": "SDA",
    "bloomberg": "Bloomberg",
}

# (kind, JSON-LD types, URL path fragments) in the order they are tried; "article" is the rest.
KINDS: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("liveticker", frozenset({"LiveBlogPosting"}), ("liveticker", "-live-")),
    ("video", frozenset({"VideoObject"}), ("/mediathek/videos/", "/videos/")),
    ("gallery", frozenset({"ImageGallery"}), ("/bilderserien/", "/mediathek/bilderserien/")),
)
_ARTICLE_TYPES = frozenset({"NewsArticle", "Article", "ReportageNewsArticle"})


def parse_byline(byline: str | None) -> tuple[list[str], str | None]:
    """ "Von A und B, Lille" -> (["A", "B"], "Lille"); the publisher is never an author.

    ntv joins co-authors with "und" and puts the dateline after the last comma.
    """
    if not byline:
        return [], None
    text = _BYLINE_PREFIX.sub("", clean_text(byline))
    names, _, place = text.rpartition(", ")
    if not names or " und " in place:
        names, place = text, ""
    authors = [
        name
        for name in (clean_text(n) for n in re.split(r",\s*|\s+und\s+", names))
        if name and not _PUBLISHER_NAMES.match(name)
    ]
    return authors, clean_text(place) or None


def parse_source_line(line: str | None) -> tuple[list[str], list[str]]:
    """ "Quelle: ntv.de, chr/rts" -> (agencies ["Reuters"], editor codes ["chr"])."""
    if not line:
        return [], []
    agencies: list[str] = []
    editors: list[str] = []
    for token in re.split(r"[/,]\s*|\s+", _SOURCE_PREFIX.sub("", clean_text(line))):
        code = token.strip().strip(".")
        if not code:
            continue
        agency = AGENCIES.get(code.lower())
        target, value = (agencies, agency) if agency else (editors, code)
        if value not in target:
            target.append(value)
    return agencies, editors


def split_credit(caption: str | None) -> tuple[str | None, str | None]:
    """Split a trailing credit off a caption.

    "Kim. (Foto: picture alliance / dpa)" -> ("Kim.", "picture alliance / dpa")
    """
    text = clean_text(caption)
    match = _CREDIT.search(text)
    if not match:
        return text or None, None
    return clean_text(text[: match.start()]) or None, clean_text(match.group(1)) or None


def strip_credit_wrapper(credit: str | None) -> str | None:
    """ "(Foto: Pool via REUTERS)" -> "Pool via REUTERS"."""
    text = clean_text(credit)
    match = _CREDIT.fullmatch(text) or _CREDIT.search(" " + text)
    return clean_text(match.group(1)) if match else (text or None)


def detect_kind(page: Page) -> str:
    """article / liveticker / video / gallery / other, from JSON-LD type and URL path."""
    types = page.article_ld.get("@type") or []
    ld_types = set(types if isinstance(types, list) else [types])
    path = urlsplit(page.document_url).path.lower()
    for kind, kind_types, fragments in KINDS:
        if ld_types & kind_types or any(fragment in path for fragment in fragments):
            return kind
    return "article" if ld_types & _ARTICLE_TYPES or not ld_types else "other"


def is_paywalled(page: Page) -> bool:
    """schema.org's ``isAccessibleForFree: false`` is how a page declares a paywall."""
    flag = page.article_ld.get("isAccessibleForFree")
    return str(flag).strip().lower() == "false"
