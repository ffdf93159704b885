"""What the archive knows of each site it archives, as data: one ``SiteInfo`` per site, declared
in the site's own folder (``handler/sites/<name>/``) and registered when that package is
imported. Code outside ``sites/`` asks this registry and names no site: the id an article gets,
the hosts the site serves from, its time zone, its news sitemap and sitemap index, how its feed
titles pair a kicker with a headline, and which packages hold its rules.

Registration order matters once: an URL path two sites' id rules would both read is the first
registered site's (the built-in sites register first, see ``handler/sites/__init__.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SiteInfo:
    name: str  # the feeds file's profile, and the prefix of the site's article ids
    domains: tuple[str, ...]  # served from these and their subdomains
    # A path pattern whose one group is the site's own article number: "ntv-<number>".
    article_number: re.Pattern[str]
    rules: str  # the module whose ``RULES`` (a handler.sites.rules.Site) reads its pages
    rule_packages: tuple[str, ...] = ()  # whose source fingerprints the rules (reprocess)
    zone: str = "UTC"  # what a time written without an offset on its pages means
    news_sitemap: str | None = None  # read to catch up after a gap longer than a feed
    sitemap_index: str | None = None  # walked by a backfill
    title_separator: str | None = None  # "Kicker: Headline" in its feed titles: ": "

    def number_of(self, path: str) -> str | None:
        match = self.article_number.search(path)
        return match.group(1) if match else None

    def split_title(self, title: str) -> tuple[str | None, str]:
        """A feed title as (kicker, headline) by the site's convention; no kicker without one
        (a kicker may itself be quoted, so the first separator splits)."""
        if not self.title_separator:
            return None, title.strip()
        kicker, sep, headline = title.partition(self.title_separator)
        if not sep or not kicker.strip() or not headline.strip():
            return None, title.strip()
        return kicker.strip(), headline.strip()


_SITES: dict[str, SiteInfo] = {}


def register(site: SiteInfo) -> SiteInfo:
    """Make ``site`` known (again: the same name replaces the earlier definition)."""
    _SITES[site.name] = site
    return site


def unregister(name: str) -> None:
    _SITES.pop(name, None)


def site(name: str | None) -> SiteInfo | None:
    """The site of a feed's profile; None for ``generic`` (or a name no site registered)."""
    return _SITES.get(name) if name else None


def sites() -> tuple[SiteInfo, ...]:
    return tuple(_SITES.values())


def domains() -> tuple[str, ...]:
    """Every registered site's domains: the hosts fetched without further configuration."""
    return tuple(domain for known in _SITES.values() for domain in known.domains)


def split_title(title: str, name: str | None) -> tuple[str | None, str]:
    """A feed title split by the convention of the site ``name`` (none: no kicker)."""
    known = site(name)
    return known.split_title(title) if known else (None, title.strip())
