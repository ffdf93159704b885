#!/usr/bin/env python3
"""The third attack campaign's cases (issue 25), end to end: each one a real `ntv-archive`
command in its own process, against a local site and a local store that the case prepares.

    .venv/bin/python bench/campaign.py [--only 1,2b,...] [--line-mb 1024] [--articles 300]

For every measured command it prints one row: the case, the command, its exit code, its wall
time against the limit it must end within, the process's own peak RSS (``wait4``'s
``ru_maxrss``) and the verdict. A verdict is "ok" when the exit code is one docs/cli.md documents
for the case, stderr holds no traceback and no "internal error" (and one line when the exit is
2), the wall time is within the limit, peak RSS is at most 200 MB, and the case's own check
holds (the good items archived, the odd entry removed, the device still a device...).

Limits: a fetch ends within ``FetchSettings.total_timeout`` (60 s) whatever the server does, so
a run whose feed or page drips stays within about that; an invocation within the time its
context gives; commands that fetch nothing (import, history, diff, export) within 30 s on any
input here. Prints a table, then one JSON line with every row.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import socket
import socketserver
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLI = str(Path(sys.executable).parent / "ntv-archive")
PAGE = (ROOT / "tests" / "fixtures" / "pages" / "ntv2025_article.html").read_bytes()
PAGE_ID = b"40000001"
MAX_RSS_MB = 200
QUICK_S = 30.0  # commands that fetch nothing
FETCH_S = 60.0  # FetchSettings.total_timeout
NOW = datetime.now(UTC).replace(microsecond=0)


# --- a site that can misbehave -------------------------------------------------------------------


Route = Callable[[socket.socket], None]


def answer(
    body: bytes,
    content_type: str = "text/html; charset=utf-8",
    status: str = "200 OK",
    headers: dict[str, str] | None = None,
) -> Route:
    """A whole HTTP response, sent at once."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}"
        f"\r\n{extra}Connection: close\r\n\r\n"
    ).encode("latin-1")
    return lambda conn: conn.sendall(head + body)


def dripping(seconds_per_byte: float = 1.0) -> Route:
    """A status line and headers that never end, sent one byte at a time."""

    def send(conn: socket.socket) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"x" * 100_000:
            conn.sendall(bytes([byte]))
            time.sleep(seconds_per_byte)

    return send


class Site:
    """A local web server that answers each path as its route says and counts requests."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        site = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                path = request.split(b" ", 2)[1].decode("latin-1")
                site.hits[path] += 1
                route = site.routes.get(path.split("?")[0], answer(b"gone", status="404 Not Found"))
                with contextlib.suppress(OSError):  # the client gave up, as deadlines do
                    route(self.request)

        socketserver.ThreadingTCPServer.daemon_threads = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def article_path(n: int) -> str:
    return f"/politik/Artikel-{n}-id{41000000 + n}.html"


def article_id(n: int) -> str:
    return f"ntv-{41000000 + n}"


def article_page(n: int, paragraphs: list[str] | None = None, extra_head: str = "") -> bytes:
    """The current-layout fixture page as article ``n``; its body replaced when asked."""
    html = PAGE.replace(PAGE_ID, str(41000000 + n).encode())
    if paragraphs is not None:
        start = html.index(b'<p class="Typography_text-default__D4 storyline_paragraph_p__')
        end = html.index(b'<p class="Typography_text-s__F6 article-detail-footer_source')
        body = "".join(
            f'<p class="Typography_text-default__D4 storyline_paragraph_p__Vv9xx">{p}</p>'
            for p in paragraphs
        )
        html = html[:start] + body.encode() + html[end:]
    return html.replace(b"</head>", extra_head.encode() + b"</head>")


def feed(site: Site, items: list[tuple[int, datetime]]) -> bytes:
    rows = "".join(
        f"<item><title>Politik: Artikel {n}</title><link>{site.url(article_path(n))}</link>"
        f"<guid>{site.url(article_path(n))}</guid><pubDate>{format_datetime(when)}</pubDate></item>"
        for n, when in items
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        f"{rows}</channel></rss>"
    ).encode()


def news_sitemap(entries: list[tuple[str, str | None]]) -> bytes:
    rows = "".join(
        f"<url><loc>{escape(loc)}</loc>"
        + (
            f"<news:news><news:publication_date>{escape(when)}</news:publication_date></news:news>"
            if when is not None
            else ""
        )
        + "</url>"
        for loc, when in entries
    )
    return (
        b'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/'
        b'schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        + rows.encode()
        + b"</urlset>"
    )


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- one case: its folder, its site, its measured commands ----------------------------------------


@dataclass
class Row:
    case: str
    command: str
    exit: int | None
    wall_s: float
    limit_s: float
    peak_rss_mb: float
    problems: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "ok" if not self.problems else "; ".join(self.problems)


@dataclass
class Ran:
    exit: int | None
    stdout: str
    stderr: str


class Case:
    """What a case prepares and measures; ``check`` adds a problem to its last row."""

    def __init__(self, name: str, scratch: Path) -> None:
        self.name = name
        self.dir = scratch / name
        self.dir.mkdir()
        self.store = self.dir / "archive"
        self._site: Site | None = None
        self.rows: list[Row] = []

    @property
    def site(self) -> Site:
        if self._site is None:
            self._site = Site()
        return self._site

    def close(self) -> None:
        if self._site is not None:
            self._site.stop()

    def env(self, **extra: str) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ARCHIVE_"))}
        return {**keep, "NO_COLOR": "1", "AWS_DEFAULT_REGION": "eu-central-1", **extra}

    def setup(self, *args: str, exits: tuple[int, ...] = (0,), **env: str) -> Ran:
        """A command that only prepares the case: not measured, but it must do its part."""
        done = subprocess.run(
            [CLI, *args],
            capture_output=True,
            text=True,
            env=self.env(**env),
            cwd=self.dir,
            timeout=600,
            check=False,
        )
        if done.returncode not in exits:
            raise RuntimeError(
                f"{self.name}: setup `{' '.join(args)}` exit {done.returncode}: "
                f"{(done.stderr or done.stdout).strip()[-300:]}"
            )
        return Ran(done.returncode, done.stdout, done.stderr)

    def measure(self, args: list[str], limit_s: float, exits: tuple[int, ...], **env: str) -> Ran:
        """Run ``ntv-archive ARGS`` in its own process; time it, read its peak RSS, judge it."""
        row, ran = run_measured(self, [CLI, *args], limit_s, exits, self.env(**env))
        self.rows.append(row)
        return ran

    def measure_many(self, runs: list[list[str]], limit_s: float, exits: tuple[int, ...]) -> None:
        """Several commands at once (concurrent runs), each its own row."""
        with ThreadPoolExecutor(len(runs)) as pool:
            results = list(
                pool.map(lambda a: run_measured(self, [CLI, *a], limit_s, exits, self.env()), runs)
            )
        self.rows.extend(row for row, _ in results)

    def check(self, holds: bool, problem: str) -> None:
        if not holds:
            self.rows[-1].problems.append(problem)

    def run_args(self, feed_path: str, *extra: str) -> list[str]:
        """`run` over this case's site and store, the site's host standing in for ntv.de."""
        return ["run", "--feed-url", self.site.url(feed_path), "--allow-host", "127.0.0.1",
                "--store", str(self.store), *extra]  # fmt: skip

    def documents(self) -> dict[str, dict]:
        return {p.stem: json.loads(p.read_text()) for p in self.store.glob("articles/*/*/*/*.json")}


def run_measured(
    case: Case, argv: list[str], limit_s: float, exits: tuple[int, ...], env: dict[str, str]
) -> tuple[Row, Ran]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=case.dir)
        status, usage, killed = None, None, False
        while status is None:
            # wait4: the exit status and this child's own resource use (peak RSS).
            pid, raw_status, rusage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                status, usage = os.waitstatus_to_exitcode(raw_status), rusage
            elif time.monotonic() - started > 2 * limit_s + 10:
                process.kill()
                killed = True
            else:
                time.sleep(0.02)
        process.returncode = status  # reaped above: Popen must not wait again
        wall = time.monotonic() - started
        out.seek(0), err.seek(0)
        ran = Ran(status, out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    shown = " ".join(a if len(a) < 40 else a[:37] + "..." for a in argv[1:])
    shown = shown.replace(str(case.dir) + "/", "").replace(str(case.dir), ".").replace("\n", "\\n")
    row = Row(
        case.name,
        shown,
        status,
        round(wall, 2),
        limit_s,
        round((usage.ru_maxrss if usage else 0) / 1024, 1),
    )
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    if killed:
        row.problems.append("killed: did not end")
    if status not in exits:
        row.problems.append(f"exit {status}, expected {'/'.join(map(str, exits))}")
    if "Traceback" in ran.stderr or "internal error" in ran.stderr:
        row.problems.append("internal error: " + (lines[-1] if lines else "")[:120])
    if status == 2 and len(lines) != 1:
        row.problems.append(f"{len(lines)} lines on stderr, not one")
    if wall > limit_s:
        row.problems.append(f"over its limit ({wall:.1f} s)")
    if row.peak_rss_mb > MAX_RSS_MB:
        row.problems.append(f"peak RSS {row.peak_rss_mb} MB")
    return row, ran


# --- the cases, by the defect numbers -----------------------------------------------------

ODD_LOCS = ["http://[::1/a/x", "https://www.n-tv.de\uff0fpolitik/x-id41009990.html"]
ODD_DATES = ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"]


def after_a_gap(
    case: Case, sitemap_entries: Callable[[Site], list[tuple[str, str | None]]]
) -> list[str]:
    """A first poll archives article 0 (three days old); then the feed lists only articles 1
    and 2 (a day old): a gap, so the next poll reads the sitemap the case serves."""
    site = case.site
    for n in range(4):
        site.routes[article_path(n)] = answer(article_page(n))
    site.routes["/rss"] = answer(feed(site, [(0, NOW - timedelta(days=3))]), "application/rss+xml")
    args = [
        "run",
        "--feed-url",
        site.url("/rss"),
        "--store",
        str(case.store),
        "--allow-host",
        "127.0.0.1",
        "--sitemap-url",
        site.url("/news.xml"),
        "--json",
    ]
    case.setup(*args)
    site.routes["/rss"] = answer(
        feed(site, [(1, NOW - timedelta(days=1)), (2, NOW - timedelta(hours=20))]),
        "application/rss+xml",
    )
    site.routes["/news.xml"] = answer(news_sitemap(sitemap_entries(site)), "application/xml")
    return args


def case_1a(case: Case) -> None:
    """Odd news-sitemap entries after a gap cost those entries only; the state is saved."""

    def entries(site: Site) -> list[tuple[str, str | None]]:
        odd = [(loc, (NOW - timedelta(days=2)).isoformat()) for loc in ODD_LOCS]
        odd += [
            (site.url(f"/politik/Odd-{n}-id4100999{n}.html"), when)
            for n, when in enumerate(ODD_DATES)
        ]
        return [*odd, (site.url(article_path(3)), (NOW - timedelta(days=2)).isoformat())]

    args = after_a_gap(case, entries)
    state = case.store / "state" / "run-state.json"
    before = state.read_bytes()
    case.measure(args, FETCH_S, (0, 1))
    case.check(
        {article_id(n) for n in range(4)} <= set(case.documents()),
        "the feed's and the sitemap's good articles not all archived",
    )
    case.check(state.read_bytes() != before, "the run state was not saved")


def backfill_args(case: Case, day: object, *extra: str) -> list[str]:
    """`backfill` of one day over the sitemap index the case serves."""
    return ["backfill", "--since", str(day), "--until", str(day), "--sitemap-index",
            case.site.url("/index.xml"), "--allow-host", "127.0.0.1", *extra,
            "--store", str(case.store)]  # fmt: skip


def case_1b(case: Case) -> None:
    """`backfill` over a sitemap index whose child holds odd entries moves on and ends."""
    site = case.site
    day = (NOW - timedelta(days=2)).date()
    when = f"{day}T10:00:00+00:00"
    odd = [(loc, when) for loc in ODD_LOCS] + [
        (site.url("/politik/x-id41009991.html"), w) for w in ODD_DATES
    ]
    site.routes["/child.xml"] = answer(
        news_sitemap([*odd, (site.url(article_path(5)), when)]), "application/xml"
    )
    site.routes["/index.xml"] = answer(
        (
            b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<sitemap><loc>" + site.url("/child.xml").encode() + b"</loc></sitemap></sitemapindex>"
        ),
        "application/xml",
    )
    site.routes[article_path(5)] = answer(article_page(5))
    args = backfill_args(case, day, "--rate", "1000")
    case.measure(args, FETCH_S, (0, 1))
    case.check(article_id(5) in case.documents(), "the good entry was not archived")
    ran = case.measure([*args, "--json"], QUICK_S, (0,))
    case.check(
        '"done": true' in ran.stdout or '"done":true' in ran.stdout or "done" in ran.stdout,
        "a second backfill did not find the job done",
    )


def good_record(url: str, date: str = "2025-03-14T10:00:00Z") -> bytes:
    """One gzip member holding one WARC response record of the fixture page."""
    html = article_page(6)
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
    head = (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{abs(hash(date))}>\r\n"
        f"WARC-Date: {date}\r\nWARC-Target-URI: {url}\r\n"
        f"Content-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(http)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + http + b"\r\n\r\n")


def streamed_member(path: Path, parts: list[bytes | tuple[bytes, int]]) -> None:
    """Append one gzip member of ``parts`` (a (block, count) pair is the block repeated),
    compressed as it is written: the file is small whatever the member holds."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("ab") as out:
        for part in parts:
            block, count = part if isinstance(part, tuple) else (part, 1)
            for _ in range(count):
                out.write(packer.compress(block))
        out.write(packer.flush())


def case_2a(case: Case, line_mb: int) -> None:
    """A WARC header line of ``line_mb`` MB without end, in a small .warc.gz."""
    source = case.dir / "long-warc-header.warc.gz"
    streamed_member(
        source, [b"WARC/1.0\r\nWARC-Type: response\r\nX-Long: ", (b"A" * 2**20, line_mb)]
    )
    with source.open("ab") as out:
        out.write(good_record(url6()))
    case.measure(["import", str(source), "--store", str(case.store)], QUICK_S, (1,))
    case.check(article_id(6) in case.documents(), "the good record after it was not archived")


def url6() -> str:
    return f"https://www.n-tv.de{article_path(6)}"


def case_2b(case: Case, line_mb: int) -> None:
    """A line of ``line_mb`` MB in a record's HTTP header block; the good record after it."""
    source = case.dir / "long-http-header.warc.gz"
    size = len(b"HTTP/1.1 200 OK\r\nX-Long: ") + line_mb * 2**20 + len(b"\r\n\r\n<html></html>")
    head = (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:long>\r\n"
        f"WARC-Date: 2025-03-14T10:00:00Z\r\nWARC-Target-URI: https://www.n-tv.de"
        f"{article_path(7)}\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    streamed_member(
        source,
        [
            head,
            b"HTTP/1.1 200 OK\r\nX-Long: ",
            (b"A" * 2**20, line_mb),
            b"\r\n\r\n<html></html>\r\n\r\n",
        ],
    )
    with source.open("ab") as out:
        out.write(good_record(url6()))
    case.measure(["import", str(source), "--store", str(case.store)], QUICK_S, (1,))
    case.check(article_id(6) in case.documents(), "the good record after it was not archived")


def case_2c(case: Case) -> None:
    """`import /dev/zero`: refused at once."""
    case.measure(["import", "/dev/zero", "--store", str(case.store)], QUICK_S, (1, 2))


def case_3a(case: Case) -> None:
    """The feed's status line and headers at 1 byte/s: the run ends at the fetch deadline."""
    case.site.routes["/rss"] = dripping()
    case.measure(
        case.run_args("/rss"),
        FETCH_S + 10,
        (2,),
    )


def three_one_dripping(case: Case) -> None:
    """A feed of three articles whose second sends its headers at 1 byte/s."""
    site = case.site
    site.routes["/rss"] = answer(
        feed(site, [(n, NOW - timedelta(hours=n)) for n in range(3)]), "application/rss+xml"
    )
    for n in range(3):
        site.routes[article_path(n)] = answer(article_page(n))
    site.routes[article_path(1)] = dripping()


def case_3b(case: Case) -> None:
    """One page's headers at 1 byte/s: the run ends at that fetch's deadline, the rest saved."""
    three_one_dripping(case)
    case.measure(
        case.run_args("/rss"),
        FETCH_S + 10,
        (1,),
    )
    case.check(
        {article_id(0), article_id(2)} <= set(case.documents()),
        "the other articles were not archived",
    )


def case_3c(case: Case) -> None:
    """The same in a Lambda invocation of 50 s: it ends before its deadline, state written."""
    three_one_dripping(case)
    event = ROOT / "events" / "scheduled.json"
    ran = case.measure(
        ["invoke", str(event), "--store", str(case.store), "--timeout", "50"],
        50.0,
        (0, 1),
        FEED_URL=case.site.url("/rss"),
        ALLOWED_HOSTS="127.0.0.1",
    )
    case.check((case.store / "state" / "run-state.json").exists(), "no run state written")
    case.check(article_id(0) in case.documents(), "the other articles were not archived")
    case.check('"statusCode"' in ran.stdout or "status" in ran.stdout, "no response printed")


def case_4(case: Case, paragraphs: int) -> None:
    """Every one of ``paragraphs`` paragraphs rewritten: store, history and diff in bounds."""
    site = case.site
    site.routes["/rss"] = answer(feed(site, [(8, NOW - timedelta(hours=1))]), "application/rss+xml")

    def version(tag: str) -> bytes:
        return article_page(
            8, [f"{tag} Absatz {n}: " + f"{tag}wort " * 8 for n in range(paragraphs)]
        )

    site.routes[article_path(8)] = answer(version("alt"))
    args = case.run_args("/rss", "--revisit-after", "off")
    case.setup(*args)
    # The feed says the item changed (a new pubDate): the run fetches it again.
    site.routes["/rss"] = answer(
        feed(site, [(8, NOW - timedelta(minutes=5))]), "application/rss+xml"
    )
    site.routes[article_path(8)] = answer(version("neu"))
    case.measure(args, FETCH_S, (0,))
    versions = list(case.store.glob(f"versions/{article_id(8)}/*.json"))
    case.check(len(versions) == 1, f"{len(versions)} earlier versions stored, not 1")
    case.measure(["history", article_id(8), "--store", str(case.store)], QUICK_S, (0,))
    case.measure(["diff", article_id(8), "--store", str(case.store)], QUICK_S, (0,))


def warc_file(path: Path, records: list[tuple[str, str, bytes]]) -> None:
    with path.open("wb") as out:
        for url, date, html in records:
            http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
            head = (
                f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{date}>\r\n"
                f"WARC-Date: {date}\r\nWARC-Target-URI: {url}\r\n"
                "Content-Type: application/http; msgtype=response\r\n"
                f"Content-Length: {len(http)}\r\n\r\n"
            ).encode()
            out.write(gzip.compress(head + http + b"\r\n\r\n"))


def case_5(case: Case) -> None:
    """Captures dated 2099, year 1 and 9999 never replace the current version."""
    site = case.site
    site.routes["/rss"] = answer(feed(site, [(9, NOW - timedelta(hours=1))]), "application/rss+xml")
    site.routes[article_path(9)] = answer(article_page(9))
    case.setup(*case.run_args("/rss"))
    changed = article_page(9).replace(b"Stadtrat beschlie", b"Gemeinderat beschlie")
    source = case.dir / "odd-dates.warc.gz"
    url = site.url(article_path(9))
    warc_file(
        source,
        [
            (url, date, changed)
            for date in ("2099-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")
        ],
    )
    case.measure(
        ["import", str(source), "--allow-host", "127.0.0.1", "--store", str(case.store)],
        QUICK_S,
        (0, 1),
    )
    [current] = case.documents().values()
    case.check("Gemeinderat" not in current["title"], "a capture from the future became current")
    case.check(not list(case.store.glob("versions/*/*.json")), "a version was stored")


def case_6(case: Case, articles: int) -> None:
    """3, then 6 concurrent runs over articles whose pages alternate, revisiting at once."""
    site = case.site
    served: Counter[int] = Counter()
    lock = threading.Lock()
    pages = {
        n: (article_page(n), article_page(n).replace(b"Stadtrat", b"Gemeinderat"))
        for n in range(articles)
    }

    def alternating(n: int) -> Route:
        def send(conn: socket.socket) -> None:
            with lock:
                served[n] += 1
                html = pages[n][served[n] % 2]
            answer(html)(conn)

        return send

    for n in range(articles):
        site.routes[article_path(n)] = alternating(n)
    items = [(n, NOW - timedelta(minutes=n)) for n in range(articles)]
    site.routes["/rss"] = answer(feed(site, items), "application/rss+xml")
    args = case.run_args("/rss", "--revisit-after", "1s,2s,3s,4s,5s,6s", "--quiet")
    for runs in (3, 6):
        case.measure_many([args] * runs, 300.0, (0, 1))
        time.sleep(1.5)
    case.check(
        not consistency_problems(case.store), "; ".join(consistency_problems(case.store))[:300]
    )


def consistency_problems(store: Path) -> list[str]:
    """A version stored both as current and under versions/, or a manifest line whose content
    hash no stored document of that time has."""
    problems = []
    stored: dict[tuple[str, str], str] = {}
    for path in [*store.glob("articles/*/*/*/*.json"), *store.glob("versions/*/*.json")]:
        doc = json.loads(path.read_text())
        key = (doc["id"], doc["fetched_at"])
        if key in stored and doc.get("reprocessed_at") is None:
            problems.append(f"{doc['id']} {doc['fetched_at']} stored twice")
        stored[key] = doc["content_sha256"]
    for path in store.glob("manifest/**/*.jsonl"):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            found = stored.get((entry.get("id"), entry.get("fetched_at")))
            if found is not None and found != entry.get("content_sha256"):
                problems.append(f"manifest line of {entry['id']} names another content")
    return problems


def small_archive(case: Case, articles: int = 2) -> list[str]:
    site = case.site
    site.routes["/rss"] = answer(
        feed(site, [(n, NOW - timedelta(hours=n)) for n in range(articles)]), "application/rss+xml"
    )
    for n in range(articles):
        site.routes[article_path(n)] = answer(article_page(n))
    args = case.run_args("/rss")
    case.setup(*args)
    return args


def case_7(case: Case) -> None:
    """`export --output` writes through a symlink; refuses a device, a FIFO, a folder."""
    small_archive(case)
    target = case.dir / "real.jsonl"
    target.write_text("")
    link = case.dir / "link.jsonl"
    link.symlink_to(target)
    case.measure(["export", "--store", str(case.store), "-o", str(link)], QUICK_S, (0,))
    case.check(
        link.is_symlink() and target.read_text().count("\n") == 2,
        "the symlink was replaced, or its target not written",
    )
    fifo = case.dir / "fifo"
    os.mkfifo(fifo)
    case.measure(["export", "--store", str(case.store), "-o", str(fifo)], QUICK_S, (2,))
    case.check(stat.S_ISFIFO(fifo.stat().st_mode), "the FIFO was replaced")
    if os.geteuid() == 0:  # a device like /dev/full, made here: the system's own stays untouched
        device = case.dir / "full"
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        case.measure(["export", "--store", str(case.store), "-o", str(device)], QUICK_S, (2,))
        case.check(stat.S_ISCHR(device.stat().st_mode), "the device was replaced")


def case_8(case: Case) -> None:
    """Odd revisit entries are removed and polls go on; huge steps are one line."""
    args = small_archive(case, 1)
    entries = sorted(case.store.glob("index/revisit/*.json"))
    if not entries:
        raise RuntimeError("no revisit entry was scheduled")
    real = json.loads(entries[0].read_text())
    due = "2025-03-14T08:30:00+00:00"  # long due: the next poll reads them
    odd = [{"step": -8}, {"first_seen": "2025-03-14T08:00:00"},  # naive
           {"first_seen": "9999-12-31T23:59:59+00:00"}]  # fmt: skip
    for n, change in enumerate(odd):
        odd_id = f"ntv-4100888{n}"
        item = {
            **real["item"],
            "id": odd_id,
            "link": real["item"]["link"].replace("41000000", odd_id[4:]),
        }
        entry = {
            **real,
            "item": item,
            "first_seen": "2025-03-14T08:00:00+00:00",
            "due": due,
            **change,
        }
        (entries[0].parent / f"20250314T083000000Z-{odd_id}.json").write_text(json.dumps(entry))
    state = case.store / "state" / "run-state.json"  # no hint: the next poll lists the schedule
    state.write_text(json.dumps({**json.loads(state.read_text()), "next_revisit_at": None}))
    case.measure(args, FETCH_S, (0,))
    left = [p.name for p in case.store.glob("index/revisit/*.json") if "ntv-4100888" in p.name]
    case.check(not left, f"odd entries left: {left}")
    for spec in ("999999999d", "9999999999d"):
        case.measure([*args, "--revisit-after", spec], QUICK_S, (2,))


def case_9(case: Case) -> None:
    """An SQS batch of reprocess shards, two dated year 1 and 9999: only those two fail."""
    small_archive(case, 1)
    day = json.loads(next(case.store.glob("articles/*/*/*/*.json")).read_text())["fetched_at"][:10]
    records = []
    for n, when in enumerate(
        ["0001-01-01T00:00:00+00:00", "9999-12-31T00:00:00+00:00", NOW.isoformat()]
    ):
        shard = {"job": f"{day}..{day} all rules:x", "day": day, "ids": [], "reprocessed_at": when}
        records.append(
            {
                "messageId": f"m{n}",
                "receiptHandle": "r",
                "body": json.dumps({"reprocess": shard}),
                "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": f"g{n}"},
                "eventSource": "aws:sqs",
                "awsRegion": "eu-central-1",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:1:q.fifo",
            }
        )
    event = case.dir / "shards.json"
    event.write_text(json.dumps({"Records": records}))
    ran = case.measure(["invoke", str(event), "--store", str(case.store)], QUICK_S, (0, 1))
    try:
        failures = {f["itemIdentifier"] for f in json.loads(ran.stdout)["batchItemFailures"]}
    except (ValueError, KeyError, TypeError):
        failures = None
    case.check(failures == {"m0", "m1"}, f"batchItemFailures {failures}, not m0 and m1")


def case_10(case: Case) -> None:
    """3,000 undated in-section sitemap entries after a gap: a bounded number fetched."""

    def entries(site: Site) -> list[tuple[str, str | None]]:
        undated = [
            (site.url(f"/politik/Ohne-{n}-id{42000000 + n}.html"), None) for n in range(3000)
        ]
        return [*undated, (site.url(article_path(3)), (NOW - timedelta(days=2)).isoformat())]

    args = after_a_gap(case, entries)
    case.site.hits.clear()
    case.measure(args, FETCH_S * 3, (0, 1))
    asked = sum(count for path, count in case.site.hits.items() if "/Ohne-" in path)
    case.check(asked <= 50, f"{asked} undated entries fetched")
    size = (case.store / "state" / "run-state.json").stat().st_size
    case.check(size < 100_000, f"run state of {size} bytes")


def case_11_pages(case: Case) -> None:
    """Charsets undefined/idna, odd JSON-LD, a redirect to `http://[::1`: each costs itself."""
    site = case.site
    odd_ld = ['{"@graph": 5}', '{"@type": "BreadcrumbList", "itemListElement": 3}']
    site.routes["/rss"] = answer(
        feed(site, [(n, NOW - timedelta(hours=n)) for n in range(6)]), "application/rss+xml"
    )
    site.routes[article_path(0)] = answer(article_page(0), "text/html; charset=undefined")
    site.routes[article_path(1)] = answer(article_page(1), "text/html; charset=idna")
    for n, ld in enumerate(odd_ld, start=2):
        extra = f'<script type="application/ld+json">{ld}</script>'
        site.routes[article_path(n)] = answer(article_page(n, extra_head=extra))
    site.routes[article_path(4)] = answer(
        b"", status="302 Found", headers={"Location": "http://[::1"}
    )
    site.routes[article_path(5)] = answer(article_page(5))
    case.measure(
        case.run_args("/rss"),
        FETCH_S,
        (1,),
    )
    case.check(
        {article_id(n) for n in (0, 1, 2, 3, 5)} <= set(case.documents()),
        "articles besides the redirected one not archived",
    )


def two_versions(case: Case) -> None:
    site = case.site
    site.routes["/rss"] = answer(feed(site, [(0, NOW - timedelta(hours=2))]), "application/rss+xml")
    site.routes[article_path(0)] = answer(article_page(0))
    args = case.run_args("/rss", "--revisit-after", "off")
    case.setup(*args)
    site.routes["/rss"] = answer(feed(site, [(0, NOW - timedelta(hours=1))]), "application/rss+xml")
    site.routes[article_path(0)] = answer(article_page(0).replace(b"Stadtrat", b"Gemeinderat"))
    case.setup(*args)


def case_11_store(case: Case) -> None:
    """A tampered old version (history, diff); tampered reprocess and backfill cursors."""
    two_versions(case)
    [old] = case.store.glob("versions/*/*.json")
    doc = json.loads(old.read_text())
    doc.pop("fetched_at")
    doc["published_at"] = "0001-01-01T00:00:00+00:00"
    old.write_text(json.dumps(doc))
    store = ["--store", str(case.store)]
    case.measure(["history", article_id(0), *store], QUICK_S, (0, 1))
    case.measure(["diff", article_id(0), *store], QUICK_S, (0, 1, 2))
    case.setup("reprocess", "--ids", article_id(0), *store, "--quiet")
    [cursor] = case.store.glob("state/reprocess/*.json")
    saved = json.loads(cursor.read_text())
    for change in (
        {"done": -5},
        {"complete": "no"},
        {"shards": ["garbage"]},
        {"documents": 10**18},
    ):
        cursor.write_text(json.dumps({**saved, **change}))
        case.measure(["reprocess", "--ids", article_id(0), *store], QUICK_S, (2,))


def case_11_backfill(case: Case) -> None:
    """Tampered backfill cursors: `sitemap: -3`, `entry: 10**18`, `done: "no"`."""
    case_1b_site = case.site
    day = (NOW - timedelta(days=2)).date()
    case_1b_site.routes["/index.xml"] = answer(
        b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"</sitemapindex>",
        "application/xml",
    )
    args = backfill_args(case, day)
    case.setup(*args)
    [cursor] = case.store.glob("state/backfill/*.json")
    saved = json.loads(cursor.read_text())
    for change in ({"sitemap": -3}, {"entry": 10**18}, {"done": "no"}):
        cursor.write_text(json.dumps({**saved, **change}))
        case.measure(args, QUICK_S, (0, 2))
    case.measure([*args[:-2], "--rate", "1e-300", *args[-2:]], QUICK_S, (2,))


def case_11_export(case: Case) -> None:
    """Parquet with one document's title an int (skipped, named); output into a missing folder."""
    small_archive(case)
    path = next(case.store.glob("articles/*/*/*/*.json"))
    doc = json.loads(path.read_text())
    doc["title"] = 5
    path.write_text(json.dumps(doc))
    out = case.dir / "all.parquet"
    ran = case.measure(
        ["export", "--store", str(case.store), "--format", "parquet", "-o", str(out)], QUICK_S, (1,)
    )
    case.check(out.exists() and path.stem in ran.stderr, "no file, or the document not named")
    case.measure(
        ["export", "--store", str(case.store), "-o", str(case.dir / "no" / "x.jsonl")],
        QUICK_S,
        (2,),
    )


def case_11_feeds(case: Case) -> None:
    """A feeds file of 100,000 nested arrays."""
    deep = case.dir / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    case.measure(["run", "--feeds", str(deep), "--store", str(case.store)], QUICK_S, (2,))


def case_12(case: Case) -> None:
    """Silent acceptances: allow_hosts spellings, media types by prefix, nan, ids, a stub."""
    site = case.site
    for host in ("*", "evil.example\\@127.0.0.1", "127.0.0.1:80", "http://127.0.0.1/"):
        path = case.dir / f"feeds-{abs(hash(host))}.json"
        path.write_text(
            json.dumps({"feeds": [{"name": "p", "url": site.url("/rss"), "allow_hosts": [host]}]})
        )
        case.measure(["run", "--feeds", str(path), "--store", str(case.store)], QUICK_S, (2,))
    site.routes["/evil"] = answer(feed(site, [(0, NOW)]), "application/xmlevil")
    case.measure(
        case.run_args("/evil"),
        QUICK_S,
        (2,),
    )
    site.routes["/rss"] = answer(feed(site, [(0, NOW - timedelta(hours=1))]), "application/rss+xml")
    site.routes[article_path(0)] = answer(article_page(0), "text/htmlfoo")
    case.measure(
        case.run_args("/rss"),
        QUICK_S,
        (1,),
    )
    event = ROOT / "events" / "scheduled.json"
    case.measure(
        ["invoke", str(event), "--store", str(case.store)],
        QUICK_S,
        (2,),
        MIN_REMAINING_SECONDS="nan",
        FEED_URL=site.url("/rss"),
        ALLOWED_HOSTS="127.0.0.1",
    )
    case.store = case.dir / "second"  # the first holds article 0 as failed, not due again yet
    site.routes[article_path(0)] = answer(article_page(0))
    case.setup(*case.run_args("/rss"))  # fmt: skip
    case.measure(["show", article_id(0) + "\n", "--store", str(case.store)], QUICK_S, (2,))
    [current] = case.store.glob("articles/*/*/*/*.json")
    current.write_text(json.dumps({"id": article_id(0)}))
    case.measure(["show", article_id(0), "--store", str(case.store)], QUICK_S, (2,))


# --- cases the issue does not list: the same classes, other doors -------------------------------


def case_x1(case: Case) -> None:
    """Feed items dated year 1 / 9999, with links urljoin chokes on or off the allowlist."""
    site = case.site
    good = feed(site, [(0, NOW - timedelta(hours=1))]).decode()
    odd = "".join(
        f"<item><title>K: T</title><link>{escape(link)}</link><pubDate>{when}</pubDate></item>"
        for link, when in [
            ("http://[::1", "Mon, 01 Jan 0001 00:00:00 +0000"),
            ("javascript:alert(1)", "Fri, 31 Dec 9999 23:59:59 -0100"),
            (site.url("/politik/x-id41007777.html") + "\n", "gestern"),
            ("https://evil.example/politik/x-id41007778.html", ""),
        ]
    )
    site.routes["/rss"] = answer(good.replace("<item>", odd + "<item>", 1).encode(),
                                 "application/rss+xml")  # fmt: skip
    site.routes[article_path(0)] = answer(article_page(0))
    case.measure(case.run_args("/rss"), FETCH_S, (0, 1))  # fmt: skip
    case.check(article_id(0) in case.documents(), "the good item was not archived")


def case_x2(case: Case) -> None:
    """Gzip bombs: a page (costs that article) and the feed (the run cannot start)."""
    site = case.site
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # built in pieces: this process stays small
    bomb = b"".join(packer.compress(bytes(2**20)) for _ in range(200)) + packer.flush()
    site.routes["/rss"] = answer(feed(site, [(n, NOW - timedelta(hours=n)) for n in range(2)]),
                                 "application/rss+xml")  # fmt: skip
    site.routes[article_path(0)] = answer(bomb, headers={"Content-Encoding": "gzip"})
    site.routes[article_path(1)] = answer(article_page(1))
    case.measure(case.run_args("/rss"), FETCH_S, (1,))  # fmt: skip
    case.check(article_id(1) in case.documents(), "the other article was not archived")
    site.routes["/bomb"] = answer(bomb, "application/rss+xml", headers={"Content-Encoding": "gzip"})
    case.measure(case.run_args("/bomb"), FETCH_S, (2,))  # fmt: skip


def case_x3(case: Case) -> None:
    """Day ranges at the ends of the calendar, and versions named by odd times."""
    two_versions(case)
    store = ["--store", str(case.store)]
    ends = ["--since", "0001-01-01", "--until", "9999-12-31"]
    case.measure(["list", *ends, *store], QUICK_S, (0, 2))
    case.measure(["export", *ends, *store, "-o", str(case.dir / "all.jsonl")], QUICK_S, (0, 2))
    case.measure(["backfill", *ends, *store], QUICK_S, (2,))
    for when in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-01:00", "gestern"):
        case.measure(["diff", article_id(0), "--from", when, *store], QUICK_S, (1, 2))
        case.measure(["show", article_id(0), "--version", when, *store], QUICK_S, (1, 2))


def case_x4(case: Case) -> None:
    """WARC records claiming 10**18 bytes, a negative length, and a truncated gzip member."""
    for name, length in (("huge", str(10**18)), ("negative", "-5"), ("word", "many")):
        source = case.dir / f"{name}.warc"
        source.write_bytes(
            b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:x>\r\n"
            b"WARC-Date: 2025-03-14T10:00:00Z\r\nWARC-Target-URI: https://www.n-tv.de"
            + article_path(6).encode()
            + b"\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: "
            + length.encode()
            + b"\r\n\r\nHTTP/1.1 200 OK\r\n\r\n<html></html>\r\n\r\n"
        )
        case.measure(["import", str(source), "--store", str(case.store)], QUICK_S, (1,))
    cut = case.dir / "cut.warc.gz"
    cut.write_bytes(good_record(url6())[:-20])
    case.measure(["import", str(cut), "--store", str(case.store)], QUICK_S, (1,))


def case_x5(case: Case) -> None:
    """`replay` of URLs two parsers read differently, of an unknown id, of a bare word."""
    store = ["--store", str(case.store)]
    for target in ("http://[::1/x", "https://www.n-tv.de\uff0fpolitik/x-id1.html",
                   "https://evil.example\\@www.n-tv.de/politik/x-id1.html", "ntv-99999999",
                   "ntv-1\n", "politik"):  # fmt: skip
        case.measure(["replay", target, *store], QUICK_S, (1, 2))


def cases(args: argparse.Namespace) -> dict[str, Callable[[Case], None]]:
    return {
        "1a": case_1a,
        "1b": case_1b,
        "2a": lambda c: case_2a(c, args.line_mb),
        "2b": lambda c: case_2b(c, args.line_mb),
        "2c": case_2c,
        "3a": case_3a,
        "3b": case_3b,
        "3c": case_3c,
        "4a": lambda c: case_4(c, 2000),
        "4b": lambda c: case_4(c, 4000),
        "5": case_5,
        "6": lambda c: case_6(c, args.articles),
        "7": case_7,
        "8": case_8,
        "9": case_9,
        "10": case_10,
        "11a": case_11_pages,
        "11b": case_11_store,
        "11c": case_11_backfill,
        "11d": case_11_export,
        "11e": case_11_feeds,
        "12": case_12,
        "x1": case_x1,
        "x2": case_x2,
        "x3": case_x3,
        "x4": case_x4,
        "x5": case_x5,
    }


def run_case(name: str, body: Callable[[Case], None], scratch: Path) -> list[Row]:
    case = Case(name, scratch)
    try:
        body(case)
    except Exception as exc:  # a case that could not be prepared is a finding, not a crash
        case.rows.append(
            Row(
                name,
                "(setup)",
                None,
                0.0,
                0.0,
                0.0,
                [f"case failed: {exc!r}"[:300], traceback.format_exc()[-300:]],
            )
        )
    finally:
        case.close()
    return case.rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated case names (1a, 2b, 11c, ...)")
    parser.add_argument("--line-mb", type=int, default=1024, help="the long lines' size (1024)")
    parser.add_argument("--articles", type=int, default=300, help="case 6's articles (300)")
    parser.add_argument("--workers", type=int, default=2, help="cases run at once (2)")
    args = parser.parse_args()
    chosen = cases(args)
    if args.only:
        chosen = {name: chosen[name] for name in args.only.split(",")}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(args.workers) as pool:
        done = list(pool.map(lambda item: run_case(*item, Path(scratch)), chosen.items()))
    rows = [row for case_rows in done for row in case_rows]
    print(f"{'case':4}  {'exit':>4}  {'wall s':>7}  {'limit':>5}  {'RSS MB':>6}  verdict  command")
    for row in rows:
        print(
            f"{row.case:4}  {row.exit!s:>4}  {row.wall_s:7.2f}  {row.limit_s:5.0f}  "
            f"{row.peak_rss_mb:6.1f}  {row.verdict}  {row.command}"
        )
    bad = [row for row in rows if row.problems]
    summary = {
        "cases": len(chosen),
        "commands": len(rows),
        "not_ok": len(bad),
        "peak_rss_mb_max": max(r.peak_rss_mb for r in rows),
        "wall_over_limit_max": round(
            max((r.wall_s / r.limit_s for r in rows if r.limit_s), default=0), 3
        ),
        "wall_s": round(time.monotonic() - started),
    }
    print(
        f"{summary['commands']} commands in {summary['cases']} cases, {len(bad)} not ok; highest "
        f"peak RSS {summary['peak_rss_mb_max']:.0f} MB; highest wall/limit "
        f"{summary['wall_over_limit_max']:.2f}; {summary['wall_s']} s in all"
    )
    rows_json = [{**row.__dict__, "verdict": row.verdict} for row in rows]
    print(json.dumps({**summary, "rows": rows_json}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
