"""Bounded soak: an evolving feed polled 120 times with seeded random faults, then invariants.

The feed gains, loses and updates articles; every request may fail (500, 429, reset, slow past
the timeout, truncated). After the random phase, a few fault-free polls let owed retries finish.
Then: every article that ever appeared is archived or parked with reasons, no article has two
stored versions with the same content, every stored text is one the article really had, and
every document validates. Finally two pollers run in parallel threads over one store.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from faultserver import Fault, FaultServer

from conftest import assert_valid, local_settings
from handler.core.config import RetryPolicy
from handler.core.errors import FeedError
from handler.run.context import RunContext
from handler.run.poll import poll

# Long fault campaigns on this project's own logic: the lowest-versions run leaves them out.
pytestmark = pytest.mark.slow

SEED = 20261124
POLLS = 120
POOL = 24


@dataclass
class Evolving:
    """The site's truth: which articles exist, which are listed, and every text each had."""

    rng: random.Random
    faults_on: bool = True
    listed: list[int] = field(default_factory=list)
    texts: dict[int, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def step(self) -> None:
        with self.lock:
            unused = [n for n in range(1, POOL + 1) if n not in self.texts]
            if unused and self.rng.random() < 0.4:
                number = self.rng.choice(unused)
                self.texts[number] = [f"Erste Fassung von Artikel {number}."]
                self.listed.append(number)
            if len(self.listed) > 8 or (self.listed and self.rng.random() < 0.15):
                self.listed.pop(0)
            if self.listed and self.rng.random() < 0.25:
                number = self.rng.choice(self.listed)
                version = len(self.texts[number]) + 1
                self.texts[number].append(f"Fassung {version} von Artikel {number}.")

    def respond(self, server: FaultServer, path: str, _count: int) -> Fault:
        with self.lock:
            fault = self._fault()
            if fault is not None:
                return fault
            if path == "/rss":
                return Fault.ok(self._feed(server), "application/rss+xml")
            number = int(path.rsplit("-id", 1)[1].removesuffix(".html"))
            return Fault.ok(self._page(number, self.texts[number][-1]))

    def _fault(self) -> Fault | None:
        if not self.faults_on:
            return None
        roll = self.rng.random()
        for limit, fault in (
            (0.06, Fault.status_(500)),
            (0.09, Fault.status_(429, {"Retry-After": "0"})),
            (0.12, Fault.reset()),
            (0.14, Fault.truncated(b"<html><p>abgeschnitten")),
            (0.15, Fault.slow(0.6)),
        ):
            if roll < limit:
                return fault
        return None

    def _feed(self, server: FaultServer) -> bytes:
        items = "".join(
            f"<item><title>Dachzeile: Artikel {n}</title>"
            f"<link>{server.url(f'/politik/artikel-id{n}.html')}</link></item>"
            for n in self.listed
        )
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
            "</channel></rss>"
        ).encode()

    @staticmethod
    def _page(number: int, text: str) -> bytes:
        return (
            '<html lang="de"><head><meta charset="utf-8">'
            f'<link rel="canonical" href="https://www.n-tv.de/politik/artikel-id{number}.html">'
            '<script type="application/ld+json">{"@type":"NewsArticle",'
            '"datePublished":"2025-06-01T10:00:00+02:00"}</script></head><body>'
            '<article class="article-index_article__x"><div class="wrapper-article">'
            '<h2 class="article-detail-head_headlines__x">'
            f'<span class="article-detail-head_headline__x">Artikel {number}</span></h2>'
            f'<p class="storyline_paragraph_p__x">{text}</p></div></article></body></html>'
        ).encode()


# Each poll is ten simulated minutes; every archived article is revisited at every poll (a step
# per poll), so page edits the feed does not mention are found by the revisit schedule, through
# the same faults as everything else.
POLL_EVERY = timedelta(minutes=10)
REVISITS = tuple(POLL_EVERY * step for step in range(1, POLLS + 10))


def soak_settings(store: str, feed_url: str):
    settings = local_settings(store, feed_url)
    fetch = settings.fetch.__class__(**{**settings.fetch.__dict__, "read_timeout": 0.3})
    retry = RetryPolicy(max_attempts=60, first_delay=timedelta(0))
    return settings.__class__(**{**settings.__dict__, "fetch": fetch, "retry": retry,
                                 "revisit_after": REVISITS})  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def soak_site():
    truth = Evolving(random.Random(SEED))
    server = FaultServer()
    server.dynamic = lambda path, count: truth.respond(server, path, count)
    yield truth, server
    server.stop()


def stored_versions(store_dir, article_id: str) -> list[dict]:
    docs = [json.loads(p.read_text()) for p in store_dir.glob(f"articles/*/*/*/{article_id}.json")]
    docs += [json.loads(p.read_text()) for p in store_dir.glob(f"versions/{article_id}/*.json")]
    return docs


def test_evolving_feed_with_random_faults_loses_nothing(soak_site, tmp_path):
    truth, server = soak_site
    settings = soak_settings(str(tmp_path), server.url("/rss"))
    clock = Clock()
    feed_failures = article_failures = updates = 0
    for _ in range(POLLS):
        truth.step()
        clock.now += POLL_EVERY
        try:
            counts = poll(RunContext(settings, clock=clock)).counts
        except FeedError:
            feed_failures += 1  # the next poll tries again; nothing was written
            continue
        article_failures += counts["failed"]
        updates += counts["updated"]
    truth.faults_on = False
    for _ in range(3):
        clock.now += POLL_EVERY
        poll(RunContext(settings, clock=clock))

    assert len(truth.texts) >= 15, "the soak should have seen most of the pool"
    # The run must really have been hurt and have changed: otherwise it proves nothing.
    assert 0 < feed_failures < POLLS / 4
    assert article_failures >= 20 and updates >= 10
    state = json.loads((tmp_path / "state/run-state.json").read_text())
    assert state["pending"] == {}
    parked = {p.stem for p in tmp_path.glob("failed/*.json")}
    for number, texts in truth.texts.items():
        article_id = f"ntv-{number}"
        versions = stored_versions(tmp_path, article_id)
        assert versions or article_id in parked, f"{article_id} was lost"
        hashes = [v["content_sha256"] for v in versions]
        assert len(hashes) == len(set(hashes)), f"{article_id} stored one content twice"
        for version in versions:
            assert version["text"] in texts, f"{article_id} holds text it never had"
            assert_valid(version)
        if number in truth.listed:  # still listed in the clean phase: the latest text is current
            [current] = [
                json.loads(p.read_text())
                for p in tmp_path.glob(f"articles/*/*/*/{article_id}.json")
            ]
            assert current["text"] == texts[-1]


def test_parallel_pollers_over_one_store_agree_with_a_single_one(soak_site, tmp_path):
    truth, server = soak_site
    truth.faults_on = False
    for _ in range(12):
        truth.step()
    parallel, single = tmp_path / "parallel", tmp_path / "single"
    barrier = threading.Barrier(2)

    def poller() -> None:
        barrier.wait()
        poll(RunContext(soak_settings(str(parallel), server.url("/rss"))))

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    poll(RunContext(soak_settings(str(single), server.url("/rss"))))

    def archive(root) -> dict[str, str]:
        return {
            p.name: json.loads(p.read_text())["content_sha256"]
            for p in root.glob("articles/*/*/*/*.json")
        }

    assert archive(parallel) == archive(single) and archive(single)
    assert not list(parallel.glob("versions/**/*.json"))  # nobody wrote a version twice
    assert len(list(parallel.glob("raw/**/*.warc.gz"))) == len(archive(single))
