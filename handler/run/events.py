"""The Lambda events the archive understands, as typed values with validation.

    scheduled   EventBridge rule / Scheduler event          -> poll the configured feed
    replay      {"action": "replay", "urls": [...], "force": false}
    reprocess   {"action": "reprocess", "since": "YYYY-MM-DD", "until": "...", "ids": [...],
                 "restart": false}
    poll        {"action": "poll", "feed_url": "..."}
    backfill    {"action": "backfill", "since": "YYYY-MM-DD", "until": "YYYY-MM-DD",
                 "section": "politik"}
    import      {"action": "import", "keys": ["s3://bucket/key.warc.gz", "imports/x.warc"],
                 "section": "politik"}     (a bare key is in the archive's own bucket)

Anything else raises EventError with a message naming the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from handler.core.errors import EventError, UrlError
from handler.core.urls import parse_web_url

_ID = re.compile(r"^[a-z]+-[0-9a-f]+\Z")
_SCHEDULE_SOURCES = frozenset({"aws.events", "aws.scheduler"})
MAX_REPLAY_URLS = 500
MAX_IMPORT_KEYS = 100
_KEY = re.compile(r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/)?[^\s]{1,1024}\Z")
_SECTION = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}\Z")


@dataclass(frozen=True)
class ScheduledPoll:
    """A schedule fired: poll the configured feeds of this schedule class (None: of every
    class; only ``ntv-archive run --feeds`` without ``--schedule`` asks that)."""

    schedule: str | None = "default"


@dataclass(frozen=True)
class Poll:
    feed_url: str


@dataclass(frozen=True)
class Replay:
    urls: tuple[str, ...]
    force: bool = False


@dataclass(frozen=True)
class Reprocess:
    since: date | None
    until: date | None
    ids: tuple[str, ...] = ()
    restart: bool = False  # redo a job finished with the same rules (or start one over)


@dataclass(frozen=True)
class Import:
    keys: tuple[str, ...]  # s3://bucket/key, or a key in the archive's own bucket
    section: str | None = "politik"  # None: every section


@dataclass(frozen=True)
class Backfill:
    since: date
    until: date
    section: str | None = "politik"  # None: every section


Event = ScheduledPoll | Poll | Replay | Reprocess | Import | Backfill


def is_sqs_event(raw: Any) -> bool:
    records = raw.get("Records") if isinstance(raw, dict) else None
    if not isinstance(records, list) or not records:
        return False
    return all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)


def parse_sqs_event(raw: Any) -> list[dict[str, Any]]:
    """The records of an SQS event (the worker's input)."""
    if not is_sqs_event(raw):
        raise EventError("not an SQS event (expected Records[] with eventSource 'aws:sqs')")
    records: list[dict[str, Any]] = raw["Records"]
    if not all("messageId" in r for r in records):
        raise EventError("SQS event: every record needs a messageId")
    return records


def parse_event(raw: Any) -> Event:
    if not isinstance(raw, dict):
        raise EventError(f"event must be a JSON object, got {type(raw).__name__}")
    source = raw.get("source")
    if (isinstance(source, str) and source in _SCHEDULE_SOURCES) or raw.get(
        "detail-type"
    ) == "Scheduled Event":
        return ScheduledPoll()
    if raw.get("action") == "scheduled":  # a rule of another schedule class sends this input
        _only(raw, {"action", "schedule"})
        schedule = raw.get("schedule", "default")
        if not isinstance(schedule, str) or not schedule:
            raise EventError(
                f"scheduled: 'schedule' must be a schedule class, got {schedule!r}",
                field="schedule",
            )
        return ScheduledPoll(schedule)
    action = raw.get("action")
    parser = _ACTIONS.get(action) if isinstance(action, str) else None
    if parser is None:
        known = ", ".join(sorted(_ACTIONS))
        raise EventError(
            f"event has no known action (got {action!r}; expected one of {known})", field="action"
        )
    return parser(raw)


def _poll(raw: dict[str, Any]) -> Poll:
    _only(raw, {"action", "feed_url"})
    return Poll(feed_url=_url(raw.get("feed_url"), "feed_url"))


def _replay(raw: dict[str, Any]) -> Replay:
    _only(raw, {"action", "urls", "force"})
    urls = raw.get("urls")
    if not isinstance(urls, list) or not urls:
        raise EventError("replay: 'urls' must be a non-empty list of URLs", field="urls")
    if len(urls) > MAX_REPLAY_URLS:
        raise EventError(
            f"replay: at most {MAX_REPLAY_URLS} urls per event, got {len(urls)}", field="urls"
        )
    force = raw.get("force", False)
    if not isinstance(force, bool):
        raise EventError(f"replay: 'force' must be true or false, got {force!r}", field="force")
    checked = tuple(dict.fromkeys(_url(u, f"urls[{i}]") for i, u in enumerate(urls)))
    return Replay(urls=checked, force=force)


def check_ids(ids: Any, where: str) -> tuple[str, ...]:
    """A list of archive ids, or EventError naming ``where``."""
    if not isinstance(ids, list) or not all(isinstance(i, str) and _ID.match(i) for i in ids):
        raise EventError(f"reprocess: '{where}' must be a list of archive ids like "
                         "'ntv-30134161'", field=where)  # fmt: skip
    return tuple(ids)


def _reprocess(raw: dict[str, Any]) -> Reprocess:
    _only(raw, {"action", "since", "until", "ids", "restart"})
    since, until = _day(raw.get("since"), "since"), _day(raw.get("until"), "until")
    if since and until and since > until:
        raise EventError(f"reprocess: 'since' {since} is after 'until' {until}")
    ids = check_ids(raw.get("ids", []), "ids")
    if not (since or until or ids):
        raise EventError("reprocess: give 'since'/'until' dates, 'ids', or both")
    restart = raw.get("restart", False)
    if not isinstance(restart, bool):
        raise EventError(f"reprocess: 'restart' must be true or false, got {restart!r}",
                         field="restart")  # fmt: skip
    return Reprocess(since=since, until=until, ids=ids, restart=restart)


def _import(raw: dict[str, Any]) -> Import:
    _only(raw, {"action", "keys", "section"})
    keys = raw.get("keys")
    if not isinstance(keys, list) or not keys or len(keys) > MAX_IMPORT_KEYS:
        raise EventError(f"import: 'keys' must list 1 to {MAX_IMPORT_KEYS} S3 keys or "
                         "s3:// URLs of WARC files", field="keys")  # fmt: skip
    for n, key in enumerate(keys):
        if not isinstance(key, str) or not _KEY.match(key) or ".." in key.split("/"):
            raise EventError(f"import: keys[{n}] is not an S3 key or s3:// URL: {key!r}",
                             field=f"keys[{n}]")  # fmt: skip
    section = raw.get("section", "politik")
    if section is not None and (not isinstance(section, str) or not _SECTION.match(section)):
        raise EventError(f"import: 'section' must be a URL folder like 'politik' or null, "
                         f"got {section!r}", field="section")  # fmt: skip
    return Import(keys=tuple(dict.fromkeys(keys)), section=section)


def _backfill(raw: dict[str, Any]) -> Backfill:
    _only(raw, {"action", "since", "until", "section"})
    since, until = _day(raw.get("since"), "since"), _day(raw.get("until"), "until")
    if since is None or until is None:
        raise EventError("backfill: give both 'since' and 'until' (YYYY-MM-DD)")
    if since > until:
        raise EventError(f"backfill: 'since' {since} is after 'until' {until}")
    section = raw.get("section", "politik")
    if section is not None and (not isinstance(section, str) or not _SECTION.match(section)):
        raise EventError(f"backfill: 'section' must be a URL folder like 'politik' or null, "
                         f"got {section!r}", field="section")  # fmt: skip
    return Backfill(since=since, until=until, section=section)


_ACTIONS: dict[str, Callable[[dict[str, Any]], Event]] = {
    "backfill": _backfill,
    "poll": _poll,
    "replay": _replay,
    "reprocess": _reprocess,
    "import": _import,
}


def _only(raw: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise EventError(f"{raw['action']}: unknown field(s) {', '.join(map(repr, unknown))}")


def _url(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise EventError(f"{name}: expected an http(s) URL, got {value!r}", field=name)
    try:
        parse_web_url(value)
    except UrlError as exc:
        raise EventError(f"{name}: expected an http(s) URL, got {exc}", field=name) from exc
    return value


def _day(value: Any, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if isinstance(value, str) else _bad_day(value, name)
    except ValueError:
        return _bad_day(value, name)


def _bad_day(value: Any, name: str) -> date:
    raise EventError(f"'{name}' must be a date YYYY-MM-DD, got {value!r}", field=name)
