"""The pipeline: feed -> fetch -> extract -> store, for one run. CLI and Lambda both call this.

Articles are processed on a thread pool so fetches overlap; one article failing never stops the
others: its failure becomes an outcome with a reason.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from handler.archive import save_version
from handler.config import RunSettings
from handler.errors import ArchiveError
from handler.extract import extract_article
from handler.feed import read_feed
from handler.fetch import HttpClient
from handler.log import logger
from handler.models import FeedItem
from handler.store import BlobStore, open_store
from handler.store.layout import article_key

HTML_TYPES = ("text/html", "application/xhtml+xml")
Status = Literal["new", "updated", "unchanged", "failed"]


@dataclass(frozen=True)
class ArticleOutcome:
    id: str
    url: str
    status: Status
    reason: str | None = None
    key: str | None = None
    fallback: bool = False


@dataclass
class RunSummary:
    run_id: str
    feed_url: str | None
    store: str
    items: int = 0
    duration_s: float = 0.0
    outcomes: list[ArticleOutcome] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("new", "updated", "unchanged", "failed"), 0)
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        counts["fallback"] = sum(o.fallback for o in self.outcomes)
        return counts

    @property
    def failures(self) -> list[ArticleOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "feed_url": self.feed_url,
            "store": self.store,
            "items": self.items,
            **self.counts,
            "duration_s": round(self.duration_s, 3),
            "failures": [{"id": o.id, "url": o.url, "reason": o.reason} for o in self.failures],
            "articles": [asdict(o) for o in self.outcomes],
        }


Progress = Callable[[int, int, ArticleOutcome], None]


class Pipeline:
    """One configured run: owns the HTTP client and the store handle."""

    def __init__(
        self,
        settings: RunSettings,
        store: BlobStore | None = None,
        client: HttpClient | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.store = store if store is not None else open_store(settings.store)
        self.client = client if client is not None else HttpClient(settings.fetch)
        self.progress = progress
        self.run_id = uuid.uuid4().hex[:12]

    def poll(self, feed_url: str | None = None) -> RunSummary:
        """Read the feed and archive its items; FeedError if the feed cannot be read."""
        url = feed_url or self.settings.feed_url
        started = time.monotonic()
        items = read_feed(self.client, url)
        if self.settings.max_items is not None:
            items = items[: self.settings.max_items]
        logger.info("feed read", extra={"run_id": self.run_id, "feed": url, "items": len(items)})
        summary = self._summary(url)
        summary.items = len(items)
        summary.outcomes = self.archive_items(items, feed_url=url)
        summary.duration_s = time.monotonic() - started
        logger.info("run finished", extra={"run_id": self.run_id, **summary.counts})
        return summary

    def archive_items(
        self, items: Iterable[FeedItem], feed_url: str | None = None
    ) -> list[ArticleOutcome]:
        todo = list(items)
        done: list[ArticleOutcome] = []
        workers = max(1, min(self.settings.concurrency, len(todo) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="article") as pool:
            for outcome in pool.map(lambda item: self.archive_one(item, feed_url), todo):
                done.append(outcome)
                if self.progress is not None:
                    self.progress(len(done), len(todo), outcome)
        return done

    def archive_one(self, item: FeedItem, feed_url: str | None = None) -> ArticleOutcome:
        """Fetch, extract and store one article; never raises."""
        try:
            response = self.client.get(item.link, accept=HTML_TYPES)
            doc = extract_article(
                response.body,
                response.final_url,
                fetched_at=response.fetched_at,
                feed_url=feed_url,
                feed_item=item,
                capture={"status": response.status, "final_url": response.final_url},
            )
            status = save_version(self.store, doc, response)
        except ArchiveError as exc:
            return self._failed(item, str(exc))
        except Exception as exc:  # a bug must not cost the other articles
            logger.exception("internal error", extra=self._ids(item))
            return self._failed(item, f"internal error: {type(exc).__name__}: {exc}")
        fallback = doc["extraction"]["status"] == "fallback"
        outcome = ArticleOutcome(
            id=doc["id"], url=item.link, status=status, key=article_key(doc), fallback=fallback
        )
        logger.info(f"article {status}", extra={**self._ids(item), "key": outcome.key})
        if fallback:
            logger.warning("fallback extraction", extra={**self._ids(item), "url": item.link})
        return outcome

    def _failed(self, item: FeedItem, reason: str) -> ArticleOutcome:
        logger.warning("article failed", extra={**self._ids(item), "reason": reason})
        return ArticleOutcome(id=item.id, url=item.link, status="failed", reason=reason)

    def _summary(self, feed_url: str | None) -> RunSummary:
        return RunSummary(run_id=self.run_id, feed_url=feed_url, store=self.store.describe())

    def _ids(self, item: FeedItem) -> dict[str, str]:
        return {"run_id": self.run_id, "article_id": item.id}
