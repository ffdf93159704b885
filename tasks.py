#!/usr/bin/env python3
"""Bootstrap and run project tasks with nothing but Python (>= 3.11) and pip.

    python3 tasks.py run [ntv-archive run options]   poll the live feed into ./archive
    python3 tasks.py test [pytest options]           the whole test suite
    python3 tasks.py cli COMMAND [options]           any ntv-archive command, with every extra
                                                     (e.g. export --format parquet)
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

Each task creates ``.venv`` on first use and installs the hash-locked dependencies it needs
(see "Installing" below: nothing is resolved at install time, so an install does not depend on
the pip version or on what the registry released since); later calls skip the install while
the lock files and pyproject.toml are unchanged. A failed install prints one line and exits 3.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REQUIREMENTS = ROOT / "requirements"
BIN_NAME = "Scripts" if os.name == "nt" else "bin"
VENV = ROOT / ".venv"
BIN = VENV / BIN_NAME
LOWEST = ROOT / ".venv-lowest"
DEV_MARK = ".dev-set"  # in .venv once the dev set was installed there
LOWEST_BIN = LOWEST / BIN_NAME
SAM_VENV = ROOT / ".venv-sam"
TOOLS = ROOT / ".venv-tools"  # the pinned installer (uv), nothing else
INSTALLER_LOCK = REQUIREMENTS / "installer.lock"
BUILD_LOCK = REQUIREMENTS / "build.lock"  # setuptools: the package builds without isolation
LOCKS = {
    "run": [REQUIREMENTS / "run.lock", BUILD_LOCK],
    "dev": [REQUIREMENTS / "dev.lock", BUILD_LOCK],
    "lowest": [REQUIREMENTS / "lowest.lock", BUILD_LOCK],
    "sam": [REQUIREMENTS / "sam.lock"],
}


class InstallError(Exception):
    """An install step failed. The message is one line for the user; the installer's own output
    is kept in the log file it names."""


# --- Installing: nothing is resolved at install time ------------------------------------------
# A lock is the whole closure, so an install only has to put exactly those files in place.
# pip resolves again even in --require-hashes mode (extras are re-resolved against whatever the
# registry holds that day: pip issue 9644), so pip installs one thing only, the pinned installer
# (uv, one wheel, --no-deps --require-hashes), and uv then *syncs* each venv to its locks:
# exactly the listed versions, hash-checked, wheels only, anything else removed. The package
# itself is installed editable with --no-deps and without build isolation, built by the
# setuptools of requirements/build.lock. `uv pip check` closes every install.


def installer(tools: Path = TOOLS, lock: Path = INSTALLER_LOCK) -> Path:
    """uv from requirements/installer.lock in .venv-tools, bootstrapped by the stock pip that
    ``venv`` (ensurepip) provides; any pip version does, as it has nothing to decide."""
    tools_bin = tools / BIN_NAME
    uv = tools_bin / ("uv.exe" if os.name == "nt" else "uv")
    if uv.exists() and _is_current(tools, [lock]):
        return uv
    _create_venv(tools, with_pip=True)
    pip = [str(tools_bin / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    _step(
        [
            *pip,
            "install",
            "--no-deps",
            "--require-hashes",
            "--only-binary",
            ":all:",
            "-r",
            str(lock),
        ],
        f"bootstrapping the installer ({relative(lock)}) into {relative(tools)}",
        tools / "install.log",
    )
    _mark_current(tools, [lock])
    return uv


def sync_venv(target: Path, locks: list[Path], *, editable: bool = True) -> Path:
    """Make ``target`` hold exactly what ``locks`` list (plus this package, editable, unless
    ``editable`` is false); skipped while the locks and pyproject.toml are unchanged."""
    python = target / BIN_NAME / "python"
    inputs = _inputs(locks)
    if python.exists() and _is_current(target, inputs):
        return python
    uv = str(installer())
    _create_venv(target, with_pip=False)
    names = " + ".join(relative(lock) for lock in locks)
    print(f"tasks.py: installing {names} into {relative(target)}", file=sys.stderr)
    where = ["--python", str(python)]
    log = target / "install.log"
    _step(
        [uv, "pip", "sync", "-q", *where, "--require-hashes", "--no-build", *map(str, locks)],
        f"installing {names} into {relative(target)}",
        log,
    )
    if editable:
        _step(
            [
                uv,
                "pip",
                "install",
                "-q",
                *where,
                "--no-deps",
                "--no-build-isolation",
                "-e",
                str(ROOT),
            ],
            f"installing the package into {relative(target)}",
            log,
        )
    _step([uv, "pip", "check", "-q", *where], f"checking {relative(target)} (uv pip check)", log)
    _mark_current(target, inputs)
    return python


def ensure_env(profile: str) -> None:
    """.venv holding the ``profile`` locks ("run" or "dev"). The dev set holds the run set, so
    a .venv made for the tests also runs the archive, and stays the dev set: a ``run`` after
    pyproject.toml or a lock changed syncs the dev set again rather than strip the test tools
    from a .venv a test suite may be running in (it did, mid-run)."""
    if profile == "run" and (VENV / DEV_MARK).exists():
        profile = "dev"
    sync_venv(VENV, LOCKS[profile])
    if profile == "dev":
        (VENV / DEV_MARK).write_text("this .venv holds the dev set (tasks.py ensure_env)\n")


def _inputs(locks: list[Path]) -> list[Path]:
    """What an install is made of: when one of them changes, the venv is synced again."""
    return [*locks, ROOT / "pyproject.toml", INSTALLER_LOCK]


def _create_venv(target: Path, *, with_pip: bool) -> None:
    if (target / BIN_NAME / "python").exists():
        return
    try:
        venv.EnvBuilder(with_pip=with_pip).create(target)
    except (OSError, subprocess.CalledProcessError) as error:
        raise InstallError(
            f"could not create {relative(target)} ({error}); Python's venv module with ensurepip "
            "is needed (Debian: apt-get install python3-venv)"
        ) from None


def _step(command: list[str], what: str, log: Path) -> None:
    """Run one install step; on failure, one line saying what failed and where the log is."""
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError as error:
        raise InstallError(f"{what} failed: {error}") from None
    output = done.stdout + done.stderr
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ {shlex.join(command)}\n{output}")
    if done.returncode != 0:
        raise InstallError(f"{what} failed: {first_error(output)} (full output: {relative(log)})")


def first_error(output: str) -> str:
    """The installer's own first error line: what a person needs to see first."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("WARNING: Location")]  # pip config noise
    for line in lines:
        if re.match(r"(?i)(error\b|.*\berror:)", line):
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def _digest(inputs: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in inputs:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _is_current(target: Path, inputs: list[Path]) -> bool:
    stamp = target / ".installed"
    return stamp.exists() and stamp.read_text() == _digest(inputs)


def _mark_current(target: Path, inputs: list[Path]) -> None:
    (target / ".installed").write_text(_digest(inputs))


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def run_in_env(argv: list[str], cwd: Path = ROOT) -> int:
    return subprocess.run(argv, cwd=cwd, check=False).returncode


def task_run(args: list[str]) -> int:
    ensure_env("run")
    # In the caller's folder: `--store relstore` and the default ./archive are the caller's.
    return run_in_env([str(BIN / "ntv-archive"), "run", *args], cwd=Path.cwd())


def task_cli(args: list[str]) -> int:
    """Any ntv-archive command, with every extra installed (pyarrow for export --format parquet)."""
    ensure_env("dev")
    return run_in_env([str(BIN / "ntv-archive"), *args], cwd=Path.cwd())


def task_test(args: list[str]) -> int:
    ensure_env("dev")
    return run_in_env([str(BIN / "python"), "-m", "pytest", *parallel(args), *args])


def parallel(args: list[str]) -> list[str]:
    """pytest-xdist with one worker more than the machine has cores, unless the caller chose
    (``-n``, ``-p no:xdist``): a few fault campaigns spend most of their time waiting (boto's
    retry back-off, the processes they start and kill), and the extra worker keeps every core
    busy meanwhile (one run each on 2 cores, 2026-12-06: 290 s with ``-n 2``, 243 s with
    three). Work stealing, since those campaigns take far longer than the rest."""
    chosen = any(a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in args)
    workers = (os.cpu_count() or 1) + 1
    return [] if chosen else ["-n", str(workers), "--dist", "worksteal"]


def task_test_lowest(args: list[str]) -> int:
    """The suite on the lowest direct versions pyproject.toml allows (requirements/lowest.lock,
    resolved by ``tasks.py lock``): proves the floors true."""
    python = sync_venv(LOWEST, LOCKS["lowest"])
    # Not here: the rehearsal runs the bundle on the Lambda runtime's own Python with the
    # bundle's own locked packages (nothing of this venv), the benchmark smoke tests check the
    # bench scripts, and the install test checks tasks.py; the main run does all three, and none
    # depends on the dependencies' versions. `-m "not slow"` leaves out the long fault campaigns
    # for the same reason: they test this project's own logic, which the main run covers.
    # The fuzz tests run a quarter of their examples here (the "lowest" profile): what they
    # hunt is this project's logic, drawn in full by the main run; here they check the floors.
    # The browser tests drive the Chromium of the machine with the main run's Playwright.
    skip = ["--ignore=tests/test_rehearsal.py", "--ignore=tests/test_bench.py",
            "--ignore=tests/test_install.py", "--ignore=tests/test_browser.py"]  # fmt: skip
    env = {**os.environ, "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "lowest")}
    argv = [str(python), "-m", "pytest", *parallel(args), *skip, "-m", "not slow", *args]
    return subprocess.run(argv, cwd=ROOT, check=False, env=env).returncode


def task_lint(_args: list[str]) -> int:
    ensure_env("dev")
    checks = [
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "mypy")],
        [str(BIN / "lint-imports"), "--no-cache"],  # the layer contracts in pyproject.toml
        # The structure rules no linter has: modules of at most 300 lines, no site named
        # outside handler/sites/ (and the configuration defaults).
        [
            str(BIN / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-header",
            "tests/test_newcomer.py::test_every_module_is_small_enough_to_read_whole",
            "tests/test_sites.py::test_no_code_outside_the_sites_names_a_site",
        ],
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
    sync_venv(SAM_VENV, LOCKS["sam"], editable=False)
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYTHON": str(Path(sys.executable))}
    template = [] if {"-t", "--template", "--template-file"} & set(args) else [
        "-t", "infra/template.yaml"]  # fmt: skip
    command = [str(SAM_VENV / BIN_NAME / "sam"), *args,
               *(template if args[:1] in (["build"], ["validate"]) else [])]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def task_lock(_args: list[str]) -> int:
    """Re-resolve every lock file (uv, universal markers, hashes). The only step that resolves."""
    uv = str(installer())
    compile_ = [uv, "pip", "compile", "--universal", "--python-version", "3.11",
                "--generate-hashes", "-q"]  # fmt: skip
    steps = [
        [*compile_, "pyproject.toml", "-o", "requirements/run.lock"],
        [*compile_, "pyproject.toml", "--extra", "dev", "-o", "requirements/dev.lock"],
        [*compile_, "pyproject.toml", "--extra", "dev", "--resolution", "lowest-direct",
         "-o", "requirements/lowest.lock"],
        [*compile_, "requirements/build.in", "-o", "requirements/build.lock"],
        [*compile_, "requirements/installer.in", "-o", "requirements/installer.lock"],
        [*compile_, "requirements/sam.in", "-o", "requirements/sam.lock"],
    ]  # fmt: skip
    for step in steps:
        if run_in_env(step) != 0:
            return 1
    return 0


TASKS = {
    "run": task_run,
    "cli": task_cli,
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
    # tasks.py may be started by any python3; say so plainly instead of failing later.
    if sys.version_info < (3, 11):  # noqa: UP036
        print(
            f"tasks.py: Python >= 3.11 is needed, this is {sys.version.split()[0]}", file=sys.stderr
        )
        return 2
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return TASKS[sys.argv[1]](sys.argv[2:])
    except InstallError as failure:
        retry = shlex.join(["python3", "tasks.py", *sys.argv[1:]])
        print(f"tasks.py: {failure}; retry with: {retry}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("tasks.py: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
