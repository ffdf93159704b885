"""Shared test fixtures: fixture pages, a local site served over real HTTP, moto S3."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from handler.core.config import FetchSettings, RunSettings

# CI draws the same examples on every run (a red build is then reproducible, never a roll of the
# dice); developers' runs keep drawing new ones, which is how new counterexamples are found.
# "deep" is the larger example budget for a hunt (docs/development.md):
#   HYPOTHESIS_PROFILE=deep python3 tasks.py test -k "given or hypothesis" tests/test_borders.py
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev")
settings.register_profile("deep", max_examples=2000, deadline=None)
# tasks.py test-lowest: the floors of the dependencies, not a hunt: a quarter of the examples.
settings.register_profile("lowest", derandomize=True, deadline=None, max_examples=25)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


def examples(budget: int) -> int:
    """A slow fuzz test's own example budget, scaled with the profile's: an explicit
    ``max_examples`` would otherwise keep a deep run as shallow as a CI one."""
    return max(1, budget * settings.default.max_examples // 100)


FIXTURES = Path(__file__).parent / "fixtures"
PAGES = FIXTURES / "pages"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "ntv"


def assert_valid(doc: dict) -> None:
    """The document validates against the published schema (handler/schema)."""
    import jsonschema

    from handler.schema import article_schema

    jsonschema.Draft202012Validator(article_schema()).validate(doc)


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def corpus_dir() -> Path:
    """The shared real-ntv.de corpus, or skip with a message when this checkout has none."""
    if not CORPUS.is_dir():
        pytest.skip(f"real ntv.de corpus not found at {CORPUS} (needs ../shared beside the repo)")
    return CORPUS


def corpus_page(stem: str) -> bytes:
    return gzip.decompress((corpus_dir() / f"{stem}.html.gz").read_bytes())


@dataclass
class Article:
    path: str
    html: bytes | None  # None: listed in the feed but answered with 404
    title: str = "Kicker: Schlagzeile"
    pub_date: str = "Fri, 14 Mar 2025 09:30:05 +0100"
    listed: bool = True  # False: still served, but no longer in the feed
    # When set, the page carries them and answers 304 to a request naming them.
    etag: str | None = None
    last_modified: str | None = None

    def respond(self, request: Request) -> Response:
        validators = {k: v for k, v in (("ETag", self.etag),
                                        ("Last-Modified", self.last_modified)) if v}  # fmt: skip
        etag_matches = self.etag and request.headers.get("If-None-Match") == self.etag
        date_matches = (self.last_modified and not self.etag and
                        request.headers.get("If-Modified-Since") == self.last_modified)  # fmt: skip
        if etag_matches or date_matches:
            return Response(status=304, headers=validators)
        assert self.html is not None
        return Response(
            gzip.compress(self.html),
            headers={"Content-Encoding": "gzip", **validators},
            content_type="text/html; charset=utf-8",
        )


@dataclass
class Site:
    """A feed plus article pages served gzip-compressed by a real local HTTP server."""

    server: HTTPServer
    articles: list[Article] = field(default_factory=list)
    feed_path: str = "/politik/rss"
    etag: str | None = None  # when set, the feed carries it and answers 304 to If-None-Match

    @property
    def feed_url(self) -> str:
        return self.server.url_for(self.feed_path)

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def add(self, path: str, html: bytes | None, title: str = "Kicker: Schlagzeile") -> Article:
        article = Article(path, html, title)
        self.articles.append(article)
        return article

    def feed_xml(self) -> bytes:
        items = "".join(
            f"<item><title>{a.title}</title><link>{self.url(a.path)}</link>"
            f"<guid>{self.url(a.path)}</guid><category>Politik</category>"
            f"<description>Teaser zu {a.title}</description>"
            f"<pubDate>{a.pub_date}</pubDate></item>"
            for a in self.articles
            if a.listed
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>n-tv.de - Politik</title><link>{self.url('/')}</link>{items}</channel></rss>"
        ).encode()

    def serve(self) -> None:
        """(Re)register every route; call again after changing articles."""
        self.server.clear_all_handlers()  # keeps the request log
        self.server.expect_request(self.feed_path).respond_with_handler(self._feed_response)
        for article in self.articles:
            if article.html is None:
                self.server.expect_request(article.path).respond_with_data("gone", status=404)
                continue
            self.server.expect_request(article.path).respond_with_handler(article.respond)

    def _feed_response(self, request: Request) -> Response:
        if self.etag and request.headers.get("If-None-Match") == self.etag:
            return Response(status=304, headers={"ETag": self.etag})
        headers = {"Content-Encoding": "gzip", **({"ETag": self.etag} if self.etag else {})}
        return Response(
            gzip.compress(self.feed_xml()),
            headers=headers,
            content_type="application/rss+xml; charset=UTF-8",
        )

    def run_args(self, dest: str, *extra: str) -> list[str]:
        """``ntv-archive run`` arguments polling this site into ``dest``."""
        return ["run", "--feed-url", self.feed_url, "--allow-host", "127.0.0.1",
                "--store", dest, *extra]  # fmt: skip

    def requests_to(self, path: str) -> int:
        return sum(1 for request, _ in self.server.log if request.path == path)


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    # URLs name 127.0.0.1 (the host tests add to the allowlist), not "localhost".
    return ("127.0.0.1", 0)


@pytest.fixture
def site(httpserver: HTTPServer) -> Site:
    return Site(httpserver)


def local_settings(store: str, feed_url: str, **overrides: object) -> RunSettings:
    """Settings for a run against 127.0.0.1 with short timeouts and no retry waits."""
    fetch = FetchSettings(
        extra_hosts=frozenset({"127.0.0.1"}),
        connect_timeout=2.0,
        read_timeout=1.0,
        retries=0,
        backoff_factor=0.0,
    )
    return RunSettings(feed_url=feed_url, store=store, fetch=fetch, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; never the developer's real AWS account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto in server mode: a real HTTP endpoint on loopback, reached through boto3's HTTP path."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def _no_real_aws_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only tests that ask for the moto server set AWS_ENDPOINT_URL, explicitly.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


@pytest.fixture
def faults() -> Iterator[Any]:
    """A raw-socket server answering each path with scripted faults (tests/faultserver.py)."""
    from faultserver import FaultServer

    server = FaultServer()
    yield server
    server.stop()
