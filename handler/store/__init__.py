"""Stores: one interface (``BlobStore``), a local directory and S3, the same key layout."""

from __future__ import annotations

from urllib.parse import urlsplit

from handler.errors import ConfigError
from handler.store.base import BlobStore
from handler.store.local import LocalStore
from handler.store.s3 import S3Store


def open_store(dest: str) -> BlobStore:
    """``s3://bucket/prefix`` -> S3Store; anything else is a local directory."""
    if dest.startswith("s3://"):
        parts = urlsplit(dest)
        if not parts.netloc:
            raise ConfigError(f"store {dest!r}: an S3 store needs a bucket (s3://bucket/prefix)")
        return S3Store(parts.netloc, parts.path)
    if "://" in dest:
        raise ConfigError(f"store {dest!r}: only directories and s3:// are supported")
    return LocalStore(dest)


__all__ = ["BlobStore", "LocalStore", "S3Store", "open_store"]
