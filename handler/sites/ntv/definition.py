"""ntv.de as data: where it is served from, how its article ids read, its time zone, its
sitemaps and its feed titles' convention (registered in core/sitedefs.py when the package is
imported)."""

from __future__ import annotations

import re

from handler.core.sitedefs import SiteInfo

NTV_SITE = SiteInfo(
    name="ntv",
    domains=("n-tv.de", "ntv.de"),
    # Both URL forms carry the CMS's numeric article id: the previous site's
    # ".../Slug-article24594969.html" and today's ".../Slug-id30134161.html".
    article_number=re.compile(r"-(?:article|id)(\d+)\.html?$"),
    rules="handler.sites.ntv",
    rule_packages=("handler.sites.ntv",),
    zone="Europe/Berlin",  # a German site: a time without a zone is Berlin local time
    news_sitemap="https://www.n-tv.de/news.xml",
    sitemap_index="https://www.n-tv.de/sitemap.xml",
    title_separator=": ",  # "Kicker: Headline"
)
