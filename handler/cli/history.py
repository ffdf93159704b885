"""The commands that read an article's versions: ``history`` and ``diff``."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from handler.archive.changes import word_report
from handler.archive.manifest import version_time
from handler.cli.args import EXIT_OK, store_option, verbosity
from handler.cli.output import counted, say
from handler.core import times
from handler.core.errors import ArchiveError

# On a terminal: removed words red, added green (ANSI); elsewhere git's plain word-diff marks.
_COLOURS = {"removed": ("\x1b[31m", "\x1b[0m"), "added": ("\x1b[32m", "\x1b[0m")}
_MARKS = {"removed": ("[-", "-]"), "added": ("{+", "+}")}


class VersionError(ArchiveError):
    """A version asked for by --from/--to is not there (or is not one)."""


def add_history_commands(commands: Any) -> None:
    history = commands.add_parser("history", help="list an article's versions and what changed")
    history.add_argument("id", help="archive id, e.g. ntv-30134161")
    store_option(history)
    history.add_argument("--json", action="store_true", help="print one JSON array")
    verbosity(history)
    history.set_defaults(command=cmd_history)

    diff = commands.add_parser("diff", help="word-level diff between two versions of an article")
    diff.add_argument("id", help="archive id, e.g. ntv-30134161")
    store_option(diff)
    diff.add_argument("--from", dest="from_version", metavar="FETCHED",
                      help="the earlier version (its fetch time, or a unique prefix of it; "
                           "default: the one before --to)")  # fmt: skip
    diff.add_argument("--to", dest="to_version", metavar="FETCHED",
                      help="the later version (default: the current one)")  # fmt: skip
    diff.add_argument("--json", action="store_true", help="print the changes as JSON")
    diff.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                      help="colour added/removed words (%(default)s: on a terminal)")  # fmt: skip
    verbosity(diff)
    diff.set_defaults(command=cmd_diff)


def cmd_history(args: argparse.Namespace) -> int:
    from handler.archive.changes import changes
    from handler.archive.reader import article_versions
    from handler.cli.read import open_archive

    versions = article_versions(open_archive(args.store), args.id)
    rows = []
    for n, doc in enumerate(versions):
        said = changes(versions[n - 1], doc)["summary"] if n else "first version"
        rows.append({"version": version_time(doc), "fetched_at": doc.get("fetched_at"),
                     "reprocessed": bool(doc.get("reprocessed_at")),
                     "content_sha256": doc.get("content_sha256"), "title": doc.get("title"),
                     "summary": said, "current": n == len(versions) - 1})  # fmt: skip
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return EXIT_OK
    for row in rows:
        flags = " (re-extracted)" if row["reprocessed"] else ""
        flags += " (current)" if row["current"] else ""
        print(f"{row['version']}  {str(row['content_sha256'])[:12]}  {row['summary']}{flags}")
    say(f"{counted(len(rows), 'version')} of {args.id}")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from handler.archive.reader import article_versions
    from handler.cli.read import open_archive

    versions = article_versions(open_archive(args.store), args.id)
    later = pick(versions, args.to_version, args.id) if args.to_version else len(versions) - 1
    earlier = pick(versions, args.from_version, args.id) if args.from_version else later - 1
    if earlier < 0:
        say(f"ntv-archive: {args.id} has no version before {version_time(versions[later])}: "
              "nothing to compare")  # fmt: skip
        return EXIT_OK
    if earlier == later:
        say(f"ntv-archive: --from and --to both name {version_time(versions[later])} of "
              f"{args.id}: nothing to compare")  # fmt: skip
        return EXIT_OK
    if earlier > later:
        raise VersionError(f"--from {version_time(versions[earlier])} is later than --to "
                           f"{version_time(versions[later])}; swap them")  # fmt: skip
    before, after = versions[earlier], versions[later]
    report = word_report(before, after)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return EXIT_OK
    colour = args.color == "always" or (args.color == "auto" and colour_terminal())
    print(f"--- {args.id} {report['from']}")
    print(f"+++ {args.id} {report['to']}")
    print(f"# {report['changes']['summary']}")
    for hunk in report["words"]:
        where = hunk["field"] if hunk["field"] != "body" else (
            f"body paragraph {hunk['paragraph'] + 1} ({hunk['op']})")  # fmt: skip
        print(f"{where}:")
        print("  " + render(hunk["ops"], colour))
    return EXIT_OK


def colour_terminal() -> bool:
    """Colour on a terminal that shows it, unless the user said no (https://no-color.org)."""
    import os

    if os.environ.get("NO_COLOR") or os.environ.get("TERM", "") == "dumb":
        return False
    return sys.stdout.isatty()


def render(ops: list[tuple[str, str]], colour: bool) -> str:
    marks = _COLOURS if colour else _MARKS
    parts = []
    for op, text in ops:
        if op == "equal":
            parts.append(text)
        else:
            start, end = marks[op]
            parts.append(f"{start}{text}{end}")
    return " ".join(parts)


def pick(versions: list[dict[str, Any]], spec: str, article_id: str) -> int:
    """The index of the one version whose time ``spec`` names: an ISO time with offset (to the
    millisecond or less), or any prefix of it in UTC digits ("2025-12-12T04:07")."""
    wanted = _digits_of(spec)
    hits = [n for n, doc in enumerate(versions) if _digits_of(version_time(doc)).startswith(wanted)]
    if len(hits) == 1 and wanted:
        return hits[0]
    known = ", ".join(version_time(v) for v in versions)
    if not hits or not wanted:
        raise VersionError(f"{article_id} has no version at {spec!r}; its versions: {known}")
    raise VersionError(f"{spec!r} names {len(hits)} versions of {article_id}; be more precise: "
                       f"{known}")  # fmt: skip


def _digits_of(spec: str) -> str:
    """A time as UTC digits (YYYYMMDDhhmmssmmm); a partial time as the digits it gives."""
    # A time with an offset, in the window versions lie in; otherwise the digits as given
    # (a partial time, or one no version can have: it then names none).
    utc = times.instant(spec, with_offset=True)
    if utc is None:
        return re.sub(r"\D", "", spec)
    full = utc.strftime("%Y%m%d%H%M%S") + f"{utc.microsecond // 1000:03d}"
    # Only as precise as written: "…T04:07:47+00:00" names every millisecond of that second.
    given = len(re.sub(r"\D", "", spec.split("+")[0].removesuffix("Z")))
    return full[: min(len(full), given)]
