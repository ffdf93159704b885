"""``changes``, ``history`` and ``diff`` on real ntv.de pages edited the way newsrooms edit: a
sharpened headline, a paragraph inserted, a typo fixed, a correction note appended."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import Site, corpus_dir, corpus_page, local_settings
from handler.archive.changes import changes, paragraph_changes, word_diff
from handler.archive.extraction import extract_article
from handler.cli import main
from handler.run.context import RunContext
from handler.run.poll import poll

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from quality import PAGE_URLS

INSERTED = "Die Bundesregierung kündigte am Abend eine eigene Stellungnahme an."
CORRECTION = (
    "Korrektur: In einer früheren Fassung dieses Artikels hieß es, die Erklärung sei am "
    "Dienstag veröffentlicht worden."
)
SHARPENED = " \N{EN DASH} Regierung widerspricht"  # as ntv.de sets it


def legacy(stem: str) -> tuple[bytes, str]:
    folder = corpus_dir() / "legacy"
    url = json.loads((folder / f"{stem}.json").read_text())["provenance"]
    return corpus_page(f"legacy/{stem}"), url


def real_page(name: str) -> tuple[bytes, str]:
    if name in PAGE_URLS:
        return corpus_page(name), PAGE_URLS[name]
    return legacy(name)


REAL = ["NTV_2025_12_12", "NTV_2024_08_05", "grundeinkommen__2"]


def paragraph_tag(html: bytes, doc: dict, index: int) -> tuple[int, bytes]:
    """Where paragraph ``index`` of ``doc`` starts in ``html``, and its opening tag."""
    head = doc["body"][index]["text"][:40].encode()
    at = html.index(head)
    start = html.rindex(b"<p", 0, at)
    return start, html[start : html.index(b">", start) + 1]


def literal_paragraph(html: bytes, doc: dict, after: int = 1) -> int:
    """The first plain paragraph from ``after`` on whose opening words the HTML holds as such."""
    for n, block in enumerate(doc["body"]):
        if n >= after and block["type"] == "paragraph" and block["text"][:40].encode() in html:
            return n
    raise AssertionError("no literal paragraph to edit")


def extract(html: bytes, url: str) -> dict:
    return extract_article(html, url)


@pytest.fixture(params=REAL)
def original(request) -> tuple[bytes, str, dict]:
    html, url = real_page(request.param)
    return html, url, extract(html, url)


def test_a_sharpened_headline_is_a_title_change_with_both_values(original):
    html, url, before = original
    title = before["title"]
    after = extract(html.replace(title.encode(), (title + SHARPENED).encode()), url)
    said = changes(before, after)
    assert said["values"]["title"] == {"before": title, "after": title + SHARPENED}
    assert "body" not in said["fields"] and said["body"] is None
    assert said["summary"].startswith("title") and said["summary"].endswith(" changed")


def test_an_inserted_paragraph_is_one_paragraph_added_word_for_word(original):
    html, url, before = original
    n = literal_paragraph(html, before)
    start, tag = paragraph_tag(html, before, n)
    after = extract(html[:start] + tag + INSERTED.encode() + b"</p>" + html[start:], url)
    said = changes(before, after)
    assert said["fields"] == ["body"]
    assert said["body"] == {
        "paragraphs_added": 1, "paragraphs_removed": 0, "paragraphs_edited": 0,
        "words_added": 9, "words_removed": 0,
        "edits": [{"op": "added", "index": n, "words_added": 9, "words_removed": 0,
                   "removed": "", "added": INSERTED}],
    }  # fmt: skip
    assert said["summary"] == "body: 1 paragraph added (+9 words)"


def test_a_correction_note_appended_is_added_after_the_last_paragraph(original):
    html, url, before = original
    last = len(before["body"]) - 1
    _, tag = paragraph_tag(html, before, literal_paragraph(html, before, after=last - 3))
    text = before["body"][last]["text"]
    at = html.find(text[:40].encode())
    end = html.index(b"</p>", at if at >= 0 else html.index(text[-20:].encode())) + 4
    after = extract(html[:end] + tag + CORRECTION.encode() + b"</p>" + html[end:], url)
    said = changes(before, after)
    [edit] = said["body"]["edits"]
    assert (edit["op"], edit["index"], edit["added"]) == ("added", last + 1, CORRECTION)
    assert after["text"].endswith(CORRECTION)


def test_a_typo_fix_is_one_word_in_one_paragraph(original):
    html, url, before = original
    n = literal_paragraph(html, before)
    word = max(re.findall(r"\w{6,}", before["body"][n]["text"][:40]), key=len)
    start = html.index(before["body"][n]["text"][:40].encode())
    fixed = html[:start] + html[start:].replace(word.encode(), word[:-1].encode() + b"x", 1)
    said = changes(before, extract(fixed, url))
    assert said["fields"] == ["body"]
    [edit] = said["body"]["edits"]
    assert (edit["op"], edit["index"], edit["words_added"], edit["words_removed"]) == (
        "edited", n, 1, 1,
    )  # fmt: skip
    assert word in edit["removed"] and (word[:-1] + "x") in edit["added"]
    assert said["summary"] == "body: 1 paragraph edited (+1 -1 words)"


def test_word_and_paragraph_alignment_on_plain_text():
    assert word_diff("Der Plan gilt ab Herbst.", "Der Plan gilt erst ab Winter.") == [
        ("equal", "Der Plan gilt"), ("added", "erst"), ("equal", "ab"),
        ("removed", "Herbst."), ("added", "Winter."),
    ]  # fmt: skip
    found = paragraph_changes(["A b c d.", "E f g h.", "I j k l."],
                              ["A b c d.", "E f g x.", "Neu hier ganz.", "I j k l."])  # fmt: skip
    assert [(p.op, p.index) for p in found] == [("edited", 1), ("added", 2)]


# --- history and diff over a store the archive wrote


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 12, 12, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_history_and_diff_on_a_real_page_edited_three_times(site: Site, tmp_path, capsys):
    html, url = real_page("NTV_2025_12_12")
    base = extract(html, url)
    article = site.add(urlsplit(url).path, html, title="Politik: Trump")
    article.etag = '"1"'
    site.serve()
    root, clock = tmp_path / "archive", Clock()
    title = base["title"]
    retitled = html.replace(title.encode(), (title + SHARPENED).encode())
    n = literal_paragraph(retitled, base)
    start, tag = paragraph_tag(retitled, base, n)
    edits = [retitled, retitled[:start] + tag + INSERTED.encode() + b"</p>" + retitled[start:]]
    settings = local_settings(str(root), site.feed_url)
    poll(RunContext(settings, clock=clock))
    for step, (edited, delay) in enumerate(zip(edits, (31, 121), strict=True), start=2):
        article.html, article.etag = edited, f'"{step}"'
        site.serve()
        clock.now += timedelta(minutes=delay)
        assert poll(RunContext(settings, clock=clock)).counts["updated"] == 1

    assert main(["history", "ntv-30134161", "--store", str(root), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["summary"] == "first version"
    assert rows[1]["summary"] in ("title changed", "title, seo_title changed")
    assert rows[2]["summary"] == "body: 1 paragraph added (+9 words)"
    assert [r["current"] for r in rows] == [False, False, True]
    assert main(["history", "ntv-30134161", "--store", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[-1].endswith("(+9 words) (current)")

    # Latest two by default, word for word.
    assert main(["diff", "ntv-30134161", "--store", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["from"], report["to"]) == (rows[1]["version"], rows[2]["version"])
    [hunk] = report["words"]
    assert (hunk["field"], hunk["paragraph"], hunk["op"]) == ("body", n, "added")
    assert hunk["ops"] == [["added", INSERTED]]

    # Named versions, by a prefix of their time; plain marks off a terminal.
    first, second = rows[0]["version"], rows[1]["version"]
    args = ["diff", "ntv-30134161", "--store", str(root), "--from", first[:23], "--to", second]
    assert main([*args, "--color", "never"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"--- ntv-30134161 {first}" and out[1] == f"+++ ntv-30134161 {second}"
    assert "title:" in out
    assert out[out.index("title:") + 1] == f"  {title} {{+{SHARPENED.strip()}+}}"
    assert main([*args, "--color", "always"]) == 0
    assert f"\x1b[32m{SHARPENED.strip()}\x1b[0m" in capsys.readouterr().out


def test_diff_refuses_versions_that_are_not_there(site: Site, tmp_path, capsys):
    html, url = real_page("NTV_2025_12_12")
    site.add(urlsplit(url).path, html, title="Politik: Trump")
    site.serve()
    root = tmp_path / "archive"
    poll(RunContext(local_settings(str(root), site.feed_url), clock=Clock()))
    assert main(["diff", "ntv-30134161", "--store", str(root)]) == 0
    assert "nothing to compare" in capsys.readouterr().err
    assert main(["diff", "ntv-30134161", "--store", str(root), "--from", "1999-01-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ntv-archive: error: ntv-30134161 has no version at '1999-01-01'")
    assert main(["history", "ntv-404", "--store", str(root)]) == 2
    assert "no article 'ntv-404'" in capsys.readouterr().err


words = st.lists(st.sampled_from(["Die", "Regierung", "sagt", "nein", "ja", "heute", "Kiew"]),
                 max_size=12).map(" ".join)  # fmt: skip
paragraphs = st.lists(words.filter(bool), max_size=8)


@given(words, words)
def test_word_operations_rebuild_both_versions(before, after):
    ops = word_diff(before, after)
    kept_and_added = " ".join(text for op, text in ops if op != "removed").split()
    kept_and_removed = " ".join(text for op, text in ops if op != "added").split()
    assert (kept_and_removed, kept_and_added) == (before.split(), after.split())


@given(paragraphs, paragraphs)
def test_paragraph_counts_add_up_and_no_change_says_so(before, after):
    found = paragraph_changes(before, after)
    added = sum(p.op == "added" for p in found)
    removed = sum(p.op == "removed" for p in found)
    assert len(after) == len(before) + added - removed
    assert all(after[p.index] == p.after for p in found if p.op != "removed")
    assert all(before[p.index] == p.before for p in found if p.op == "removed")
    doc = {"id": "ntv-1", "fetched_at": "2025-01-01T00:00:00+00:00",
           "body": [{"type": "paragraph", "text": t} for t in before]}  # fmt: skip
    same = changes(doc, doc)
    assert (same["fields"], same["summary"]) == ([], "no content change")
