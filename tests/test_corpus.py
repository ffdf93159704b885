"""The real ntv.de material in ../shared/corpus/ntv (skipped with a message when absent)."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from conftest import Site, assert_valid, corpus_dir, corpus_page
from handler.cli import main
from handler.extract import extract_article
from handler.feed import parse_feed

pytestmark = pytest.mark.corpus

PAGES = {
    "NTV_2025_12_12": "/politik/Trump-spricht-nach-Tanker-Stuermung-ueber-Bodeneinsaetze-"
    "id30134161.html",
    "NTV_2024_08_05": "/sport/olympia/Olympische-Spiele-Deutscher-Basketball-Aggressor-beeindruckt-"
    "Frankreich-zerfetzt-sich-article25136526.html",
}
# Page furniture the seed extraction shows; none of it may reach title, teaser or text.
NOISE = [
    r"^00:00$",
    r"Diese Audioversion wurde künstlich generiert",
    r"Artikel anhören",
    r"\(Foto: ",
    r"Quelle: ntv\.de",
    r"Ich möchte gerne Nachrichten",
    r"Nicht mehr anzeigen",
    r"^\d\d\.\d\d\.\d{4}, \d\d:\d\d( Uhr)?$",
    r"^Politik$",
    r"Link kopieren",
]


def reference(stem: str) -> dict:
    return json.loads((corpus_dir() / "reference-extraction.json").read_text())[stem]


def tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def token_f1(found: str, expected: str) -> float:
    got, want = tokens(found), tokens(expected)
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def reference_body(ref: dict) -> str:
    parts = list(ref["body"]["summary"])
    for section in ref["body"]["sections"]:
        parts += section["headline"] + section["paragraphs"]
    return "\n".join(parts)


def test_real_feed_capture_parses_into_typed_items():
    items = parse_feed(
        (corpus_dir() / "ntv-rss-2025-11-12.xml").read_bytes(), "https://www.n-tv.de/rss"
    )
    assert len(items) == 10
    assert all(i.id.startswith("ntv-") and i.kicker and i.headline and i.published for i in items)
    assert all(i.published.utcoffset().total_seconds() == 0 for i in items)
    assert {i.category for i in items} >= {"Politik"}


@pytest.mark.parametrize("stem", sorted(PAGES))
def test_real_page_matches_the_reference(stem):
    ref = reference(stem)
    doc = extract_article(corpus_page(stem), "https://www.n-tv.de" + PAGES[stem])
    assert_valid(doc)
    body = "\n".join(filter(None, [doc["teaser"], doc["text"]]))
    assert token_f1(body, reference_body(ref)) >= 0.99
    assert doc["title"] == ref["title"]
    assert doc["published_at"] == ref["publishing_date"].replace(" ", "T")
    assert doc["extraction"]["status"] == "ok"
    for field in (doc["title"], doc["teaser"] or "", *[b["text"] for b in doc["body"]]):
        assert not [p for p in NOISE if re.search(p, field)], field


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
    assert json.loads(capsys.readouterr().out)["unchanged"] == 2
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == snapshot
