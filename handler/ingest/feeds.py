"""The feeds file: which feeds the archive polls (``--feeds`` / ``FEEDS_FILE``, a path or s3://).

    {"feeds": [
      {"name": "politik", "url": "https://www.n-tv.de/politik/rss",
       "profile": "ntv", "schedule": "default", "allow_hosts": [], "section": "politik"}
    ]}

``profile`` is the site rule family (``ntv``; ``generic`` skips site rules), ``schedule`` the
class of schedule that polls it (the scheduled event polls class ``default``), ``allow_hosts``
exact hosts added to the fetch allowlist for this feed's articles, ``section`` the URL folder
its articles live under (catch-up keeps those of the news sitemap; default: the feed URL's
first folder). Without a file the archive
polls one feed, FEED_URL (default: the ntv.de politics feed). A file that does not fit is
refused with one line naming the line or the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from handler.core import jsontext, sitedefs
from handler.core.config import DEFAULT_PROFILE
from handler.core.errors import ConfigError, UrlError
from handler.core.urls import parse_host_name, parse_web_url

GENERIC = "generic"  # no site: trafilatura alone


def profiles() -> list[str]:
    """The profiles a feed may name: each registered site's (core/sitedefs.py), and generic."""
    return sorted({*(known.name for known in sitedefs.sites()), GENERIC})


_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}\Z")
_FIELDS = {"name", "url", "profile", "schedule", "allow_hosts", "section"}
DEFAULT_SCHEDULE = "default"


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    profile: str = DEFAULT_PROFILE
    schedule: str = DEFAULT_SCHEDULE
    allow_hosts: frozenset[str] = field(default_factory=frozenset)
    # The site section the feed covers, as the first folder of its article URLs ("politik");
    # catch-up keeps the sitemap's entries under it. None: derived from the feed's own URL
    # (https://www.n-tv.de/politik/rss -> "politik"; a feed at the site's root: every section).
    section_name: str | None = None

    @property
    def section(self) -> str | None:
        if self.section_name:
            return self.section_name
        folders = [part for part in urlsplit(self.url).path.split("/") if part]
        return folders[0].lower() if len(folders) > 1 else None


def default_feeds(feed_url: str) -> list[FeedConfig]:
    return [FeedConfig(name="default", url=feed_url)]


def configured_feeds(feeds_file: str | None, feed_url: str) -> list[FeedConfig]:
    """The feeds file's feeds, or the one ``feed_url`` feed when there is no file."""
    return load_feeds(feeds_file) if feeds_file else default_feeds(feed_url)


def load_feeds(source: str) -> list[FeedConfig]:
    """Read and validate a feeds file from a path or ``s3://bucket/key``."""
    return parse_feeds(_read(source), source)


def parse_feeds(data: bytes, where: str) -> list[FeedConfig]:
    try:
        raw = jsontext.loads(data)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text ({exc.reason})") from exc
    entries = raw.get("feeds") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f'{where}: expected {{"feeds": [ ... ]}} with at least one feed')
    feeds = [_feed(entry, f"{where}: feeds[{i}]") for i, entry in enumerate(entries)]
    for kind in ("name", "url"):
        values = [getattr(f, kind) for f in feeds]
        duplicate = next((v for v in values if values.count(v) > 1), None)
        if duplicate:
            raise ConfigError(f"{where}: two feeds have the {kind} {duplicate!r}")
    return feeds


def parse_feed_entry(entry: Any, where: str) -> FeedConfig:
    """One feeds-file entry, validated (ConfigError names the field)."""
    return _feed(entry, where)


def _feed(entry: Any, where: str) -> FeedConfig:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected an object")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
    name, url = entry.get("name"), entry.get("url")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}.name: expected a short lower-case name, got {name!r}")
    if not isinstance(url, str):
        raise ConfigError(f"{where}.url: expected an http(s) URL, got {url!r}")
    try:
        parse_web_url(url)
    except UrlError as exc:
        raise ConfigError(f"{where}.url: expected an http(s) URL, got {exc}") from exc
    profile = entry.get("profile", DEFAULT_PROFILE)
    if not isinstance(profile, str) or profile not in profiles():
        raise ConfigError(f"{where}.profile: expected one of {profiles()}, got {profile!r}")
    schedule = entry.get("schedule", DEFAULT_SCHEDULE)
    if not isinstance(schedule, str) or not _NAME.match(schedule):
        raise ConfigError(f"{where}.schedule: expected a schedule class name, got {schedule!r}")
    raw_hosts = entry.get("allow_hosts", [])
    if not isinstance(raw_hosts, list):
        raise ConfigError(f"{where}.allow_hosts: expected a list of host names")
    hosts = []
    for n, host in enumerate(raw_hosts):
        try:
            hosts.append(parse_host_name(host))  # the rule --allow-host follows
        except UrlError as exc:
            raise ConfigError(f"{where}.allow_hosts[{n}]: {exc}") from None
    section = entry.get("section")
    if section is not None and (not isinstance(section, str) or not _NAME.match(section)):
        raise ConfigError(f"{where}.section: expected a URL folder name like 'politik', "
                          f"got {section!r}")  # fmt: skip
    return FeedConfig(name, url, profile, schedule, frozenset(hosts), section)


def _read(source: str) -> bytes:
    if source.startswith("s3://"):
        from handler.store import S3Store

        bucket, _, key = source.removeprefix("s3://").partition("/")
        data = S3Store(bucket).get(key) if bucket and key else None
    else:
        try:
            with open(source, "rb") as handle:  # noqa: PTH123 (a str path from configuration)
                data = handle.read()
        except OSError as exc:
            raise ConfigError(f"{source}: {exc.strerror}") from exc
    if data is None:
        raise ConfigError(f"{source}: no such feeds file")
    return data
