"""One retry policy for every compare-and-swap of the archive: documents, the run state, the
feed state and the manifest all write by ``put_if`` and, on a conflict, read again and retry.

    for current in attempts(store, key, "the run state"):
        ...                                  # decide what to write from ``current``
        try:
            store.put_if(key, data, content_type, expected=current.version)
            return ...
        except ConflictError:
            continue                         # someone wrote in between: their version next

Each attempt after the first waits a little (jittered, growing), so racing runs spread out
instead of colliding again in lock step; after ``MAX_ATTEMPTS`` the key is said to keep changing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

from handler.core.errors import StoreError
from handler.store.base import BlobStore, Versioned

# Enough for dozens of runs appending to one manifest day at once (fan-out workers do).
MAX_ATTEMPTS = 25
BACKOFF_STEP_S = 0.01


def attempts(
    store: BlobStore, key: str, what: str, first: Versioned | None = None
) -> Iterator[Versioned]:
    """The freshest version of ``key`` for each attempt (``first``: one already read)."""
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, BACKOFF_STEP_S * attempt))
        yield first if first is not None and attempt == 0 else store.read(key)
    raise StoreError(f"{store.describe()}: {key} kept changing ({what}); try again", key=key)
