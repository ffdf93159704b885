#!/usr/bin/env python3
"""Extraction speed: the full normalised document vs a bare trafilatura.extract, same pages.

    python3 tasks.py bench        (or: .venv/bin/python bench/extraction.py [--rounds N])

Pages: the real corpus in ../shared/corpus/ntv (when present: the two current-layout pages and
the 40 old-layout pages of legacy/) plus the test fixture pages. Each
round times every page once with each extractor, alternating which goes first, so both see the
same machine noise; the medians of the per-round totals give ms/page and their ratio.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from handler.archive.extraction import extract_article  # noqa: E402
from handler.core.errors import NotAnArticleError  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "ntv"
FIXTURES = ROOT / "tests" / "fixtures" / "pages"
URL = "https://www.n-tv.de/politik/bench-id1.html"
TARGET_RATIO = 1.25


def load_pages() -> dict[str, bytes]:
    pages = {p.stem: gzip.decompress(p.read_bytes()) for p in sorted(CORPUS.glob("*.html.gz"))}
    pages.update(
        {
            f"legacy/{p.stem}": gzip.decompress(p.read_bytes())
            for p in sorted((CORPUS / "legacy").glob("*.html.gz"))
        }
    )
    pages.update({p.stem: p.read_bytes() for p in sorted(FIXTURES.glob("*.html"))})
    pages.pop("no_text", None)  # a failure case, not an extraction
    return pages


def ours(html: bytes) -> object:
    try:
        return extract_article(html, URL)
    except NotAnArticleError:  # the author pages of the legacy corpus: refused, as they should
        return None


def bare(html: bytes) -> object:
    return trafilatura.extract(html, url=URL, with_metadata=True)


def time_once(func: Callable[[bytes], object], pages: list[bytes]) -> float:
    start = time.perf_counter()
    for html in pages:
        func(html)
    return time.perf_counter() - start


def measure(htmls: list[bytes], rounds: int) -> dict[str, float]:
    """Median ms/page for each extractor over ``rounds`` interleaved rounds."""
    timings: dict[str, list[float]] = {"ours": [], "bare": []}
    for round_no in range(rounds):
        order = [("ours", ours), ("bare", bare)]
        for name, func in order if round_no % 2 == 0 else reversed(order):
            timings[name].append(time_once(func, htmls))
    return {name: statistics.median(t) / len(htmls) * 1000 for name, t in timings.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    pages = load_pages()
    groups = {
        "current-layout pages": [html for name, html in pages.items() if name.startswith("NTV_")],
        "old-layout pages": [html for name, html in pages.items() if name.startswith("legacy/")],
        "fixture pages": [
            html for name, html in pages.items() if not name.startswith(("NTV_", "legacy/"))
        ],
    }
    for func in (ours, bare):  # warm caches and lazy imports outside the measurement
        time_once(func, list(pages.values()))
    print(f"rounds: {args.rounds}, interleaved; ms/page is the median round's total / pages")
    print(f"{'pages':24} {'n':>3} {'extract_article':>16} {'bare trafilatura':>17} {'ratio':>7}")
    figures: dict[str, float] = {}
    for label, htmls in groups.items():
        if not htmls:
            print(f"{label:24} skipped (no pages; the corpus needs ../shared/corpus/ntv)")
            continue
        ms = measure(htmls, args.rounds)
        ratio = ms["ours"] / ms["bare"]
        print(f"{label:24} {len(htmls):>3} {ms['ours']:>13.2f} ms {ms['bare']:>14.2f} ms "
              f"{ratio:>6.3f}x")  # fmt: skip
        key = label.split()[0].replace("-", "_")
        figures[f"{key}_extract_ms"] = round(ms["ours"], 3)
        figures[f"{key}_trafilatura_ms"] = round(ms["bare"], 3)
        figures[f"{key}_ratio"] = round(ratio, 3)
    print(f"target: ratio <= {TARGET_RATIO}x (trafilatura runs inside extract_article too)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
