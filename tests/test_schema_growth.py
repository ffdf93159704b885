"""Versions stay stable when the schema grows (issue 26): the content hash is the content's,
not the schema's, so adding a field makes no article look edited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import page
from handler.archive import document
from handler.archive.document import CONTENT_FIELDS, content_hash
from handler.cli import main
from handler.core.models import ArticleFields, Block
from handler.schema import article_schema

URLS = [
    "https://www.n-tv.de/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html",
    "https://www.n-tv.de/politik/Zweiter-Artikel-id40000002.html",
]
PAGES = ["ntv2025_article.html", "ntv_legacy_article.html"]


def archive_from_captures(root: Path) -> None:
    """Two articles archived from captures (no HTTP), as an older deploy would have."""
    from test_import import Warc

    warc = Warc()
    for url, name in zip(URLS, PAGES, strict=True):
        html = page(name).replace(b"40000001", url[-13:-5].encode())
        warc.response(url, html)
    source = root.parent / "captures.warc.gz"
    source.write_bytes(warc.buffer.getvalue())
    assert main(["import", str(source), "--store", str(root), "--quiet"]) == 0


def grow_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a deploy adding an optional field does: a new content field (``summary``, absent
    from every page so far) and a new optional attribute on every body block (``lang``)."""
    names = ArticleFields.content_names()
    monkeypatch.setattr(
        ArticleFields, "content_names", classmethod(lambda cls: (*names, "summary"))
    )
    monkeypatch.setattr(ArticleFields, "summary", None, raising=False)
    monkeypatch.setattr(document, "CONTENT_FIELDS", (*CONTENT_FIELDS, "summary"))
    stored_form = Block.to_json
    monkeypatch.setattr(Block, "to_json", lambda self: {**stored_form(self), "lang": None})


def test_adding_an_optional_field_and_reprocessing_writes_no_new_versions(tmp_path, monkeypatch):
    root = tmp_path / "archive"
    archive_from_captures(root)
    before = {p.name: p.read_bytes() for p in root.glob("articles/*/*/*/*.json")}
    assert len(before) == 2
    grow_the_schema(monkeypatch)
    assert main(["reprocess", "--since", "2010-01-01", "--store", str(root), "--json"]) == 0
    assert not list(root.glob("versions/*/*.json")), "an article got a false new version"
    after = {p.name: p.read_bytes() for p in root.glob("articles/*/*/*/*.json")}
    assert after == before


def test_the_grown_document_hashes_as_before(monkeypatch):
    """The document built after the field was added has the same hash as the one before."""
    from handler.archive.extraction import extract_article

    earlier = extract_article(page("ntv2025_article.html"), URLS[0])
    grow_the_schema(monkeypatch)
    later = extract_article(page("ntv2025_article.html"), URLS[0])
    assert "summary" in later and later["summary"] is None
    assert all(block["lang"] is None for block in later["body"])
    assert later["content_sha256"] == earlier["content_sha256"]


empty = st.sampled_from([None, "", [], {}, False])


@given(st.text(min_size=1, max_size=12).filter(lambda n: n not in CONTENT_FIELDS), empty, empty)
def test_an_empty_value_anywhere_changes_no_hash(name: str, top: object, nested: object) -> None:
    """Any new field holding nothing, at the top or inside a block, leaves the hash as it was;
    a value in it changes the hash."""
    doc = json.loads((Path(__file__).parent / "fixtures/golden/ntv2025_article.json").read_text())
    original = content_hash(doc)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(document, "CONTENT_FIELDS", (*CONTENT_FIELDS, name))
        grown = {**doc, name: top, "body": [{**b, name: nested} for b in doc["body"]]}
        assert content_hash(grown) == original
        assert content_hash({**grown, name: "Zusammenfassung"}) != original


def test_the_written_schema_version_is_the_schema_files_own():
    assert article_schema()["properties"]["schema_version"]["default"] == document.SCHEMA_VERSION
    from handler.archive.extraction import extract_article

    assert extract_article(page("ntv2025_article.html"), URLS[0])["schema_version"] == (
        document.SCHEMA_VERSION
    )


def test_a_field_added_since_is_no_change_in_the_changes_summary(monkeypatch):
    """A version written for another reason (a forced replay) says "no content change" when
    the only difference is a field that holds nothing."""
    from handler.archive.changes import changes
    from handler.archive.extraction import extract_article

    earlier = extract_article(page("ntv2025_article.html"), URLS[0])
    grow_the_schema(monkeypatch)
    later = extract_article(page("ntv2025_article.html"), URLS[0])
    said = changes(earlier, later)
    assert said["fields"] == [] and said["body"] is None, said


@pytest.mark.slow
def test_a_thousand_article_archive_reprocessed_after_the_schema_grew_gets_no_version(
    tmp_path, monkeypatch
):
    """The issue's measure: 1,000 archived articles, an optional field added, a reprocess of
    the whole archive: 0 new versions."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from synthetic import build_archive

    root = tmp_path / "archive"
    build_archive(str(root), documents=1000, days=10)
    grow_the_schema(monkeypatch)
    assert main(["reprocess", "--since", "2020-01-01", "--store", str(root), "--json"]) == 0
    assert not list(root.glob("versions/*/*.json"))
