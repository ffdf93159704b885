"""Run leases: how another run knows that the run behind an intent marker is dead.

A run that writes (its first intent marker, see catalog.py) takes a lease,
``index/runs/<run_id>.json``, saying until when it is alive. A heartbeat thread renews it
every ``HEARTBEAT_S`` while the run goes on; in Lambda it never reaches past the invocation's
own deadline (the Lambda timeout is the bound). A run that ends releases it (deletes it),
after settling its own markers, also when it is interrupted (Ctrl-C).

A run killed outright (kill -9, a Lambda timeout) leaves its lease to expire: once it has
expired (plus ``CLOCK_SKEW_S`` for clocks that disagree), its markers belong to a dead run and
the next run settles them at once, instead of after the whole recovery window
(``--recover-after``, which still bounds markers whose run left no lease).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from handler.core import jsontext
from handler.core.errors import StoreError
from handler.store.base import JSON_CONTENT_TYPE, BlobStore
from handler.store.layout import PENDING_PREFIX, pending_run_id, pending_written_at, run_lease_key

LEASE_S = 60.0  # how long a lease holds without renewal
HEARTBEAT_S = 15.0  # how often a live run renews it
CLOCK_SKEW_S = 30.0  # clocks of two runs (a laptop, a Lambda) may disagree this much

Clock = Callable[[], datetime]
Deadline = Callable[[], datetime | None]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RunLease:
    """This run's lease: taken on first use, renewed by a heartbeat, released at the end."""

    def __init__(
        self,
        store: BlobStore,
        run_id: str,
        deadline: Deadline | None = None,
        clock: Clock = _utcnow,
    ) -> None:
        self._store = store
        self._run_id = run_id
        self._deadline = deadline or (lambda: None)
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self) -> None:
        """Take the lease and start the heartbeat, once; later calls cost nothing."""
        with self._lock:
            if self._thread is not None:
                return
            self._renew()
            # A stop event per heartbeat: a run that released its lease (a feed of several
            # failed: its use case abandoned) and writes again beats again.
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._beat, args=(self._stop,), name=f"lease-{self._run_id}", daemon=True
            )
            self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat and delete the lease (the run's markers are settled by then)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=HEARTBEAT_S)
        self._store.delete(run_lease_key(self._run_id))

    def _beat(self, stop: threading.Event) -> None:
        failures = 0
        while not stop.wait(HEARTBEAT_S) and failures < 3:
            try:
                self._renew()
                failures = 0
            except Exception:  # any fault: the lease holds LEASE_S more; three in a row, stop
                failures += 1

    def _renew(self) -> None:
        now = self._clock()
        until = now + timedelta(seconds=LEASE_S)
        deadline = self._deadline()
        if deadline is not None:
            until = min(until, deadline)
        body = {"run_id": self._run_id, "renewed_at": now.isoformat(timespec="milliseconds"),
                "alive_until": until.isoformat(timespec="milliseconds")}  # fmt: skip
        self._store.put(run_lease_key(self._run_id), json.dumps(body).encode(), JSON_CONTENT_TYPE)


def alive_until(store: BlobStore, run_id: str) -> datetime | None:
    """Until when the run ``run_id`` said it is alive; None when it holds no readable lease."""
    try:
        data = store.get(run_lease_key(run_id))
    except StoreError:
        return None
    if data is None:
        return None
    try:
        until = datetime.fromisoformat(jsontext.loads(data)["alive_until"])
    except (ValueError, KeyError, TypeError):
        return None
    return until if until.tzinfo is not None else None


class LeaseBook:
    """The leases of the runs named by intent markers, each read once (a listing of markers
    names the same run many times)."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self._until: dict[str, datetime | None] = {}

    def alive_until(self, run_id: str) -> datetime | None:
        if run_id not in self._until:
            self._until[run_id] = alive_until(self._store, run_id)
        return self._until[run_id]

    @property
    def runs(self) -> set[str]:
        """The runs looked up so far."""
        return set(self._until)


def known_dead(until: datetime | None, now: datetime) -> bool:
    """Whether a run whose lease says ``until`` is surely gone by ``now``."""
    return until is not None and now >= until + timedelta(seconds=CLOCK_SKEW_S)


def waiting_markers(store: BlobStore) -> list[dict[str, Any]]:
    """The intent markers not yet settled, each with its run and what its lease says: a live
    run's markers are its writes in flight; a dead run's are settled by the next run (its
    versions are stored, but not in the manifest until then). For ``status``."""
    now = datetime.now(UTC)
    leases = LeaseBook(store)
    found = []
    for key in store.list(PENDING_PREFIX):
        run_id, written = pending_run_id(key), pending_written_at(key)
        until = leases.alive_until(run_id)
        found.append({
            "key": key,
            "run_id": run_id,
            "written_at": written.isoformat(timespec="milliseconds") if written else None,
            "run_alive_until": until.isoformat(timespec="milliseconds") if until else None,
            "run": "dead" if known_dead(until, now) else "alive" if until else "no lease",
        })  # fmt: skip
    return found
