"""``ntv-archive invoke`` (the Lambda entry on an event file, like ``sam local invoke -e``) and
``ntv-archive extract`` (the document of one saved page): the two tools for trying things out."""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from handler.cli.args import EXIT_ARTICLES_FAILED, EXIT_CANNOT_RUN, EXIT_OK, verbosity
from handler.cli.output import say
from handler.core import jsontext
from handler.core.errors import ExtractionError


def add_tool_commands(commands: Any) -> None:
    """``invoke`` (the Lambda entry on an event file) and ``extract`` (one saved page)."""
    invoke = commands.add_parser(
        "invoke", help="run the Lambda entry on an event file (see events/) and print its response"
    )
    invoke.add_argument("event_file", help="JSON event, e.g. events/scheduled.json")
    invoke.add_argument("--store", help="override ARCHIVE_STORE (directory or s3://bucket/prefix)")
    invoke.add_argument(
        "--timeout", type=float, default=900.0, help="seconds the fake context allows (%(default)s)"
    )
    verbosity(invoke)
    invoke.set_defaults(command=cmd_invoke)

    extract = commands.add_parser("extract", help="print the document for one saved page")
    extract.add_argument("file", help="saved HTML page (may be gzipped)")
    extract.add_argument("--url", required=True, help="the URL the page was fetched from")
    verbosity(extract)
    extract.set_defaults(command=cmd_extract)


def cmd_extract(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        say(f"ntv-archive: error: {path}: {exc.strerror}")
        return EXIT_CANNOT_RUN
    if data[:2] == b"\x1f\x8b":  # saved pages are often gzipped (as in the shared corpus)
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            say(f"ntv-archive: error: {path}: not a readable gzip file ({exc})")
            return EXIT_CANNOT_RUN
    from handler.archive.extraction import extract_article

    try:
        doc = extract_article(data, args.url)
    except ExtractionError as exc:
        say(f"ntv-archive: error: {path}: {exc}")
        return EXIT_ARTICLES_FAILED
    print(json.dumps(doc, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_invoke(args: argparse.Namespace) -> int:
    """Run the Lambda entry on an event file with a fake context, like ``sam local invoke -e``."""
    path = Path(args.event_file)
    try:
        event = jsontext.loads(path.read_bytes())
    except OSError as exc:
        say(f"ntv-archive: error: {path}: {exc.strerror}")
        return EXIT_CANNOT_RUN
    except ValueError as exc:  # malformed or nested too deeply, or not UTF-8
        say(f"ntv-archive: error: {path}: not JSON ({exc})")
        return EXIT_CANNOT_RUN
    if args.store:
        os.environ["ARCHIVE_STORE"] = args.store
    from handler.app import lambda_handler, worker_handler  # the Lambda doors (metrics setup)
    from handler.run.events import is_sqs_event

    entry = worker_handler if is_sqs_event(event) else lambda_handler
    # EMF metric lines are printed by Powertools; keep stdout for the response alone.
    with contextlib.redirect_stdout(sys.stderr):
        response = entry(event, LocalContext(args.timeout))
    print(json.dumps(response, ensure_ascii=False, indent=2))
    if "error" in response:
        return EXIT_CANNOT_RUN
    from handler.run.outcomes import response_lost_something

    for source in response.get("sources") or []:  # an import's damaged files: said, not buried
        if isinstance(source, dict) and source.get("error"):
            say(f"ntv-archive: error: {source['error']}")
    return EXIT_ARTICLES_FAILED if response_lost_something(response) else EXIT_OK


class LocalContext:
    """The parts of the Lambda context the handler reads, for local invocations."""

    function_name = "ntv-archive-local"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:ntv-archive-local"
    aws_request_id = "local"

    def __init__(self, timeout_s: float) -> None:
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
