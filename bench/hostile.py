#!/usr/bin/env python3
"""Hostile input, bounded: memory and time of the cases the third attack campaign found.

    .venv/bin/python bench/hostile.py [--line-mb 1024]

1. A `.warc.gz` of about 1 MB whose one gzip member holds a WARC header line of ``--line-mb``
   MB without a line end, then a good record: the import's own peak RSS (VmHWM of the child
   process) and wall time; the good record must be archived.
2. A server that sends its status line and headers one byte every 50 ms: how long a fetch with a
   2 s deadline takes, as a ratio of that deadline (bounded means about 1).
3. ``changes`` between two versions of 2,000 paragraphs, every one rewritten: how many
   paragraph similarity checks it makes per paragraph (linear means a small constant).

Prints a report, then one JSON line with the figures.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

IMPORT = """
import json, sys, time
from handler.core.config import RunSettings
from handler.run.importing import import_sources
from handler.run.context import RunContext
started = time.perf_counter()
summary = import_sources(RunContext(RunSettings(store=sys.argv[2])), [sys.argv[1]], "politik")
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM:"))
print(json.dumps({"wall_s": time.perf_counter() - started, "peak_rss_mb": peak / 1024,
                  "sources": summary.sources, "new": summary.counts["new"]}))
"""


def long_line_warc(path: Path, line_mb: int) -> None:
    from test_import import Warc

    from conftest import page

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # one gzip member, streamed: flat memory
    with path.open("wb") as out:
        out.write(packer.compress(b"WARC/1.0\r\nWARC-Type: response\r\nX-Long: "))
        block = b"A" * (1 << 20)
        for _ in range(line_mb):
            out.write(packer.compress(block))
        out.write(packer.flush())
        good = Warc(gzipped=True)
        url = "https://www.n-tv.de/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"
        good.response(url, page("ntv2025_article.html"))
        out.write(good.buffer.getvalue())


def import_figures(line_mb: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "long-line.warc.gz"
        long_line_warc(source, line_mb)
        size = source.stat().st_size
        done = subprocess.run([sys.executable, "-c", IMPORT, str(source), str(Path(scratch) / "a")],
                              capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"warc_bytes": size, "line_mb": line_mb, **figures}


def dripping_headers_figures(deadline_s: float) -> dict[str, float | str]:
    from handler.core.config import FetchSettings
    from handler.core.errors import FetchError
    from handler.ingest.fetch import HttpClient

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 10_000:
                if stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.05)

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/h"
    client = HttpClient(FetchSettings(extra_hosts=frozenset({"127.0.0.1"}), retries=0,
                                      total_timeout=deadline_s, read_timeout=5.0))  # fmt: skip
    started = time.perf_counter()
    try:
        client.get(url)
        outcome = "answered"
    except FetchError as exc:
        outcome = str(exc).split(": ", 1)[-1]
    wall = time.perf_counter() - started
    stop.set()
    listener.close()
    return {"deadline_s": deadline_s, "wall_s": round(wall, 3),
            "wall_over_deadline": round(wall / deadline_s, 3), "outcome": outcome}  # fmt: skip


def changes_figures(paragraphs: int) -> dict[str, float]:
    from handler.archive import changes as module

    def version(tag: str) -> dict:
        body = [{"type": "paragraph", "text": f"{tag}{n} " + f"{tag} " * 30}
                for n in range(paragraphs)]  # fmt: skip
        return {"id": "ntv-1", "fetched_at": "2025-03-14T09:00:00+00:00", "body": body}

    calls = 0
    original = module._similar

    def counting(a: str, b: str) -> bool:
        nonlocal calls
        calls += 1
        return original(a, b)

    module._similar = counting
    started = time.perf_counter()
    try:
        module.changes(version("alt"), version("neu"))
    finally:
        module._similar = original
    return {"paragraphs": paragraphs, "similarity_checks": calls,
            "checks_per_paragraph": round(calls / paragraphs, 2),
            "wall_s": round(time.perf_counter() - started, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--line-mb", type=int, default=1024)
    parser.add_argument("--paragraphs", type=int, default=2000)
    args = parser.parse_args()
    figures = {
        "long_line_import": import_figures(args.line_mb),
        "dripping_headers": dripping_headers_figures(2.0),
        "changes": changes_figures(args.paragraphs),
    }
    line = figures["long_line_import"]
    print(f"import of a {line['warc_bytes'] / 1e6:.1f} MB .warc.gz holding a {args.line_mb} MB "
          f"header line: peak RSS {line['peak_rss_mb']:.0f} MB, {line['wall_s']:.2f} s, "
          f"{line['new']} good record archived")  # fmt: skip
    drip = figures["dripping_headers"]
    print(
        f"headers at 20 bytes/s, deadline {drip['deadline_s']} s: ended after "
        f"{drip['wall_s']} s ({drip['wall_over_deadline']}x the deadline): {drip['outcome']}"
    )
    said = figures["changes"]
    print(
        f"changes over {said['paragraphs']} rewritten paragraphs: "
        f"{said['checks_per_paragraph']} similarity checks a paragraph, {said['wall_s']} s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
