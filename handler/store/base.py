"""The one interface every store back end implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
WARC_CONTENT_TYPE = "application/warc"


@dataclass(frozen=True)
class Versioned:
    """An object's bytes and the version token a conditional write must name (None: absent)."""

    data: bytes | None
    version: str | None


class BlobStore(Protocol):
    """Keys are '/'-separated relative paths (see ``layout``); values are bytes."""

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""
        ...

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write the whole object at once; readers never see a partial object."""
        ...

    def read(self, key: str) -> Versioned:
        """The object with its version token (``Versioned(None, None)`` when absent)."""
        ...

    def put_if(self, key: str, data: bytes, content_type: str, expected: str | None) -> None:
        """Write only if the object is still at version ``expected`` (None: still absent);
        ConflictError otherwise. This is the archive's compare-and-swap."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under ``prefix`` (a folder ending in '/'), in lexical order."""
        ...

    def describe(self) -> str:
        """Where this store writes, for messages ("./archive", "s3://bucket/prefix")."""
        ...

    def check_writable(self) -> None:
        """StoreError now if writing is sure to fail, before a run fetches anything; cheap
        (no request where asking would cost one)."""
        ...


def key_sizes(store: BlobStore, prefix: str) -> Iterator[tuple[str, int]]:
    """Keys under ``prefix`` with their sizes: from the listing where the back end gives them
    (local, S3), else by reading each object (a store wrapped in tests, say)."""
    sizes = getattr(store, "sizes", None)
    if sizes is not None:
        yield from sizes(prefix)
        return
    for key in store.list(prefix):
        data = store.get(key)
        if data is not None:
            yield key, len(data)
