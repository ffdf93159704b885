"""Agreement between a site rule's text and trafilatura's independent reading of the same page.

Token recall both ways over word tokens (case-folded, counted with multiplicity). A rule that
silently loses part of a page (a renamed class, a new block type) shows as trafilatura text
missing from ours; that is what the warning names.
"""

from __future__ import annotations

import re
from collections import Counter

from handler.core.models import Baseline
from handler.extract.generic import Reading

# Words, not numbers: trafilatura keeps date lines and player timers ("00:00") that no
# document field holds, and digits alone say nothing about which text was found.
_WORD = re.compile(r"[^\W\d_]\w*")
# Calibrated on the real corpus (bench/quality.py prints each page's figures): on the 38
# legacy articles and the 2 current-layout pages the lowest share of trafilatura's tokens
# found in the rule's text is MIN_OBSERVED; a layout drift that drops the paragraphs falls far
# below. The threshold leaves room for trafilatura's own variation between versions.
MIN_BASELINE_IN_OURS = 0.95
MIN_OURS_IN_BASELINE = 0.9
# Below this many words in trafilatura's text there is no article text to judge (an app
# shell, a video page's one line). Short items above it are judged by what they have: see
# MIN_MISSING_WORDS (a stub's date line or player label stays below it; a lost paragraph not).
MIN_JUDGED_WORDS = 40
# A page is judged by what it has: below this many of trafilatura's words missing from ours,
# the two agree whatever the share (on a 150-word item 5 % is eight words, a dateline and a
# caption; a rule that loses a paragraph loses far more). On long articles the share decides.
MIN_MISSING_WORDS = 12
MAX_NAMED_LINES = 3
_LINE_COVERED = 0.5  # a trafilatura line counts as found when half its tokens are in ours


def tokens(text: str) -> Counter[str]:
    return Counter(_WORD.findall(text.lower()))


def recall(found: Counter[str], reference: Counter[str]) -> float:
    """Share of ``reference``'s tokens that ``found`` holds (1.0 for an empty reference)."""
    total = sum(reference.values())
    return round(sum((found & reference).values()) / total, 4) if total else 1.0


def compare(ours: str, reading: Reading, headline: str = "") -> Baseline:
    """The agreement figures, and trafilatura's lines the rule's text lacks. ``headline`` is
    the kicker and title the rule found: trafilatura's text often opens with the page's
    headline block (kicker and title, as the ``h2`` sets them), which its title already holds,
    so those opening lines are left out, and a line trafilatura repeats counts once: like is
    compared with like, each text once."""
    # Each line once: some trafilatura versions (2.0) repeat a short page's text after itself.
    lines = tuple(dict.fromkeys(_without_headline(reading.lines, tokens(headline))))
    mine, theirs = tokens(ours), tokens("\n".join(filter(None, [reading.title, *lines])))
    baseline_in_ours, ours_in_baseline = recall(mine, theirs), recall(theirs, mine)
    missing_words = sum((theirs - mine).values())
    agrees = (
        sum(theirs.values()) < MIN_JUDGED_WORDS
        or missing_words < MIN_MISSING_WORDS
        or (baseline_in_ours >= MIN_BASELINE_IN_OURS and ours_in_baseline >= MIN_OURS_IN_BASELINE)
    )
    # Which lines are missing is only worth the work when the warning will name them.
    missing = (
        ()
        if agrees
        else tuple(line for line in lines if recall(mine, tokens(line)) < _LINE_COVERED)
    )
    return Baseline(
        library="trafilatura",
        version=reading.version,
        baseline_in_ours=baseline_in_ours,
        ours_in_baseline=ours_in_baseline,
        agrees=agrees,
        missing=missing,
    )


def _without_headline(lines: tuple[str, ...], headline: Counter[str]) -> tuple[str, ...]:
    """``lines`` without the opening ones made only of the headline's words."""
    start = 0
    while start < len(lines) and headline and not tokens(lines[start]) - headline:
        start += 1
    return lines[start:]


def disagreement(baseline: Baseline) -> str | None:
    """The warning for a document whose rule and baseline disagree; None when they agree."""
    if baseline.agrees:
        return None
    named = "; ".join(_clip(line) for line in baseline.missing[:MAX_NAMED_LINES])
    return (
        f"extraction disagrees with trafilatura: {baseline.baseline_in_ours:.0%} of its text "
        f"is in ours (threshold {MIN_BASELINE_IN_OURS:.0%}), {baseline.ours_in_baseline:.0%} "
        f"of ours in its (threshold {MIN_OURS_IN_BASELINE:.0%})"
        + (f"; trafilatura found what the rule did not: {named}" if named else "")
    )


def _clip(line: str, limit: int = 80) -> str:
    return f'"{line if len(line) <= limit else line[: limit - 1] + "…"}"'
