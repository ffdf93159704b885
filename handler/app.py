"""The Lambda entry: a thin door onto the use cases (configuration in docs/deploy.md).

``lambda_handler`` reads its settings from the environment, turns the event into a typed
request, runs it, and returns a JSON summary. A malformed event gets ``{"error": ...}`` and
nothing is written; a feed that cannot be read raises, so the invocation fails and Lambda's
retries, DLQ and error alarm see it.

Metrics (CloudWatch EMF) are flushed by Powertools' ``log_metrics`` on every way out: success,
refusal and exception alike, so dashboards do not go quiet exactly when something is wrong.
Every record carries a stable ``action`` dimension (see ``ACTIONS``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from handler.core.config import settings_from_env
from handler.core.errors import ConfigError, EventError, FeedError
from handler.core.log import logger
from handler.run.actions import run_event
from handler.run.context import RunContext
from handler.run.events import (
    Backfill,
    Event,
    Import,
    Poll,
    Replay,
    Reprocess,
    ScheduledPoll,
    parse_event,
    parse_sqs_event,
)
from handler.run.outcomes import STATUSES, RunSummary
from handler.run.publish import keep_site_current
from handler.run.worker import DeadLetters, process_batch
from handler.sites import require_site_packages

T = TypeVar("T")
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "NtvArchive"), service="ntv-archive"
)

# The ``action`` dimension of every metric: dashboards and alarms name these values, so they
# are part of the contract (docs/deploy.md, "Metrics"), not derived from class names.
ACTIONS: dict[type, str] = {
    ScheduledPoll: "scheduled",
    Poll: "poll",
    Replay: "replay",
    Reprocess: "reprocess",
    Import: "import",
    Backfill: "backfill",
}
WORKER_ACTION = "worker"
REFUSED_ACTION = "refused"  # an event or configuration the door would not run


def action_of(request: Event) -> str:
    return ACTIONS[type(request)]


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    started = _start(parse_event, event, context)
    if isinstance(started, Refused):
        return {"error": started.reason}
    request, ctx = started
    with _failure_counted(action_of(request)):
        summary = run_event(request, ctx)
    keep_site_current(ctx, summary)
    _publish(summary)
    return {"action": type(request).__name__, **summary.to_dict()}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def worker_handler(event: Any, context: Any) -> dict[str, Any]:
    """Fan-out worker: an SQS batch in, ``{"batchItemFailures": [...]}`` out."""
    started = _start(parse_sqs_event, event, context)
    if isinstance(started, Refused):
        return {"error": started.reason}
    records, ctx = started
    dead_letters = DeadLetters(ctx.settings.dead_letter_url)
    with _failure_counted(WORKER_ACTION):
        failures, summary = process_batch(ctx, records, dead_letters)
    keep_site_current(ctx, summary)
    _publish(summary)
    metrics.add_metric(name="MessagesReported", unit=MetricUnit.Count, value=len(failures))
    return {"batchItemFailures": failures}


@dataclass(frozen=True)
class Refused:
    reason: str


def _start(parse: Callable[[Any], T], event: Any, context: Any) -> tuple[T, RunContext] | Refused:
    """Both doors: the typed request and a configured run context, or why the event is refused."""
    try:
        request = parse(event)
        require_site_packages()
        settings = settings_from_env(os.environ)
    except (EventError, ConfigError) as exc:
        logger.error("event refused", extra={"reason": str(exc)})
        metrics.add_dimension(name="action", value=REFUSED_ACTION)
        metrics.add_metric(name="InvocationsRefused", unit=MetricUnit.Count, value=1)
        return Refused(str(exc))
    ctx = RunContext(settings, remaining_s=_remaining_seconds(context))
    logger.append_keys(run_id=ctx.run_id)
    return request, ctx


@contextlib.contextmanager
def _failure_counted(action: str) -> Iterator[None]:
    """Sets the action dimension; an exception escaping the run is counted as ``RunsFailed``
    and re-raised (Lambda's error metric, retries and DLQ must still see it)."""
    metrics.add_dimension(name="action", value=action)
    try:
        yield
    except Exception as exc:
        metrics.add_metric(name="RunsFailed", unit=MetricUnit.Count, value=1)
        failed_feeds = exc.failed_feeds if isinstance(exc, FeedError) else 0
        metrics.add_metric(name="FeedsFailed", unit=MetricUnit.Count, value=failed_feeds)
        raise
    metrics.add_metric(name="RunsFailed", unit=MetricUnit.Count, value=0)


def _remaining_seconds(context: Any) -> Any:
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    return (lambda: remaining_ms() / 1000) if remaining_ms else None


def _publish(summary: RunSummary) -> None:
    """The counts a dashboard and the alarms read; log_metrics writes them as one EMF record."""
    counts = summary.counts
    for status in (*STATUSES, "fallback"):
        metrics.add_metric(name=f"Articles{status.title()}", unit=MetricUnit.Count,
                           value=counts[status])  # fmt: skip
    # Pages whose site rule and trafilatura disagree: a layout change on the site (alarmed).
    metrics.add_metric(name="ExtractionDisagreement", unit=MetricUnit.Count,
                       value=counts["disagreement"])  # fmt: skip
    # Revisits done, and how many the server answered 304 (no extraction, no write).
    metrics.add_metric(name="ArticlesRevisited", unit=MetricUnit.Count, value=counts["revisited"])
    metrics.add_metric(name="ArticlesNotModified", unit=MetricUnit.Count,
                       value=counts["unmodified"])  # fmt: skip
    metrics.add_metric(name="ArticlesPending", unit=MetricUnit.Count, value=summary.pending)
    if summary.site is not None:  # the static site, kept current (PUBLISH_SITE)
        metrics.add_metric(name="SitePagesWritten", unit=MetricUnit.Count,
                           value=summary.site.get("pages", 0))  # fmt: skip
        metrics.add_metric(name="SiteUpdateFailed", unit=MetricUnit.Count,
                           value=1 if summary.site.get("error") else 0)  # fmt: skip
    # The paths that fill gaps: what a catch-up found to archive (and whether its sitemap could
    # be read), what an import's files held, whether a backfill job is done.
    if summary.catchup is not None:
        metrics.add_metric(name="CatchUpArticles", unit=MetricUnit.Count,
                           value=summary.catchup.get("to_archive", 0))  # fmt: skip
        metrics.add_metric(name="CatchUpFailed", unit=MetricUnit.Count,
                           value=1 if summary.catchup.get("error") else 0)  # fmt: skip
    if summary.sources:
        metrics.add_metric(name="ImportRecords", unit=MetricUnit.Count,
                           value=sum(s["records"] for s in summary.sources))  # fmt: skip
        metrics.add_metric(name="ImportSourcesCutShort", unit=MetricUnit.Count,
                           value=sum(1 for s in summary.sources if s.get("error")))  # fmt: skip
    if summary.backfill is not None:
        metrics.add_metric(name="BackfillDone", unit=MetricUnit.Count,
                           value=1 if summary.backfill.get("done") else 0)  # fmt: skip
    metrics.add_metric(name="ItemsQueued", unit=MetricUnit.Count, value=summary.queued)
    metrics.add_metric(name="FeedsFailed", unit=MetricUnit.Count, value=len(summary.feed_errors))
    metrics.add_metric(name="EventsFailed", unit=MetricUnit.Count, value=summary.events_failed)
    metrics.add_metric(name="RunDuration", unit=MetricUnit.Seconds, value=summary.duration_s)
