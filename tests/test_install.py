"""The install does not depend on the day or on the installer's version (tasks.py).

A registry that has moved on (tests/moved_registry.py: newer, fake releases of locked packages
offered through find-links) must change nothing: every install yields exactly the locked
versions. The stock pip of each supported Python only bootstraps the pinned installer; uv then
syncs each venv to its locks. No network: the hermetic cases use a local wheel folder and no
index; the real lock is synced offline from the uv cache that `tasks.py test` filled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import moved_registry
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402

SUPPORTED = ("3.11", "3.12", "3.13")


def interpreter(version: str) -> str | None:
    """A working python``version`` on this machine: on PATH or among pyenv's versions."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p) for p in pyenv.glob(f"{version}.*/bin/python{version}"))
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", "import ensurepip, venv"], capture_output=True)
        if done.returncode == 0:
            return candidate
    return None


@pytest.fixture
def moved(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny locked set hit by pip issue 9644, and a registry that has moved on.

    alpha 1.0 needs ``beta[speed]>=1.0``; beta's extra needs gamma. The folder also offers
    newer releases of all three (99.0). The lock pins the 1.0s with their hashes."""
    wheels = tmp_path / "wheels"
    locked = [
        moved_registry.write_wheel(wheels, "alpha", "1.0", requires=["beta[speed]>=1.0"]),
        moved_registry.write_wheel(
            wheels, "beta", "1.0", extras=["speed"], requires=['gamma>=1.0; extra == "speed"']
        ),
        moved_registry.write_wheel(wheels, "gamma", "1.0"),
    ]
    for name in ("alpha", "beta", "gamma"):
        moved_registry.write_wheel(wheels, name, moved_registry.FAKE_VERSION)
    lock = tmp_path / "fake.lock"
    lock.write_text(
        "".join(
            f"{wheel.name.split('-')[0]}==1.0 --hash=sha256:{moved_registry.sha256(wheel)}\n"
            for wheel in locked
        )
    )
    return wheels, lock


def offline(wheels: Path) -> dict[str, str]:
    """No index, only the local folder: for pip and for uv alike."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    return {**env, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_CONSTRAINT": "",
            "PIP_CONFIG_FILE": os.devnull, "UV_NO_INDEX": "1", "UV_FIND_LINKS": str(wheels),
            "UV_OFFLINE": "1"}  # fmt: skip


def versions(python: Path) -> dict[str, str]:
    """What a venv holds, read by its own interpreter."""
    script = (
        "import json, re, importlib.metadata as m;"
        "print(json.dumps({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): d.version"
        " for d in m.distributions()}))"
    )
    return json.loads(subprocess.run([str(python), "-I", "-c", script], capture_output=True,
                                     text=True, check=True).stdout)  # fmt: skip


def in_tasks(python: str, call: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one of tasks.py's install functions under another interpreter."""
    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import tasks; "
        f"from pathlib import Path; {call}"
    )
    return subprocess.run([python, "-c", script], capture_output=True, text=True, env=env)


def test_the_moved_registry_is_real(moved: tuple[Path, Path], tmp_path: Path) -> None:
    """Control: resolving at install time takes the fake newer releases."""
    wheels, _ = moved
    target = tmp_path / "resolved"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    uv = str(tasks.installer())
    install = [uv, "pip", "install", "-q", "--python", str(target / "bin/python"), "alpha"]
    done = subprocess.run(install, env=offline(wheels), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert versions(target / "bin/python")["alpha"] == moved_registry.FAKE_VERSION


@pytest.mark.parametrize("version", SUPPORTED)
def test_the_stock_pip_of_each_python_installs_exactly_the_lock(
    moved: tuple[Path, Path], tmp_path: Path, version: str
) -> None:
    """tasks.installer's pip step, run by the pip that this Python's ensurepip ships."""
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no python{version} on this machine (pyenv or PATH)")
    wheels, lock = moved
    tools = tmp_path / "tools"
    done = in_tasks(python, f"tasks.installer(Path({str(tools)!r}), Path({str(lock)!r}))",
                    offline(wheels))  # fmt: skip
    assert done.returncode == 0, done.stderr + (tools / "install.log").read_text()
    held = versions(tools / "bin/python")
    assert {name: held[name] for name in ("alpha", "beta", "gamma")} == dict.fromkeys(
        ("alpha", "beta", "gamma"), "1.0"
    )


def test_a_current_pip_installs_exactly_the_lock(moved: tuple[Path, Path], tmp_path: Path) -> None:
    """The same step with the newest pip the dev lock knows (pip is in requirements/dev.lock)."""
    wheels, lock = moved
    tools = tmp_path / "tools"
    tools.mkdir()
    # A venv whose pip is the dev lock's: seed it from the running interpreter's site-packages.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tools)], check=True)
    pip_source = Path(__import__("pip").__file__).parent.parent
    site = next((tools / "lib").glob("python3.*/site-packages"))
    (site / "current-pip.pth").write_text(f"{pip_source}\n")
    python = tools / "bin/python"
    assert subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True,
                          text=True).stdout.split()[1] == __import__("pip").__version__  # fmt: skip
    done = in_tasks(str(python), f"tasks.installer(Path({str(tools)!r}), Path({str(lock)!r}))",
                    offline(wheels))  # fmt: skip
    assert done.returncode == 0, done.stderr + (tools / "install.log").read_text()
    held = versions(python)
    assert (held["alpha"], held["beta"], held["gamma"]) == ("1.0", "1.0", "1.0")


def test_uv_syncs_exactly_the_lock(moved: tuple[Path, Path], tmp_path: Path) -> None:
    """tasks.sync_venv: the venv holds the lock, the newer releases on offer are not taken."""
    wheels, lock = moved
    target = tmp_path / "venv"
    done = in_tasks(sys.executable, f"tasks.sync_venv(Path({str(target)!r}), "
                    f"[Path({str(lock)!r})], editable=False)", offline(wheels))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert versions(target / "bin/python") == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}


def test_the_real_run_lock_ignores_newer_lxml_and_justext(tmp_path: Path) -> None:
    """requirements/run.lock (the one that broke: justext needs lxml[html_clean]) with fake
    newer releases of every locked package on offer, offline from the uv cache."""
    locks = tasks.LOCKS["run"]
    wheels = tmp_path / "wheels"
    offered = moved_registry.moved_on(wheels, locks)
    assert {"lxml", "justext"} <= {w.name.split("-")[0] for w in offered}
    env = {**os.environ, "UV_FIND_LINKS": str(wheels), "UV_OFFLINE": "1"}
    target = tmp_path / "venv"
    call = f"tasks.sync_venv(Path({str(target)!r}), tasks.LOCKS['run'], editable=False)"
    done = in_tasks(sys.executable, call, env)
    assert done.returncode == 0, done.stderr
    text = "\n".join(lock.read_text() for lock in locks)
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+) \\$", text, re.MULTILINE))
    held = versions(target / "bin/python")
    expected = {name: version for name, version in pins.items() if name in held}
    assert held["lxml"] == pins["lxml"] and held["justext"] == pins["justext"]
    assert expected == {name: held[name] for name in expected}
    assert moved_registry.FAKE_VERSION not in held.values()
    # Everything the lock pins for this platform is there (tzdata is Windows-only).
    assert set(pins) - set(held) <= {"tzdata"}


def test_a_failed_install_says_one_line_and_how_to_retry(tmp_path: Path) -> None:
    """An install that cannot finish (here: a pinned version the folder does not hold) prints
    one line naming what failed, the log and the retry command, and no traceback."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(ROOT / "tasks.py", checkout)
    shutil.copytree(ROOT / "requirements", checkout / "requirements")
    (checkout / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([sys.executable, str(checkout / "tasks.py"), "run", "--help"],
                          capture_output=True, text=True, env=offline(empty))  # fmt: skip
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    assert lines[-1].startswith("tasks.py: bootstrapping the installer"), done.stderr
    assert "retry with: python3 tasks.py run --help" in lines[-1]
    assert "full output: .venv-tools/install.log" in lines[-1]
    assert [line for line in lines if line.startswith("tasks.py:")] == [lines[-1]]


def test_a_failed_bundle_step_says_one_line(tmp_path: Path, monkeypatch) -> None:
    """scripts/package.py (tasks.py package): a failing step is one line with its log."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import package

    monkeypatch.setattr(package, "BUILD", tmp_path)
    command = [sys.executable, "-c", "import sys; print('noise'); sys.exit('error: no wheel')"]
    with pytest.raises(SystemExit) as exit_:
        package._quietly(command, "installing requirements/run.lock for arm64")
    said = str(exit_.value.code)
    assert "\n" not in said
    assert said.startswith("package: installing requirements/run.lock for arm64 failed: error: no")
    assert said.endswith("retry with: python3 tasks.py package")
    assert "noise" in (tmp_path / "package.log").read_text()


def test_a_run_never_strips_the_dev_set_from_a_venv_that_holds_it(tmp_path, monkeypatch):
    """`tasks.py run` after pyproject.toml changed re-synced .venv to the run lock, removing
    pytest from under a test suite that was running in it (a test calls `tasks.py run`). A
    .venv that holds the dev set is synced to the dev set again instead."""
    synced: list[list[Path]] = []
    monkeypatch.setattr(tasks, "VENV", tmp_path)
    monkeypatch.setattr(tasks, "sync_venv", lambda target, locks, **kw: synced.append(locks))
    tasks.ensure_env("run")
    assert synced[-1] == tasks.LOCKS["run"]  # a fresh .venv for running: the run set only
    tasks.ensure_env("dev")
    tasks.ensure_env("run")
    assert synced[-2:] == [tasks.LOCKS["dev"], tasks.LOCKS["dev"]]
