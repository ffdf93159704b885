"""Stores: one interface (``BlobStore``), a local directory and S3, the same key layout."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from handler.core.errors import ConfigError
from handler.store.base import BlobStore
from handler.store.local import LocalStore
from handler.store.s3 import S3Store

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")


def open_store(dest: str) -> BlobStore:
    """``s3://bucket/prefix`` -> S3Store; anything else is a local directory. What looks like
    a mistyped URL (``s3:/bucket``, ``S3://``, ``gs://``) or is empty is refused, not taken for
    a folder name."""
    if not dest.strip():
        raise ConfigError("store '': give a directory or s3://bucket/prefix")
    if dest.startswith("s3://"):
        parts = urlsplit(dest)
        if not _BUCKET.match(parts.netloc or ""):
            raise ConfigError(f"store {dest!r}: an S3 store needs a bucket (s3://bucket/prefix)")
        return S3Store(parts.netloc, parts.path)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", dest) and not re.match(r"^[A-Za-z]:[\\/]", dest):
        raise ConfigError(
            f"store {dest!r}: looks like a URL; "
            "only directories and s3:// are supported (s3://bucket/prefix)"
        )
    return LocalStore(dest)


__all__ = ["BlobStore", "LocalStore", "S3Store", "open_store"]
