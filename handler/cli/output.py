"""What the command line prints for a run: the human summary and the progress line."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from handler.core.errors import one_line
from handler.run.outcomes import ArticleOutcome, RunSummary


def say(message: str) -> None:
    """One line on stderr, whatever the message holds: a control character or line separator
    that came with a value someone typed or a file held is shown escaped, never obeyed."""
    print(one_line(message), file=sys.stderr)


def counted(number: int, singular: str, plural: str = "") -> str:
    """``1 article``, ``2 articles``: a count with its noun in the right number."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def to_milliseconds(moment: str) -> str:
    """An ISO time as the archive writes times everywhere (to the millisecond); anything that
    is not one is shown as it is."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(moment).isoformat(timespec="milliseconds")
    except (TypeError, ValueError):
        return moment


def print_summary(summary: RunSummary, source: str = "") -> None:
    """``source`` names what the run read when it was no feed (``replay``, ``reprocess``)."""
    counts = summary.counts
    feeds = len(summary.feeds) + len(summary.feed_errors)
    source = summary.feed_url or (counted(feeds, "feed") if feeds or not source else source)
    print(f"ntv-archive: {source} -> {summary.store}")
    for feed in summary.feeds:
        print(f"  feed {feed['url']}: {counted(feed['items'], 'item')}, {feed.get('new', 0)} new"
              + (" (not modified)" if feed["not_modified"] else ""))  # fmt: skip
    for error in summary.feed_errors:
        print(f"  feed failed {error['feed']}: {error['reason']}")
    if summary.not_modified:
        print("  feed not modified (HTTP 304); only due retries were fetched")
    line = ", ".join(f"{counts[k]} {k}" for k in ("new", "updated", "unchanged", "failed"))
    skipped = (
        f", {counted(counts['skipped'], 'not an article', 'not articles')}"
        if counts["skipped"]
        else ""
    )
    fallback = f", {counts['fallback']} by fallback extraction" if counts["fallback"] else ""
    disagree = (f", {counts['disagreement']} disagreeing with trafilatura"
                if counts["disagreement"] else "")  # fmt: skip
    print(f"  {counted(summary.items, 'item')}: {line}{skipped}{fallback}{disagree} in "
          f"{summary.duration_s:.1f} s")  # fmt: skip
    if summary.pending:
        print(f"  {summary.pending} still pending a retry (see: ntv-archive status)")
    if summary.events_failed:
        unsent = counted(summary.events_failed, "change event")
        print(f"  {unsent} not sent (stored and in the manifest; is the event bus there? see the "
              "log line 'event not sent')")  # fmt: skip
    for outcome in summary.outcomes:
        if outcome.status == "updated":
            print(f"  updated {outcome.id}: {outcome.change or 'no content change'}")
    for failure in summary.failures:
        print(f"  failed {failure.id}: {failure.reason}")
    for outcome in summary.outcomes:
        if outcome.status == "skipped":
            print(f"  skipped {outcome.id}: {outcome.reason}")


class ProgressBar:
    """A progress bar on stderr for commands that go on for minutes (tqdm: count, rate, time
    left when the total is known). Made only for a terminal: see ``progress_bar``."""

    def __init__(self, unit: str) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=None, unit=f" {unit}", file=sys.stderr, dynamic_ncols=True,
                         leave=False, smoothing=0.1)  # fmt: skip

    def __call__(self, done: int, total: int, outcome: ArticleOutcome | None = None) -> None:
        if total and self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)
        if outcome is not None:
            self._bar.set_postfix_str(f"{outcome.status}: {outcome.id}", refresh=False)
        if total and done >= total:
            self._bar.refresh()  # the last step is always drawn, however fast it came

    def set_total(self, total: int) -> None:
        self._bar.total = total
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def progress_bar(args: Any, unit: str = "articles") -> ProgressBar | None:
    """A progress bar when a person watches: stderr is a terminal, and neither ``--quiet`` nor
    ``--json`` was given. Nothing otherwise (logs, pipes and CI stay clean)."""
    if args is None or getattr(args, "quiet", False) or getattr(args, "json", False):
        return None
    if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        return None
    return ProgressBar(unit)


@contextlib.contextmanager
def progress_for(args: Any, unit: str = "articles") -> Iterator[ProgressBar | None]:
    bar = progress_bar(args, unit)
    try:
        yield bar
    finally:
        if bar is not None:
            bar.close()


def run_request(args: Any, request: Any, settings: Any) -> int:
    """A typed request (the one a Lambda event gives) run through the one dispatcher with the
    command's settings, its summary printed as the command's options ask; the exit code."""
    import json

    from handler.run.actions import run_event
    from handler.run.context import RunContext

    with progress_for(args) as bar:
        summary = run_event(request, RunContext(settings, progress=bar))
    if getattr(args, "json", False):
        print(json.dumps(summary.to_dict(), ensure_ascii=False))
    elif not args.quiet:
        print_summary(summary, source=getattr(args, "name", ""))
    for error in summary.errors:
        say(f"ntv-archive: error: {error}")
    from handler.cli.args import EXIT_ARTICLES_FAILED, EXIT_OK

    return EXIT_ARTICLES_FAILED if summary.lost_something else EXIT_OK
