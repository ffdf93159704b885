"""Golden files: the whole document for each fixture page, checked in under fixtures/golden/.

An intended change to extraction regenerates them in the same commit:
    UPDATE_GOLDEN=1 python3 tasks.py test tests/test_golden.py
"""

from __future__ import annotations

import json
import os
from datetime import datetime

import pytest

from conftest import FIXTURES, PAGES, assert_valid
from handler.archive.extraction import extract_article
from handler.core.errors import ExtractionError

GOLDEN = FIXTURES / "golden"
FETCHED_AT = datetime.fromisoformat("2025-12-01T08:00:00.000+00:00")
# Library versions change with the lock file, not with extraction; they are not compared.
VOLATILE = ("version", "extractor", "libraries")
CASES = sorted(p.stem for p in PAGES.glob("*.html") if p.stem != "no_text")


def document_for(stem: str) -> dict:
    html = (PAGES / f"{stem}.html").read_bytes()
    doc = extract_article(html, f"https://www.n-tv.de/fixture/{stem}.html", fetched_at=FETCHED_AT)
    assert_valid(doc)
    for key in VOLATILE:
        doc["extraction"][key] = "*"
    # trafilatura's exact figures move with its version (the lowest-versions run uses another);
    # whether it agrees is what the document promises.
    for key in ("version", "recall_baseline_in_ours", "recall_ours_in_baseline"):
        doc["extraction"]["baseline"][key] = "*"
    return doc


@pytest.mark.parametrize("stem", CASES)
def test_document_matches_golden_file(stem):
    doc = document_for(stem)
    golden = GOLDEN / f"{stem}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run with UPDATE_GOLDEN=1 once"
    assert doc == json.loads(golden.read_text(encoding="utf-8"))


def test_every_golden_file_has_a_fixture_page():
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == CASES


def test_page_without_text_has_no_golden_document():
    with pytest.raises(ExtractionError):
        document_for("no_text")
