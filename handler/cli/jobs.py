"""``ntv-archive replay`` and ``ntv-archive reprocess``: the replay and reprocess events' use
cases from the command line, without writing an event file. Each builds the event's own typed
request (so the same checks apply) and runs it through the same dispatcher as the Lambda."""

from __future__ import annotations

import argparse
from typing import Any

from handler.cli.args import allow_host_option, date_range, settings_from, store_option, verbosity
from handler.cli.output import run_request


def add_job_commands(commands: Any) -> None:
    replay = commands.add_parser(
        "replay", help="fetch and archive articles again now, by archive id or URL"
    )
    replay.add_argument(
        "targets", nargs="+", metavar="ID_OR_URL",
        help="an archive id (ntv-30134161: archived, pending or parked) or a URL",
    )  # fmt: skip
    replay.add_argument("--force", action="store_true",
                        help="store a new version even when the content is unchanged")  # fmt: skip
    store_option(replay)
    allow_host_option(replay)
    replay.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    verbosity(replay)
    replay.set_defaults(command=cmd_replay, name="replay")

    reprocess = commands.add_parser(
        "reprocess", help="re-extract archived articles from their raw captures (no fetching)"
    )
    date_range(reprocess, required=False)
    reprocess.add_argument("--ids", nargs="+", default=[], metavar="ID",
                           help="only these archive ids (with or without dates)")  # fmt: skip
    reprocess.add_argument("--restart", action="store_true",
                           help="redo a job already finished with the same rules")  # fmt: skip
    store_option(reprocess)
    reprocess.add_argument("--json", action="store_true",
                           help="print the summary as one JSON object")  # fmt: skip
    verbosity(reprocess)
    reprocess.set_defaults(command=cmd_reprocess, name="reprocess")


def cmd_replay(args: argparse.Namespace) -> int:
    from handler.cli.read import open_archive
    from handler.run.events import parse_event
    from handler.run.replay import replay_targets

    urls = replay_targets(open_archive(args.store, existing=False), args.targets)
    request = parse_event({"action": "replay", "urls": urls, "force": args.force})
    return run_request(args, request, settings_from(args))


def cmd_reprocess(args: argparse.Namespace) -> int:
    from handler.cli.read import open_archive
    from handler.run.events import parse_event

    open_archive(args.store)  # refuse a store that holds no archive before planning a job
    raw: dict[str, Any] = {"action": "reprocess", "ids": args.ids, "restart": args.restart}
    raw |= {name: str(getattr(args, name)) for name in ("since", "until") if getattr(args, name)}
    return run_request(args, parse_event(raw), settings_from(args))
