"""Site rules: per-publisher, per-layout extraction, chosen by what the page contains.

A feed names its site profile (``ntv`` by default, ``generic`` for none); a new layout of a
site is a new rule class beside the old ones in its package.
"""

from __future__ import annotations

from handler.sites.ntv import NTV
from handler.sites.rules import LayoutRule, PageRecogniser, Site

SITES: dict[str, Site] = {NTV.name: NTV}


def site_for(profile: str) -> Site | None:
    """The site of a feed's profile; None for ``generic`` (trafilatura alone)."""
    return SITES.get(profile)


__all__ = ["SITES", "LayoutRule", "PageRecogniser", "Site", "site_for"]
