"""The site in a real browser: headless Chromium (Debian's package, driven by Playwright's
Python API by its path) clicks through an archive made from the real corpus pages over the
stand-in server, with an edit and a hostile-text article. Screenshots of every page kind, at a
desktop's and a phone's width, go to dist/screenshots/ (CI keeps them).

Skipped, with a message, where no Chromium is installed (`.ci/run` installs it with apt-get;
CHROMIUM names another binary) or where ../shared's corpus is absent."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conftest import Site, corpus_page, page
from handler.cli import main
from handler.site.serve import make_server
from handler.site.target import SiteTarget
from handler.store import LocalStore

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[1] / "dist" / "screenshots"
WIDTHS = {"desktop": (1000, 640), "phone": (390, 844)}
CURRENT = "/politik/Trump-spricht-nach-Tanker-Stuermung-ueber-Bodeneinsaetze-id30134161.html"
OLYMPIA = ("/sport/olympia/Olympische-Spiele-Deutscher-Basketball-Aggressor-beeindruckt-"
           "Frankreich-zerfetzt-sich-article25136526.html")  # fmt: skip
HOSTILE = "/politik/Feindlicher-Text-id40000009.html"
# Escaped in the page's source, so that the archive holds them as text: the site must show
# them as text and run none of them.
HOSTILE_TITLE = "&lt;/title&gt;&lt;script&gt;window.pwned=1;alert(1)&lt;/script&gt;Fahrradplan"
HOSTILE_BODY = ("&lt;img src=x onerror=&quot;window.pwned=2;alert(2)&quot;&gt; Kraftwerk "
                "&lt;a href=&quot;javascript:alert(3)&quot;&gt;Link&lt;/a&gt;")  # fmt: skip
LAUNCH_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip


def chromium_path() -> str:
    found = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found:
        pytest.skip("no Chromium to test the site in (apt-get install chromium; .ci/run does)")
    return found


@pytest.fixture(scope="module")
def served(make_httpserver, tmp_path_factory) -> Iterator[str]:
    """An archive of the two current-layout corpus pages, one of them edited between two
    fetches, the repository's modelled pages and a hostile-text article; its site, served."""
    chromium_path()
    folder = tmp_path_factory.mktemp("browser")
    make_httpserver.clear_all_handlers()
    stand_in = Site(make_httpserver)
    current = corpus_page("NTV_2025_12_12")
    stand_in.add(CURRENT, current)
    stand_in.add(OLYMPIA, corpus_page("NTV_2024_08_05"))
    hostile = page("ntv2025_article.html").replace(b"40000001", b"40000009")
    hostile = hostile.replace(b"Stadtrat beschlie\xc3\x9ft Fahrradplan", HOSTILE_TITLE.encode())
    hostile = hostile.replace(b"Der Bau soll im Herbst beginnen.", HOSTILE_BODY.encode())
    stand_in.add(HOSTILE, hostile)
    stand_in.add("/politik/Stadtrat-id40000001.html", page("ntv2025_article.html"))
    stand_in.serve()
    root = str(folder / "archive")
    assert main([*stand_in.run_args(root), "--quiet"]) == 0
    # The newsroom edits a paragraph of the current page; the archive fetches it again.
    edited = current.replace(
        b"Zuletzt hatte Trump im Interview",
        b"Zuletzt hatte Trump in der Wahlkampfpause im Interview",
    )
    assert edited != current
    stand_in.articles[0].html = edited
    stand_in.serve()
    assert main(["replay", stand_in.url(CURRENT), "--allow-host", "127.0.0.1",
                 "--store", root, "--quiet"]) == 0  # fmt: skip
    out = folder / "site"
    assert main(["site", "--store", root, "--output", str(out), "--quiet"]) == 0
    server = make_server(SiteTarget.folder(LocalStore(out)), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS)
        yield launched
        launched.close()


class Visit:
    """A page in a fresh context, with everything that must not happen recorded: console
    errors, uncaught exceptions, dialogs, requests to any other origin."""

    def __init__(self, browser: Any, origin: str, width: str = "desktop") -> None:
        w, h = WIDTHS[width]
        self.context = browser.new_context(viewport={"width": w, "height": h}, locale="de-DE")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.elsewhere: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        host = urlsplit(origin).netloc
        self.page.on("request", lambda r: urlsplit(r.url).netloc != host and
                     self.elsewhere.append(r.url))  # fmt: skip

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def shoot(self, kind: str, width: str = "desktop") -> None:
        """The whole page, and its first screen (what docs/images/ holds for the README)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{kind}-{width}.png"), full_page=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{kind}-{width}-screen.png"))

    def clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs
        assert not self.elsewhere, self.elsewhere

    def close(self) -> None:
        self.context.close()


def serious_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


def test_home_to_article_to_history_to_diff(served: str, browser: Any) -> None:
    visit = Visit(browser, served)
    visit.page.goto(served)
    assert visit.page.locator("html").get_attribute("lang") == "de"
    visit.shoot("home")
    visit.page.locator("ol.edits li a").first.click()  # the edited article
    assert "/articles/ntv-30134161.html" in visit.page.url
    visit.shoot("article")
    history = visit.page.locator("section.history li")
    assert history.count() == 2
    history.nth(1).locator("a").click()
    assert visit.page.url.endswith("/diffs/ntv-30134161/1.html")
    inserted = visit.page.locator("ins").all_inner_texts()
    assert any("Wahlkampfpause" in text for text in inserted), inserted
    assert visit.page.get_by_text("Eingefügt:").is_visible()  # said in words, not colour only
    visit.shoot("diff")
    visit.page.goto(f"{served}days/index.html")
    visit.page.locator("ul.days a").first.click()
    assert "/days/" in visit.page.url and visit.page.locator("ol.articles li").count() >= 1
    visit.shoot("day")
    visit.clean()
    visit.close()


def test_search_finds_a_word_from_a_body_and_follows_it(served: str, browser: Any) -> None:
    visit = Visit(browser, served)
    visit.page.goto(f"{served}search.html")
    visit.page.fill("#q", "Wahlkampfpause")
    visit.page.click("button[type=submit]")
    first = visit.page.locator("#search-results li a").first
    first.wait_for(timeout=30_000)
    visit.shoot("search")
    first.click()
    visit.page.wait_for_url("**/articles/ntv-30134161.html")
    visit.clean()
    visit.close()


def test_every_page_kind_passes_axe_at_both_widths(served: str, browser: Any) -> None:
    kinds = {"home": "", "article": "articles/ntv-30134161.html",
             "diff": "diffs/ntv-30134161/1.html", "calendar": "days/index.html",
             "day": "days/2025-12-12.html", "search": "search.html"}  # fmt: skip
    found = {}
    for width in WIDTHS:
        visit = Visit(browser, served, width)
        for kind, path in kinds.items():
            visit.page.goto(f"{served}{path}")
            found[f"{kind}/{width}"] = serious_violations(visit.page)
            visit.shoot(kind, width)
            # Readable on a phone: nothing wider than the screen.
            screen = WIDTHS[width][0]
            assert visit.page.evaluate("document.documentElement.scrollWidth") <= screen, kind
        visit.clean()
        visit.close()
    assert not any(found.values()), found


def test_the_hostile_article_is_inert_in_the_browser(served: str, browser: Any) -> None:
    visit = Visit(browser, served)
    visit.page.goto(f"{served}articles/ntv-40000009.html")
    assert visit.page.evaluate("window.pwned") is None
    heading = visit.page.locator("h1").inner_text()
    assert "<script>" in heading  # shown as the text it is
    assert visit.page.locator("main img, main script, main iframe").count() == 0
    hrefs = visit.page.eval_on_selector_all("a", "links => links.map(a => a.href)")
    assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    visit.shoot("hostile-article")
    visit.page.goto(f"{served}search.html?q=Kraftwerk")
    visit.page.locator("#search-results li").first.wait_for(timeout=30_000)
    assert visit.page.locator("#search-results img, #search-results script").count() == 0
    assert visit.page.evaluate("window.pwned") is None
    visit.clean()
    visit.close()


def test_the_edits_feed_parses_as_atom(served: str) -> None:
    import urllib.request

    import feedparser

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    feed = feedparser.parse(opener.open(f"{served}edits.atom", timeout=30).read())
    assert not feed.bozo, feed.bozo_exception
    assert feed.entries[0].link.endswith("diffs/ntv-30134161/1.html")
    assert "paragraph" in feed.entries[0].summary
