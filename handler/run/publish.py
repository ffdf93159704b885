"""Keeping the static site current in the cloud (``PUBLISH_SITE=true``): after an invocation
that stored a new or updated version (a poll, a worker's batch, a replay, a reprocess, an
import, a backfill), the same invocation brings ``site/`` up to date, incrementally (see
site/build.py: the pages of the articles the manifest gained since the last build, and the
listings that show them).

A site update never costs an article: it runs after the archive's own writes, only while time
is left, and a failure is logged and counted, not raised. Whatever it leaves undone the next
invocation's update does, since the site's state says how far the manifest was rendered."""

from __future__ import annotations

import logging

from handler.core.errors import ArchiveError, one_line
from handler.run.context import RunContext
from handler.run.outcomes import RunSummary

logger = logging.getLogger(__name__)
SITE_UPDATE_RESERVE_S = 60.0  # an update is started only with this much invocation time left
STORED = ("new", "updated")


def keep_site_current(ctx: RunContext, summary: RunSummary) -> None:
    """Update the site when this deployment publishes one and the run stored something; what
    happened goes into ``summary.site``."""
    if not ctx.settings.publish_site:
        return
    if not any(summary.counts[status] for status in STORED):
        return
    if ctx.remaining_s is not None and ctx.remaining_s() < SITE_UPDATE_RESERVE_S:
        summary.site = {"deferred": "too little time left; the next invocation updates it"}
        logger.info("site update deferred", extra={"run_id": ctx.run_id})
        return
    # Imported here: the site's templates (Jinja2, ~170 ms) are loaded by the invocations that
    # publish, not by every cold start.
    from handler.site.build import SiteBusyError, update_site
    from handler.site.target import SiteTarget

    try:
        built = update_site(ctx.store, SiteTarget.in_store(ctx.store))
    except SiteBusyError as exc:  # concurrent workers: deferred, not failed (not alarmed)
        summary.site = {"deferred": one_line(str(exc))}
        logger.info("site update deferred", extra={"run_id": ctx.run_id, "reason": str(exc)})
        return
    except Exception as exc:
        summary.site = {"error": one_line(f"{type(exc).__name__}: {exc}")}
        logger.warning("site update failed", exc_info=not isinstance(exc, ArchiveError),
                       extra={"run_id": ctx.run_id, "reason": summary.site["error"]})  # fmt: skip
        return
    summary.site = {"articles": built.articles, "pages": built.pages,
                    "skipped": len(built.skipped), "warnings": built.warnings}  # fmt: skip
    logger.info("site updated", extra={"run_id": ctx.run_id, **summary.site})
