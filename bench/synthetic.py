"""Archives of any size, written through the project's own write path (run/commit.py: intent
marker, WARC capture, document, id pointer, manifest line), for the scale benchmark and tests.

Each article is the fixture ntv.de page with its id and dates changed: one page is extracted
per publication day (trafilatura and the site rules run on it), and the articles of that day
get that document with their own id and URL. Re-extracting a stored capture therefore gives
the stored content again (a reprocess finds every document unchanged) unless the rules change.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from handler.archive.extraction import extract_document
from handler.core.capture import Capture as Response
from handler.core.capture import CaptureRecord
from handler.core.config import FetchSettings, RunSettings
from handler.run.commit import commit
from handler.run.context import RunContext

PAGE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "pages" / "ntv2025_article.html"
PAGE_ID = b"40000001"
FIRST_ID = 50_000_000
SETTLE_EVERY = 500  # documents between manifest appends while building


def settings(store: str) -> RunSettings:
    fetch = FetchSettings(extra_hosts=frozenset({"127.0.0.1"}), retries=0, backoff_factor=0.0)
    return RunSettings(feed_url="http://127.0.0.1/politik/rss", store=store, fetch=fetch)


def day_page(day: date) -> bytes:
    """The fixture page as if published on ``day`` (its three date spellings)."""
    page = PAGE.read_bytes()
    return page.replace(b"2025-03-14", day.isoformat().encode()).replace(
        b"14.03.2025", day.strftime("%d.%m.%Y").encode()
    )


def article_url(article_id: int) -> str:
    return f"https://www.n-tv.de/politik/Stadtrat-beschliesst-Fahrradplan-id{article_id}.html"


def build_archive(store: str, documents: int, days: int, first_day: date = date(2024, 1, 1),
                  per_day_offset: int = 0) -> list[str]:  # fmt: skip
    """Write ``documents`` articles spread evenly over ``days`` publication days starting at
    ``first_day`` into ``store``; returns their ids."""
    ctx = RunContext(settings(store))
    ids = []
    template = None
    current_day = None
    for n in range(documents):
        day = first_day + timedelta(days=n * days // documents)
        if day != current_day:
            current_day, page = day, day_page(day)
            fetched = datetime.combine(day, time(12, 0), UTC)
            template = extract_document(page, article_url(int(PAGE_ID)), fetched_at=fetched)
        assert template is not None
        article_id = FIRST_ID + per_day_offset + n
        url = article_url(article_id)
        fetched_at = datetime.combine(day, time(12, 0), UTC) + timedelta(milliseconds=n)
        body = page.replace(PAGE_ID, str(article_id).encode())
        doc = replace(template, id=f"ntv-{article_id}", url=url, fetched_at=fetched_at,
                      fields=replace(template.fields, url=url),
                      capture=CaptureRecord(200, url))  # fmt: skip
        response = Response(url=url, final_url=url, status=200, reason="OK",
                            headers=(("Content-Type", "text/html; charset=utf-8"),),
                            body=body, fetched_at=fetched_at)  # fmt: skip
        commit(ctx, doc, response)
        ids.append(doc.id)
        if (n + 1) % SETTLE_EVERY == 0:
            ctx.settle_catalog()
    ctx.settle_catalog()
    return ids


def make_stale(store: str | Path, every: int = 1, day: date | None = None) -> list[str]:
    """Make every ``every``-th current document (of publication ``day`` only, when given) look
    extracted by older, worse rules: a stray line in its text and a hash that does not match,
    so a reprocess stores a new version of it. Returns their ids."""
    folder = f"{day:%Y/%m/%d}" if day else "*/*/*"
    stale = []
    for n, path in enumerate(sorted(Path(store).glob(f"articles/{folder}/[!.]*.json"))):
        if n % every:
            continue
        doc = json.loads(path.read_text())
        path.write_text(
            json.dumps(doc | {"text": doc["text"] + "\n\n00:00", "content_sha256": "0" * 64})
        )
        stale.append(doc["id"])
    return stale
