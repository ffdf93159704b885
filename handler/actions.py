"""What each Lambda event does, on the one pipeline (the CLI's ``run`` uses the same methods)."""

from __future__ import annotations

from handler.events import Event, Poll, Replay, Reprocess, ScheduledPoll
from handler.pipeline import Pipeline, RunSummary
from handler.reprocess import reprocess


def run_event(event: Event, pipeline: Pipeline) -> RunSummary:
    match event:
        case ScheduledPoll():
            return pipeline.poll()
        case Poll(feed_url=feed_url):
            return pipeline.poll(feed_url)
        case Replay(urls=urls, force=force):
            return pipeline.replay(urls, force=force)
        case Reprocess():
            return reprocess(pipeline, event)
