#!/usr/bin/env python3
"""Why captures are gzipped at level 4: time and size per level on the real 730 KB page.

    .venv/bin/python bench/warc_gzip.py [--rounds 10]

Interleaved rounds, median time per level, and sizes relative to warcio's own level 9.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import page_template

LEVELS = (9, 6, 4, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    page, _, kind = page_template()
    times: dict[int, list[float]] = {level: [] for level in LEVELS}
    sizes = {level: len(gzip.compress(page, compresslevel=level)) for level in LEVELS}
    for round_no in range(args.rounds):
        for level in LEVELS if round_no % 2 == 0 else reversed(LEVELS):
            start = time.perf_counter()
            gzip.compress(page, compresslevel=level)
            times[level].append(time.perf_counter() - start)
    ms = {level: statistics.median(t) * 1000 for level, t in times.items()}
    print(f"page: {kind}, {len(page) / 1024:.0f} KB")
    for level in LEVELS:
        time_ratio, size_ratio = ms[level] / ms[9], sizes[level] / sizes[9]
        print(f"level {level}: {ms[level]:6.1f} ms ({time_ratio:.2f}x of level 9), "
              f"{sizes[level] / 1024:5.0f} KB ({size_ratio:.3f}x of level 9)")  # fmt: skip
    chosen = {
        "gzip4_time_ratio": round(ms[4] / ms[9], 3),
        "gzip4_size_ratio": round(sizes[4] / sizes[9], 3),
    }
    print(json.dumps(chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
