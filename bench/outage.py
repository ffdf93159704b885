#!/usr/bin/env python3
"""An outage longer than the feed's window, and the one run that catches up.

    .venv/bin/python bench/outage.py [--window 50] [--politics 150] [--others 150] [--days 3]

A local site: a politics feed of the latest ``--window`` politics articles, a news sitemap
(gzip) listing every article of the last days, politics and other sections, and the pages
(the real ntv.de page when ../shared is there, with each article's id). The archive polls
once, is off for ``--days`` while ``--politics`` politics and ``--others`` other articles
appear, then runs once. Printed: what it archived by section, its article fetches and sitemap
requests, and the catch-up summary. Targets: every politics article, none of the others, at
most one fetch per politics article. The last line is JSON.
"""

from __future__ import annotations

import argparse
import atexit
import gzip
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import Answer, LocalServer, page_template

from handler.core.config import FetchSettings, RunSettings
from handler.core.log import logger
from handler.run.context import RunContext
from handler.run.poll import poll

START = datetime(2025, 12, 1, 8, 0, tzinfo=UTC)
NEWS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_EXT = "http://www.google.com/schemas/sitemap-news/0.9"


class Site:
    def __init__(self, articles: list[tuple[str, int, datetime]], window: int) -> None:
        self.template, self.template_id, self.kind = page_template()
        self.articles = articles  # (section, number, published)
        self.window = window
        self.now = START
        self.hits: Counter[str] = Counter()
        self.pages: Counter[int] = Counter()  # article number -> fetches
        self.http = LocalServer(self._respond)

    @property
    def base(self) -> str:
        return self.http.base

    def _respond(self, path: str, _headers: Mapping[str, str]) -> Answer:
        if path == "/politik/rss":
            self.hits["feed"] += 1
            return Answer(200, self.feed(), "application/rss+xml")
        if path == "/news.xml.gz":
            self.hits["sitemap"] += 1
            return Answer(200, gzip.compress(self.sitemap()), "application/gzip")
        self.hits[f"article:{path.split('/')[1]}"] += 1
        number = path.rsplit("-id", 1)[1].removesuffix(".html")
        self.pages[int(number)] += 1
        page = self.template.replace(self.template_id, number.encode())
        return Answer(200, page, "text/html; charset=utf-8")

    def url(self, section: str, number: int) -> str:
        return f"{self.base}/{section}/Artikel-{number}-id{number}.html"

    def published(self) -> list[tuple[str, int, datetime]]:
        return sorted((a for a in self.articles if a[2] <= self.now), key=lambda a: a[2])

    def feed(self) -> bytes:
        politics = [a for a in self.published() if a[0] == "politik"][-self.window :]
        items = "".join(
            f"<item><title>Politik: Artikel {n}</title><link>{self.url(s, n)}</link>"
            f"<pubDate>{format_datetime(when)}</pubDate></item>"
            for s, n, when in reversed(politics)
        )
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>n-tv.de</title>'
                f"{items}</channel></rss>").encode()  # fmt: skip

    def sitemap(self) -> bytes:
        urls = "".join(
            f"<url><loc>{self.url(s, n)}</loc><news:news><news:publication_date>"
            f"{when.isoformat()}</news:publication_date><news:title>{s}: Artikel {n}"
            "</news:title></news:news></url>"
            for s, n, when in self.published()
            if when >= self.now - timedelta(days=4)
        )
        return (f'<?xml version="1.0"?><urlset xmlns="{NEWS}" xmlns:news="{NEWS_EXT}">{urls}'
                "</urlset>").encode()  # fmt: skip


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    outage = timedelta(days=args.days)
    articles = [("politik", 92000000, START - timedelta(hours=1))]  # archived before
    articles += [("politik", 92000001 + n, START + outage * rng.random())
                 for n in range(args.politics)]  # fmt: skip
    sections = ("wirtschaft", "sport", "panorama")
    articles += [(sections[n % 3], 93000000 + n, START + outage * rng.random())
                 for n in range(args.others)]  # fmt: skip
    site = Site(articles, args.window)
    store = tempfile.mkdtemp(prefix="ntv-outage-")
    atexit.register(shutil.rmtree, store, True)  # the archive is scratch: gone at exit
    settings = RunSettings(
        feed_url=f"{site.base}/politik/rss", store=store, sitemap_url=f"{site.base}/news.xml.gz",
        fetch=FetchSettings(extra_hosts=frozenset({"127.0.0.1"})),
    )  # fmt: skip
    clock = lambda: site.now  # noqa: E731
    poll(RunContext(settings, clock=clock))  # the last poll before the outage
    site.now = START + outage + timedelta(minutes=10)
    site.hits.clear()
    site.pages.clear()
    started = time.perf_counter()
    summary = poll(RunContext(settings, clock=clock))
    wall = time.perf_counter() - started
    archived = Counter(Path(p).parts[-1] for p in Path(store).glob("articles/*/*/*/*.json"))
    by_id = {f"ntv-{n}": s for s, n, _ in articles}
    by_section = Counter(by_id.get(name.removesuffix(".json"), "?") for name in archived)
    outage_politics = {n for s, n, when in articles if s == "politik" and when >= START}
    politics_fetches = sum(site.pages[n] for n in outage_politics)
    other_fetches = sum(site.pages[n] for s, n, _ in articles if s != "politik")
    return {
        "page": site.kind,
        "window": args.window,
        "politics": args.politics,
        "others": args.others,
        "archived_politics_new": summary.counts["new"],
        "archived_by_section": dict(by_section),
        "politics_article_fetches": politics_fetches,
        "other_article_fetches": other_fetches,
        "sitemap_requests": site.hits["sitemap"],
        "feed_requests": site.hits["feed"],
        "revisits": summary.counts["revisited"],  # of the article archived before
        "catchup": summary.catchup,
        "failed": summary.counts["failed"],
        "wall_s": round(wall, 2),
    }


def main() -> None:
    logger.setLevel("ERROR")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--politics", type=int, default=150)
    parser.add_argument("--others", type=int, default=150)
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=16)
    result = run(parser.parse_args())
    new_politics = result["archived_politics_new"]
    print(f"page: {result['page']}; feed window {result['window']}, outage with "
          f"{result['politics']} politics and {result['others']} other articles")  # fmt: skip
    print(f"catch-up run: {new_politics} new documents ({result['archived_by_section']} in the "
          f"archive), {result['failed']} failed")  # fmt: skip
    print(f"article fetches: politics {result['politics_article_fetches']} (target <= "
          f"{result['politics']}), others {result['other_article_fetches']} (target 0); "
          f"sitemap requests {result['sitemap_requests']}, feed {result['feed_requests']}; "
          f"besides: {result['revisits']} revisit of the article archived before")  # fmt: skip
    print(f"catch-up: {result['catchup']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
