"""``ntv-archive backfill``: archive what a date range published (see run/backfill.py)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from handler.cli.args import (
    EXIT_ARTICLES_FAILED,
    EXIT_OK,
    allow_host_option,
    day,
    section_of,
    section_options,
    settings_from,
    store_option,
    verbosity,
    web_url,
)
from handler.cli.output import progress_for
from handler.core.config import DEFAULT_BACKFILL_RATE, DEFAULT_SITEMAP_INDEX_URL

MIN_RATE, MAX_RATE = 0.01, 1000.0  # one request in 100 s at the slowest


def add_backfill_command(commands: Any) -> None:
    parser = commands.add_parser(
        "backfill", help="archive what the site published in a date range (sitemaps; resumable)"
    )
    for name in ("since", "until"):
        parser.add_argument(f"--{name}", type=day, required=True, metavar="YYYY-MM-DD",
                            help=f"publication day, UTC ({name} inclusive)")  # fmt: skip
    section_options(parser)
    store_option(parser)
    parser.add_argument("--sitemap-index", type=web_url, default=DEFAULT_SITEMAP_INDEX_URL,
                        metavar="URL", help="the site's sitemap index (%(default)s)")  # fmt: skip
    parser.add_argument("--rate", type=float, default=DEFAULT_BACKFILL_RATE,
                        help="requests per second to the site, at most (%(default)s)")  # fmt: skip
    allow_host_option(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    verbosity(parser)
    parser.set_defaults(command=cmd_backfill)


def cmd_backfill(args: argparse.Namespace) -> int:
    from handler.core.errors import ConfigError
    from handler.run.actions import run_event
    from handler.run.context import RunContext
    from handler.run.events import Backfill

    if args.since > args.until:
        raise ConfigError(f"--since {args.since} is after --until {args.until}")
    if not MIN_RATE <= args.rate <= MAX_RATE:  # NaN and inf fail this too
        raise ConfigError(f"--rate {args.rate} is not a number of requests a second from "
                          f"{MIN_RATE} to {MAX_RATE}")  # fmt: skip
    request = Backfill(since=args.since, until=args.until, section=section_of(args))
    with progress_for(args) as bar:
        summary = run_event(request, RunContext(settings_from(args), progress=bar))
    if args.json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False))
    else:
        state = summary.backfill or {}
        counts = summary.counts
        print(f"{state.get('job')}: {counts['new']} new, {counts['updated']} updated, "
              f"{counts['failed']} failed, {counts['skipped']} skipped; "
              f"{'done' if state.get('done') else 'not done: run again to go on'}")  # fmt: skip
    return EXIT_ARTICLES_FAILED if summary.failures else EXIT_OK
