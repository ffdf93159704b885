"""The commands that read the archive: status, list, show, export."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from handler.cli.args import (
    EXIT_ARTICLES_FAILED,
    EXIT_OK,
    date_range,
    store_option,
    verbosity,
)
from handler.cli.output import counted, progress_for, say, to_milliseconds


def add_read_commands(commands: Any) -> None:
    status = commands.add_parser("status", help="show pending retries and parked articles")
    store_option(status)
    status.add_argument("--json", action="store_true", help="print as one JSON object")
    verbosity(status)
    status.set_defaults(command=cmd_status)

    listing = commands.add_parser("list", help="list archived articles by publication day")
    store_option(listing)
    date_range(listing, required=False)
    listing.add_argument("--json", action="store_true", help="print one JSON array")
    verbosity(listing)
    listing.set_defaults(command=cmd_list)

    show = commands.add_parser("show", help="print one archived article (current version)")
    show.add_argument("id", help="archive id, e.g. ntv-30134161")
    show.add_argument("--version", dest="version", metavar="FETCHED",
                      help="an older version: its time as `history` lists it, or a unique "
                      "prefix of it (default: the current one)")  # fmt: skip
    store_option(show)
    verbosity(show)
    show.set_defaults(command=cmd_show)

    export = commands.add_parser(
        "export", help="write archived articles as JSON Lines (all of them without a range)"
    )
    store_option(export)
    date_range(export, required=False)
    export.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl",
                        help="jsonl: one document a line; parquet: a typed table with "
                        "the schema's columns (pyarrow: docs/cli.md) (%(default)s)")  # fmt: skip
    export.add_argument(
        "--output", "-o", metavar="FILE",
        help="write here, not to standard output (required for parquet)",
    )  # fmt: skip
    verbosity(export)
    export.set_defaults(command=cmd_export)

    schema = commands.add_parser("schema", help="print the document's JSON Schema")
    schema.add_argument("--duckdb", action="store_true",
                        help="print DuckDB read_json columns made from it instead")  # fmt: skip
    verbosity(schema)
    schema.set_defaults(command=cmd_schema)


PARKED_SHOWN = 50  # the text view shows this many parked articles; --json gives them all


def cmd_status(args: argparse.Namespace) -> int:
    from handler.archive.leases import waiting_markers
    from handler.archive.schedule import scheduled_revisits
    from handler.archive.statestore import StateStore

    store = open_archive(args.store)
    states = StateStore(store)
    state, parked_keys = states.load(), states.parked_keys()
    # Parked records are read only when shown: a listing counts them, however many there are.
    parked = states.parked(parked_keys if args.json else parked_keys[-PARKED_SHOWN:])
    revisits = scheduled_revisits(store)
    pending = [
        {"id": p.item.id, "url": p.item.link, "feed_url": p.feed_url, "attempts": p.attempts,
         "next_retry_at": to_milliseconds(p.next_retry_at) or "next run",
         "last_reason": p.reasons[-1]["reason"] if p.reasons else "deferred (time budget)",
         "last_attempt": p.reasons[-1] if p.reasons else None}
        for p in state.pending.values()
    ]  # fmt: skip
    next_due = revisits[0].isoformat(timespec="milliseconds") if revisits else None
    schedule = {"scheduled": len(revisits), "next_due": next_due}
    markers = waiting_markers(store)
    if args.json:
        print(json.dumps({"pending": pending, "parked": parked, "revisits": schedule,
                          "markers": markers}, ensure_ascii=False))  # fmt: skip
        return EXIT_OK
    print(f"{len(pending)} pending, {len(parked_keys)} parked in {args.store}")
    print(f"  {counted(len(revisits), 'revisit')} scheduled, next due "
          f"{schedule['next_due'] or '-'}")  # fmt: skip
    if markers:
        runs = {m["run_id"]: m for m in markers}
        print(f"  {counted(len(markers), 'intent marker')} waiting to be settled, of "
              f"{counted(len(runs), 'run')}:")  # fmt: skip
        for run_id, marker in runs.items():
            count = sum(1 for m in markers if m["run_id"] == run_id)
            lease = {"alive": f"alive until {marker['run_alive_until']}",
                     "dead": f"dead since {marker['run_alive_until']}: the next run settles them",
                     "no lease": "no lease: settled by a run once they are a minute and a half "
                     "old"}[marker["run"]]  # fmt: skip
            print(f"    run {run_id}: {counted(count, 'marker')}, {lease}")
    for entry in pending:
        print(f"  pending {entry['id']}: attempt {entry['attempts']}, next {entry['next_retry_at']}"
              f" - {entry['last_reason']}")  # fmt: skip
    if len(parked_keys) > len(parked):
        print(f"  ({len(parked_keys) - len(parked)} more parked; --json lists them all)")
    for record in parked:
        reasons = record.get("reasons") or [{}]
        print(f"  parked  {record.get('id')}: {counted(record.get('attempts') or 0, 'attempt')}"
              f" - {reasons[-1].get('reason', '')}")  # fmt: skip
    return EXIT_OK


def open_archive(dest: str, existing: bool = True) -> Any:
    """The store a command reads. With ``existing``, a store that holds no archive is an error,
    not an empty archive (a mistyped --store must not look like "0 articles")."""
    from handler.archive.reader import require_archive
    from handler.core.errors import StoreError
    from handler.store import LocalStore, open_store

    store = open_store(dest)
    if existing and isinstance(store, LocalStore) and not store.root.is_dir():
        raise StoreError(f"no archive at {dest} (no such directory)")
    if existing:
        require_archive(store)
    return store


def report_skipped(skipped: list[str]) -> int:
    for reason in skipped:
        say(f"ntv-archive: skipped {reason}")
    return EXIT_ARTICLES_FAILED if skipped else EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from handler.archive.reader import list_articles

    rows = list_articles(open_archive(args.store), args.since, args.until)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            print(f"{row['published_at'] or '-':25}  {row['id']:14}  {row['title'] or ''}")
        say(counted(len(rows), "article"))
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from handler.archive.reader import article_versions, get_article

    store = open_archive(args.store)
    if args.version:
        from handler.cli.history import pick

        versions = article_versions(store, args.id)
        doc = versions[pick(versions, args.version, args.id)]
    else:
        doc = get_article(store, args.id)
    print(json.dumps(doc, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:

    from handler.archive.reader import iter_articles
    from handler.core.errors import ConfigError

    skipped: list[str] = []
    store = open_archive(args.store)
    to_terminal = not args.output or args.output == "-"
    if args.format == "parquet" and to_terminal:
        raise ConfigError("export --format parquet needs --output FILE (it is binary)")
    # A bar only when the documents do not go to the same terminal.
    with progress_for(args if not (to_terminal and sys.stdout.isatty()) else None) as bar:
        docs = iter_articles(store, args.since, args.until, skipped,
                             on_total=bar.set_total if bar else None)  # fmt: skip
        if bar is not None:
            docs = _counted(docs, bar)
        if args.format == "parquet":
            from handler.archive.table import write_parquet

            count = write_parquet(docs, output_file(args.output), skipped)
        else:
            target = None if to_terminal else output_file(args.output)
            count = _write_jsonl(docs, target)
    say(f"exported {counted(count, 'article')}")
    return report_skipped(skipped)


def _counted(docs: Any, bar: Any) -> Any:
    for done, doc in enumerate(docs, 1):
        bar(done, 0)
        yield doc


def output_file(output: str) -> Any:
    """Where ``--output`` writes: the file the user named, through a symlink to the file it
    points at (the link stays a link). A device, a folder or anything else that is not a
    regular file is refused, as is a folder that is not there: the export writes beside the
    target and renames over it, which must never replace a device or a link."""
    from pathlib import Path

    from handler.core.errors import ConfigError

    target = Path(output).resolve()
    if target.exists() and not target.is_file():
        raise ConfigError(f"--output {output}: not a regular file (a device, folder or socket); "
                          "give a file name")  # fmt: skip
    if not target.parent.is_dir():
        raise ConfigError(f"--output {output}: no such folder {target.parent}")
    return target


def _write_jsonl(docs: Any, target: Any) -> int:
    """Documents one a line, streamed; to a file, it appears whole when the export is done."""
    import os
    import tempfile
    from pathlib import Path

    if target is None:
        return _lines(docs, sys.stdout)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            count = _lines(docs, handle)
        Path(partial).replace(target)
    finally:
        Path(partial).unlink(missing_ok=True)
    return count


def _lines(docs: Any, out: Any) -> int:
    count = 0
    for doc in docs:
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        count += 1
    return count


def cmd_schema(args: argparse.Namespace) -> int:
    if args.duckdb:
        from handler.archive.table import duckdb_columns

        print(duckdb_columns())
        return EXIT_OK
    from handler.schema import article_schema

    print(json.dumps(article_schema(), ensure_ascii=False, indent=2))
    return EXIT_OK
