"""The fault campaign (issue 12): bounded, seeded, hard faults against real runs.

``ntv-archive run`` runs as its own process against a local site that keeps changing, and is
killed with SIGKILL at random moments, on the local store and on moto's S3 server; S3 PUTs are
answered with 500 after they were applied (an ambiguous answer) through a fault proxy; two runs
go at once. After the reruns the catalog invariant (docs/consumers.md) must hold:

- every article has exactly one current document;
- every stored version (current or superseded) has exactly one manifest line and the article's
  id pointer names its current document;
- no marker is left pending, nothing is stored twice.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from handler.store import BlobStore, LocalStore, S3Store

# Long fault campaigns on this project's own logic: the lowest-versions run leaves them out.
pytestmark = pytest.mark.slow

ARTICLES = 10
SEED = 20261127


class ChangingSite:
    """A feed of ARTICLES items whose pages change from round to round."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.round = 0
        self.rng = random.Random(SEED)
        self.texts = {n: "Erste Fassung." for n in range(ARTICLES)}
        server.clear_all_handlers()
        server.expect_request("/politik/rss").respond_with_handler(self._feed)
        for n in range(ARTICLES):
            server.expect_request(f"/politik/artikel-id{4100 + n}.html").respond_with_handler(
                lambda request, n=n: self._page(n)
            )

    @property
    def feed_url(self) -> str:
        return self.server.url_for("/politik/rss")

    def next_round(self) -> None:
        """Edit a few articles, as a newsroom does between polls."""
        self.round += 1
        for n in self.rng.sample(range(ARTICLES), 3):
            self.texts[n] = f"Fassung {self.round} des Artikels {n}, überarbeitet."

    def _feed(self, _request: Request) -> Response:
        items = "".join(
            f"<item><title>Kicker: Artikel {n}</title>"
            f"<link>{self.server.url_for(f'/politik/artikel-id{4100 + n}.html')}</link></item>"
            for n in range(ARTICLES)
        )
        xml = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
        xml += "</channel></rss>"
        return Response(xml, content_type="application/rss+xml")

    def _page(self, n: int) -> Response:
        html = (
            '<html lang="de"><head><meta charset="utf-8">'
            f'<link rel="canonical" href="https://www.n-tv.de/politik/artikel-id{4100 + n}.html">'
            '<script type="application/ld+json">{"@type":"NewsArticle",'
            '"datePublished":"2025-06-01T10:00:00+02:00"}</script></head><body>'
            '<article class="article-index_article__x"><div class="wrapper-article">'
            '<h2 class="article-detail-head_headlines__x">'
            f'<span class="article-detail-head_headline__x">Artikel {n}</span></h2>'
            f'<p class="storyline_paragraph_p__x">{self.texts[n]}</p></div></article></body></html>'
        )
        return Response(html, content_type="text/html; charset=utf-8")


# Edits do not show in the feed: the revisit schedule finds them. A step a second for ten minutes
# revisits every article on every run, so kills land among schedule writes too.
REVISIT_EVERY_SECOND = ",".join(f"{n}s" for n in range(1, 601))


def run_command(site: ChangingSite, store: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-c", "import sys; from handler.cli import main; sys.exit(main())",
        "run", "--feed-url", site.feed_url, "--allow-host", "127.0.0.1", "--store", store,
        "--concurrency", "4", "--retry-delay", "0", "--revisit-after", REVISIT_EVERY_SECOND,
        "--json", *extra,
    ]  # fmt: skip


def killed_runs(site: ChangingSite, store: str, env: dict[str, str], rounds: int) -> int:
    """Start a run per round and SIGKILL it at a random moment within the time a whole run
    takes (measured first, on this machine); returns how many runs were cut short."""
    rng = random.Random(SEED + rounds)
    started = time.monotonic()
    subprocess.run(run_command(site, store), env=env, capture_output=True, check=True)
    whole = time.monotonic() - started
    cut = 0
    for _ in range(rounds):
        site.next_round()
        process = subprocess.Popen(
            run_command(site, store), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.3 * whole, 1.1 * whole))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            cut += 1
        process.wait(timeout=30)
    return cut


def finishing_run(site: ChangingSite, store: str, env: dict[str, str]) -> dict:
    """A run nobody kills, settling whatever the dead ones left at once."""
    done = subprocess.run(
        run_command(site, store, "--recover-after", "0"),
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return dict(json.loads(done.stdout))


def assert_catalog_invariant(store: BlobStore) -> dict[str, int]:
    current: dict[str, str] = {}
    stored: Counter[tuple[str, str]] = Counter()
    for key in store.list("articles/"):
        doc = json.loads(store.get(key) or b"{}")
        assert doc["id"] not in current, f"{doc['id']} has two current documents"
        current[doc["id"]] = key
        stored[(doc["id"], doc.get("reprocessed_at") or doc["fetched_at"])] += 1
    for key in store.list("versions/"):
        doc = json.loads(store.get(key) or b"{}")
        stored[(doc["id"], doc.get("reprocessed_at") or doc["fetched_at"])] += 1
    lines: Counter[tuple[str, str]] = Counter()
    for key in store.list("index/"):
        if key.startswith(("index/ids/", "index/pending/", "index/revisit/", "index/runs/")):
            continue
        for raw in (store.get(key) or b"").splitlines():
            line = json.loads(raw)
            lines[(line["id"], line["version"])] += 1
    twice = [k for k, n in stored.items() if n > 1]
    where = {k: [key for key in [*store.list("articles/"), *store.list(f"versions/{k[0]}/")]
                 if k[0] in key] for k in twice}  # fmt: skip
    assert twice == [], f"a version stored twice: {where}"
    assert [k for k, n in lines.items() if n > 1] == [], "a version with two manifest lines"
    assert set(lines) == set(stored), (
        f"versions without a line: {sorted(set(stored) - set(lines))[:5]}; "
        f"lines without a version: {sorted(set(lines) - set(stored))[:5]}"
    )
    for article_id, key in current.items():
        pointer = json.loads(store.get(f"index/ids/{article_id}.json") or b"{}")
        assert pointer.get("key") == key, f"{article_id}: pointer {pointer} is not {key}"
    assert list(store.list("index/pending/")) == [], "markers left pending"
    assert len(current) == ARTICLES
    # The schedule: every article has its one next revisit, whatever the kills left.
    scheduled = Counter(key.rsplit("-", 2)[-2] + "-" + key.rsplit("-", 1)[-1].removesuffix(".json")
                        for key in store.list("index/revisit/"))  # fmt: skip
    assert scheduled == Counter(dict.fromkeys(current, 1)), scheduled
    return {"articles": len(current), "versions": len(stored)}


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, "POWERTOOLS_LOG_LEVEL": "ERROR"}


def test_kill_9_at_random_points_on_the_local_store(httpserver: HTTPServer, tmp_path):
    site = ChangingSite(httpserver)
    store = str(tmp_path / "archive")
    cut = killed_runs(site, store, base_env(), rounds=10)
    finishing_run(site, store, base_env())
    counts = assert_catalog_invariant(LocalStore(Path(store)))
    assert cut >= 3, "the campaign must actually kill runs mid-way"
    assert counts["versions"] > ARTICLES  # edits became versions


@pytest.fixture
def s3_env(moto_server: str) -> Iterator[tuple[dict[str, str], str]]:
    bucket = f"campaign-{random.Random().getrandbits(32):08x}"
    creds = {"AWS_ACCESS_KEY_ID": "campaign", "AWS_SECRET_ACCESS_KEY": "campaign",
             "AWS_DEFAULT_REGION": "eu-central-1", "AWS_REGION": "eu-central-1"}  # fmt: skip
    boto3.client("s3", endpoint_url=moto_server, **_lower(creds)).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    yield {**base_env(), **creds, "AWS_ENDPOINT_URL": moto_server}, bucket


def _lower(creds: dict[str, str]) -> dict[str, str]:
    return {"aws_access_key_id": creds["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": creds["AWS_SECRET_ACCESS_KEY"],
            "region_name": creds["AWS_DEFAULT_REGION"]}  # fmt: skip


def s3_store(env: dict[str, str], bucket: str) -> S3Store:
    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], **_lower(env))
    return S3Store(bucket, "", client=client)


def test_kill_9_at_random_points_on_moto_s3(httpserver: HTTPServer, s3_env):
    env, bucket = s3_env
    site = ChangingSite(httpserver)
    cut = killed_runs(site, f"s3://{bucket}/", env, rounds=8)
    finishing_run(site, f"s3://{bucket}/", env)
    assert_catalog_invariant(s3_store(env, bucket))
    assert cut >= 2


class AmbiguousProxy:
    """Forwards every request to moto; answers a seeded share of PUTs with 500 *after* moto
    applied them, as S3 may when a response is lost."""

    def __init__(self, upstream: str, share: float, only: str | None = None) -> None:
        """``only``: answer just the first PUT whose path holds this text, once."""
        self.upstream = upstream.removeprefix("http://")
        self.rng = random.Random(SEED)
        self.share = share
        self.only = only
        self.ambiguous = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                connection = http.client.HTTPConnection(proxy.upstream, timeout=30)
                connection.request(self.command, self.path, body=body, headers=dict(self.headers))
                answer = connection.getresponse()
                data = answer.read()
                if self.command == "PUT" and proxy.chosen(self.path):
                    proxy.ambiguous += 1
                    error = b"<Error><Code>InternalError</Code><Message>lost</Message></Error>"
                    self.send_response(500)
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def chosen(self, path: str) -> bool:
        if self.only is not None:
            return self.only in path and self.ambiguous == 0
        return self.rng.random() < self.share

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_ambiguous_s3_puts_store_and_list_each_version_once(httpserver: HTTPServer, s3_env):
    env, bucket = s3_env
    site = ChangingSite(httpserver)
    proxy = AmbiguousProxy(env["AWS_ENDPOINT_URL"], share=0.2)
    try:
        through_proxy = {**env, "AWS_ENDPOINT_URL": proxy.url}
        # Two rounds: the first stores every article new, the second writes changed versions
        # over current ones; each answers some 20 PUTs ambiguously.
        for _ in range(2):
            site.next_round()
            finishing_run(site, f"s3://{bucket}/", through_proxy)
    finally:
        proxy.close()
    finishing_run(site, f"s3://{bucket}/", env)  # without the proxy: settle the rest
    assert proxy.ambiguous >= 10
    assert_catalog_invariant(s3_store(env, bucket))


def test_concurrent_runs_with_kills_keep_the_invariant(httpserver: HTTPServer, tmp_path):
    site = ChangingSite(httpserver)
    store = str(tmp_path / "archive")
    rng = random.Random(SEED)
    for _ in range(4):
        site.next_round()
        runs = [subprocess.Popen(run_command(site, store), env=base_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for _ in range(2)]  # fmt: skip
        time.sleep(rng.uniform(0.3, 1.2))
        runs[0].send_signal(signal.SIGKILL)  # one dies, the other finishes
        for run in runs:
            run.wait(timeout=60)
    finishing_run(site, store, base_env())
    assert_catalog_invariant(LocalStore(Path(store)))
