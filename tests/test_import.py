"""Importing other crawlers' WARC files: real ntv.de pages of both layouts among records an
archive must not take, local files and moto S3, idempotence, truncation, hostile records."""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from conftest import assert_valid, corpus_dir, corpus_page, page
from handler.archive.warc import read_capture
from handler.cli import main

CURRENT = (
    "https://www.n-tv.de/politik/"
    "Trump-spricht-nach-Tanker-Stuermung-ueber-Bodeneinsaetze-id30134161.html"
)
CAPTURED = "2016-09-14T08:15:00Z"


def legacy_pages() -> list[tuple[str, bytes]]:
    """(URL, page) of every old-layout corpus page, all sections."""
    folder = corpus_dir() / "legacy"
    found = []
    for meta in sorted(folder.glob("*.json")):
        url = json.loads(meta.read_text())["provenance"]
        found.append((url, corpus_page(f"legacy/{meta.stem}")))
    return found


class Warc:
    """A WARC file built record by record, the way crawlers write them."""

    def __init__(self, gzipped: bool = True) -> None:
        self.buffer = io.BytesIO()
        self.writer = WARCWriter(self.buffer, gzip=gzipped)
        info = self.writer.create_warcinfo_record("test.warc.gz", {"software": "test"})
        self.writer.write_record(info)

    def response(self, url: str, body: bytes, status: str = "200 OK",
                 content_type: str = "text/html; charset=utf-8", date: str = CAPTURED,
                 headers: list[tuple[str, str]] | None = None) -> None:  # fmt: skip
        http = StatusAndHeaders(status, [("Content-Type", content_type), *(headers or [])],
                                protocol="HTTP/1.1")  # fmt: skip
        record = self.writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                http_headers=http,
                                                warc_headers_dict={"WARC-Date": date})  # fmt: skip
        self.writer.write_record(record)

    def revisit(self, url: str) -> None:
        record = self.writer.create_revisit_record(url, digest="sha1:AAAA", refers_to_uri=url,
                                                   refers_to_date=CAPTURED)  # fmt: skip
        self.writer.write_record(record)

    def request(self, url: str) -> None:
        http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "www.n-tv.de")], is_http_request=True)
        self.writer.write_record(self.writer.create_warc_record(
            url, "request", payload=io.BytesIO(b""), http_headers=http))  # fmt: skip

    def save(self, path: Path) -> Path:
        path.write_bytes(self.buffer.getvalue())
        return path


def mixed_warc(path: Path) -> Path:
    """Real pages of both layouts, plus what an import must count and leave: another site, a
    404, an image, a revisit and a request record, an author page (not an article)."""
    warc = Warc()
    warc.response(CURRENT, corpus_page("NTV_2025_12_12"))
    for url, html in legacy_pages():
        warc.response(url, html)
    warc.response("https://www.example.org/politik/x-id1.html", page("ntv2025_article.html"))
    warc.response("https://www.n-tv.de/politik/Weg-id40000099.html", b"gone", "404 Not Found")
    warc.response(
        "https://www.n-tv.de/politik/bild-id40000098.html", b"\x89PNG", content_type="image/png"
    )
    warc.revisit(CURRENT)
    warc.request(CURRENT)
    return warc.save(path)


def summary_of(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def stored(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_an_import_archives_the_sections_articles_and_counts_the_rest(tmp_path, capsys):
    source = mixed_warc(tmp_path / "crawl.warc.gz")
    root = tmp_path / "archive"
    assert main(["import", str(source), "--store", str(root), "--json"]) == 0
    summary = summary_of(capsys)
    [report] = summary["sources"]
    politics = [u for u, _ in legacy_pages() if "/politik/" in u]
    assert report["records"] == 1 + 1 + len(legacy_pages()) + 3 + 2  # warcinfo included
    assert report["refused_url"] == 1 and report["not_200"] == 1 and report["not_html"] == 1
    assert report["revisit"] == 1 and report["not_response"] == 2  # warcinfo + request
    assert report["other_section"] == len(legacy_pages()) - len(politics)
    # Every politics page: an article archived, or an author page said to be no article.
    assert report["page_new"] + report.get("page_skipped", 0) == len(politics) + 1
    assert summary["new"] == report["page_new"] and summary["failed"] == 0
    docs = [json.loads(p.read_text()) for p in root.glob("articles/*/*/*/*.json")]
    assert len(docs) == report["page_new"]
    assert {d["extraction"]["profile"] for d in docs} == {"ntv-2025", "ntv-legacy"}
    for doc in docs:
        assert_valid(doc)
        assert doc["fetched_at"] == "2016-09-14T08:15:00.000+00:00"  # the record's WARC-Date
        assert doc["capture"]["raw_key"].endswith("20160914T081500000Z.warc.gz")
    # The capture is the original record: its WARC-Record-ID is the crawler's, and reprocess
    # reads it like any capture.
    ids = {r.rec_headers.get_header("WARC-Record-ID")
           for r in ArchiveIterator(io.BytesIO(source.read_bytes()))}  # fmt: skip
    current = next(d for d in docs if d["id"] == "ntv-30134161")
    raw = (root / current["capture"]["raw_key"]).read_bytes()
    [kept] = list(ArchiveIterator(io.BytesIO(raw)))
    assert kept.rec_headers.get_header("WARC-Record-ID") in ids
    assert read_capture(raw, "x").body == corpus_page("NTV_2025_12_12")


def test_importing_again_writes_nothing(tmp_path, capsys):
    source = mixed_warc(tmp_path / "crawl.warc.gz")
    root = tmp_path / "archive"
    main(["import", str(source), "--store", str(root), "--json"])
    first = summary_of(capsys)
    before = stored(root)
    assert main(["import", str(source), "--store", str(root), "--json"]) == 0
    again = summary_of(capsys)
    assert again["new"] == 0 and again["unchanged"] == first["new"]
    assert stored(root) == before


def test_a_truncated_file_keeps_what_came_before_and_says_so(tmp_path, capsys):
    whole = mixed_warc(tmp_path / "crawl.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    other = mixed_warc(tmp_path / "other.warc")  # the next file is still imported
    root = tmp_path / "archive"
    code = main(["import", str(cut), str(other), "--store", str(root), "--json",
                 "--all-sections"])  # fmt: skip
    said = capsys.readouterr()
    summary = json.loads(said.out)
    assert code == 1
    first, second = summary["sources"]
    assert "the file ends inside the record" in first["error"] and first["page_new"] > 0
    assert "error" not in second and second["page_new"] > 0
    assert said.err.count("ntv-archive: error:") == 1 and "Traceback" not in said.err


@pytest.mark.parametrize("gzipped", [True, False])
def test_a_malformed_record_is_skipped_and_the_file_read_on(tmp_path, capsys, gzipped):
    warc = Warc(gzipped=gzipped)
    html = page("ntv2025_article.html")
    first = "https://www.n-tv.de/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"
    warc.response(first, html)
    warc.response("", b"<html>no target</html>")  # warcio cannot parse a response without one
    warc.response(first.replace("40000001", "40000002"), html.replace(b"40000001", b"40000002"))
    source = warc.save(tmp_path / ("bad.warc.gz" if gzipped else "bad.warc"))
    # exit 1: a damaged file (docs/ingest.md, "Damaged files"), every good record still imported
    assert main(["import", str(source), "--store", str(tmp_path / "a"), "--json"]) == 1
    [report] = json.loads(capsys.readouterr().out)["sources"]
    assert (report["page_new"], report["malformed"]) == (2, 1) and "error" not in report
    ids = sorted(p.stem for p in (tmp_path / "a").glob("articles/*/*/*/*.json"))
    assert ids == ["ntv-40000001", "ntv-40000002"]


def test_hostile_records_are_judged_like_live_fetches(tmp_path, capsys):
    warc = Warc(gzipped=False)
    html = page("ntv2025_article.html")
    for url in ("https://user@www.n-tv.de/politik/a-id40000001.html",  # credentials
                "http://169.254.169.254/politik/a-id40000001.html",  # an address
                "https://www.n-tv.de.evil.example/politik/a-id40000001.html",
                "javascript:alert(1)", "https://www.n-tv.de:99999/politik/a-id4.html"):  # fmt: skip
        warc.response(url, html)
    warc.response("https://www.n-tv.de/politik/gross-id40000002.html", html + b" " * 600_000)
    chunked = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n"
                       for c in (gzip.compress(html)[:500], gzip.compress(html)[500:]))  # fmt: skip
    warc.response("https://www.n-tv.de/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html",
                  chunked + b"0\r\n\r\n",
                  headers=[("Content-Encoding", "gzip"),
                           ("Transfer-Encoding", "chunked")])  # fmt: skip
    source = warc.save(tmp_path / "hostile.warc")
    root = tmp_path / "archive"
    assert main(["import", str(source), "--store", str(root), "--json",
                 "--max-bytes", "500000"]) == 0  # fmt: skip
    [report] = summary_of(capsys)["sources"]
    assert (report["refused_url"], report["too_large"], report["page_new"]) == (4, 1, 1)
    assert report["not_response"] == 2  # warcinfo, and javascript: (warcio reads no HTTP)
    [doc] = [json.loads(p.read_text()) for p in root.glob("articles/*/*/*/*.json")]
    assert doc["title"] == "Stadtrat beschließt Fahrradplan"  # chunked + gzip decoded


def test_an_older_capture_never_replaces_a_newer_version(tmp_path, capsys):
    html = page("ntv2025_article.html")
    url = "https://www.n-tv.de/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"
    newer, older = Warc(), Warc()
    newer.response(url, html.replace(b"im Herbst", b"im Winter"), date="2025-03-15T10:00:00Z")
    older.response(url, html, date="2025-03-14T10:00:00Z")
    root = tmp_path / "archive"
    main(["import", str(newer.save(tmp_path / "n.warc.gz")), "--store", str(root), "--json"])
    capsys.readouterr()
    assert main(["import", str(older.save(tmp_path / "o.warc.gz")), "--store", str(root),
                 "--json"]) == 0  # fmt: skip
    summary = summary_of(capsys)
    assert (summary["skipped"], summary["new"], summary["updated"]) == (1, 0, 0)
    [doc] = [json.loads(p.read_text()) for p in root.glob("articles/*/*/*/*.json")]
    assert "im Winter" in doc["text"]


@pytest.fixture
def s3_source(aws_env, tmp_path) -> Iterator[str]:
    with mock_aws():
        s3 = boto3.client("s3")
        where = {"LocationConstraint": "eu-central-1"}
        s3.create_bucket(Bucket="crawls", CreateBucketConfiguration=where)
        s3.put_object(Bucket="crawls", Key="cc-news/2016.warc.gz",
                      Body=mixed_warc(tmp_path / "c.warc.gz").read_bytes())  # fmt: skip
        yield "s3://crawls/cc-news/2016.warc.gz"


def test_an_import_streams_from_s3(s3_source, tmp_path, capsys):
    root = tmp_path / "archive"
    assert main(["import", s3_source, "--store", str(root), "--json"]) == 0
    [report] = summary_of(capsys)["sources"]
    assert report["source"] == s3_source and report["page_new"] >= 30
    code = main(["import", "s3://crawls/missing.warc.gz", "--store", str(root), "--json"])
    assert code == 1 and "NoSuchKey" in summary_of(capsys)["sources"][0]["error"]


def test_the_import_event_as_shipped(tmp_path, capsys, monkeypatch):
    event = json.loads((Path(__file__).resolve().parents[1] / "events/import.json").read_text())
    monkeypatch.chdir(tmp_path)
    target = tmp_path / event["keys"][0]
    target.parent.mkdir(parents=True)
    mixed_warc(target)
    for name in [k for k in os.environ if k.startswith(("FEED", "MODE", "QUEUE"))]:
        monkeypatch.delenv(name)
    events = Path(__file__).resolve().parents[1] / "events/import.json"
    assert main(["invoke", str(events), "--store", str(tmp_path / "archive")]) == 0
    said = capsys.readouterr()
    response = json.loads(said.out)
    assert response["action"] == "Import" and response["new"] >= 30
    assert response["sources"][0]["source"] == event["keys"][0]
    [emf] = [json.loads(line) for line in said.err.splitlines() if '"_aws"' in line]
    assert (emf["action"], emf["ImportRecords"], emf["ArticlesNew"]) == (
        "import", [float(response["sources"][0]["records"])], [float(response["new"])],
    )  # fmt: skip


def test_an_import_event_is_checked_before_anything_is_read():
    from handler.core.errors import EventError
    from handler.run.events import parse_event

    cases = (
        ({"keys": []}, "'keys' must list"),
        ({"keys": ["../state/run-state.json"]}, r"keys\[0\]"),
        ({"keys": ["a.warc"], "section": "../x"}, "'section'"),
        ({"keys": ["a"], "bucket": "x"}, "unknown field"),
    )
    for bad, said in cases:
        with pytest.raises(EventError, match=said):
            parse_event({"action": "import", **bad})


def test_a_malformed_record_in_an_s3_object_is_read_past_with_a_ranged_get(aws_env, tmp_path,
                                                                          capsys):  # fmt: skip
    warc = Warc()
    html = page("ntv2025_article.html")
    url = "https://www.n-tv.de/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"
    warc.response(url, html)
    warc.response("", b"<html>no target</html>")
    warc.response(url.replace("40000001", "40000002"), html.replace(b"40000001", b"40000002"))
    with mock_aws():
        s3 = boto3.client("s3")
        where = {"LocationConstraint": "eu-central-1"}
        s3.create_bucket(Bucket="crawls", CreateBucketConfiguration=where)
        s3.put_object(Bucket="crawls", Key="bad.warc.gz", Body=warc.buffer.getvalue())
        code = main(["import", "s3://crawls/bad.warc.gz", "--store", str(tmp_path), "--json"])
    [report] = json.loads(capsys.readouterr().out)["sources"]
    assert code == 1 and (report["page_new"], report["malformed"]) == (2, 1)


EDITED_URL = "https://www.n-tv.de/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"


def edited_article_archive(folder: Path) -> Path:
    """An archive (``folder/archive``) of one article in two versions, made from two captures
    an hour apart ("Herbst" became "Winter"), through the import command: no HTTP."""
    from handler.cli import main

    root = folder / "archive"
    for n, (date, html) in enumerate([
        ("2025-03-14T09:00:00Z", page("ntv2025_article.html")),
        ("2025-03-14T10:00:00Z", page("ntv2025_article.html").replace(b"Herbst", b"Winter")),
    ]):  # fmt: skip
        warc = Warc()
        warc.response(EDITED_URL, html, date=date)
        (folder / f"{n}.warc.gz").write_bytes(warc.buffer.getvalue())
        assert main(["import", str(folder / f"{n}.warc.gz"), "--store", str(root),
                     "--quiet"]) == 0  # fmt: skip
    return root
