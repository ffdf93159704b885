"""Where a site build writes its pages and keeps its state."""

from __future__ import annotations

from dataclasses import dataclass

from handler.store.base import BlobStore

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".pagefind": "application/octet-stream",
    ".pf_meta": "application/octet-stream",
    ".pf_index": "application/octet-stream",
    ".pf_fragment": "application/octet-stream",
}


def content_type(path: str) -> str:
    """What a page or asset is served as (by its name's ending)."""
    ending = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else ""
    return CONTENT_TYPES.get(ending, "application/octet-stream")


@dataclass
class SiteTarget:
    """Pages go into ``pages`` under ``prefix``; the build's state into ``state`` under
    ``state_prefix`` (never under the published pages)."""

    pages: BlobStore
    prefix: str
    state: BlobStore
    state_prefix: str

    def put(self, path: str, text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        self.pages.put(f"{self.prefix}{path}", data, content_type(path))

    @classmethod
    def in_store(cls, store: BlobStore) -> SiteTarget:
        """The site inside the archive's own store: pages under site/, state under state/site/."""
        return cls(store, "site/", store, "state/site/")

    @classmethod
    def folder(cls, store: BlobStore) -> SiteTarget:
        """A site of its own (``--output``): pages at the top, state in _build/."""
        return cls(store, "", store, "_build/")
