"""Versions of the installed libraries, for documents that say what made them."""

from __future__ import annotations

from functools import cache


@cache
def installed_version(package: str) -> str:
    """The installed distribution's version, or "unknown"."""
    from importlib.metadata import PackageNotFoundError, version  # 20 ms, needed once a run

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"
