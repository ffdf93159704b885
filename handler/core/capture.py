"""The capture of one page as a value of its own: what a live fetch returns and what an
imported WARC record holds, the same type either way. The archive keeps and extracts from it
without knowing where it came from (archive/ never imports ingest/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handler.core.version import __version__

USER_AGENT = f"ntv-archive/{__version__} (+https://github.com/ntv-archive/ntv-archive)"


@dataclass(frozen=True)
class Capture:
    """One page as captured: the complete, decoded HTTP response a fetch returned or a WARC
    record held, with when it was captured. What the archive keeps and extracts from."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header names, if any."""
        for param in (self.header("Content-Type") or "").split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip(" \"'"):
                return value.strip(" \"'")
        return None


@dataclass(frozen=True)
class Validators:
    """A response's HTTP validators (ETag, Last-Modified), sent back on the next request for
    the same URL so that an unchanged resource answers 304 with no body."""

    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def from_untrusted(cls, etag: object, last_modified: object) -> Validators:
        """Validators read back from the store: each kept only when it is a header value that
        can be sent as it is (text, no control characters, not huge), else dropped (the next
        request is then unconditional, which costs a page, never correctness)."""

        def usable(value: object) -> str | None:
            ok = isinstance(value, str) and 0 < len(value) <= 1024 and value.isprintable()
            return value if ok else None  # type: ignore[return-value]

        return cls(usable(etag), usable(last_modified))

    @classmethod
    def of(cls, response: Capture) -> Validators:
        return cls(etag=response.header("ETag"), last_modified=response.header("Last-Modified"))

    def request_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class CaptureRecord:
    """What a document says of the capture it was extracted from (its ``capture`` object, with
    the key of the raw capture added where it is stored): the status, the URL the redirects
    ended at, and the validators a revisit sends back."""

    status: int
    final_url: str
    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def of(cls, capture: Capture) -> CaptureRecord:
        validators = Validators.of(capture)
        return cls(capture.status, capture.final_url, validators.etag, validators.last_modified)

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "final_url": self.final_url, "etag": self.etag,
                "last_modified": self.last_modified}  # fmt: skip
