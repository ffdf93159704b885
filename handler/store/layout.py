"""The key layout, identical on every back end (see docs/storage.md, "Store layout"). Every key the
archive writes is built here, nowhere else.

    articles/YYYY/MM/DD/<id>.json                       latest version (date of publication, UTC)
    versions/<id>/<fetched>.json                        each superseded version
    versions/<id>/<fetched>-r<reprocessed>.json         ... when it was a re-extraction
    raw/YYYY/MM/DD/<id>/<fetched>.warc.gz               the raw capture behind each version
    index/YYYY/MM/DD.jsonl                              the manifest: a line per version, by day
    index/ids/<id>.json                                 where an id's current document is
    index/pending/<written>-<run>-<id>-<version>        intent markers (see archive/catalog.py)
    index/revisit/<due>-<id>.json                       the next revisit of an article (schedule)
    state/run-state.json                                retries owed, parked ids, feed validators
    state/feeds/<sha256 of the feed URL>.json           fan-out: one feed's validators and items
    state/backfill/<sha256 of the job>.json             a backfill's cursor (run/backfill.py)
    state/reprocess/<sha256 of the job>.json            a reprocess's cursor (run/reprocess.py)
    state/quarantine/<name>-<sha256>.json               an unreadable run state, copied aside
    failed/<id>.json                                    an article parked after its last attempt

``<fetched>`` is the fetch time in UTC to the millisecond, ``20251212T040747123Z``: sortable, unique
per version (two versions fetched in one second must not share a key), and free of characters
that need escaping on any file system or in S3.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from typing import Any

from handler.core.errors import StoreError

_SAFE_ID = re.compile(r"^[a-z]+-[0-9a-f]+\Z")


def article_key(doc: dict[str, Any]) -> str:
    return f"{ARTICLES_PREFIX}{_day(doc)}/{_id(doc)}.json"


def version_key(doc: dict[str, Any]) -> str:
    # A re-extraction of an existing capture shares its fetch time; its own time keeps it apart.
    again = f"-r{stamp(doc['reprocessed_at'])}" if doc.get("reprocessed_at") else ""
    return f"versions/{_id(doc)}/{stamp(doc['fetched_at'])}{again}.json"


def versions_prefix(article_id: str) -> str:
    """The folder of an article's superseded versions."""
    return f"versions/{_id({'id': article_id})}/"


def raw_key(doc: dict[str, Any]) -> str:
    return f"raw/{_day(doc)}/{_id(doc)}/{stamp(doc['fetched_at'])}.warc.gz"


PENDING_PREFIX = "index/pending/"
RUNS_PREFIX = "index/runs/"  # run leases (archive/leases.py)
REVISIT_PREFIX = "index/revisit/"
ID_POINTER_PREFIX = "index/ids/"
ARTICLES_PREFIX = "articles/"
STATE_KEY = "state/run-state.json"
FAILED_PREFIX = "failed/"


def articles_day_prefix(day: date) -> str:
    """The folder of one day's current documents."""
    return f"{ARTICLES_PREFIX}{day:%Y/%m/%d}/"


def manifest_key(day: str) -> str:
    """The manifest file of ``day`` (YYYY-MM-DD, or an ISO timestamp read in UTC)."""
    moment = datetime.fromisoformat(day)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"index/{moment:%Y/%m/%d}.jsonl"


INDEX_PREFIX = "index/"
_MANIFEST_DAY = re.compile(r"^index/(\d{4})/(\d\d)/(\d\d)\.jsonl\Z")


def manifest_day(key: str) -> date | None:
    """The day of the manifest file ``key``; None for any other key."""
    found = _MANIFEST_DAY.match(key)
    if found is None:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


def is_manifest_area(key: str) -> bool:
    """Whether ``key`` sorts among the manifest's day files: under ``index/`` they come first
    (digits sort before the letters of ids/, pending/ and revisit/), so a listing of
    ``index/`` may stop at the first key for which this is False."""
    return key.startswith(INDEX_PREFIX) and key[len(INDEX_PREFIX) : len(INDEX_PREFIX) + 1].isdigit()


def id_pointer_key(article_id: str) -> str:
    return f"{ID_POINTER_PREFIX}{article_id}.json"


def failed_key(article_id: str) -> str:
    return f"{FAILED_PREFIX}{article_id}.json"


def feed_state_key(feed_url: str) -> str:
    return f"state/feeds/{hashlib.sha256(feed_url.encode()).hexdigest()[:32]}.json"


QUARANTINE_PREFIX = "state/quarantine/"


def quarantine_key(key: str, data: bytes) -> str:
    """Where an unreadable object is copied aside: named by what it held, so a run that meets
    the same object again writes the same copy."""
    name = key.rsplit("/", 1)[-1].removesuffix(".json")
    return f"{QUARANTINE_PREFIX}{name}-{hashlib.sha256(data).hexdigest()[:16]}.json"


def backfill_key(job: str) -> str:
    """The cursor of one backfill job (its range and section, as text)."""
    return f"state/backfill/{hashlib.sha256(job.encode()).hexdigest()[:32]}.json"


def reprocess_key(job: str) -> str:
    """The cursor of one reprocess job (its range, ids and rules, as text)."""
    return f"state/reprocess/{hashlib.sha256(job.encode()).hexdigest()[:32]}.json"


def pending_key(doc: dict[str, Any], run_id: str, written_at: datetime) -> str:
    """The intent marker of one version (see catalog): when it was written and by which run
    lead the name, so a reader can tell a crashed run's marker from a live one's by name."""
    written = stamp(written_at.isoformat())
    version = version_key(doc).rsplit("/", 1)[-1]
    if not re.match(r"^[0-9a-f]{1,32}\Z", run_id):
        raise StoreError(f"refusing unsafe run id {run_id!r} in a store key")
    return f"{PENDING_PREFIX}{written}-{run_id}-{_id(doc)}-{version}"


def revisit_key(due: datetime, article_id: str) -> str:
    """A revisit entry: named by when it is due, so a listing meets the due ones first and a
    run reads no entry that is not due yet."""
    return f"{REVISIT_PREFIX}{stamp(due.isoformat())}-{_id({'id': article_id})}.json"


def revisit_due_at(key: str) -> datetime | None:
    """When the revisit entry ``key`` is due; None for a name this layout did not make."""
    return _leading_stamp(key.removeprefix(REVISIT_PREFIX))


def run_lease_key(run_id: str) -> str:
    """A run's lease (see archive/leases.py)."""
    if not re.match(r"^[0-9a-f]{1,32}\Z", run_id):
        raise StoreError(f"refusing unsafe run id {run_id!r} in a store key")
    return f"{RUNS_PREFIX}{run_id}.json"


def pending_written_at(key: str) -> datetime | None:
    """When the marker ``key`` was written; None for a name this layout did not make."""
    return _leading_stamp(key.removeprefix(PENDING_PREFIX))


def _leading_stamp(name: str) -> datetime | None:
    """The ``stamp`` a key name starts with (``20251212T040747123Z-…``), as a UTC time."""
    try:
        return datetime.strptime(name[:18], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    except ValueError:
        return None


def pending_run_id(key: str) -> str:
    return key.removeprefix(PENDING_PREFIX)[20:].split("-", 1)[0]


def stamp(iso_time: str) -> str:
    moment = datetime.fromisoformat(iso_time).astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"


_FILED_ON = re.compile(r"^(\d{4})-(\d\d)-(\d\d)\Z")


def _day(doc: dict[str, Any]) -> str:
    # Where it was first filed, when its date was corrected since (archive/versions.py);
    # else its publication day; an article without a publication date is filed under the day
    # it was fetched.
    filed = _FILED_ON.match(str(doc.get("filed_on") or ""))
    if filed:
        return "/".join(filed.groups())
    when = datetime.fromisoformat(doc.get("published_at") or doc["fetched_at"])
    return when.astimezone(UTC).strftime("%Y/%m/%d")


def filed_day(key: str) -> str | None:
    """The day (YYYY-MM-DD) of a current document's key, None for any other key."""
    parts = key.split("/")
    if len(parts) != 5 or parts[0] != "articles" or not _FILED_ON.match("-".join(parts[1:4])):
        return None
    return "-".join(parts[1:4])


def _id(doc: dict[str, Any]) -> str:
    # Ids are built by models.article_id; this guards the key space against anything else.
    doc_id = str(doc.get("id", ""))
    if not _SAFE_ID.match(doc_id):
        raise StoreError(f"refusing unsafe document id {doc_id!r} in a store key")
    return doc_id
