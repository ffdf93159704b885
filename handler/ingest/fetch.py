"""The project's HTTP client: allowlisted hosts, timeouts, retries, gzip, a size cap.

Every URL is checked against the allowlist *before* a request is made, and so is every redirect
hop (urllib3's own redirect handling is off for that reason). Bodies are streamed and decoded
(gzip/deflate/brotli) with the cap counted on the decoded bytes, so a small compressed bomb is
stopped early instead of being inflated into memory.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from handler.core.capture import USER_AGENT, Capture
from handler.core.config import FetchSettings
from handler.core.errors import FetchError, HostNotAllowedError, UrlError
from handler.core.log import logger
from handler.core.urls import join_url
from handler.ingest.allowlist import HostAllowlist

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HTML_TYPES = ("text/html", "application/xhtml+xml")  # what an article page may be served as
_CHUNK = 64 * 1024
# What urllib3 decodes in this installation (brotli and zstd only with their extra packages).
_DECODABLE = frozenset(
    {"identity", "gzip", "x-gzip", "deflate"}
    | ({"br"} if getattr(urllib3.response, "brotli", None) else set())
    | ({"zstd"} if getattr(urllib3.response, "HAS_ZSTD", False) else set())
)


class HttpClient:
    """Thread-safe GET client shared by one run."""

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        self.allowlist = HostAllowlist(
            settings.allowed_domains, settings.extra_hosts, settings.allow_hint
        )
        self._pool = urllib3.PoolManager(
            num_pools=8,
            maxsize=16,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            timeout=urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout),
            retries=Retry(
                total=settings.retries,
                redirect=False,
                status_forcelist=(429, 500, 502, 503, 504),
                allowed_methods=frozenset({"GET"}),
                backoff_factor=settings.backoff_factor,
                backoff_jitter=settings.backoff_factor / 2,
                raise_on_status=False,
                respect_retry_after_header=True,
                retry_after_max=int(settings.max_retry_after),
            ),
        )
        self._pool.pool_classes_by_scheme = _guarded_pools(settings.extra_hosts)

    def get(
        self,
        url: str,
        accept: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> Capture:
        """GET ``url`` following allowlisted redirects; raise FetchError unless 200.

        ``accept`` lists the media types (whole, e.g. ``"text/html"``) the caller can use;
        anything else is refused with a reason. With conditional ``headers`` (If-None-Match,
        If-Modified-Since), a 304 is returned as a Capture with an empty body. The whole
        fetch ends by ``deadline`` (``time.monotonic()``), at the latest ``total_timeout``
        from now.
        """
        own = time.monotonic() + self.settings.total_timeout
        deadline = own if deadline is None else min(deadline, own)
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            current = self.allowlist.check(current)  # fetched exactly as checked
            raw = self._request(current, headers, deadline)
            size = raw.headers.get("Content-Length")
            logger.debug("fetched", extra={"url": current, "status": raw.status, "size": size})
            if raw.status in _REDIRECT_STATUSES:
                location = raw.headers.get("Location")
                raw.release_conn()
                if not location:
                    raise FetchError(f"{current}: HTTP {raw.status} redirect without Location",
                                     url=current, status=raw.status)  # fmt: skip
                try:
                    current = join_url(current, location)
                except UrlError as exc:  # checked at the next hop as any URL: refused
                    raise HostNotAllowedError(f"refused URL {exc}", url=current) from None
                continue
            return self._finish(url, current, raw, accept, deadline, conditional=bool(headers))
        raise FetchError(f"{url}: more than {self.settings.max_redirects} redirects", url=url)

    def _request(
        self, url: str, headers: Mapping[str, str] | None, deadline: float
    ) -> urllib3.BaseHTTPResponse:
        merged = {**self._pool.headers, **(headers or {})}
        left = _time_left(url, deadline)
        timeout = urllib3.Timeout(connect=min(self.settings.connect_timeout, left),
                                  read=min(self.settings.read_timeout, left))  # fmt: skip
        _fetch_deadline.value = deadline
        try:
            return self._pool.request(
                "GET", url, headers=merged, preload_content=False, redirect=False,
                timeout=timeout,
            )  # fmt: skip
        except urllib3.exceptions.HTTPError as exc:
            if time.monotonic() >= deadline:
                raise FetchError(f"{url}: fetch deadline passed before the response headers "
                                 "came (too slow overall)", url=url) from exc  # fmt: skip
            reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
            raise FetchError(f"{url}: {_describe(reason)}", url=url) from exc
        finally:
            _fetch_deadline.value = None

    def _finish(
        self,
        url: str,
        final_url: str,
        raw: urllib3.BaseHTTPResponse,
        accept: tuple[str, ...],
        deadline: float,
        conditional: bool = False,
    ) -> Capture:
        try:
            not_modified = raw.status == 304 and conditional
            body = b"" if not_modified else self._checked_body(final_url, raw, accept, deadline)
        finally:
            raw.release_conn()
        return Capture(
            url=url,
            final_url=final_url,
            status=raw.status,
            reason=raw.reason or "",
            headers=tuple(raw.headers.items()),
            body=body,
            fetched_at=datetime.now(UTC),
        )

    def _checked_body(
        self, url: str, raw: urllib3.BaseHTTPResponse, accept: tuple[str, ...], deadline: float
    ) -> bytes:
        if raw.status != 200:
            raise FetchError(f"{url}: HTTP {raw.status} {raw.reason or ''}".rstrip(), url=url,
                             status=raw.status)  # fmt: skip
        encodings = [
            e.strip().lower() for e in (raw.headers.get("Content-Encoding") or "").split(",")
        ]
        unknown = [e for e in encodings if e and e not in _DECODABLE]
        if unknown:  # urllib3 would hand over the still-encoded bytes as if they were the page
            raise FetchError(f"{url}: content encoding {unknown[0]!r} cannot be decoded here",
                             url=url)  # fmt: skip
        content_type = (raw.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if accept and content_type not in accept:  # the whole media type: text/htmlfoo is not
            raise FetchError(
                f"{url}: content type {content_type or '(none)'!r} is not one of "
                + ", ".join(accept)
            )
        return self._read_capped(url, raw, deadline)

    def _read_capped(self, url: str, raw: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
        cap = self.settings.max_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            # read1: at most one socket read per call, so the deadline is looked at between
            # reads however slowly the bytes arrive.
            while chunk := raw.read1(_CHUNK, decode_content=True):
                _time_left(url, deadline)
                size += len(chunk)
                if size > cap:
                    raise FetchError(f"{url}: response larger than {cap} bytes (size cap)",
                                     url=url)  # fmt: skip
                chunks.append(chunk)
        except urllib3.exceptions.HTTPError as exc:
            raise FetchError(f"{url}: body could not be read: {_describe(exc)}", url=url) from exc
        return b"".join(chunks)


# The deadline of the fetch the calling thread is making: the connection classes below read it
# to bound the wait for the status line and headers, which no socket timeout bounds (a server
# sending one byte a second never lets a read time out).
_fetch_deadline = threading.local()


def _cut(sock: socket.socket, fired: threading.Event) -> None:
    """The fetch's deadline passed while its response was awaited: end the wait."""
    fired.set()
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _PeerGuard:
    """Refuse a connection whose peer is not a public address (private, loopback, link-local,
    reserved), unless its host was allowed by name. Checked on the connected socket, so a name
    that resolves (or re-resolves) to 169.254.169.254 or 10.x is caught before any byte of the
    request is sent."""

    explicit_hosts: frozenset[str] = frozenset()
    host: str
    sock: socket.socket | None

    def getresponse(self) -> Any:
        """The response's status line and headers, within the fetch's deadline: a watchdog
        shuts the socket down when it passes (the reads then fail, and the fetch says why)."""
        deadline = getattr(_fetch_deadline, "value", None)
        if deadline is None or self.sock is None:
            return super().getresponse()  # type: ignore[misc]
        fired = threading.Event()
        left = max(0.0, deadline - time.monotonic())
        watchdog = threading.Timer(left, _cut, (self.sock, fired))
        watchdog.daemon = True
        watchdog.start()
        try:
            response = super().getresponse()  # type: ignore[misc]
        finally:
            watchdog.cancel()
        if fired.is_set():  # what came before the cut is no whole response
            raise urllib3.exceptions.ProtocolError("the fetch deadline passed")
        return response

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        peer = ipaddress.ip_address(sock.getpeername()[0])
        if not peer.is_global and self.host.lower() not in self.explicit_hosts:
            sock.close()
            raise HostNotAllowedError(
                f"{self.host}: resolves to non-public address {peer}; refused before the request"
            )
        return sock


def _guarded_pools(explicit_hosts: frozenset[str]) -> dict[str, type[HTTPConnectionPool]]:
    hosts = frozenset(h.lower() for h in explicit_hosts)
    plain = type("GuardedHTTPConnection", (_PeerGuard, HTTPConnection), {"explicit_hosts": hosts})
    tls = type("GuardedHTTPSConnection", (_PeerGuard, HTTPSConnection), {"explicit_hosts": hosts})
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": tls}),
    }


def _time_left(url: str, deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(f"{url}: fetch deadline passed (too slow overall)", url=url)
    return left


def _describe(exc: BaseException | None) -> str:
    """A short reason for a urllib3 failure, without the pool's repr noise."""
    if exc is None:
        return "request failed"
    # Order matters: in urllib3 2.x NewConnectionError subclasses ConnectTimeoutError.
    if isinstance(exc, urllib3.exceptions.NameResolutionError):
        return "host name could not be resolved"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "connection failed (refused or unreachable)"
    if isinstance(exc, urllib3.exceptions.ResponseError):
        return "too many retries (server kept failing)"
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return "timed out"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return f"connection broken ({exc.args[0] if exc.args else exc})"
    return str(exc).split(": ")[-1] or type(exc).__name__
