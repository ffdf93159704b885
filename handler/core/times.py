"""One reading of a time from outside: feeds, sitemaps, WARC records, pages, store objects read
back, queue messages.

Python parses ``0001-01-01T00:30:00+01:00`` and ``9999-12-31T23:30:00-01:00`` happily, and then
overflows when the time is moved to UTC, compared, or has a day added. So an outside time is
parsed here, once, into an aware UTC ``datetime`` inside a window that no archived page can lie
outside: not before ``EARLIEST`` (the web had no news before it) and not further ahead of now
than the caller allows (``ahead``: a capture is never in the future; a revisit is due within
days). Anything else is None: the caller treats the value as absent, or refuses the object
that carried it, with a reason. Code behind this border never sees a raw time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
CLOCK_SLACK = timedelta(days=1)  # clocks and time zones: "now" may be a day off elsewhere
MAX_TEXT = 64  # no time is written in more characters than this


def instant(
    value: object,
    ahead: timedelta = CLOCK_SLACK,
    now: datetime | None = None,
    with_offset: bool = False,
) -> datetime | None:
    """``value`` (ISO 8601 / W3C datetime, a bare date, or a ``datetime``) as an aware UTC
    datetime within [EARLIEST, now + ahead]; None when absent, unreadable or out of range. A
    time without an offset is read as UTC, unless ``with_offset`` requires one."""
    moment = _parsed(value)
    if moment is None or (with_offset and moment.tzinfo is None):
        return None
    try:
        utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
        latest = (now or datetime.now(UTC)) + ahead
    except (OverflowError, ValueError):
        return None
    return utc if EARLIEST <= utc <= latest else None


def day(value: object, ahead: timedelta = CLOCK_SLACK, now: datetime | None = None) -> date | None:
    """A calendar day (``YYYY-MM-DD``) in the same window; None otherwise."""
    if isinstance(value, datetime) or not isinstance(value, str | date):
        return None
    if isinstance(value, str):
        if len(value) != 10:
            return None
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return None
    moment = instant(datetime(value.year, value.month, value.day, tzinfo=UTC), ahead, now)
    return value if moment is not None else None


def range_end(value: date, ahead: timedelta = CLOCK_SLACK, now: datetime | None = None) -> date:
    """A day that bounds a range (``--since`` / ``--until``), moved into the window: nothing
    archived lies outside it, so ``--since 0001-01-01`` means "from the first" and ``--until
    9999-12-31`` "to the last" — and neither overflows when a day is added to it."""
    first = EARLIEST.date()
    last = ((now or datetime.now(UTC)) + ahead).date()
    return min(max(value, first), last)


def _parsed(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_TEXT:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
