"""Discovery without listing the bucket: the per-day manifest and the id pointers.

    index/YYYY/MM/DD.jsonl     one line per document version made that day (UTC)
    index/ids/<id>.json        where the current version of an article lives

A consumer finds what is new by reading one small manifest object per day, and any article by
id with one pointer read. Manifest lines are appended by compare-and-swap, so concurrent runs
never drop each other's lines.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from handler.archive.leases import CLOCK_SKEW_S, LEASE_S, LeaseBook, RunLease, known_dead
from handler.archive.manifest import append_lines, line_day_key, manifest_line, version_time
from handler.archive.versions import Intent
from handler.core import jsontext
from handler.core.errors import StoreError
from handler.store.base import JSON_CONTENT_TYPE, BlobStore
from handler.store.layout import (
    PENDING_PREFIX,
    id_pointer_key,
    manifest_key,
    pending_key,
    pending_run_id,
    pending_written_at,
    run_lease_key,
    version_key,
)


class Catalog:
    """Every stored version gets exactly one manifest line and its id pointer, whatever
    happens: kill -9 at any point, a Lambda timeout, an ambiguous S3 answer, concurrent runs.

    How (docs/consumers.md, "The catalog invariant"):

    1. ``intend``: just before a document is committed, an intent marker holding its manifest
       line is written under ``index/pending/`` (named by time and run).
    2. ``record``: after the commit, the id pointer is written and the line buffered; ``flush``
       appends the buffered lines (one compare-and-swap per manifest day, skipping any line
       already there) and only then deletes their markers.
    3. ``recover`` (part of ``flush``): markers of runs that died. A run is known dead when its
       lease (archive/leases.py) has expired, or, without a lease, once its marker is older
       than a lease; any marker older than ``grace_s`` is settled too. Each is checked against
       what is stored: a stored version gets its line and pointer now; a version never
       committed just loses its marker. A run that is interrupted settles its own (``abandon``).

    Appends are idempotent (a line is identified by id + version), so doing any step twice
    after a crash, or two runs recovering one marker, adds nothing twice.
    """

    def __init__(
        self,
        store: BlobStore,
        run_id: str = "0",
        grace_s: float = 900.0,
        lease: RunLease | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.grace_s = grace_s
        self.lease = lease
        self._buffered: dict[str, list[dict[str, Any]]] = {}
        self._markers: list[str] = []
        self._lock = threading.Lock()

    def intend(self, doc: dict[str, Any], intent: Intent) -> str:
        """Write the intent marker for one write attempt of ``doc``; returns its key."""
        if self.lease is not None:
            self.lease.hold()  # before the first marker: others must be able to tell we live
        key = pending_key(doc, self.run_id, datetime.now(UTC))
        marker = {
            "line": manifest_line(doc, intent.status),
            "version_key": version_key(doc),
            "raw_key": intent.raw_key,
            "superseded_key": intent.superseded_key,
            # The replaced version's stored bytes: copied to versions/ after the commit, so a
            # run that dies in between leaves what is needed to finish the copy.
            "superseded": intent.superseded.decode("utf-8") if intent.superseded else None,
        }
        self.store.put(key, json.dumps(marker).encode(), JSON_CONTENT_TYPE)
        return key

    def record(
        self, doc: dict[str, Any], status: str, marker: str | None = None, defer: bool = False
    ) -> dict[str, Any]:
        """Point the id at a stored version and add its manifest line; returns the line."""
        line = manifest_line(doc, status)
        self._point(line)
        key = line_day_key(line)
        if defer:
            with self._lock:
                self._buffered.setdefault(key, []).append(line)
                if marker:
                    self._markers.append(marker)
        else:
            append_lines(self.store, key, [line])
            if marker:
                self.store.delete(marker)
        return line

    def confirm(self, marker: str) -> str | None:
        """After a write attempt that did not obviously commit (lost a race, failed, or was
        answered with an error although it landed): the marker's status if its version is
        stored after all; else None, with the attempt's half-writes undone and the marker
        removed."""
        loaded = self._load_marker(marker)
        if loaded is not None and self._stored(loaded):
            self._keep_superseded(loaded)
            return str(loaded["line"]["status"])
        if loaded is not None:
            self._undo_half_writes(loaded)
        self.store.delete(marker)
        return None

    def flush(self, recover: bool = True) -> list[dict[str, Any]]:
        """Append every buffered line, drop their markers, then (``recover``) recover crashed
        runs' markers. Returns the recovered lines (their change events were never sent)."""
        with self._lock:
            buffered, self._buffered = self._buffered, {}
            markers, self._markers = self._markers, []
        for key, lines in sorted(buffered.items()):
            append_lines(self.store, key, lines)
        for marker in markers:
            self.store.delete(marker)
        return self.recover() if recover else []

    def abandon(self) -> list[dict[str, Any]]:
        """The run is being interrupted: append what it stored, settle every marker of its own
        at once (it is known dead: it is us), and release its lease."""
        recovered = self.flush(recover=False) + self.recover(include_own=True)
        if self.lease is not None:
            self.lease.release()
        return recovered

    def release(self) -> None:
        """The run has ended and flushed: its lease goes (no marker of its own is left)."""
        if self.lease is not None:
            self.lease.release()

    def recover(self, include_own: bool = False) -> list[dict[str, Any]]:
        """Settle the markers that runs which died left behind (see the class doc)."""
        due_keys, settled_runs = self._due_markers(include_own)
        due = {key: self._load_marker(key) for key in due_keys}
        committed = self._committed(due)
        recovered: dict[str, list[dict[str, Any]]] = {}
        for key, loaded in due.items():
            if key in committed and loaded is not None:
                line = loaded["line"]
                self._point(line)
                recovered.setdefault(line_day_key(line), []).append(line)
            elif loaded is not None:
                self._undo_half_writes(loaded)
        settled = list(due)
        added = [
            line
            for key, lines in sorted(recovered.items())
            for line in append_lines(self.store, key, lines)
        ]
        for key in settled:
            self.store.delete(key)
        for run_id in settled_runs:  # every marker of theirs is settled: their leases go too
            self.store.delete(run_lease_key(run_id))
        return added

    def _due_markers(self, include_own: bool = False) -> tuple[list[str], set[str]]:
        """The markers of runs that are dead (see the class doc), and the other runs all of
        whose markers are among them (their leases can go). One lease read per other run that
        left markers."""
        now = datetime.now(UTC)
        due: list[str] = []
        leases = LeaseBook(self.store)
        kept_runs: set[str] = set()
        for key in self.store.list(PENDING_PREFIX):
            written, run_id = pending_written_at(key), pending_run_id(key)
            if written is None:
                continue
            if run_id == self.run_id:
                if include_own:
                    due.append(key)
                continue
            age = (now - written).total_seconds()
            until = leases.alive_until(run_id)
            dead = known_dead(until, now) or (until is None and age >= LEASE_S + CLOCK_SKEW_S)
            if dead or age >= self.grace_s:
                due.append(key)
            else:
                kept_runs.add(run_id)
        return due, leases.runs - kept_runs

    def _committed(self, markers: dict[str, dict[str, Any] | None]) -> set[str]:
        """The markers whose version is stored, each one's superseded copy made.

        Settled to a fixed point, not in listing order: a run that committed V2 over V1 and died
        before copying V1 to versions/ leaves V1 findable only through V2's marker, so V1's own
        marker (listed first) is judged again once V2's copy is made. Otherwise V1 would lose
        its manifest line and then reappear in versions/ without one."""
        committed: set[str] = set()
        progress = True
        while progress:
            progress = False
            for key, loaded in markers.items():
                if key not in committed and loaded is not None and self._stored(loaded):
                    self._keep_superseded(loaded)
                    committed.add(key)
                    progress = True
        return committed

    def archived(self, article_id: str) -> bool:
        """Whether the archive has the article (its pointer read). An unreadable pointer counts
        as absent: to a caller deciding whether to fetch, that costs one page at worst."""
        try:
            return self.current_key(article_id) is not None
        except (StoreError, ValueError, KeyError, TypeError):
            return False

    def current_key(self, article_id: str) -> str | None:
        data = self.store.get(id_pointer_key(article_id))
        return str(jsontext.loads(data)["key"]) if data else None

    def lines(self, day: str) -> list[dict[str, Any]]:
        data = self.store.get(manifest_key(day))
        return [jsontext.loads(line) for line in data.splitlines() if line.strip()] if data else []

    def _point(self, line: dict[str, Any]) -> None:
        pointer = json.dumps({"id": line["id"], "key": line["key"]}).encode()
        self.store.put(id_pointer_key(line["id"]), pointer, JSON_CONTENT_TYPE)

    def _load_marker(self, key: str) -> dict[str, Any] | None:
        data = self.store.get(key)
        if data is None:
            return None
        try:
            loaded = jsontext.loads(data)
            if isinstance(loaded.get("line"), dict) and isinstance(loaded.get("version_key"), str):
                return dict(loaded)
        except (ValueError, AttributeError):
            pass
        return None  # unreadable: nothing to recover from it

    def _keep_superseded(self, marker: dict[str, Any]) -> None:
        """The version a committed attempt replaced is copied to versions/ after the commit; a
        run that died in between did not, so the copy is made here from the marker."""
        key, data = marker.get("superseded_key"), marker.get("superseded")
        if isinstance(key, str) and isinstance(data, str) and self.store.get(key) is None:
            self.store.put(key, data.encode("utf-8"), JSON_CONTENT_TYPE)

    def _undo_half_writes(self, marker: dict[str, Any]) -> None:
        """A run died (or an attempt failed) before committing: its capture names no document
        and goes. Nothing else was written: the superseded copy waits for the commit."""
        capture = marker.get("raw_key")
        # Spared when a stored version names it: the current one, or the one filed under the
        # marker's version key (another run's capture of the same millisecond, superseded).
        stored = (self._doc(marker["line"]["key"]), self._doc(marker["version_key"]))
        named = {((doc or {}).get("capture") or {}).get("raw_key") for doc in stored}
        if isinstance(capture, str) and capture not in named:
            self.store.delete(capture)

    def _doc(self, key: str) -> dict[str, Any] | None:
        data = self.store.get(key)
        try:
            doc = jsontext.loads(data) if data else None
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    def _stored(self, marker: dict[str, Any]) -> bool:
        """Is the marker's version in the store: as the current document, or superseded?"""
        line = marker["line"]
        for key in (line["key"], marker["version_key"]):
            doc = self._doc(key)
            if (
                doc is not None
                and doc.get("content_sha256") == line["content_sha256"]
                and version_time(doc) == line["version"]
            ):
                return True
        return False
