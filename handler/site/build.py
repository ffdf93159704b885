"""``ntv-archive site``: every current article as a page, and an index of them, written as
static files (this first version rebuilds every page; see docs/site.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handler.archive.changes import word_report
from handler.archive.manifest import version_time
from handler.archive.reader import article_versions, iter_articles
from handler.site.render import render, stylesheet
from handler.store.base import BlobStore

HTML = "text/html; charset=utf-8"
MAX_FEED_ENTRIES = 100  # the edits feed: the newest updates, as subscribers read it


@dataclass
class SiteBuild:
    pages: int = 0
    skipped: list[str] | None = None


def build_site(archive: BlobStore, site: BlobStore, prefix: str = "") -> SiteBuild:
    """Write the site's pages for the documents in ``archive`` into ``site`` under ``prefix``
    (``site/`` inside the archive's own store, or nothing for a folder of its own)."""
    built = SiteBuild(skipped=[])
    edits: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []  # the index's, from the documents read (one manifest pass)
    for doc in iter_articles(archive, skipped=built.skipped):
        rows.append({k: doc.get(k) for k in ("id", "title", "published_at")})
        history = _history(archive, site, prefix, doc)
        edits += [{"id": doc["id"], "title": doc.get("title") or doc["id"], "time": v["time"],
                   "summary": v["summary"], "diff": v["diff"].removeprefix("../")}
                  for v in history if v["diff"]]  # fmt: skip
        page = render("article.html", root="../", doc=doc, history=history)
        site.put(f"{prefix}articles/{doc['id']}.html", page.encode(), HTML)
        built.pages += 1
    rows.sort(key=lambda row: row["published_at"] or "", reverse=True)
    site.put(f"{prefix}index.html", render("index.html", root="", rows=rows).encode(), HTML)
    site.put(f"{prefix}site.css", stylesheet().encode(), "text/css; charset=utf-8")
    newest = sorted(edits, key=lambda edit: edit["time"], reverse=True)[:MAX_FEED_ENTRIES]
    updated = newest[0]["time"] if newest else "1990-01-01T00:00:00+00:00"
    feed = render("edits.atom", root="", edits=newest, updated=updated)
    site.put(f"{prefix}edits.atom", feed.encode(), "application/atom+xml; charset=utf-8")
    return built


def _history(
    archive: BlobStore, site: BlobStore, prefix: str, doc: dict[str, Any]
) -> list[dict[str, Any]]:
    """The article's versions, oldest first, each after the first with its diff page (written
    here: ``diffs/<id>/<n>.html`` compares version n with the one before it)."""
    versions = article_versions(archive, doc["id"]) if doc.get("changes") else [doc]
    history = []
    for n, version in enumerate(versions):
        entry: dict[str, Any] = {"time": version_time(version), "diff": None, "summary": None}
        if n:
            report = word_report(versions[n - 1], version)
            page = render("diff.html", root="../../", report=report, after=version)
            site.put(f"{prefix}diffs/{doc['id']}/{n}.html", page.encode(), HTML)
            entry |= {"diff": f"../diffs/{doc['id']}/{n}.html",
                      "summary": report["changes"]["summary"]}  # fmt: skip
        history.append(entry)
    return history
