"""S3 faults injected with botocore's own event hooks, against moto's server over HTTP.

A ``before-send`` handler answers chosen requests with a 500 before they leave the client, the
way a throttled or failing S3 would; the SDK's standard retry mode must ride over short bursts,
and a run that cannot write must fail cleanly and leave the next run to finish the work."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from conftest import Site, local_settings, page
from handler.core.errors import StoreError
from handler.run.context import RunContext
from handler.run.poll import poll
from handler.store import S3Store

ERROR = b"<Error><Code>InternalError</Code><Message>injected fault</Message></Error>"


class _Body:
    def stream(self, **_: object):
        yield ERROR


class S3Faults:
    """Fail the next ``budget[operation]`` calls of each operation with HTTP 500."""

    def __init__(self, store: S3Store) -> None:
        self.budget: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        store.client.meta.events.register_first("before-send.s3", self._maybe_fail)

    def _maybe_fail(self, request, event_name: str, **_: object):
        operation = event_name.rsplit(".", 1)[-1]  # "before-send.s3.PutObject"
        if self.budget[operation] <= 0:
            return None
        self.budget[operation] -= 1
        self.injected[operation] += 1
        return AWSResponse(request.url, 500, {"Content-Type": "application/xml"}, _Body())


@pytest.fixture
def s3_store(aws_env, moto_server, monkeypatch) -> S3Store:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    bucket = f"faults-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    return S3Store(bucket, "a")


def serve(site: Site) -> None:
    site.add(
        "/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html", page("ntv2025_article.html")
    )
    site.add(
        "/panorama/Hafen-bekommt-neue-Faehre-article30000002.html", page("ntv_legacy_article.html")
    )
    site.serve()


def keys(store: S3Store) -> list[str]:
    return sorted(k for k in store.list("") if not k.startswith("state/"))


def test_short_put_and_get_bursts_are_ridden_over_by_sdk_retries(site, s3_store, tmp_path):
    serve(site)
    faults = S3Faults(s3_store)
    faults.budget.update({"PutObject": 3, "GetObject": 3})
    summary = poll(RunContext(local_settings("unused", site.feed_url), store=s3_store))
    assert (summary.counts["new"], summary.counts["failed"]) == (2, 0)
    assert faults.injected == Counter({"PutObject": 3, "GetObject": 3})
    assert len([k for k in keys(s3_store) if k.startswith("articles/")]) == 2


def test_a_store_that_cannot_write_fails_cleanly_and_the_next_run_finishes(site, s3_store):
    serve(site)
    faults = S3Faults(s3_store)
    faults.budget["PutObject"] = 1_000  # S3 is down for writes
    settings = local_settings("unused", site.feed_url)
    with pytest.raises(StoreError, match=r"cannot write state/run-state\.json: InternalError"):
        poll(RunContext(settings, store=s3_store))
    assert keys(s3_store) == []  # nothing half-written
    assert s3_store.get("state/run-state.json") is None

    faults.budget["PutObject"] = 0  # S3 is back
    summary = poll(RunContext(settings, store=s3_store))
    assert summary.counts["new"] == 2
    documents = [k for k in keys(s3_store) if k.startswith("articles/")]
    assert len(documents) == 2
    for key in documents:
        assert json.loads(s3_store.get(key) or b"{}")["capture"]["raw_key"] in keys(s3_store)
