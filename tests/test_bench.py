"""The benchmark scripts still run, and the request counts they report hold (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from conftest import corpus_dir

BENCH = Path(__file__).resolve().parents[1] / "bench"


def last_json(script: str, *args: str) -> dict:
    """The script's last line, parsed; the script must leave no scratch files behind."""
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [sys.executable, str(BENCH / script), *args],
            capture_output=True, text=True, check=True, env={**os.environ, "TMPDIR": scratch},
        )  # fmt: skip
        left = sorted(path.name for path in Path(scratch).iterdir())
        assert not left, f"bench/{script} left {left} behind"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_idle_poll_costs_one_request_and_no_fetches():
    figures = last_json("runs.py", "--items", "4", "--delay", "0", "--concurrency", "2")
    assert figures["cold_http_requests"] == 5  # the feed + 4 articles
    assert (figures["idle_http_requests"], figures["idle_article_fetches"]) == (1, 0)
    assert figures["idle_store_requests"] <= 2
    assert figures["cold_peak_rss_mb"] > 0


def test_cold_start_and_extraction_scripts_report_their_ratios():
    start = last_json("cold_start.py", "--rounds", "1")
    assert start["import_app_ms"] > 0 and start["import_ratio"] > 0
    extraction = last_json("extraction.py", "--rounds", "1")
    assert extraction["fixture_ratio"] > 0


def test_simulated_day_catches_every_edit_with_fewer_fetches_than_before():
    figures = last_json("day.py", "--articles", "12", "--polls-per-day", "12", "--feed-size",
                        "6", "--edited", "0.5", "--edit-window-days", "0.2",
                        "--revisit-after", "1h,3h,6h")  # fmt: skip
    assert figures["edits"] == 6 and figures["edits_caught"] == figures["edits_eligible"] == 6
    assert figures["schedule"]["article_fetches"] <= figures["fetch_bound"]
    assert figures["schedule"]["article_fetches"] < figures["today"]["article_fetches"]
    assert figures["schedule"]["not_modified"] > 0  # revisits answered 304
    idle = figures["idle_poll"]
    assert (idle["http_requests"], idle["items"], idle["not_modified"]) == (1, 0, True)
    assert idle["store_requests"] <= 2


def test_outage_catch_up_archives_the_section_and_nothing_else():
    figures = last_json("outage.py", "--window", "5", "--politics", "12", "--others", "8")
    assert figures["archived_by_section"] == {"politik": 13}  # 12 + the one archived before
    assert (figures["politics_article_fetches"], figures["other_article_fetches"]) == (12, 0)
    assert figures["sitemap_requests"] == 1 and figures["failed"] == 0
    assert figures["catchup"]["to_archive"] == 12 - 5  # the feed itself lists the other five


def test_a_crawl_import_archives_each_politics_article_once():
    corpus_dir()  # the file is built from the real pages: skipped with a message without them
    figures = last_json("import_warc.py", "--records", "60")
    assert figures["politics_articles_archived"] == figures["politics_articles_expected"] > 0
    assert "the file ends inside the record" in figures["verdicts"]["error"]
    assert figures["peak_rss_mb"] > 0 and figures["ratio_to_bare_warcio"] > 0


def test_the_scale_bench_holds_its_request_targets(tmp_path):
    small = ["--sizes", "200", "--s3-sizes", "200", "--reprocess-size", "200", "--workers", "2"]
    figures = last_json("scale.py", *small, "--parked", "300", "--rounds", "1", "--budget", "0.2",
                        "--s3-latency-ms", "5", "--cache", str(tmp_path))  # fmt: skip
    local = figures["local"]["200"]["list"]
    assert local["documents"] == 200 and local["store_requests"] <= local["days"] + 2
    s3 = figures["s3"]["200"]
    assert s3["list"]["documents"] == 200 and s3["list"]["store_requests"] <= s3["list"]["days"] + 2
    assert s3["export"]["ratio"]["median"] > 0 and "export_with_5ms_round_trips" in s3
    assert s3["export_process"]["peak_rss_mb"] > 0  # the CLI's export of the bucket, exit 0
    reprocess = figures["reprocess"]
    assert reprocess["inline"]["documents"] == 200 and reprocess["inline"]["invocations"] > 1
    assert [run["workers"] for run in reprocess["fanout"]] == [2]
    parked = figures["parked"]
    assert parked["now"]["store_requests"] <= 2 and parked["now"]["state_bytes"] < 1000
    assert parked["state_from_before"]["state_bytes"] > parked["now"]["state_bytes"]


def test_the_site_bench_measures_a_full_build_and_an_update(tmp_path):
    figures = last_json("site.py", "--sizes", "100,200", "--changed", "3", "--cache", str(tmp_path))
    small, large = figures["sizes"]
    assert (small["articles"], large["articles"]) == (100, 200)
    for size in (small, large):
        assert size["full_articles"] == size["articles"] and size["update_articles"] == 3
        # Counted, not timed: an update's writes stay within the budget.
        assert size["update_writes_without_search"] <= size["update_target_writes"]
        assert size["update_search_files"] > 0 and size["update_archive_requests"] > 0
    assert figures["update_ratio_largest_to_smallest"] > 0


def test_the_fanout_bench_runs_and_archives_every_item():
    figures = last_json("fanout.py", "--feeds", "2", "--items", "3", "--delay", "0",
                        "--workers", "2", "--repeat", "1")  # fmt: skip
    assert figures["fanout_archived"] == figures["fanout_items"] == 6
    assert figures["fanout_ratio_runs"]["runs"] == 1


def test_the_campaign_bench_runs_its_cases_and_judges_them():
    figures = last_json("campaign.py", "--only", "2a,2c,11e,12", "--line-mb", "4")
    assert figures["not_ok"] == 0, [r for r in figures["rows"] if r["problems"]]
    assert figures["commands"] == 12 and figures["peak_rss_mb_max"] > 0
    assert {row["case"] for row in figures["rows"]} == {"2a", "2c", "11e", "12"}


def test_the_hostile_bench_shows_each_case_bounded():
    figures = last_json("hostile.py", "--line-mb", "8", "--paragraphs", "200")
    line = figures["long_line_import"]
    assert (line["new"], line["sources"][0]["malformed"]) == (1, 1)
    assert "deadline passed before the response headers" in figures["dripping_headers"]["outcome"]
    assert figures["changes"]["checks_per_paragraph"] <= 8
