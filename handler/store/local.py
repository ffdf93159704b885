"""A directory as the store: atomic writes (temp file + rename), safe keys only."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from handler.core.errors import ConflictError, StoreError
from handler.store.base import Versioned

LOCK_WAIT_S = 10.0
LOCK_STALE_S = 60.0


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _holder_gone(lock: Path) -> bool:
    """True when the lock names a process on this host that no longer runs (killed, say):
    its lock can go at once instead of after LOCK_STALE_S."""
    try:
        host, pid = lock.read_text().split()
        if host != socket.gethostname():
            return False
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError):
        return False  # unreadable, half-written, or not ours to signal: age decides
    return False


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


class LocalStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return str(self.root)

    def check_writable(self) -> None:
        # The probe goes into the nearest folder that exists (the store itself, or the one it
        # will be made in): no folder is made for it, so nothing is left behind by a run that
        # then writes nothing, and two runs probing a fresh store at once cannot pull a folder
        # out from under each other.
        target = next(d for d in (self.root, *self.root.parents) if d.exists())
        if not target.is_dir():
            raise StoreError(f"{self.root}: cannot write here: {target} is not a directory")
        try:
            fd, probe = tempfile.mkstemp(dir=target, prefix=".probe-")
            os.close(fd)
            Path(probe).unlink()
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot write here: {exc.strerror}") from exc

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot read {key}: {exc.strerror}", key=key) from exc

    def read(self, key: str) -> Versioned:
        data = self.get(key)
        return Versioned(data, _digest(data) if data is not None else None)

    def put_if(self, key: str, data: bytes, content_type: str, expected: str | None) -> None:
        with self._locked(key):
            current = self.read(key).version
            if current != expected:
                raise ConflictError(f"{self.root}: {key} changed since it was read", key=key)
            self.put(key, data, content_type)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot delete {key}: {exc.strerror}", key=key) from exc

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """A lock file beside the key; one left by a crashed run expires, at once when the
        process named in it is gone."""
        path = self._path(key)
        lock = path.with_name(f".{path.name}.lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        # The lock is written whole before it exists (a temp file, then a hard link, which
        # fails when the lock is there): a run killed while taking it never leaves an empty
        # lock that names nobody and so blocks the key until it is LOCK_STALE_S old.
        fd, ready = tempfile.mkstemp(dir=lock.parent, prefix=".lock-")
        try:
            os.write(fd, f"{socket.gethostname()} {os.getpid()}".encode())
            os.close(fd)
            self._take(lock, Path(ready), key)
        finally:
            Path(ready).unlink(missing_ok=True)
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)

    def _take(self, lock: Path, ready: Path, key: str) -> None:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                os.link(ready, lock)
                return
            except FileExistsError:
                if _age_s(lock) > LOCK_STALE_S or _holder_gone(lock):
                    lock.unlink(missing_ok=True)
                elif time.monotonic() > deadline:
                    raise StoreError(
                        f"{self.root}: {key} is locked by another run", key=key
                    ) from None
                time.sleep(0.01)

    def list(self, prefix: str) -> Iterator[str]:
        folder = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not folder.is_dir():
            return
        # Lazily, folder by folder in name order (the order S3 lists in for this layout): a
        # caller that stops early (the manifest's day files come before index/ids/) never
        # reads the folders after the point it stopped at.
        yield from self._walk(folder, folder.relative_to(self.root).as_posix())

    def _walk(self, folder: Path, relative: str) -> Iterator[str]:
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except FileNotFoundError:
            return  # removed while listing
        for entry in entries:
            if entry.name.startswith("."):  # temp and lock files
                continue
            key = f"{relative}/{entry.name}" if relative not in ("", ".") else entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path), key)
            elif entry.is_file(follow_symlinks=False):
                yield key

    def sizes(self, prefix: str) -> Iterator[tuple[str, int]]:
        """Keys under ``prefix`` with their sizes in bytes, lazily in ``list``'s order."""
        for key in self.list(prefix):
            try:
                yield key, self._path(key).stat().st_size
            except FileNotFoundError:
                continue  # removed while listing

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # The temp file lives beside the target so the rename stays on one file system.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                Path(tmp).replace(path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot write {key}: {exc.strerror}", key=key) from exc

    def _path(self, key: str) -> Path:
        # Check the raw segments: PurePosixPath would quietly normalise "a//b" and "a/./b".
        parts = key.split("/")
        if any(part in ("..", ".", "") for part in parts):
            raise StoreError(f"refusing unsafe store key {key!r}")
        return self.root.joinpath(*parts)
