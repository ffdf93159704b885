"""Re-extract archived articles from their WARC captures: no network, new versions only on change.

Used after an extraction fix: the stored capture is read back, extracted again with today's
rules, and compared with the current document by content hash. The new document keeps the
original capture's fetch time and feed context and is marked ``reprocessed_at``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from handler.archive.extraction import extract_document
from handler.archive.reader import article_keys
from handler.archive.warc import read_capture
from handler.core.errors import ArchiveError, NotAnArticleError
from handler.run.context import RunContext
from handler.run.events import Reprocess
from handler.run.outcomes import ArticleOutcome, RunSummary


def reprocess(ctx: RunContext, request: Reprocess) -> RunSummary:
    keys = list(article_keys(ctx.store, request.since, request.until, frozenset(request.ids)))
    now = datetime.now(UTC)
    with ctx.summarised(None) as summary:
        summary.items = len(keys)
        summary.outcomes = [reprocess_one(ctx, key, now) for key in keys]
    return summary


def reprocess_one(ctx: RunContext, key: str, now: datetime) -> ArticleOutcome:
    article_id = key.rsplit("/", 1)[-1].removesuffix(".json")
    if ctx.out_of_time():
        return ArticleOutcome(id=article_id, url="", status="deferred")
    store = ctx.store
    url = ""
    try:
        current = json.loads(store.get(key) or b"null")
        url = current["url"]
        raw_key = current["capture"]["raw_key"]
        raw = store.get(raw_key) if raw_key else None
        if raw is None:
            return ctx.failed(article_id, url, f"{key}: its raw capture {raw_key} is missing")
        response = read_capture(raw, raw_key)
        doc = extract_document(
            response.body,
            response.final_url,
            fetched_at=datetime.fromisoformat(current["fetched_at"]),
            feed_url=current["source"]["feed"],
            charset=response.charset,
        ).reprocessed(feed=current["feed"], capture=current["capture"], at=now)
        status = ctx.commit(doc, None)
    except NotAnArticleError as exc:  # today's rules know the page is none: keep what is stored
        return ctx.skipped(article_id, url, exc)
    except ArchiveError as exc:
        return ctx.failed(article_id, url, str(exc), exc)
    except (ValueError, KeyError, TypeError) as exc:
        return ctx.failed(article_id, url, f"{key}: not a readable document ({exc!r})")
    return ctx.stored(doc, url, status)
