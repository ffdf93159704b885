"""The Lambda entry: a thin door onto the pipeline (configuration in README "Lambda").

``lambda_handler`` reads its settings from the environment, turns the event into a typed
request, runs it, publishes CloudWatch metrics (EMF) and returns a JSON summary. A malformed
event gets ``{"error": ...}`` and nothing is written; a feed that cannot be read raises, so the
invocation fails and Lambda's retries, DLQ and error alarm see it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from handler.actions import run_event
from handler.config import settings_from_env
from handler.errors import ConfigError, EventError
from handler.events import parse_event, parse_sqs_event
from handler.log import logger
from handler.pipeline import STATUSES, Pipeline, RunSummary
from handler.worker import DeadLetters, process_batch

T = TypeVar("T")
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "NtvArchive"), service="ntv-archive"
)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    started = _start(parse_event, event, context)
    if isinstance(started, Refused):
        return {"error": started.reason}
    request, pipeline = started
    summary = run_event(request, pipeline)
    _publish(summary, action=type(request).__name__)
    return {"action": type(request).__name__, **summary.to_dict()}


def worker_handler(event: Any, context: Any) -> dict[str, Any]:
    """Fan-out worker: an SQS batch in, ``{"batchItemFailures": [...]}`` out."""
    started = _start(parse_sqs_event, event, context)
    if isinstance(started, Refused):
        return {"error": started.reason}
    records, pipeline = started
    dead_letters = DeadLetters(pipeline.settings.dead_letter_url)
    failures, summary = process_batch(pipeline, records, dead_letters)
    _publish(summary, action="Worker")
    return {"batchItemFailures": failures}


@dataclass(frozen=True)
class Refused:
    reason: str


def _start(parse: Callable[[Any], T], event: Any, context: Any) -> tuple[T, Pipeline] | Refused:
    """Both doors: the typed request and a configured pipeline, or why the event is refused."""
    try:
        request = parse(event)
        settings = settings_from_env(os.environ)
    except (EventError, ConfigError) as exc:
        logger.error("event refused", extra={"reason": str(exc)})
        return Refused(str(exc))
    pipeline = Pipeline(settings, remaining_s=_remaining_seconds(context))
    logger.append_keys(run_id=pipeline.run_id)
    return request, pipeline


def _remaining_seconds(context: Any) -> Any:
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    return (lambda: remaining_ms() / 1000) if remaining_ms else None


def _publish(summary: RunSummary, action: str) -> None:
    """One EMF record per invocation: the counts a dashboard and the alarms read."""
    counts = summary.counts
    metrics.add_dimension(name="action", value=action)
    for status in (*STATUSES, "fallback"):
        metrics.add_metric(name=f"Articles{status.title()}", unit=MetricUnit.Count,
                           value=counts[status])  # fmt: skip
    metrics.add_metric(name="ArticlesPending", unit=MetricUnit.Count, value=summary.pending)
    metrics.add_metric(name="ItemsQueued", unit=MetricUnit.Count, value=summary.queued)
    metrics.add_metric(name="FeedsFailed", unit=MetricUnit.Count, value=len(summary.feed_errors))
    metrics.add_metric(name="RunDuration", unit=MetricUnit.Seconds, value=summary.duration_s)
    metrics.flush_metrics()
