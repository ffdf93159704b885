"""Static full-text search with Pagefind: one index per publication month (``search/YYYY-MM/``),
merged in the reader's browser. A build re-indexes only the months whose articles changed, so
its cost follows a month's size, never the archive's; of a month's index files it writes only
those whose bytes changed (Pagefind names most of them by their content).

Pagefind runs as its command-line program (the ``pagefind_bin`` wheel): the month's articles are
written as small HTML files into a temporary folder, indexed in one process, and the output read
back. (Its Python API is not used: its service polls for each answer every tenth of a second,
so adding a month's thousand records one by one takes minutes; see pagefind/service.)"""

from __future__ import annotations

import hashlib
import html
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from handler.core.errors import ArchiveError
from handler.site.target import SiteTarget

LANGUAGE = "de"
INDEX_TIMEOUT_S = 240.0  # a month of ntv.de politics (~2,000 articles) takes about a second
# Pagefind's own ready-made search interfaces: the site has its own search page (search.js).
NOT_SERVED = ("pagefind-ui", "pagefind-component-ui", "pagefind-modular-ui", "pagefind-highlight")


class SearchIndexError(ArchiveError):
    """The search indexer cannot run here (no Pagefind binary for this platform, or it failed)."""


def record(doc: dict[str, Any]) -> dict[str, str]:
    """What search finds an article by: its title, and its kicker, lead and body as text."""
    parts = [doc.get("kicker"), doc.get("teaser")]
    parts += [block.get("text") for block in doc.get("body") or [] if isinstance(block, dict)]
    text = "\n".join(part for part in parts if isinstance(part, str) and part)
    return {"title": str(doc.get("title") or doc.get("id")), "text": text}


def executable() -> Path:
    try:
        from pagefind_bin import get_executable

        return Path(get_executable())
    except (ImportError, FileNotFoundError) as exc:
        raise SearchIndexError(f"no Pagefind binary for this platform ({exc})") from None


def index_month(month: str, records: dict[str, dict[str, str]], files: dict[str, str],
                target: SiteTarget) -> tuple[dict[str, str], int]:  # fmt: skip
    """Index ``month``'s articles (``records``: id -> title and text) and write, under
    ``search/<month>/``, the files whose bytes differ from ``files`` (path -> sha256, as last
    written), deleting those the new index no longer has. The files as now written, and how
    many were written."""
    folder = f"search/{month}/"
    fresh = _run_pagefind(records) if records else {}
    now = {path: hashlib.sha256(data).hexdigest() for path, data in fresh.items()}
    for path, digest in now.items():
        if files.get(path) != digest:
            target.put(f"{folder}{path}", fresh[path])
    for gone in set(files) - set(now):
        target.pages.delete(f"{target.prefix}{folder}{gone}")
    return now, sum(1 for path, digest in now.items() if files.get(path) != digest)


def _run_pagefind(records: dict[str, dict[str, str]]) -> dict[str, bytes]:
    """Pagefind's output for these articles: path -> bytes (its own search interfaces left out)."""
    work = Path(tempfile.mkdtemp(prefix="ntv-archive-search-", dir=_scratch()))
    try:
        site = work / "site"
        (site / "articles").mkdir(parents=True)
        for article_id, found in records.items():
            (site / "articles" / f"{article_id}.html").write_text(_page(found), encoding="utf-8")
        output = work / "out"
        command = [str(executable()), "--site", str(site), "--output-path", str(output),
                   "--force-language", LANGUAGE, "--silent"]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=INDEX_TIMEOUT_S, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SearchIndexError(f"the search indexer did not run: {exc}") from None
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise SearchIndexError(f"the search indexer failed: {said[-1] if said else done}")
        return {
            path.relative_to(output).as_posix(): path.read_bytes()
            for path in sorted(output.rglob("*"))
            if path.is_file() and not path.name.startswith(NOT_SERVED)
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _scratch() -> str | None:
    """Where the month's pages are written for the indexer: memory (/dev/shm) where the machine
    has it, else the temporary folder. They live for one indexer run; on a busy disk, writing a
    month's thousand small files was most of an update's time."""
    shm = "/dev/shm"
    return shm if Path(shm).is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def _page(found: dict[str, str]) -> str:
    """The page Pagefind reads for one article: escaped text only (the article id is safe by
    the store's layout; everything else is the article's untrusted text)."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in found["text"].splitlines())
    title = html.escape(found["title"])
    return (f'<!doctype html><html lang="{LANGUAGE}"><head><meta charset="utf-8"><title>{title}'
            f"</title></head><body><main data-pagefind-body><h1>{title}</h1>{paragraphs}</main>"
            "</body></html>")  # fmt: skip
