"""The backfill use case: archive what a date range published that the archive lacks, from the
site's sitemap index, politely, resumably.

The index (``SITEMAP_INDEX_URL``, default ntv.de's) lists sitemaps; those last modified before
the range began cannot hold its articles and are not read. Each sitemap read is walked in
order: entries in the section and the range, not yet archived (one pointer read each), are
fetched one at a time, no faster than ``BACKFILL_RATE`` requests a second to the site.

A cursor (``state/backfill/<job>.json``: the sitemap and entry reached) is written as the walk
goes, so an invocation whose time runs out, or a command stopped with Ctrl-C, is resumed by the
next one with the same range and section, and no finished sitemap is read twice. A backfilled
article gets no revisits: it is history, not news.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time

from handler.archive.cursors import decode_cursor
from handler.archive.statestore import compare_and_swap
from handler.core.log import logger
from handler.core.models import article_id
from handler.ingest.sitemap import SitemapEntry, SitemapError, in_section, read_sitemap
from handler.run.article import archive_one
from handler.run.catchup import item_of
from handler.run.context import RunContext
from handler.run.outcomes import RunSummary
from handler.store.layout import backfill_key

SAVE_EVERY = 10  # entries between cursor writes (a stopped run redoes at most these)
MAX_SITEMAPS = 1000  # an index's sitemaps read at most per job


@dataclass
class Cursor:
    """How far one backfill job has come: the index's sitemap and the entry within it."""

    job: str
    sitemap: int = 0
    entry: int = 0
    done: bool = False
    archived: int = 0  # over every invocation of the job


@dataclass(frozen=True)
class Job:
    since: date
    until: date
    section: str | None

    @property
    def name(self) -> str:
        return f"{self.since}..{self.until} {self.section or '*'}"

    def covers(self, entry: SitemapEntry) -> bool:
        when = entry.when
        start = datetime.combine(self.since, day_time(), UTC)
        end = datetime.combine(self.until + timedelta(days=1), day_time(), UTC)
        return when is not None and start <= when < end and in_section(entry.loc, self.section)


class Pacer:
    """At most ``rate`` requests a second: waits out the rest of each interval."""

    def __init__(self, rate: float, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.sleep, self.clock = sleep, clock
        self._last: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            self.sleep(self.interval - (now - self._last))
            now = self.clock()
        self._last = now


def backfill(ctx: RunContext, job: Job, pacer: Pacer | None = None) -> RunSummary:
    """Walk the index from the job's cursor until done or out of time."""
    pacer = pacer or Pacer(ctx.settings.backfill_rate)
    key = backfill_key(job.name)
    cursor = _load(ctx, key, job.name)
    with ctx.summarised(None) as summary:
        report = {"job": job.name, "index": ctx.settings.sitemap_index_url}
        if not cursor.done:
            _walk(ctx, job, cursor, pacer, summary, key)
        summary.items = len(summary.outcomes)
        summary.backfill = {**report, **asdict(cursor)}
    return summary


def _walk(
    ctx: RunContext, job: Job, cursor: Cursor, pacer: Pacer, summary: RunSummary, key: str
) -> None:
    client = ctx.client_for(None)
    pacer.wait()
    index = read_sitemap(client, ctx.settings.sitemap_index_url, deadline=ctx.deadline()).sitemap
    assert index is not None
    children = list(index.children[:MAX_SITEMAPS]) or [
        SitemapEntry(ctx.settings.sitemap_index_url)  # a plain sitemap: walk it alone
    ]
    start = datetime.combine(job.since, day_time(), UTC)
    while cursor.sitemap < len(children):
        child = children[cursor.sitemap]
        if child.lastmod is not None and child.lastmod < start:
            cursor.sitemap, cursor.entry = cursor.sitemap + 1, 0  # older than the range
            continue
        entries = _entries(ctx, child, pacer)
        while cursor.entry < len(entries):
            if ctx.out_of_time():
                _save(ctx, key, cursor)
                summary.errors.append("time ran out: invoke again with the same range to go on")
                return
            entry = entries[cursor.entry]
            cursor.entry += 1
            if job.covers(entry) and not ctx.catalog.archived(article_id(entry.loc)):
                pacer.wait()
                outcome = archive_one(ctx, item_of(entry), None, news=False)
                summary.outcomes.append(outcome)
                ctx.ticker.tick(outcome)
                cursor.archived += outcome.status in ("new", "updated")
            if cursor.entry % SAVE_EVERY == 0:
                _save(ctx, key, cursor)
        cursor.sitemap, cursor.entry = cursor.sitemap + 1, 0
        _save(ctx, key, cursor)
    cursor.done = True
    _save(ctx, key, cursor)


def _entries(ctx: RunContext, child: SitemapEntry, pacer: Pacer) -> list[SitemapEntry]:
    """One sitemap's entries; a sitemap that cannot be read is logged and passed over."""
    pacer.wait()
    try:
        fetched = read_sitemap(ctx.client_for(None), child.loc, deadline=ctx.deadline()).sitemap
    except SitemapError as exc:
        logger.warning("backfill sitemap skipped", extra={"sitemap": child.loc, "reason": str(exc)})
        return []
    return list(fetched.entries) if fetched else []


def _load(ctx: RunContext, key: str, name: str) -> Cursor:
    return _decode(ctx.store.get(key), key, name)


def _decode(data: bytes | None, key: str, name: str) -> Cursor:
    return decode_cursor(data, key, Cursor, name, "backfill")


def _save(ctx: RunContext, key: str, cursor: Cursor) -> None:
    """The cursor only ever moves on (two invocations of one job at once keep the further)."""

    def further(stored: Cursor) -> None:
        mine = (cursor.done, cursor.sitemap, cursor.entry)
        if mine > (stored.done, stored.sitemap, stored.entry):
            stored.sitemap, stored.entry, stored.done = cursor.sitemap, cursor.entry, cursor.done
        stored.archived = max(stored.archived, cursor.archived)

    compare_and_swap(
        ctx.store, key,
        lambda data: _decode(data, key, cursor.job),
        lambda c: json.dumps(asdict(c), sort_keys=True).encode(),
        further,
    )  # fmt: skip
