"""``ntv-archive import``: seed the archive from WARC/ARC files (see run/importing.py)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from handler.cli.args import (
    EXIT_ARTICLES_FAILED,
    EXIT_OK,
    allow_host_option,
    positive,
    section_of,
    section_options,
    settings_from,
    store_option,
    verbosity,
)
from handler.cli.output import counted, progress_for, say
from handler.core.config import DEFAULT_MAX_BYTES


def add_import_command(commands: Any) -> None:
    parser = commands.add_parser(
        "import", help="archive the ntv.de articles in WARC/ARC files (local or s3://)"
    )
    parser.add_argument("sources", nargs="+", metavar="FILE_OR_S3_URL",
                        help="a .warc, .warc.gz or .arc(.gz) file, or s3://bucket/key")  # fmt: skip
    store_option(parser)
    section_options(parser)
    allow_host_option(parser)
    parser.add_argument("--max-bytes", type=positive, default=DEFAULT_MAX_BYTES,
                        help="largest payload accepted, after decoding (%(default)s)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    verbosity(parser)
    parser.set_defaults(command=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from handler.run.context import RunContext
    from handler.run.importing import import_sources

    settings = settings_from(args)
    section = section_of(args)
    # Straight to the use case, not through the dispatcher: an import event names keys in the
    # archive's bucket, a command names local files too.
    with progress_for(args) as bar:
        summary = import_sources(RunContext(settings, progress=bar), args.sources, section)
    if args.json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False))
    else:
        for source in summary.sources:
            verdicts = ", ".join(f"{k} {v}" for k, v in source.items()
                                 if k not in ("source", "records", "error"))  # fmt: skip
            records = counted(source["records"], "record")
            print(f"{source['source']}: {records} ({verdicts or 'none'})")
        counts = summary.counts
        print(f"{counts['new']} new, {counts['updated']} updated, {counts['unchanged']} "
              f"unchanged, {counts['skipped']} skipped, {counts['failed']} failed")  # fmt: skip
    for source in summary.sources:
        if source.get("error"):
            say(f"ntv-archive: error: {source['error']}")
        elif source.get("malformed"):
            damaged = counted(source["malformed"], "malformed record")
            say(f"ntv-archive: error: {source['source']}: {damaged} skipped (not a WARC "
                  "file, or damaged)")  # fmt: skip
    for failure in summary.failures:
        say(f"ntv-archive: failed: {failure.reason}")
    return EXIT_ARTICLES_FAILED if summary.lost_something else EXIT_OK
