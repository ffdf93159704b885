#!/usr/bin/env python3
"""Every benchmark in one go (``make bench`` / ``python3 tasks.py bench``).

Runs bench/quality.py (when the corpus is there), extraction.py, warc_gzip.py, runs.py,
cold_start.py, fanout.py, outage.py, import_warc.py, hostile.py, campaign.py (the third
attack campaign's cases end to end, about 4 minutes), day.py (the simulated day, about 5 minutes)
and scale.py (archives up to 100,000 documents, about 25 minutes; skipped with --quick),
prints each one's report, then the monthly cost table built from the measured figures, and
ends with one JSON line holding all the figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cost import print_table  # noqa: E402

SCRIPTS = [
    "extraction.py",
    "warc_gzip.py",
    "runs.py",
    "cold_start.py",
    "fanout.py",
    "outage.py",
    "import_warc.py",
    "hostile.py",
    "campaign.py",
    "day.py",
    "site.py",
    "scale.py",
]


def run(script: str) -> dict:
    print(f"\n== bench/{script}", flush=True)
    done = subprocess.run([sys.executable, str(HERE / script)], capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    print("\n".join(lines[:-1]))
    if done.returncode not in (0, 1) or not lines:
        sys.exit(f"bench/{script} failed:\n{done.stderr}")
    return json.loads(lines[-1])


def main() -> int:
    figures: dict = {}
    quality = run("quality.py") if (HERE.parents[1] / "shared" / "corpus" / "ntv").is_dir() else {}
    if quality:
        figures["quality_targets_met"] = quality["all_targets_met"]
        figures["body_f1_min"] = min(r["body_f1"] for r in quality["rows"])
        legacy = quality.get("legacy") or {}
        for key in ("lead_exact", "authors_exact", "publisher_as_author", "body_recall_min",
                    "baseline_in_ours_min", "ours_in_baseline_min"):  # fmt: skip
            if key in legacy:
                figures[f"legacy_{key}"] = legacy[key]
    for script in SCRIPTS:
        result = run(script)
        if script == "scale.py" and "--quick" in sys.argv[1:]:
            continue
        own = script in (
            "day.py",
            "outage.py",
            "import_warc.py",
            "hostile.py",
            "campaign.py",
            "site.py",
            "scale.py",
        )  # their keys are their own
        figures |= {script.removesuffix(".py"): result} if own else result
    print("\n== cost per month at the default schedule")
    figures |= print_table(figures)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
