"""The raw capture as a gzipped WARC file: one request and one response record (warcio).

The body is stored decoded (as the archive read it), so the transfer-level headers that described
the wire form (Content-Encoding, Transfer-Encoding, Content-Length) are renamed to
``X-Archive-Orig-*`` and a Content-Length for the stored body is set. Standard WARC tools then
read and replay the record as it stands.
"""

from __future__ import annotations

import gzip
import io
from datetime import UTC

from handler.core.capture import USER_AGENT, Capture
from handler.core.errors import StoreError
from handler.core.times import instant

_WARC_DATE = "%Y-%m-%dT%H:%M:%SZ"
GZIP_LEVEL = 4
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


def capture_warc(response: Capture) -> bytes:
    # warcio is imported where it is used: idle polls write no capture and never load it.
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=False)
    warc_date = response.fetched_at.astimezone(UTC).strftime(_WARC_DATE)
    headers = [
        (f"X-Archive-Orig-{name}" if name.lower() in _WIRE_HEADERS else name, value)
        for name, value in response.headers
    ]
    headers.append(("Content-Length", str(len(response.body))))
    http_headers = StatusAndHeaders(
        f"{response.status} {response.reason}".strip(), headers, protocol="HTTP/1.1"
    )
    record = writer.create_warc_record(
        response.final_url,
        "response",
        payload=io.BytesIO(response.body),
        http_headers=http_headers,
        warc_headers_dict={"WARC-Date": warc_date},
    )
    request = writer.create_warc_record(
        response.final_url,
        "request",
        payload=io.BytesIO(b""),
        http_headers=StatusAndHeaders(
            f"GET {_path_of(response.final_url)} HTTP/1.1",
            [("User-Agent", USER_AGENT), ("Accept-Encoding", "gzip, deflate")],
            is_http_request=True,
        ),
        warc_headers_dict={
            "WARC-Date": warc_date,
            "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID"),
        },
    )
    # One gzip member per record, as WARC tools expect; warcio would compress at level 9, which
    # cost half of an article's CPU on a 700 KB page for 5% fewer bytes than level 4 (bench/).
    members = []
    for rec in (record, request):
        buffer.seek(0)
        buffer.truncate()
        writer.write_record(rec)
        members.append(gzip.compress(buffer.getvalue(), compresslevel=GZIP_LEVEL, mtime=0))
    return b"".join(members)


def read_capture(data: bytes, where: str) -> Capture:
    """The response record of a capture written by ``capture_warc``, as a Capture; StoreError
    naming the key when the bytes are not such a capture (damaged, or not a WARC at all)."""
    try:
        return _read_capture(data, where)
    except StoreError:
        raise
    except Exception as exc:  # warcio, gzip and zlib each fail their own way on garbage
        raise StoreError(f"{where}: not a readable WARC capture ({type(exc).__name__})") from exc


def _read_capture(data: bytes, where: str) -> Capture:
    from warcio.archiveiterator import ArchiveIterator

    for record in ArchiveIterator(io.BytesIO(data)):
        if record.rec_type != "response" or record.http_headers is None:
            continue
        _, _, reason = record.http_headers.statusline.partition(" ")
        fetched = instant(record.rec_headers.get_header("WARC-Date"))
        if fetched is None:
            raise StoreError(f"{where}: the capture's WARC-Date is not a time it can have")
        return Capture(
            url=record.rec_headers.get_header("WARC-Target-URI"),
            final_url=record.rec_headers.get_header("WARC-Target-URI"),
            status=int(record.http_headers.get_statuscode()),
            reason=reason,
            headers=tuple(record.http_headers.headers),
            body=record.content_stream().read(),
            fetched_at=fetched,
        )
    raise StoreError(f"{where}: no HTTP response record in the WARC capture")


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
