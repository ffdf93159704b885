"""Change events: each new or updated document is announced on an EventBridge bus, if one is
configured (``--event-bus`` / ``EVENT_BUS_NAME``).

    source "ntv-archive", detail-type "ArticleArchived",
    detail {id, key, version, status, title, published_at, content_sha256, run_id[, poll_run_id]}

The detail is the manifest line plus ``run_id``, the run that stored the version, and, for a
version archived by a fan-out worker, ``poll_run_id``, the poller run that queued it.

The document is stored before its event is sent; a failed send is logged (``event not sent``)
and counted, never turned into an article failure, because a retry would find the document
unchanged and announce nothing. Consumers that must not miss a version read the manifest.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from handler.core.aws import aws_client
from handler.core.log import logger

SOURCE = "ntv-archive"
DETAIL_TYPE = "ArticleArchived"


class ChangeEvents:
    def __init__(self, bus_name: str | None, client: Any = None) -> None:
        self.bus_name = bus_name
        if client is not None:
            self.client = client
        self.failed = 0

    @cached_property
    def client(self) -> Any:  # made on first use; a test may assign its own
        return aws_client("events")

    def emit(self, line: dict[str, Any], run_id: str, poll_run_id: str | None = None) -> None:
        """Announce one manifest line (see manifest.manifest_line) with the runs behind it."""
        if not self.bus_name:
            return
        detail = {**line, "run_id": run_id}
        if poll_run_id:
            detail["poll_run_id"] = poll_run_id
        entry = {
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(detail, ensure_ascii=False),
            "EventBusName": self.bus_name,
        }
        try:
            response = self.client.put_events(Entries=[entry])
            failures = response.get("FailedEntryCount", 0)
            reason = str(response.get("Entries", [{}])[0].get("ErrorMessage", ""))
        except Exception as exc:  # botocore's errors: the SDK has already retried
            failures, reason = 1, str(exc)
        if failures:
            self.failed += 1
            logger.error("event not sent", extra={"article_id": line["id"], "reason": reason})
