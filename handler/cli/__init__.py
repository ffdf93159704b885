"""The ``ntv-archive`` command: a thin door onto the use cases (see docs/cli.md).

Exit codes: 0 all done; 1 some articles failed (the rest are archived); 2 the run could not
start (bad arguments, feed unreachable / HTTP error / not a feed, store misconfigured).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from handler.cli.args import (
    EXIT_BROKEN_PIPE,
    EXIT_CANNOT_RUN,
    EXIT_INTERRUPTED,
    OneLineParser,
    host_name,
    positive,
    revisit_spec,
    seconds,
    settings_from,
    verbosity,
    web_url,
)
from handler.cli.backfill import add_backfill_command
from handler.cli.history import add_history_commands
from handler.cli.importer import add_import_command
from handler.cli.jobs import add_job_commands
from handler.cli.output import run_request, say
from handler.cli.read import add_read_commands
from handler.cli.site import add_site_command
from handler.cli.tools import add_tool_commands
from handler.core.config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_FEED_URL,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_BYTES,
    DEFAULT_RECOVER_AFTER_S,
    DEFAULT_RETRY_DELAY_S,
    DEFAULT_REVISIT_AFTER,
    DEFAULT_SITEMAP_URL,
    DEFAULT_STORE,
)
from handler.core.errors import ArchiveError
from handler.core.log import logger
from handler.core.version import __version__
from handler.sites import require_site_packages


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Without -v the command's own lines say what went wrong (the summary names every failed
    # feed and article); the structured JSON log is for -v and -vv, not mixed into them.
    logger.setLevel("DEBUG" if args.verbose > 1 else "INFO" if args.verbose else "CRITICAL")
    try:
        require_site_packages()
        return int(args.command(args))
    except ArchiveError as exc:
        say(f"ntv-archive: error: {exc}")
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        say("ntv-archive: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``show ... | head``): nothing more to say, and nowhere to say it.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a bug: one line here, the traceback with -vv
        logger.debug("internal error", exc_info=True)
        say(f"ntv-archive: internal error: {type(exc).__name__}: {exc}")
        return EXIT_CANNOT_RUN


def cmd_run(args: argparse.Namespace) -> int:
    """A poll, as the Lambda's events ask for one: the feed (``Poll``), or the feeds file's
    feeds of a schedule class (``ScheduledPoll``; every class without ``--schedule``)."""
    from handler.run.events import Poll, ScheduledPoll

    settings = settings_from(args)
    if not args.feeds:
        return run_request(args, Poll(feed_url=settings.feed_url), settings)
    from handler.ingest.feeds import load_feeds

    if not [f for f in load_feeds(args.feeds) if args.schedule in (None, f.schedule)]:
        say(f"ntv-archive: error: {args.feeds}: no feed of schedule {args.schedule!r}")
        return EXIT_CANNOT_RUN
    return run_request(args, ScheduledPoll(schedule=args.schedule), settings)


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="ntv-archive", description="Archive the ntv.de politics feed.")
    parser.add_argument("--version", action="version", version=f"ntv-archive {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="poll a feed once and archive every new article")
    run.add_argument(
        "--feed-url", type=web_url, default=DEFAULT_FEED_URL, help="feed to poll (%(default)s)"
    )
    run.add_argument(
        "--store", default=DEFAULT_STORE, help="directory or s3://bucket/prefix (%(default)s)"
    )
    run.add_argument(
        "--allow-host",
        action="append",
        type=host_name,
        default=[],
        metavar="HOST",
        help="also allow fetching from HOST (repeatable; ntv.de hosts are always allowed)",
    )
    run.add_argument(
        "--feeds", metavar="FILE", help="poll every feed of this feeds file (see docs/ingest.md)"
    )
    run.add_argument(
        "--schedule", metavar="CLASS", help="with --feeds: only feeds of this schedule class"
    )
    run.add_argument("--max-items", type=positive, help="archive at most N feed items")
    run.add_argument(
        "--concurrency",
        type=positive,
        default=DEFAULT_CONCURRENCY,
        help="articles fetched at once (%(default)s)",
    )
    run.add_argument(
        "--max-bytes",
        type=positive,
        default=DEFAULT_MAX_BYTES,
        help="largest response accepted, counted after decompression (%(default)s)",
    )
    run.add_argument(
        "--max-attempts",
        type=positive,
        default=DEFAULT_MAX_ATTEMPTS,
        help="failures before an article is parked under failed/ (%(default)s)",
    )
    run.add_argument(
        "--recover-after",
        type=seconds,
        default=DEFAULT_RECOVER_AFTER_S,
        metavar="SECONDS",
        help="settle intent markers older than this, left by runs that died (%(default)s)",
    )
    run.add_argument(
        "--retry-delay",
        type=seconds,
        default=DEFAULT_RETRY_DELAY_S,
        metavar="SECONDS",
        help="wait before the first retry of a failed article; doubles each time (%(default)s)",
    )
    run.add_argument(
        "--revisit-after",
        type=revisit_spec,
        default=DEFAULT_REVISIT_AFTER,
        metavar="STEPS",
        help="fetch archived articles again (conditionally) this long after their first "
        "archiving; 'off' for never (%(default)s)",
    )
    run.add_argument(
        "--sitemap-url",
        type=web_url,
        default=DEFAULT_SITEMAP_URL,
        metavar="URL",
        help="news sitemap read to catch up after a gap longer than the feed (%(default)s)",
    )
    run.add_argument(
        "--event-bus", metavar="NAME", help="announce new versions on this EventBridge bus"
    )
    run.add_argument("--json", action="store_true", help="print the run summary as one JSON object")
    verbosity(run)
    run.set_defaults(command=cmd_run)

    add_read_commands(commands)
    add_history_commands(commands)
    add_import_command(commands)
    add_backfill_command(commands)
    add_job_commands(commands)

    add_site_command(commands)
    add_tool_commands(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
