#!/usr/bin/env python3
"""Cold start: what ``import handler.app`` costs against ``import trafilatura`` alone.

    .venv/bin/python bench/cold_start.py [--rounds 7]

Each round runs both imports in fresh interpreters with ``-X importtime``, alternating which
goes first; the total is the cumulative time of every top-level import the statement triggered
(the interpreter's own start-up imports are excluded). Medians and their ratio are printed, and
the deployment bundle's zipped size when dist/lambda.zip exists. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import spread_of

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "lambda.zip"


def import_ms(statement: str, startup: set[str]) -> float:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    total_us = 0
    for name, cumulative in _top_level(done.stderr):
        if name not in startup:
            total_us += cumulative
    return total_us / 1000


def _top_level(report: str) -> list[tuple[str, int]]:
    entries = []
    for line in report.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part for part in line.removeprefix("import time:").split("|"))
        if not name.startswith("  "):  # depth 0: name is preceded by exactly one space
            entries.append((name.strip(), int(cumulative)))
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    baseline = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True, text=True,
        check=True,
    ).stderr  # fmt: skip
    startup = {name for name, _ in _top_level(baseline)}
    timings: dict[str, list[float]] = {"handler.app": [], "trafilatura": []}
    for round_no in range(args.rounds):
        order = list(timings) if round_no % 2 == 0 else list(reversed(timings))
        for module in order:
            timings[module].append(import_ms(f"import {module}", startup))
    app, traf = (statistics.median(timings[m]) for m in ("handler.app", "trafilatura"))
    ratio = app / traf
    paired = spread_of([a / t for a, t in zip(timings["handler.app"], timings["trafilatura"],
                                               strict=True)])  # fmt: skip
    print(f"import handler.app : {app:7.1f} ms (median of {args.rounds})")
    print(f"import trafilatura : {traf:7.1f} ms")
    print(f"ratio              : {ratio:7.3f}x (target <= 1.3x; round by round "
          f"{paired['min']:.2f}x to {paired['max']:.2f}x)")  # fmt: skip
    bundle_mb = round(BUNDLE.stat().st_size / 1e6, 2) if BUNDLE.exists() else None
    print(f"bundle dist/lambda.zip: {bundle_mb} MB zipped" if bundle_mb else
          "bundle: not built (python3 tasks.py package)")  # fmt: skip
    figures = {"import_app_ms": round(app, 1), "import_trafilatura_ms": round(traf, 1),
               "import_ratio": round(ratio, 3), "import_ratio_runs": paired,
               "bundle_mb": bundle_mb}  # fmt: skip
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
