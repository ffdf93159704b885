"""``Pipeline``: a run context with the poll and replay use cases as methods, the API both
doors and the tests call. The work itself is in ``run/context.py`` (archiving one article),
``run/poll.py`` and ``run/replay.py``."""

from __future__ import annotations

from collections.abc import Iterable

from handler.ingest.feeds import FeedConfig
from handler.run import poll as polling
from handler.run import replay as replaying
from handler.run.context import RunContext
from handler.run.outcomes import RunSummary


class Pipeline(RunContext):
    """One configured run: the shared context, and the poll and replay use cases over it."""

    def poll(self, feed: FeedConfig | None = None) -> RunSummary:
        return polling.poll(self, feed)

    def poll_feeds(self, feeds: list[FeedConfig]) -> RunSummary:
        return polling.poll_feeds(self, feeds)

    def replay(self, urls: Iterable[str], force: bool = False) -> RunSummary:
        return replaying.replay(self, urls, force)


__all__ = ["Pipeline"]
