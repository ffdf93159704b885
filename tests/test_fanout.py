"""Many feeds: the feeds file, inline polling of several feeds, and the SQS fan-out (moto)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from conftest import Site, page
from handler.app import lambda_handler, worker_handler
from handler.cli import main
from handler.cli.tools import LocalContext
from handler.core.errors import ConfigError
from handler.ingest.feeds import parse_feeds

ARTICLES = {
    "/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html": "ntv2025_article.html",
    "/panorama/Hafen-bekommt-neue-Faehre-article30000002.html": "ntv_legacy_article.html",
    "/politik/Haushaltsstreit-geht-in-die-naechste-Runde-id40000004.html": "ntv2025_byline.html",
}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"feeds": [', "feeds.json: line 1 column 12: Expecting value"),
        ('{"feeds": []}', 'expected {"feeds": [ ... ]} with at least one feed'),
        ('{"feeds": [{"name": "a"}]}', "feeds[0].url: expected an http(s) URL, got None"),
        ('{"feeds": [{"name": "A B", "url": "https://x.de/rss"}]}', "feeds[0].name: expected"),
        ('{"feeds": [{"name": "a", "url": "https://x.de/rss", "profile": "bbc"}]}',
         "feeds[0].profile: expected one of ['generic', 'ntv'], got 'bbc'"),
        ('{"feeds": [{"name": "a", "url": "https://x.de/rss", "colour": "red"}]}',
         "feeds[0]: unknown field(s) 'colour'"),
        ('{"feeds": [{"name": "a", "url": "https://x.de/1"}, {"name": "a", "url": "https://x.de/2"}]}',
         "two feeds have the name 'a'"),
        ('{"feeds": [{"name": "a", "url": "https://x.de/1", "allow_hosts": "x"}]}',
         "feeds[0].allow_hosts: expected a list of host names"),
        ('{"feeds": [{"name": "a", "url": "https://x.de/1", "section": "../politik"}]}',
         "feeds[0].section: expected a URL folder name like 'politik'"),
    ],
)  # fmt: skip
def test_feeds_file_errors_name_the_line_or_field(text, message):
    with pytest.raises(ConfigError) as raised:
        parse_feeds(text.encode(), "feeds.json")
    assert message in str(raised.value)


def test_a_feeds_section_is_named_or_comes_from_the_feed_url():
    [named, derived, root] = parse_feeds(
        '{"feeds": [{"name": "a", "url": "https://www.n-tv.de/top/rss", "section": "politik"},'
        ' {"name": "b", "url": "https://www.n-tv.de/wirtschaft/rss"},'
        ' {"name": "c", "url": "https://www.n-tv.de/rss"}]}', "feeds.json")  # fmt: skip
    assert (named.section, derived.section, root.section) == ("politik", "wirtschaft", None)


def two_feed_site(site: Site, tmp_path) -> str:
    for path, name in ARTICLES.items():
        site.add(path, page(name))
    site.serve()
    listed = site.feed_xml()  # all three articles
    site.server.expect_request("/sport/rss").respond_with_data(
        listed, content_type="application/rss+xml"
    )
    local = {"allow_hosts": ["127.0.0.1"]}
    feeds = {"feeds": [
        {"name": "politik", "url": site.feed_url, **local},
        {"name": "sport", "url": site.url("/sport/rss"), "schedule": "hourly", **local},
        {"name": "broken", "url": site.url("/no-such-feed"), **local},
    ]}  # fmt: skip
    path = tmp_path / "feeds.json"
    path.write_text(json.dumps(feeds))
    return str(path)


def test_inline_mode_polls_every_feed_and_one_broken_feed_stops_nothing(site, tmp_path, capsys):
    feeds = two_feed_site(site, tmp_path)
    store = str(tmp_path / "a")
    # --allow-host is not given: each feed brings its own allowlist addition
    assert main(["run", "--feeds", feeds, "--store", store, "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    # The second feed lists the same three articles: the same content, so not new versions.
    assert (summary["new"], summary["unchanged"], summary["updated"]) == (3, 3, 0)
    assert [e["feed"] for e in summary["feed_errors"]] == ["broken"]
    assert len(summary["feeds"]) == 2
    assert main(["run", "--feeds", feeds, "--schedule", "hourly", "--store", store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["feed_url"].endswith("/sport/rss")


@pytest.fixture
def queues(aws_env, monkeypatch, tmp_path):
    with mock_aws():
        sqs = boto3.client("sqs")
        fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
        dlq = sqs.create_queue(QueueName="work-dlq.fifo", Attributes=fifo)["QueueUrl"]
        work = sqs.create_queue(
            QueueName="work.fifo", Attributes={**fifo, "VisibilityTimeout": "0"}
        )["QueueUrl"]
        monkeypatch.setenv("MODE", "fanout")
        monkeypatch.setenv("QUEUE_URL", work)
        monkeypatch.setenv("DEAD_LETTER_URL", dlq)
        monkeypatch.setenv("MAX_RECEIVES", "3")
        monkeypatch.setenv("ARCHIVE_STORE", str(tmp_path / "archive"))
        monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")
        yield sqs, work, dlq


def receive(sqs, url: str) -> list[dict]:
    """Received messages as the Lambda event source hands them to the worker."""
    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    return [
        {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
         "attributes": m["Attributes"], "messageAttributes": m.get("MessageAttributes", {}),
         "eventSource": "aws:sqs"}
        for m in got
    ]  # fmt: skip


def settle(sqs, url: str, records: list[dict], response: dict) -> None:
    """What the event source does with a worker's answer: delete all but the reported ones."""
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for record in records:
        if record["messageId"] not in failed:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=record["receiptHandle"])


def test_poll_queues_items_and_the_worker_archives_them(site, queues, monkeypatch, tmp_path):
    sqs, work, _ = queues
    for path, name in ARTICLES.items():
        site.add(path, page(name))
    site.serve()
    monkeypatch.setenv("FEED_URL", site.feed_url)
    polled = lambda_handler({"source": "aws.events"}, LocalContext(300))
    assert (polled["queued"], polled["new"]) == (3, 0)  # the poller fetches no article
    assert not list((tmp_path / "archive").glob("articles/**/*.json"))

    records = receive(sqs, work)
    assert len(records) == 3
    response = worker_handler({"Records": records}, LocalContext(300))
    assert response == {"batchItemFailures": []}
    settle(sqs, work, records, response)
    assert len(list((tmp_path / "archive").glob("articles/*/*/*/*.json"))) == 3

    again = lambda_handler({"source": "aws.events"}, LocalContext(300))
    assert again["queued"] == 0 and receive(sqs, work) == []  # nothing new, nothing queued
    site.articles[0].title = "Neue Dachzeile: Schlagzeile"
    site.serve()
    assert lambda_handler({"source": "aws.events"}, LocalContext(300))["queued"] == 1


def test_a_batch_with_one_failing_item_reports_exactly_that_item(site, queues, monkeypatch):
    sqs, work, _ = queues
    for path, name in ARTICLES.items():
        site.add(path, page(name))
    site.add("/politik/Weg-id40000099.html", None)  # 404
    site.serve()
    monkeypatch.setenv("FEED_URL", site.feed_url)
    lambda_handler({"source": "aws.events"}, LocalContext(300))
    records = receive(sqs, work)
    response = worker_handler({"Records": records}, LocalContext(300))
    [failure] = response["batchItemFailures"]
    failing = next(r for r in records if r["messageId"] == failure["itemIdentifier"])
    assert "Weg-id40000099" in failing["body"]


def test_a_poison_message_ends_in_the_dlq_with_its_reason(site, queues, monkeypatch):
    sqs, work, dlq = queues
    site.add("/politik/Weg-id40000099.html", None)  # always 404
    site.serve()
    monkeypatch.setenv("FEED_URL", site.feed_url)
    lambda_handler({"source": "aws.events"}, LocalContext(300))
    answers = []
    for _ in range(3):  # MAX_RECEIVES
        records = receive(sqs, work)
        assert len(records) == 1
        response = worker_handler({"Records": records}, LocalContext(300))
        answers.append(len(response["batchItemFailures"]))
        settle(sqs, work, records, response)
    assert answers == [1, 1, 0]  # reported twice, then given up on: moved, not reported
    assert receive(sqs, work) == []
    [dead] = receive(sqs, dlq)
    reason = dead["messageAttributes"]["reason"]["StringValue"]
    assert reason.endswith("/politik/Weg-id40000099.html: HTTP 404 NOT FOUND")
    assert dead["messageAttributes"]["receive_count"]["StringValue"] == "3"


def test_a_duplicate_message_archives_nothing_twice(site, queues, monkeypatch, tmp_path):
    sqs, work, _ = queues
    path, name = next(iter(ARTICLES.items()))
    site.add(path, page(name))
    site.serve()
    monkeypatch.setenv("FEED_URL", site.feed_url)
    lambda_handler({"source": "aws.events"}, LocalContext(300))
    [record] = receive(sqs, work)
    duplicate = {**record, "messageId": "duplicate-delivery"}
    response = worker_handler({"Records": [record, duplicate]}, LocalContext(300))
    assert response == {"batchItemFailures": []}
    archive = tmp_path / "archive"
    assert len(list(archive.glob("articles/*/*/*/*.json"))) == 1
    assert len(list(archive.glob("raw/*/*/*/*/*.warc.gz"))) == 1
    assert not list(archive.glob("versions/**/*.json"))
    manifest = next(archive.glob("index/*/*/*.jsonl")).read_text().splitlines()
    assert len(manifest) == 1  # one version, one line


def test_a_malformed_message_goes_to_the_dlq_at_once(queues):
    sqs, _, dlq = queues
    record = {"messageId": "m1", "body": "{not json", "eventSource": "aws:sqs",
              "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": "g"}}  # fmt: skip
    assert worker_handler({"Records": [record]}, LocalContext(60)) == {"batchItemFailures": []}
    [dead] = receive(sqs, dlq)
    assert "work message is not a feed item" in dead["messageAttributes"]["reason"]["StringValue"]


MALFORMED = {"messageId": "m1", "body": "{not json", "eventSource": "aws:sqs",
             "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": "g"}}  # fmt: skip


def test_a_malformed_message_without_a_dlq_is_left_to_the_redrive(queues, monkeypatch):
    monkeypatch.delenv("DEAD_LETTER_URL")
    response = worker_handler({"Records": [MALFORMED]}, LocalContext(60))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_a_message_whose_dead_letter_send_fails_is_reported_not_acknowledged(
    site, queues, monkeypatch
):
    sqs, work, _ = queues
    site.add("/politik/Weg-id40000099.html", None)  # always 404
    site.serve()
    monkeypatch.setenv("FEED_URL", site.feed_url)
    lambda_handler({"source": "aws.events"}, LocalContext(300))
    # The DLQ is gone (deleted, or the role may not send to it): the last receive must not ack.
    monkeypatch.setenv("DEAD_LETTER_URL", sqs.get_queue_url(QueueName="work.fifo")["QueueUrl"]
                       .replace("work.fifo", "gone.fifo"))  # fmt: skip
    monkeypatch.setenv("MAX_RECEIVES", "2")  # the minimum the settings accept
    records = receive(sqs, work)
    records[0]["attributes"]["ApproximateReceiveCount"] = "2"
    response = worker_handler({"Records": records}, LocalContext(300))
    assert response == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert worker_handler({"Records": [MALFORMED]}, LocalContext(60))["batchItemFailures"]


def test_work_messages_and_change_events_carry_the_poller_run_id(site, queues, monkeypatch):
    sqs, work, _ = queues
    path, name = next(iter(ARTICLES.items()))
    site.add(path, page(name))
    site.serve()
    monkeypatch.setenv("FEED_URL", site.feed_url)
    events = boto3.client("events")
    events.create_event_bus(Name="changes")
    seen = sqs.create_queue(QueueName="seen")["QueueUrl"]
    seen_arn = sqs.get_queue_attributes(QueueUrl=seen, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name="all", EventBusName="changes", EventPattern='{"source": ["ntv-archive"]}')
    target = {"Id": "q", "Arn": seen_arn["QueueArn"]}
    events.put_targets(Rule="all", EventBusName="changes", Targets=[target])
    monkeypatch.setenv("EVENT_BUS_NAME", "changes")
    poll_run = lambda_handler({"source": "aws.events"}, LocalContext(300))["run_id"]
    [record] = receive(sqs, work)
    assert json.loads(record["body"])["run_id"] == poll_run
    worker_handler({"Records": [record]}, LocalContext(300))
    [event] = sqs.receive_message(QueueUrl=seen)["Messages"]
    detail = json.loads(event["Body"])["detail"]
    assert detail["poll_run_id"] == poll_run
    assert detail["run_id"] != poll_run  # the worker's own run


def test_fanout_mode_needs_a_queue(monkeypatch):
    monkeypatch.setenv("MODE", "fanout")
    monkeypatch.delenv("QUEUE_URL", raising=False)
    assert lambda_handler({"source": "aws.events"}, LocalContext(60)) == {
        "error": "MODE=fanout needs QUEUE_URL (the queue the workers read)"
    }


def test_fanout_queues_due_revisits_and_the_worker_advances_them(
    site, queues, monkeypatch, tmp_path
):
    from datetime import UTC, datetime, timedelta

    import handler.run.context as context

    sqs, work, _ = queues
    for path, name in ARTICLES.items():
        site.add(path, page(name)).etag = '"v1"'
    site.serve()
    monkeypatch.setenv("FEED_URL", site.feed_url)
    lambda_handler({"source": "aws.events"}, LocalContext(300))
    records = receive(sqs, work)
    settle(sqs, work, records, worker_handler({"Records": records}, LocalContext(300)))
    revisits = tmp_path / "archive/index/revisit"
    first = sorted(p.name for p in revisits.glob("*.json"))
    assert len(first) == 3

    later = datetime.now(UTC) + timedelta(hours=1)  # the 30-minute revisits are due
    monkeypatch.setattr(context, "utcnow", lambda: later)
    polled = lambda_handler({"source": "aws.events"}, LocalContext(300))
    assert polled["queued"] == 3  # the feed is unchanged: these are the revisits
    records = receive(sqs, work)
    bodies = [json.loads(r["body"]) for r in records]
    assert all(b["revisit"]["etag"] == '"v1"' for b in bodies)
    response = worker_handler({"Records": records}, LocalContext(300))
    assert response == {"batchItemFailures": []}
    settle(sqs, work, records, response)
    after = sorted(p.name for p in revisits.glob("*.json"))
    assert len(after) == 3 and not set(after) & set(first)  # each moved to its 2 h step
    statuses = [
        answer.status_code for asked, answer in site.server.log if asked.path != "/politik/rss"
    ]
    assert statuses[-3:] == [304, 304, 304]  # revisited conditionally: no page re-sent


@pytest.mark.parametrize(
    ("revisit", "said"),
    [
        ("yes", "revisit must be an object"),
        ({"first_seen": "2025-03-14T09:00:00", "step": 0, "due": "2025-03-14T09:30:00+00:00"},
         "UTC offset"),
        ({"first_seen": "2025-03-14T09:00:00+00:00", "step": 0}, "not a schedule entry"),
        ({"first_seen": "2025-03-14T09:00:00+00:00", "step": 0,
          "due": "2025-03-14T09:30:00+00:00", "etag": 5}, "etag must be a string"),
    ],
)  # fmt: skip
def test_a_revisit_message_is_checked_like_any_message(revisit, said):
    from handler.core.errors import EventError
    from handler.run.fanout import WorkMessage

    item = {"id": "ntv-40000001", "link": "https://www.n-tv.de/politik/x-id40000001.html",
            "title": "K: T", "kicker": "K", "headline": "T", "teaser": None, "category": None,
            "published": None}  # fmt: skip
    body = json.dumps({"feed": None, "item": item, "revisit": revisit})
    with pytest.raises(EventError, match=said):
        WorkMessage.from_body(body)


def test_fanout_catches_up_after_a_gap_by_queueing_what_the_sitemap_lists(
    site, queues, monkeypatch
):
    sqs, work, _ = queues
    first = site.add("/politik/Vorher-id41008888.html", page("ntv2025_article.html"))
    site.serve()
    monkeypatch.setenv("FEED_URL", site.feed_url)
    monkeypatch.setenv("SITEMAP_URL", site.url("/news.xml"))
    assert lambda_handler({"source": "aws.events"}, LocalContext(300))["queued"] == 1
    settle(sqs, work, receive(sqs, work), {"batchItemFailures": []})
    first.listed = False
    later = site.add("/politik/Spaeter-id41006666.html", page("ntv2025_byline.html"))
    later.pub_date = "Mon, 17 Mar 2025 09:00:00 +0000"
    site.serve()
    missed = site.url("/politik/Dazwischen-id41007777.html")
    sitemap = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>'
        f"<loc>{missed}</loc><lastmod>2025-03-15T10:00:00+00:00</lastmod></url>"
        f"<url><loc>{site.url('/sport/Spiel-id42000001.html')}</loc>"
        "<lastmod>2025-03-15T10:00:00+00:00</lastmod></url></urlset>"
    )
    site.server.expect_request("/news.xml").respond_with_data(sitemap, content_type="text/xml")
    polled = lambda_handler({"source": "aws.events"}, LocalContext(300))
    assert polled["queued"] == 2  # the feed's new item and the one the outage hid
    queued = sorted(json.loads(r["body"])["item"]["link"] for r in receive(sqs, work))
    assert queued == sorted([site.url(later.path), missed])


def test_a_reprocess_in_fanout_mode_queues_a_shard_per_day_for_the_workers(queues, tmp_path):
    import sys
    from datetime import date
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from synthetic import build_archive, make_stale

    sqs, work, dlq = queues
    root = tmp_path / "archive"
    build_archive(str(root), 30, 3, first_day=date(2024, 5, 1))
    make_stale(root)
    event = {"action": "reprocess", "since": "2024-05-01", "until": "2024-05-31"}
    planned = lambda_handler(event, LocalContext(300))
    assert (planned["queued"], planned["items"]) == (3, 0)  # the poller re-extracts nothing
    assert planned["reprocess"]["queued"] and not planned["reprocess"]["complete"]
    again = lambda_handler(event, LocalContext(300))  # the job is on the queue: not resent
    assert again["queued"] == 0 and again["reprocess"]["queued"]

    records = receive(sqs, work)
    assert len(records) == 3 and {json.loads(r["body"])["reprocess"]["day"] for r in records} == {
        "2024-05-01", "2024-05-02", "2024-05-03"}  # fmt: skip
    response = worker_handler({"Records": records}, LocalContext(300))
    assert response == {"batchItemFailures": []}
    settle(sqs, work, records, response)
    assert receive(sqs, work) == []
    docs = [json.loads(p.read_text()) for p in root.glob("articles/*/*/*/[!.]*.json")]
    assert len(docs) == 30 and all(d.get("reprocessed_at") for d in docs)

    broken = {**records[0], "messageId": "m-broken",
              "body": '{"reprocess": {"day": "someday", "job": "j"}}'}  # fmt: skip
    assert worker_handler({"Records": [broken]}, LocalContext(60)) == {"batchItemFailures": []}
    [dead] = receive(sqs, dlq)
    assert "not a reprocess shard" in dead["messageAttributes"]["reason"]["StringValue"]


def test_a_shard_out_of_time_comes_back_and_goes_to_the_dlq_on_its_last_receive(queues, tmp_path):
    import sys
    from datetime import date
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from synthetic import build_archive

    sqs, work, dlq = queues
    build_archive(str(tmp_path / "archive"), 4, 1, first_day=date(2024, 6, 1))
    lambda_handler({"action": "reprocess", "since": "2024-06-01"}, LocalContext(300))
    [record] = receive(sqs, work)
    # Too little time left for any document: the shard is reported, and SQS brings it back.
    assert worker_handler({"Records": [record]}, LocalContext(1)) == {
        "batchItemFailures": [{"itemIdentifier": record["messageId"]}]}  # fmt: skip
    last = {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": "3"}}
    assert worker_handler({"Records": [last]}, LocalContext(1)) == {"batchItemFailures": []}
    [dead] = receive(sqs, dlq)
    assert "deferred" in dead["messageAttributes"]["reason"]["StringValue"]
