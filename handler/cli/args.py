"""Argument types and option groups shared by the ntv-archive commands."""

from __future__ import annotations

import argparse
import math
from datetime import date, timedelta
from typing import Any, NoReturn

from handler.cli.output import say
from handler.core import times
from handler.core.config import (
    DEFAULT_STORE,
    FetchSettings,
    RetryPolicy,
    RunSettings,
    revisit_steps,
)
from handler.core.errors import UrlError
from handler.core.urls import parse_host_name, parse_web_url

# Documented in README.md and docs/cli.md ("Exit codes"): scripts rely on them.
EXIT_OK, EXIT_ARTICLES_FAILED, EXIT_CANNOT_RUN = 0, 1, 2
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141  # as a shell reports SIGINT and SIGPIPE


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a wrong argument is one line on stderr (no usage block) and exit 2: what was
    wrong, then where to read how it is meant (``--help``)."""

    def error(self, message: str) -> NoReturn:
        say(f"{self.prog}: error: {message} (see: {self.prog} --help)")
        raise SystemExit(EXIT_CANNOT_RUN)


def store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", default=DEFAULT_STORE, help="directory or s3://bucket/prefix (%(default)s)"
    )


def date_range(parser: argparse.ArgumentParser, required: bool) -> None:
    for name in ("since", "until"):
        parser.add_argument(
            f"--{name}", type=day, required=required, metavar="YYYY-MM-DD",
            help=f"publication day, UTC ({name} inclusive)",
        )  # fmt: skip


def day(value: str) -> date:
    """A range's day, moved into the window of days anything archived can have (see
    ``times.range_end``): the same range, without a day past the calendar's end."""
    try:
        return times.range_end(date.fromisoformat(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from None


def verbosity(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-v", "--verbose", action="count", default=0, help="log progress (-vv: debug)"
    )
    group.add_argument("--quiet", action="store_true", help="print nothing but errors")


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number")
    return number


MAX_SECONDS = 7 * 24 * 3600  # a week: more is a mistake, not a setting


def seconds(value: str) -> float:
    """A finite, non-negative number of seconds, at most a week."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not 0 <= number <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of seconds from 0 to {MAX_SECONDS}"
        )
    return number


def web_url(value: str) -> str:
    """An http(s) URL that every parser reads the same way (see handler.core.urls)."""
    try:
        parse_web_url(value)
    except UrlError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def host_name(value: str) -> str:
    """A bare host name or IP address for the allowlist (core/urls.py parse_host_name)."""
    try:
        return parse_host_name(value)
    except UrlError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def revisit_spec(value: str) -> str:
    """A revisit schedule ("30m,2h,6h,24h,3d,7d" or "off"), checked here, kept as written."""
    from handler.core.config import revisit_steps
    from handler.core.errors import ConfigError

    try:
        revisit_steps(value)
    except ConfigError as exc:  # argparse names the option itself
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from exc
    return value


def allow_host_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-host", action="append", type=host_name, default=[], metavar="HOST",
        help="also allow HOST (repeatable; ntv.de hosts are always allowed)",
    )  # fmt: skip


def section_options(parser: argparse.ArgumentParser) -> None:
    """``--section NAME`` (default politik) or ``--all-sections``; read with ``section_of``."""
    section = parser.add_mutually_exclusive_group()
    section.add_argument(
        "--section", default="politik", help="only articles under this URL folder (%(default)s)"
    )
    section.add_argument("--all-sections", action="store_true", help="articles of every section")


def section_of(args: argparse.Namespace) -> str | None:
    return None if args.all_sections else str(args.section)


# Which RunSettings field each command-line option sets (options a command lacks are skipped).
_SETTINGS_OF_OPTIONS = {
    "feed_url": "feed_url", "feeds": "feeds_file", "max_items": "max_items",
    "concurrency": "concurrency", "event_bus": "event_bus", "recover_after": "pending_grace_s",
    "sitemap_url": "sitemap_url", "sitemap_index": "sitemap_index_url", "rate": "backfill_rate",
}  # fmt: skip


def settings_from(args: argparse.Namespace) -> RunSettings:
    """The run settings a command's options give: one builder for every command, so that an
    option means the same wherever it appears (what the Lambda reads from its environment)."""
    given = {name: value for name, value in vars(args).items() if value is not None}
    fetch = FetchSettings(
        extra_hosts=frozenset(given.get("allow_host") or ()),
        allow_hint="--allow-host",
        **({"max_bytes": given["max_bytes"]} if "max_bytes" in given else {}),
    )
    fields: dict[str, Any] = {"store": args.store, "fetch": fetch}
    fields |= {field: given[option] for option, field in _SETTINGS_OF_OPTIONS.items()
               if option in given}  # fmt: skip
    if "revisit_after" in given:
        fields["revisit_after"] = revisit_steps(given["revisit_after"])
    if "max_attempts" in given:
        delay = timedelta(seconds=given["retry_delay"])
        fields["retry"] = RetryPolicy(max_attempts=given["max_attempts"], first_delay=delay)
    return RunSettings(**fields)
