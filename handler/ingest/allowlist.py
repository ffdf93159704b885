"""Which hosts the archive may fetch from: the registered sites' domains and their subdomains by
default, exact hosts
added by configuration (``--allow-host``, ``ALLOWED_HOSTS``, a feed's ``allow_hosts``). A URL is
checked by the one URL parser before any request, and fetched exactly as checked."""

from __future__ import annotations

from collections.abc import Iterable

from handler.core import sitedefs
from handler.core.config import FetchSettings
from handler.core.errors import HostNotAllowedError, UrlError
from handler.core.urls import parse_web_url


class HostAllowlist:
    """The sites' hosts by default (domain + subdomains); exact extra hosts added by
    configuration."""

    def __init__(
        self,
        domains: Iterable[str],
        extra_hosts: Iterable[str] = (),
        hint: str = FetchSettings.allow_hint,
    ) -> None:
        self._domains = tuple(d.lower().strip(".") for d in (domains or sitedefs.domains()))
        self._hosts = frozenset(h.lower() for h in extra_hosts)
        self._hint = hint

    def allows(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if host in self._hosts:
            return True
        return any(host == d or host.endswith("." + d) for d in self._domains)

    def check(self, url: str) -> str:
        """The URL as it will be fetched (see handler.core.urls), or HostNotAllowedError unless it
        is an unambiguous http(s) URL on an allowed host."""
        try:
            parsed = parse_web_url(url)
        except UrlError as exc:
            raise HostNotAllowedError(f"refused URL {exc}", url=url) from exc
        if parsed.is_ip and parsed.host not in self._hosts:
            raise HostNotAllowedError(
                f"{url}: IP address {parsed.host!r} is not allowed (name it with {self._hint})",
                url=url,
            )
        if not self.allows(parsed.host):
            raise HostNotAllowedError(
                f"{url}: host {parsed.host!r} is not on the fetch allowlist (add it with "
                f"{self._hint})",
                url=url,
            )
        return str(parsed)
