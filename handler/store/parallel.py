"""Reading many objects at once, in order, with a bounded number in flight.

An archive-wide read (an export, the manifest's day files) is mostly waiting on round trips:
S3 answers a GET in tens of milliseconds however small the object. A few threads overlap those
waits; the window keeps memory flat however many keys there are, and the results come back in
the order of the keys, so a caller streams them as if it had read one after another.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from handler.store.base import BlobStore

DEFAULT_READERS = 8


def read_in_order(
    store: BlobStore, keys: Iterable[str], readers: int = DEFAULT_READERS
) -> Iterator[tuple[str, bytes | None]]:
    """``(key, bytes or None when absent)`` for every key, in the keys' order. At most
    ``4 * readers`` objects are held at once; ``readers=1`` reads one after another."""
    if readers <= 1:
        for key in keys:
            yield key, store.get(key)
        return
    window: deque[tuple[str, Future[bytes | None]]] = deque()
    with ThreadPoolExecutor(max_workers=readers, thread_name_prefix="read") as pool:
        try:
            for key in keys:
                window.append((key, pool.submit(store.get, key)))
                if len(window) >= 4 * readers:
                    done_key, future = window.popleft()
                    yield done_key, future.result()
            while window:
                done_key, future = window.popleft()
                yield done_key, future.result()
        finally:
            for _, future in window:  # a caller that stopped early: drop what is queued
                future.cancel()
