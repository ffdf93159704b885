"""Where the typed document meets the store: a version committed (intent marker, capture,
document, manifest line, change event), and the outcome each article ends with, logged once."""

from __future__ import annotations

from typing import NamedTuple

from handler.archive.document import Document
from handler.archive.versions import Intent, save_version
from handler.core.capture import Capture
from handler.core.errors import ArchiveError, NotAnArticleError
from handler.core.log import logger
from handler.run.context import RunContext
from handler.run.outcomes import ArticleOutcome, Status
from handler.store.layout import article_key


class Committed(NamedTuple):
    """What committing a version did: its status, the change summary of an update, and where
    the current document is (where the article is filed: not always its date's folder)."""

    status: Status
    change: str | None
    key: str


def commit(
    ctx: RunContext,
    document: Document,
    response: Capture | None,
    force: bool = False,
    poll_run_id: str | None = None,
    capture: bytes | None = None,
    newer_only: bool = False,
) -> Committed:
    """Store a version; a new or updated one goes into the manifest and is announced. The
    catalog's intent marker is written just before the document (see Catalog)."""
    doc = document.to_json()
    markers: list[tuple[str, Status]] = []

    def intend(intent: Intent) -> None:
        markers.append((ctx.catalog.intend(doc, intent), intent.status))

    try:
        status: Status = save_version(ctx.store, doc, response, force=force,
                                      before_writes=intend, capture=capture,
                                      newer_only=newer_only)  # fmt: skip
    except ArchiveError:
        for marker, _ in markers:  # undo what the failed attempts half-wrote
            ctx.catalog.confirm(marker)
        raise
    if status == "unchanged" and markers:
        # An earlier attempt's write may have landed although it was answered with an error
        # (then 412 on the retry): the stored version is ours, and needs its line.
        confirmed = ctx.catalog.confirm(markers[-1][0])
        for stale, _ in markers[:-1]:
            ctx.store.delete(stale)
        status = "new" if confirmed == "new" else "updated" if confirmed else "unchanged"
        markers = markers[-1:] if confirmed else []
    for stale, _ in markers[:-1]:
        ctx.store.delete(stale)  # an attempt that lost a race; the last one committed
    if status != "unchanged":
        line = ctx.catalog.record(doc, status, marker=markers[-1][0], defer=True)
        ctx.events.emit(line, run_id=ctx.run_id, poll_run_id=poll_run_id)
    said = (doc.get("changes") or {}).get("summary") if status == "updated" else None
    return Committed(status, said if isinstance(said, str) else None, article_key(doc))


def stored(ctx: RunContext, doc: Document, url: str, committed: Committed,
           revisit: bool = False) -> ArticleOutcome:  # fmt: skip
    status, change, key = committed
    outcome = ArticleOutcome(id=doc.id, url=url, status=status, key=key,
                             fallback=doc.fallback, disagreement=not doc.agrees,
                             revisit=revisit, change=change)  # fmt: skip
    logger.info(f"article {status}", extra={**ctx.ids(doc.id), "key": key})
    if doc.fallback:
        logger.warning("fallback extraction", extra={**ctx.ids(doc.id), "url": url})
    if not doc.agrees:
        baseline = doc.fields.baseline.to_json() if doc.fields.baseline else None
        logger.warning("extraction disagrees with trafilatura",
                       extra={**ctx.ids(doc.id), "url": url, "baseline": baseline,
                              "warnings": doc.fields.warnings})  # fmt: skip
    return outcome


def failed(ctx: RunContext, article_id: str, url: str, reason: str,
           error: ArchiveError | None = None, revisit: bool = False) -> ArticleOutcome:  # fmt: skip
    """A failure with its context (error class, HTTP status) as data, so a reader of the
    summary tells a 404 from a timeout without parsing ``reason``."""
    context = error.context() if error else {}
    kind = type(error).__name__ if error else None
    said = {**ctx.ids(article_id), "reason": reason, "error": kind, **context}
    logger.warning("article failed", extra=said)
    return ArticleOutcome(id=article_id, url=url, status="failed", reason=reason, error=kind,
                          http_status=error.status if error else None, revisit=revisit)  # fmt: skip


def skipped(ctx: RunContext, article_id: str, url: str, error: NotAnArticleError,
            revisit: bool = False) -> ArticleOutcome:  # fmt: skip
    """A page that is not an article: said once, not written, not retried."""
    logger.info("not an article",
                extra={**ctx.ids(article_id), "url": url, "reason": error.reason})  # fmt: skip
    return ArticleOutcome(id=article_id, url=url, status="skipped", reason=str(error),
                          revisit=revisit)  # fmt: skip
