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
    store_option(show)
    verbosity(show)
    show.set_defaults(command=cmd_show)

    export = commands.add_parser(
        "export", help="write archived articles as JSON Lines (all of them without a range)"
    )
    store_option(export)
    date_range(export, required=False)
    export.add_argument("--format", choices=["jsonl"], default="jsonl", help="(%(default)s)")
    verbosity(export)
    export.set_defaults(command=cmd_export)


PARKED_SHOWN = 50  # the text view shows this many parked articles; --json gives them all


def cmd_status(args: argparse.Namespace) -> int:
    from handler.archive.schedule import scheduled_revisits
    from handler.archive.state import StateStore

    store = open_archive(args.store)
    states = StateStore(store)
    state, parked_keys = states.load(), states.parked_keys()
    # Parked records are read only when shown: a listing counts them, however many there are.
    parked = states.parked(parked_keys if args.json else parked_keys[-PARKED_SHOWN:])
    revisits = scheduled_revisits(store)
    pending = [
        {"id": p.item.id, "url": p.item.link, "feed_url": p.feed_url, "attempts": p.attempts,
         "next_retry_at": p.next_retry_at or "next run",
         "last_reason": p.reasons[-1]["reason"] if p.reasons else "deferred (time budget)",
         "last_attempt": p.reasons[-1] if p.reasons else None}
        for p in state.pending.values()
    ]  # fmt: skip
    schedule = {"scheduled": len(revisits),
                "next_due": revisits[0].isoformat() if revisits else None}  # fmt: skip
    if args.json:
        print(json.dumps({"pending": pending, "parked": parked, "revisits": schedule},
                         ensure_ascii=False))  # fmt: skip
        return EXIT_OK
    print(f"{len(pending)} pending, {len(parked_keys)} parked in {args.store}")
    print(f"  {schedule['scheduled']} revisits scheduled, next due {schedule['next_due'] or '-'}")
    for entry in pending:
        print(f"  pending {entry['id']}: attempt {entry['attempts']}, next {entry['next_retry_at']}"
              f" - {entry['last_reason']}")  # fmt: skip
    if len(parked_keys) > len(parked):
        print(f"  ({len(parked_keys) - len(parked)} more parked; --json lists them all)")
    for record in parked:
        reasons = record.get("reasons") or [{}]
        print(f"  parked  {record.get('id')}: {record.get('attempts')} attempts"
              f" - {reasons[-1].get('reason', '')}")  # fmt: skip
    return EXIT_OK


def open_archive(dest: str) -> Any:
    """The store a reading command reads; a local directory that is not there is an error,
    not an empty archive (a mistyped --store must not look like "0 articles")."""
    from handler.core.errors import StoreError
    from handler.store import LocalStore, open_store

    store = open_store(dest)
    if isinstance(store, LocalStore) and not store.root.is_dir():
        raise StoreError(f"no archive at {dest} (no such directory)")
    return store


def report_skipped(skipped: list[str]) -> int:
    for reason in skipped:
        print(f"ntv-archive: skipped {reason}", file=sys.stderr)
    return EXIT_ARTICLES_FAILED if skipped else EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from handler.archive.reader import list_articles

    rows = list_articles(open_archive(args.store), args.since, args.until)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            print(f"{row['published_at'] or '-':25}  {row['id']:14}  {row['title'] or ''}")
        print(f"{len(rows)} articles", file=sys.stderr)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from handler.archive.reader import get_article

    print(json.dumps(get_article(open_archive(args.store), args.id), ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from handler.archive.reader import iter_articles

    count = 0
    skipped: list[str] = []
    out = sys.stdout
    for doc in iter_articles(open_archive(args.store), args.since, args.until, skipped):
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        count += 1
    print(f"exported {count} articles", file=sys.stderr)
    return report_skipped(skipped)
