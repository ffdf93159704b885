"""Reading other crawlers' WARC (and ARC) files, one record at a time (warcio), so memory stays
flat whatever the file's size.

Each ``response`` record is judged the way a live fetch is: its target must be an unambiguous
http(s) URL on the allowlist, its HTTP status 200, its content HTML, its payload within the
size cap. Every record gets a verdict; only ``page`` records carry what the archive needs: the
decoded page, the record's time, its HTTP headers, and the record itself re-written with its
own WARC headers and its payload as transferred (the original record, as the capture).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any, Literal

from handler.core.capture import Capture
from handler.core.errors import HostNotAllowedError
from handler.core.times import instant
from handler.ingest.allowlist import HostAllowlist
from handler.ingest.fetch import HTML_TYPES

Verdict = Literal[
    "page",  # an archivable page: see ImportedPage
    "not_response",  # warcinfo, request, metadata, resource, ... records
    "revisit",  # a revisit record: no payload of its own
    "refused_url",  # no target, an ambiguous URL, or a host off the allowlist
    "not_200",  # the capture answered some other status
    "not_html",  # not a page
    "too_large",  # payload over the size cap
    "bad_date",  # no WARC-Date in the window a capture can have (core/times.py): not after now
]
_CHUNK = 64 * 1024
CAPTURE_SLACK = timedelta(minutes=10)  # a crawler's clock a little ahead of ours


@dataclass(frozen=True)
class ImportedRecord:
    """One record's verdict, with the page when it is one."""

    verdict: Verdict
    url: str | None = None
    response: Capture | None = None  # the page, as a live fetch would have captured it
    capture: bytes | None = None  # the original record, gzipped, for raw/


class TruncatedArchiveError(Exception):
    """The file ends inside a record: the records before it were read."""


class MalformedRecordError(TruncatedArchiveError):
    """A record warcio cannot parse, starting at ``offset`` (in the file): the records after
    it may still be read from the next record boundary (``next_record_start``)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def records(
    stream: IO[bytes], allowlist: HostAllowlist, max_bytes: int, start: int = 0
) -> Iterator[ImportedRecord]:
    """Each record of a WARC/ARC stream (gzipped or not) with its verdict, in file order.
    ``start``: where in the file the stream begins. TruncatedArchiveError when the file ends
    inside a record; MalformedRecordError (with the record's offset) when one cannot be
    parsed."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    iterator = ArchiveIterator(stream, arc2warc=True)
    _bound_lines(iterator.reader)
    try:
        for record in iterator:
            judged = judge(record, allowlist, max_bytes)
            if _ends_early(record):
                raise TruncatedArchiveError(
                    f"the file ends inside the record of {judged.url or 'no target'}"
                )
            yield judged
    except TruncatedArchiveError:
        raise
    except EOFError as exc:
        raise TruncatedArchiveError(f"the file ends inside a record ({exc})") from exc
    except (ArchiveLoadFailed, OSError, ValueError, AttributeError, TypeError, KeyError,
            IndexError) as exc:  # fmt: skip
        # warcio on a record it cannot read (e.g. a response without a target URI)
        offset = start + int(iterator.offset or 0)
        raise MalformedRecordError(f"malformed record at byte {offset} ({exc})", offset) from exc


MAX_LINE = 64 * 1024  # a WARC or HTTP header line; real ones are under 8 KB


def _bound_lines(reader: Any) -> None:
    """warcio reads header lines (the record's WARC headers, its HTTP status and headers)
    with an unbounded ``readline``: one line of a gigabyte without a line end took gigabytes.
    Every line it asks of this reader is now read 64 KB at most; a longer one makes the
    record malformed (read on from the next record), and memory stays flat."""
    unbounded = reader.readline

    def bounded(length: int | None = None) -> bytes:
        cap = MAX_LINE if length is None or length < 0 else min(length, MAX_LINE)
        line: bytes = unbounded(cap)
        if len(line) >= MAX_LINE and not line.endswith(b"\n"):
            raise ValueError(f"a header line longer than {MAX_LINE} bytes")
        return line

    reader.readline = bounded


GZIP_MEMBER = b"\x1f\x8b\x08"
WARC_HEADER = b"WARC/1."


def next_record_start(stream: IO[bytes], gzipped: bool, start: int) -> int | None:
    """Where the next record may begin at or after ``start`` (``stream`` reads from there):
    the next gzip member in a gzipped file (one per record), else the next ``WARC/1.`` line.
    None when the file holds none. A false start only costs another malformed record."""
    marker = GZIP_MEMBER if gzipped else b"\n" + WARC_HEADER
    skip = 0 if gzipped else 1  # the newline before a WARC line is the previous record's
    position, carry = start, b""
    while chunk := stream.read(_CHUNK):
        window = carry + chunk
        found = window.find(marker)
        if found >= 0:
            return position - len(carry) + found + skip
        carry = window[-(len(marker) - 1) :]
        position += len(chunk)
    return None


def judge(record: Any, allowlist: HostAllowlist, max_bytes: int) -> ImportedRecord:
    kind = record.rec_type
    if kind == "revisit":
        return ImportedRecord("revisit", record.rec_headers.get_header("WARC-Target-URI"))
    if kind != "response" or record.http_headers is None:
        return ImportedRecord("not_response")
    target = record.rec_headers.get_header("WARC-Target-URI") or ""
    try:
        url = allowlist.check(target)
    except HostNotAllowedError:
        return ImportedRecord("refused_url", target or None)
    status = record.http_headers.get_statuscode()
    if status != "200":
        return ImportedRecord("not_200", url)
    fetched_at = record_time(record)
    if fetched_at is None:  # a capture from the future would replace what is current
        return ImportedRecord("bad_date", url)
    content_type = (record.http_headers.get_header("Content-Type") or "").split(";")[0]
    if content_type.strip().lower() not in HTML_TYPES:
        return ImportedRecord("not_html", url)
    raw = _read_capped(record.raw_stream, max_bytes)
    if raw is None:
        return ImportedRecord("too_large", url)
    declared = _declared_payload(record)
    if 0 <= len(raw) < declared:
        # warcio reads what there is: a record cut short by the end of the file (a crawl
        # interrupted, a partial download) is only seen by its declared length.
        raise TruncatedArchiveError(
            f"the file ends inside the record of {url} ({len(raw)} of {declared} bytes)"
        )
    body = _decoded(record, raw, max_bytes)
    if body is None:
        return ImportedRecord("too_large", url)
    response = Capture(
        url=url,
        final_url=url,
        status=200,
        reason=record.http_headers.statusline.partition(" ")[2],
        headers=tuple(record.http_headers.headers),
        body=body,
        fetched_at=fetched_at,
    )
    return ImportedRecord("page", url, response, _rewritten(record, raw))


def _declared_payload(record: Any) -> int:
    """The payload length the record declares (-1: unknown): warcio 1.8 says it, 1.7 gives
    the block's length and the HTTP header's, which differ by it."""
    declared = getattr(record, "payload_length", None)
    if isinstance(declared, int) and declared >= 0:
        return declared
    length = getattr(record, "length", None)
    headers = getattr(record.http_headers, "total_len", None)
    if isinstance(length, int) and isinstance(headers, int):
        return length - headers
    return -1


def _ends_early(record: Any) -> bool:
    """Whether the file ended before the record's declared length, whatever its verdict: what
    is left of it is read through (as warcio would, to reach the next record) and the length
    reader must be spent. A record claiming 10**18 bytes is no page that is merely not HTML."""
    stream = record.raw_stream
    while stream.read(_CHUNK):
        pass
    left = getattr(stream, "limit", 0)
    return isinstance(left, int) and left > 0


def record_time(record: Any) -> datetime | None:
    """The record's WARC-Date (or an ARC record's date) in UTC; None when it is missing,
    unreadable, or not a time a capture can have (before 1990, or after now)."""
    return instant(record.rec_headers.get_header("WARC-Date"), ahead=CAPTURE_SLACK)


def _read_capped(stream: IO[bytes], cap: int) -> bytes | None:
    chunks, size = [], 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _decoded(record: Any, raw: bytes, cap: int) -> bytes | None:
    """The payload as the page: chunked and content encodings undone the way warcio does,
    by handing its own decoder the bytes already read; None past the cap."""
    record.raw_stream = io.BytesIO(raw)
    return _read_capped(record.content_stream(), cap)


def _rewritten(record: Any, raw: bytes) -> bytes:
    """The record again: its own WARC headers (id, date, digests), its HTTP headers and its
    payload as transferred, as one gzip member."""
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    again = writer.create_warc_record(
        record.rec_headers.get_header("WARC-Target-URI"),
        "response",
        payload=io.BytesIO(raw),
        http_headers=record.http_headers,
        warc_headers=record.rec_headers,
    )
    writer.write_record(again)
    return out.getvalue()
