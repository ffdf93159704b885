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
from handler.ingest.feeds import configured_feeds as feeds_of
from handler.run.context import RunContext
from handler.run.fanout import WorkMessage, trusted_feed
from handler.run.outcomes import ArticleOutcome, RunSummary


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


def process_batch(
    ctx: RunContext, records: Iterable[dict[str, Any]], dead_letters: DeadLetters
) -> tuple[list[dict[str, str]], RunSummary]:
    """Archive each queued item; returns (batchItemFailures, summary for the metrics)."""
    queued = [QueuedRecord.from_sqs(r) for r in records]
    summary = ctx.summary(None)
    configured = feeds_of(ctx.settings.feeds_file, ctx.settings.feed_url)
    work: list[tuple[QueuedRecord, WorkMessage]] = []
    failures: list[dict[str, str]] = []
    for record in queued:
        try:
            message = WorkMessage.from_body(record.body)
            feed = trusted_feed(message.feed, configured)
            work.append((record, WorkMessage(feed, message.item, message.run_id,
                                             message.revisit)))  # fmt: skip
        except EventError as exc:
            # Retrying cannot fix a malformed message; if it cannot be dead-lettered here, the
            # queue's redrive must move it, so it is reported rather than acknowledged.
            if not dead_letters.send(record, str(exc)):
                failures.append({"itemIdentifier": record.message_id})
    workers = max(1, min(ctx.settings.concurrency, len(work) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="worker") as pool:
        outcomes = list(pool.map(lambda w: _archive(ctx, *w), work))
    for (record, _message), outcome in zip(work, outcomes, strict=True):
        if outcome.status in ("failed", "deferred") and not _given_up(
            ctx, record, outcome, dead_letters
        ):
            failures.append({"itemIdentifier": record.message_id})
    ctx.settle_catalog()  # before SQS hears of success: the batch's lines are in the manifest
    summary.items = len(queued)
    summary.outcomes = outcomes
    return failures, summary


def _archive(ctx: RunContext, record: QueuedRecord, message: WorkMessage) -> ArticleOutcome:
    logger.info("work received", extra={**ctx.ids(message.item.id),
                "poll_run_id": message.run_id, "message_id": record.message_id,
                "receive_count": record.receive_count})  # fmt: skip
    return ctx.archive_one(message.item, message.feed, poll_run_id=message.run_id,
                           revisit=message.revisit)  # fmt: skip


def _given_up(
    ctx: RunContext, record: QueuedRecord, outcome: ArticleOutcome, dead_letters: DeadLetters
) -> bool:
    """On the last receive a failed item leaves the queue for the DLQ, with its reason."""
    last = record.receive_count >= ctx.settings.max_receives
    return outcome.status == "failed" and last and dead_letters.send(record, outcome.reason or "")
