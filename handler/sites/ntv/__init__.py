"""ntv.de: layout rules (``layouts``) and the site's text conventions (``parsing``)."""

from handler.sites.ntv.layouts import Ntv2025, NtvLayout, NtvLegacy, section_of
from handler.sites.ntv.parsing import parse_byline, parse_source_line, split_credit

__all__ = [
    "Ntv2025",
    "NtvLayout",
    "NtvLegacy",
    "parse_byline",
    "parse_source_line",
    "section_of",
    "split_credit",
]
