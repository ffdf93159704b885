#!/usr/bin/env python3
"""A simulated news day, with a controllable clock, against a local site: the revisit schedule
side by side with the behaviour before it ("today": every listed item fetched whenever the feed
changed, nothing looked at again once it left the feed).

    .venv/bin/python bench/day.py [--articles 100] [--polls-per-day 144] [--feed-size 50]
                                  [--edited 0.10] [--edit-window-days 3] [--seed 15]

The site: a feed of the latest ``--feed-size`` articles whose ``lastBuildDate`` moves on every
poll (so the feed answers 200, never 304, as a live news feed does); ``--articles`` new articles
published at random times over the day; a share ``--edited`` of them edited once at a random time
up to ``--edit-window-days`` after publication (a sharpened headline, which the feed shows too; a
paragraph inserted; a correction appended; all three in equal parts). Pages are the real ntv.de
page (``../shared``) with the article's id, sent with ETag and Last-Modified and answering 304 to
a matching conditional request.

Both arms poll the same site at the same simulated times, each into its own store, starting with
the feed's window already archived (the steady state). "today" polls for the one day; the
schedule arm polls on until the day's last article is past its last revisit step. What is
counted for the schedule arm is every fetch of the day's articles over their whole life (what a
day of articles costs, which in the steady state is what a day costs), for "today" every fetch
during the day. Printed: article fetches and bytes per arm and their ratios with the targets,
edits caught and the detection delay per revisit step, and an idle poll's cost. Last line JSON.
"""

from __future__ import annotations

import argparse
import atexit
import gzip
import hashlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import Answer, CountingStore, LocalServer, page_template

from handler.archive.extraction import extract_article
from handler.core.config import DEFAULT_REVISIT_AFTER, FetchSettings, RunSettings, revisit_steps
from handler.core.log import logger
from handler.run.context import RunContext
from handler.run.poll import poll
from handler.store import LocalStore

START = datetime(2025, 12, 1, tzinfo=UTC)
FIRST_ID = 91000000
EDIT_KINDS = ("headline", "paragraph", "correction")


@dataclass
class Article:
    number: int
    published: datetime
    edit_at: datetime | None = None
    edit_kind: str | None = None

    def edited(self, now: datetime) -> bool:
        return self.edit_at is not None and now >= self.edit_at


@dataclass
class Site:
    """The truth both arms read: which articles exist at the simulated ``now``, and each page."""

    template: bytes
    template_id: bytes
    anchor: bytes  # where a paragraph is inserted (the start of one body paragraph)
    tail: bytes  # where a correction is appended (after the last body paragraph)
    title: bytes
    feed_size: int
    articles: list[Article] = field(default_factory=list)
    now: datetime = START
    frozen_feed: datetime | None = None  # the feed as it was then, for the idle poll
    lock: threading.Lock = field(default_factory=threading.Lock)

    def listed(self) -> list[Article]:
        now = self.frozen_feed or self.now
        published = [a for a in self.articles if a.published <= now]
        return sorted(published, key=lambda a: a.published, reverse=True)[: self.feed_size]

    def feed(self, base: str) -> bytes:
        items = "".join(
            f"<item><title>Politik: {self.headline(a).decode()}</title>"
            f"<link>{base}/politik/artikel-id{a.number}.html</link>"
            f"<description>Worum es geht: Artikel {a.number}</description>"
            f"<category>Politik</category><pubDate>{format_datetime(a.published)}</pubDate>"
            "</item>"
            for a in self.listed()
        )
        built = format_datetime(self.frozen_feed or self.now)
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>n-tv.de - Politik</title><lastBuildDate>{built}</lastBuildDate>{items}"
            "</channel></rss>"
        ).encode()

    def headline(self, article: Article) -> bytes:
        sharpened = article.edit_kind == "headline" and article.edited(self.now)
        return self.title + (" \N{EN DASH} Regierung widerspricht".encode() if sharpened else b"")

    def page(self, article: Article) -> tuple[bytes, str, str]:
        """(page, ETag, Last-Modified) as served at ``now``."""
        html = self.template.replace(self.template_id, str(article.number).encode())
        changed_at = article.published
        if article.edited(self.now):
            assert article.edit_at is not None
            changed_at = article.edit_at
            html = self._edit(html, article)
        etag = f'"{article.number}-{int(changed_at.timestamp())}"'
        return html, etag, format_datetime(changed_at, usegmt=True)

    def _edit(self, html: bytes, article: Article) -> bytes:
        if article.edit_kind == "headline":
            return html.replace(self.title, self.headline(article))
        if article.edit_kind == "paragraph":
            start = html.index(self.anchor)
            tag = html[start : html.index(b">", start) + 1]
            added = b"Die Bundesregierung kuendigte am Abend eine eigene Stellungnahme an."
            return html[:start] + tag + added + b"</p>" + html[start:]
        end = html.index(self.tail) + len(self.tail)
        start = html.rindex(b"<p", 0, end)
        tag = html[start : html.index(b">", start) + 1]
        note = b"Korrektur: In einer frueheren Fassung stand ein falsches Datum."
        return html[:end] + tag + note + b"</p>" + html[end:]

    def article(self, number: int) -> Article | None:
        index = number - FIRST_ID
        return self.articles[index] if 0 <= index < len(self.articles) else None


class Server:
    """One arm's HTTP server over the shared site; counts that arm's requests and bytes."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.fetches: Counter[int] = Counter()  # article number -> requests
        self.bytes: Counter[int] = Counter()  # article number -> body bytes sent
        self.not_modified: Counter[int] = Counter()
        self.feed_requests = 0
        self.feed_bytes = 0
        self.http = LocalServer(self._respond)

    @property
    def base(self) -> str:
        return self.http.base

    def _respond(self, path: str, headers: Mapping[str, str]) -> Answer:
        with self.site.lock:
            if path == "/rss":
                return self._feed(headers)
            number = int(path.rsplit("-id", 1)[1].removesuffix(".html"))
            article = self.site.article(number)
            if article is None:
                return Answer(404, b"", "text/plain")
            html, etag, modified = self.site.page(article)
        self.fetches[number] += 1
        validators = {"ETag": etag, "Last-Modified": modified}
        if headers.get("If-None-Match") == etag:
            self.not_modified[number] += 1
            return Answer(304, b"", "text/html", validators)
        body = gzip.compress(html, compresslevel=1)
        self.bytes[number] += len(body)
        return Answer(200, body, "text/html; charset=utf-8",
                      {**validators, "Content-Encoding": "gzip"})  # fmt: skip

    def _feed(self, headers: Mapping[str, str]) -> Answer:
        feed = self.site.feed(self.base)
        self.feed_requests += 1
        tag = {"ETag": f'"{hashlib.sha256(feed).hexdigest()[:16]}"'}
        if headers.get("If-None-Match") == tag["ETag"]:
            return Answer(304, b"", "application/rss+xml", tag)
        body = gzip.compress(feed, compresslevel=1)
        self.feed_bytes += len(body)
        return Answer(200, body, "application/rss+xml", {**tag, "Content-Encoding": "gzip"})


class Clock:
    def __init__(self, site: Site) -> None:
        self.site = site

    def __call__(self) -> datetime:
        return self.site.now


def build_site(args: argparse.Namespace, rng: random.Random) -> tuple[Site, str]:
    template, carried_id, kind = page_template()
    url = f"https://www.n-tv.de/politik/artikel-id{carried_id.decode()}.html"
    doc = extract_article(template, url)
    anchor_text = next(
        b["text"][:40].encode()
        for b in doc["body"][1:]
        if b["type"] == "paragraph" and b["text"][:40].encode() in template
    )
    start = template.index(anchor_text)
    anchor = template[template.rindex(b"<p", 0, start) : start]
    tail = next(
        b["text"][-20:].encode()
        for b in reversed(doc["body"])
        if b["type"] == "paragraph" and b["text"][-20:].encode() in template
    )
    site = Site(template, carried_id, anchor + anchor_text, tail, doc["title"].encode(),
                args.feed_size)  # fmt: skip
    day = timedelta(days=1)
    # The window the feed already shows at the start: published the evening before.
    backlog = [START - timedelta(minutes=10 * (n + 1)) for n in range(args.feed_size)]
    times = sorted(backlog) + sorted(START + day * rng.random() for _ in range(args.articles))
    for n, published in enumerate(times):
        site.articles.append(Article(FIRST_ID + n, published))
    todays = site.articles[args.feed_size :]
    for article in rng.sample(todays, round(len(todays) * args.edited)):
        article.edit_at = article.published + timedelta(days=args.edit_window_days) * rng.random()
        article.edit_kind = EDIT_KINDS[article.number % len(EDIT_KINDS)]
    return site, kind


def settings(store: str, base: str, revisit: str) -> RunSettings:
    fetch = FetchSettings(extra_hosts=frozenset({"127.0.0.1"}))
    return RunSettings(feed_url=f"{base}/rss", store=store, fetch=fetch,
                       revisit_after=revisit_steps(revisit))  # fmt: skip


def forget_fingerprints(store: Path) -> None:
    """Today's behaviour: no memory of what the feed said, so every listed item is fetched
    whenever the feed answers 200."""
    state = store / "state/run-state.json"
    if state.exists():
        data = json.loads(state.read_text())
        data.pop("seen", None)
        state.write_text(json.dumps(data))


@dataclass
class Detection:
    article: Article
    at: datetime
    by: str  # "feed" (the item changed) or the revisit step ("30m", "2h", ...)


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    site, page_kind = build_site(args, rng)
    steps = revisit_steps(args.revisit_after)
    step_names = args.revisit_after.split(",")
    arms = {"schedule": Server(site), "today": Server(site)}
    work = Path(tempfile.mkdtemp(prefix="ntv-day-"))
    atexit.register(shutil.rmtree, work, True)  # the archive is scratch: gone at exit
    stores = {name: work / name for name in arms}
    runs = {
        "schedule": settings(str(stores["schedule"]), arms["schedule"].base, args.revisit_after),
        "today": settings(str(stores["today"]), arms["today"].base, "off"),
    }
    clock = Clock(site)
    poll_every = timedelta(days=1) / args.polls_per_day
    last_step = max(steps)
    end = START + timedelta(days=1) + last_step + poll_every
    first_seen: dict[int, datetime] = {}
    detections: dict[int, Detection] = {}
    baseline: dict[str, tuple[Counter[int], Counter[int]]] = {}
    started = time.perf_counter()

    site.now = START - poll_every  # the steady state: the window archived by both arms
    for name in arms:
        poll(RunContext(runs[name], clock=clock))
        baseline[name] = (Counter(arms[name].fetches), Counter(arms[name].bytes))
    polls = 0
    while site.now < end:
        site.now += poll_every
        polls += 1
        summary = poll(RunContext(runs["schedule"], clock=clock))
        for outcome in summary.outcomes:
            number = int(outcome.id.removeprefix("ntv-"))
            if outcome.status == "new":
                first_seen[number] = site.now
            article = site.article(number)
            if outcome.status == "updated" and article is not None and number not in detections:
                by = "feed"
                if outcome.revisit:
                    age = site.now - first_seen.get(number, article.published)
                    by = step_names[max(n for n, s in enumerate(steps) if s <= age)]
                detections[number] = Detection(article, site.now, by)
        if site.now <= START + timedelta(days=1):
            forget_fingerprints(stores["today"])
            poll(RunContext(runs["today"], clock=clock))
        if polls % args.polls_per_day == 0:
            print(f"  simulated day {polls // args.polls_per_day} done "
                  f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)  # fmt: skip

    todays = {a.number for a in site.articles[args.feed_size :]}
    counted = {}
    for name, server in arms.items():
        before_fetches, before_bytes = baseline[name]
        if name == "schedule":  # the day's articles over their whole life
            fetches = sum(server.fetches[n] for n in todays)
            sent = sum(server.bytes[n] for n in todays)
        else:  # every article fetch during the day
            fetches = sum((server.fetches - before_fetches).values())
            sent = sum((server.bytes - before_bytes).values())
        counted[name] = {"article_fetches": fetches, "article_bytes": sent,
                         "not_modified": sum(server.not_modified[n] for n in todays)}  # fmt: skip

    edits = [a for a in site.articles if a.edit_at is not None]
    eligible = [a for a in edits if a.edit_at < first_seen.get(a.number, a.published) + last_step]
    caught = [a for a in eligible if a.number in detections]
    delays: dict[str, list[float]] = defaultdict(list)
    for found in detections.values():
        if found.article.edit_at is not None:
            delays[found.by].append((found.at - found.article.edit_at).total_seconds() / 60)
    idle = idle_poll(site, runs["schedule"], arms["schedule"], clock, poll_every)
    new_articles = len(todays)
    bound = 1.2 * new_articles * (1 + len(steps))
    return {
        "page": page_kind,
        "articles": new_articles,
        "polls_per_day": args.polls_per_day,
        "feed_size": args.feed_size,
        "revisit_after": args.revisit_after,
        "schedule": counted["schedule"],
        "today": counted["today"],
        "fetch_bound": bound,
        "fetch_ratio_to_bound": counted["schedule"]["article_fetches"] / bound,
        "fetches_vs_today": counted["schedule"]["article_fetches"]
        / max(1, counted["today"]["article_fetches"]),
        "bytes_vs_today": counted["schedule"]["article_bytes"]
        / max(1, counted["today"]["article_bytes"]),
        "edits": len(edits),
        "edits_eligible": len(eligible),
        "edits_caught": len(caught),
        "detection_minutes": {
            by: {"count": len(found), "median": statistics.median(found), "max": max(found)}
            for by, found in sorted(delays.items(), key=lambda kv: _order(kv[0], step_names))
        },
        "idle_poll": idle,
        "simulated_polls": polls,
        "wall_s": round(time.perf_counter() - started, 1),
    }


def _order(name: str, steps: list[str]) -> int:
    return steps.index(name) if name in steps else -1


def idle_poll(
    site: Site, run_settings: RunSettings, server: Server, clock: Clock, poll_every: timedelta
) -> dict:
    """The feed unchanged (it answers 304 to its ETag) and nothing due: what one poll costs.
    (A poll whose hint has come due lists the schedule: one request more, and its state write.)"""
    site.frozen_feed = site.now
    site.now += poll_every
    poll(RunContext(run_settings, clock=clock))  # learns the frozen feed's ETag
    store = CountingStore(LocalStore(run_settings.store))
    before_http = server.feed_requests + sum(server.fetches.values())
    site.now += timedelta(minutes=1)  # the next poll, with nothing come due since
    summary = poll(RunContext(run_settings, store=store, clock=clock))
    http_requests = server.feed_requests + sum(server.fetches.values()) - before_http
    return {"http_requests": http_requests, "store_requests": store.requests,
            "store_calls": dict(store.calls), "items": summary.items,
            "not_modified": summary.not_modified}  # fmt: skip


def main() -> None:
    logger.setLevel("ERROR")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--polls-per-day", type=int, default=144)
    parser.add_argument("--feed-size", type=int, default=50)
    parser.add_argument("--edited", type=float, default=0.10)
    parser.add_argument("--edit-window-days", type=float, default=3.0)
    parser.add_argument("--revisit-after", default=DEFAULT_REVISIT_AFTER)
    parser.add_argument("--seed", type=int, default=15)
    result = run(parser.parse_args())
    s, t = result["schedule"], result["today"]
    print(f"page: {result['page']}; {result['articles']} new articles, "
          f"{result['polls_per_day']} polls a day, feed of {result['feed_size']}")  # fmt: skip
    print(f"article fetches: schedule {s['article_fetches']} (of which {s['not_modified']} "
          f"answered 304), today {t['article_fetches']}: "
          f"{result['fetches_vs_today']:.3f}x; bound 1.2 x new x (1 + steps) = "
          f"{result['fetch_bound']:.0f}: {result['fetch_ratio_to_bound']:.2f} of it")  # fmt: skip
    print(f"bytes downloaded: schedule {s['article_bytes'] / 1e6:.1f} MB, today "
          f"{t['article_bytes'] / 1e6:.1f} MB: {result['bytes_vs_today']:.3f}x "
          "(target <= 0.15)")  # fmt: skip
    print(f"edits caught: {result['edits_caught']} of {result['edits_eligible']} made before "
          f"the last revisit ({result['edits']} edits)")  # fmt: skip
    for by, figures in result["detection_minutes"].items():
        print(f"  detected by {by:>4}: {figures['count']} edits, delay median "
              f"{figures['median']:.0f} min, max {figures['max']:.0f} min")  # fmt: skip
    idle = result["idle_poll"]
    print(f"idle poll: {idle['http_requests']} HTTP request, {idle['store_requests']} store "
          f"requests {idle['store_calls']}")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
