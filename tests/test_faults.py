"""One test per network fault, on real sockets (tests/faultserver.py), then all of them at once
in a run: the good articles are archived, each failure has its reason and is owed in state."""

from __future__ import annotations

import json

import pytest
from faultserver import Fault, FaultServer

from conftest import local_settings, page
from handler.core.config import FetchSettings
from handler.core.errors import FetchError, HostNotAllowedError
from handler.ingest.fetch import HttpClient
from handler.run.context import RunContext
from handler.run.poll import poll


def client(**overrides) -> HttpClient:
    settings = dict(extra_hosts=frozenset({"127.0.0.1"}), retries=1, backoff_factor=0.0,
                    read_timeout=0.5, connect_timeout=1.0, max_retry_after=1)  # fmt: skip
    return HttpClient(FetchSettings(**(settings | overrides)))


def test_500_is_retried_then_reported(faults):
    faults.script("/a", Fault.status_(500))
    with pytest.raises(FetchError, match=r"/a: HTTP 500"):
        client().get(faults.url("/a"))
    assert faults.hits["/a"] == 2  # one try + one retry


def test_500_then_success(faults):
    faults.script("/a", Fault.status_(503), Fault.ok(b"<p>ok</p>"))
    assert client().get(faults.url("/a")).body == b"<p>ok</p>"


def test_429_with_retry_after_then_success(faults):
    faults.script("/a", Fault.status_(429, {"Retry-After": "1"}), Fault.ok(b"<p>ok</p>"))
    assert client().get(faults.url("/a")).body == b"<p>ok</p>"
    assert faults.hits["/a"] == 2


def test_slow_response_past_the_read_timeout(faults):
    faults.script("/a", Fault.slow(1.5))
    with pytest.raises(FetchError, match=r"/a: timed out"):
        client(retries=0).get(faults.url("/a"))


def test_connection_reset(faults):
    faults.script("/a", Fault.reset())
    with pytest.raises(FetchError, match=r"/a: connection (broken|failed)"):
        client().get(faults.url("/a"))
    assert faults.hits["/a"] == 2


def test_truncated_body(faults):
    faults.script("/a", Fault.truncated(b"<html><p>half"))
    with pytest.raises(FetchError, match=r"/a: body could not be read"):
        client().get(faults.url("/a"))


def test_wrong_content_type(faults):
    faults.script("/a", Fault.ok(b"%PDF-1.7", "application/pdf"))
    with pytest.raises(FetchError, match=r"content type 'application/pdf' is not one of text/html"):
        client().get(faults.url("/a"), accept=("text/html",))


def test_oversized_body(faults):
    faults.script("/a", Fault.ok(b"x" * 300_000))
    with pytest.raises(FetchError, match=r"larger than 100000 bytes"):
        client(max_bytes=100_000).get(faults.url("/a"))


def test_redirect_loop(faults):
    faults.script("/a", Fault.redirect("/a"))
    with pytest.raises(FetchError, match=r"more than 5 redirects"):
        client().get(faults.url("/a"))
    assert faults.hits["/a"] == 6


def test_off_site_redirect(faults):
    faults.script("/a", Fault.redirect("https://evil.example/steal"))
    with pytest.raises(HostNotAllowedError, match=r"'evil\.example' is not on the fetch allowlist"):
        client().get(faults.url("/a"))


def test_non_utf8_page_without_charset_is_decoded(faults, tmp_path):
    html = page("ntv2025_article.html").decode().replace('<meta charset="utf-8">', "")
    faults.script("/rss", _feed(faults, ["/politik/x-id40000001.html"]))
    faults.script("/politik/x-id40000001.html", Fault.ok(html.encode("cp1252"), "text/html"))
    summary = poll(RunContext(local_settings(str(tmp_path), faults.url("/rss"))))
    assert summary.counts["new"] == 1
    [doc] = [json.loads(p.read_text()) for p in tmp_path.glob("articles/*/*/*/*.json")]
    assert doc["title"] == "Stadtrat beschließt Fahrradplan"


def test_every_fault_at_once_loses_nothing(faults, tmp_path):
    scripts = {
        "/p/ok-id40000001.html": Fault.ok(page("ntv2025_article.html")),
        "/p/ok-id30000002.html": Fault.ok(page("ntv_legacy_article.html")),
        "/p/e500-id1.html": Fault.status_(500),
        "/p/reset-id2.html": Fault.reset(),
        "/p/cut-id3.html": Fault.truncated(b"<html>"),
        "/p/slow-id4.html": Fault.slow(1.5),
        "/p/pdf-id5.html": Fault.ok(b"%PDF", "application/pdf"),
        "/p/away-id6.html": Fault.redirect("http://169.254.169.254/"),
    }
    for path, fault in scripts.items():
        faults.script(path, fault)
    faults.script("/rss", _feed(faults, list(scripts)))
    settings = local_settings(str(tmp_path), faults.url("/rss"))
    summary = poll(RunContext(settings))
    assert (summary.counts["new"], summary.counts["failed"], summary.pending) == (2, 6, 6)
    reasons = {f.id: f.reason or "" for f in summary.failures}
    assert "HTTP 500" in reasons["ntv-1"]
    assert "connection" in reasons["ntv-2"]
    assert "body could not be read" in reasons["ntv-3"]
    assert "timed out" in reasons["ntv-4"]
    assert "content type" in reasons["ntv-5"]
    assert "169.254.169.254" in reasons["ntv-6"]
    state = json.loads((tmp_path / "state/run-state.json").read_text())
    assert sorted(state["pending"]) == [f"ntv-{i}" for i in range(1, 7)]
    assert not list(tmp_path.glob("articles/**/ntv-[1-6].json"))


def _feed(faults: FaultServer, paths: list[str]) -> Fault:
    items = "".join(f"<item><title>K: T</title><link>{faults.url(p)}</link></item>" for p in paths)
    xml = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    )
    return Fault.ok(xml.encode(), "application/rss+xml")
