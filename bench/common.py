"""Shared pieces of the benchmarks: a delayed local site, a request-counting store, pages."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS_PAGE = ROOT.parent / "shared" / "corpus" / "ntv" / "NTV_2025_12_12.html.gz"
FIXTURE_PAGE = ROOT / "tests" / "fixtures" / "pages" / "ntv2025_article.html"
REAL_ID = b"30134161"
FIXTURE_ID = b"40000001"


def page_template() -> tuple[bytes, bytes, str]:
    """(page, the id it carries, what it is): the real ntv.de page when ../shared is there."""
    if CORPUS_PAGE.exists():
        return gzip.decompress(CORPUS_PAGE.read_bytes()), REAL_ID, "real ntv.de page (730 KB)"
    return FIXTURE_PAGE.read_bytes(), FIXTURE_ID, "fixture page (no ../shared corpus)"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


Respond = Callable[[str, Mapping[str, str]], Answer]


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 whose every GET is answered by ``respond(path,
    request headers)``: the benchmarks' sites say what to answer, this says it."""

    def __init__(self, respond: Respond) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                answer = respond(self.path, self.headers)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def stop(self) -> None:
        self.http.shutdown()


class DelayedSite:
    """A feed of ``items`` new articles, every response ``delay`` seconds late; ETag + 304."""

    def __init__(self, items: int, delay: float) -> None:
        template, carried_id, self.page_kind = page_template()
        self.pages = {
            f"/politik/artikel-id{90000000 + n}.html": template.replace(
                carried_id, str(90000000 + n).encode()
            )
            for n in range(items)
        }
        self.delay = delay
        self.hits: Counter[str] = Counter()
        self.server = LocalServer(self._respond)

    def _respond(self, path: str, headers: Mapping[str, str]) -> Answer:
        time.sleep(self.delay)
        self.hits["feed" if path == "/rss" else "article"] += 1
        tag = {"ETag": '"v1"'}
        if path != "/rss":
            return Answer(200, self.pages[path], "text/html; charset=utf-8", tag)
        if headers.get("If-None-Match") == '"v1"':
            return Answer(304, b"", "application/rss+xml", tag)
        return Answer(200, self.feed(), "application/rss+xml", tag)

    @property
    def feed_url(self) -> str:
        return f"{self.server.base}/rss"

    def feed(self) -> bytes:
        items = "".join(
            f"<item><title>Dachzeile: Artikel</title><link>{self.server.base}{path}</link></item>"
            for path in self.pages
        )
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>b</title>{items}'
            "</channel></rss>"
        ).encode()

    def stop(self) -> None:
        self.server.stop()


class CountingStore:
    """Wraps a store and counts its requests (one call = one request, as on S3)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self.inner, name)
        if name in {"get", "read", "put", "put_if", "delete"}:

            def counted(*args: object, **kwargs: object) -> object:
                self.calls[name] += 1
                return attribute(*args, **kwargs)

            return counted
        if name == "list":

            def listed(*args: object, **kwargs: object) -> Iterator[str]:
                self.calls["list"] += 1
                yield from attribute(*args, **kwargs)

            return listed
        return attribute

    @property
    def requests(self) -> int:
        return sum(self.calls.values())


def spread_of(samples: list[float]) -> dict[str, float]:
    """Median, lowest and highest of several runs: one run on a shared machine is an anecdote."""
    ordered = sorted(samples)
    middle = ordered[len(ordered) // 2] if len(ordered) % 2 else (
        ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2  # fmt: skip
    return {"median": round(middle, 3), "min": round(ordered[0], 3),
            "max": round(ordered[-1], 3), "runs": len(ordered)}  # fmt: skip
