"""End to end through the CLI: a local site over real HTTP -> the store (dir, moto, moto server)."""

from __future__ import annotations

import gzip
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws
from warcio.archiveiterator import ArchiveIterator

from conftest import Site, assert_valid, page
from handler.cli import main

LAYOUT_PAGES = {
    "/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html": "ntv2025_article.html",
    "/panorama/Hafen-bekommt-neue-Faehre-article30000002.html": "ntv_legacy_article.html",
    "/politik/Sonderseite-Wahlabend-im-Ueberblick-id40000003.html": "generic_article.html",
}


@dataclass
class Backend:
    dest: str
    read_all: Callable[[], dict[str, bytes]]


def _s3_backend(prefix: str = "archive") -> Backend:
    bucket = f"ntv-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )

    def read_all() -> dict[str, bytes]:
        listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {
            o["Key"].removeprefix(prefix + "/"): s3.get_object(Bucket=bucket, Key=o["Key"])[
                "Body"
            ].read()
            for o in listed
        }

    return Backend(f"s3://{bucket}/{prefix}", read_all)


@pytest.fixture(params=["directory", "moto", "moto-server"])
def backend(request, tmp_path, aws_env, monkeypatch) -> Iterator[Backend]:
    if request.param == "directory":
        root = tmp_path / "archive"
        yield Backend(
            str(root),
            lambda: {
                p.relative_to(root).as_posix(): p.read_bytes()
                for p in root.rglob("*")
                if p.is_file()
            },
        )
    elif request.param == "moto":
        with mock_aws():
            yield _s3_backend()
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", request.getfixturevalue("moto_server"))
        yield _s3_backend()


def run(site: Site, dest: str, *extra: str) -> int:
    return main(site.run_args(dest, "--json", *extra))


def serve_layouts(site: Site) -> None:
    for path, name in LAYOUT_PAGES.items():
        site.add(path, page(name), title="Dachzeile: Schlagzeile")
    site.serve()


def test_archives_every_article_then_writes_nothing_on_a_second_run(site, backend, capsys):
    serve_layouts(site)
    assert run(site, backend.dest) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["new"], first["unchanged"], first["failed"], first["fallback"]) == (3, 0, 0, 1)

    stored = backend.read_all()
    docs = {k: json.loads(v) for k, v in stored.items() if k.startswith("articles/")}
    warcs = {k: v for k, v in stored.items() if k.startswith("raw/")}
    assert sorted(docs) == [
        "articles/2023/04/28/ntv-30000002.json",
        "articles/2025/02/23/ntv-40000003.json",
        "articles/2025/03/14/ntv-40000001.json",
    ]
    assert len(warcs) == 3 and all(k.endswith(".warc.gz") for k in warcs)
    for doc in docs.values():
        assert_valid(doc)
        assert doc["feed"]["url"] == site.feed_url
        assert doc["feed"]["item_title"] == "Dachzeile: Schlagzeile"
        assert doc["capture"]["raw_key"] in warcs
        assert doc["text"] and doc["content_sha256"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", doc["fetched_at"])

    # The WARC holds the page exactly as fetched, readable by standard tools.
    doc = docs["articles/2025/03/14/ntv-40000001.json"]
    records = []  # payloads must be read while iterating: the iterator consumes the stream
    for record in ArchiveIterator(io.BytesIO(warcs[doc["capture"]["raw_key"]])):
        records.append(
            (
                record.rec_type,
                record.rec_headers.get_header("WARC-Target-URI"),
                record.http_headers,
                record.content_stream().read(),
            )
        )
    assert [r[0] for r in records] == ["response", "request"]
    _, target, http_headers, payload = records[0]
    assert target == doc["capture"]["final_url"]
    assert payload == page("ntv2025_article.html")
    assert http_headers.get_header("X-Archive-Orig-Content-Encoding") == "gzip"

    # The feed lists the same items, saying the same of them: no article is fetched again
    # (their revisits are on the schedule, not due yet), and nothing is written.
    assert run(site, backend.dest) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["items"], second["new"], second["updated"], second["unchanged"]) == (0, 0, 0, 0)
    assert all(site.requests_to(path) == 1 for path in LAYOUT_PAGES)
    assert backend.read_all() == stored
    assert len([k for k in stored if k.startswith("index/revisit/")]) == 3


def test_changed_page_is_a_new_version_and_the_old_one_is_kept(site, backend, capsys):
    serve_layouts(site)
    assert run(site, backend.dest) == 0
    path = next(iter(LAYOUT_PAGES))
    site.articles[0].html = page("ntv2025_article.html").replace(b"im Herbst", b"im Winter")
    site.articles[0].title = "Dachzeile: Schlagzeile, aktualisiert"  # the feed says so too
    site.serve()
    assert run(site, backend.dest) == 0
    capsys.readouterr()
    stored = backend.read_all()
    current = json.loads(stored["articles/2025/03/14/ntv-40000001.json"])
    versions = [k for k in stored if k.startswith("versions/ntv-40000001/")]
    assert current["text"].endswith("im Winter beginnen.")
    assert len(versions) == 1
    assert json.loads(stored[versions[0]])["text"].endswith("im Herbst beginnen.")
    assert len([k for k in stored if k.startswith("raw/2025/03/14/ntv-40000001/")]) == 2
    assert site.requests_to(path) == 2


def test_one_failing_article_does_not_stop_the_others(site, tmp_path, capsys):
    for path, name in LAYOUT_PAGES.items():
        site.add(path, page(name))
    site.add("/politik/Weg-id40000099.html", None)  # in the feed, answered with 404
    site.add("/politik/Leer-id40000098.html", page("no_text.html"))
    site.serve()

    assert run(site, str(tmp_path)) == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["new"], summary["failed"]) == (3, 2)
    reasons = {f["id"]: f["reason"] for f in summary["failures"]}
    assert reasons["ntv-40000099"].endswith("/politik/Weg-id40000099.html: HTTP 404 NOT FOUND")
    assert "no article text found" in reasons["ntv-40000098"]
    assert not list(tmp_path.rglob("ntv-40000098*")) and not list(tmp_path.rglob("ntv-40000099*"))
    # The context is data, not only words: a 404 is told from an extraction failure.
    context = {f["id"]: (f["error"], f["http_status"]) for f in summary["failures"]}
    assert context == {"ntv-40000099": ("FetchError", 404),
                       "ntv-40000098": ("ExtractionError", None)}  # fmt: skip


def test_unreachable_feed_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    code = main(
        [
            "run",
            "--feed-url",
            "http://127.0.0.1:9/rss",
            "--allow-host",
            "127.0.0.1",
            "--store",
            str(tmp_path / "a"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (
        "ntv-archive: error: feed http://127.0.0.1:9/rss: "
        "connection failed (refused or unreachable)"
    )
    assert not (tmp_path / "a").exists()


def test_feed_on_a_host_outside_the_allowlist_is_refused_without_a_request(site, tmp_path, capsys):
    serve_layouts(site)
    code = main(["run", "--feed-url", site.feed_url, "--store", str(tmp_path)])
    assert code == 2
    assert "IP address '127.0.0.1' is not allowed" in capsys.readouterr().err
    assert site.server.log == []


def test_not_a_feed_exits_2(site, tmp_path, capsys):
    site.server.expect_request(site.feed_path).respond_with_data(
        "<html><body>Wartung</body></html>", content_type="application/xml"
    )
    assert run(site, str(tmp_path)) == 2
    assert "not a feed" in capsys.readouterr().err


def test_max_items_and_human_summary(site, tmp_path, capsys):
    serve_layouts(site)
    code = main(site.run_args(str(tmp_path), "--max-items", "1"))
    out = capsys.readouterr().out
    assert code == 0
    assert "1 item: 1 new, 0 updated, 0 unchanged, 0 failed" in out
    assert len(list(tmp_path.glob("articles/*/*/*/*.json"))) == 1


def test_bad_store_destination_exits_2(site, capsys):
    assert run(site, "ftp://example/x") == 2
    assert "only directories and s3:// are supported" in capsys.readouterr().err


def test_extract_command_prints_the_document(tmp_path, capsys):
    saved = tmp_path / "page.html.gz"
    saved.write_bytes(gzip.compress(page("ntv_legacy_article.html")))
    assert main(["extract", str(saved), "--url", "https://www.n-tv.de/x-article30000002.html"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["id"], doc["dateline"]) == ("ntv-30000002", "Husum")


def test_extract_command_reports_missing_file_and_no_text(tmp_path, capsys):
    assert main(["extract", str(tmp_path / "nope.html"), "--url", "https://www.n-tv.de/x"]) == 2
    empty = tmp_path / "empty.html"
    empty.write_bytes(page("no_text.html"))
    assert main(["extract", str(empty), "--url", "https://www.n-tv.de/x"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith("nope.html: No such file or directory")
    assert "no article text found" in err[1]


def test_unchanged_feed_costs_one_conditional_request(site, tmp_path, capsys):
    site.etag = '"feed-v1"'
    serve_layouts(site)
    assert run(site, str(tmp_path)) == 0
    assert json.loads(capsys.readouterr().out)["new"] == 3
    assert json.loads((tmp_path / "state/run-state.json").read_text())["feeds"] == {
        site.feed_url: {"etag": '"feed-v1"', "last_modified": None}
    }
    before = len(site.server.log)

    assert run(site, str(tmp_path)) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["not_modified"], second["items"]) == (True, 0)
    [(request, response)] = site.server.log[before:]  # exactly one HTTP request
    assert request.headers["If-None-Match"] == '"feed-v1"' and response.status_code == 304

    site.etag = '"feed-v2"'  # the feed changed, but says the same of every item
    assert run(site, str(tmp_path)) == 0
    third = json.loads(capsys.readouterr().out)
    assert (third["not_modified"], third["items"]) == (False, 0)
    assert all(site.requests_to(path) == 1 for path in LAYOUT_PAGES)


def test_a_failed_article_is_retried_even_when_the_feed_answers_304(site, tmp_path, capsys):
    site.etag = '"feed-v1"'
    serve_layouts(site)
    site.add("/politik/Weg-id40000099.html", None)  # 404 now
    site.serve()
    assert run(site, str(tmp_path), "--retry-delay", "0") == 1
    assert json.loads(capsys.readouterr().out)["pending"] == 1
    site.articles[-1].html = page("ntv2025_byline.html")  # the article is back
    site.serve()
    assert run(site, str(tmp_path), "--retry-delay", "0") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["not_modified"], summary["items"], summary["new"], summary["pending"]) == (
        True, 1, 1, 0,
    )  # fmt: skip


def test_an_article_that_left_the_feed_is_still_retried(site, tmp_path, capsys):
    serve_layouts(site)
    gone = site.add("/politik/Weg-id40000099.html", None)
    site.serve()
    assert run(site, str(tmp_path), "--retry-delay", "0") == 1
    gone.listed, gone.html = False, page("ntv2025_byline.html")
    site.serve()
    assert run(site, str(tmp_path), "--retry-delay", "0") == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (summary["new"], summary["unchanged"], summary["pending"]) == (1, 0, 0)
    assert (tmp_path / "articles/2025/11/03/ntv-40000004.json").exists()


def test_retries_wait_for_their_delay(site, tmp_path, capsys):
    serve_layouts(site)
    site.add("/politik/Weg-id40000099.html", None)
    site.serve()
    assert run(site, str(tmp_path)) == 1  # default delay: 10 minutes
    assert run(site, str(tmp_path)) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (summary["items"], summary["pending"]) == (0, 1)
    assert site.requests_to("/politik/Weg-id40000099.html") == 1

    assert main(["status", "--store", str(tmp_path), "--json"]) == 0
    [pending] = json.loads(capsys.readouterr().out)["pending"]
    assert (pending["id"], pending["attempts"]) == ("ntv-40000099", 1)
    assert pending["last_reason"].endswith("HTTP 404 NOT FOUND")
    assert pending["next_retry_at"] > datetime.now(UTC).isoformat()


def test_an_article_failing_every_time_is_parked_with_every_reason(
    site, tmp_path, capsys, monkeypatch
):
    serve_layouts(site)
    site.add("/politik/Weg-id40000099.html", None)
    site.serve()
    args = ("--retry-delay", "0", "--max-attempts", "2")
    assert run(site, str(tmp_path), *args) == 1
    assert run(site, str(tmp_path), *args) == 1
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["pending"] == 0
    parked = json.loads((tmp_path / "failed/ntv-40000099.json").read_text())
    assert parked["attempts"] == 2 and len(parked["reasons"]) == 2
    assert all(r["reason"].endswith("HTTP 404 NOT FOUND") for r in parked["reasons"])

    assert main(["status", "--store", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "0 pending, 1 parked" in out and "parked  ntv-40000099: 2 attempts" in out

    assert run(site, str(tmp_path), *args) == 0  # parked: polls leave it alone
    assert site.requests_to("/politik/Weg-id40000099.html") == 2
    site.articles[-1].html = page("ntv2025_byline.html")
    site.serve()
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"action": "replay", "urls": [site.url(site.articles[-1].path)]}))
    monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")
    assert main(["invoke", str(replay), "--store", str(tmp_path)]) == 0
    assert not (tmp_path / "failed/ntv-40000099.json").exists()
    assert json.loads((tmp_path / "state/run-state.json").read_text())["parked"] == {}


def test_not_modified_in_the_human_summary(site, tmp_path, capsys):
    site.etag = '"x"'
    serve_layouts(site)
    main(site.run_args(str(tmp_path)))
    main(site.run_args(str(tmp_path)))
    assert "feed not modified (HTTP 304); only due retries were fetched" in capsys.readouterr().out


def test_max_bytes_is_configurable_on_the_command_line(site, tmp_path, capsys):
    serve_layouts(site)
    assert run(site, str(tmp_path), "--max-bytes", "2000") == 1
    summary = json.loads(capsys.readouterr().out)
    reasons = [f["reason"] for f in summary["failures"]]
    # The two ntv pages are over 2000 bytes; the small generic page is not.
    assert len(reasons) == 2 and all("larger than 2000 bytes (size cap)" in r for r in reasons)
    assert summary["new"] == 1


def test_a_failure_keeps_its_context_in_the_state(site, tmp_path, capsys):
    """The retry record holds the error class and HTTP status as data, beside the reason."""
    site.add("/politik/Weg-id40000099.html", None)  # in the feed, answered with 404
    site.serve()
    assert run(site, str(tmp_path)) == 1
    capsys.readouterr()
    assert main(["status", "--store", str(tmp_path), "--json"]) == 0
    [pending] = json.loads(capsys.readouterr().out)["pending"]
    attempt = pending["last_attempt"]
    assert (attempt["error"], attempt["http_status"]) == ("FetchError", 404)
    assert attempt["reason"].endswith("HTTP 404 NOT FOUND")
