"""One article's pages: the article with its version history, a diff page per edit, and for
an article of three versions or more a page comparing any two of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from typing import Any

from handler.archive.changes import word_report
from handler.archive.manifest import version_time
from handler.core.times import instant
from handler.site.render import render

ALL_PAIRS_UP_TO = 8  # versions; beyond, each is compared with the first and the current one


@dataclass
class ArticlePages:
    """What rendering one article gave: pages by path, and the rows the listings take."""

    pages: dict[str, str] = field(default_factory=dict)
    edits: list[dict[str, Any]] = field(default_factory=list)  # each new edit
    first: dict[str, Any] | None = None  # the article itself, when its first version is new
    row: dict[str, Any] = field(default_factory=dict)  # its line on its day's page


def publication_day(doc: dict[str, Any]) -> date:
    """The day a reader would file the article under: its publication date as the page states
    it (in the page's own offset), else the publication day it is known by (the date line's,
    or an estimate: ``extraction.published_day``), else the day it was first fetched (UTC)."""
    published = instant(doc.get("published_at"), with_offset=True)
    if published is not None:
        return published.date()
    known = instant(f"{(doc.get('extraction') or {}).get('published_day')}T12:00:00+00:00")
    moment = known or instant(doc.get("fetched_at"), with_offset=True)
    return moment.date() if moment is not None else date(1970, 1, 1)


def section_of(doc: dict[str, Any]) -> str:
    section = (doc.get("source") or {}).get("section")
    return section if isinstance(section, str) else ""


def article_pages(versions: list[dict[str, Any]], new: set[str] | None) -> ArticlePages:
    """The pages of an article whose versions (oldest first) are ``versions``; diff pages and
    edit rows only for the versions whose times are in ``new`` (None: all of them)."""
    doc = versions[-1]
    out = ArticlePages()
    history: list[dict[str, Any]] = []
    for n, version in enumerate(versions):
        when = version_time(version)
        entry: dict[str, Any] = {"n": n, "time": when, "diff": None, "summary": None}
        if n:
            summary = ((version.get("changes") or {}).get("summary")) or "Änderungen"
            entry |= {"diff": f"diffs/{doc['id']}/{n}.html", "summary": summary}
            if new is None or when in new:
                report = word_report(versions[n - 1], version)
                entry["summary"] = report["changes"]["summary"]
                out.pages[entry["diff"]] = render("diff.html", root="../../", report=report,
                                                  after=version, n=n)  # fmt: skip
                out.edits.append(
                    _row(doc, versions)
                    | {"time": when, "summary": entry["summary"], "diff": entry["diff"]}
                )
        history.append(entry)
    compare = len(versions) >= 3
    if compare and (new is None or out.edits):
        out.pages[f"diffs/{doc['id']}/compare.html"] = _comparison(versions)
    out.pages[f"articles/{doc['id']}.html"] = render(
        "article.html", root="../", doc=doc, history=history, compare=compare
    )
    if new is None or version_time(versions[0]) in new:
        out.first = _row(doc, versions) | {"time": version_time(versions[0])}
    out.row = _row(doc, versions)
    return out


def _row(doc: dict[str, Any], versions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": doc["id"], "title": doc.get("title") or doc["id"], "section": section_of(doc),
            "published_at": doc.get("published_at"), "versions": len(versions),
            "time": version_time(versions[-1])}  # fmt: skip


def _comparison(versions: list[dict[str, Any]]) -> str:
    """Any two versions compared, on one page: each pair a section the chooser's links target
    (CSS shows the one targeted; without CSS all are shown, in order)."""
    if len(versions) <= ALL_PAIRS_UP_TO:
        pairs = [(a, b) for a, b in combinations(range(len(versions)), 2) if b - a > 1]
    else:
        last = len(versions) - 1
        pairs = sorted({(0, b) for b in range(2, last + 1)} | {(a, last) for a in range(last - 1)})
    reports = [(a, b, word_report(versions[a], versions[b])) for a, b in pairs]
    times = [version_time(v) for v in versions]
    linked = {f"{a}-{b}" for a, b, _ in reports}
    return render("compare.html", root="../../", doc=versions[-1], times=times, reports=reports,
                  linked=linked)  # fmt: skip
