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
from handler.models import FeedItem, article_id
from handler.state import load_validators, save_validators
from handler.store import BlobStore, open_store
from handler.store.layout import article_key

HTML_TYPES = ("text/html", "application/xhtml+xml")
# "deferred": not started because the invocation's time was running out; the next run does it.
Status = Literal["new", "updated", "unchanged", "failed", "deferred"]
STATUSES: tuple[Status, ...] = ("new", "updated", "unchanged", "failed", "deferred")


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
    not_modified: bool = False  # the feed answered 304: nothing new since the last full run
    duration_s: float = 0.0
    outcomes: list[ArticleOutcome] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        counts["fallback"] = sum(o.fallback for o in self.outcomes)
        return counts

    def counts_of(self, *statuses: Status) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def failures(self) -> list[ArticleOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "feed_url": self.feed_url,
            "store": self.store,
            "items": self.items,
            "not_modified": self.not_modified,
            **self.counts,
            "duration_s": round(self.duration_s, 3),
            "failures": [{"id": o.id, "url": o.url, "reason": o.reason} for o in self.failures],
            "articles": [asdict(o) for o in self.outcomes],
        }


Progress = Callable[[int, int, ArticleOutcome], None]
RemainingSeconds = Callable[[], float]


class Pipeline:
    """One configured run: owns the HTTP client and the store handle."""

    def __init__(
        self,
        settings: RunSettings,
        store: BlobStore | None = None,
        client: HttpClient | None = None,
        progress: Progress | None = None,
        remaining_s: RemainingSeconds | None = None,
    ) -> None:
        self.settings = settings
        self.store = store if store is not None else open_store(settings.store)
        self.client = client if client is not None else HttpClient(settings.fetch)
        self.progress = progress
        self.remaining_s = remaining_s
        self.run_id = uuid.uuid4().hex[:12]

    def poll(self, feed_url: str | None = None) -> RunSummary:
        """Read the feed and archive its items; FeedError if the feed cannot be read."""
        url = feed_url or self.settings.feed_url
        started = time.monotonic()
        summary = self.summary(url)
        fetched = read_feed(self.client, url, load_validators(self.store, url))
        if fetched.not_modified:
            logger.info("feed not modified", extra={"run_id": self.run_id, "feed": url})
            summary.not_modified = True
            return self.finish(summary, started)
        items = fetched.items[: self.settings.max_items]
        logger.info("feed read", extra={"run_id": self.run_id, "feed": url, "items": len(items)})
        summary.items = len(items)
        summary.outcomes = self.archive_items(items, feed_url=url)
        # Only a complete run may let the next poll skip this feed version with a 304: items
        # that failed, were deferred or cut by --max-items must be seen again.
        complete = len(items) == len(fetched.items) and not summary.counts_of("failed", "deferred")
        if complete and fetched.validators.request_headers():
            save_validators(self.store, url, fetched.validators)
        return self.finish(summary, started)

    def replay(self, urls: Iterable[str], force: bool = False) -> RunSummary:
        """Fetch and archive these URLs (allowlist applies); ``force`` rewrites unchanged ones."""
        started = time.monotonic()
        items = [item_for_url(url) for url in urls]
        summary = self.summary(None)
        summary.items = len(items)
        summary.outcomes = self.archive_items(items, force=force)
        return self.finish(summary, started)

    def archive_items(
        self, items: Iterable[FeedItem], feed_url: str | None = None, force: bool = False
    ) -> list[ArticleOutcome]:
        todo = list(items)
        done: list[ArticleOutcome] = []
        workers = max(1, min(self.settings.concurrency, len(todo) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="article") as pool:
            for outcome in pool.map(lambda item: self.archive_one(item, feed_url, force), todo):
                done.append(outcome)
                if self.progress is not None:
                    self.progress(len(done), len(todo), outcome)
        return done

    def archive_one(
        self, item: FeedItem, feed_url: str | None = None, force: bool = False
    ) -> ArticleOutcome:
        """Fetch, extract and store one article; never raises."""
        if self.out_of_time():
            logger.info("article deferred: time budget", extra=self.ids(item.id))
            return ArticleOutcome(id=item.id, url=item.link, status="deferred")
        try:
            response = self.client.get(item.link, accept=HTML_TYPES)
            doc = extract_article(
                response.body,
                response.final_url,
                fetched_at=response.fetched_at,
                feed_url=feed_url,
                feed_item=item if feed_url else None,
                capture={"status": response.status, "final_url": response.final_url},
                charset=response.charset,
            )
            status = save_version(self.store, doc, response, force=force)
        except ArchiveError as exc:
            return self.failed(item.id, item.link, str(exc))
        except Exception as exc:  # a bug must not cost the other articles
            logger.exception("internal error", extra=self.ids(item.id))
            return self.failed(item.id, item.link, f"internal error: {type(exc).__name__}: {exc}")
        return self.stored(doc, item.link, status)

    def out_of_time(self) -> bool:
        """True when the invocation has too little time left to finish one more article."""
        if self.remaining_s is None:
            return False
        return self.remaining_s() < self.settings.min_remaining_s

    def stored(self, doc: dict[str, Any], url: str, status: Status) -> ArticleOutcome:
        fallback = doc["extraction"]["status"] == "fallback"
        key = article_key(doc)
        outcome = ArticleOutcome(id=doc["id"], url=url, status=status, key=key, fallback=fallback)
        logger.info(f"article {status}", extra={**self.ids(doc["id"]), "key": key})
        if fallback:
            logger.warning("fallback extraction", extra={**self.ids(doc["id"]), "url": url})
        return outcome

    def failed(self, article_id: str, url: str, reason: str) -> ArticleOutcome:
        logger.warning("article failed", extra={**self.ids(article_id), "reason": reason})
        return ArticleOutcome(id=article_id, url=url, status="failed", reason=reason)

    def summary(self, feed_url: str | None) -> RunSummary:
        return RunSummary(run_id=self.run_id, feed_url=feed_url, store=self.store.describe())

    def finish(self, summary: RunSummary, started: float) -> RunSummary:
        summary.duration_s = time.monotonic() - started
        logger.info("run finished", extra={"run_id": self.run_id, **summary.counts})
        return summary

    def ids(self, article_id: str) -> dict[str, str]:
        return {"run_id": self.run_id, "article_id": article_id}


def item_for_url(url: str) -> FeedItem:
    """A replayed URL as a feed item of its own (no feed context)."""
    return FeedItem(
        id=article_id(url),
        link=url,
        title="",
        kicker=None,
        headline="",
        teaser=None,
        category=None,
        published=None,
    )
