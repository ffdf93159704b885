"""A registry that has moved on since the locks were written: a find-links folder of fake,
newer releases (99.0) of locked packages.

An install that resolves anything at install time takes them (they are the newest versions on
offer, and their hashes match nothing in the lock); an install of exactly the lock ignores
them. ``tests/test_install.py`` uses it, and ``.ci/run`` offers it to every install CI does:

    python3 tests/moved_registry.py DIR    # one fake wheel per package named in requirements/*.lock
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

FAKE_VERSION = "99.0"
_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", re.MULTILINE)


def wheel_name(name: str) -> str:
    """A distribution name as wheel file names spell it (PEP 427 / 503)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def write_wheel(
    folder: Path,
    name: str,
    version: str,
    requires: Iterable[str] = (),
    extras: Iterable[str] = (),
) -> Path:
    """A minimal, valid pure-Python wheel whose module records its version."""
    dist = f"{wheel_name(name)}-{version}"
    module = wheel_name(name)
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Provides-Extra: {extra}" for extra in extras]
    metadata += [f"Requires-Dist: {requirement}" for requirement in requires]
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}.dist-info/METADATA": "\n".join(metadata) + "\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: moved_registry\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), text)
    return wheel


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pinned_names(locks: Iterable[Path]) -> set[str]:
    """Every distribution a lock file pins."""
    return {match.group(1) for lock in locks for match in _PINNED.finditer(lock.read_text())}


def moved_on(folder: Path, locks: Iterable[Path]) -> list[Path]:
    """A fake newer release of every package the locks pin, as wheels in ``folder``."""
    return [write_wheel(folder, name, FAKE_VERSION) for name in sorted(pinned_names(locks))]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 tests/moved_registry.py DIR", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parents[1]
    wheels = moved_on(Path(argv[0]), sorted((root / "requirements").glob("*.lock")))
    print(f"moved_registry: {len(wheels)} fake {FAKE_VERSION} releases in {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
