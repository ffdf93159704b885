"""Deployed as tested: the built bundle, the template and its IAM, run the way AWS runs them
(see tests/rehearsal.py for how, and docs/deploy.md, "Bundle and deploy", for what this proves).

The bundle is ``$REHEARSAL_BUNDLE`` when set (``tasks.py package`` passes the zip it built),
else the x86_64 twin of ``dist/lambda.zip``, built here from the same lock (reused while its
inputs are unchanged). The rehearsal needs the runtime's Python (3.13).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rehearsal import (
    ROOT,
    RUNTIME_PYTHON,
    Invocation,
    LocalSite,
    Moto,
    Stack,
    deploy,
    invoke,
    local_site,
    moto_process,
    runtime_python,
    transformed_template,
    unpack,
)

PAGE = (ROOT / "tests/fixtures/pages/ntv2025_article.html").read_bytes()
EVENTS = ROOT / "events"

pytestmark = pytest.mark.rehearsal


@pytest.fixture(scope="module")
def python() -> str:
    found = runtime_python()
    if found is None:
        pytest.skip(f"the rehearsal needs python{RUNTIME_PYTHON} (the Lambda runtime); not found")
    return found


@pytest.fixture(scope="module")
def bundle_zip() -> Path:
    given = os.environ.get("REHEARSAL_BUNDLE")
    if given:
        return Path(given)
    sys.path.insert(0, str(ROOT / "scripts"))
    import package

    return package.build("x86_64", reuse=True)


@pytest.fixture(scope="module")
def bundle(bundle_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpack(bundle_zip, tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    with moto_process() as server:
        yield server


@pytest.fixture(scope="module")
def site() -> Iterator[LocalSite]:
    with local_site() as pages:
        yield pages


def stack_for(
    moto: Moto,
    site: LocalSite,
    bundle_zip: Path,
    name: str,
    mode: str,
    edit: Callable[[dict[str, Any]], None] | None = None,
    **parameters: str,
) -> Stack:
    return deploy(
        moto,
        name,
        bundle_zip,
        transformed_template(edit),
        Mode=mode,
        FeedUrl=f"{site.base}/politik/rss",
        AllowedHosts="127.0.0.1",
        MaxReceiveCount="2",
        # Both stacks publish the site: every invocation that stores something updates it,
        # under the functions' own roles (IAM enforced), with the bundle's Pagefind.
        PublishSite="true",
        **parameters,
    )


@pytest.fixture(scope="module")
def inline(moto: Moto, site: LocalSite, bundle_zip: Path) -> Stack:
    return stack_for(moto, site, bundle_zip, "inline", "inline")


@pytest.fixture(scope="module")
def fanout(moto: Moto, site: LocalSite, bundle_zip: Path) -> Stack:
    return stack_for(moto, site, bundle_zip, "fanout", "fanout")


def article(site: LocalSite, number: int, served: bool = True) -> str:
    """Article ``number`` (its id is ntv-4000NNNN): served, or answering 404."""
    article_id = f"id4{number:07d}"
    path = f"/politik/Rehearsal-{number}-{article_id}.html"
    html = PAGE.replace(b"id40000001", article_id.encode()) if served else None
    site.article(path, html)
    return path


def run(stack: Stack, function: str, event: Any, bundle: Path, python: str) -> Invocation:
    return invoke(stack.moto, stack.functions[function], event, bundle, python)


def change_events(stack: Stack) -> list[dict[str, Any]]:
    """What the stack's example rule copied from its bus into its queue, so far."""
    return [json.loads(r["body"]) for r in stack.receive(stack.outputs["ArchivedArticlesQueueUrl"])]


# ---------------------------------------------------------------------------------------------
# The checks, each a list of problems (empty: the path works as deployed)


def scheduled_poll_problems(
    stack: Stack, site: LocalSite, bundle: Path, python: str, number: int
) -> list[str]:
    """Inline: the schedule's own event archives a new article and announces it on the bus."""
    path = article(site, number)
    site.feed({path: "Rehearsal: Eine Schlagzeile"})
    result = run(stack, "PollerFunction", stack.schedule_input(), bundle, python)
    problems = invocation_problems(result)
    if result.error:
        return problems
    response = result.response
    if (response["new"], response["failed"], response["events_failed"]) != (1, 0, 0):
        problems.append(
            f"poll: new/failed/events_failed = {response['new']}/"
            f"{response['failed']}/{response['events_failed']}: {response['failures']}"
        )
    article_id = f"ntv-4{number:07d}"
    if not [k for k in stack.keys("articles/") if k.endswith(f"/{article_id}.json")]:
        problems.append(f"no document for {article_id} in the stack's bucket")
    announced = [e for e in change_events(stack) if e["detail"]["id"] == article_id]
    if len(announced) != 1 or announced[0]["detail"].get("run_id") != response["run_id"]:
        problems.append(f"change event for {article_id} not delivered with the run id")
    return problems + site_problems(stack, [article_id], response.get("site"))


def site_problems(stack: Stack, article_ids: list[str], said: dict | None) -> list[str]:
    """PublishSite=true: the invocation brought site/ up to date, search index included."""
    problems = []
    if said is not None and (said.get("error") or said.get("warnings")):
        problems.append(f"site update: {said}")
    keys = stack.keys("site/")
    for article_id in article_ids:
        if f"site/articles/{article_id}.html" not in keys:
            problems.append(f"no site page for {article_id}")
    if not any(k.startswith("site/search/") and k.endswith("pagefind-entry.json") for k in keys):
        problems.append("no search index under site/search/")
    if "site/index.html" not in keys or any(k.startswith("site/_build") for k in keys):
        problems.append("site/ lacks its home page, or holds the build's state")
    return problems


def invocation_problems(result: Invocation) -> list[str]:
    problems = []
    if result.error:
        problems.append(f"invocation failed: {result.error}")
    if result.python != RUNTIME_PYTHON:
        problems.append(f"ran on Python {result.python}, not the runtime's {RUNTIME_PYTHON}")
    if result.outside_bundle:
        problems.append(f"modules loaded from outside the bundle: {result.outside_bundle}")
    if len(result.emf) != 1:
        problems.append(f"{len(result.emf)} EMF records (one per invocation expected)")
    return problems


def worker_round(stack: Stack, bundle: Path, python: str) -> tuple[list[dict], Invocation]:
    """One batch from the work queue through the worker, settled as the event source would."""
    queue = stack.outputs["WorkQueueUrl"]
    worker = stack.functions["WorkerFunction"]
    assert worker.reports_failures and worker.batch_size == 10  # as the template maps it
    records = stack.receive(queue, worker.batch_size)
    result = run(stack, "WorkerFunction", {"Records": records}, bundle, python)
    if result.error is None:
        stack.settle(queue, records, result.response)
    return records, result


def message_accounted_for(stack: Stack, body_marker: str) -> bool:
    """A work message is archived, in the work queue, or in its DLQ: never simply gone."""
    for queue in (stack.outputs["WorkQueueUrl"], stack.outputs["WorkDeadLetterQueueUrl"]):
        held = stack.receive(queue)
        stack.settle(
            queue, held, {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in held]}
        )
        if any(body_marker in r["body"] for r in held):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# The deployed paths, both modes


def test_the_template_runtime_is_the_rehearsal_interpreter(inline: Stack):
    assert {f.runtime for f in inline.functions.values()} == {f"python{RUNTIME_PYTHON}"}
    assert set(inline.functions) == {"PollerFunction"}


def test_inline_scheduled_poll_archives_and_announces_on_the_stack_bus(
    inline, site, bundle, python
):
    assert scheduled_poll_problems(inline, site, bundle, python, number=101) == []


def test_inline_metrics_carry_the_stable_action(inline, site, bundle, python):
    path = article(site, 102)
    site.feed({path: "Rehearsal: Metriken"})
    result = run(inline, "PollerFunction", inline.schedule_input(), bundle, python)
    [record] = result.emf
    assert (record["action"], record["ArticlesNew"], record["EventsFailed"]) == (
        "scheduled",
        [1.0],
        [0.0],
    )
    logged = [line for line in result.logs if line.get("message") == "article new"]
    assert logged and all(line["run_id"] == result.response["run_id"] for line in logged)


def test_replay_and_reprocess_events_as_shipped(inline, site, bundle, python):
    site.article("/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html", PAGE)  # its URL
    replay = json.loads(
        (EVENTS / "replay.json").read_text().replace("https://www.n-tv.de", site.base)
    )
    replayed = run(inline, "PollerFunction", replay, bundle, python)
    assert invocation_problems(replayed) == []
    assert replayed.response["failed"] == 0
    assert replayed.response["new"] + replayed.response["unchanged"] == 1
    reprocess = json.loads((EVENTS / "reprocess.json").read_text())
    reprocessed = run(inline, "PollerFunction", reprocess, bundle, python)
    assert invocation_problems(reprocessed) == []
    assert (reprocessed.response["failed"], reprocessed.response["unchanged"]) == (0, 1)
    assert reprocessed.emf[0]["action"] == "reprocess"


def test_an_import_as_shipped_reads_imports_and_archives(inline, bundle, python, tmp_path):
    """The import event through the bundle, with the role's own access: a WARC uploaded under
    imports/ in the stack's bucket is read (GetObject there) and its article archived."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    url = "https://www.n-tv.de/politik/Rehearsal-Import-id41230001.html"
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(
        url, "response", payload=io.BytesIO(PAGE.replace(b"id40000001", b"id41230001")),
        http_headers=http, warc_headers_dict={"WARC-Date": "2016-09-14T08:15:00Z"}))  # fmt: skip
    bucket = inline.outputs["ArchiveBucketName"]
    inline.moto.client("s3").put_object(Bucket=bucket, Key="imports/rehearsal.warc.gz",
                                        Body=buffer.getvalue())  # fmt: skip
    event = {"action": "import", "keys": ["imports/rehearsal.warc.gz"]}
    result = run(inline, "PollerFunction", event, bundle, python)
    assert invocation_problems(result) == []
    assert (result.response["new"], result.response["failed"]) == (1, 0), result.response
    assert result.emf[0]["action"] == "import"
    assert [k for k in inline.keys("articles/") if k.endswith("/ntv-41230001.json")]


def test_a_revisit_as_shipped_advances_and_ends_its_schedule(
    moto, site, bundle_zip, bundle, python
):
    """A one-second schedule: the second poll revisits, and the entry's delete (the role's
    DeleteObject on index/revisit/) must be allowed, or the entry would stay for ever."""
    stack = stack_for(moto, site, bundle_zip, "revisits", "inline", RevisitAfter="1s")
    path = article(site, 131)
    site.feed({path: "Rehearsal: Nochmal"})
    first = run(stack, "PollerFunction", stack.schedule_input(), bundle, python)
    assert invocation_problems(first) == [] and first.response["new"] == 1
    assert len(stack.keys("index/revisit/")) == 1
    time.sleep(1.5)  # the one step comes due (time passing, not speed)
    second = run(stack, "PollerFunction", stack.schedule_input(), bundle, python)
    assert invocation_problems(second) == []
    assert (second.response["revisited"], second.response["unchanged"]) == (1, 1)
    assert second.emf[0]["ArticlesRevisited"] == [1.0]
    assert stack.keys("index/revisit/") == []  # its last step done: the entry is deleted
    assert not [line for line in second.logs if line.get("message") == "revisit not advanced"]


def test_a_refused_event_answers_with_an_error_and_a_metric(inline, bundle, python):
    result = run(
        inline,
        "PollerFunction",
        json.loads((EVENTS / "malformed.json").read_text()),
        bundle,
        python,
    )
    assert "error" in result.response
    assert result.emf[0]["InvocationsRefused"] == [1.0]


def test_fanout_poll_queues_and_the_worker_archives_from_the_real_queue(
    fanout, site, bundle, python
):
    assert set(fanout.functions) == {"PollerFunction", "WorkerFunction"}
    paths = [article(site, n) for n in (201, 202)]
    site.feed(dict.fromkeys(paths, "Rehearsal: Verteilt"))
    polled = run(fanout, "PollerFunction", fanout.schedule_input(), bundle, python)
    assert invocation_problems(polled) == []
    assert (polled.response["queued"], polled.response["new"]) == (2, 0)
    records, worked = worker_round(fanout, bundle, python)
    assert len(records) == 2
    assert all(json.loads(r["body"])["run_id"] == polled.response["run_id"] for r in records)
    assert invocation_problems(worked) == []
    assert worked.response == {"batchItemFailures": []}
    assert worked.emf[0]["action"] == "worker" and worked.emf[0]["ArticlesNew"] == [2.0]
    keys = fanout.keys("articles/")
    assert all(any(k.endswith(f"/ntv-4{n:07d}.json") for k in keys) for n in (201, 202))
    assert site_problems(fanout, ["ntv-40000201", "ntv-40000202"], None) == []
    events = {e["detail"]["id"]: e["detail"] for e in change_events(fanout)}
    assert events["ntv-40000201"]["poll_run_id"] == polled.response["run_id"]
    assert fanout.receive(fanout.outputs["WorkQueueUrl"]) == []


def test_fanout_reprocess_is_queued_in_shards_and_the_workers_re_extract(
    fanout, site, bundle, python
):
    paths = [article(site, n) for n in (211, 212)]
    site.feed(dict.fromkeys(paths, "Rehearsal: Nochmals"))
    run(fanout, "PollerFunction", fanout.schedule_input(), bundle, python)
    worker_round(fanout, bundle, python)
    event = {"action": "reprocess", "ids": ["ntv-40000211", "ntv-40000212"]}
    planned = run(fanout, "PollerFunction", event, bundle, python)
    assert invocation_problems(planned) == []
    assert planned.response["queued"] >= 1 and planned.response["reprocess"]["queued"]
    records, worked = worker_round(fanout, bundle, python)
    shard_ids = [i for r in records for i in json.loads(r["body"])["reprocess"]["ids"]]
    assert sorted(shard_ids) == ["ntv-40000211", "ntv-40000212"]
    assert invocation_problems(worked) == []
    assert worked.response == {"batchItemFailures": []}
    assert worked.emf[0]["ArticlesUnchanged"] == [2.0]  # same rules, same capture
    assert fanout.receive(fanout.outputs["WorkQueueUrl"]) == []


def test_fanout_poison_message_reaches_the_stacks_dlq_with_its_reason(fanout, site, bundle, python):
    path = article(site, 203, served=False)
    site.feed({path: "Rehearsal: Verschwunden"})
    assert (
        run(fanout, "PollerFunction", fanout.schedule_input(), bundle, python).response["queued"]
        == 1
    )
    answers = []
    for _ in range(2):  # MaxReceiveCount=2: reported once, then dead-lettered by the worker
        records, worked = worker_round(fanout, bundle, python)
        assert len(records) == 1
        answers.append(len(worked.response["batchItemFailures"]))
    assert answers == [1, 0]
    [dead] = fanout.receive(fanout.outputs["WorkDeadLetterQueueUrl"])
    assert dead["messageAttributes"]["reason"]["StringValue"].endswith(
        "Rehearsal-203-id40000203.html: HTTP 404 Not Found"
    )
    assert "Rehearsal-203" in dead["body"]


def test_fanout_malformed_message_goes_to_the_dlq_at_once(fanout, bundle, python):
    fanout.moto.client("sqs").send_message(
        QueueUrl=fanout.outputs["WorkQueueUrl"],
        MessageBody="{not a work message",
        MessageGroupId="malformed",
        MessageDeduplicationId="malformed-1",
    )
    _records, worked = worker_round(fanout, bundle, python)
    assert worked.response == {"batchItemFailures": []}
    [dead] = fanout.receive(fanout.outputs["WorkDeadLetterQueueUrl"])
    assert "work message is not a feed item" in dead["messageAttributes"]["reason"]["StringValue"]


# ---------------------------------------------------------------------------------------------
# The rehearsal fails where a deployment would


def test_it_fails_when_the_bundle_lacks_a_service_model(inline, site, bundle, python, tmp_path):
    crippled = tmp_path / "bundle"
    shutil.copytree(bundle, crippled, symlinks=True)
    shutil.rmtree(crippled / "botocore" / "data" / "events")
    problems = scheduled_poll_problems(inline, site, crippled, python, number=301)
    assert any("events_failed = 1" in p for p in problems), problems
    assert any("change event for ntv-40000301 not delivered" in p for p in problems)


def without_statement(sid: str) -> Callable[[dict[str, Any]], None]:
    def edit(sam: dict[str, Any]) -> None:
        policy = sam["Resources"]["ArchiveAccessPolicy"]["Properties"]["PolicyDocument"]
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != sid]

    return edit


@pytest.mark.parametrize(
    ("sid", "symptom"),
    [
        ("AnnounceChanges", "events_failed = 1"),  # events:PutEvents on the bus
        ("ReadWriteArchivePrefixes", "AccessDenied"),  # s3:GetObject/PutObject on the prefixes
    ],
)
def test_it_fails_when_a_policy_lacks_a_permission_the_code_uses(
    moto, site, bundle_zip, bundle, python, sid, symptom
):
    stack = stack_for(moto, site, bundle_zip, f"no-{sid.lower()}", "inline", without_statement(sid))
    problems = scheduled_poll_problems(stack, site, bundle, python, number=302)
    assert any(symptom in p for p in problems), problems


def test_it_fails_when_the_functions_may_not_write_the_site(moto, site, bundle_zip, bundle, python):
    """Without the site's write permission the poll still archives (the site update comes
    after it, never at an article's cost) and says, and counts, that the update was denied."""

    def edit(sam: dict[str, Any]) -> None:
        policy = sam["Resources"]["FunctionsPublishSite"]["Properties"]["PolicyDocument"]
        policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "WriteSitePages"]

    stack = stack_for(moto, site, bundle_zip, "no-site-writes", "inline", edit)
    path = article(site, 304)
    site.feed({path: "Rehearsal: Keine Seiten"})
    result = run(stack, "PollerFunction", stack.schedule_input(), bundle, python)
    assert invocation_problems(result) == []
    assert (result.response["new"], result.response["failed"]) == (1, 0)
    assert "AccessDenied" in result.response["site"]["error"]
    assert result.emf[0]["SiteUpdateFailed"] == [1.0]
    assert not [k for k in stack.keys("site/") if k.endswith(".html")]


def test_it_fails_when_the_poller_may_not_queue_work(moto, site, bundle_zip, bundle, python):
    def edit(sam: dict[str, Any]) -> None:
        del sam["Resources"]["PollerQueuesWork"]

    stack = stack_for(moto, site, bundle_zip, "no-queue-work", "fanout", edit)
    path = article(site, 303)
    site.feed({path: "Rehearsal: Keine Warteschlange"})
    result = run(stack, "PollerFunction", stack.schedule_input(), bundle, python)
    assert result.error and "AccessDenied" in result.error
    assert result.emf[0]["RunsFailed"] == [1.0]  # the metrics still flushed


def test_it_fails_when_the_worker_acks_a_message_it_could_neither_archive_nor_dead_letter(
    moto, site, bundle_zip, bundle, python, tmp_path
):
    def edit(sam: dict[str, Any]) -> None:  # the worker's role may not send to its DLQ
        role = sam["Resources"]["WorkerRole"]["Properties"]
        statements = role["Policies"][0]["PolicyDocument"]["Statement"]
        statements[:] = [s for s in statements if s.get("Sid") != "DeadLetterWithReason"]

    stack = stack_for(moto, site, bundle_zip, "no-dlq-send", "fanout", edit)
    path = article(site, 304, served=False)
    site.feed({path: "Rehearsal: Unzustellbar"})
    run(stack, "PollerFunction", stack.schedule_input(), bundle, python)

    # A worker that acknowledges whatever happened loses the message: the check sees it.
    careless = tmp_path / "careless"
    shutil.copytree(bundle, careless, symlinks=True)
    worker = careless / "handler" / "run" / "worker.py"
    worker.write_text(
        worker.read_text() + "\n\n_report = process_batch\n"
        "def process_batch(*args, **kwargs):\n"
        "    failures, summary = _report(*args, **kwargs)\n"
        "    return [], summary\n"
    )
    shutil.rmtree(careless / "handler" / "run" / "__pycache__", ignore_errors=True)
    for _ in range(2):
        records, _result = worker_round(stack, careless, python)
        if not records:
            break
    assert not message_accounted_for(stack, "Rehearsal-304")

    # The shipped worker reports it instead: it stays queued for the redrive.
    path = article(site, 305, served=False)
    site.feed({path: "Rehearsal: Unzustellbar 2"})
    run(stack, "PollerFunction", stack.schedule_input(), bundle, python)
    for _ in range(2):
        records, result = worker_round(stack, bundle, python)
        assert [f["itemIdentifier"] for f in result.response["batchItemFailures"]] == [
            r["messageId"] for r in records
        ]
    assert message_accounted_for(stack, "Rehearsal-305")
