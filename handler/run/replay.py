"""The replay use case: fetch and archive given URLs (the allowlist applies)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from handler.archive.reader import NotFoundError, get_article
from handler.archive.state import RunState
from handler.archive.statestore import StateStore
from handler.core import jsontext
from handler.core.errors import ConfigError
from handler.core.models import FeedItem
from handler.run.article import archive_items
from handler.run.context import RunContext
from handler.run.outcomes import RunSummary
from handler.store import BlobStore
from handler.store.layout import failed_key


def replay(ctx: RunContext, urls: Iterable[str], force: bool = False) -> RunSummary:
    """Fetch and archive these URLs (allowlist applies); ``force`` rewrites unchanged ones."""
    items = [FeedItem.for_url(url) for url in urls]
    with ctx.summarised(None) as summary:
        if items:
            ctx.revisits.expect_first(ctx.state)  # new articles get entries: no hint may hide them
        summary.items = len(items)
        summary.outcomes = archive_items(ctx, items, force=force)
        archived = [i.id for i, o in zip(items, summary.outcomes, strict=True) if o.key]
        if archived:  # a replay is how a parked or pending article is brought home
            ctx.state.update(lambda state: record_successes(ctx, state, archived))
            ctx.state.forget_parked(archived)
    return summary


def record_successes(ctx: RunContext, state: RunState, article_ids: list[str]) -> None:
    for archived_id in article_ids:
        ctx.state.record_success(state, archived_id)


_ARCHIVE_ID = re.compile(r"^[a-z]+-[0-9a-f]+\Z")


def replay_targets(store: BlobStore, wanted: list[str]) -> list[str]:
    """The URLs to replay for archive ids or URLs (as a person names them): an id is looked up
    in the archive (where its current version was fetched from), then among the pending and
    parked articles. ConfigError names an id the archive does not know."""
    urls: list[str] = []
    pending: dict[str, str] | None = None
    for value in wanted:
        if not _ARCHIVE_ID.match(value):
            urls.append(value)  # a URL: the event's own check (one parsing border) judges it
            continue
        try:
            urls.append(_fetched_url(get_article(store, value)))
            continue
        except NotFoundError:
            pass
        if pending is None:
            pending = {p.item.id: p.item.link for p in StateStore(store).load().pending.values()}
        parked = store.get(failed_key(value))
        if value in pending:
            urls.append(pending[value])
        elif parked is not None:
            urls.append(_parked_url(parked, failed_key(value)))
        else:
            raise ConfigError(
                f"{value}: no such article in {store.describe()} (archived, pending or parked); "
                "give its URL instead"
            )
    return urls


def _fetched_url(doc: dict[str, object]) -> str:
    """Where the current version was fetched from (its capture), else its canonical URL."""
    capture = doc.get("capture")
    final = capture.get("final_url") if isinstance(capture, dict) else None
    return str(final or doc["url"])


def _parked_url(record: bytes, key: str) -> str:
    try:
        url = jsontext.loads(record)["url"]
        if isinstance(url, str) and url:
            return url
    except (ValueError, KeyError, TypeError):
        pass
    raise ConfigError(f"{key}: the parked record names no URL; give the article's URL instead")
