"""The 40 real old-layout ntv.de pages in ../shared/corpus/ntv/legacy, page by page, and a
layout drift made on a real page (skipped with a message when ../shared is absent).

The scoring is the benchmark's (bench/quality.py), so docs/quality.md's table and these tests cannot
drift apart; where the crawler's reference is wrong the benchmark lists the page-checked
correction and its reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, Site, assert_valid, corpus_dir, corpus_page
from handler.app import lambda_handler
from handler.archive.extraction import extract_article
from handler.cli import main
from handler.cli.tools import LocalContext
from handler.core.errors import NotAnArticleError

pytestmark = pytest.mark.corpus

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from quality import (  # noqa: E402
    BODY_RECALL_TARGET,
    NOT_ARTICLES,
    PAGE_URLS,
    legacy_rows,
    legacy_summary,
    legacy_targets_met,
    score_legacy,
)

LEGACY = CORPUS / "legacy"
STEMS = sorted(p.name.removesuffix(".json") for p in LEGACY.glob("*.json")) or ["(absent)"]


def legacy_page(stem: str) -> tuple[bytes, dict]:
    folder = corpus_dir() / "legacy"
    if not (folder / f"{stem}.json").exists():
        pytest.skip(f"old-layout corpus not found at {folder} (needs ../shared beside the repo)")
    html = corpus_page(f"legacy/{stem}")
    return html, json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("stem", STEMS)
def test_old_layout_page_meets_every_target(stem):
    html, ref = legacy_page(stem)
    row = score_legacy(stem, html, ref)
    if stem in NOT_ARTICLES:
        assert row["refused"], row  # an author page is not archived as an article
        return
    assert row["refused"] is None, row
    assert row["profile"] == "ntv-legacy"
    assert row["lead"], f"{stem}: the lead is not the page's"
    assert row["authors"], f"{stem}: authors differ"
    assert not row["publisher_as_author"]
    assert row["body_recall"] >= BODY_RECALL_TARGET, row
    assert not row["noise"], row["noise"]
    assert row["agrees"], (row["baseline_in_ours"], row["ours_in_baseline"])
    doc = extract_article(html, ref["provenance"])
    assert_valid(doc)
    assert doc["source"]["publisher"] == "ntv.de"
    assert doc["extraction"]["baseline"]["library"] == "trafilatura"


def test_old_layout_corpus_meets_the_targets_together():
    corpus_dir()
    if not LEGACY.is_dir():
        pytest.skip(f"old-layout corpus not found at {LEGACY}")
    summary = legacy_summary(legacy_rows(CORPUS))
    assert legacy_targets_met(summary), summary
    assert summary["publisher_as_author"] == 0 and summary["articles"] >= 38


def test_interview_questions_and_fact_box_are_typed_blocks():
    html, ref = legacy_page("grundeinkommen__2")
    doc = extract_article(html, ref["provenance"])
    types = [block["type"] for block in doc["body"]]
    assert types.count("question") >= 5 and "paragraph" in types
    assert doc["authors"] == ["Solveig Bach"]  # from "Mit ... sprach Solveig Bach"
    assert not any(b["text"].startswith("Mit ") and " sprach " in b["text"] for b in doc["body"])
    html, ref = legacy_page("refugees_migration__6")
    [box] = [b for b in extract_article(html, ref["provenance"])["body"] if b["type"] == "box"]
    assert box["title"] and box["text"].count("\n\n") >= 2  # a title and three paragraphs


def test_author_page_is_refused_as_not_an_article():
    html, ref = legacy_page("refugees_migration__9")
    with pytest.raises(NotAnArticleError, match=r"not an article \(an author page\)$"):
        extract_article(html, ref["provenance"])


CURRENT = "NTV_2025_12_12"


def drifted_page() -> bytes:
    """The real current-layout page as after a redesign that renames the paragraph class
    (Next.js CSS modules do this with every build that changes the component)."""
    html = corpus_page(CURRENT)
    assert html.count(b"storyline_paragraph_p") >= 5
    return html.replace(b"storyline_paragraph_p", b"storyline_copy_p")


def test_a_renamed_class_drops_the_agreement_and_warns():
    doc = extract_article(corpus_page(CURRENT), PAGE_URLS[CURRENT])
    assert doc["extraction"]["baseline"]["agrees"] and not doc["extraction"]["warnings"]
    drifted = extract_article(drifted_page(), PAGE_URLS[CURRENT])
    baseline = drifted["extraction"]["baseline"]
    assert drifted["extraction"]["status"] == "ok"  # the rule still matches the page
    assert baseline["agrees"] is False and baseline["recall_baseline_in_ours"] < 0.5
    [warning] = drifted["extraction"]["warnings"]
    assert warning.startswith("extraction disagrees with trafilatura")
    # The warning names text trafilatura found that the rule lost: a paragraph of the page.
    lost = [b["text"] for b in doc["body"] if b["type"] == "paragraph"]
    assert any(text[:40] in warning for text in lost)


def test_a_renamed_class_is_counted_and_alarmed_on_in_a_run(site: Site, tmp_path, capsys,
                                                            monkeypatch):  # fmt: skip
    path = "/politik/Trump-spricht-nach-Tanker-Stuermung-ueber-Bodeneinsaetze-id30134161.html"
    site.add(path, drifted_page())
    site.serve()
    assert main([*site.run_args(str(tmp_path / "cli"), "--json")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["new"], summary["disagreement"]) == (1, 1)
    assert summary["articles"][0]["disagreement"] is True
    # The Lambda door publishes it as the ExtractionDisagreement metric the template alarms on.
    monkeypatch.setenv("ARCHIVE_STORE", str(tmp_path / "lambda"))
    monkeypatch.setenv("FEED_URL", site.feed_url)
    monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")
    lambda_handler({"action": "scheduled", "schedule": "default"}, LocalContext(300))
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert record["ExtractionDisagreement"] == [1.0]
