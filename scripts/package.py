#!/usr/bin/env python3
"""Build the Lambda deployment bundle and smoke-test it (``python3 tasks.py package``).

1. ``dist/lambda.zip`` for arm64 (the function's architecture): the hash-locked runtime
   dependencies (requirements/run.lock) as manylinux wheels for CPython 3.11, plus the package.
   botocore's API models are trimmed to the services the function calls (S3, and STS for
   credential chains); the rest of botocore's data is 28 MB the function never reads.
2. The same bundle for x86_64, unpacked and run on this machine by an isolated interpreter that
   sees nothing but the bundle: it imports ``handler.app`` and handles the scheduled event
   against a moto S3 server and a local feed. The zip size is printed.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
BUILD = ROOT / "build"
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
PYTHON_VERSION = "3.13"
MAX_ZIP_BYTES = 30_000_000
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entry times: the same inputs give the same bytes


def build(arch: str) -> Path:
    target = BUILD / f"lambda-{arch}"
    shutil.rmtree(target, ignore_errors=True)
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "--platform", PLATFORMS[arch], "--implementation", "cp",
         "--python-version", PYTHON_VERSION, "--only-binary=:all:", "--no-deps",
         "--require-hashes", "--target", str(target), "-r", str(ROOT / "requirements/run.lock")],
        check=True,
    )  # fmt: skip
    # --upgrade: the dependencies already made bin/ (dropped by trim), which pip would warn about.
    subprocess.run([*pip, "--no-deps", "--upgrade", "--target", str(target), str(ROOT)], check=True)
    trim(target)
    return zip_tree(target, DIST / ("lambda.zip" if arch == "arm64" else f"lambda-{arch}.zip"))


def trim(target: Path) -> None:
    """Drop what the function never loads: other services' API models, caches, scripts."""
    for service in (target / "botocore" / "data").iterdir():
        if service.is_dir() and service.name not in bundled_services():
            shutil.rmtree(service)
    for junk in [*target.rglob("__pycache__"), target / "bin"]:
        shutil.rmtree(junk, ignore_errors=True)


def bundled_services() -> frozenset[str]:
    """The API models to keep: the list the code itself declares (handler.aws)."""
    sys.path.insert(0, str(ROOT))
    from handler.aws import BUNDLED_SERVICES

    return BUNDLED_SERVICES


def zip_tree(source: Path, destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            entry = zipfile.ZipInfo(path.relative_to(source).as_posix(), FIXED_TIME)
            entry.external_attr = 0o644 << 16
            bundle.writestr(entry, path.read_bytes(), zipfile.ZIP_DEFLATED, 9)
    return destination


def smoke(bundle: Path) -> dict[str, object]:
    """Run the scheduled event from the unpacked bundle alone, against moto and a local feed."""
    import boto3  # the dev environment's, to prepare the bucket; the bundle brings its own

    with tempfile.TemporaryDirectory() as tmp, local_site() as feed_url, moto_server() as s3_url:
        unpacked = Path(tmp) / "bundle"
        zipfile.ZipFile(bundle).extractall(unpacked)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_ENDPOINT_URL": s3_url,
            "AWS_ACCESS_KEY_ID": "smoke",
            "AWS_SECRET_ACCESS_KEY": "smoke",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "ARCHIVE_STORE": "s3://smoke-archive/",
            "FEED_URL": feed_url,
            "ALLOWED_HOSTS": "127.0.0.1",
        }
        s3 = boto3.client("s3", endpoint_url=s3_url, region_name="eu-central-1",
                          aws_access_key_id="smoke", aws_secret_access_key="smoke")  # fmt: skip
        s3.create_bucket(
            Bucket="smoke-archive",
            CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
        )
        code = (
            "import json, sys; sys.path.insert(0, sys.argv[1]);"
            "from handler.app import lambda_handler;"
            "import handler, botocore; assert handler.__file__.startswith(sys.argv[1]);"
            "assert botocore.__file__.startswith(sys.argv[1]);"
            "event = {'source': 'aws.events', 'detail-type': 'Scheduled Event'};"
            "print('RESPONSE', json.dumps(lambda_handler(event, None)))"
        )
        # -I: isolated (no user site, no PYTHON* variables); -S: no site-packages at all.
        run = subprocess.run(
            [sys.executable, "-I", "-S", "-c", code, str(unpacked)],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        lines = [x for x in run.stdout.splitlines() if x.startswith("RESPONSE ")]
        if run.returncode != 0 or not lines:
            sys.exit(f"package: smoke test failed\n{run.stdout}\n{run.stderr}")
        response = json.loads(lines[0].removeprefix("RESPONSE "))
        listed = s3.list_objects_v2(Bucket="smoke-archive").get("Contents", [])
        keys = [o["Key"] for o in listed if o["Key"].startswith(("articles/", "raw/"))]
        if response.get("new") != 1 or len(keys) != 2:  # the document and its capture
            sys.exit(f"package: smoke test archived {response} with objects {keys}")
        return {"response_new": response["new"], "objects": keys}


class _Site(http.server.BaseHTTPRequestHandler):
    page = (ROOT / "tests/fixtures/pages/ntv2025_article.html").read_bytes()

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        link = f"http://127.0.0.1:{port}/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"
        if self.path == "/rss":
            body = (
                '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                f"<item><title>Kicker: Titel</title><link>{link}</link></item></channel></rss>"
            ).encode()
            kind = "application/rss+xml"
        else:
            body, kind = self.page, "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def local_site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/rss"
    finally:
        server.shutdown()


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            if time.monotonic() > deadline:
                sys.exit("package: moto server did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    arm = build("arm64")
    size = arm.stat().st_size
    print(
        f"dist/lambda.zip (arm64): {size / 1e6:.1f} MB zipped (limit {MAX_ZIP_BYTES / 1e6:.1f} MB)"
    )
    if size > MAX_ZIP_BYTES:
        sys.exit("package: bundle is over the size limit")
    x86 = build("x86_64")
    result = smoke(x86)
    print(
        f"smoke test ({x86.relative_to(ROOT)}, isolated interpreter): archived {result['objects']}"
    )
    print(json.dumps({"bundle_bytes": size, "bundle_mb": round(size / 1e6, 2), "smoke": "ok"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
