"""A directory as the store: atomic writes (temp file + rename), safe keys only."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from handler.errors import StoreError


class LocalStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return str(self.root)

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot read {key}: {exc.strerror}") from exc

    def list(self, prefix: str) -> Iterator[str]:
        folder = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                yield path.relative_to(self.root).as_posix()

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
            raise StoreError(f"{self.root}: cannot write {key}: {exc.strerror}") from exc

    def _path(self, key: str) -> Path:
        # Check the raw segments: PurePosixPath would quietly normalise "a//b" and "a/./b".
        parts = key.split("/")
        if any(part in ("..", ".", "") for part in parts):
            raise StoreError(f"refusing unsafe store key {key!r}")
        return self.root.joinpath(*parts)
