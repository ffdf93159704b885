"""Catch-up after a gap: when the feed no longer reaches back to what it listed at the last
read (an outage longer than its window), the site's news sitemap says what was published
meanwhile.

The sign: the feed's oldest listed item is newer than the newest item it listed before (the
run state's ``newest``). Anything published between the two may have come and gone. Then the
news sitemap (``SITEMAP_URL``; an index is followed, bounded) is read, and its entries kept
that lie in the feed's section, were published since then (an hour's margin) and are not
archived yet (one pointer read each). Those are archived with the feed's items, as feed items
of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from handler.core import sitedefs
from handler.core.config import DEFAULT_PROFILE
from handler.core.log import logger
from handler.core.models import FeedItem, article_id
from handler.ingest.feeds import FeedConfig
from handler.ingest.sitemap import SitemapEntry, SitemapError, in_section, walk
from handler.run.context import RunContext

MARGIN = timedelta(hours=1)  # clocks and sitemap times disagree a little
MAX_SITEMAPS = 20  # an index's children read at most, the index included
# A news sitemap dates its entries; one that does not cannot say which fall in the gap. Those
# are taken up to a small number, and no catch-up takes more than a day of politics can hold:
# the rest is counted (left_out), never fetched in one run nor parked in the run state.
MAX_UNDATED = 50
MAX_CATCHUP_ITEMS = 500


@dataclass
class CatchUp:
    """What one catch-up found, for the run summary."""

    sitemap: str
    since: str
    entries: int = 0  # entries in the sitemaps read
    in_section: int = 0  # of those, in the feed's section and published since the last poll
    archived_before: int = 0  # of those, already in the archive
    off_allowlist: int = 0  # of those, on a host the archive may not fetch from
    items: list[FeedItem] = field(default_factory=list)  # to archive now
    error: str | None = None
    undated: int = 0  # in-section entries without a usable date (at most MAX_UNDATED taken)
    left_out: int = 0  # over the caps: counted, not taken

    def to_dict(self) -> dict[str, object]:
        found = {"sitemap": self.sitemap, "since": self.since, "entries": self.entries,
                 "in_section": self.in_section, "archived_before": self.archived_before,
                 "off_allowlist": self.off_allowlist, "to_archive": len(self.items)}  # fmt: skip
        extra = {"undated": self.undated, "left_out": self.left_out, "error": self.error}
        return {**found, **{name: value for name, value in extra.items() if value}}


def gap_since(newest_before: datetime | None, listed: list[FeedItem]) -> datetime | None:
    """The start of a gap the feed cannot cover: the newest date it listed before, when every
    item it lists now is newer (None: the windows overlap, or nothing to tell it by)."""
    dates = [item.published for item in listed if item.published is not None]
    if newest_before is None or not dates or min(dates) <= newest_before:
        return None
    return newest_before


def catch_up(ctx: RunContext, feed: FeedConfig, since: datetime, listed: list[FeedItem]) -> CatchUp:
    """The articles of ``feed``'s section that the news sitemap lists since ``since`` and the
    archive lacks; a sitemap that cannot be read is reported, never a failed poll."""
    url = news_sitemap_of(ctx, feed)
    if url is None:  # no site, or one without a news sitemap: the gap cannot be read
        logger.info("catch-up: no news sitemap", extra={"run_id": ctx.run_id, "feed": feed.url})
        return CatchUp(sitemap="", since=since.isoformat())
    found = CatchUp(sitemap=url, since=since.isoformat())
    listed_ids = {item.id for item in listed}
    wanted: dict[str, SitemapEntry] = {}
    try:
        for sitemap in walk(ctx.client_for(feed), url, MAX_SITEMAPS, ctx.deadline()):
            found.entries += len(sitemap.entries)
            for entry in sitemap.entries:
                when = entry.when
                if not in_section(entry.loc, feed.section):
                    continue
                if when is None:
                    found.undated += 1
                    if found.undated > MAX_UNDATED:
                        found.left_out += 1
                        continue
                elif when < since - MARGIN:
                    continue
                wanted.setdefault(article_id(entry.loc), entry)
    except SitemapError as exc:
        found.error = str(exc)
        logger.error("catch-up sitemap not read", extra={"run_id": ctx.run_id, "reason": str(exc)})
        return found
    found.in_section = len(wanted)
    allowlist = ctx.client_for(feed).allowlist
    for item_id, entry in wanted.items():
        if item_id in listed_ids:
            continue  # the feed has it: archived with the feed's items
        if not allowlist.allows(urlsplit(entry.loc).hostname or ""):
            found.off_allowlist += 1  # said, not fetched: a sitemap is no authority
            continue
        if len(found.items) >= MAX_CATCHUP_ITEMS:
            found.left_out += 1  # not even looked up: the cap bounds the reads too
        elif ctx.catalog.archived(item_id):
            found.archived_before += 1
        else:
            found.items.append(item_of(entry, feed.profile))
    logger.info("catch-up", extra={"run_id": ctx.run_id, **found.to_dict()})
    return found


def news_sitemap_of(ctx: RunContext, feed: FeedConfig) -> str | None:
    """The news sitemap of the feed's site: the deployment's (SITEMAP_URL, --sitemap-url) for
    the default profile's site, another site's own (core/sitedefs.py)."""
    if feed.profile == DEFAULT_PROFILE:
        return ctx.settings.sitemap_url
    known = sitedefs.site(feed.profile)
    return known.news_sitemap if known else None


def item_of(entry: SitemapEntry, profile: str = DEFAULT_PROFILE) -> FeedItem:
    """A sitemap entry as the feed item it stands for (its news title split like a feed's)."""
    title = entry.title or ""
    kicker, headline = sitedefs.split_title(title, profile)
    return FeedItem(id=article_id(entry.loc), link=entry.loc, title=title, kicker=kicker,
                    headline=headline, teaser=None, category=None,
                    published=entry.when)  # fmt: skip
