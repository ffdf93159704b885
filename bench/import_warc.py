#!/usr/bin/env python3
"""Importing a crawler's WARC file: correctness, memory and throughput.

    .venv/bin/python bench/import_warc.py [--records 2000]

The file: pages built from the real corpus (../shared: the current-layout page and the 40
old-layout pages, each given new article ids so every record is an article of its own), mixed
the way crawls are: politics and other sections, the same article captured twice, pages of
another site, politics URLs whose page is an author page (not an article), 404s, revisit and
request records, and a last record cut short. The import runs in a child process (its peak
RSS is its own) into an empty store.
Printed: politics articles archived vs expected (each exactly once), records per verdict,
records/s, the ratio to bare warcio iteration over the same file (reading every payload), and
peak RSS. The last line is JSON.
"""

from __future__ import annotations

import argparse
import atexit
import gzip
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "ntv"
sys.path.insert(0, str(ROOT))
EARLIER = "2016-01-01T00:00:00Z"

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])
from handler.core.log import logger
logger.setLevel("ERROR")
from handler.core.config import RunSettings
from handler.run.importing import import_sources
from handler.run.context import RunContext
started = time.perf_counter()
summary = import_sources(RunContext(RunSettings(store=sys.argv[2])), [sys.argv[1]], "politik")
# VmHWM, not ru_maxrss: the latter survives fork and exec, so it would report the parent's
# peak (it holds the whole WARC it built) instead of the import's own.
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM:"))
print(json.dumps({"wall_s": time.perf_counter() - started, "summary": summary.to_dict(),
                  "peak_rss_mb": peak / 1024}))
"""


def corpus_pages() -> list[tuple[str, bytes, str]]:
    """(URL, page, id digits in both) of every real page."""
    if not CORPUS.is_dir():
        sys.exit(f"bench/import_warc.py needs the real corpus at {CORPUS}")
    current = gzip.decompress((CORPUS / "NTV_2025_12_12.html.gz").read_bytes())
    pages = [("https://www.n-tv.de/politik/Trump-spricht-nach-Tanker-Stuermung-ueber-"
              "Bodeneinsaetze-id30134161.html", current, "30134161")]  # fmt: skip
    for meta in sorted((CORPUS / "legacy").glob("*.json")):
        url = json.loads(meta.read_text())["provenance"]
        digits = url.rsplit("article", 1)[-1].removesuffix(".html")
        html = gzip.decompress((CORPUS / "legacy" / f"{meta.stem}.html.gz").read_bytes())
        pages.append((url, html, digits))
    return pages


def build(path: Path, records: int, seed: int) -> dict[str, int]:
    """Write the mixed WARC; returns what it holds by kind."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    rng = random.Random(seed)
    pages = corpus_pages()
    authors = [p for p in pages if "/autoren/" in p[0]]
    kinds: dict[str, int] = {}
    expected_politics: set[str] = set()
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)

    def response(url: str, body: bytes, status: str = "200 OK", kind: str = "text/html") -> None:
        http = StatusAndHeaders(status, [("Content-Type", kind)], protocol="HTTP/1.1")
        when = f"2016-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T08:00:00Z"
        writer.write_record(writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=http,
            warc_headers_dict={"WARC-Date": when}))  # fmt: skip

    written = 0
    serial = 50_000_000
    recent: list[tuple[str, bytes]] = []
    while written < records - 1:
        roll = rng.random()
        url, html, digits = rng.choice(pages)
        if roll < 0.70:  # an article, given new ids: a page of its own
            serial += 1
            new_url, new_html = url.replace(digits, str(serial)), html.replace(
                digits.encode(), str(serial).encode())  # fmt: skip
            response(new_url, new_html)
            section = new_url.split("/")[3]
            kinds[f"article_{section}"] = kinds.get(f"article_{section}", 0) + 1
            if section == "politik" and "/autoren/" not in new_url:
                expected_politics.add(str(serial))
            recent.append((new_url, new_html))
        elif roll < 0.78 and recent:  # the same capture again
            response(*rng.choice(recent))
            kinds["duplicate"] = kinds.get("duplicate", 0) + 1
        elif roll < 0.82:
            response(url.replace("www.n-tv.de", "www.example.org"), html)
            kinds["other_site"] = kinds.get("other_site", 0) + 1
        elif roll < 0.84:  # a politics URL whose page is an author page: no article
            author_url, author_html, _ = rng.choice(authors)
            response(author_url.replace("/autoren/", "/politik/"), author_html)
            kinds["not_article"] = kinds.get("not_article", 0) + 1
        elif roll < 0.88:
            response(url, b"not found", "404 Not Found", "text/plain")
            kinds["not_200"] = kinds.get("not_200", 0) + 1
        elif roll < 0.94:
            writer.write_record(writer.create_revisit_record(
                url, digest="sha1:AAAA", refers_to_uri=url, refers_to_date=EARLIER))  # fmt: skip
            kinds["revisit"] = kinds.get("revisit", 0) + 1
        else:
            http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "www.n-tv.de")],
                                    is_http_request=True)  # fmt: skip
            writer.write_record(writer.create_warc_record(
                url, "request", payload=io.BytesIO(b""), http_headers=http))  # fmt: skip
            kinds["request"] = kinds.get("request", 0) + 1
        written += 1
    whole = buffer.getvalue()
    # The last record cut short, as an interrupted crawl leaves it.
    tail = io.BytesIO()
    last = WARCWriter(tail, gzip=True)
    url, html, _ = pages[0]
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    cut = last.create_warc_record(url.replace("30134161", "59999999"), "response",
                                  payload=io.BytesIO(html), http_headers=http)  # fmt: skip
    last.write_record(cut)
    path.write_bytes(whole + tail.getvalue()[: len(tail.getvalue()) // 2])
    kinds["truncated"] = 1
    kinds["expected_politics_articles"] = len(expected_politics)
    return kinds


def bare_iteration(path: Path) -> float:
    """Seconds warcio alone takes to read every record and payload of the file."""
    from warcio.archiveiterator import ArchiveIterator

    started = time.perf_counter()
    with path.open("rb") as handle:
        try:
            for record in ArchiveIterator(handle, arc2warc=True):
                record.content_stream().read()
        except Exception:  # the truncated last record
            pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ntv-import-"))
    atexit.register(shutil.rmtree, work, True)  # the archive is scratch: gone at exit
    source = work / "crawl.warc.gz"
    kinds = build(source, args.records, args.seed)
    bare = bare_iteration(source)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(source), str(work / "archive"), str(ROOT)],
        capture_output=True, text=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )  # fmt: skip
    if done.returncode:
        sys.exit(f"bench/import_warc.py: the import died:\n{done.stderr[-3000:]}")
    child = json.loads(done.stdout.strip().splitlines()[-1])
    [report] = child["summary"]["sources"]
    archived = list((work / "archive").glob("articles/*/*/*/*.json"))
    result = {
        "records": report["records"],
        "file_mb": round(source.stat().st_size / 1e6, 1),
        "built": kinds,
        "verdicts": {k: v for k, v in report.items() if k not in ("source", "records")},
        "politics_articles_archived": len(archived),
        "politics_articles_expected": kinds["expected_politics_articles"],
        "records_per_s": round(report["records"] / child["wall_s"], 1),
        "import_wall_s": round(child["wall_s"], 2),
        "bare_warcio_s": round(bare, 2),
        "ratio_to_bare_warcio": round(child["wall_s"] / bare, 1),
        "peak_rss_mb": round(child["peak_rss_mb"], 1),
    }
    print(f"file: {result['records']} records, {result['file_mb']} MB gzipped; built {kinds}")
    print(f"politics articles archived: {result['politics_articles_archived']} of "
          f"{result['politics_articles_expected']} (each once)")  # fmt: skip
    print(f"verdicts: {result['verdicts']}")
    print(f"throughput: {result['records_per_s']} records/s ({result['import_wall_s']} s); "
          f"bare warcio iteration {result['bare_warcio_s']} s: "
          f"{result['ratio_to_bare_warcio']}x")  # fmt: skip
    print(f"peak RSS: {result['peak_rss_mb']} MB (target <= 300 MB)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
