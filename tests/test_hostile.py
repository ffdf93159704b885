"""Hostile input (issue 12): each numbered finding of the attack campaign, on real sockets.

1. URLs two parsers read differently never reach a host that was not checked.
4. One malformed link costs its item, never the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from urllib3.util import parse_url

from conftest import Site, examples, page
from handler.cli import main
from handler.core.config import FetchSettings
from handler.core.errors import EventError, HostNotAllowedError, UrlError
from handler.core.urls import parse_web_url
from handler.ingest.fetch import HostAllowlist, HttpClient, _guarded_pools
from handler.run.events import parse_event

ARTICLE = "/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"


# 1. One parser for checking and connecting -------------------------------------------------


def differential_urls(attacker: str) -> list[str]:
    return [
        f"http://{attacker}\\@www.n-tv.de{ARTICLE}",
        f"http://{attacker}\\.n-tv.de{ARTICLE}",
        f"http://{attacker}\\\\www.n-tv.de{ARTICLE}",
        f"http://www.n-tv.de@{attacker}{ARTICLE}",
        f"http://www.n-tv.de%2F@{attacker}{ARTICLE}",
        f"http://www.n-tv.de\t@{attacker}{ARTICLE}",
        f"http:\\\\{attacker}{ARTICLE}",
    ]


def test_urls_read_differently_never_reach_the_other_host(httpserver: HTTPServer):
    """The attacker is a real server on 127.0.0.1, named so that the after-connect peer check
    lets it through (as it would any public host): only the URL check can stop it."""
    httpserver.expect_request(ARTICLE).respond_with_data("<p>not ntv</p>", content_type="text/html")
    attacker = f"127.0.0.1:{httpserver.port}"
    client = HttpClient(FetchSettings(retries=0))
    client.allowlist = HostAllowlist(("n-tv.de",))  # ntv.de names only ...
    client._pool.pool_classes_by_scheme = _guarded_pools(frozenset({"127.0.0.1"}))  # ... public
    for url in differential_urls(attacker):
        with pytest.raises(HostNotAllowedError):
            client.get(url)
    assert httpserver.log == []  # not one request reached it


def test_a_redirect_location_read_differently_is_refused_at_the_hop(httpserver: HTTPServer):
    httpserver.expect_request("/r").respond_with_data(
        "", status=302, headers={"Location": "http://evil.example\\@127.0.0.1/x"}
    )
    client = HttpClient(FetchSettings(extra_hosts=frozenset({"127.0.0.1"}), retries=0))
    with pytest.raises(HostNotAllowedError, match="refused URL"):
        client.get(httpserver.url_for("/r"))
    assert [r.path for r, _ in httpserver.log] == ["/r"]


def test_replay_events_with_ambiguous_urls_are_refused():
    for url in differential_urls("attacker.example"):
        with pytest.raises(EventError, match=r"urls\[0\]"):
            parse_event({"action": "replay", "urls": [url]})


def test_the_checked_url_is_the_fetched_url():
    allowlist = HostAllowlist(("n-tv.de",))
    assert allowlist.check("HTTP://WWW.N-TV.DE:80/x?a=1#frag") == "http://www.n-tv.de/x?a=1"
    assert allowlist.check("https://www.n-tv.de./x") == "https://www.n-tv.de/x"


_URL_CHARS = st.sampled_from([*"abn-tv.de:/@\\%?#[]1 \t\n", "www.n-tv.de", "evil.example"])


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_URL_CHARS, max_size=12).map("".join), st.sampled_from(["http://", "https://"]))
def test_whatever_is_accepted_both_parsers_read_alike(tail, scheme):
    raw = scheme + tail
    try:
        checked = parse_web_url(raw)
    except UrlError:
        return
    fetched = str(checked)
    for url in (raw, fetched):
        assert (parse_url(url).host or "").lower().strip("[]").rstrip(".") == checked.host
        assert (urlsplit(url).hostname or "").rstrip(".") == checked.host
    assert parse_web_url(fetched) == checked  # stable: what is fetched reads the same again


# 4. One malformed link costs its item ------------------------------------------------------


def test_a_malformed_link_in_the_feed_costs_that_item_only(site: Site, tmp_path, capsys):
    site.add(ARTICLE, page("ntv2025_article.html"))
    site.serve()
    broken = "http://[::1/x"
    feed = site.feed_xml().replace(
        b"</channel>",
        f"<item><title>K: T</title><link>{broken}</link></item>"
        f"<item><title>K: U</title><link>http://a\\@www.n-tv.de/y-id1.html</link></item>"
        "</channel>".encode(),
    )
    site.server.clear_all_handlers()
    site.server.expect_request(site.feed_path).respond_with_data(
        feed, content_type="application/rss+xml"
    )
    site.server.expect_request(ARTICLE).respond_with_data(
        page("ntv2025_article.html"), content_type="text/html; charset=utf-8"
    )
    code = main([*site.run_args(str(tmp_path / "a")), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (summary["new"], summary["failed"], summary["items"]) == (1, 0, 1)


@pytest.mark.parametrize(
    "bad", ["http://[::1/x", "http://a\\@www.n-tv.de/rss", "ftp://www.n-tv.de/rss", "http://"]
)
def test_a_malformed_feed_url_option_is_one_line_and_exit_2(bad, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["run", "--feed-url", bad, "--store", str(tmp_path / "a")])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("ntv-archive run: error: argument --feed-url:")
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    "event",
    [
        {"action": "poll", "feed_url": "http://[::1/x"},
        {"action": "replay", "urls": ["http://[::1/x"]},
    ],
)
def test_malformed_urls_in_events_are_refused_with_a_reason(event):
    with pytest.raises(EventError, match="not a valid URL"):
        parse_event(event)


@pytest.mark.parametrize("bad", ["http://www.n-tv.de/", "www.n-tv.de:8080", "a b", "a\\b"])
def test_allow_host_takes_a_bare_host_name_only(bad, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["run", "--allow-host", bad])
    assert exited.value.code == 2
    assert "is not a bare host name" in capsys.readouterr().err


# 2. XML refusal on the whole document, in its real encoding ---------------------------------

LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)
FEED_BODY = (
    '<rss version="2.0"><channel><title>t</title><item><title>K: &c;</title>'
    f"<link>http://www.n-tv.de{ARTICLE}</link></item></channel></rss>"
)


def _feed(prefix: str, encoding: str = "utf-8", declaration: bool = True) -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding}"?>' if declaration else ""
    return (head + prefix + LAUGHS + FEED_BODY).encode(encoding)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("after 5000 spaces", _feed(" " * 5000)),
        ("after a comment", _feed("<!-- " + "x" * 5000 + " -->")),
        ("UTF-16 with BOM", _feed("", "utf-16")),
        ("UTF-16-LE without BOM", _feed("", "utf-16-le")),
        ("UTF-16-BE without BOM", _feed("", "utf-16-be")),
        ("UTF-32 with BOM", _feed("", "utf-32")),
        ("UTF-32-BE without BOM, no declaration", _feed("", "utf-32-be", declaration=False)),
    ],
)
def test_entity_declarations_are_refused_wherever_and_however_encoded(name, data):
    from handler.core.errors import FeedError
    from handler.ingest.feed import parse_feed

    with pytest.raises(FeedError, match="refused DTD/entity declarations"):
        parse_feed(data, "http://www.n-tv.de/politik/rss")


def test_an_encoding_that_could_hide_the_declaration_is_refused():
    from handler.core.errors import FeedError
    from handler.ingest.feed import parse_feed

    data = ('<?xml version="1.0" encoding="utf-7"?>' + FEED_BODY.replace("&c;", "x")).encode()
    with pytest.raises(FeedError, match="refused encoding 'utf-7'"):
        parse_feed(data, "http://www.n-tv.de/politik/rss")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "iso-8859-1"])
def test_a_clean_feed_in_any_supported_encoding_still_parses(encoding):
    from handler.ingest.feed import parse_feed

    body = FEED_BODY.replace("&c;", "Schlagzeile")
    data = (f'<?xml version="1.0" encoding="{encoding}"?>' + body).encode(encoding)
    [item] = parse_feed(data, "http://www.n-tv.de/politik/rss")
    assert item.headline == "Schlagzeile"


def test_a_huge_entity_feed_is_refused_without_expanding(site: Site, tmp_path, capsys):
    """4.7 MB of nested entities (an 800 MB document once expanded) through the real client."""
    import resource

    bomb = (
        '<?xml version="1.0" encoding="utf-16"?>' + " " * 2_000_000 + LAUGHS + FEED_BODY
    ).encode("utf-16")
    site.server.expect_request(site.feed_path).respond_with_data(
        bomb, content_type="application/rss+xml"
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = main([*site.run_args(str(tmp_path / "a")), "--max-bytes", str(8 * 1024 * 1024)])
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert code == 2
    assert "refused DTD/entity declarations" in capsys.readouterr().err
    assert grown_mb < 200


# 5. A deadline on every fetch ----------------------------------------------------------------


def test_a_dripping_body_is_cut_at_the_fetch_deadline(faults):
    import time

    from faultserver import Fault

    from handler.core.errors import FetchError

    faults.script("/drip", Fault.drip(0.05, b"<p>" + b"x" * 2000 + b"</p>"))  # ~100 s in all
    client = HttpClient(FetchSettings(extra_hosts=frozenset({"127.0.0.1"}), retries=0,
                                      read_timeout=5.0, total_timeout=1.0))  # fmt: skip
    started = time.monotonic()
    with pytest.raises(FetchError, match="fetch deadline passed"):
        client.get(faults.url("/drip"))
    assert time.monotonic() - started < 30  # bounded by the deadline, not by the body


def test_an_invocation_returns_before_its_timeout_with_a_fetch_in_flight(faults, tmp_path,
                                                                         monkeypatch):  # fmt: skip
    import time

    from faultserver import Fault

    from handler.app import lambda_handler
    from handler.cli.tools import LocalContext

    link = faults.url("/politik/Tropfen-id40000077.html")
    feed = ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
            f"<title>K: T</title><link>{link}</link></item></channel></rss>").encode()  # fmt: skip
    faults.script("/rss", Fault.ok(feed, "application/rss+xml"))
    faults.script("/politik/Tropfen-id40000077.html", Fault.drip(0.05, b"x" * 100_000))
    for name, value in {"ARCHIVE_STORE": str(tmp_path / "a"), "FEED_URL": faults.url("/rss"),
                        "ALLOWED_HOSTS": "127.0.0.1", "MIN_REMAINING_SECONDS": "1",
                        "FINISH_RESERVE_SECONDS": "8"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    response = lambda_handler({"source": "aws.events"}, LocalContext(11))
    assert time.monotonic() - started < 11  # the article's fetch ended while time was left
    assert response["failed"] == 1
    assert "deadline" in response["failures"][0]["reason"]
    assert (tmp_path / "a" / "state" / "run-state.json").exists()  # the state was written


# 7. Work messages are data, not authority ----------------------------------------------------


def work_record(body: object, receive_count: object = "1", message_id: str = "m1") -> dict:
    attributes = {"ApproximateReceiveCount": receive_count, "MessageGroupId": "g"}
    text = body if isinstance(body, str) else json.dumps(body)
    return {"messageId": message_id, "eventSource": "aws:sqs", "body": text,
            "attributes": attributes}  # fmt: skip


def work_body(link: str, **feed: object) -> dict:
    from handler.core.models import article_id

    item = {"id": article_id(link), "link": link, "title": "K: T", "kicker": "K",
            "headline": "T", "teaser": None, "category": None, "published": None}  # fmt: skip
    return {"feed": {"name": "politik", "url": "https://www.n-tv.de/politik/rss",
                     "profile": "ntv", "schedule": "default", **feed}, "item": item}  # fmt: skip


@pytest.fixture
def worker_env(tmp_path, monkeypatch, aws_env):
    from moto import mock_aws

    with mock_aws():
        import boto3

        dlq = boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
        monkeypatch.setenv("ARCHIVE_STORE", str(tmp_path / "archive"))
        monkeypatch.setenv("DEAD_LETTER_URL", dlq)
        monkeypatch.setenv("MAX_RECEIVES", "2")
        monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
        yield boto3.client("sqs"), dlq


def dead_reasons(sqs, dlq: str) -> list[str]:
    got = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10,
                              MessageAttributeNames=["All"]).get("Messages", [])  # fmt: skip
    return [m["MessageAttributes"]["reason"]["StringValue"] for m in got]


def test_a_message_cannot_widen_the_allowlist(worker_env, httpserver: HTTPServer):
    from handler.app import worker_handler
    from handler.cli.tools import LocalContext

    sqs, dlq = worker_env
    httpserver.expect_request("/politik/x-id40000055.html").respond_with_data("<p>inside</p>")
    link = httpserver.url_for("/politik/x-id40000055.html")
    body = work_body(link, allow_hosts=["127.0.0.1"])  # a message naming the metadata service
    response = worker_handler({"Records": [work_record(body, "2")]}, LocalContext(60))
    assert httpserver.log == []  # never connected
    assert response == {"batchItemFailures": []}  # last receive: dead-lettered with the reason
    [reason] = dead_reasons(sqs, dlq)
    assert "not allowed" in reason


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (work_body("https://www.n-tv.de/politik/a-id1.html", url="file:///etc/passwd"), "feed.url"),
        (work_body("https://www.n-tv.de/politik/a-id1.html", profile="evil"), "feed.profile"),
        ({**work_body("https://www.n-tv.de/politik/a-id1.html"), "run_id": ["x"]}, "run_id"),
        ({"feed": {}, "item": {"id": "../../etc", "link": "https://www.n-tv.de/x"}}, "feed"),
        (work_body("http://a\\@www.n-tv.de/politik/a-id1.html"), "item link"),
        ("[" * 100_000, "not a feed item"),
    ],
)
def test_malformed_work_messages_go_to_the_dlq_with_a_reason(worker_env, body, why):
    from handler.app import worker_handler
    from handler.cli.tools import LocalContext

    sqs, dlq = worker_env
    if isinstance(body, dict) and body.get("item", {}).get("id") == "../../etc":
        body["feed"] = work_body("https://www.n-tv.de/politik/a-id1.html")["feed"]
    response = worker_handler({"Records": [work_record(body)]}, LocalContext(60))
    assert response == {"batchItemFailures": []}
    [reason] = dead_reasons(sqs, dlq)
    assert why in reason


def test_a_message_whose_id_is_not_its_links_is_refused(worker_env):
    from handler.app import worker_handler
    from handler.cli.tools import LocalContext

    sqs, dlq = worker_env
    body = work_body("https://www.n-tv.de/politik/a-id1.html")
    body["item"]["id"] = "ntv-2"  # would overwrite another article's document
    worker_handler({"Records": [work_record(body)]}, LocalContext(60))
    [reason] = dead_reasons(sqs, dlq)
    assert "is not the one its link gives" in reason


def test_a_non_numeric_receive_count_costs_that_message_only(worker_env):
    from handler.app import worker_handler
    from handler.cli.tools import LocalContext

    sqs, dlq = worker_env
    records = [work_record(work_body("https://www.n-tv.de/politik/a-id1.html",
                                     url="file:///x"), receive_count="many")]  # fmt: skip
    assert worker_handler({"Records": records}, LocalContext(60)) == {"batchItemFailures": []}
    assert len(dead_reasons(sqs, dlq)) == 1


# 6. Ambiguous S3 writes: applied, but answered 500 (then 412 on the SDK's retry) ------------


@pytest.fixture
def proxied_bucket(moto_server: str, monkeypatch, aws_env):
    import boto3

    bucket = f"ambiguous-{os.urandom(4).hex()}"
    boto3.client("s3", endpoint_url=moto_server).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    return moto_server, bucket


def _proxied_run(site: Site, upstream: str, bucket: str, only: str, monkeypatch) -> dict:
    from test_campaign import AmbiguousProxy

    proxy = AmbiguousProxy(upstream, share=0.0, only=only)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    try:
        from conftest import local_settings
        from handler.run.context import RunContext
        from handler.run.poll import poll

        summary = poll(RunContext(local_settings(f"s3://{bucket}/", site.feed_url)))
    finally:
        proxy.close()
    assert proxy.ambiguous == 1
    monkeypatch.setenv("AWS_ENDPOINT_URL", upstream)
    return summary.to_dict()


def _bucket_text(upstream: str, bucket: str, prefix: str) -> list[str]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=upstream)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return [s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode() for k in keys]


def test_an_ambiguous_document_write_is_new_with_its_line_and_pointer(site: Site, proxied_bucket,
                                                                     monkeypatch):  # fmt: skip
    upstream, bucket = proxied_bucket
    site.add(ARTICLE, page("ntv2025_article.html"))
    site.serve()
    summary = _proxied_run(site, upstream, bucket, "/articles/", monkeypatch)
    assert (summary["new"], summary["unchanged"]) == (1, 0)
    [manifest] = [t for t in _bucket_text(upstream, bucket, "index/2") if t]
    assert len(manifest.splitlines()) == 1
    assert _bucket_text(upstream, bucket, "index/ids/")
    assert _bucket_text(upstream, bucket, "index/pending/") == []


def test_an_ambiguous_manifest_append_adds_each_line_once(site: Site, proxied_bucket,
                                                          monkeypatch):  # fmt: skip
    upstream, bucket = proxied_bucket
    site.add(ARTICLE, page("ntv2025_article.html"))
    site.serve()
    _proxied_run(site, upstream, bucket, ".jsonl", monkeypatch)
    [manifest] = _bucket_text(upstream, bucket, "index/2")
    assert len(manifest.splitlines()) == 1


def test_an_ambiguous_state_write_counts_one_failure_once(site: Site, proxied_bucket,
                                                          monkeypatch):  # fmt: skip
    upstream, bucket = proxied_bucket
    site.add("/politik/Weg-id40000099.html", None)  # 404: one failure to record
    site.serve()
    _proxied_run(site, upstream, bucket, "run-state.json", monkeypatch)
    [state] = _bucket_text(upstream, bucket, "state/run-state.json")
    [pending] = json.loads(state)["pending"].values()
    assert pending["attempts"] == 1


# 10. Harmless oddities are handled, not "internal errors" ------------------------------------

PAGE_BYTES = page("ntv2025_article.html")
ODD_PAGES = {
    "nested JSON-LD": PAGE_BYTES.replace(
        b"</head>",
        b'<script type="application/ld+json">' + b'{"a":' * 5000 + b"1" + b"}" * 5000
        + b"</script></head>",
    ),
    "wrong-typed JSON-LD": PAGE_BYTES.replace(
        b'"headline":"Streit', b'"headline":["Streit"],"x":"'
    ),
    "year 1": PAGE_BYTES.replace(b"2025-03-14T09:30:05+01:00", b"0001-01-01T00:00:00+01:00"),
    "year 9999": PAGE_BYTES.replace(b"2025-03-14T09:30:05+01:00", b"9999-12-31T23:59:59-01:00"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ODD_PAGES))
def test_odd_but_harmless_pages_are_archived(name, site: Site, tmp_path, capsys):
    site.add(ARTICLE, ODD_PAGES[name])
    site.serve()
    assert main([*site.run_args(str(tmp_path / "a")), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["new"], summary["failed"]) == (1, 0)


@pytest.mark.parametrize("charset", ["hex", "rot13", "zlib", "base64"])
def test_a_bytes_codec_named_as_charset_is_ignored(charset, httpserver: HTTPServer, tmp_path):
    from handler.archive.extraction import extract_article

    doc = extract_article(PAGE_BYTES, httpserver.url_for(ARTICLE), charset=charset)
    assert doc["title"] == "Stadtrat beschließt Fahrradplan"


def test_a_utf16_page_with_a_bom_is_decoded_as_utf16():
    from handler.archive.extraction import extract_article

    html = PAGE_BYTES.decode("utf-8").encode("utf-16")
    doc = extract_article(html, "https://www.n-tv.de" + ARTICLE)
    assert doc["title"] == "Stadtrat beschließt Fahrradplan"


def test_a_body_in_an_encoding_that_cannot_be_decoded_is_refused(httpserver: HTTPServer):
    from handler.core.errors import FetchError

    httpserver.expect_request("/br").respond_with_data(
        b"\x8b\x05\x80<p>x</p>\x03", content_type="text/html", headers={"Content-Encoding": "br"}
    )
    client = HttpClient(FetchSettings(extra_hosts=frozenset({"127.0.0.1"}), retries=0))
    with pytest.raises(FetchError, match="content encoding 'br' cannot be decoded"):
        client.get(httpserver.url_for("/br"))


# 8. Memory within the size cap ----------------------------------------------------------------


def test_a_page_of_a_million_paragraphs_is_refused_before_parsing(site: Site, tmp_path, capsys):
    import resource

    flood = PAGE_BYTES.replace(b"</body>", b"<p>x</p>" * 600_000 + b"</body>")
    assert len(flood) < 5_000_000  # within the default size cap
    site.add(ARTICLE, flood)
    site.serve()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = main([*site.run_args(str(tmp_path / "a")), "--json"])
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert "page too large to parse" in summary["failures"][0]["reason"]
    assert grown_mb < 150  # the bytes are read (5 MB), never parsed into a tree
    assert not list((tmp_path / "a").glob("articles/**/*.json"))


def test_an_article_whose_text_is_absurdly_long_is_refused():
    from handler.archive.extraction import extract_article
    from handler.core.errors import ExtractionError

    html = PAGE_BYTES.replace(b"Der Bau soll im Herbst beginnen.", b"Wort " * 100_000)
    with pytest.raises(ExtractionError, match="article text too long"):
        extract_article(html, "https://www.n-tv.de" + ARTICLE)


# 11. One line with its documented exit code, never a traceback -------------------------------


def ntv(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "import sys; from handler.cli import main; sys.exit(main())"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, check=False, **kwargs)  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess, code: int = 2) -> str:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    [line] = [x for x in done.stderr.splitlines() if x.startswith("ntv-archive")]
    return line


def test_an_unwritable_store_fails_before_anything_is_fetched(site: Site, tmp_path):
    site.add(ARTICLE, PAGE_BYTES)
    site.serve()
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    line = one_line_error(ntv(*site.run_args(str(blocker / "archive"))))
    assert "cannot write here" in line
    assert site.server.log == []  # nothing fetched for nothing


def test_a_bad_retry_time_in_the_state_is_read_as_due(site: Site, tmp_path):
    site.add("/politik/Weg-id40000099.html", None)
    site.serve()
    store = tmp_path / "a"
    assert ntv(*site.run_args(str(store))).returncode == 1  # one failure, pending
    state_file = store / "state" / "run-state.json"
    state = json.loads(state_file.read_text())
    for entry in state["pending"].values():
        entry["next_retry_at"] = "soon-ish"
    state_file.write_text(json.dumps(state))
    done = ntv(*site.run_args(str(store)))
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_reading_commands_skip_a_tampered_document_and_name_it(site: Site, tmp_path):
    site.add(ARTICLE, PAGE_BYTES)
    site.add("/politik/Zweiter-id40000002.html",
             PAGE_BYTES.replace(b"id40000001", b"id40000002"))  # fmt: skip
    site.serve()
    store = tmp_path / "a"
    assert ntv(*site.run_args(str(store))).returncode == 0
    [tampered] = [p for p in store.glob("articles/*/*/*/*.json") if "40000002" in p.name]
    tampered.write_text("{ not json")
    # `list` answers from the manifest and opens no document: both are listed.
    listed = ntv("list", "--store", str(store), "--json")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    assert [row["id"] for row in json.loads(listed.stdout)] == ["ntv-40000001", "ntv-40000002"]
    exported = ntv("export", "--store", str(store), "--since", "2025-01-01", "--until",
                   "2025-12-31")  # fmt: skip
    assert exported.returncode == 1 and len(exported.stdout.splitlines()) == 1
    assert "skipped articles/" in exported.stderr and "not a readable document" in exported.stderr
    assert "not a readable document" in one_line_error(
        ntv("show", "ntv-40000002", "--store", str(store)))  # fmt: skip


def test_reprocess_of_a_garbage_capture_fails_that_article_with_one_line(site: Site, tmp_path):
    site.add(ARTICLE, PAGE_BYTES)
    site.serve()
    store = tmp_path / "a"
    assert ntv(*site.run_args(str(store))).returncode == 0
    [capture] = store.glob("raw/**/*.warc.gz")
    capture.write_bytes(b"\x1f\x8b\x08\x00 this is not a warc")
    event = tmp_path / "reprocess.json"
    event.write_text(json.dumps({"action": "reprocess", "ids": ["ntv-40000001"]}))
    done = ntv("invoke", str(event), "--store", str(store))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "WARC capture" in json.loads(done.stdout)["failures"][0]["reason"]


@pytest.mark.parametrize("delay", ["nan", "inf", "1e30", "-1", "soon"])
def test_retry_delay_must_be_a_sane_number(delay, tmp_path):
    done = ntv("run", "--retry-delay", delay, "--store", str(tmp_path / "a"))
    assert done.returncode == 2 and "--retry-delay" in done.stderr
    assert not (tmp_path / "a").exists()


def test_a_malformed_aws_endpoint_is_one_line(tmp_path):
    done = ntv("list", "--store", "s3://some-bucket/x",
               env={"AWS_ENDPOINT_URL": "not-a-url", "AWS_DEFAULT_REGION": "eu-central-1",
                    "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})  # fmt: skip
    assert "not-a-url" in one_line_error(done)


def test_a_deeply_nested_event_file_is_one_line(tmp_path):
    event = tmp_path / "event.json"
    event.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in one_line_error(ntv("invoke", str(event)))


def test_a_corrupt_gzip_given_to_extract_is_one_line(tmp_path):
    saved = tmp_path / "page.html.gz"
    saved.write_bytes(b"\x1f\x8b\x08\x00 garbage")
    done = ntv("extract", str(saved), "--url", "https://www.n-tv.de" + ARTICLE)
    assert "not a readable gzip file" in one_line_error(done)


def test_a_closed_pipe_ends_quietly(site: Site, tmp_path):
    site.add(ARTICLE, PAGE_BYTES)
    site.serve()
    store = tmp_path / "a"
    assert ntv(*site.run_args(str(store))).returncode == 0
    command = [sys.executable, "-c", "import sys; from handler.cli import main; sys.exit(main())",
               "show", "ntv-40000001", "--store", str(store)]  # fmt: skip
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.read(10)
    reader.stdout.close()  # like `| head -c 10`
    code = reader.wait(timeout=30)
    assert "Traceback" not in reader.stderr.read().decode()
    assert code in (0, 141)


def test_ctrl_c_ends_a_run_quietly_with_130(faults, tmp_path):
    import signal
    import time

    from faultserver import Fault

    faults.script("/rss", Fault.slow(30, b"<rss/>"))
    command = [sys.executable, "-c", "import sys; from handler.cli import main; sys.exit(main())",
               "run", "--feed-url", faults.url("/rss"), "--allow-host", "127.0.0.1",
               "--store", str(tmp_path / "a")]  # fmt: skip

    # As from a terminal: a shell starts background jobs with SIGINT ignored, and a child
    # inherits that (Python then keeps it ignored), so a CI runner in the background would
    # otherwise test nothing.
    def as_from_a_terminal() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=as_from_a_terminal)  # fmt: skip
    deadline = time.monotonic() + 60
    while faults.hits["/rss"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert faults.hits["/rss"] == 1, "the run never asked for its feed"
    process.send_signal(signal.SIGINT)  # while it waits for the feed's answer
    try:
        _out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate()
        pytest.fail(f"still running 30 s after Ctrl-C (feed asked {faults.hits['/rss']}x): {err}")
    assert process.returncode == 130 and "Traceback" not in err
    assert "interrupted" in err


# 12. Mistakes are refused, not accepted silently ---------------------------------------------


@pytest.mark.parametrize("store", ["s3:/bucket/x", "", "S3://bucket", "gs://bucket/x", "s3://"])
def test_a_mistyped_store_is_refused(store, tmp_path):
    done = ntv("run", "--store", store, "--feed-url", "https://www.n-tv.de/politik/rss",
               cwd=tmp_path)  # fmt: skip
    assert "store" in one_line_error(done)
    assert list(tmp_path.iterdir()) == []  # no folder named "s3:" or the like


@pytest.mark.parametrize("command", ["list", "status"])
def test_reading_a_store_that_is_not_there_is_an_error(command, tmp_path):
    assert "no archive at" in one_line_error(ntv(command, "--store", str(tmp_path / "nope")))


def test_very_verbose_shows_debug_lines(site: Site, tmp_path):
    site.add(ARTICLE, PAGE_BYTES)
    site.serve()
    verbose = ntv(*site.run_args(str(tmp_path / "a"), "-v"))
    very = ntv(*site.run_args(str(tmp_path / "b"), "-vv"))
    assert '"level":"DEBUG"' not in verbose.stderr
    assert '"level":"DEBUG"' in very.stderr and '"message":"fetched"' in very.stderr


def test_change_events_not_sent_show_in_the_human_summary(site: Site, tmp_path, monkeypatch,
                                                          capsys):  # fmt: skip
    from moto import mock_aws

    site.add(ARTICLE, PAGE_BYTES)
    site.serve()
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with mock_aws():  # the bus "missing" does not exist
        code = main([*site.run_args(str(tmp_path / "a")), "--event-bus", "missing"])
    assert code == 0
    assert "1 change event not sent" in capsys.readouterr().out


# 9. Canonical-URL hijack -----------------------------------------------------------------------


def test_another_sites_page_cannot_replace_an_ntv_article(site: Site, tmp_path, capsys):
    """127.0.0.1 stands in for ntv.de (--allow-host); "localhost" is another site's feed host
    (its feeds-file allow_hosts) serving a page that claims the ntv article's canonical URL."""
    site.add(ARTICLE, PAGE_BYTES)
    site.serve()
    fake = PAGE_BYTES.replace(b"Der Bau soll im Herbst beginnen.", b"Gefaelschter Absatz.")
    site.server.expect_request("/other/fake.html").respond_with_data(
        fake, content_type="text/html; charset=utf-8"
    )
    other_link = site.url("/other/fake.html").replace("127.0.0.1", "localhost")
    site.server.expect_request("/other/rss").respond_with_data(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>K: T'
        f"</title><link>{other_link}</link></item></channel></rss>",
        content_type="application/rss+xml",
    )
    feeds = tmp_path / "feeds.json"
    feeds.write_text(json.dumps({"feeds": [
        {"name": "politik", "url": site.feed_url},
        {"name": "other", "url": site.url("/other/rss").replace("127.0.0.1", "localhost"),
         "profile": "generic", "allow_hosts": ["localhost"]},
    ]}))  # fmt: skip
    store = tmp_path / "a"
    code = main(["run", "--feeds", str(feeds), "--allow-host", "127.0.0.1", "--store", str(store),
                 "--json"])  # fmt: skip
    assert code == 0, capsys.readouterr()
    current = json.loads(next(store.glob("articles/*/*/*/ntv-40000001.json")).read_text())
    assert "Gefaelschter" not in current["text"]
    assert not list(store.glob("versions/ntv-40000001/*"))  # never superseded by the fake
    [other] = [p for p in store.glob("articles/*/*/*/url-*.json")]
    assert json.loads(other.read_text())["url"].startswith("http://localhost:")


def test_a_state_write_failing_after_documents_were_stored_is_a_partial_run(site: Site, tmp_path):
    """ENOSPC (or any store error) on the final state write: the documents and their manifest
    lines stand, and the run says it partly failed (exit 1), not that nothing happened."""
    from conftest import local_settings
    from handler.core.errors import StoreError
    from handler.run.context import RunContext
    from handler.run.poll import poll
    from handler.store import LocalStore

    class FullDisk(LocalStore):
        def put_if(self, key, data, content_type, expected):
            if key == "state/run-state.json":
                raise StoreError(f"{self.root}: cannot write {key}: No space left on device")
            return super().put_if(key, data, content_type, expected)

    site.add(ARTICLE, PAGE_BYTES)
    site.etag = '"v1"'  # so the run has validators to save in the state
    site.serve()
    store = FullDisk(tmp_path / "a")
    summary = poll(RunContext(local_settings(str(tmp_path / "a"), site.feed_url), store=store))
    assert summary.counts["new"] == 1
    assert summary.errors and "No space left on device" in summary.errors[0]
    [manifest] = (tmp_path / "a").glob("index/*/*/*.jsonl")
    assert len(manifest.read_text().splitlines()) == 1
    assert not list((tmp_path / "a").glob("index/pending/*"))
