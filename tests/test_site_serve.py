"""``ntv-archive serve`` and the site on S3: the commands as a user runs them, in their own
process, against a local archive and a moto server's bucket."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_import import edited_article_archive

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CLI = [sys.executable, "-c", "import sys; from handler.cli import main; sys.exit(main())"]


@contextmanager
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, list[str]]]:
    """``ntv-archive serve ARGS --port 0`` running; yields its address and what it said, and
    stops it with SIGTERM (Ctrl-C's SIGINT does the same, but a test runner's worker may start
    its children with SIGINT ignored)."""
    process = subprocess.Popen([*CLI, "serve", *args, "--port", "0"], stderr=subprocess.PIPE,
                               text=True, env=env or dict(os.environ))  # fmt: skip
    said: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            said.append(line)
            found = re.search(r"at (http://\S+/) ", line)
            if found:
                yield found.group(1), said
                break
        else:
            pytest.fail(f"serve did not start: {''.join(said)}")
    finally:
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=30)[1]
        said.append(rest)
    assert process.returncode == 0, said
    assert "stopped" in said[-1]
    assert "Traceback" not in "".join(said)


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with NO_PROXY.open(url, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), b""


def test_serve_builds_first_and_previews_on_loopback_only(tmp_path: Path) -> None:
    root = edited_article_archive(tmp_path)
    with serving("--store", str(root)) as (url, said):
        assert url.startswith("http://127.0.0.1:"), said
        status, headers, home = get(url)
        assert status == 200 and b"ntv-40000001" in home
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        status, headers, article = get(f"{url}articles/ntv-40000001.html")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b"<ins>" not in article and b"Versionen" not in article
        assert get(f"{url}days/")[0] == 200  # a folder is its index.html
        for outside in ("_build/build.json", "%2e%2e/state/run-state.json", "a//b", ".x"):
            assert get(f"{url}{outside}")[0] == 404, outside
    assert (root / "site" / "index.html").exists() and (root / "state" / "site").is_dir()


def test_serve_says_in_one_line_when_the_port_is_taken(tmp_path: Path) -> None:
    root = edited_article_archive(tmp_path)
    with serving("--store", str(root)) as (url, _):
        port = url.rsplit(":", 1)[1].strip("/")
        taken = subprocess.run([*CLI, "serve", "--store", str(root), "--port", port],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
    assert taken.returncode == 2
    lines = taken.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot serve on 127.0.0.1:{port}" in lines[0], lines


def test_site_and_serve_on_an_s3_archive(tmp_path: Path, moto_server: str) -> None:
    root = edited_article_archive(tmp_path)
    creds = {"AWS_ACCESS_KEY_ID": "site", "AWS_SECRET_ACCESS_KEY": "site",
             "AWS_DEFAULT_REGION": "eu-central-1", "AWS_ENDPOINT_URL": moto_server}  # fmt: skip
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="eu-central-1",
                      aws_access_key_id="site", aws_secret_access_key="site")  # fmt: skip
    s3.create_bucket(
        Bucket="arch", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    for path in root.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            s3.put_object(Bucket="arch", Key=f"a/{path.relative_to(root)}", Body=path.read_bytes())
    env = {**os.environ, **creds}
    built = subprocess.run([*CLI, "site", "--store", "s3://arch/a/"], env=env,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert built.returncode == 0 and "site full build: 1 article rendered" in built.stderr
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="arch", Prefix="a/")["Contents"]}
    assert {"a/site/index.html", "a/site/articles/ntv-40000001.html",
            "a/site/diffs/ntv-40000001/1.html", "a/state/site/build.json"} <= keys  # fmt: skip
    assert not any(k.startswith("a/site/_build") for k in keys)  # state is never published
    with serving("--store", "s3://arch/a/", env=env) as (url, said):
        assert "nothing new" not in "".join(said)
        status, _, diff = get(f"{url}diffs/ntv-40000001/1.html")
        assert status == 200 and b"<ins>Winter" in diff


@given(st.text(max_size=40) | st.from_regex(r"/[a-z_./%]{0,30}", fullmatch=True))
def test_any_request_path_names_a_page_inside_the_site_or_nothing(path: str) -> None:
    from handler.site.serve import site_path

    found = site_path(path)
    if found is not None:
        parts = found.split("/")
        assert "" not in parts and ".." not in parts and "." not in parts, found
        assert parts[0] != "_build" and not any(p.startswith(".") for p in parts), found
        assert "\x00" not in found and "\\" not in found
