"""The Lambda door: every events/ file invoked through `ntv-archive invoke`, event validation,
time budget, metrics. URLs in the event files name www.n-tv.de; the tests point them at the
local server first, so nothing leaves the machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Site, assert_valid, page
from handler.app import lambda_handler
from handler.cli import main
from handler.cli.tools import LocalContext
from handler.core.config import settings_from_env
from handler.core.errors import ConfigError, EventError, FeedError
from handler.run.events import Poll, Replay, Reprocess, ScheduledPoll, parse_event

EVENTS = Path(__file__).resolve().parents[1] / "events"
ARTICLE = "/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"


@pytest.fixture
def lambda_env(site: Site, tmp_path, monkeypatch) -> Path:
    site.add(ARTICLE, page("ntv2025_article.html"))
    site.add(
        "/panorama/Hafen-bekommt-neue-Faehre-article30000002.html", page("ntv_legacy_article.html")
    )
    site.serve()
    site.server.expect_request("/wirtschaft/rss").respond_with_data(
        site.feed_xml(), content_type="application/rss+xml"
    )
    store = tmp_path / "archive"
    monkeypatch.setenv("ARCHIVE_STORE", str(store))
    monkeypatch.setenv("FEED_URL", site.feed_url)
    monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1, ")
    monkeypatch.setenv("CONCURRENCY", "4")
    return store


def localised(site: Site, name: str, tmp_path: Path) -> str:
    """The events/ file with its www.n-tv.de URLs pointing at the local site."""
    text = (EVENTS / name).read_text().replace("https://www.n-tv.de", site.url("").rstrip("/"))
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def invoke(site: Site, name: str, tmp_path: Path, capsys, *extra: str) -> tuple[int, dict]:
    code = main(["invoke", localised(site, name, tmp_path), *extra])
    return code, json.loads(capsys.readouterr().out)


def stored(store: Path) -> dict[str, bytes]:
    return {
        p.relative_to(store).as_posix(): p.read_bytes() for p in store.rglob("*") if p.is_file()
    }


def test_every_event_file_is_covered_here():
    assert sorted(p.name for p in EVENTS.glob("*.json")) == [
        "backfill.json", "import.json", "malformed.json", "poll.json", "replay.json",
        "reprocess.json", "scheduled.json", "sqs-batch.json",
    ]  # fmt: skip


def test_scheduled_event_polls_the_configured_feed(site, lambda_env, tmp_path, capsys):
    code, response = invoke(site, "scheduled.json", tmp_path, capsys)
    assert code == 0
    assert (response["action"], response["new"], response["feed_url"]) == (
        "ScheduledPoll",
        2,
        site.feed_url,
    )
    docs = sorted(lambda_env.glob("articles/*/*/*/*.json"))
    assert [d.name for d in docs] == ["ntv-30000002.json", "ntv-40000001.json"]
    for doc in docs:
        assert_valid(json.loads(doc.read_text()))


def test_poll_event_polls_the_feed_it_names(site, lambda_env, tmp_path, capsys):
    code, response = invoke(site, "poll.json", tmp_path, capsys)
    assert code == 0
    assert response["feed_url"].endswith("/wirtschaft/rss") and response["new"] == 2


def test_replay_archives_the_urls_and_force_rewrites(site, lambda_env, tmp_path, capsys):
    code, response = invoke(site, "replay.json", tmp_path, capsys)
    assert (code, response["new"], response["items"]) == (0, 1, 1)
    doc = json.loads((lambda_env / "articles/2025/03/14/ntv-40000001.json").read_text())
    assert doc["feed"] is None and doc["source"]["feed"] is None

    assert invoke(site, "replay.json", tmp_path, capsys)[1]["unchanged"] == 1
    forced = tmp_path / "forced.json"
    event = json.loads(Path(localised(site, "replay.json", tmp_path)).read_text())
    forced.write_text(json.dumps(event | {"force": True}))
    assert main(["invoke", str(forced)]) == 0
    response = json.loads(capsys.readouterr().out)
    assert response["updated"] == 1
    assert len(list(lambda_env.glob("versions/ntv-40000001/*.json"))) == 1


def test_reprocess_rewrites_only_documents_that_change(site, lambda_env, tmp_path, capsys):
    invoke(site, "replay.json", tmp_path, capsys)
    key = lambda_env / "articles/2025/03/14/ntv-40000001.json"
    original = json.loads(key.read_text())
    # Simulate a document made by an older, worse extractor.
    stale = original | {"text": original["text"] + "\n\n00:00", "content_sha256": "0" * 64}
    key.write_text(json.dumps(stale))
    site.server.clear_all_handlers()  # reprocess must not need the network

    code, response = invoke(site, "reprocess.json", tmp_path, capsys)
    assert (code, response["items"], response["updated"]) == (0, 1, 1)
    fixed = json.loads(key.read_text())
    assert fixed["text"] == original["text"] and fixed["reprocessed_at"]
    assert (fixed["fetched_at"], fixed["capture"]) == (original["fetched_at"], original["capture"])
    kept = list(lambda_env.glob("versions/ntv-40000001/*.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["text"].endswith("00:00")

    # The same request with the same rules is the same job, and it is finished.
    again = invoke(site, "reprocess.json", tmp_path, capsys)[1]
    assert (again["items"], again["reprocess"]["complete"]) == (0, True)
    restart = tmp_path / "restart.json"
    event = json.loads(Path(localised(site, "reprocess.json", tmp_path)).read_text())
    restart.write_text(json.dumps(event | {"restart": True}))
    assert main(["invoke", str(restart)]) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == 1
    assert len(list(lambda_env.glob("versions/ntv-40000001/*.json"))) == 1


def test_malformed_event_is_refused_and_writes_nothing(site, lambda_env, tmp_path, capsys):
    code, response = invoke(site, "malformed.json", tmp_path, capsys)
    assert code == 2
    assert response == {"error": "replay: 'urls' must be a non-empty list of URLs"}
    assert not lambda_env.exists()


def test_time_budget_defers_articles_for_the_next_run(site, lambda_env, tmp_path, capsys):
    code, response = invoke(site, "scheduled.json", tmp_path, capsys, "--timeout", "5")
    assert code == 0
    assert (response["deferred"], response["new"]) == (2, 0)
    assert not list(lambda_env.glob("articles/**/*.json"))
    assert invoke(site, "scheduled.json", tmp_path, capsys)[1]["new"] == 2


def test_metrics_are_published_as_emf(site, lambda_env, capsys):
    event = json.loads((EVENTS / "scheduled.json").read_text())
    lambda_handler(event, LocalContext(900))
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert len(emf) == 1
    record = emf[0]
    names = {m["Name"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    expected = {"New", "Updated", "Unchanged", "Failed", "Fallback", "Deferred", "Pending"}
    assert {f"Articles{name}" for name in expected} | {"RunDuration"} <= names
    # EMF keeps each metric's values as a list.
    assert (record["ArticlesNew"], record["ArticlesFailed"]) == ([2.0], [0.0])
    assert record["action"] == "scheduled"
    assert record["service"] == "ntv-archive"
    assert (record["EventsFailed"], record["RunsFailed"]) == ([0.0], [0.0])


def emf_records(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ({"action": "poll", "feed_url": "FEED"}, "poll"),
        ({"action": "replay", "urls": ["ARTICLE"]}, "replay"),
        ({"action": "reprocess", "ids": ["ntv-40000001"]}, "reprocess"),
        ({"action": "scheduled", "schedule": "default"}, "scheduled"),
    ],
)
def test_every_action_has_its_stable_dimension(site, lambda_env, capsys, event, action):
    text = json.dumps(event).replace("FEED", site.feed_url).replace("ARTICLE", site.url(ARTICLE))
    if action == "reprocess":  # a reprocess needs an archive to read (an empty store is refused)
        lambda_handler({"source": "aws.events"}, LocalContext(300))
        capsys.readouterr()
    lambda_handler(json.loads(text), LocalContext(300))
    [record] = emf_records(capsys)
    assert record["action"] == action
    assert record["RunsFailed"] == [0.0]


def test_metrics_are_flushed_when_the_event_is_refused(lambda_env, capsys):
    assert "error" in lambda_handler({"action": "delete"}, LocalContext(60))
    [record] = emf_records(capsys)
    assert (record["action"], record["InvocationsRefused"]) == ("refused", [1.0])


def test_metrics_are_flushed_when_every_feed_fails(site, lambda_env, monkeypatch, capsys):
    monkeypatch.setenv("FEED_URL", site.url("/missing-feed"))
    with pytest.raises(FeedError):
        lambda_handler({"source": "aws.events"}, LocalContext(60))
    [record] = emf_records(capsys)
    assert record["action"] == "scheduled"
    assert (record["RunsFailed"], record["FeedsFailed"]) == ([1.0], [1.0])


def test_unreadable_feed_fails_the_invocation(site, lambda_env, monkeypatch):
    monkeypatch.setenv("FEED_URL", site.url("/missing-feed"))
    with pytest.raises(FeedError, match=r"feed .*/missing-feed: HTTP 500"):
        lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, LocalContext(60))


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"source": "aws.scheduler"}, ScheduledPoll()),
        (
            {"action": "poll", "feed_url": "https://www.n-tv.de/sport/rss"},
            Poll("https://www.n-tv.de/sport/rss"),
        ),
        (
            {"action": "replay", "urls": ["https://a.n-tv.de/x", "https://a.n-tv.de/x"]},
            Replay(("https://a.n-tv.de/x",)),
        ),
        ({"action": "reprocess", "ids": ["ntv-1"]}, Reprocess(None, None, ("ntv-1",))),
    ],
)
def test_events_parse_into_typed_requests(event, expected):
    assert parse_event(event) == expected


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "event must be a JSON object, got list"),
        ({}, "event has no known action (got None"),
        ({"action": "delete"}, "event has no known action (got 'delete'"),
        ({"action": "poll"}, "feed_url: expected an http(s) URL, got None"),
        ({"action": "poll", "feed_url": "file:///etc/passwd"}, "feed_url: expected an http(s) URL"),
        ({"action": "replay", "urls": []}, "replay: 'urls' must be a non-empty list"),
        ({"action": "replay", "urls": ["x"]}, "urls[0]: expected an http(s) URL"),
        (
            {"action": "replay", "urls": ["https://www.n-tv.de/"], "force": "yes"},
            "'force' must be true or false",
        ),
        ({"action": "reprocess"}, "reprocess: give 'since'/'until' dates, 'ids', or both"),
        ({"action": "reprocess", "since": "2025-13-01"}, "'since' must be a date YYYY-MM-DD"),
        ({"action": "reprocess", "since": "2025-03-02", "until": "2025-03-01"}, "is after 'until'"),
        ({"action": "reprocess", "ids": ["../x"]}, "'ids' must be a list of archive ids"),
        (
            {"action": "poll", "feed_url": "https://www.n-tv.de/rss", "x": 1},
            "poll: unknown field(s) 'x'",
        ),
    ],
)
def test_bad_events_name_the_problem(event, message):
    with pytest.raises(EventError) as raised:
        parse_event(event)
    assert message in str(raised.value)


def test_settings_from_environment():
    env = {"ARCHIVE_STORE": "s3://b/p", "ALLOWED_HOSTS": "a.example, b.example"}
    settings = settings_from_env(env | {"CONCURRENCY": "3", "MAX_ITEMS": "10"})
    assert (settings.store, settings.concurrency, settings.max_items) == ("s3://b/p", 3, 10)
    assert settings.fetch.extra_hosts == {"a.example", "b.example"}
    assert settings_from_env({}).feed_url == "https://www.n-tv.de/politik/rss"
    assert settings_from_env({"MAX_RESPONSE_BYTES": "1000"}).fetch.max_bytes == 1000
    with pytest.raises(ConfigError, match="CONCURRENCY='many' is not a positive number"):
        settings_from_env({"CONCURRENCY": "many"})


def test_an_sqs_batch_file_is_routed_to_the_worker(site, lambda_env, tmp_path, capsys):
    code, response = invoke(site, "sqs-batch.json", tmp_path, capsys)
    assert (code, response) == (0, {"batchItemFailures": []})
    doc = json.loads((lambda_env / "articles/2025/03/14/ntv-40000001.json").read_text())
    assert doc["feed"]["url"].endswith("/politik/rss")  # the feed context travelled in the message
    site.server.clear_all_handlers()  # the page is gone now: the batch reports its one item
    code, response = invoke(site, "sqs-batch.json", tmp_path, capsys)
    assert code == 1
    assert response["batchItemFailures"] == [
        {"itemIdentifier": "6c4e8c66-2f5a-4d3e-9a7b-3f1f0c6d2a11"}
    ]


def test_a_deployment_that_publishes_keeps_its_site_current(site, lambda_env, monkeypatch,
                                                            tmp_path, capsys):  # fmt: skip
    """PUBLISH_SITE=true: an invocation that stored something updates site/ in the same
    invocation (its response says what it wrote); one that stored nothing writes no page."""
    monkeypatch.setenv("PUBLISH_SITE", "true")
    code, response = invoke(site, "scheduled.json", tmp_path, capsys)
    assert code == 0 and response["new"] == 2
    assert response["site"]["articles"] == 2 and response["site"]["pages"] > 0
    assert (lambda_env / "site" / "articles" / "ntv-40000001.html").exists()
    assert (lambda_env / "state" / "site" / "build.json").exists()
    before = stored(lambda_env / "site")
    code, again = invoke(site, "replay.json", tmp_path, capsys)  # the same page: unchanged
    assert code == 0 and again["unchanged"] == 1 and "site" not in again
    assert stored(lambda_env / "site") == before


def test_a_failing_site_update_costs_no_article(site, lambda_env, monkeypatch, tmp_path, capsys):
    import handler.site.build as build

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setenv("PUBLISH_SITE", "true")
    monkeypatch.setattr(build, "update_site", broken)
    code, response = invoke(site, "scheduled.json", tmp_path, capsys)
    assert code == 0 and response["new"] == 2
    assert response["site"] == {"error": "OSError: disk full"}
    assert len(list(lambda_env.glob("articles/*/*/*/*.json"))) == 2


def test_publish_site_is_true_or_false(monkeypatch):
    from handler.core.config import settings_from_env
    from handler.core.errors import ConfigError

    assert settings_from_env({"PUBLISH_SITE": "TRUE"}).publish_site is True
    assert settings_from_env({}).publish_site is False
    with pytest.raises(ConfigError, match="PUBLISH_SITE='yes' is not 'true' or 'false'"):
        settings_from_env({"PUBLISH_SITE": "yes"})


def test_a_site_update_that_others_keep_beating_is_deferred_not_failed(
    site, lambda_env, monkeypatch, tmp_path, capsys
) -> None:
    import handler.site.build as build

    def busy(*_args, **_kwargs):
        raise build.SiteBusyError("s3://x/: the site's state kept changing under this build")

    monkeypatch.setenv("PUBLISH_SITE", "true")
    monkeypatch.setattr(build, "update_site", busy)
    code, response = invoke(site, "scheduled.json", tmp_path, capsys)
    assert code == 0 and response["new"] == 2 and "error" not in response["site"]
    assert "kept changing" in response["site"]["deferred"]


def test_a_cold_start_loads_no_site_code() -> None:
    """The Lambda entries and the CLI load the site's templates (Jinja2: ~170 ms of a cold
    start) only when a site is built: an invocation of a deployment without PublishSite, and
    every other command, never pays for them."""
    import subprocess
    import sys

    probe = (
        "import sys, handler.app, handler.cli; "
        "print(sorted(m for m in sys.modules if m == 'jinja2' or m.startswith('handler.site.')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
