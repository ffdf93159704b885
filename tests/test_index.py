"""The manifest as the index: list, export and status at archive scale (request counts, not time).

The archives are written through the project's own write path (bench/synthetic.py).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from handler.archive.index import current_entries, current_locations, manifest_days
from handler.archive.reader import iter_articles, list_articles
from handler.archive.state import RunState
from handler.archive.statefile import decode_run_state as _decode
from handler.archive.statefile import encode_run_state as _encode
from handler.archive.statestore import StateStore
from handler.cli import main
from handler.core.errors import ArchiveError
from handler.core.models import FeedItem
from handler.run.commit import commit
from handler.store import LocalStore, S3Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from common import CountingStore
from synthetic import build_archive, settings


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """60 articles over 6 days of January 2024, then 20 over 2 days of March 2025."""
    root = tmp_path_factory.mktemp("index") / "archive"
    build_archive(str(root), 60, 6, first_day=date(2024, 1, 1))
    build_archive(str(root), 20, 2, first_day=date(2025, 3, 1), per_day_offset=1000)
    return root


def test_list_reads_one_manifest_file_per_day_and_no_document(archive):
    store = CountingStore(LocalStore(archive))
    rows = list_articles(store)
    assert len(rows) == 80 and len({r["id"] for r in rows}) == 80
    assert all(r["url"].endswith(f"-id{r['id'][4:]}.html") for r in rows)
    assert {r["section"] for r in rows} == {"Politik"}
    assert dict(store.calls) == {"list": 1, "get": 8}  # one listing, one GET per day file
    assert [day for day, _ in manifest_days(LocalStore(archive))][:2] == [
        date(2024, 1, 1), date(2024, 1, 2)]  # fmt: skip


def test_a_range_reads_only_the_day_files_from_the_day_before_it(archive):
    store = CountingStore(LocalStore(archive))
    rows = list_articles(store, date(2025, 1, 1), None)
    assert len(rows) == 20 and rows[0]["published_at"].startswith("2025-03-01")
    assert store.calls["get"] == 2  # the ten empty months between are never asked for
    only = list_articles(LocalStore(archive), date(2024, 1, 2), date(2024, 1, 3))
    assert len(only) == 20 and {r["published_at"][:10] for r in only} == {
        "2024-01-02",
        "2024-01-03",
    }
    with pytest.raises(ArchiveError, match="'since' is after 'until'"):
        list_articles(LocalStore(archive), date(2024, 1, 3), date(2024, 1, 2))


def test_list_on_s3_costs_the_day_files_plus_a_listing(archive, aws_env):
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="arch", CreateBucketConfiguration={
            "LocationConstraint": "eu-central-1"})  # fmt: skip
        for path in sorted(archive.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                key = f"p/{path.relative_to(archive).as_posix()}"
                client.put_object(Bucket="arch", Key=key, Body=path.read_bytes())
        requests: list[str] = []
        client.meta.events.register("before-send.s3", lambda request, **_: requests.append(
            request.url))  # fmt: skip
        store = S3Store("arch", "p")
        store.client = client
        rows = list_articles(store)
        assert len(rows) == 80
        assert len(requests) <= 8 + 2  # days covered + 2


def test_the_latest_version_wins_and_export_streams_everything(archive, tmp_path, capsys):
    root = tmp_path / "copy"
    build_archive(str(root), 12, 3, first_day=date(2024, 5, 1))
    from handler.archive.reader import get_article
    from handler.run.context import RunContext

    ctx = RunContext(settings(str(root)))
    first = get_article(ctx.store, "ntv-50000004")
    # A later version of one article (a revisit found an edit): list and export show it.
    from handler.archive.extraction import extract_document

    later = datetime.fromisoformat(first["fetched_at"]) + timedelta(days=2)
    template = extract_document(
        Path(__file__).parent.joinpath("fixtures/pages/ntv2025_article.html").read_bytes(),
        first["url"], fetched_at=later)  # fmt: skip
    published = datetime.fromisoformat(first["published_at"])
    fields = replace(template.fields, url=first["url"], title="Neuer Titel", published_at=published)
    doc = replace(template, id=first["id"], url=first["url"], fields=fields)
    assert commit(ctx, doc, None)[0] == "updated"
    ctx.settle_catalog()

    rows = list_articles(LocalStore(root))
    assert len(rows) == 12
    assert [r["title"] for r in rows if r["id"] == "ntv-50000004"] == ["Neuer Titel"]
    assert main(["export", "--store", str(root)]) == 0  # no range: everything
    out, err = capsys.readouterr()
    exported = [json.loads(line) for line in out.splitlines()]
    assert [d["id"] for d in exported] == [r["id"] for r in rows]  # in key order, streamed
    assert "exported 12 articles" in err
    assert next(d for d in exported if d["id"] == "ntv-50000004")["title"] == "Neuer Titel"


def test_parallel_and_sequential_reads_give_the_same_export(archive):
    sequential = [d["id"] for d in iter_articles(LocalStore(archive), readers=1)]
    parallel = [d["id"] for d in iter_articles(LocalStore(archive), readers=8)]
    assert sequential == parallel and len(parallel) == 80


def test_a_document_missing_behind_its_line_is_named_and_the_rest_exported(tmp_path, capsys):
    root = tmp_path / "archive"
    build_archive(str(root), 6, 2, first_day=date(2024, 2, 1))
    gone = next(root.glob("articles/2024/02/01/*.json"))
    gone.unlink()
    assert main(["export", "--store", str(root), "--since", "2024-02-01"]) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 5
    assert f"{gone.relative_to(root).as_posix()}: named by the manifest but not stored" in err
    assert "Traceback" not in err


def test_lines_written_before_the_manifest_carried_urls_send_list_to_those_documents(tmp_path):
    root = tmp_path / "archive"
    build_archive(str(root), 10, 2, first_day=date(2024, 3, 1))
    day_file = root / "index/2024/03/01.jsonl"
    lines = [json.loads(line) for line in day_file.read_text().splitlines()]
    old = [{k: v for k, v in line.items() if k not in ("url", "section", "fetched_at")}
           for line in lines]  # fmt: skip
    day_file.write_text("".join(json.dumps(line) + "\n" for line in old))
    store = CountingStore(LocalStore(root))
    rows = list_articles(store)
    assert all(r["url"] and r["section"] == "Politik" for r in rows)
    assert store.calls["get"] == 2 + 5  # two day files, and the five documents of the old one


def test_an_unreadable_line_names_nothing_and_hides_nothing(tmp_path):
    root = tmp_path / "archive"
    build_archive(str(root), 4, 1, first_day=date(2024, 4, 1))
    day_file = root / "index/2024/04/01.jsonl"
    day_file.write_text(
        day_file.read_text() + '{"torn": \n["a list"]\n{"id": "x", "key": "../x"}\n'
        '{"id": "ntv-9", "key": "articles/2024/04/01/ntv-9.json", "version": "v"}\n'
    )  # the last one is whole JSON but lacks content_sha256: no line the catalog wrote
    entries = current_entries(LocalStore(root))
    assert len(entries) == 4
    # The lean fold (export, reprocess) accepts exactly the lines the full one (list) does.
    located = current_locations(LocalStore(root))
    assert [(e.id, e.key, e.version) for e in entries] == [
        (a.id, a.key, a.version) for a in located
    ]


def test_status_counts_parked_records_and_reads_only_those_it_shows(tmp_path, capsys):
    root = tmp_path / "archive"
    store = LocalStore(root)
    states = StateStore(store)
    for n in range(70):
        item = FeedItem.for_url(f"https://www.n-tv.de/politik/Weg-id{41000000 + n}.html")
        states.park(states_entry(item), datetime(2026, 1, 1, tzinfo=UTC))
    counting = CountingStore(store)
    assert len(StateStore(counting).parked_keys()) == 70 and counting.calls["get"] == 0
    assert main(["status", "--store", str(root)]) == 0
    out = capsys.readouterr().out
    assert "0 pending, 70 parked" in out and "(20 more parked; --json lists them all)" in out
    assert out.count("  parked  ntv-") == 50
    assert main(["status", "--store", str(root), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["parked"]) == 70


def states_entry(item: FeedItem):
    from handler.archive.state import Pending

    return Pending(item=item, feed_url="https://www.n-tv.de/politik/rss", attempts=3,
                   reasons=[{"at": "2026-01-01T00:00:00+00:00", "reason": "HTTP 404"}])  # fmt: skip


def test_parked_ids_are_kept_only_while_their_feed_lists_them():
    state = RunState()
    state.parked = {"feed-a": {"ntv-1": "t", "ntv-2": "t"}, "feed-b": {"ntv-3": "t"}}
    state.keep_parked_listed("feed-a", {"ntv-2", "ntv-9"})
    assert state.parked == {"feed-a": {"ntv-2": "t"}, "feed-b": {"ntv-3": "t"}}
    assert state.unpark("ntv-3") and not state.unpark("ntv-3")
    assert state.parked_ids() == {"ntv-2"}


def test_a_state_with_parked_ids_from_before_is_read_and_shrinks_on_the_next_poll():
    legacy = {"parked": {f"ntv-{n}": "2026-01-01T00:00:00+00:00" for n in range(5000)}}
    state = _decode(json.dumps(legacy).encode())
    assert len(state.parked_ids()) == 5000
    state.keep_parked_listed("https://feed", {"ntv-7"})
    assert state.parked == {"": {"ntv-7": "2026-01-01T00:00:00+00:00"}}
    assert len(_encode(state)) < 400


def test_the_latest_version_wins_however_its_time_is_written(tmp_path):
    store = LocalStore(tmp_path)
    line = {"id": "ntv-1", "key": "articles/2024/01/01/ntv-1.json", "content_sha256": "0" * 64}
    lines = [
        line | {"version": "2024-01-01T12:00:00.500+00:00", "title": "later"},
        line | {"version": "2024-01-01T12:00:00+00:00", "title": "earlier, no ms"},
        line | {"version": "2024-01-01T12:00:00+01:00", "title": "earliest, other zone"},
    ]
    store.put("index/2024/01/01.jsonl", "".join(json.dumps(x) + "\n" for x in lines).encode(), "")
    [entry] = current_entries(store)
    assert entry.title == "later"
