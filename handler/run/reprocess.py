"""Re-extract archived articles from their WARC captures: offline, new versions only on change,
at any scale.

Used after an extraction fix: each stored capture is read back, extracted again with today's
rules and compared with the current document by content hash. The new document keeps the
original capture's fetch time and feed context and is marked ``reprocessed_at``; its manifest
line joins the day file of that capture (manifest.line_day_key), not today's.

A reprocess is a **job**: its range and ids, and the rules it applies (``rules_version``:
the extraction code and library versions). It is planned once from the manifest into
**shards**, one per publication day that holds articles in the range, and then either

- walked inline, shard by shard, with a cursor in ``state/reprocess/<job>.json``: an
  invocation whose time runs out (or a command stopped by Ctrl-C or kill -9) is resumed by the
  next one with the same request, from the article it reached; finished shards are never
  redone, and a finished job is not redone with the same rules (``restart`` forces it); or
- in fan-out mode (a queue configured), queued as one work message per shard: workers re-extract
  the shards in parallel, SQS retries a shard that failed or ran out of time, and redoing part
  of a shard writes nothing twice (an unchanged re-extraction is not stored).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from importlib import resources
from typing import Any

from handler.archive.cursors import decode_cursor
from handler.archive.document import build_document
from handler.archive.extraction import extract_page
from handler.archive.index import Location, current_locations
from handler.archive.reader import require_archive
from handler.archive.statestore import compare_and_swap
from handler.archive.warc import read_capture
from handler.core import jsontext, sitedefs
from handler.core.errors import ArchiveError, NotAnArticleError
from handler.core.log import logger
from handler.core.packages import installed_version
from handler.core.times import day as time_day
from handler.core.times import instant
from handler.core.version import __version__
from handler.run.commit import commit, failed, skipped, stored
from handler.run.context import RunContext
from handler.run.events import Reprocess
from handler.run.outcomes import ArticleOutcome, RunSummary
from handler.run.shards import Shard, plan_shards
from handler.store.layout import articles_day_prefix, reprocess_key

SAVE_EVERY = 25  # documents between cursor writes (a stopped run redoes at most these)
# The code whose change changes what a capture extracts to: a job is identified by it.
# The site-neutral rules; each registered site adds its own packages (core/sitedefs.py).
CORE_RULE_PACKAGES = ("handler.extract", "handler.sites")


def rules_version() -> str:
    """A short digest of the extraction rules in this deployment: the rule modules' source and
    the versions of the libraries they run on. A reprocess finished with these rules is not
    redone; a deployment that changes them makes the same request a new job."""
    digest = hashlib.sha256(f"{__version__} {installed_version('trafilatura')} "
                            f"{installed_version('lxml')}".encode())  # fmt: skip
    site_packages = (p for known in sitedefs.sites() for p in known.rule_packages)
    for package in (*CORE_RULE_PACKAGES, *site_packages):
        for module in sorted(resources.files(package).iterdir(), key=lambda p: p.name):
            if module.name.endswith(".py"):
                digest.update(module.name.encode() + b"\0" + module.read_bytes())
    digest.update(resources.files("handler.archive").joinpath("extraction.py").read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class Cursor:
    """How far one reprocess job has come."""

    job: str
    # Inline, a shard is a publication day (YYYY-MM-DD), walked in order; queued shards are
    # split further (plan_shards).
    shards: list[str] = field(default_factory=list)
    done: int = 0  # days finished
    after: str = ""  # within shards[done]: the last document finished (its key)
    reprocessed_at: str = ""  # the job's re-extraction time, shared by all its versions
    documents: int = 0  # documents re-extracted over every invocation
    queued: bool = False  # fan-out: every shard is on the queue
    complete: bool = False

    def check(self) -> None:
        """A cursor read back: its days real days, its position within them, its time one
        it can have (ValueError otherwise: see state.decode_cursor)."""
        if any(time_day(day) is None for day in self.shards):
            raise ValueError("a shard is not a publication day")
        if self.done > len(self.shards):
            raise ValueError(f"done {self.done} is past its {len(self.shards)} days")
        if self.reprocessed_at and instant(self.reprocessed_at, with_offset=True) is None:
            raise ValueError(f"reprocessed_at {self.reprocessed_at!r} is not a time it can have")

    def report(self) -> dict[str, Any]:
        return {"job": self.job, "days": len(self.shards), "days_done": self.done,
                "documents": self.documents, "queued": self.queued,
                "complete": self.complete}  # fmt: skip


def job_name(request: Reprocess) -> str:
    ids = hashlib.sha256(" ".join(sorted(request.ids)).encode()).hexdigest()[:12]
    scope = f"ids:{len(request.ids)}:{ids}" if request.ids else "all"
    return f"{request.since or '*'}..{request.until or '*'} {scope} rules:{rules_version()}"


def reprocess(ctx: RunContext, request: Reprocess, queue: Any = None) -> RunSummary:
    """Plan the job (or pick up its cursor) and walk it inline, or queue its shards."""
    require_archive(ctx.store)  # no job is planned into a store that holds no archive
    name = job_name(request)
    key = reprocess_key(name)
    with ctx.summarised(None) as summary:
        cursor = _load(ctx, key, name)
        located: list[Location] | None = None  # the manifest's answer, when this call planned
        if request.restart or not (cursor.shards or cursor.complete):
            located = _located(ctx, request)
            cursor = _save(ctx, key, _plan(ctx, located, name), plan=True,
                           restart=request.restart)  # fmt: skip
        queued = 0
        if not cursor.complete and queue is not None:
            if not cursor.queued:  # (queued by an earlier call: nothing to read or send)
                if located is None:  # planned by an earlier call whose send failed
                    located = _located(ctx, request)
                queued = _queue(ctx, queue, cursor, key, located)
        elif not cursor.complete:
            if located is not None:  # planned by this call: how many documents it will walk
                ctx.ticker.expect(len(located))
            _walk(ctx, request, cursor, summary, key)
        summary.items = len(summary.outcomes)
        summary.queued = queued
        summary.reprocess = cursor.report()
    return summary


def _located(ctx: RunContext, request: Reprocess) -> list[Location]:
    """The current version of each article the request covers, from the manifest."""
    return current_locations(ctx.store, request.since, request.until, frozenset(request.ids))


def _plan(ctx: RunContext, located: list[Location], name: str) -> Cursor:
    """The job's shards: the publication days the manifest has articles of in the range."""
    days = sorted({entry.day.isoformat() for entry in located})
    counts = {"shards": len(days), "documents": len(located)}
    logger.info("reprocess planned", extra={"run_id": ctx.run_id, "job": name, **counts})
    return Cursor(job=name, shards=days, reprocessed_at=ctx.clock().isoformat(),
                  complete=not days)  # fmt: skip


def _walk(
    ctx: RunContext, request: Reprocess, cursor: Cursor, summary: RunSummary, key: str
) -> None:
    at = datetime.fromisoformat(cursor.reprocessed_at)
    while cursor.done < len(cursor.shards):
        day = date.fromisoformat(cursor.shards[cursor.done])
        for doc_key in shard_keys(ctx, day, request.ids):
            if doc_key <= cursor.after:
                continue  # finished by an earlier invocation
            outcome = reprocess_one(ctx, doc_key, at)
            if outcome.status == "deferred":  # not done: the cursor must not pass it
                _settle_and_save(ctx, key, cursor)
                summary.errors.append("time ran out: invoke again with the same request to go on")
                return
            summary.outcomes.append(outcome)
            ctx.ticker.tick(outcome)
            cursor.after, cursor.documents = doc_key, cursor.documents + 1
            if cursor.documents % SAVE_EVERY == 0:
                _settle_and_save(ctx, key, cursor)
        cursor.done, cursor.after = cursor.done + 1, ""
        _settle_and_save(ctx, key, cursor)
    cursor.complete = True
    _save(ctx, key, cursor)


def _settle_and_save(ctx: RunContext, key: str, cursor: Cursor) -> None:
    """The lines of what is done go into the manifest before the cursor passes it. (What
    crashed runs left is recovered once, when the invocation finishes, not at every save.)"""
    ctx.settle_catalog(recover=False)
    _save(ctx, key, cursor)


def _queue(ctx: RunContext, queue: Any, cursor: Cursor, key: str, located: list[Location]) -> int:
    """Send the job's shards (a resend after a failed send is dropped by the FIFO queue's
    deduplication within its window, and redoes nothing after it: see the module doc)."""
    shards = plan_shards(located, cursor.job, cursor.reprocessed_at)
    queue.send(shards)
    cursor.queued = True
    _save(ctx, key, cursor)
    logger.info("reprocess queued", extra={"run_id": ctx.run_id, "job": cursor.job,
                                           "shards": len(shards)})  # fmt: skip
    return len(shards)


def reprocess_shard(ctx: RunContext, shard: Shard) -> list[ArticleOutcome]:
    """A worker's share of a job: every document of one publication day (or of its ids)."""
    at = datetime.fromisoformat(shard.reprocessed_at)
    return [reprocess_one(ctx, key, at) for key in shard_keys(ctx, shard.day, shard.ids)]


def shard_keys(ctx: RunContext, day: date, ids: tuple[str, ...]) -> Iterator[str]:
    """The current documents filed under ``day``, only ``ids`` when given, in key order."""
    wanted = frozenset(ids)
    for key in ctx.store.list(articles_day_prefix(day)):
        stem = key.rsplit("/", 1)[-1].removesuffix(".json")
        if key.endswith(".json") and (not wanted or stem in wanted):
            yield key


def reprocess_one(ctx: RunContext, key: str, now: datetime) -> ArticleOutcome:
    article_id = key.rsplit("/", 1)[-1].removesuffix(".json")
    if ctx.out_of_time():
        return ArticleOutcome(id=article_id, url="", status="deferred")
    store = ctx.store
    url = ""
    try:
        current = jsontext.loads(store.get(key) or b"null")
        url = current["url"]
        raw_key = current["capture"]["raw_key"]
        raw = store.get(raw_key) if raw_key else None
        if raw is None:
            return failed(ctx, article_id, url, f"{key}: its raw capture {raw_key} is missing")
        response = read_capture(raw, raw_key)
        extraction = extract_page(response.body, response.final_url, charset=response.charset)
        doc = build_document(
            extraction.fields,
            status=extraction.status,
            fetched_at=datetime.fromisoformat(current["fetched_at"]),
            feed_url=current["source"]["feed"],
        ).reprocessed(feed=current["feed"], capture=current["capture"], at=now)
        committed = commit(ctx, doc, None)
    except NotAnArticleError as exc:  # today's rules know the page is none: keep what is stored
        return skipped(ctx, article_id, url, exc)
    except ArchiveError as exc:
        return failed(ctx, article_id, url, str(exc), exc)
    except (ValueError, KeyError, TypeError) as exc:
        return failed(ctx, article_id, url, f"{key}: not a readable document ({exc!r})")
    return stored(ctx, doc, url, committed)


def _load(ctx: RunContext, key: str, name: str) -> Cursor:
    return _decode(ctx.store.get(key), key, name)


def _decode(data: bytes | None, key: str, name: str) -> Cursor:
    return decode_cursor(data, key, Cursor, name, "reprocess")


def _save(ctx: RunContext, key: str, cursor: Cursor, plan: bool = False,
          restart: bool = False) -> Cursor:  # fmt: skip
    """The stored cursor after ours is folded in; it only ever moves on (two invocations of
    one job at once keep the further). ``plan``: ours is a new plan, which replaces a stored
    one only on ``restart`` (else the one planned first is kept and walked)."""

    def further(stored: Cursor) -> None:
        if plan and (restart or not (stored.shards or stored.complete)):
            for name, value in asdict(cursor).items():
                setattr(stored, name, value)
            return
        if plan or stored.reprocessed_at != cursor.reprocessed_at:
            return  # another plan is in place (a restart replaced ours): leave it be
        mine = (cursor.complete, cursor.done, cursor.after)
        if mine > (stored.complete, stored.done, stored.after):
            stored.complete, stored.done, stored.after = mine
        stored.queued = stored.queued or cursor.queued
        stored.documents = max(stored.documents, cursor.documents)

    return compare_and_swap(
        ctx.store, key,
        lambda data: _decode(data, key, cursor.job),
        lambda c: json.dumps(asdict(c), sort_keys=True).encode(),
        further,
    )  # fmt: skip
