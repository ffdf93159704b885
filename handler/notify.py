"""Change events: each new or updated document is announced on an EventBridge bus, if one is
configured (``--event-bus`` / ``EVENT_BUS_NAME``).

    source "ntv-archive", detail-type "ArticleArchived",
    detail {id, key, version, status, title, published_at, content_sha256}

The document is stored before its event is sent; a failed send is logged (``event not sent``)
and counted, never turned into an article failure, because a retry would find the document
unchanged and announce nothing. Consumers that must not miss a version read the manifest.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from handler.aws import aws_client
from handler.log import logger

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

    def emit(self, line: dict[str, Any]) -> None:
        """Announce one manifest line (see catalog.manifest_line)."""
        if not self.bus_name:
            return
        entry = {
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(line, ensure_ascii=False),
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
