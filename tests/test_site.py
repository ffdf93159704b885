"""The static site, first slice (issue 27): pages rendered from stored documents, every string
from an article inert."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from conftest import page
from handler.cli import main
from handler.site.render import CSP, render

HOSTILE = {
    "id": "ntv-1", "url": "javascript:alert(1)", "kicker": '"><script>alert("k")</script>',
    "title": "</title><script>alert(1)</script>", "teaser": "<img src=x onerror=alert(2)>",
    "authors": ["<b onmouseover=alert(3)>A</b>"], "published_at": "2025-03-14T09:30:05+01:00",
    "source": {"section": "<svg onload=alert(4)>"}, "source_line": "Quelle: <iframe>",
    "body": [{"type": "paragraph", "text": "<script>alert(5)</script>"},
             {"type": "box", "title": "<a href=javascript:alert(6)>x</a>", "text": "</aside>"},
             {"type": "liveticker_entry", "time": "<i>", "text": "&lt;already&gt;"}],
    "images": [{"url": "javascript:alert(7)", "caption": "<u>c</u>", "credit": "<s>"},
               {"url": 'https://bilder.n-tv.de/a.jpg"onload=alert(8)', "caption": "d",
                "credit": None}],
}  # fmt: skip


def test_a_hostile_article_renders_as_text_and_links_nothing_but_the_web() -> None:
    html = render("article.html", root="../", doc=HOSTILE)
    assert "<script" not in html.lower().replace('http-equiv="content-security-policy"', "")
    assert not re.search(r"<(img|svg|iframe|b |u>|s>|i>|a href=javascript)", html, re.I)
    assert "onerror=" not in html.replace("onerror=alert(2)&gt;", "")  # only as escaped text
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in html
    assert "&amp;lt;already&amp;gt;" in html  # text is text: an entity in it stays visible
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith(("../", "https://", "http://")) for h in hrefs), hrefs
    assert f'content="{escape(CSP)}"' in html and '<html lang="de">' in html
    assert "script-src" not in CSP and "default-src 'none'" in CSP


def test_the_site_command_builds_pages_for_every_article(tmp_path: Path, capsys) -> None:
    from test_import import Warc

    warc = Warc()
    for number, name in (("40000001", "ntv2025_article.html"),
                         ("40000002", "ntv2025_liveticker.html")):  # fmt: skip
        url = f"https://www.n-tv.de/politik/Artikel-id{number}.html"
        warc.response(url, page(name).replace(b"40000001", number.encode()))
    source = tmp_path / "c.warc.gz"
    source.write_bytes(warc.buffer.getvalue())
    root = tmp_path / "archive"
    assert main(["import", str(source), "--store", str(root), "--quiet"]) == 0
    out = tmp_path / "site"
    assert main(["site", "--store", str(root), "--output", str(out)]) == 0
    assert "site full build: 2 articles rendered" in capsys.readouterr().err
    index = (out / "index.html").read_text()
    pages = sorted(p.name for p in (out / "articles").glob("*.html"))
    assert len(pages) == 2 and all(f'href="articles/{p}"' in index for p in pages)
    one = (out / "articles" / pages[0]).read_text()
    stored = json.loads(next(root.glob(f"articles/*/*/*/{pages[0][:-5]}.json")).read_text())
    assert stored["body"][0]["text"][:30] in one and (out / "site.css").exists()
    assert main(["site", "--store", str(root), "--quiet"]) == 0  # into the store itself
    assert sorted(p.name for p in (root / "site" / "articles").glob("*.html")) == pages


def test_an_edited_article_has_its_history_and_a_word_level_diff(tmp_path: Path) -> None:
    from test_import import edited_article_archive

    root = edited_article_archive(tmp_path)
    out = tmp_path / "site"
    assert main(["site", "--store", str(root), "--output", str(out), "--quiet"]) == 0
    article = (out / "articles" / "ntv-40000001.html").read_text()
    assert article.count("<time datetime=") >= 3  # the date line and two versions
    assert 'href="../diffs/ntv-40000001/1.html"' in article
    assert "body: 1 paragraph edited" in article
    diff = (out / "diffs" / "ntv-40000001" / "1.html").read_text()
    assert (
        "<del>Herbst</del>" in diff.replace("<del>Herbst beginnen.</del>", "<del>Herbst</del>")
        or "<del>Herbst" in diff
    )
    assert "<ins>Winter" in diff and 'href="../../articles/ntv-40000001.html"' in diff
    import feedparser

    feed = feedparser.parse((out / "edits.atom").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    [entry] = feed.entries
    assert entry.link.endswith("diffs/ntv-40000001/1.html")
    assert entry.summary.startswith("body: 1 paragraph edited") and entry.title


class CountingStore:
    """A local store that counts the writes made through it."""

    def __init__(self, root: Path) -> None:
        from handler.store import LocalStore

        self.inner = LocalStore(root)
        self.writes: list[str] = []

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.writes.append(key)
        self.inner.put(key, data, content_type)

    def put_if(self, key: str, data: bytes, content_type: str, expected: str | None) -> None:
        self.writes.append(key)
        self.inner.put_if(key, data, content_type, expected)


def capture(folder: Path, root: Path, when: str, html: bytes, url: str) -> None:
    """One more capture of ``url`` imported into the archive at ``root``."""
    from test_import import Warc

    warc = Warc()
    warc.response(url, html, date=when)
    source = folder / f"{when[:19].replace(':', '')}.warc.gz"
    source.write_bytes(warc.buffer.getvalue())
    assert main(["import", str(source), "--store", str(root), "--quiet"]) == 0


def test_an_update_renders_only_what_changed_and_says_so(tmp_path: Path) -> None:
    from test_import import EDITED_URL, edited_article_archive

    from handler.site.build import update_site
    from handler.site.target import SiteTarget

    root = edited_article_archive(tmp_path)
    other = "https://www.n-tv.de/politik/Anderes-Thema-id40000002.html"
    capture(tmp_path, root, "2025-03-14T11:00:00Z",
            page("ntv2025_liveticker.html").replace(b"40000001", b"40000002"), other)  # fmt: skip
    from handler.store import LocalStore

    archive = LocalStore(root)
    out = CountingStore(tmp_path / "site")
    first = update_site(archive, SiteTarget.folder(out))
    assert first.full and first.articles == 2 and not first.skipped
    assert update_site(archive, SiteTarget.folder(out)).pages == 0  # nothing new: nothing written
    out.writes.clear()
    third = page("ntv2025_article.html").replace(b"Herbst", b"Fr\xc3\xbchjahr")
    capture(tmp_path, root, "2025-03-14T12:00:00Z", third, EDITED_URL)
    again = update_site(archive, SiteTarget.folder(out))
    assert not again.full and again.articles == 1
    written = sorted(out.writes)
    assert "articles/ntv-40000001.html" in written and "diffs/ntv-40000001/2.html" in written
    assert "diffs/ntv-40000001/1.html" not in written  # an old edit's page is not redone
    assert "articles/ntv-40000005.html" not in written
    search = [key for key in written if key.startswith("search/")]
    assert len(written) - len(search) <= 5 + 4 * 1, written  # the budget, one article
    # The month's search index: the changed article's fragment, the index chunk it is in,
    # and the two small files that name them; never the month's other fragments.
    assert 1 <= len(search) <= 4, search
    site = tmp_path / "site"
    compare = (site / "diffs" / "ntv-40000001" / "compare.html").read_text()
    assert 'id="v1-3"' in compare and 'href="#v1-3"' in compare and "<ins>Fr\u00fchjahr" in compare
    home = (site / "index.html").read_text()
    assert home.index("diffs/ntv-40000001/2.html") < home.index("diffs/ntv-40000001/1.html")
    assert "3 Fassungen" in home and "ntv-40000005.html" in home  # edits, and the newest
    assert "2025-03-14 12:00 UTC" in home


def test_days_calendar_and_section_feeds_list_the_articles(tmp_path: Path) -> None:
    import feedparser
    from test_import import edited_article_archive

    root = edited_article_archive(tmp_path)
    out = tmp_path / "site"
    assert main(["site", "--store", str(root), "--output", str(out), "--quiet"]) == 0
    doc = json.loads(next(root.glob("articles/*/*/*/ntv-40000001.json")).read_text())
    day = doc["published_at"][:10]
    listed = (out / "days" / f"{day}.html").read_text()
    assert 'href="../articles/ntv-40000001.html"' in listed and "2 Fassungen" in listed
    assert f'href="{day}.html"' in (out / "days" / "index.html").read_text()
    feeds = list((out / "sections").glob("*.atom"))
    assert feeds, "a section feed for the edited article's section"
    feed = feedparser.parse(feeds[0].read_bytes())
    assert not feed.bozo and feed.entries[0].link.endswith("diffs/ntv-40000001/1.html")


def test_full_rebuilds_every_page_and_a_lost_state_means_a_full_build(tmp_path: Path) -> None:
    from test_import import edited_article_archive

    root = edited_article_archive(tmp_path)
    out = tmp_path / "site"
    argv = ["site", "--store", str(root), "--output", str(out), "--quiet"]
    assert main(argv) == 0
    (out / "articles" / "ntv-40000001.html").unlink()
    assert main(argv) == 0 and not (out / "articles" / "ntv-40000001.html").exists()
    assert main([*argv, "--full"]) == 0 and (out / "articles" / "ntv-40000001.html").exists()
    (out / "_build" / "build.json").write_text("{not json")
    (out / "diffs" / "ntv-40000001" / "1.html").unlink()
    assert main(argv) == 0 and (out / "diffs" / "ntv-40000001" / "1.html").exists()


def test_a_tampered_document_gets_no_page_and_the_others_do(tmp_path: Path, capsys) -> None:
    """The pages' names come from the manifest's ids (checked by the store's layout), never
    from a document's own id field: one that names another (here a path and markup) is named
    on stderr and skipped (exit 1); every other article gets its page."""
    from test_import import edited_article_archive

    root = edited_article_archive(tmp_path)
    other = "https://www.n-tv.de/politik/Anderes-Thema-id40000005.html"
    capture(tmp_path, root, "2025-03-14T11:00:00Z", page("ntv2025_liveticker.html"), other)
    path = next(root.glob("articles/*/*/*/ntv-40000001.json"))
    doc = json.loads(path.read_text())
    path.write_text(json.dumps(doc | {"id": '../../x"><script>alert(1)</script>'}))
    out = tmp_path / "site"
    assert main(["site", "--store", str(root), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "ntv-40000001: a stored version names another id" in err
    assert sorted(p.name for p in (out / "articles").glob("*.html")) == ["ntv-40000005.html"]
    assert not list(tmp_path.glob("**/x*")) and "<script>" not in (out / "index.html").read_text()


_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60)


@given(title=_TEXT, kicker=_TEXT, section=_TEXT, paragraph=_TEXT, author=_TEXT, url=_TEXT)
def test_any_article_text_renders_inert(title, kicker, section, paragraph, author, url) -> None:
    """Whatever a stored document's strings hold, its page holds them as text: no element the
    templates did not write, and every link either the site's own or an http(s) URL."""
    from handler.site.listings import section_slug

    doc = {"id": "ntv-1", "url": url, "kicker": kicker, "title": title, "teaser": paragraph,
           "authors": [author], "published_at": "2025-03-14T09:30:05+01:00",
           "source": {"section": section}, "source_line": paragraph,
           "body": [{"type": "paragraph", "text": paragraph},
                    {"type": "box", "title": title, "text": kicker}], "images": []}  # fmt: skip
    html = render("article.html", root="../", doc=doc)
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html))
    assert tags <= {
        "html",
        "head",
        "meta",
        "title",
        "link",
        "body",
        "header",
        "nav",
        "a",
        "main",
        "article",
        "p",
        "h1",
        "h2",
        "h3",
        "time",
        "strong",
        "aside",
    }, tags
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith(("../", "https://", "http://")) for h in hrefs), hrefs
    assert re.fullmatch(r"[a-z0-9-]*", section_slug(section))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_ROW = st.fixed_dictionaries(
    {},
    optional={
        k: _JSON
        | st.sampled_from(
            [
                "ntv-1",
                "../../x",
                "2025-03-14T09:00:00+00:00",
                "diffs/ntv-1/1.html",
                3,
                10**400 // 10**399,
            ]
        )
        for k in ("id", "time", "title", "section", "published_at", "versions", "diff", "summary")
    },
)


@given(st.fixed_dictionaries({"format": st.just(1)}, optional={
    "read": st.dictionaries(_TEXT | st.just("index/2025/03/14.jsonl"), _JSON), "edits": st.lists(
        _ROW, max_size=3), "newest": _JSON | st.lists(_ROW, max_size=3), "sections": _JSON,
    "days": st.dictionaries(_TEXT | st.just("2025-03-14"), _JSON), "assets": _JSON}),
    _JSON | st.fixed_dictionaries({}, optional={"days": st.dictionaries(
        st.just("2025-03-14") | _TEXT, st.dictionaries(_TEXT, _ROW | _JSON)),
        "records": _JSON, "files": _JSON}))  # fmt: skip
def test_any_stored_site_state_is_read_entry_by_entry(build: dict, month: object) -> None:
    """The site's state is read back from the store like any outside value: whatever its
    files hold, loading gives only entries of the shape the pages expect (ids the layout
    allows, times, whole counts), and never raises."""
    import re as _re

    from handler.site.state import StateFiles
    from handler.store.base import Versioned

    class Held:
        def read(self, key: str) -> Versioned:
            return Versioned(json.dumps(build).encode(), "1")

        def get(self, key: str) -> bytes:
            return json.dumps(month).encode()

    files = StateFiles(Held(), "state/site/")  # type: ignore[arg-type]
    state = files.load()
    for row in [*state.edits, *state.newest, *(r for v in state.sections.values() for r in v)]:
        assert _re.fullmatch(r"[a-z]+-[0-9a-f]+", row["id"]) and isinstance(row["title"], str)
        assert type(row["versions"]) is int and row["versions"] >= 1
        assert "diff" not in row or _re.fullmatch(r"diffs/[a-z]+-[0-9a-f]+/\d+\.html", row["diff"])
    assert all(type(v) is int and v >= 0 for v in [*state.read.values(), *state.days.values()])
    assert all(_re.fullmatch(r"\d{4}-\d\d-\d\d", day) for day in state.days)
    stored = files.month("2025-03")
    for day, rows in stored.days.items():
        assert _re.fullmatch(r"\d{4}-\d\d-\d\d", day)
        assert all(_re.fullmatch(r"[a-z]+-[0-9a-f]+", row["id"]) for row in rows.values())
    assert all(isinstance(r["text"], str) for r in stored.records.values())


def test_a_tampered_state_still_updates_the_site_with_safe_links(tmp_path: Path) -> None:
    from test_import import EDITED_URL, edited_article_archive

    root = edited_article_archive(tmp_path)
    out = tmp_path / "site"
    argv = ["site", "--store", str(root), "--output", str(out), "--quiet"]
    assert main(argv) == 0
    state = json.loads((out / "_build" / "build.json").read_text())
    hostile = {"id": "../../x", "time": "2099-99-99", "title": "<b>", "versions": 1e300,
               "diff": "javascript:alert(1)", "summary": 5}  # fmt: skip
    state["edits"] = [hostile, *state["edits"]]
    state["read"] = {key: -5 for key in state["read"]}  # read again from the start
    state["days"] = {"../../evil": 3, **state["days"]}
    (out / "_build" / "build.json").write_text(json.dumps(state))
    capture(tmp_path, root, "2025-03-14T12:00:00Z",
            page("ntv2025_article.html").replace(b"Herbst", b"Lenz"), EDITED_URL)  # fmt: skip
    assert main(argv) == 0
    for name in ("index.html", "days/index.html"):
        html = (out / name).read_text()
        hrefs = re.findall(r'href="([^"]*)"', html)
        bad = [h for h in hrefs if "../.." in h or "evil" in h or h.startswith("javascript")]
        assert hrefs and not bad, bad
    assert "<b>" not in (out / "index.html").read_text()


def test_builds_that_keep_losing_the_state_race_defer_and_lose_nothing(tmp_path: Path) -> None:
    """Concurrent workers each update the site: a build whose state write keeps losing gives
    up as 'busy' (deferred, not a failure), and the next update renders what it had to."""
    from test_import import edited_article_archive

    from handler.core.errors import ConflictError
    from handler.site.build import SiteBusyError, update_site
    from handler.site.target import SiteTarget
    from handler.store import LocalStore

    root = edited_article_archive(tmp_path)
    archive, out = LocalStore(root), tmp_path / "site"

    class Contended(CountingStore):
        def put_if(self, key: str, data: bytes, content_type: str, expected: str | None) -> None:
            raise ConflictError(f"{key}: another build saved first", key=key)

    with pytest.raises(SiteBusyError, match="next update catches up"):
        update_site(archive, SiteTarget(LocalStore(out), "", Contended(out), "_build/"))
    built = update_site(archive, SiteTarget.folder(LocalStore(out)))
    assert built.full and built.articles == 1
    assert (out / "diffs" / "ntv-40000001" / "1.html").exists()
