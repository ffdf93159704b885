#!/usr/bin/env python3
"""Cold run and idle poll against a local site whose every response is 100 ms late.

    .venv/bin/python bench/runs.py [--items 50] [--delay 0.1] [--concurrency 8] [--repeat 5]

Cold run: a feed of 50 new articles archived into an empty store. Printed: wall time, the floor
ceil(items / concurrency) * delay + CPU time, their ratio, HTTP requests, store requests, peak
RSS. Idle poll: the same feed again, unchanged (the server answers 304 to the conditional GET):
HTTP requests, article fetches, store requests, and the time after imports. Each run is a fresh
process, so its imports and peak RSS are its own. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DelayedSite, spread_of

CHILD = r"""
import json, sys, time
sys.path[:0] = [sys.argv[4], sys.argv[4] + "/bench"]
from common import CountingStore
from handler.core.config import FetchSettings, RunSettings
from handler.run.context import RunContext
from handler.run.poll import poll
from handler.store import LocalStore
feed_url, store_dir, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = RunSettings(feed_url=feed_url, store=store_dir, concurrency=concurrency,
                       fetch=FetchSettings(extra_hosts=frozenset({"127.0.0.1"})))
store = CountingStore(LocalStore(store_dir))
wall0, cpu0 = time.perf_counter(), time.process_time()
summary = poll(RunContext(settings, store=store))
wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "store_requests": store.requests,
                  "store_calls": dict(store.calls), "counts": summary.counts,
                  "not_modified": summary.not_modified,
                  # VmHWM: ru_maxrss would survive fork and exec and could be the parent's
                  "peak_rss_mb": next(int(line.split()[1]) for line in open("/proc/self/status")
                                      if line.startswith("VmHWM:")) / 1024}))
"""


def run_child(site: DelayedSite, store: str, concurrency: int) -> dict:
    before = dict(site.hits)
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", CHILD, site.feed_url, store, str(concurrency), root],
        capture_output=True, text=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )  # fmt: skip
    if done.returncode:
        sys.exit(f"bench/runs.py: the run died (exit {done.returncode}):\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["http"] = {k: site.hits[k] - before.get(k, 0) for k in ("feed", "article")}
    return result


def one_round(args: argparse.Namespace) -> tuple[dict, dict, float, DelayedSite]:
    """A cold run into an empty store, then an idle poll; (cold, idle, floor, site)."""
    site = DelayedSite(args.items, args.delay)
    try:
        with tempfile.TemporaryDirectory() as store:
            cold = run_child(site, store, args.concurrency)
            idle = run_child(site, store, args.concurrency)
    finally:
        site.stop()
    floor = math.ceil(args.items / args.concurrency) * args.delay + cold["cpu_s"]
    return cold, idle, floor, site


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5, help="rounds; medians are reported")
    args = parser.parse_args()
    rounds = [one_round(args) for _ in range(max(1, args.repeat))]
    ratios = spread_of([cold["wall_s"] / floor for cold, _, floor, _ in rounds])
    walls = spread_of([cold["wall_s"] for cold, _, _, _ in rounds])
    # The round whose ratio is the median is the one shown in detail.
    cold, idle, floor, site = min(
        rounds, key=lambda r: abs(r[0]["wall_s"] / r[2] - ratios["median"])
    )
    ratio = cold["wall_s"] / floor
    cold_http = cold["http"]["feed"] + cold["http"]["article"]
    idle_http = idle["http"]["feed"] + idle["http"]["article"]
    print(f"pages: {site.page_kind}; {args.items} items, {args.delay * 1000:.0f} ms per response, "
          f"concurrency {args.concurrency}; {len(rounds)} rounds")  # fmt: skip
    print(
        f"cold run : ratio median {ratios['median']:.2f}x (min {ratios['min']:.2f}x, "
        f"max {ratios['max']:.2f}x; target <= 1.5x)"
    )
    print(f"           wall median {walls['median']:.2f} s")
    print(f"           median round: wall {cold['wall_s']:.2f} s, floor {floor:.2f} s "
          f"(= {math.ceil(args.items / args.concurrency)} x {args.delay} s + CPU "
          f"{cold['cpu_s']:.2f} s)")  # fmt: skip
    print(f"           archived {cold['counts']['new']} new, {cold['counts']['failed']} failed; "
          f"HTTP requests {cold_http}, store requests {cold['store_requests']} "
          f"{cold['store_calls']}")  # fmt: skip
    print(f"           peak RSS {cold['peak_rss_mb']:.0f} MB (target <= 200 MB)")
    print(f"idle poll: not modified {idle['not_modified']}; HTTP requests {idle_http} "
          f"(article fetches {idle['http']['article']}), store requests "
          f"{idle['store_requests']} {idle['store_calls']}, "
          f"{idle['wall_s'] * 1000:.0f} ms after imports "
          "(targets: 1 request, 0 fetches, <= 2 store requests)")  # fmt: skip
    figures = {
        "cold_wall_s": round(cold["wall_s"], 3),
        "cold_floor_s": round(floor, 3),
        "cold_ratio": round(ratio, 3),
        "cold_ratio_runs": ratios,
        "cold_wall_s_runs": walls,
        "cold_cpu_s": round(cold["cpu_s"], 3),
        "cold_http_requests": cold_http,
        "cold_store_requests": cold["store_requests"],
        "cold_peak_rss_mb": round(max(c["peak_rss_mb"] for c, _, _, _ in rounds), 1),
        "idle_http_requests": idle_http,
        "idle_article_fetches": idle["http"]["article"],
        "idle_store_requests": idle["store_requests"],
        "idle_ms_after_imports": round(idle["wall_s"] * 1000, 1),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
