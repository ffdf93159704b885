"""ntv.de: layout rules (``layouts``), pages that are not articles (``pages``) and the site's
text conventions (``parsing``)."""

from handler.core import sitedefs
from handler.core.models import ArticleFields
from handler.extract.page import Page
from handler.sites.ntv.definition import NTV_SITE
from handler.sites.ntv.layouts import Ntv2025, NtvLayout, NtvLegacy
from handler.sites.ntv.pages import AuthorPage, SectionFront
from handler.sites.ntv.parsing import (
    PUBLISHER,
    detect_kind,
    is_publisher,
    parse_byline,
    parse_source_line,
    split_credit,
)
from handler.sites.rules import Site


def conventions(fields: ArticleFields, page: Page) -> ArticleFields:
    """ntv's rules applied to trafilatura's fields of a page no layout knows: bylines parsed
    (role prefixes, places, the newsroom dropped), the kind from ntv's URL paths."""
    authors = [name for raw in fields.authors for name in parse_byline(raw)[0]]
    fields.authors = [name for name in authors if not is_publisher(name)]
    fields.kind = detect_kind(page)
    fields.publisher = PUBLISHER
    return fields


# Newest layout first: it is what the live feed links to.
NTV = Site(
    name=NTV_SITE.name,
    publisher=PUBLISHER,
    layouts=(Ntv2025(), NtvLegacy()),
    not_articles=(AuthorPage(), SectionFront()),
    conventions=conventions,
)

RULES = NTV  # what core/sitedefs' ``rules`` names
sitedefs.register(NTV_SITE)

__all__ = [
    "NTV",
    "NTV_SITE",
    "RULES",
    "Ntv2025",
    "NtvLayout",
    "NtvLegacy",
    "parse_byline",
    "parse_source_line",
    "split_credit",
]
