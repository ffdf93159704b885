"""One reading of a URL for checking and for connecting.

Python's ``urllib.parse`` and urllib3 (which opens the connection) read some URLs differently:
``http://evil.example\\@www.n-tv.de/`` is ``www.n-tv.de`` to the first and ``evil.example`` to the
second. So a URL is parsed once, by urllib3's own parser, and refused when anything in it could
be read two ways (a backslash, user info, control characters or white space, a host that is not
a plain DNS name or IP literal, or a host the two parsers disagree on). What is checked is then
rebuilt from those parts, and that rebuilt string is what is fetched: the connection goes to
exactly the host that was checked.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from handler.core.errors import UrlError

MAX_URL_LENGTH = 4096
_DNS_NAME = re.compile(r"^(?=.{1,253}\Z)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*"
                       r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")  # fmt: skip
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")  # control characters, white space, backslash


@dataclass(frozen=True)
class WebUrl:
    """An http(s) URL both parsers read the same way; ``str()`` is what gets fetched."""

    scheme: str
    host: str  # lower case, no trailing dot; an IPv6 literal without brackets
    port: int | None
    target: str  # path and query, as sent in the request line

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{host}{port}{self.target}"

    @property
    def is_ip(self) -> bool:
        return _is_ip(self.host)


def parse_web_url(raw: object) -> WebUrl:
    """The URL as one unambiguous value, or UrlError saying what is wrong with it."""
    if not isinstance(raw, str):
        raise UrlError(f"expected a URL string, got {type(raw).__name__}")
    shown = raw if len(raw) <= 200 else raw[:200] + "..."
    if len(raw) > MAX_URL_LENGTH:
        raise UrlError(f"{shown!r}: URL longer than {MAX_URL_LENGTH} characters")
    if _UNSAFE.search(raw):
        raise UrlError(f"{shown!r}: URL holds a backslash, white space or a control character")
    try:
        parts = parse_url(raw)
        other = urlsplit(raw)
        other_host = other.hostname
        other_port = other.port
    except (LocationParseError, ValueError) as exc:
        raise UrlError(f"{shown!r}: not a valid URL ({exc})") from exc
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise UrlError(f"{shown!r}: scheme {scheme or '(none)'!r} is not http/https")
    if parts.auth is not None or "@" in (other.netloc or ""):
        raise UrlError(f"{shown!r}: URL holds user info ('@' before the host)")
    host = (parts.host or "").lower().strip("[]").rstrip(".")
    if not host or not (_DNS_NAME.match(host) or _is_ip(host)):
        raise UrlError(f"{shown!r}: host {parts.host or '(none)'!r} is not a DNS name or IP")
    if (other_host or "").rstrip(".") != host or other_port != parts.port:
        raise UrlError(f"{shown!r}: host is read differently by different URL parsers")
    port = parts.port
    if port is not None and not 0 < port < 65536:
        raise UrlError(f"{shown!r}: port {port} is out of range")
    if (scheme, port) in (("http", 80), ("https", 443)):
        port = None
    target = parts.path or "/"
    if parts.query is not None:
        target += f"?{parts.query}"
    return WebUrl(scheme=scheme, host=host, port=port, target=target)


def parse_host_name(value: object) -> str:
    """A bare host name or IP address for the allowlist (``--allow-host``, ``ALLOWED_HOSTS``,
    a feeds file's ``allow_hosts``: one rule for all), lower case; UrlError for anything else:
    a scheme, a port, a path, user info, a wildcard."""
    if not isinstance(value, str) or not value or len(value) > 253:
        raise UrlError(f"{value!r} is not a host name")
    try:
        parsed = parse_web_url(f"http://{value}/")
    except UrlError:
        parsed = None
    if parsed is None or parsed.port is not None or parsed.host != value.lower().rstrip("."):
        raise UrlError(f"{value!r} is not a bare host name or IP address (no scheme, port or path)")
    return parsed.host


def join_url(base: str, reference: object) -> str:
    """``reference`` (a redirect's Location, a sitemap's ``<loc>``) resolved against ``base``,
    as one unambiguous URL string; UrlError for anything else. ``urljoin`` itself raises
    ValueError on some inputs (``http://[::1``), which must not escape as a bug."""
    if not isinstance(reference, str) or len(reference) > MAX_URL_LENGTH:
        raise UrlError(f"expected a URL reference, got {type(reference).__name__}")
    try:
        joined = urljoin(base, reference)
    except ValueError as exc:
        raise UrlError(f"{reference[:200]!r}: not a URL ({exc})") from None
    return str(parse_web_url(joined))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
