import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

import boto3
import pytest
from moto import mock_aws

from conftest import page
from handler.archive.extraction import extract_article
from handler.archive.versions import save_version
from handler.core.capture import Capture as Response
from handler.core.errors import ConfigError, ConflictError, StoreError
from handler.store import LocalStore, S3Store, open_store
from handler.store.base import JSON_CONTENT_TYPE, Versioned
from handler.store.layout import article_key, raw_key, version_key

URL = "https://www.n-tv.de/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"


def make_doc(fetched: str, html: bytes | None = None) -> dict:
    from datetime import datetime

    return extract_article(
        html or page("ntv2025_article.html"), URL, fetched_at=datetime.fromisoformat(fetched)
    )


def test_key_layout_uses_publication_day_in_utc():
    doc = make_doc("2025-03-15T08:00:00+00:00")
    assert article_key(doc) == "articles/2025/03/14/ntv-40000001.json"
    assert version_key(doc) == "versions/ntv-40000001/20250315T080000000Z.json"
    # published 2025-03-14T09:30:05+01:00 is 08:30 UTC on the 14th
    assert raw_key(doc) == "raw/2025/03/14/ntv-40000001/20250315T080000000Z.warc.gz"


def test_unsafe_ids_never_become_keys():
    with pytest.raises(StoreError, match="unsafe document id"):
        article_key(
            {
                "id": "../../etc/passwd",
                "published_at": None,
                "fetched_at": "2025-01-01T00:00:00+00:00",
            }
        )


def test_local_store_round_trip_and_atomic_leftovers(tmp_path):
    store = LocalStore(tmp_path)
    store.put("a/b/c.json", b"{}", JSON_CONTENT_TYPE)
    assert store.get("a/b/c.json") == b"{}"
    assert store.get("a/b/missing.json") is None
    assert [p.name for p in (tmp_path / "a" / "b").iterdir()] == ["c.json"]  # no temp files left


@pytest.mark.parametrize("key", ["../x", "/etc/x", "a//b", "a/./b", ""])
def test_local_store_refuses_unsafe_keys(tmp_path, key):
    with pytest.raises(StoreError, match="unsafe store key"):
        LocalStore(tmp_path).put(key, b"x", JSON_CONTENT_TYPE)


def test_open_store_parses_destinations():
    assert isinstance(open_store("./archive"), LocalStore)
    s3 = open_store("s3://bucket/some/prefix/")
    assert isinstance(s3, S3Store) and s3.describe() == "s3://bucket/some/prefix/"
    with pytest.raises(ConfigError, match="needs a bucket"):
        open_store("s3:///x")


@mock_aws
def test_s3_store_sets_json_content_type_and_prefix(aws_env):
    boto3.client("s3").create_bucket(
        Bucket="arch", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    store = S3Store("arch", "ntv")
    store.put("articles/x.json", b"{}", JSON_CONTENT_TYPE)
    head = boto3.client("s3").head_object(Bucket="arch", Key="ntv/articles/x.json")
    assert head["ContentType"] == "application/json; charset=utf-8"
    assert store.get("articles/x.json") == b"{}"
    assert store.get("articles/missing.json") is None


@mock_aws
def test_s3_store_errors_are_one_line_store_errors(aws_env):
    with pytest.raises(StoreError, match=r"s3://no-such-bucket/: cannot write k: NoSuchBucket"):
        S3Store("no-such-bucket").put("k", b"x", JSON_CONTENT_TYPE)


def test_versions_new_unchanged_updated(tmp_path):
    store = LocalStore(tmp_path)
    first = make_doc("2025-03-14T10:00:00+00:00")
    assert save_version(store, first, None) == "new"
    assert save_version(store, make_doc("2025-03-14T11:00:00+00:00"), None) == "unchanged"
    edited = page("ntv2025_article.html").replace(b"im Herbst", b"im Winter")
    second = make_doc("2025-03-14T12:00:00+00:00", edited)
    assert save_version(store, second, None) == "updated"
    current = json.loads(store.get(article_key(second)))
    prior = json.loads(store.get("versions/ntv-40000001/20250314T100000000Z.json"))
    assert current["text"].endswith("im Winter beginnen.")
    assert prior["text"].endswith("im Herbst beginnen.")
    assert prior["content_sha256"] == first["content_sha256"]


def test_unreadable_current_document_is_left_untouched(tmp_path):
    store = LocalStore(tmp_path)
    doc = make_doc("2025-03-14T10:00:00+00:00")
    store.put(article_key(doc), b"not json", JSON_CONTENT_TYPE)
    with pytest.raises(StoreError, match="is not a readable document; left untouched"):
        save_version(store, doc, None)
    assert store.get(article_key(doc)) == b"not json"


def _stores(tmp_path):
    yield LocalStore(tmp_path)
    with mock_aws():
        boto3.client("s3").create_bucket(
            Bucket="cas", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        yield S3Store("cas", "p")


def test_conditional_writes_on_both_back_ends(tmp_path, aws_env):
    for store in _stores(tmp_path):
        assert store.read("state/s.json") == Versioned(None, None)
        store.put_if("state/s.json", b"1", JSON_CONTENT_TYPE, expected=None)
        first = store.read("state/s.json")
        assert first.data == b"1" and first.version
        with pytest.raises(ConflictError):
            store.put_if("state/s.json", b"x", JSON_CONTENT_TYPE, expected=None)
        store.put_if("state/s.json", b"2", JSON_CONTENT_TYPE, expected=first.version)
        with pytest.raises(ConflictError):  # first.version is stale now
            store.put_if("state/s.json", b"3", JSON_CONTENT_TYPE, expected=first.version)
        assert store.get("state/s.json") == b"2"
        store.delete("state/s.json")
        store.delete("state/s.json")  # deleting what is gone is fine
        assert store.get("state/s.json") is None


def test_racing_runs_store_one_version_once(tmp_path):
    store = LocalStore(tmp_path)
    docs = [make_doc(f"2025-03-14T10:00:0{i}+00:00") for i in range(8)]
    response = Response(URL, URL, 200, "OK", (("Content-Type", "text/html"),), b"<p>x</p>",
                        datetime.fromisoformat("2025-03-14T10:00:00+00:00"))  # fmt: skip
    barrier = threading.Barrier(len(docs))

    def race(doc: dict) -> str:
        barrier.wait()
        return save_version(store, doc, replace(response, fetched_at=_when(doc)))

    with ThreadPoolExecutor(len(docs)) as pool:
        outcomes = sorted(pool.map(race, docs))
    assert outcomes == ["new"] + ["unchanged"] * 7
    assert len(list(store.list("articles/"))) == 1
    # the losers removed their WARCs: the one capture left is the winner's
    [raw] = list(store.list("raw/"))
    current = json.loads(store.get("articles/2025/03/14/ntv-40000001.json"))
    assert raw == raw_key(current)
    assert not list(store.list("versions/"))


def _when(doc: dict) -> datetime:
    return datetime.fromisoformat(doc["fetched_at"])


class _LosesOneRace:
    """A store where a concurrent run's identical document lands just before our write."""

    def __init__(self, inner: LocalStore, winner: dict) -> None:
        self.inner, self.winner, self.raced = inner, winner, False

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def put_if(self, key, data, content_type, expected):
        if not self.raced and key.startswith("articles/"):  # the document's write, not the WARC's
            self.raced = True
            self.inner.put(key, json.dumps(self.winner).encode(), content_type)
            raise ConflictError("the other run was first")
        return self.inner.put_if(key, data, content_type, expected)


def test_losing_a_race_in_the_same_millisecond_keeps_the_shared_capture(tmp_path):
    # Both runs fetched the same page in the same millisecond: one raw key for both WARCs.
    fetched = "2025-03-14T10:00:00.123+00:00"
    doc = make_doc(fetched)
    winner = doc | {"capture": {"raw_key": raw_key(doc), "status": 200}}
    store = _LosesOneRace(LocalStore(tmp_path), winner)
    response = Response(URL, URL, 200, "OK", (), b"<p>x</p>", datetime.fromisoformat(fetched))
    assert save_version(store, doc, response) == "unchanged"
    assert store.get(raw_key(doc)) is not None  # the winner's document still has its capture


class Killed(BaseException):
    """The process dies here (kill -9): nothing after this write happens."""


class DiesBeforeVersionCopy(LocalStore):
    def put(self, key: str, data: bytes, content_type: str) -> None:
        if key.startswith("versions/"):
            raise Killed(key)
        super().put(key, data, content_type)


def test_a_run_dying_between_commit_and_version_copy_loses_no_version(tmp_path):
    """The superseded version is copied only after the commit (never stored twice); a run that
    dies in between leaves a marker from which the next run makes the copy and the line."""
    from handler.archive.catalog import Catalog

    first, second = make_doc("2025-03-14T10:00:00+00:00"), make_doc("2025-03-14T12:00:00+00:00")
    second["title"], second["content_sha256"] = "Neuer Titel", "f" * 64
    LocalStore(tmp_path).put(article_key(first), json.dumps(first).encode(), JSON_CONTENT_TYPE)
    dying = DiesBeforeVersionCopy(tmp_path)
    catalog = Catalog(dying, run_id="dead", grace_s=0)
    with pytest.raises(Killed):
        save_version(dying, second, None, before_writes=lambda i: catalog.intend(second, i))
    store = LocalStore(tmp_path)
    assert json.loads(store.get(article_key(second)) or b"{}")["title"] == "Neuer Titel"
    assert store.get(version_key(first)) is None  # the copy was never made ...
    recovered = Catalog(store, run_id="next", grace_s=0).flush()
    assert json.loads(store.get(version_key(first)) or b"{}") == first  # ... until now
    assert [line["id"] for line in recovered] == [second["id"]]
    assert list(store.list("index/pending/")) == []


def test_runs_dying_in_a_chain_before_their_copies_lose_no_line(tmp_path):
    """V1 committed, its run died before its line; V2 committed over it, its run died before
    copying V1 to versions/. V1's marker is listed first and V1 is then nowhere to be found;
    recovery must still give V1 its line once V2's marker restores the copy."""
    from handler.archive.catalog import Catalog

    base = make_doc("2025-03-14T09:00:00+00:00")
    first, second = make_doc("2025-03-14T10:00:00+00:00"), make_doc("2025-03-14T12:00:00+00:00")
    first["title"], first["content_sha256"] = "Erster Titel", "e" * 64
    second["title"], second["content_sha256"] = "Neuer Titel", "f" * 64
    LocalStore(tmp_path).put(article_key(base), json.dumps(base).encode(), JSON_CONTENT_TYPE)
    for run, doc in (("a1", first), ("b2", second)):
        dying = DiesBeforeVersionCopy(tmp_path)
        catalog = Catalog(dying, run_id=run, grace_s=0)
        with pytest.raises(Killed):
            save_version(dying, doc, None, before_writes=lambda i, c=catalog, d=doc: c.intend(d, i))
    store = LocalStore(tmp_path)
    assert store.get(version_key(first)) is None and store.get(version_key(base)) is None
    recovered = Catalog(store, run_id="next", grace_s=0).flush()
    assert sorted(line["version"] for line in recovered) == sorted(
        [first["fetched_at"], second["fetched_at"]]
    )
    assert json.loads(store.get(version_key(first)) or b"{}") == first
    assert json.loads(store.get(version_key(base)) or b"{}") == base
    assert list(store.list("index/pending/")) == []


def test_every_compare_and_swap_shares_one_retry_policy(tmp_path, monkeypatch):
    """Documents, run state and manifest give up after the same number of conflicts, with one
    message naming the key (store/conflicts.py)."""
    from handler.archive.catalog import Catalog
    from handler.archive.statestore import StateStore
    from handler.core.config import RetryPolicy
    from handler.store import conflicts

    monkeypatch.setattr(conflicts, "BACKOFF_STEP_S", 0.0)
    tries: list[str] = []

    class AlwaysRaced(LocalStore):
        def put_if(self, key, data, content_type, expected):
            tries.append(key)
            raise ConflictError(f"{key} changed")

    store = AlwaysRaced(tmp_path)
    doc = make_doc("2025-03-14T10:00:00+00:00")
    writes = {
        "document": lambda: save_version(store, doc, None),
        "state": lambda: StateStore(store, RetryPolicy()).update(lambda s: s.newest.update(x="y")),
        "manifest": lambda: Catalog(store, "a1").record(doc, "new"),
    }
    for name, write in writes.items():
        tries.clear()
        with pytest.raises(StoreError, match="kept changing") as raised:
            write()
        assert len(tries) == conflicts.MAX_ATTEMPTS, name
        assert raised.value.key == tries[0], name


def test_runs_probing_a_fresh_local_store_at_once_both_start(tmp_path):
    """The writability probe used to make the store's folders and remove them again, so a
    second run probing at the same moment could see the folder vanish under it and fail with
    'File exists' (seen in the parallel-pollers soak test). Now it makes no folder."""
    failures: list[Exception] = []
    for round_no in range(40):
        root = tmp_path / f"r{round_no}" / "archive"
        barrier = threading.Barrier(4)

        def probe(root=root, barrier=barrier) -> None:
            barrier.wait()
            try:
                LocalStore(root).check_writable()
            except StoreError as exc:
                failures.append(exc)

        threads = [threading.Thread(target=probe) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
