#!/usr/bin/env python3
"""Bootstrap and run project tasks with nothing but Python (>= 3.11) and pip.

    python3 tasks.py run [ntv-archive run options]   poll the live feed into ./archive
    python3 tasks.py test [pytest options]           the whole test suite
    python3 tasks.py lint                            ruff (format + lint), mypy, import-linter
    python3 tasks.py bench                           benchmarks (bench/*.py), figures as JSON
    python3 tasks.py test-lowest [pytest options]    the suite on the lowest versions the
                                                     pyproject.toml floors allow (.venv-lowest)
    python3 tasks.py package                         dist/lambda.zip (arm64), size, and the
                                                     deployment rehearsal on its x86_64 twin
    python3 tasks.py sam ARGS                        the AWS SAM CLI (requirements/sam.lock),
                                                     e.g. sam build, sam validate --lint
    python3 tasks.py bundle DIR                      the bundle unpacked into DIR (sam build)
    python3 tasks.py lock                            re-resolve requirements/*.lock (uses uv)

Each task creates ``.venv`` on first use and installs the hash-locked dependencies it needs;
later calls skip the install while the lock file and pyproject.toml are unchanged.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
LOWEST = ROOT / ".venv-lowest"
LOWEST_BIN = LOWEST / ("Scripts" if os.name == "nt" else "bin")
LOCKS = {"run": ROOT / "requirements" / "run.lock", "dev": ROOT / "requirements" / "dev.lock"}


def ensure_env(profile: str) -> None:
    """Create .venv and install the ``profile`` lock into it unless already current."""
    # tasks.py may be started by any python3; say so plainly instead of failing later.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"tasks.py: Python >= 3.11 is needed, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print("tasks.py: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    lock = LOCKS[profile]
    digest = hashlib.sha256(lock.read_bytes() + (ROOT / "pyproject.toml").read_bytes())
    stamp = VENV / f".installed-{profile}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    print(f"tasks.py: installing {lock.relative_to(ROOT)} into .venv", file=sys.stderr)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--require-hashes", "-r", str(lock)], check=True)
    subprocess.run([*pip, "install", "--no-deps", "-e", str(ROOT)], check=True)
    stamp.write_text(digest.hexdigest())


def run_in_env(argv: list[str]) -> int:
    return subprocess.run(argv, cwd=ROOT, check=False).returncode


def task_run(args: list[str]) -> int:
    ensure_env("run")
    return run_in_env([str(BIN / "ntv-archive"), "run", *args])


def task_test(args: list[str]) -> int:
    ensure_env("dev")
    return run_in_env([str(BIN / "python"), "-m", "pytest", *args])


def task_test_lowest(args: list[str]) -> int:
    """The suite on the lowest direct versions pyproject.toml allows: proves the floors true."""
    ensure_env("dev")  # brings uv
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit("tasks.py: Python >= 3.11 is needed")
    resolved = LOWEST / "lowest.txt"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = LOWEST / ".installed"
    if not (stamp.exists() and stamp.read_text() == digest):
        if not (LOWEST_BIN / "python").exists():
            venv.EnvBuilder(with_pip=True).create(LOWEST)  # the bundle build uses pip
        uv = str(BIN / "uv")
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        steps = [
            [uv, "pip", "compile", "pyproject.toml", "--extra", "dev", "-q",
             "--resolution", "lowest-direct", "--python-version", version, "-o", str(resolved)],
            [uv, "pip", "install", "-q", "--python", str(LOWEST_BIN / "python"), "-r",
             str(resolved)],
            [uv, "pip", "install", "-q", "--python", str(LOWEST_BIN / "python"), "--no-deps",
             "-e", str(ROOT)],
        ]  # fmt: skip
        for step in steps:
            if run_in_env(step) != 0:
                return 1
        stamp.write_text(digest)
    # Not here: the rehearsal runs the bundle on the Lambda runtime's own Python with the
    # bundle's own locked packages (nothing of this venv), and the benchmark smoke tests check
    # the bench scripts, which the main run does; both would only repeat themselves.
    skip = ["--ignore=tests/test_rehearsal.py", "--ignore=tests/test_bench.py"]
    return run_in_env([str(LOWEST_BIN / "python"), "-m", "pytest", *skip, *args])


def task_lint(_args: list[str]) -> int:
    ensure_env("dev")
    checks = [
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "mypy")],
        [str(BIN / "lint-imports"), "--no-cache"],  # the layer contracts in pyproject.toml
    ]
    return max(run_in_env(check) for check in checks)


def task_bench(_args: list[str]) -> int:
    ensure_env("dev")
    return run_in_env([str(BIN / "python"), "bench/all.py"])


def task_package(_args: list[str]) -> int:
    ensure_env("dev")  # the rehearsal runs the bundle against a moto server
    return run_in_env([str(BIN / "python"), "scripts/package.py"])


def task_bundle(args: list[str]) -> int:
    """``sam build``'s step (infra/bundle/Makefile): the arm64 bundle, unpacked into DIR."""
    if len(args) != 1:
        sys.exit("usage: python3 tasks.py bundle DIR")
    ensure_env("dev")
    return run_in_env([str(BIN / "python"), "scripts/package.py", "--unpack-into", args[0]])


def task_sam(args: list[str]) -> int:
    """The AWS SAM CLI, pinned in requirements/sam.lock, in a venv of its own (.venv-sam):
    e.g. ``python3 tasks.py sam build`` or ``python3 tasks.py sam validate --lint``."""
    sam_venv = ROOT / ".venv-sam"
    sam_bin = sam_venv / BIN.name
    lock = ROOT / "requirements" / "sam.lock"
    stamp = sam_venv / ".installed"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        ensure_env("dev")  # brings uv (pip's hash mode trips over the CLI's extras)
        print("tasks.py: installing requirements/sam.lock into .venv-sam", file=sys.stderr)
        venv.EnvBuilder(with_pip=False).create(sam_venv)
        install = [str(BIN / "uv"), "pip", "install", "-q", "--python", str(sam_bin / "python"),
                   "--require-hashes", "-r", str(lock)]  # fmt: skip
        subprocess.run(install, check=True)
        stamp.write_text(digest)
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYTHON": str(Path(sys.executable))}
    template = [] if {"-t", "--template", "--template-file"} & set(args) else [
        "-t", "infra/template.yaml"]  # fmt: skip
    command = [str(sam_bin / "sam"), *args, *(template if args[:1] in (["build"], ["validate"])
                                              else [])]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def task_lock(_args: list[str]) -> int:
    ensure_env("dev")
    subprocess.run([str(BIN / "python"), "-m", "pip", "install", "-q", "uv"], check=True)
    base = [str(BIN / "uv"), "pip", "compile", "pyproject.toml", "--universal"]
    base += ["--python-version", "3.11", "--generate-hashes", "-q"]
    status = run_in_env([*base, "-o", "requirements/run.lock"])  # relative: the header says it
    status = status or run_in_env([*base, "--extra", "dev", "-o", "requirements/dev.lock"])
    sam = [str(BIN / "uv"), "pip", "compile", "requirements/sam.in", "--generate-hashes", "-q",
           "--python-version", "3.11", "-o", "requirements/sam.lock"]  # fmt: skip
    return status or run_in_env(sam)


TASKS = {
    "run": task_run,
    "test": task_test,
    "test-lowest": task_test_lowest,
    "lint": task_lint,
    "bench": task_bench,
    "package": task_package,
    "bundle": task_bundle,
    "sam": task_sam,
    "lock": task_lock,
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(__doc__, file=sys.stderr)
        return 2
    return TASKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
