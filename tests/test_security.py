"""SSRF and decoding defences: nothing outside the allowlist is ever asked for."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer

from conftest import Site, page
from handler.archive.extraction import extract_article
from handler.cli import main
from handler.core.config import FetchSettings
from handler.core.errors import HostNotAllowedError
from handler.extract.page import decode_html
from handler.ingest.fetch import HttpClient

TARGETS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://[::1]/",
    "http://localhost/",
    "file:///etc/passwd",
    "gopher://www.n-tv.de/",
]


@pytest.mark.parametrize("url", TARGETS)
def test_internal_targets_are_refused_before_any_connection(url):
    with pytest.raises(HostNotAllowedError):
        HttpClient(FetchSettings(retries=0)).get(url)


def test_a_name_resolving_to_a_private_address_is_refused_after_connect(httpserver: HTTPServer):
    # "localhost" passes the name allowlist here (as a DNS-rebound ntv.de name would), but the
    # connected peer is 127.0.0.1 and the name was not allowed explicitly: no request is sent.
    httpserver.expect_request("/x").respond_with_data("secret")
    client = HttpClient(FetchSettings(allowed_domains=("localhost",), retries=0))
    url = httpserver.url_for("/x").replace("127.0.0.1", "localhost")
    with pytest.raises(HostNotAllowedError, match=r"resolves to non-public address 127\.0\.0\.1"):
        client.get(url)
    assert httpserver.log == []


def test_redirect_to_metadata_service_is_refused_at_the_hop(httpserver: HTTPServer):
    httpserver.expect_request("/r").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    client = HttpClient(FetchSettings(extra_hosts=frozenset({"127.0.0.1"}), retries=0))
    with pytest.raises(
        HostNotAllowedError, match=r"IP address '169\.254\.169\.254' is not allowed"
    ):
        client.get(httpserver.url_for("/r"))
    assert len(httpserver.log) == 1


def test_replay_of_internal_urls_fails_each_with_a_reason(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARCHIVE_STORE", str(tmp_path / "a"))
    event = tmp_path / "replay.json"
    event.write_text(json.dumps({"action": "replay", "urls": TARGETS[:4]}))
    assert main(["invoke", str(event)]) == 1
    response = json.loads(capsys.readouterr().out)
    assert response["failed"] == 4
    assert all(
        "not allowed" in f["reason"] or "allowlist" in f["reason"] for f in response["failures"]
    )
    assert not (tmp_path / "a").exists()


def test_feed_on_a_private_address_exits_2(tmp_path, capsys):
    assert main(["run", "--feed-url", "http://10.0.0.1/rss", "--store", str(tmp_path)]) == 2
    assert "IP address '10.0.0.1' is not allowed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("data", "header", "expected"),
    [
        ("Grüße".encode("cp1252"), "windows-1252", "Grüße"),
        ('<meta charset="iso-8859-1"><p>Grüße'.encode("latin-1"), None, "Grüße"),
        ("<p>Grüße".encode(), None, "Grüße"),
        ("<p>Grüße".encode("cp1252"), None, "Grüße"),  # undeclared and not UTF-8
        (b"\xef\xbb\xbf<p>Gr\xc3\xbc\xc3\x9fe", "iso-8859-1", "Grüße"),  # the BOM wins
        ("<p>Grüße".encode(), "no-such-charset", "Grüße"),
    ],
)
def test_decoding_ranks_bom_header_meta_then_utf8(data, header, expected):
    assert expected in decode_html(data, header)


def test_latin1_page_served_with_header_charset_extracts_cleanly(site: Site, tmp_path, capsys):
    html = page("ntv2025_article.html").decode().replace('<meta charset="utf-8">', "")
    site.add("/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html", html.encode("cp1252"))
    site.serve()
    site.server.clear_all_handlers()
    site.server.expect_request(site.feed_path).respond_with_data(
        site.feed_xml(), content_type="application/rss+xml"
    )
    site.server.expect_request(site.articles[0].path).respond_with_data(
        html.encode("cp1252"), content_type="text/html; charset=windows-1252"
    )
    assert main(site.run_args(str(tmp_path))) == 0
    capsys.readouterr()
    [doc] = [json.loads(p.read_text()) for p in tmp_path.glob("articles/*/*/*/*.json")]
    assert doc["title"] == "Stadtrat beschließt Fahrradplan"
    # Decoded from windows-1252 bytes, the text equals the extraction of the page as text.
    assert doc["text"] == extract_article(html, doc["url"])["text"]
