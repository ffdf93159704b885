"""The fan-out worker: archive a batch of queued feed items, report the ones that failed.

SQS retries a reported message after its visibility timeout. On the last receive the worker
gives up itself and moves the message to the dead-letter queue with the reason as a message
attribute, so the DLQ says why; a malformed message goes there at once (no retry can fix it).

A message is acknowledged (left out of ``batchItemFailures``) only when it was archived or
its dead-letter copy was sent. When no DLQ is configured, or the send fails, the message is
reported as failed, so the queue's own redrive policy moves it after ``maxReceiveCount``:
reasonless, but never lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from handler.core.aws import SqsQueue
from handler.core.errors import EventError
from handler.core.log import logger
from handler.ingest.feeds import FeedConfig
from handler.ingest.feeds import configured_feeds as feeds_of
from handler.run.article import archive_one
from handler.run.context import RunContext
from handler.run.fanout import WorkMessage, trusted_feed
from handler.run.outcomes import ArticleOutcome, RunSummary
from handler.run.reprocess import reprocess_shard
from handler.run.shards import Shard


@dataclass(frozen=True)
class QueuedRecord:
    message_id: str
    body: str
    receive_count: int
    group_id: str

    @classmethod
    def from_sqs(cls, raw: dict[str, Any]) -> QueuedRecord:
        """One record of the SQS event, read through Powertools' SQS event data class."""
        # Imported here: the data classes package costs ~20 ms, which only the worker should pay.
        from aws_lambda_powertools.utilities.data_classes.sqs_event import (
            SQSRecord,
            SQSRecordAttributes,
        )

        record = SQSRecord(raw)
        attributes = raw.get("attributes")
        attributes = SQSRecordAttributes(attributes) if isinstance(attributes, dict) else None
        try:
            count = attributes.approximate_receive_count if attributes else None
            receive_count = max(1, int(count or 1))
        except (TypeError, ValueError):
            # Not SQS's own doing: count it as the last receive, so the message leaves now.
            receive_count = 1_000_000
        group = attributes.message_group_id if attributes else None
        return cls(
            message_id=str(record.message_id),
            body=str(raw.get("body", "")),
            receive_count=receive_count,
            group_id=str(group or "dead-letters"),
        )


class DeadLetters(SqsQueue):
    """Moves a message to the DLQ with its reason (boto3 imported only when needed); without a
    URL it declines, and the queue's redrive policy moves the message instead."""

    def send(self, record: QueuedRecord, reason: str) -> bool:
        """True once the copy is in the DLQ; False when it is not (the caller must not ack)."""
        if not self.url:
            return False  # no DLQ configured here: SQS's redrive policy will move it, reasonless
        attributes = {
            "reason": {"DataType": "String", "StringValue": reason[:4000] or "unknown"},
            "receive_count": {"DataType": "Number", "StringValue": str(record.receive_count)},
            "source_message_id": {"DataType": "String", "StringValue": record.message_id},
        }
        extra = {}
        if self.url.endswith(".fifo"):
            extra = {"MessageGroupId": record.group_id, "MessageDeduplicationId": record.message_id}
        try:
            self.client.send_message(
                QueueUrl=self.url, MessageBody=record.body, MessageAttributes=attributes, **extra
            )
        except Exception as exc:  # botocore's errors, after the SDK's own retries
            logger.error("dead-letter send failed",
                         extra={"message_id": record.message_id, "reason": str(exc)})  # fmt: skip
            return False
        logger.warning("message dead-lettered",
                       extra={"message_id": record.message_id, "reason": reason})  # fmt: skip
        return True


Job = WorkMessage | Shard


def process_batch(
    ctx: RunContext, records: Iterable[dict[str, Any]], dead_letters: DeadLetters
) -> tuple[list[dict[str, str]], RunSummary]:
    """Archive each queued item, re-extract each queued reprocess shard; returns
    (batchItemFailures, summary for the metrics)."""
    queued = [QueuedRecord.from_sqs(r) for r in records]
    summary = ctx.summary(None)
    configured = feeds_of(ctx.settings.feeds_file, ctx.settings.feed_url)
    work: list[tuple[QueuedRecord, Job]] = []
    failures: list[dict[str, str]] = []
    for record in queued:
        try:
            work.append((record, _job(record.body, configured)))
        except EventError as exc:
            # Retrying cannot fix a malformed message; if it cannot be dead-lettered here, the
            # queue's redrive must move it, so it is reported rather than acknowledged.
            if not dead_letters.send(record, str(exc)):
                failures.append({"itemIdentifier": record.message_id})
    workers = max(1, min(ctx.settings.concurrency, len(work) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="worker") as pool:
        results = list(pool.map(lambda w: _do(ctx, *w), work))
    for (record, job), outcomes in zip(work, results, strict=True):
        if _retry(job, outcomes) and not _given_up(ctx, record, job, outcomes, dead_letters):
            failures.append({"itemIdentifier": record.message_id})
    ctx.settle_catalog()  # before SQS hears of success: the batch's lines are in the manifest
    summary.items = sum(len(outcomes) for outcomes in results)
    summary.outcomes = [outcome for outcomes in results for outcome in outcomes]
    return failures, summary


def _job(body: str, configured: list[FeedConfig]) -> Job:
    """What a message asks for: a reprocess shard, or a feed item (with the worker's own
    configuration of its feed); EventError when it is neither."""
    shard = Shard.from_body(body)
    if shard is not None:
        return shard
    message = WorkMessage.from_body(body)
    feed = trusted_feed(message.feed, configured)
    return WorkMessage(feed, message.item, message.run_id, message.revisit)


def _do(ctx: RunContext, record: QueuedRecord, job: Job) -> list[ArticleOutcome]:
    if isinstance(job, Shard):
        logger.info("shard received", extra={"run_id": ctx.run_id, "job": job.job,
                    "day": job.day.isoformat(), "message_id": record.message_id,
                    "receive_count": record.receive_count})  # fmt: skip
        return reprocess_shard(ctx, job)
    logger.info("work received", extra={**ctx.ids(job.item.id),
                "poll_run_id": job.run_id, "message_id": record.message_id,
                "receive_count": record.receive_count})  # fmt: skip
    return [archive_one(ctx, job.item, job.feed, poll_run_id=job.run_id, revisit=job.revisit)]


def _retry(job: Job, outcomes: list[ArticleOutcome]) -> bool:
    """Whether the message should come back: an item that failed or was deferred; a shard
    with documents left for lack of time (a document that failed would fail again)."""
    again = ("deferred",) if isinstance(job, Shard) else ("failed", "deferred")
    return any(o.status in again for o in outcomes)


def _given_up(
    ctx: RunContext,
    record: QueuedRecord,
    job: Job,
    outcomes: list[ArticleOutcome],
    dead_letters: DeadLetters,
) -> bool:
    """On the last receive a message still failing leaves the queue for the DLQ, with its
    reason: an item that failed, a shard that never finished in time."""
    if record.receive_count < ctx.settings.max_receives:
        return False
    final = "deferred" if isinstance(job, Shard) else "failed"
    reasons = [o.reason or f"{o.id}: {o.status}" for o in outcomes if o.status == final]
    return bool(reasons) and dead_letters.send(record, reasons[0])
