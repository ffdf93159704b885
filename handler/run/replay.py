"""The replay use case: fetch and archive given URLs (the allowlist applies)."""

from __future__ import annotations

from collections.abc import Iterable

from handler.archive.state import RunState
from handler.core.models import FeedItem
from handler.run.context import RunContext
from handler.run.outcomes import RunSummary


def replay(ctx: RunContext, urls: Iterable[str], force: bool = False) -> RunSummary:
    """Fetch and archive these URLs (allowlist applies); ``force`` rewrites unchanged ones."""
    items = [FeedItem.for_url(url) for url in urls]
    with ctx.summarised(None) as summary:
        if items:
            ctx.expect_first_revisits()  # new articles get entries: no hint may hide them
        summary.items = len(items)
        summary.outcomes = ctx.archive_items(items, force=force)
        archived = [i.id for i, o in zip(items, summary.outcomes, strict=True) if o.key]
        if archived:  # a replay is how a parked or pending article is brought home
            ctx.state.update(lambda state: record_successes(ctx, state, archived))
            ctx.state.forget_parked(archived)
    return summary


def record_successes(ctx: RunContext, state: RunState, article_ids: list[str]) -> None:
    for archived_id in article_ids:
        ctx.state.record_success(state, archived_id)
