import gzip

import pytest
from pytest_httpserver import HTTPServer

from handler.core.capture import USER_AGENT
from handler.core.config import FetchSettings
from handler.core.errors import FetchError, HostNotAllowedError
from handler.ingest.fetch import HostAllowlist, HttpClient


def client(**overrides) -> HttpClient:
    settings = dict(extra_hosts=frozenset({"127.0.0.1"}), retries=0, read_timeout=5.0)
    settings.update(overrides)
    return HttpClient(FetchSettings(**settings))


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("www.n-tv.de", True),
        ("n-tv.de", True),
        ("apps-cloud.n-tv.de", True),
        ("www.ntv.de", True),
        ("evil-n-tv.de", False),
        ("n-tv.de.evil.com", False),
        ("127.0.0.1", False),
        ("localhost", False),
    ],
)
def test_default_allowlist_is_the_ntv_family(host, allowed):
    assert HostAllowlist(("n-tv.de", "ntv.de")).allows(host) is allowed


def test_gzip_body_is_decoded_and_user_agent_names_the_project(httpserver: HTTPServer):
    html = "<html><body><p>Grüße</p></body></html>".encode()
    httpserver.expect_request("/a.html", headers={"User-Agent": USER_AGENT}).respond_with_data(
        gzip.compress(html), headers={"Content-Encoding": "gzip"}, content_type="text/html"
    )
    response = client().get(httpserver.url_for("/a.html"), accept=("text/html",))
    assert response.body == html
    assert response.header("content-encoding") == "gzip"
    assert "ntv-archive/" in USER_AGENT and "+http" in USER_AGENT


def test_redirect_is_followed_to_an_allowed_host(httpserver: HTTPServer):
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/new"}
    )
    httpserver.expect_request("/new").respond_with_data("<p>ok</p>", content_type="text/html")
    response = client().get(httpserver.url_for("/old"))
    assert response.final_url == httpserver.url_for("/new")
    assert response.url == httpserver.url_for("/old")


def test_host_outside_allowlist_is_refused_before_any_request(httpserver: HTTPServer):
    httpserver.expect_request("/x").respond_with_data("x")
    url = httpserver.url_for("/x").replace("127.0.0.1", "localhost")
    with pytest.raises(HostNotAllowedError, match="'localhost' is not on the fetch allowlist"):
        client().get(url)
    assert httpserver.log == []


def test_redirect_to_a_disallowed_host_is_refused_at_that_hop(httpserver: HTTPServer):
    target = httpserver.url_for("/secret").replace("127.0.0.1", "localhost")
    httpserver.expect_request("/hop").respond_with_data(
        "", status=302, headers={"Location": target}
    )
    httpserver.expect_request("/secret").respond_with_data("secret")
    with pytest.raises(HostNotAllowedError, match="localhost"):
        client().get(httpserver.url_for("/hop"))
    assert [r.path for r, _ in httpserver.log] == ["/hop"]


def test_redirect_loop_is_bounded(httpserver: HTTPServer):
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": "/loop"}
    )
    with pytest.raises(FetchError, match="more than 3 redirects"):
        client(max_redirects=3).get(httpserver.url_for("/loop"))
    assert len(httpserver.log) == 4


def test_size_cap_counts_decoded_bytes(httpserver: HTTPServer):
    bomb = gzip.compress(b"a" * 2_000_000)  # ~2 KB on the wire, 2 MB decoded
    httpserver.expect_request("/bomb").respond_with_data(
        bomb, headers={"Content-Encoding": "gzip"}, content_type="text/html"
    )
    with pytest.raises(FetchError, match="larger than 100000 bytes"):
        client(max_bytes=100_000).get(httpserver.url_for("/bomb"))


def test_http_error_and_wrong_type_give_one_line_reasons(httpserver: HTTPServer):
    httpserver.expect_request("/missing").respond_with_data("no", status=404)
    httpserver.expect_request("/pdf").respond_with_data("%PDF", content_type="application/pdf")
    with pytest.raises(FetchError, match=r"/missing: HTTP 404 NOT FOUND$"):
        client().get(httpserver.url_for("/missing"))
    with pytest.raises(FetchError, match="content type 'application/pdf' is not one of text/html"):
        client().get(httpserver.url_for("/pdf"), accept=("text/html",))


def test_unreachable_host_fails_with_a_reason():
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    with pytest.raises(FetchError, match=r"^http://127\.0\.0\.1:9/x: connection failed"):
        client().get("http://127.0.0.1:9/x")


def test_file_scheme_is_refused():
    with pytest.raises(HostNotAllowedError, match="scheme 'file' is not http/https"):
        client().get("file:///etc/passwd")


def test_5xx_is_retried_and_a_later_success_is_returned(httpserver: HTTPServer):
    httpserver.expect_ordered_request("/flaky").respond_with_data(
        "busy", status=429, headers={"Retry-After": "86400"}
    )
    httpserver.expect_ordered_request("/flaky").respond_with_data("down", status=503)
    httpserver.expect_ordered_request("/flaky").respond_with_data(
        "<p>ok</p>", content_type="text/html"
    )
    # Retry-After is honoured up to max_retry_after: 0 here, so a day-long one cannot block.
    response = client(retries=2, backoff_factor=0.0, max_retry_after=0).get(
        httpserver.url_for("/flaky")
    )
    assert response.body == b"<p>ok</p>"
    assert len(httpserver.log) == 3


def test_4xx_other_than_429_is_not_retried(httpserver: HTTPServer):
    httpserver.expect_request("/gone").respond_with_data("gone", status=410)
    with pytest.raises(FetchError, match="HTTP 410"):
        client(retries=3, backoff_factor=0.0).get(httpserver.url_for("/gone"))
    assert len(httpserver.log) == 1


def test_fetch_errors_carry_url_and_status_as_attributes(httpserver):
    """A caller tells a page that is gone from a failure that may pass by attributes."""
    httpserver.expect_request("/weg").respond_with_data("", status=410)
    httpserver.expect_request("/kaputt").respond_with_data("", status=503)
    with pytest.raises(FetchError) as gone:
        client().get(httpserver.url_for("/weg"))
    assert (gone.value.status, gone.value.gone, gone.value.url) == (
        410, True, httpserver.url_for("/weg"))  # fmt: skip
    with pytest.raises(FetchError) as broken:
        client().get(httpserver.url_for("/kaputt"))
    assert (broken.value.status, broken.value.gone) == (503, False)
    with pytest.raises(FetchError) as refused:
        client().get("http://203.0.113.9/x")
    assert refused.value.status is None and refused.value.context() == {
        "url": "http://203.0.113.9/x"}  # fmt: skip
