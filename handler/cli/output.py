"""What the command line prints for a run: the human summary and the progress line."""

from __future__ import annotations

import sys

from handler.run.outcomes import ArticleOutcome, RunSummary


def print_summary(summary: RunSummary) -> None:
    counts = summary.counts
    source = summary.feed_url or f"{len(summary.feeds) + len(summary.feed_errors)} feeds"
    print(f"ntv-archive: {source} -> {summary.store}")
    for feed in summary.feeds:
        print(f"  feed {feed['url']}: {feed['items']} items, {feed.get('new', 0)} new"
              + (" (not modified)" if feed["not_modified"] else ""))  # fmt: skip
    for error in summary.feed_errors:
        print(f"  feed failed {error['feed']}: {error['reason']}")
    if summary.not_modified:
        print("  feed not modified (HTTP 304); only due retries were fetched")
    line = ", ".join(f"{counts[k]} {k}" for k in ("new", "updated", "unchanged", "failed"))
    skipped = f", {counts['skipped']} not articles" if counts["skipped"] else ""
    fallback = f", {counts['fallback']} by fallback extraction" if counts["fallback"] else ""
    disagree = (f", {counts['disagreement']} disagreeing with trafilatura"
                if counts["disagreement"] else "")  # fmt: skip
    print(f"  {summary.items} items: {line}{skipped}{fallback}{disagree} in "
          f"{summary.duration_s:.1f} s")  # fmt: skip
    if summary.pending:
        print(f"  {summary.pending} still pending a retry (see: ntv-archive status)")
    if summary.events_failed:
        print(f"  {summary.events_failed} change events not sent (stored and in the manifest;"
              " is the event bus there? see the log line 'event not sent')")  # fmt: skip
    for failure in summary.failures:
        print(f"  failed {failure.id}: {failure.reason}")
    for outcome in summary.outcomes:
        if outcome.status == "skipped":
            print(f"  skipped {outcome.id}: {outcome.reason}")


def print_progress(done: int, total: int, outcome: ArticleOutcome) -> None:
    end = "\n" if done == total else ""
    print(
        f"\r  {done}/{total} articles ({outcome.status}: {outcome.id})\x1b[K",
        end=end,
        file=sys.stderr,
        flush=True,
    )
