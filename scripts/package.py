#!/usr/bin/env python3
"""Build the Lambda deployment bundle and smoke-test it (``python3 tasks.py package``).

1. ``dist/lambda.zip`` for arm64 (the function's architecture): the hash-locked runtime
   dependencies (requirements/run.lock) as manylinux wheels for CPython 3.13 (the runtime),
   plus the package. botocore's API models are trimmed to the services the code declares in
   ``handler.core.aws.BUNDLED_SERVICES``; the rest of botocore's data is 28 MB it never reads.
2. ``sam validate --lint``, ``sam build`` and ``sam package`` (to a moto S3 server), as users
   deploy: what SAM uploads must be the bundle's files, byte for byte.
3. The same bundle for x86_64 (this machine's architecture; the same files apart from compiled
   extensions, which is checked), then the deployment rehearsal on it (tests/test_rehearsal.py):
   the template's stack in a moto server, every function run from the bundle by an isolated
   python3.13 with its own role's credentials. The zip size is printed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402  (the installer: one way to install for every venv and the bundle)

DIST = ROOT / "dist"
BUILD = ROOT / "build"
PLATFORMS = {"arm64": "aarch64-manylinux2014", "x86_64": "x86_64-manylinux2014"}
PYTHON_VERSION = "3.13"
MAX_ZIP_BYTES = 30_000_000
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entry times: the same inputs give the same bytes


def build(arch: str, reuse: bool = False) -> Path:
    """The bundle for ``arch``; with ``reuse``, the last one while its inputs are unchanged."""
    destination = DIST / ("lambda.zip" if arch == "arm64" else f"lambda-{arch}.zip")
    stamp = destination.with_name(destination.name + ".inputs")
    digest = inputs_digest()
    if reuse and destination.exists() and stamp.exists() and stamp.read_text() == digest:
        return destination
    target = BUILD / f"lambda-{arch}"
    shutil.rmtree(target, ignore_errors=True)
    # The locked wheels for the runtime's platform, exactly as listed (no resolution, hashes
    # checked), and the package itself built by the .venv's locked setuptools: tasks.py's uv.
    uv = [str(tasks.installer()), "pip", "install", "-q", "--python", sys.executable]
    _quietly(
        [*uv, "--python-platform", PLATFORMS[arch], "--python-version", PYTHON_VERSION,
         "--only-binary", ":all:", "--no-deps", "--require-hashes", "--target", str(target),
         "-r", str(ROOT / "requirements/run.lock")],
        f"installing requirements/run.lock for {arch}",
    )  # fmt: skip
    # setuptools builds the wheel through build/lib and never removes what it put there before:
    # a module deleted or moved in the source would still ship. Start from nothing.
    for stale in (BUILD / "lib", *BUILD.glob("bdist.*")):
        shutil.rmtree(stale, ignore_errors=True)
    _quietly(
        [*uv, "--no-deps", "--no-build-isolation", "--target", str(target), str(ROOT)],
        f"installing the package for {arch}",
    )
    trim(target)
    check_package_files(target)
    zip_tree(target, destination)
    stamp.write_text(digest)
    return destination


def check_package_files(target: Path) -> None:
    """The bundle's handler/ holds exactly the source tree's files (no stale module)."""

    def files(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}  # fmt: skip

    extra = files(target / "handler") - files(ROOT / "handler")
    if extra:
        sys.exit(f"package: the bundle holds files the source does not: {sorted(extra)[:5]}")


def inputs_digest() -> str:
    """What a bundle is made of: the lock, the package's files, this script."""
    digest = hashlib.sha256()
    sources = [ROOT / "requirements/run.lock", ROOT / "pyproject.toml", Path(__file__)]
    sources += sorted(p for p in (ROOT / "handler").rglob("*") if p.is_file()
                      and "__pycache__" not in p.parts)  # fmt: skip
    for path in sources:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def trim(target: Path) -> None:
    """Drop what the function never loads: other services' API models, caches, scripts."""
    for service in (target / "botocore" / "data").iterdir():
        if service.is_dir() and service.name not in bundled_services():
            shutil.rmtree(service)
    for junk in [*target.rglob("__pycache__"), target / "bin"]:
        shutil.rmtree(junk, ignore_errors=True)


def bundled_services() -> frozenset[str]:
    """The API models to keep: the list the code itself declares (handler.core.aws)."""
    from handler.core.aws import BUNDLED_SERVICES

    return BUNDLED_SERVICES


def zip_tree(source: Path, destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            entry = zipfile.ZipInfo(path.relative_to(source).as_posix(), FIXED_TIME)
            # Readable by all; a program the code runs (Pagefind's indexer) stays executable.
            entry.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            bundle.writestr(entry, path.read_bytes(), zipfile.ZIP_DEFLATED, 9)
    return destination


def extract_with_modes(archive: zipfile.ZipFile, directory: Path) -> None:
    """Unzip as Lambda does: each file keeps the mode bits its entry carries (zipfile's own
    extractall drops them, and Pagefind's indexer must stay executable)."""
    archive.extractall(directory)
    for entry in archive.infolist():
        mode = (entry.external_attr >> 16) & 0o777
        if mode and not entry.is_dir():
            (directory / entry.filename).chmod(mode)


def same_contents(arm: Path, x86: Path) -> list[str]:
    """Entries that differ between the two bundles beyond compiled extensions: the rehearsal
    runs the x86_64 twin, so it must hold the same code and data as the arm64 zip."""

    def portable(bundle: Path) -> set[str]:
        with zipfile.ZipFile(bundle) as archive:
            names = archive.namelist()
        # Wheels name their compiled parts and metadata per platform; everything else matches.
        return {n for n in names if not n.endswith(".so") and ".dist-info/" not in n
                and ".libs/" not in n}  # fmt: skip

    return sorted(portable(arm) ^ portable(x86))


def sam_ships(bundle: Path) -> str:
    """What users run: ``sam validate --lint``, ``sam build`` (infra/bundle/Makefile) and
    ``sam package`` (to a moto S3 server). The zip SAM uploads must hold exactly the bundle's
    files, byte for byte; returns the uploaded key."""
    sam = [sys.executable, str(ROOT / "tasks.py"), "sam"]
    for step in (["validate", "--lint"], ["build"]):
        _quietly([*sam, *step], f"sam {' '.join(step)}")
    import boto3

    with moto_server() as endpoint:
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "deploy",
               "AWS_SECRET_ACCESS_KEY": "deploy", "AWS_DEFAULT_REGION": "eu-central-1"}  # fmt: skip
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-central-1",
                          aws_access_key_id="deploy", aws_secret_access_key="deploy")  # fmt: skip
        s3.create_bucket(
            Bucket="deploy", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        packaged = BUILD / "packaged.yaml"
        command = [*sam, "package", "--template-file", ".aws-sam/build/template.yaml",
                   "--s3-bucket", "deploy", "--output-template-file", str(packaged)]  # fmt: skip
        _quietly(command, "sam package", env)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="deploy").get("Contents", [])]
        if len(keys) != 1:  # both functions share one artifact
            sys.exit(f"package: sam package uploaded {keys}, expected one shared bundle")
        shipped = s3.get_object(Bucket="deploy", Key=keys[0])["Body"].read()
    differing = sorted(set(_entries(bundle).items()) ^ set(_entries(shipped).items()))
    if differing:
        sys.exit(f"package: sam ships other files than the bundle: {differing[:5]}")
    return str(keys[0])


def _quietly(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    """Run a step; when it fails, one line: what failed, the step's first error line, where
    its whole output is, and how to retry."""
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        log = BUILD / "package.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}")
        first = tasks.first_error(done.stdout + done.stderr)
        sys.exit(f"package: {what} failed: {first} (full output: {tasks.relative(log)}); "
                 "retry with: python3 tasks.py package")  # fmt: skip


def _entries(bundle: Path | bytes) -> dict[str, int]:
    """A zip's files and their CRC-32s."""
    source = io.BytesIO(bundle) if isinstance(bundle, bytes) else bundle
    with zipfile.ZipFile(source) as archive:
        return {i.filename: i.CRC for i in archive.infolist() if not i.is_dir()}


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
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                sys.exit("package: moto server did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def readme_sizes() -> list[float]:
    """The bundle sizes the README and docs/deploy.md state ("**21.4 MB** zipped"), so that
    they cannot drift."""
    import re

    text = "".join((ROOT / name).read_text(encoding="utf-8")
                   for name in ("README.md", "docs/deploy.md"))  # fmt: skip
    found = re.findall(r"\*\*(\d+\.\d) MB\*\* zipped|\*\*(\d+\.\d) MB zipped\*\*", text)
    return [float(a or b) for a, b in found]


def unpack_into(directory: Path) -> int:
    """``sam build``'s step: the arm64 bundle (rebuilt only when its inputs changed), unpacked
    where SAM collects the function's code."""
    bundle = build("arm64", reuse=True)
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(bundle) as archive:
        extract_with_modes(archive, directory)
    print(f"{bundle.relative_to(ROOT)} unpacked into {directory}")
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--unpack-into"] and len(sys.argv) == 3:
        return unpack_into(Path(sys.argv[2]))
    arm = build("arm64")
    size = arm.stat().st_size
    print(
        f"dist/lambda.zip (arm64): {size / 1e6:.1f} MB zipped (limit {MAX_ZIP_BYTES / 1e6:.1f} MB)"
    )
    if size > MAX_ZIP_BYTES:
        sys.exit("package: bundle is over the size limit")
    stated = readme_sizes()
    if any(abs(mb - size / 1e6) > 0.15 for mb in stated):
        sys.exit(f"package: README.md / docs/deploy.md say the bundle is {stated} MB zipped, it is "
                 f"{size / 1e6:.1f} MB: update the figures")  # fmt: skip
    x86 = build("x86_64", reuse=True)
    differing = same_contents(arm, x86)
    if differing:
        sys.exit(f"package: the arm64 and x86_64 bundles differ: {differing[:10]}")
    shipped = sam_ships(arm)
    print(f"sam validate --lint, sam build, sam package: ships the bundle ({shipped})")
    # The deployment rehearsal (tests/test_rehearsal.py) on the bundle just built.
    env = {**os.environ, "REHEARSAL_BUNDLE": str(x86)}
    rehearsal = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 str(ROOT / "tests" / "test_rehearsal.py")]  # fmt: skip
    if subprocess.run(rehearsal, cwd=ROOT, env=env, check=False).returncode != 0:
        sys.exit("package: the deployment rehearsal failed")
    print(json.dumps({"bundle_bytes": size, "bundle_mb": round(size / 1e6, 2),
                      "rehearsal": "passed"}))  # fmt: skip
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except tasks.InstallError as failure:
        sys.exit(f"package: {failure}; retry with: python3 tasks.py package")
