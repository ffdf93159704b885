"""Reprocess at archive scale: planned into day shards, resumed by a cursor across invocations
(time budget, kill -9), never redoing a finished shard, its versions in their capture's day file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from handler.core.errors import EventError
from handler.run.context import RunContext
from handler.run.events import Reprocess, parse_event
from handler.run.reprocess import reprocess, reprocess_shard
from handler.run.shards import Shard
from handler.store import LocalStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import build_archive, make_stale, settings

REQUEST = Reprocess(since=date(2024, 1, 1), until=None)


def manifest(root: Path) -> dict[str, list[dict]]:
    files = sorted(root.glob("index/2*/*/[!.]*.jsonl"))
    return {
        p.relative_to(root / "index").as_posix(): [
            json.loads(x) for x in p.read_text().splitlines()
        ]
        for p in files
    }


def test_a_reprocess_resumes_where_its_time_ran_out_and_redoes_nothing(tmp_path):
    root = tmp_path / "archive"
    build_archive(str(root), 40, 4, first_day=date(2024, 1, 1))
    stale = make_stale(root, every=3)
    budget = {"left": 0}

    def remaining() -> float:  # time for a few documents per invocation
        budget["left"] -= 1
        return 1000.0 if budget["left"] > 0 else 0.0

    seen: Counter[str] = Counter()
    invocations = []
    for _ in range(20):
        budget["left"] = 12
        summary = reprocess(
            RunContext(settings(str(root)), remaining_s=remaining), REQUEST
        ).to_dict()
        invocations.append(summary)
        seen.update(a["id"] for a in summary["articles"] if a["status"] != "deferred")
        if summary["reprocess"]["complete"]:
            break
    assert len(invocations) > 3 and "time ran out" in invocations[0]["errors"][0]
    assert invocations[-1]["reprocess"] == {**invocations[-1]["reprocess"], "days": 4,
                                            "days_done": 4, "documents": 40}  # fmt: skip
    assert set(seen) == {f"ntv-{50000000 + n}" for n in range(40)} and max(seen.values()) == 1
    assert sum(s["updated"] for s in invocations) == len(stale)
    # Done is done: the same request again re-extracts nothing.
    again = reprocess(RunContext(settings(str(root))), REQUEST).to_dict()
    assert again["items"] == 0 and again["reprocess"]["complete"]


def test_re_extracted_versions_join_their_capture_day_file(tmp_path):
    root = tmp_path / "archive"
    build_archive(str(root), 12, 3, first_day=date(2024, 2, 1))
    before = manifest(root)
    stale = make_stale(root)
    summary = reprocess(RunContext(settings(str(root))), REQUEST).to_dict()
    assert summary["updated"] == 12
    after = manifest(root)
    assert sorted(after) == sorted(before) == ["2024/02/01.jsonl", "2024/02/02.jsonl",
                                               "2024/02/03.jsonl"]  # no file for today  # fmt: skip
    for day, lines in after.items():
        assert len(lines) == 2 * len(before[day])  # each capture's new version beside the first
        assert {line["id"] for line in lines if line["version"] != line["fetched_at"]} == {
            line["id"] for line in before[day]}  # fmt: skip
    assert len(stale) == 12


def test_a_reprocess_killed_at_any_point_finishes_on_the_next_run(tmp_path):
    root = tmp_path / "archive"
    build_archive(str(root), 150, 3, first_day=date(2024, 3, 1))
    make_stale(root)
    event = tmp_path / "reprocess.json"
    event.write_text(json.dumps({"action": "reprocess", "since": "2024-03-01"}))
    command = [sys.executable, "-c", "import sys; from handler.cli import main; sys.exit(main())",
               "invoke", str(event), "--store", str(root)]  # fmt: skip
    env = {**os.environ, "RECOVER_AFTER_SECONDS": "1"}  # the killed runs' markers: settle soon
    for reached in (1, 30, 70):  # kills at three points (versions made), then a run to the end
        started = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and started.poll() is None:
            if len(list(root.glob("versions/*/*.json"))) >= reached:
                break
            time.sleep(0.02)
        if started.poll() is None:
            os.kill(started.pid, signal.SIGKILL)
        assert started.wait() == -signal.SIGKILL  # killed before it could finish
    time.sleep(1.1)  # the last killed run's markers are past the grace period
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    assert summary["reprocess"]["complete"]
    # Every document has exactly one re-extracted version, and every version one line.
    docs = [
        json.loads(p.read_text())
        for p in root.glob("articles/*/*/*/*.json")
        if not p.name.startswith(".")
    ]  # a killed write's temp file is not a document
    assert len(docs) == 150 and all(d.get("reprocessed_at") for d in docs)
    assert all(len(list(root.glob(f"versions/{d['id']}/[!.]*.json"))) == 1 for d in docs)
    lines = [(line["id"], line["version"]) for day in manifest(root).values() for line in day]
    assert len(lines) == len(set(lines)) == 300


def test_a_shard_message_is_checked_and_reprocesses_its_day(tmp_path):
    root = tmp_path / "archive"
    build_archive(str(root), 10, 2, first_day=date(2024, 4, 1))
    make_stale(root)
    shard = Shard("job", date(2024, 4, 2), (), "2026-11-27T10:00:00+00:00")
    assert Shard.from_body(shard.to_body()) == shard
    outcomes = reprocess_shard(RunContext(settings(str(root))), shard)
    assert [o.status for o in outcomes] == ["updated"] * 5
    # A shard naming articles of another day (a forged or stale message) touches nothing:
    # only the documents filed under its own day are candidates.
    of_day_one = tuple(f"ntv-{50000000 + n}" for n in range(5))
    elsewhere = Shard("job", date(2024, 4, 2), of_day_one, "2026-11-27T11:00:00+00:00")
    assert reprocess_shard(RunContext(settings(str(root))), elsewhere) == []
    assert len(list(root.glob("versions/*/*.json"))) == 5  # day two's, from the shard above
    assert Shard.from_body('{"feed": {}, "item": {}}') is None  # a feed item, not a shard
    for body in ('{"reprocess": {"day": "2024-13-01", "job": "j", "reprocessed_at": "x"}}',
                 '{"reprocess": {"day": "2024-04-01", "job": "j", "ids": ["../x"],'
                 ' "reprocessed_at": "2026-11-27T10:00:00+00:00"}}',
                 '{"reprocess": {"day": "2024-04-01", "job": "j",'
                 ' "reprocessed_at": "2026-11-27T10:00:00"}}'):  # fmt: skip
        with pytest.raises(EventError, match="not a reprocess shard"):
            Shard.from_body(body)


def test_a_busy_day_is_queued_as_several_shards(tmp_path):
    from handler.archive.index import current_entries
    from handler.run.shards import SHARD_DOCUMENTS, plan_shards

    root = tmp_path / "archive"
    build_archive(str(root), 2 * SHARD_DOCUMENTS + 7, 1, first_day=date(2024, 7, 1))
    build_archive(str(root), 3, 1, first_day=date(2024, 7, 2), per_day_offset=1000)
    entries = current_entries(LocalStore(root), REQUEST.since, REQUEST.until, frozenset())
    shards = plan_shards(entries, "job", "2026-11-27T10:00:00+00:00")
    assert [(s.day.day, len(s.ids)) for s in shards] == [(1, 50), (1, 50), (1, 7), (2, 3)]
    assert len({s.group_id for s in shards}) == len({s.deduplication_id for s in shards}) == 4
    assert sum(len(s.ids) for s in shards) == len({i for s in shards for i in s.ids}) == 110


@pytest.mark.parametrize("restart", [1, "yes"])
def test_restart_must_be_a_boolean(restart):
    with pytest.raises(EventError, match="'restart' must be true or false"):
        parse_event({"action": "reprocess", "since": "2024-01-01", "restart": restart})


def test_a_summary_of_a_big_run_lists_what_changed_and_counts_the_rest():
    from handler.run.outcomes import MAX_LISTED, ArticleOutcome, RunSummary

    summary = RunSummary(run_id="r", feed_url=None, store="s")
    summary.outcomes = [ArticleOutcome(id=f"ntv-{n}", url="", status="unchanged")
                        for n in range(MAX_LISTED + 5)]  # fmt: skip
    summary.outcomes[7] = ArticleOutcome(id="ntv-7", url="", status="updated")
    shown = summary.to_dict()
    assert [a["id"] for a in shown["articles"]] == ["ntv-7"]
    assert shown["articles_omitted"] == MAX_LISTED + 4 and shown["unchanged"] == MAX_LISTED + 4


def test_an_unreadable_cursor_is_refused_not_overwritten(tmp_path):
    from handler.core.errors import StoreError
    from handler.run.reprocess import job_name
    from handler.store.layout import reprocess_key

    root = tmp_path / "archive"
    build_archive(str(root), 3, 1, first_day=date(2024, 9, 1))
    cursor = root / reprocess_key(job_name(REQUEST))
    cursor.parent.mkdir(parents=True)
    cursor.write_text("{ torn")
    with pytest.raises(StoreError, match=r"is not a readable reprocess cursor .*move it aside"):
        reprocess(RunContext(settings(str(root))), REQUEST)
    assert cursor.read_text() == "{ torn"


class ListingsOf(LocalStore):
    """A local store that remembers every prefix listed and every key read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.prefixes_listed: Counter[str] = Counter()
        self.keys_got: Counter[str] = Counter()

    def list(self, prefix: str = ""):  # type: ignore[override]
        self.prefixes_listed[prefix] += 1
        return super().list(prefix)

    def get(self, key: str):  # type: ignore[override]
        self.keys_got[key] += 1
        return super().get(key)


def test_an_inline_reprocess_recovers_crashed_runs_once_not_at_every_save(tmp_path):
    from handler.run.reprocess import SAVE_EVERY

    root = tmp_path / "archive"
    build_archive(str(root), 4 * SAVE_EVERY, 2, first_day=date(2024, 4, 1))
    make_stale(root, every=2)
    store = ListingsOf(root)
    summary = reprocess(RunContext(settings(str(root)), store=store), REQUEST).to_dict()
    assert summary["updated"] == 2 * SAVE_EVERY and summary["reprocess"]["complete"]
    assert store.prefixes_listed["index/pending/"] == 1  # 6 saves, one recovery when it finished


def test_a_fanout_reprocess_reads_each_manifest_day_file_once(tmp_path):
    root = tmp_path / "archive"
    build_archive(str(root), 30, 3, first_day=date(2024, 6, 1))
    store = ListingsOf(root)
    sent: list = []

    class Queue:
        def send(self, shards) -> None:
            sent.extend(shards)

    summary = reprocess(RunContext(settings(str(root)), store=store), REQUEST, queue=Queue())
    assert summary.queued == len(sent) == 3
    day_files = [key for key in store.keys_got if key.startswith("index/2")]
    assert len(day_files) == 3 and all(store.keys_got[key] == 1 for key in day_files)
    # The same request again: the job is queued already, so nothing is read or sent.
    again = reprocess(RunContext(settings(str(root)), store=store), REQUEST, queue=Queue())
    assert again.queued == 0 and len(sent) == 3
    assert all(store.keys_got[key] == 1 for key in day_files)
