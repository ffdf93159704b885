"""The real ntv.de material in ../shared/corpus/ntv (skipped with a message when absent)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import Site, assert_valid, corpus_dir, corpus_page
from handler.archive.extraction import extract_article
from handler.cli import main
from handler.ingest.feed import parse_feed

pytestmark = pytest.mark.corpus

# The scoring is the benchmark's own (bench/quality.py): the test and docs/quality.md's table
# cannot drift apart.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from quality import (  # noqa: E402
    NOISE_MARKERS,
    PAGE_URLS,
    dates_and_alarms,
    meets_targets,
    score,
)

PAGES = {stem: urlsplit(url).path for stem, url in PAGE_URLS.items()}


def reference(stem: str) -> dict:
    return json.loads((corpus_dir() / "reference-extraction.json").read_text())[stem]


def test_real_feed_capture_parses_into_typed_items():
    items = parse_feed(
        (corpus_dir() / "ntv-rss-2025-11-12.xml").read_bytes(), "https://www.n-tv.de/rss"
    )
    assert len(items) == 10
    assert all(i.id.startswith("ntv-") and i.kicker and i.headline and i.published for i in items)
    assert all(i.published.utcoffset().total_seconds() == 0 for i in items)
    assert {i.category for i in items} >= {"Politik"}


@pytest.mark.parametrize("stem", sorted(PAGES))
def test_real_page_meets_every_quality_target(stem):
    row = score(stem, corpus_page(stem), reference(stem))
    assert meets_targets(row), row
    assert row["profile"] in ("ntv-2025", "ntv-legacy")
    assert_valid(extract_article(corpus_page(stem), PAGE_URLS[stem]))


def test_the_noise_markers_catch_the_seed_extractions_furniture():
    # The naive extractor's output, line by line as if each were a stored field: the markers
    # that must stay silent on our documents do fire on it.
    lines = (corpus_dir() / "seed-naive-extraction.txt").read_text(encoding="utf-8").splitlines()
    found = {name for name, pattern in NOISE_MARKERS.items()
             if any(re.search(pattern, line.strip()) for line in lines)}  # fmt: skip
    assert found >= {"audio player time", "audio disclaimer", "photo credit", "source line",
                     "newsletter box", "section label"}  # fmt: skip


def test_reference_dateline_is_not_an_author():
    # The reference lists "Lille" as an author; the page says "Von Seb Dumitru, Lille".
    doc = extract_article(
        corpus_page("NTV_2024_08_05"), "https://www.n-tv.de" + PAGES["NTV_2024_08_05"]
    )
    assert (doc["authors"], doc["dateline"]) == (["Seb Dumitru"], "Lille")
    assert doc["kicker"] == "US-Dream-Team wird immer besser"


def test_real_pages_end_to_end_over_http(site: Site, tmp_path, capsys):
    for stem, path in PAGES.items():
        site.add(path, corpus_page(stem))
    site.serve()
    args = site.run_args(str(tmp_path), "--json")
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["new"] == 2
    docs = sorted(tmp_path.glob("articles/*/*/*/*.json"))
    assert [d.name for d in docs] == ["ntv-25136526.json", "ntv-30134161.json"]
    assert len(list(tmp_path.glob("raw/*/*/*/*/*.warc.gz"))) == 2
    snapshot = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)  # the feed says the same: nothing fetched
    assert (again["items"], again["unchanged"]) == (0, 0)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == snapshot


def test_no_false_drift_alarm_and_no_invented_date_on_any_current_page():
    """Issue 28's two counts on the current-layout pages (bench/quality.py adds the old
    layout's 38): a right extraction never disagrees, and published_at is the page's own
    date line, which the benchmark reads by itself."""
    pages = [(stem, corpus_page(stem), PAGE_URLS[stem], True) for stem in PAGES]
    counts = dates_and_alarms(pages)
    assert (counts["false_disagreements"], counts["invented_dates"]) == (0, 0), counts
    assert counts["pages_with_a_date_line"] == 2
