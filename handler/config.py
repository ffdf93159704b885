"""Run settings shared by the CLI and the Lambda entry."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_FEED_URL = "https://www.n-tv.de/politik/rss"
DEFAULT_STORE = "./archive"
DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_BYTES = 5 * 1024 * 1024

# Domains whose hosts (the domain itself and every subdomain) may be fetched by default.
NTV_DOMAINS: tuple[str, ...] = ("n-tv.de", "ntv.de")


@dataclass(frozen=True)
class FetchSettings:
    """How the HTTP client behaves; tests shorten the timeouts and retries."""

    allowed_domains: tuple[str, ...] = NTV_DOMAINS
    extra_hosts: frozenset[str] = frozenset()
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    retries: int = 2
    backoff_factor: float = 0.5
    max_redirects: int = 5
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class RunSettings:
    """What one poll does."""

    feed_url: str = DEFAULT_FEED_URL
    store: str = DEFAULT_STORE
    max_items: int | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    fetch: FetchSettings = field(default_factory=FetchSettings)
