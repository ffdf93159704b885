"""``ntv-archive site``: build the static site, or bring it up to date.

A build reads the manifest's day files from where the last build stopped (their sizes then are
in the site's state), renders the pages of the articles those new lines name (the article, a
diff page per new version), and the listing pages that show them: the home page, their days,
the calendar, the edits feeds. What it costs follows what changed, not the archive's size: a
day file that did not grow is not read. ``full`` forgets the state and renders everything."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from handler.archive.reader import article_versions, get_article
from handler.core import jsontext
from handler.core.errors import ConflictError, StoreError
from handler.site.listings import Listings
from handler.site.pages import article_pages
from handler.site.render import ASSETS, asset
from handler.site.state import SiteState, StateFiles
from handler.site.target import SiteTarget
from handler.store.base import BlobStore, key_sizes
from handler.store.layout import INDEX_PREFIX, is_manifest_area, manifest_day

logger = logging.getLogger(__name__)
SAVE_ATTEMPTS = 3  # another build saved first: read its state and apply ours on top


class SiteBusyError(StoreError):
    """Other builds kept saving first (concurrent workers, say): nothing is lost, since the
    state still says where the manifest was last read, and the next update renders the rest."""


@dataclass
class SiteBuild:
    articles: int = 0  # article pages written
    pages: int = 0  # every page and feed written
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. search not updated, and why
    search_files: int = 0  # of ``pages``, the search index's files
    full: bool = False


Progress = Callable[[int, int], None]  # (articles rendered, articles to render)


def update_site(archive: BlobStore, target: SiteTarget, full: bool = False,
                progress: Progress | None = None) -> SiteBuild:  # fmt: skip
    """Render what changed since the last build (everything when ``full`` or when there was no
    build yet) and save how far the manifest was read; ``progress`` hears of each article."""
    files = StateFiles(target.state, target.state_prefix)
    for _ in range(SAVE_ATTEMPTS):
        state = files.load()
        built = SiteBuild(full=full or not state.read)
        if built.full:
            state = SiteState(token=state.token)
        if not _apply(archive, target, files, state, built, progress):
            return built  # nothing new: nothing written
        try:
            files.save(state)
            return built
        except ConflictError:
            logger.info("another site build saved first; applying this one on top of it")
    raise SiteBusyError(
        f"{target.state.describe()}: the site's state kept changing under this "
        "build (other builds are applying; the next update catches up)"
    )


def _apply(archive: BlobStore, target: SiteTarget, files: StateFiles, state: SiteState,
           built: SiteBuild, progress: Progress | None = None) -> bool:  # fmt: skip
    """Render what is new; whether anything was (the state is then to be saved)."""
    new: dict[str, set[str]] = {}
    for line in _new_lines(archive, state):
        new.setdefault(str(line["id"]), set()).add(str(line["version"]))
    listings = Listings(files, state, fresh=built.full)
    for done, (article_id, times) in enumerate(new.items(), start=1):
        versions = _versions(archive, article_id, built)
        if progress is not None:  # after the reads, which are most of an article's time
            progress(done, len(new))
        if not versions:
            continue
        rendered = article_pages(versions, None if built.full else times)
        for path, html in rendered.pages.items():
            target.put(path, html)
        built.articles += 1
        built.pages += len(rendered.pages)
        listings.take(versions, rendered)
    built.pages += listings.write(target, everything=built.full)
    built.search_files = listings.search_written
    built.warnings += listings.warnings
    assets = {name: asset(name) for name in ASSETS}
    digest = hashlib.sha256(repr(sorted(assets.items())).encode()).hexdigest()
    if built.full or state.assets != digest:
        for name, text in assets.items():
            target.put(name, text)
        state.assets = digest
        built.pages += len(assets)
    return built.full or bool(new)


def _versions(archive: BlobStore, article_id: str, built: SiteBuild) -> list[dict[str, Any]]:
    """The article's versions, oldest first; none (and why, in ``skipped``) when its document
    cannot be read: one bad file never stops the others' pages."""
    try:
        doc = get_article(archive, article_id)
        versions = article_versions(archive, article_id) if doc.get("changes") else [doc]
    except StoreError as exc:
        built.skipped.append(str(exc))
        return []
    # Pages are named by the id the manifest gives (checked by the store's layout); a document
    # that names itself otherwise (tampered) gets no page.
    strays = [v for v in versions if v.get("id") != article_id]
    if strays:
        built.skipped.append(f"{article_id}: a stored version names another id "
                             f"({str(strays[0].get('id'))[:60]!r})")  # fmt: skip
        return []
    return versions


def _new_lines(archive: BlobStore, state: SiteState) -> Iterator[dict[str, Any]]:
    """The manifest lines written since the last build, day file by day file; ``state.read``
    moves past each complete line read."""
    for key, size in key_sizes(archive, INDEX_PREFIX):
        if not is_manifest_area(key):
            break  # the day files come first; ids/, pending/ and revisit/ are not read
        done = state.read.get(key, 0)
        if manifest_day(key) is None or size == done:
            continue
        data = archive.get(key) or b""
        if done > len(data) or (done and data[done - 1 : done] != b"\n"):
            done = 0  # not the file that was read (rewritten by hand?): read it whole
        end = data.rfind(b"\n") + 1
        for raw in data[done:end].splitlines():
            try:
                line = jsontext.loads(raw)
            except (ValueError, RecursionError):
                continue  # a torn or foreign line names nothing
            if isinstance(line, dict) and isinstance(line.get("id"), str) and line.get("version"):
                yield line
        state.read[key] = max(end, done)
