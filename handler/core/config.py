"""Run settings shared by the CLI and the Lambda entry."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from handler.core.errors import ConfigError, UrlError

N = TypeVar("N", int, float)

# Every default is defined here once: the dataclasses below, the Lambda environment parser, the
# CLI's options and the tables in docs/ read these (tests/test_settings.py holds them together).
DEFAULT_FEED_URL = "https://www.n-tv.de/politik/rss"
DEFAULT_STORE = "./archive"
DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MIN_REMAINING_S = 30.0
DEFAULT_FINISH_RESERVE_S = 10.0
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_DELAY_S = 600.0
DEFAULT_MAX_RECEIVES = 5
DEFAULT_RECOVER_AFTER_S = 900.0
DEFAULT_MODE = "inline"
# The news sitemap read to catch up after a gap longer than the feed's window.
DEFAULT_SITEMAP_URL = "https://www.n-tv.de/news.xml"
# The sitemap index a backfill walks, and how many requests a second it sends to one host.
DEFAULT_SITEMAP_INDEX_URL = "https://www.n-tv.de/sitemap.xml"
DEFAULT_BACKFILL_RATE = 1.0
# When an archived article is looked at again, counted from when it was first archived.
DEFAULT_REVISIT_AFTER = "30m,2h,6h,24h,3d,7d"

# Domains whose hosts (the domain itself and every subdomain) may be fetched by default.
# The site profile a feed has unless it names one (the feeds file's ``profile``).
DEFAULT_PROFILE = "ntv"


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


MAX_REVISIT_STEPS = 1000
MAX_REVISIT_AFTER = timedelta(days=366)  # schedule entries are read back within 400 days


def revisit_steps(spec: str, where: str = "revisit schedule") -> tuple[timedelta, ...]:
    """``"30m,2h,6h,24h,3d,7d"`` as increasing delays; ``"off"`` (or empty): no revisits.
    ConfigError names ``where`` and the part that is wrong."""
    if spec.strip().lower() in ("", "off", "none"):
        return ()
    steps: list[timedelta] = []
    parts = [p.strip().lower() for p in spec.split(",")]
    if len(parts) > MAX_REVISIT_STEPS:
        raise ConfigError(f"{where}: {len(parts)} steps; at most {MAX_REVISIT_STEPS}")
    for part in parts:
        number, unit = part[:-1], part[-1:]
        # ASCII digits only ("²".isdigit() is true, int("²") is not), and few of them.
        if unit not in _UNITS or not re.fullmatch(r"[0-9]{1,9}", number) or int(number) < 1:
            raise ConfigError(f"{where}: {part!r} is not a delay like 30m, 2h or 3d (s, m, h, d)")
        step = timedelta(seconds=int(number) * _UNITS[unit])
        if step > MAX_REVISIT_AFTER:
            raise ConfigError(f"{where}: {part!r} is later than a year after first archiving")
        if steps and step <= steps[-1]:
            raise ConfigError(f"{where}: {part!r} is not later than the step before it")
        steps.append(step)
    return tuple(steps)


@dataclass(frozen=True)
class FetchSettings:
    """How the HTTP client behaves; tests shorten the timeouts and retries."""

    # Hosts fetched without further configuration; empty: every registered site's domains
    # (core/sitedefs.py).
    allowed_domains: tuple[str, ...] = ()
    extra_hosts: frozenset[str] = frozenset()
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    # The whole fetch (every redirect hop: connect, headers, body) ends by this many seconds:
    # a body dripping one byte a second never trips the read timeout, this does.
    total_timeout: float = 60.0
    retries: int = 2
    backoff_factor: float = 0.5
    max_redirects: int = 5
    max_bytes: int = DEFAULT_MAX_BYTES
    # A server's Retry-After is honoured up to this many seconds (it stays inside the 30 s an
    # invocation keeps in reserve, see RunSettings.min_remaining_s).
    max_retry_after: int = 20
    # How the person at hand adds a host: the CLI commands say their option, the Lambda (and
    # `invoke`, which runs it) its setting. Only the wording of a refusal depends on it.
    allow_hint: str = "the ALLOWED_HOSTS setting"


@dataclass(frozen=True)
class RetryPolicy:
    """How failed articles are retried on later runs before they are parked under failed/."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    first_delay: timedelta = timedelta(seconds=DEFAULT_RETRY_DELAY_S)
    max_delay: timedelta = timedelta(hours=12)

    def next_retry(self, attempts: int, now: datetime) -> datetime:
        return now + min(self.first_delay * 2 ** max(attempts - 1, 0), self.max_delay)


@dataclass(frozen=True)
class RunSettings:
    """What one poll does."""

    feed_url: str = DEFAULT_FEED_URL
    store: str = DEFAULT_STORE
    max_items: int | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    # An article is only started while at least this much invocation time is left, and every
    # fetch (even one already under way) ends while this much is left for the run's own writes.
    min_remaining_s: float = DEFAULT_MIN_REMAINING_S
    finish_reserve_s: float = DEFAULT_FINISH_RESERVE_S
    fetch: FetchSettings = field(default_factory=FetchSettings)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    event_bus: str | None = None  # EventBridge bus for change events; none: no events
    feeds_file: str | None = None  # path or s3:// of the feeds file; none: feed_url alone
    mode: str = DEFAULT_MODE  # "fanout": the poller queues items for workers (queue_url)
    queue_url: str | None = None
    dead_letter_url: str | None = None  # where a worker moves a message it gives up on
    # receives after which a worker dead-letters a failing message
    max_receives: int = DEFAULT_MAX_RECEIVES
    # An intent marker older than this belongs to a run that died (see catalog.Catalog); more
    # than any run lives between a marker and its commit (Lambda's limit is 15 minutes).
    pending_grace_s: float = DEFAULT_RECOVER_AFTER_S
    # After an article is first archived it is fetched again (conditionally) this long after;
    # empty: never (only feed changes bring it back).
    revisit_after: tuple[timedelta, ...] = revisit_steps(DEFAULT_REVISIT_AFTER)
    sitemap_url: str = DEFAULT_SITEMAP_URL
    sitemap_index_url: str = DEFAULT_SITEMAP_INDEX_URL
    backfill_rate: float = DEFAULT_BACKFILL_RATE  # requests per second to the site
    # After an invocation that stored something, bring the static site (site/) up to date.
    publish_site: bool = False


def settings_from_env(env: Mapping[str, str]) -> RunSettings:
    """The Lambda's settings (documented in docs/deploy.md, "Configuration")."""
    hosts = allowed_hosts(env.get("ALLOWED_HOSTS", ""))
    max_items = env.get("MAX_ITEMS", "").strip()
    return RunSettings(
        feed_url=_web_url(env, "FEED_URL", DEFAULT_FEED_URL),
        store=env.get("ARCHIVE_STORE", "").strip() or DEFAULT_STORE,
        max_items=_number(env, "MAX_ITEMS", int) if max_items else None,
        concurrency=_number(env, "CONCURRENCY", int, DEFAULT_CONCURRENCY),
        min_remaining_s=_number(env, "MIN_REMAINING_SECONDS", float, DEFAULT_MIN_REMAINING_S),
        finish_reserve_s=_number(env, "FINISH_RESERVE_SECONDS", float, DEFAULT_FINISH_RESERVE_S),
        fetch=FetchSettings(
            extra_hosts=hosts,
            max_bytes=_number(env, "MAX_RESPONSE_BYTES", int, DEFAULT_MAX_BYTES),
        ),
        event_bus=env.get("EVENT_BUS_NAME", "").strip() or None,
        feeds_file=env.get("FEEDS_FILE", "").strip() or None,
        mode=_mode(env),
        queue_url=env.get("QUEUE_URL", "").strip() or None,
        dead_letter_url=env.get("DEAD_LETTER_URL", "").strip() or None,
        max_receives=_number(env, "MAX_RECEIVES", int, DEFAULT_MAX_RECEIVES),
        pending_grace_s=_number(env, "RECOVER_AFTER_SECONDS", float, DEFAULT_RECOVER_AFTER_S),
        sitemap_url=_web_url(env, "SITEMAP_URL", DEFAULT_SITEMAP_URL),
        sitemap_index_url=_web_url(env, "SITEMAP_INDEX_URL", DEFAULT_SITEMAP_INDEX_URL),
        backfill_rate=_number(env, "BACKFILL_RATE", float, DEFAULT_BACKFILL_RATE),
        publish_site=_switch(env, "PUBLISH_SITE"),
        revisit_after=revisit_steps(
            env.get("REVISIT_AFTER", "").strip() or DEFAULT_REVISIT_AFTER,
            "environment variable REVISIT_AFTER",
        ),
        retry=RetryPolicy(
            max_attempts=_number(env, "MAX_ATTEMPTS", int, DEFAULT_MAX_ATTEMPTS),
            first_delay=timedelta(
                seconds=_number(env, "RETRY_DELAY_SECONDS", float, DEFAULT_RETRY_DELAY_S)
            ),
        ),
    )


def _switch(env: Mapping[str, str], name: str) -> bool:
    """An on/off setting: "true" or "false" (any case), unset or empty is off."""
    raw = env.get(name, "").strip().lower()
    if raw not in ("", "true", "false"):
        raise ConfigError(f"environment variable {name}={env[name]!r} is not 'true' or 'false'")
    return raw == "true"


def _mode(env: Mapping[str, str]) -> str:
    mode = env.get("MODE", "").strip() or DEFAULT_MODE
    if mode not in ("inline", "fanout"):
        raise ConfigError(f"environment variable MODE={mode!r} is not 'inline' or 'fanout'")
    if mode == "fanout" and not env.get("QUEUE_URL", "").strip():
        raise ConfigError("MODE=fanout needs QUEUE_URL (the queue the workers read)")
    return mode


def allowed_hosts(setting: str) -> frozenset[str]:
    """``ALLOWED_HOSTS``: host names separated by commas, each by the rule of --allow-host."""
    from handler.core.urls import parse_host_name

    hosts = set()
    for raw in (h.strip(" \t") for h in setting.split(",") if h.strip(" \t")):
        try:
            hosts.add(parse_host_name(raw))
        except UrlError as exc:
            raise ConfigError(f"environment variable ALLOWED_HOSTS: {exc}") from None
    return frozenset(hosts)


def _web_url(env: Mapping[str, str], name: str, default: str) -> str:
    """A URL setting, read by the one URL parser (the CLI's options are too)."""
    from handler.core.urls import parse_web_url

    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        parse_web_url(raw)
    except UrlError as exc:
        raise ConfigError(f"environment variable {name}: {exc}") from None
    return raw  # as given, as the CLI's options are: the feed's URL keys its state


MAX_SETTING = 1_000_000_000  # no count, size or number of seconds set here is larger


def _number(env: Mapping[str, str], name: str, kind: type[N], default: N | None = None) -> N:
    raw = env.get(name, "").strip()
    if not raw and default is not None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    # NaN compares false with everything: it would pass "< 1" and switch a limit off.
    if value is None or not math.isfinite(value) or not 1 <= value <= MAX_SETTING:
        raise ConfigError(f"environment variable {name}={raw!r} is not a positive number "
                          f"up to {MAX_SETTING:,}")  # fmt: skip
    return value


# Where each default shows: the Lambda environment variable and the CLI option that set it.
ENV_DEFAULTS: dict[str, object] = {
    "ARCHIVE_STORE": DEFAULT_STORE,
    "FEED_URL": DEFAULT_FEED_URL,
    "CONCURRENCY": DEFAULT_CONCURRENCY,
    "MIN_REMAINING_SECONDS": DEFAULT_MIN_REMAINING_S,
    "FINISH_RESERVE_SECONDS": DEFAULT_FINISH_RESERVE_S,
    "MAX_ATTEMPTS": DEFAULT_MAX_ATTEMPTS,
    "RETRY_DELAY_SECONDS": DEFAULT_RETRY_DELAY_S,
    "MAX_RESPONSE_BYTES": DEFAULT_MAX_BYTES,
    "RECOVER_AFTER_SECONDS": DEFAULT_RECOVER_AFTER_S,
    "MODE": DEFAULT_MODE,
    "MAX_RECEIVES": DEFAULT_MAX_RECEIVES,
    "REVISIT_AFTER": DEFAULT_REVISIT_AFTER,
    "SITEMAP_URL": DEFAULT_SITEMAP_URL,
    "SITEMAP_INDEX_URL": DEFAULT_SITEMAP_INDEX_URL,
    "BACKFILL_RATE": DEFAULT_BACKFILL_RATE,
    "PUBLISH_SITE": "false",
}
FLAG_DEFAULTS: dict[str, object] = {
    "--feed-url": DEFAULT_FEED_URL,
    "--store": DEFAULT_STORE,
    "--concurrency": DEFAULT_CONCURRENCY,
    "--max-bytes": DEFAULT_MAX_BYTES,
    "--max-attempts": DEFAULT_MAX_ATTEMPTS,
    "--retry-delay": DEFAULT_RETRY_DELAY_S,
    "--recover-after": DEFAULT_RECOVER_AFTER_S,
    "--revisit-after": DEFAULT_REVISIT_AFTER,
    "--sitemap-url": DEFAULT_SITEMAP_URL,
}
