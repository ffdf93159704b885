"""The one interface every store back end implements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
WARC_CONTENT_TYPE = "application/warc"


class BlobStore(Protocol):
    """Keys are '/'-separated relative paths (see ``layout``); values are bytes."""

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""
        ...

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write the whole object at once; readers never see a partial object."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under ``prefix`` (a folder ending in '/'), in lexical order."""
        ...

    def describe(self) -> str:
        """Where this store writes, for messages ("./archive", "s3://bucket/prefix")."""
        ...
