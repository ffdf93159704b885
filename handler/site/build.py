"""``ntv-archive site``: every current article as a page, and an index of them, written as
static files (this first version rebuilds every page; see docs/site.md)."""

from __future__ import annotations

from dataclasses import dataclass

from handler.archive.reader import iter_articles, list_articles
from handler.site.render import render, stylesheet
from handler.store.base import BlobStore

HTML = "text/html; charset=utf-8"


@dataclass
class SiteBuild:
    pages: int = 0
    skipped: list[str] | None = None


def build_site(archive: BlobStore, site: BlobStore, prefix: str = "") -> SiteBuild:
    """Write the site's pages for the documents in ``archive`` into ``site`` under ``prefix``
    (``site/`` inside the archive's own store, or nothing for a folder of its own)."""
    built = SiteBuild(skipped=[])
    for doc in iter_articles(archive, skipped=built.skipped):
        page = render("article.html", root="../", doc=doc)
        site.put(f"{prefix}articles/{doc['id']}.html", page.encode(), HTML)
        built.pages += 1
    rows = sorted(list_articles(archive), key=lambda r: r.get("published_at") or "", reverse=True)
    site.put(f"{prefix}index.html", render("index.html", root="", rows=rows).encode(), HTML)
    site.put(f"{prefix}site.css", stylesheet().encode(), "text/css; charset=utf-8")
    return built
