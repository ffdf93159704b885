#!/usr/bin/env python3
"""The static site at archive scale: a full build, and the update after a poll that changed
a few articles (docs/site.md, "Fast by measurement").

    .venv/bin/python bench/site.py [--sizes 1000,10000] [--changed 10] [--cache DIR]

Archives of each size (100 articles a publication day, one in ten of them edited once) are
written through the project's own write path (bench/synthetic.py) and cached between runs.
For each size: a full build into a fresh folder (wall time, pages, store writes), then a poll
that edits ``--changed`` articles of the newest day, then the incremental update (wall time,
pages written, store writes with and without the search index's files). Targets: update
<= 1 s + 0.1 s per changed article and <= 5 + 4 x changed writes (search files counted
apart), the same at each size (ratio <= 1.5); a full build of 10,000 <= 60 s. Figures come
from fixture-modelled pages (the repository's ntv.de page), not the real corpus. The last
line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from common import CountingStore
from synthetic import FIRST_ID, PAGE_ID, article_url, build_archive, day_page, settings

from handler.archive.extraction import extract_document
from handler.core.capture import Capture, CaptureRecord
from handler.run.commit import commit
from handler.run.context import RunContext
from handler.site.build import update_site
from handler.site.target import SiteTarget
from handler.store import LocalStore

DOCS_PER_DAY = 100
EDITED_SHARE = 10  # one article in ten has a second version
FIRST_DAY = date(2024, 1, 1)


def edit(store: str, numbers: list[int], days: int, size: int, when: datetime) -> None:
    """A newsroom's edit of each of these articles (by their position in the archive): its
    page fetched again at ``when`` with a changed paragraph, stored as a new version."""
    ctx = RunContext(settings(store))
    for n in numbers:
        day = FIRST_DAY + timedelta(days=n * days // size)
        article_id = FIRST_ID + n
        url = article_url(article_id)
        page = day_page(day).replace(PAGE_ID, str(article_id).encode())
        page = page.replace(b"im Herbst", f"im Winter ({when:%H%M%S})".encode())
        doc = extract_document(page, url, fetched_at=when)
        doc = replace(doc, capture=CaptureRecord(200, url))
        commit(ctx, doc, Capture(url=url, final_url=url, status=200, reason="OK",
                                 headers=(("Content-Type", "text/html; charset=utf-8"),),
                                 body=page, fetched_at=when))  # fmt: skip
        when += timedelta(milliseconds=1)
    ctx.settle_catalog()


def archive(cache: Path, size: int) -> Path:
    root = cache / f"site-archive-{size}"
    if (root / ".built").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    days = max(1, size // DOCS_PER_DAY)
    build_archive(str(root), size, days, first_day=FIRST_DAY)
    edit(str(root), list(range(0, size, EDITED_SHARE)), days, size,
         datetime(2025, 1, 1, 8, tzinfo=UTC))  # fmt: skip
    (root / ".built").write_text("built\n")
    return root


def build(root: Path, out: Path, changed: int, size: int) -> dict[str, Any]:
    archive_store = CountingStore(LocalStore(root))
    pages = CountingStore(LocalStore(out))
    target = SiteTarget.folder(pages)
    started = time.perf_counter()
    full = update_site(archive_store, target, full=True)
    full_s = time.perf_counter() - started
    figures: dict[str, Any] = {
        "articles": size, "full_build_s": round(full_s, 2), "full_pages": full.pages,
        "full_articles": full.articles, "full_writes": pages.calls["put"] + pages.calls["put_if"],
    }  # fmt: skip
    days = max(1, size // DOCS_PER_DAY)
    newest = list(range(size - changed, size))  # the newest day's articles, edited
    edit(str(root), newest, days, size, datetime(2026, 1, 1, 8, tzinfo=UTC))
    pages.calls.clear()
    archive_store.calls.clear()
    started = time.perf_counter()
    update = update_site(archive_store, target)
    update_s = time.perf_counter() - started
    writes = pages.calls["put"] + pages.calls["put_if"]
    figures |= {
        "changed": changed, "update_s": round(update_s, 3), "update_articles": update.articles,
        "update_pages": update.pages, "update_writes": writes,
        "update_writes_without_search": writes - update.search_files,
        "update_search_files": update.search_files,
        "update_archive_requests": archive_store.requests,
        "update_target_s": round(1 + 0.1 * changed, 2), "update_target_writes": 5 + 4 * changed,
    }  # fmt: skip
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "ntv-archive-bench"))
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        root = archive(cache, size)
        # Each run edits the archive; a copy keeps the cached one as it was built.
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "archive"
            shutil.copytree(root, copy)
            figures = build(copy, Path(scratch) / "site", args.changed, size)
        results.append(figures)
        f = figures
        print(f"{size:>6} articles: full build {f['full_build_s']} s ({f['full_pages']} pages); "
              f"update after {args.changed} changed: {f['update_s']} s, "
              f"{f['update_writes_without_search']} writes + {f['update_search_files']} search "
              f"files (targets {f['update_target_s']} s, {f['update_target_writes']})")  # fmt: skip
    summary: dict[str, Any] = {"sizes": results}
    if len(results) > 1:
        summary["update_ratio_largest_to_smallest"] = round(
            results[-1]["update_s"] / results[0]["update_s"], 2)  # fmt: skip
        ratio = summary["update_ratio_largest_to_smallest"]
        print(f"update time, largest / smallest archive: {ratio}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
