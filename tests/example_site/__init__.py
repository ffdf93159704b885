"""A second site, kept outside the package, to show that a site plugs in by its own folder alone
(issue 26): its definition (domains, id rule, time zone, news sitemap, title convention) and its
one layout rule. It registers itself when imported, as ``SITE_PACKAGES`` would import it.

The site is made up: "The Example Times" at example.test, articles at ``/story/<number>``, feed
titles "Kicker | Headline", times on its pages in New York time.
"""

from __future__ import annotations

import re

from example_site.layout import ExampleLayout
from handler.core import sitedefs
from handler.core.sitedefs import SiteInfo
from handler.sites.rules import Site

NAME = "example"


def definition(news_sitemap: str | None = None) -> SiteInfo:
    """The site as data; ``news_sitemap``: where its news sitemap is served (a test's server)."""
    return SiteInfo(
        name=NAME,
        domains=("example.test",),
        article_number=re.compile(r"/story/(\d+)$"),
        rules="example_site",
        rule_packages=("example_site",),
        zone="America/New_York",
        news_sitemap=news_sitemap or "https://www.example.test/news.xml",
        title_separator=" | ",
    )


RULES = Site(
    name=NAME,
    publisher="The Example Times",
    layouts=(ExampleLayout(),),
    not_articles=(),
    conventions=lambda fields, page: fields,
)

sitedefs.register(definition())
