"""Site rules: per-publisher, per-layout extraction, chosen by what the page contains.

Each site is a package here (``ntv/``): its definition as data (``definition.py``, registered in
core/sitedefs.py on import: domains, id rule, time zone, sitemaps, title convention) and its
rules (``RULES``: layouts newest first, pages that are not articles, text conventions). A feed
names its site by ``profile`` (``generic``: trafilatura alone). A site kept elsewhere plugs in by
being imported: ``SITE_PACKAGES`` names such packages (comma-separated module paths).
"""

from __future__ import annotations

import importlib
import os

from handler.core import sitedefs
from handler.core.errors import ConfigError, one_line
from handler.sites import ntv  # noqa: F401  the built-in site registers itself
from handler.sites.rules import LayoutRule, PageRecogniser, Site

# A package SITE_PACKAGES names that cannot be imported is remembered, not raised here (at
# import time it would be a traceback from every command); both doors call
# ``require_site_packages`` and refuse to run with one line naming it.
_UNLOADED: dict[str, str] = {}
for _package in filter(None, (p.strip() for p in os.environ.get("SITE_PACKAGES", "").split(","))):
    try:
        importlib.import_module(_package)
    except Exception as _exc:
        _UNLOADED[_package] = one_line(f"{type(_exc).__name__}: {_exc}")


def require_site_packages() -> None:
    """ConfigError naming the first package SITE_PACKAGES names that could not be imported."""
    for package, reason in _UNLOADED.items():
        raise ConfigError(f"environment variable SITE_PACKAGES names {package!r}, which cannot "
                          f"be imported ({reason})")  # fmt: skip


def site_for(profile: str) -> Site | None:
    """The rules of a feed's profile's site; None for ``generic`` (trafilatura alone)."""
    known = sitedefs.site(profile)
    if known is None:
        return None
    rules: Site = importlib.import_module(known.rules).RULES
    return rules


__all__ = ["LayoutRule", "PageRecogniser", "Site", "require_site_packages", "site_for"]
