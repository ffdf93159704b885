"""ntv.de conventions for the small texts around an article: byline, interview credit, source
line, photo credit, liveticker entry, page kind. Pure functions over strings and the parsed page,
shared by every layout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from handler.extract import metadata
from handler.extract.page import Page, clean_text, parse_timestamp

PUBLISHER = "ntv.de"
# The newsroom names itself in author fields; it is the publisher, never an author.
_PUBLISHER_NAMES = re.compile(r"^n-?tv(\.de)?( nachrichten)?$", re.IGNORECASE)
# "Von A", and the role prefixes of opinion pieces: "Ein Kommentar von A", "Eine Analyse von
# A", "Eine Abrechnung von A", "Eine Kolumne von A", ... ("Ein/Eine <one word> von").
_BYLINE_PREFIX = re.compile(r"^(?:(?:ein|eine)\s+[\w-]+\s+)?von\s+", re.IGNORECASE)
# "Mit Philip Kovce sprach Solveig Bach": the interviewer (after "sprach") is the author.
_INTERVIEW_CREDIT = re.compile(r"^Mit\s+(.+?)\s+sprach(?:en)?\s+(.+?)\.?$")
_PERSON_NAME = re.compile(r"^[A-ZÄÖÜ][\w.'-]*(?:\s+[\w.'-]+){0,3}$")
# "+++ 14:32 Kiew meldet Angriffe +++": one liveticker entry's heading; the time as printed.
# Only the head is a pattern; the title is the rest with the closing "+++" stripped (a lazy
# ".*?" before "\+*$" would take quadratic time on a long run of "+").
_TICKER_ENTRY = re.compile(r"^\+{2,3}\s*(\d{1,2}[:.]\d{2})(?:\s*Uhr)?\s*")
_TICKER_TIME = re.compile(r"^(\d{1,2}[:.]\d{2})\s*Uhr$")
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

# (kind, URL path fragments) tried after the page's JSON-LD type; "article" is the rest.
KIND_PATHS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("liveticker", ("liveticker", "-live-")),
    ("video", ("/mediathek/videos/", "/videos/")),
    ("audio", ("/mediathek/audio/", "/podcasts/")),
    ("gallery", ("/bilderserien/", "/mediathek/bilderserien/")),
)
MIN_TICKER_ENTRIES = 2  # a page with this many "+++ hh:mm ... +++" entries is a liveticker


def is_publisher(name: str) -> bool:
    return bool(_PUBLISHER_NAMES.match(clean_text(name)))


def parse_byline(byline: str | None) -> tuple[list[str], str | None]:
    """A byline to (authors, dateline); role prefixes, places and the publisher are dropped.

    "Von A und B, Lille" -> (["A", "B"], "Lille"); "Eine Analyse von A" -> (["A"], None);
    "Von A, Kiew und Moskau, und B, Berlin" -> (["A", "B"], "Kiew und Moskau; Berlin").
    ntv joins co-authors with "und" and puts each one's place after a comma; where a place
    itself holds "und", the authors are separated by ", und". "A, B und C" lists three names.
    """
    text = _BYLINE_PREFIX.sub("", clean_text(byline))
    if not text:
        return [], None
    separator = r",\s+und\s+" if re.search(r",\s+und\s+", text) else r"\s+und\s+"
    groups = re.split(separator, text)
    if separator == r"\s+und\s+" and "," not in groups[-1] and "," in text:
        listed = [clean_text(name) for group in groups for name in group.split(",")]
        if all(_looks_like_person(name) or is_publisher(name) for name in listed[1:]):
            groups = listed  # "A, B und C": three names
        else:
            groups = [text]  # "A, Kiew und Charkiw": one author, a place holding "und"
    authors: list[str] = []
    places: list[str] = []
    for group in groups:
        name, _, place = (clean_text(part) for part in group.partition(","))
        if name and not is_publisher(name):
            authors.append(name)
        if place:
            places.append(place)
    return authors, "; ".join(places) or None


def _looks_like_person(name: str) -> bool:
    """A first and a last name, both capitalised ("Anna Beispiel", "Ursula von der Leyen"); a
    place in a byline is mostly one word ("Kiew", "Lille")."""
    words = name.split()
    return len(words) >= 2 and words[0][:1].isupper() and words[-1][:1].isupper()


def parse_interview_credit(line: str | None) -> list[str]:
    """ "Mit Philip Kovce sprach Solveig Bach" -> ["Solveig Bach"] (the interviewers)."""
    match = _INTERVIEW_CREDIT.match(clean_text(line))
    if not match:
        return []
    names = [clean_text(name) for name in re.split(r",\s*|\s+und\s+", match.group(2))]
    if not all(_PERSON_NAME.match(name) for name in names):
        return []  # a sentence that happens to start "Mit ... sprach", not a credit
    return [name for name in names if not is_publisher(name)]


def parse_ticker_entry(heading: str | None) -> tuple[str, str] | None:
    """ "+++ 14:32 Kiew meldet Angriffe +++" -> ("14:32", "Kiew meldet Angriffe"); a heading
    that is only a time ("20:15 Uhr", today's liveticker) -> ("20:15", "20:15 Uhr")."""
    text = clean_text(heading)
    head = _TICKER_ENTRY.match(text)
    if head:
        title = text[head.end() :].rstrip("+").strip()
        return _clock(head.group(1)), title or text
    alone = _TICKER_TIME.match(text)
    return (_clock(alone.group(1)), text) if alone else None


def _clock(time: str) -> str:
    """ "9.05" -> "09:05"."""
    return time.replace(".", ":").zfill(5)


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


def detect_kind(page: Page, ticker_entries: int = 0) -> str:
    """article / liveticker / video / audio / gallery / other: the page's JSON-LD type first,
    then ntv's URL paths, then the content (a run of "+++ hh:mm" entries is a liveticker)."""
    declared = metadata.kind(page)
    if declared != "article":
        return declared
    path = urlsplit(page.document_url).path.lower()
    for kind, fragments in KIND_PATHS:
        if any(fragment in path for fragment in fragments):
            return kind
    return "liveticker" if ticker_entries >= MIN_TICKER_ENTRIES else "article"


# The page's own date line, in the site's time zone: "03.02.2025, 16:38 Uhr",
# "14.03.2025, 09:30", "Montag, 15. Juli 2019" (a day alone), "Montag, 15. Juli 2019 16:38 Uhr".
_MONTHS = {name: n for n, name in enumerate(
    ("januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september",
     "oktober", "november", "dezember"), start=1)}  # fmt: skip
_NUMERIC_DAY = r"(?<!\d)(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})"
_NAMED_DAY = r"(?<!\d)(?P<day>\d{1,2})\.\s*(?P<month>[A-Za-zäÄ]+)\s+(?P<year>\d{4})"
_TIME = r"(?:,?\s+(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?!\d)(?:\s*Uhr)?)?"
_DATE_LINES = (re.compile(_NUMERIC_DAY + _TIME), re.compile(_NAMED_DAY + _TIME))


@dataclass(frozen=True)
class DateLine:
    """What a date line states: a day, and the time when it gives one."""

    day: date
    time: datetime | None


def parse_date_line(text: str | None, zone: str) -> DateLine | None:
    """The day (and time) a date line states; None when it states no date. A day alone is
    never made a midnight: its ``time`` is None."""
    for pattern in _DATE_LINES:
        found = pattern.search(clean_text(text))
        if found is None:
            continue
        month_text = found["month"]
        month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text.lower(), 0)
        try:
            day = date(int(found["year"]), month, int(found["day"]))
            local = (datetime(day.year, day.month, day.day, int(found["hour"]),
                              int(found["minute"]), tzinfo=ZoneInfo(zone))
                     if found["hour"] is not None else None)  # fmt: skip
        except ValueError:
            return None  # 31.02., 25:00: not a date
        # The window every outside time must lie in (not before 1990, not past tomorrow).
        bounded = parse_timestamp(local.isoformat(), zone) if local is not None else None
        in_window = parse_timestamp(f"{day.isoformat()}T12:00:00", zone) is not None
        return DateLine(day, bounded) if in_window else None
    return None
