"""The revisit schedule and conditional article fetches, end to end against a local site with a
controllable clock: what is fetched when, what a 304 costs, what survives a crash or a race."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import Site, assert_valid, local_settings, page
from handler.archive.schedule import Revisit, RevisitSchedule
from handler.archive.state import RunState
from handler.core.capture import Validators
from handler.core.config import revisit_steps
from handler.core.errors import ConfigError
from handler.core.models import FeedItem
from handler.run import poll as polling
from handler.run.context import RunContext
from handler.store import LocalStore

START = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
STEPS = revisit_steps("30m,2h,6h,24h,3d,7d")
PATH = "/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"
OTHER = "/panorama/Hafen-bekommt-neue-Faehre-article30000002.html"


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, delay: timedelta) -> Clock:
        self.now = START + delay
        return self


class CountingStore:
    """A local store that counts its requests (one call = one request, as on S3)."""

    def __init__(self, root: Path) -> None:
        self.inner = LocalStore(str(root))
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        attribute = getattr(self.inner, name)
        if name not in {"get", "read", "put", "put_if", "delete", "list"}:
            return attribute

        def counted(key, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.calls.append((name, key))
            return attribute(key, *args, **kwargs)

        return counted


def poll(site: Site, root: Path, clock: Clock, store: object = None, **overrides):
    settings = local_settings(str(root), site.feed_url, **overrides)
    return polling.poll(RunContext(settings, store=store, clock=clock)).to_dict()


def entries(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "index/revisit").glob("*.json"))


def article_requests(site: Site, path: str = PATH) -> list:
    return [request for request, _ in site.server.log if request.path == path]


def archived_then_edited(site: Site, archive: Path) -> Clock:
    """The article archived at START, then edited on the site (a new ETag with it)."""
    serve(site)
    clock = Clock()
    poll(site, archive, clock)
    edited = page("ntv2025_article.html").replace(b"im Herbst", b"im Winter")
    site.articles[0].html, site.articles[0].etag = edited, '"v2"'
    site.serve()
    return clock


@contextmanager
def dying_at(monkeypatch, owner: object, name: str) -> Iterator[None]:
    """The run dies (SystemExit, as a kill would end it) when it reaches ``owner.name``."""

    def die(*_args, **_kwargs):
        raise SystemExit(f"killed at {name}")

    with monkeypatch.context() as patched, pytest.raises(SystemExit):
        patched.setattr(owner, name, die)
        yield


@pytest.fixture
def archive(tmp_path) -> Path:
    return tmp_path / "archive"


def serve(site: Site, etag: str | None = '"v1"', last_modified: str | None = None) -> None:
    article = site.add(PATH, page("ntv2025_article.html"), title="Dachzeile: Schlagzeile")
    article.etag, article.last_modified = etag, last_modified
    site.etag = '"feed-v1"'
    site.serve()


# --- the schedule itself


def test_steps_parse_and_refuse_what_is_not_a_schedule():
    assert revisit_steps("30m,2h,3d") == (
        timedelta(minutes=30), timedelta(hours=2), timedelta(days=3),
    )  # fmt: skip
    assert revisit_steps("off") == () == revisit_steps("")
    for bad, said in (("30x", "'30x' is not a delay"), ("2h,30m", "not later than"),
                      ("0m", "'0m' is not a delay"), ("-5m", "is not a delay")):  # fmt: skip
        with pytest.raises(ConfigError, match=said):
            revisit_steps(bad)


def item(number: int) -> FeedItem:
    link = f"https://www.n-tv.de/politik/a-id{number}.html"
    return FeedItem(f"ntv-{number}", link, "K: T", "K", "T", None, None, None)


def test_a_listing_reads_only_the_due_entries_and_learns_the_next_due(tmp_path):
    store = CountingStore(tmp_path)
    schedule = RevisitSchedule(store, STEPS)
    for n in range(6):  # first seen an hour apart: due 30 minutes after each
        schedule.start(item(n), None, "ntv", Validators(), START + timedelta(hours=n))
    store.calls.clear()
    listing = schedule.due(START + timedelta(hours=2, minutes=40))
    assert [e.id for e in listing.entries] == ["ntv-0", "ntv-1", "ntv-2"]
    assert listing.next_due == START + timedelta(hours=3, minutes=30)
    # One listing, and a read of each due entry only: never of an entry not yet due.
    assert [op for op, _ in store.calls] == ["list", "get", "get", "get"]


def test_advancing_skips_missed_steps_and_ends_after_the_last(tmp_path):
    schedule = RevisitSchedule(LocalStore(str(tmp_path)), STEPS)
    first = schedule.start(item(1), None, "ntv", Validators('"a"'), START)
    assert first is not None and first.due == START + timedelta(minutes=30)
    # A run 7 hours late: the 2 h and 6 h steps are over; the next is 24 h.
    late = schedule.advance(first, START + timedelta(hours=7), Validators('"b"'))
    assert late is not None and (late.step, late.due) == (3, START + timedelta(hours=24))
    assert late.validators == Validators('"b"')
    assert entries(tmp_path) == [late.key.rsplit("/", 1)[-1]]
    assert schedule.advance(late, START + timedelta(days=8)) is None
    assert entries(tmp_path) == []


def test_an_unreadable_entry_is_removed_not_met_again(tmp_path):
    store = LocalStore(str(tmp_path))
    schedule = RevisitSchedule(store, STEPS)
    good = schedule.start(item(1), None, "ntv", Validators(), START)
    assert good is not None
    store.put("index/revisit/20250314T090000000Z-ntv-2.json", b"{not json", "application/json")
    listing = schedule.due(START + timedelta(hours=1))
    assert [e.id for e in listing.entries] == ["ntv-1"]
    assert entries(tmp_path) == [good.key.rsplit("/", 1)[-1]]


def test_the_hint_is_only_lowered_when_another_run_moved_it():
    state = RunState(next_revisit_at=START.isoformat())
    loaded = state.next_revisit_at
    # Our listing says the next entry is due in 5 h; nobody else wrote: the hint moves on.
    state.listed_revisits(START + timedelta(hours=5), loaded)
    assert state.next_revisit_at == (START + timedelta(hours=5)).isoformat()
    # Another run added an entry due in 1 h after our listing (and lowered the hint): ours
    # must not raise it again.
    state = RunState(next_revisit_at=(START + timedelta(hours=1)).isoformat())
    state.listed_revisits(START + timedelta(hours=5), loaded)
    assert state.next_revisit_at == (START + timedelta(hours=1)).isoformat()
    state.expect_revisit(START + timedelta(minutes=10))
    assert state.next_revisit_at == (START + timedelta(minutes=10)).isoformat()
    assert not RunState(next_revisit_at=state.next_revisit_at).revisits_may_be_due(START)


# --- polls with the schedule


def test_a_new_article_is_revisited_on_schedule_with_a_conditional_fetch(site, archive):
    serve(site)
    clock = Clock()
    assert poll(site, archive, clock)["new"] == 1
    assert entries(archive) == ["20250314T093000000Z-ntv-40000001.json"]
    stored = {p: p.read_bytes() for p in archive.rglob("*") if p.is_file()}

    # 10 minutes on, the feed unchanged: one HTTP request, at most two store requests.
    store = CountingStore(archive)
    before = len(site.server.log)
    idle = poll(site, archive, clock.at(timedelta(minutes=10)), store=store)
    assert (idle["items"], idle["not_modified"]) == (0, True)
    assert len(site.server.log) - before == 1
    assert len(store.calls) <= 2, store.calls

    # 31 minutes on: the revisit is due; the page answers 304 to its ETag.
    due = poll(site, archive, clock.at(timedelta(minutes=31)))
    assert (due["items"], due["revisited"], due["unmodified"], due["unchanged"]) == (1, 1, 1, 1)
    request = article_requests(site)[-1]
    assert request.headers["If-None-Match"] == '"v1"'
    after = {p: p.read_bytes() for p in archive.rglob("*") if p.is_file()}
    moved = {p.name for p in set(stored) ^ set(after)}
    assert moved == {"20250314T093000000Z-ntv-40000001.json",
                     "20250314T110000000Z-ntv-40000001.json"}  # fmt: skip
    changed = {p.name for p in stored if p in after and stored[p] != after[p]}
    assert changed == {"run-state.json"}  # no document, capture or manifest written


def test_an_edit_is_caught_by_the_revisit_and_the_new_etag_kept(site, archive):
    clock = archived_then_edited(site, archive)
    summary = poll(site, archive, clock.at(timedelta(minutes=45)))
    assert (summary["updated"], summary["revisited"], summary["unmodified"]) == (1, 1, 0)
    doc = json.loads(next(archive.glob("articles/*/*/*/ntv-40000001.json")).read_text())
    assert doc["capture"]["etag"] == '"v2"'
    assert doc["changes"]["summary"] == "body: 1 paragraph edited (+1 -1 words)"
    assert_valid(doc)  # the published schema describes changes and the capture's validators
    [entry] = (archive / "index/revisit").glob("*.json")
    assert json.loads(entry.read_text())["etag"] == '"v2"'


def test_last_modified_alone_is_sent_back_as_if_modified_since(site, archive):
    serve(site, etag=None, last_modified="Fri, 14 Mar 2025 08:00:00 GMT")
    clock = Clock()
    poll(site, archive, clock)
    summary = poll(site, archive, clock.at(timedelta(minutes=31)))
    assert summary["unmodified"] == 1
    request = article_requests(site)[-1]
    assert request.headers["If-Modified-Since"] == "Fri, 14 Mar 2025 08:00:00 GMT"
    assert "If-None-Match" not in request.headers


def test_without_validators_the_content_hash_decides(site, archive):
    serve(site, etag=None)
    clock = Clock()
    poll(site, archive, clock)
    summary = poll(site, archive, clock.at(timedelta(minutes=31)))
    assert (summary["revisited"], summary["unmodified"], summary["unchanged"]) == (1, 0, 1)
    request = article_requests(site)[-1]
    assert "If-None-Match" not in request.headers and "If-Modified-Since" not in request.headers
    assert len(list(archive.glob("raw/**/*.warc.gz"))) == 1  # nothing new stored


def test_a_changed_feed_item_is_fetched_at_the_next_run_and_others_are_not(site, archive):
    serve(site)
    site.add(OTHER, page("ntv_legacy_article.html"), title="Dachzeile: Schlagzeile")
    site.serve()
    clock = Clock()
    poll(site, archive, clock)
    site.articles[0].title = "Dachzeile: Schlagzeile geschärft"
    site.etag = '"feed-v2"'
    site.serve()
    summary = poll(site, archive, clock.at(timedelta(minutes=5)))
    assert [a["id"] for a in summary["articles"]] == ["ntv-40000001"]
    assert len(article_requests(site, OTHER)) == 1


def test_an_article_that_left_the_feed_is_still_revisited(site, archive):
    serve(site)
    clock = Clock()
    poll(site, archive, clock)
    site.articles[0].listed = False
    site.etag = '"feed-v2"'
    site.serve()
    summary = poll(site, archive, clock.at(timedelta(hours=3)))
    assert [(a["id"], a["revisit"]) for a in summary["articles"]] == [("ntv-40000001", True)]
    assert entries(archive) == ["20250314T150000000Z-ntv-40000001.json"]  # the 6 h step


def test_a_page_gone_404_ends_its_schedule(site, archive):
    serve(site)
    clock = Clock()
    poll(site, archive, clock)
    site.articles[0].html = None
    site.serve()
    summary = poll(site, archive, clock.at(timedelta(minutes=31)))
    assert (summary["failed"], summary["pending"]) == (1, 0)  # nothing owed: it is gone
    assert entries(archive) == []
    assert next(archive.glob("articles/*/*/*/ntv-40000001.json")).exists()  # kept, of course


def test_a_crash_between_the_fetch_and_the_schedule_update_revisits_again(
    site, archive, monkeypatch
):
    clock = archived_then_edited(site, archive)

    with dying_at(monkeypatch, RevisitSchedule, "advance"):
        poll(site, archive, clock.at(timedelta(minutes=31)))
    # The new version is stored; the entry was not advanced, so the next run revisits again.
    assert len(list(archive.glob("versions/ntv-40000001/*.json"))) == 1
    assert entries(archive) == ["20250314T093000000Z-ntv-40000001.json"]
    again = poll(site, archive, clock.at(timedelta(minutes=41)))
    # Its entry still holds the old ETag: the page comes in full, and its hash finds it stored.
    assert (again["revisited"], again["unchanged"], again["updated"]) == (1, 1, 0)
    assert entries(archive) == ["20250314T110000000Z-ntv-40000001.json"]
    assert len(list(archive.glob("versions/ntv-40000001/*.json"))) == 1


def test_two_runs_revisiting_at_once_store_one_version_and_one_next_entry(site, archive):
    serve(site)
    site.add(OTHER, page("ntv_legacy_article.html"), title="Dachzeile: Schlagzeile")
    site.serve()
    poll(site, archive, Clock())
    edits = ((b"im Herbst", b"im Winter"), (b"400 Fahrg", b"450 Fahrg"))
    for article, (old, new) in zip(site.articles, edits, strict=True):
        article.html = article.html.replace(old, new)
        article.etag = '"v2"'
    site.serve()
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def run() -> None:
        barrier.wait()
        results.append(poll(site, archive, Clock(START + timedelta(minutes=35))))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r["revisited"] for r in results) == [2, 2]
    assert sum(r["updated"] for r in results) == 2  # each edit stored once, by one of them
    for article_id in ("ntv-40000001", "ntv-30000002"):
        assert len(list(archive.glob(f"versions/{article_id}/*.json"))) == 1
    assert [e.split("-", 1)[0] for e in entries(archive)] == ["20250314T110000000Z"] * 2


def test_status_says_what_is_scheduled(site, archive, capsys):
    from handler.cli import main

    serve(site)
    poll(site, archive, Clock())
    assert main(["status", "--store", str(archive), "--json"]) == 0
    said = json.loads(capsys.readouterr().out)["revisits"]
    assert said == {"scheduled": 1, "next_due": "2025-03-14T09:30:00.000+00:00"}
    assert main(["status", "--store", str(archive)]) == 0
    assert "1 revisit scheduled, next due 2025-03-14T09:30:00.000+00:00" in capsys.readouterr().out


def test_revisits_off_schedules_nothing(site, archive):
    serve(site)
    poll(site, archive, Clock(), revisit_after=())
    assert entries(archive) == []


def test_a_revisit_entry_round_trips_with_its_validators():
    entry = Revisit(item(7), "https://www.n-tv.de/politik/rss", "ntv", START, 2,
                    START + timedelta(hours=6), Validators('"e"', "Fri, 14 Mar 2025"))  # fmt: skip
    assert Revisit.from_json(json.loads(json.dumps(entry.to_json()))) == entry


def test_a_run_dying_before_its_state_write_leaves_no_entry_behind_the_hint(
    site, archive, monkeypatch
):
    import handler.run.poll as polling

    serve(site)
    clock = Clock()
    poll(site, archive, clock)
    poll(site, archive, clock.at(timedelta(minutes=31)))  # revisited: the next is due at 2 h
    state = json.loads((archive / "state/run-state.json").read_text())
    assert state["next_revisit_at"] == (START + timedelta(hours=2)).isoformat()

    site.add(OTHER, page("ntv_legacy_article.html"), title="Dachzeile: Neu")
    site.etag = '"feed-v2"'
    site.serve()

    with dying_at(monkeypatch, polling, "save_state"):
        poll(site, archive, clock.at(timedelta(minutes=40)))
    assert "20250314T101000000Z-ntv-30000002.json" in entries(archive)  # written, then death
    # The run lowered the hint before its work, so the entry is not hidden until 2 h.
    summary = poll(site, archive, clock.at(timedelta(minutes=71)))
    revisited = [a["id"] for a in summary["articles"] if a["revisit"]]
    assert revisited == ["ntv-30000002"]


def test_advancing_removes_what_a_run_that_died_mid_advance_left(tmp_path):
    schedule = RevisitSchedule(LocalStore(str(tmp_path)), STEPS)
    first = schedule.start(item(1), None, "ntv", Validators(), START)
    assert first is not None
    # A run wrote the 2 h entry and died before deleting the 30 min one.
    orphan = Revisit(first.item, None, "ntv", START, 1, START + timedelta(hours=2))
    schedule._write(orphan)
    # The next run, 7 hours on, advances the old entry past both: one entry is left.
    following = schedule.advance(first, START + timedelta(hours=7))
    assert following is not None
    assert entries(tmp_path) == [following.key.rsplit("/", 1)[-1]]


def test_a_revisit_gets_its_own_feeds_configuration_never_more_hosts():
    from handler.ingest.feeds import FeedConfig
    from handler.run.poll import plan_work

    polled = FeedConfig("politik", "https://www.n-tv.de/politik/rss")
    other = FeedConfig("blog", "https://blog.example/rss", "generic",
                       allow_hosts=frozenset({"blog.example"}))  # fmt: skip

    def due(number: int, feed_url: str | None) -> Revisit:
        return Revisit(item(number), feed_url, "generic", START, 0, START)

    entries_due = [due(1, polled.url), due(2, other.url), due(3, "https://gone.example/rss"),
                   due(4, None)]  # fmt: skip
    fresh = FeedItem("ntv-1", item(1).link, "K: T neu", "K", "T neu", None, None, None)
    work = plan_work([fresh], entries_due, polled, [fresh], {other.url: other})
    assert [(w.item.id, w.revisit is not None) for w in work] == [
        ("ntv-1", True), ("ntv-2", True), ("ntv-3", True), ("ntv-4", True),
    ]  # fmt: skip
    assert work[0].item is fresh and work[0].feed is polled  # revisited once, with the fresh item
    assert work[1].feed is other  # its own extra hosts, from this run's configuration
    assert work[2].feed is not None and work[2].feed.allow_hosts == frozenset()
    assert work[3].feed is None
