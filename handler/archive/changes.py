"""What changed between two versions of an article, small enough for a manifest line.

``changes(before, after)`` is stored in each updated version, its manifest line and its change
event, so a consumer tells a typo fix from a rewritten headline without fetching both versions:

    {"from_version": "...", "from_sha256": "...",
     "fields": ["title", "body", "modified_at"],            # content fields that changed
     "values": {"title": {"before": "...", "after": "..."}},  # short fields, both values
     "body": {"paragraphs_added": 1, "paragraphs_removed": 0, "paragraphs_edited": 1,
              "words_added": 31, "words_removed": 2,
              "edits": [{"op": "edited", "index": 4, "words_added": 2, "words_removed": 2,
                         "removed": "…", "added": "…"}]},
     "summary": "title changed; body: 1 paragraph added (+29 words), 1 edited (+2 -2 words)"}

The alignment is difflib's (stdlib): paragraphs by equality first, then the paragraphs of a
replaced stretch paired by similarity (an edited paragraph, not one removed and one added);
words within an edited paragraph. ``word_diff`` gives the word operations for ``diff``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from handler.archive.document import CONTENT_FIELDS, canonical_content
from handler.archive.manifest import version_time

# Fields shown with both values when short; longer ones are named as changed only.
SHORT_CHARS = 300
MAX_EDITS = 20  # paragraph edits listed per version (the counts cover all of them)
EXCERPT_CHARS = 160
# Two paragraphs at least this similar (difflib's ratio over words) are one paragraph edited.
SAME_PARAGRAPH = 0.5
# How far ahead in a replaced stretch an edited paragraph's earlier self is looked for. Real
# edits are local; looking through the whole stretch for each paragraph made a rewrite of
# 4,000 paragraphs cost minutes (quadratic). With the window it is linear in paragraphs.
PAIR_WINDOW = 8
# Derived from others, or about the copy rather than the article: never listed as changed.
_NOT_LISTED = frozenset({"id", "text", "source"})

WordOp = tuple[Literal["equal", "removed", "added"], str]


@dataclass(frozen=True)
class ParagraphChange:
    op: Literal["added", "removed", "edited"]
    index: int  # in the later version (in the earlier one for a removed paragraph)
    before: str
    after: str

    def words(self) -> list[WordOp]:
        return word_diff(self.before, self.after)

    def to_json(self) -> dict[str, Any]:
        ops = self.words()
        removed = " ".join(text for kind, text in ops if kind == "removed")
        added = " ".join(text for kind, text in ops if kind == "added")
        return {
            "op": self.op,
            "index": self.index,
            "words_added": _count(ops, "added"),
            "words_removed": _count(ops, "removed"),
            "removed": _excerpt(removed),
            "added": _excerpt(added),
        }


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The ``changes`` object of ``after`` as an update of ``before`` (both stored documents)."""
    # Compared as the content hash sees them: a field holding nothing on one side and absent
    # on the other (a field the schema added since) is no change.
    was, now = canonical_content(before), canonical_content(after)
    changed = [
        name
        for name in CONTENT_FIELDS
        if name not in _NOT_LISTED and was.get(name) != now.get(name)
    ]
    values = {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in changed
        if name != "body" and _short(before.get(name)) and _short(after.get(name))
    }
    edits: list[dict[str, Any]] = []
    if "body" in changed:
        paragraphs = paragraph_changes(paragraph_texts(before), paragraph_texts(after))
        edits = [p.to_json() for p in paragraphs]
    body = body_summary(edits) if "body" in changed else None
    return {
        "from_version": str(before.get("reprocessed_at") or before.get("fetched_at")),
        "from_sha256": before.get("content_sha256"),
        "fields": changed,
        "values": values,
        "body": body,
        "summary": summary_line(changed, edits),
    }


def paragraph_texts(doc: dict[str, Any]) -> list[str]:
    """The body as the reader sees it: each block's text (a box's title before it)."""
    texts = []
    for block in doc.get("body") or []:
        if isinstance(block, dict):
            title, text = block.get("title"), str(block.get("text") or "")
            texts.append(f"{title}: {text}" if title else text)
        else:
            texts.append(str(block))
    return texts


def paragraph_changes(before: list[str], after: list[str]) -> list[ParagraphChange]:
    """Paragraphs added, removed and edited from ``before`` to ``after``, in reading order."""
    found: list[ParagraphChange] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        found.extend(_pair(before, after, i1, i2, j1, j2))
    return found


def _pair(
    before: list[str], after: list[str], i1: int, i2: int, j1: int, j2: int
) -> Iterator[ParagraphChange]:
    """A replaced stretch: each later paragraph is the edit of the first earlier one (in order)
    similar enough to it, among the next PAIR_WINDOW; the rest were added or removed."""
    i = i1
    for j in range(j1, j2):
        window = range(i, min(i2, i + PAIR_WINDOW))
        match = next((k for k in window if _similar(before[k], after[j])), None)
        if match is None:
            yield ParagraphChange("added", j, "", after[j])
            continue
        for k in range(i, match):
            yield ParagraphChange("removed", k, before[k], "")
        yield ParagraphChange("edited", j, before[match], after[j])
        i = match + 1
    for k in range(i, i2):
        yield ParagraphChange("removed", k, before[k], "")


def _similar(a: str, b: str) -> bool:
    matcher = difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False)
    return matcher.quick_ratio() >= SAME_PARAGRAPH and matcher.ratio() >= SAME_PARAGRAPH


def word_diff(before: str, after: str) -> list[WordOp]:
    """Word operations turning ``before`` into ``after`` (runs of words joined by spaces)."""
    a, b = before.split(), after.split()
    ops: list[WordOp] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(("equal", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            ops.append(("removed", " ".join(a[i1:i2])))
        if j2 > j1:
            ops.append(("added", " ".join(b[j1:j2])))
    return ops


def body_summary(edits: list[dict[str, Any]]) -> dict[str, Any]:
    """The body's counts over every paragraph change, and the first ``MAX_EDITS`` of them."""
    return {
        "paragraphs_added": sum(e["op"] == "added" for e in edits),
        "paragraphs_removed": sum(e["op"] == "removed" for e in edits),
        "paragraphs_edited": sum(e["op"] == "edited" for e in edits),
        "words_added": sum(e["words_added"] for e in edits),
        "words_removed": sum(e["words_removed"] for e in edits),
        "edits": edits[:MAX_EDITS],
    }


def summary_line(changed: list[str], edits: list[dict[str, Any]]) -> str:
    """One line for people: "title changed; body: 1 paragraph added (+29 words)"."""
    parts = []
    others = [name for name in changed if name != "body"]
    if others:
        parts.append(", ".join(others) + " changed")
    if "body" in changed:
        said = []
        for op in ("added", "removed", "edited"):
            mine = [e for e in edits if e["op"] == op]
            if not mine:
                continue
            added = sum(e["words_added"] for e in mine)
            removed = sum(e["words_removed"] for e in mine)
            words = {"added": f"+{added}", "removed": f"-{removed}"}.get(op, f"+{added} -{removed}")
            unit = "paragraph" if len(mine) == 1 else "paragraphs"
            said.append(f"{len(mine)} {unit} {op} ({words} words)")
        parts.append("body: " + (", ".join(said) or "block types changed"))
    return "; ".join(parts) or "no content change"


def _short(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return len(value) <= SHORT_CHARS
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sum(len(v) for v in value) <= SHORT_CHARS
    return False


def _count(ops: list[WordOp], kind: str) -> int:
    return sum(len(text.split()) for op, text in ops if op == kind)


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def word_report(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The changes object plus every changed field's and paragraph's word operations."""
    summary = changes(before, after)
    words: list[dict[str, Any]] = []
    for name in summary["fields"]:
        if name == "body":
            for p in paragraph_changes(paragraph_texts(before), paragraph_texts(after)):
                words.append({"field": "body", "paragraph": p.index, "op": p.op,
                              "ops": p.words()})  # fmt: skip
        else:
            ops = word_diff(_as_text(before.get(name)), _as_text(after.get(name)))
            words.append({"field": name, "ops": ops})
    return {"id": after.get("id"), "from": version_time(before), "to": version_time(after),
            "changes": summary, "words": words}  # fmt: skip


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " | ".join(_as_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)
