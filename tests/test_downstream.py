"""For the people downstream: manifest, reader API and CLI, change events (moto), contract."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import jsonschema
import pytest
from moto import mock_aws

from conftest import FIXTURES, Site, assert_valid, page
from handler.archive.catalog import Catalog
from handler.archive.extraction import extract_article
from handler.archive.manifest import manifest_line
from handler.archive.reader import get_article, iter_articles
from handler.cli import main
from handler.schema import article_schema, manifest_line_schema
from handler.store import LocalStore, S3Store

PAGES = {
    "/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html": "ntv2025_article.html",
    "/panorama/Hafen-bekommt-neue-Faehre-article30000002.html": "ntv_legacy_article.html",
    "/politik/Haushaltsstreit-geht-in-die-naechste-Runde-id40000004.html": "ntv2025_byline.html",
}


@pytest.fixture
def archive(site: Site, aws_env):
    """A moto bucket, an event bus whose rule feeds an SQS queue, and a served site."""
    for path, name in PAGES.items():
        site.add(path, page(name))
    site.serve()
    with mock_aws():
        bucket = f"down-{uuid.uuid4().hex[:8]}"
        boto3.client("s3").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        events, sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name="archive-changes")
        queue = sqs.create_queue(QueueName="archived")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
        events.put_rule(Name="archived", EventBusName="archive-changes",
                        EventPattern=json.dumps({"source": ["ntv-archive"]}))  # fmt: skip
        events.put_targets(Rule="archived", EventBusName="archive-changes",
                           Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])  # fmt: skip
        yield f"s3://{bucket}/x", S3Store(bucket, "x"), queue


def poll(site: Site, dest: str, capsys) -> dict:
    assert main(site.run_args(dest, "--json", "--event-bus", "archive-changes")) == 0
    return json.loads(capsys.readouterr().out)


def received(queue: str) -> list[dict]:
    sqs, messages = boto3.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return messages


def stored_documents(store: S3Store) -> dict[str, dict]:
    return {
        json.loads(store.get(k))["id"]: json.loads(store.get(k)) for k in store.list("articles/")
    }


def test_list_show_export_return_exactly_the_archived_documents(site, archive, capsys):
    dest, store, _ = archive
    assert poll(site, dest, capsys)["new"] == 3
    documents = stored_documents(store)

    assert main(["list", "--store", dest, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(row["id"] for row in listed) == sorted(documents)

    for article_id, document in documents.items():
        assert main(["show", article_id, "--store", dest]) == 0
        assert json.loads(capsys.readouterr().out) == document

    assert main(["export", "--store", dest, "--since", "2023-01-01", "--until", "2025-12-31"]) == 0
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {d["id"]: d for d in exported} == documents
    for document in exported:
        assert_valid(document)

    # A range selects by publication day.
    assert (
        main(["list", "--store", dest, "--since", "2025-03-14", "--until", "2025-03-14", "--json"])
        == 0
    )
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["ntv-40000001"]


def test_manifest_lines_and_events_once_per_new_version(site, archive, capsys):
    dest, store, queue = archive
    poll(site, dest, capsys)
    [manifest] = list(store.list("index/2"))  # the one day this test ran on
    lines = [json.loads(line) for line in store.get(manifest).splitlines()]
    assert sorted(line["id"] for line in lines) == ["ntv-30000002", "ntv-40000001", "ntv-40000004"]
    for line in lines:
        jsonschema.validate(line, manifest_line_schema())
        assert json.loads(store.get(line["key"]))["content_sha256"] == line["content_sha256"]
    events = received(queue)
    assert sorted(e["detail"]["id"] for e in events) == sorted(line["id"] for line in lines)
    assert {(e["source"], e["detail-type"]) for e in events} == {("ntv-archive", "ArticleArchived")}

    poll(site, dest, capsys)  # unchanged: no line, no event
    assert received(queue) == [] and len(store.get(manifest).splitlines()) == 3

    site.articles[0].html = page("ntv2025_article.html").replace(b"im Herbst", b"im Winter")
    site.articles[0].title = "Dachzeile: Schlagzeile, neu"  # the feed item changes with it
    site.serve()
    assert poll(site, dest, capsys)["updated"] == 1
    [event] = received(queue)
    assert (event["detail"]["id"], event["detail"]["status"]) == ("ntv-40000001", "updated")
    [line] = store.get(manifest).splitlines()[3:]
    assert json.loads(line) == {k: v for k, v in event["detail"].items() if k != "run_id"}
    # The line and the event say what changed: a word in the body, no field besides it.
    changes = json.loads(line)["changes"]
    jsonschema.validate(changes, article_schema()["$defs"]["changes"])
    assert changes["fields"] == ["body"] and changes["body"]["paragraphs_edited"] == 1
    [edit] = changes["body"]["edits"]
    assert (edit["removed"], edit["added"]) == ("Herbst", "Winter")


def test_bad_dates_and_unknown_ids_exit_2(tmp_path, capsys):
    (tmp_path / "state").mkdir()  # an archive (it has a run state), without that article
    (tmp_path / "state" / "run-state.json").write_text("{}")
    assert main(["show", "ntv-404", "--store", str(tmp_path)]) == 2
    assert "no article 'ntv-404'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["list", "--store", str(tmp_path), "--since", "2025-02-30"])
    assert exit_info.value.code == 2
    assert "'2025-02-30' is not a date YYYY-MM-DD" in capsys.readouterr().err
    assert (
        main(["list", "--store", str(tmp_path), "--since", "2025-03-02", "--until", "2025-03-01"])
        == 2
    )
    assert "'since' is after 'until'" in capsys.readouterr().err


def test_concurrent_manifest_appends_keep_every_line(tmp_path):
    store, barrier = LocalStore(tmp_path), threading.Barrier(8)
    doc = extract_article(page("ntv2025_article.html"), "https://www.n-tv.de/x")

    def append(n: int) -> None:
        barrier.wait()
        Catalog(store).record(doc | {"fetched_at": f"2025-03-14T10:00:0{n}.000+00:00"}, "new")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(append, range(8)))
    lines = Catalog(store).lines("2025-03-14")
    assert sorted(line["version"] for line in lines) == [
        f"2025-03-14T10:00:0{n}.000+00:00" for n in range(8)
    ]


def test_reader_api(tmp_path):
    store = LocalStore(tmp_path)
    doc = extract_article(page("ntv_legacy_article.html"), "https://www.n-tv.de/x")
    from handler.archive.versions import save_version

    save_version(store, doc, None)
    Catalog(store).record(doc, "new")
    assert get_article(store, "ntv-30000002") == doc
    assert [d["id"] for d in iter_articles(store)] == ["ntv-30000002"]
    assert manifest_line(doc, "new")["key"] == "articles/2023/04/28/ntv-30000002.json"


def test_frozen_v1_sample_still_meets_the_v1_reader(tmp_path):
    """Compatibility: today's documents must satisfy the frozen v1.0.0 schema, and the frozen
    v1 sample must still validate against today's schema."""
    frozen_schema = json.loads((FIXTURES / "compat" / "article-v1.0.0.schema.json").read_text())
    frozen_sample = json.loads((FIXTURES / "compat" / "article-v1.0.0.sample.json").read_text())
    assert_valid(frozen_sample)
    for name in ("ntv2025_article.html", "ntv_legacy_article.html", "generic_article.html"):
        jsonschema.validate(extract_article(page(name), "https://www.n-tv.de/x"), frozen_schema)
