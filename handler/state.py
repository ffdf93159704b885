"""What the archive remembers between runs, kept in the store under ``state/``.

Today: each feed's HTTP validators (ETag, Last-Modified), so an unchanged feed costs one
conditional request and no article fetches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from handler.store.base import JSON_CONTENT_TYPE, BlobStore


@dataclass(frozen=True)
class FeedValidators:
    etag: str | None = None
    last_modified: str | None = None

    def request_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def feed_state_key(feed_url: str) -> str:
    return f"state/feeds/{hashlib.sha256(feed_url.encode()).hexdigest()[:24]}.json"


def load_validators(store: BlobStore, feed_url: str) -> FeedValidators:
    data = store.get(feed_state_key(feed_url))
    if data is None:
        return FeedValidators()
    try:
        saved = json.loads(data)
        return FeedValidators(etag=saved.get("etag"), last_modified=saved.get("last_modified"))
    except (ValueError, AttributeError):
        return FeedValidators()  # unreadable state only costs one unconditional fetch


def save_validators(store: BlobStore, feed_url: str, validators: FeedValidators) -> None:
    record = {"feed_url": feed_url, **asdict(validators)}
    store.put(feed_state_key(feed_url), json.dumps(record).encode(), JSON_CONTENT_TYPE)
