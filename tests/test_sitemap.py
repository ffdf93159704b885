"""Sitemaps and the catch-up after a gap longer than the feed's window, against a local server."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import Site, local_settings, page
from handler.core.config import FetchSettings
from handler.ingest.fetch import HttpClient
from handler.ingest.sitemap import SitemapError, gunzipped, in_section, parse_sitemap, walk
from handler.run import poll as polling
from handler.run.context import RunContext

NEWS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_EXT = "http://www.google.com/schemas/sitemap-news/0.9"
START = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


def news_sitemap(entries: list[tuple[str, datetime, str]]) -> bytes:
    urls = "".join(
        f"<url><loc>{loc}</loc><lastmod>{when.isoformat()}</lastmod><news:news>"
        "<news:publication><news:name>n-tv.de</news:name><news:language>de</news:language>"
        f"</news:publication><news:publication_date>{when.isoformat()}</news:publication_date>"
        f"<news:title>{title}</news:title></news:news></url>"
        for loc, when, title in entries
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="{NEWS}" '
            f'xmlns:news="{NEWS_EXT}">{urls}</urlset>').encode()  # fmt: skip


def index(children: list[str]) -> bytes:
    listed = "".join(f"<sitemap><loc>{c}</loc></sitemap>" for c in children)
    return f'<?xml version="1.0"?><sitemapindex xmlns="{NEWS}">{listed}</sitemapindex>'.encode()


# --- parsing


def test_a_news_sitemap_gives_locations_dates_and_titles():
    when = datetime(2025, 3, 14, 8, 15, tzinfo=UTC)
    parsed = parse_sitemap(news_sitemap([("https://www.n-tv.de/politik/a-id1.html", when,
                                          "Kicker: Schlagzeile &amp; mehr")]),
                           "https://www.n-tv.de/news.xml")  # fmt: skip
    [entry] = parsed.entries
    assert (entry.loc, entry.published, entry.lastmod) == (
        "https://www.n-tv.de/politik/a-id1.html", when, when,
    )  # fmt: skip
    assert entry.title == "Kicker: Schlagzeile & mehr" and parsed.children == ()


def test_an_index_gives_its_children():
    parsed = parse_sitemap(index(["https://www.n-tv.de/sitemap-1.xml.gz"]), "https://x.de/i")
    assert [c.loc for c in parsed.children] == ["https://www.n-tv.de/sitemap-1.xml.gz"]


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"<html><body>Wartung</body></html>", r"not a sitemap \(root element <html>\)"),
        (b"<urlset><url><loc>https://x.de/a", "not XML"),
        (b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY e "x">]><urlset/>', "refused DTD"),
        (b"", "not XML"),
    ],
)
def test_what_is_not_a_sitemap_is_refused_with_a_reason(data, said):
    with pytest.raises(SitemapError, match=said):
        parse_sitemap(data, "https://www.n-tv.de/news.xml")


def test_locations_that_are_not_plain_web_urls_are_dropped():
    entries = [("javascript:alert(1)", START, "a"), ("https://www.n-tv.de/politik/b-id2.html",
               START, "b"), ("http://user@evil.example@www.n-tv.de/x", START, "c")]  # fmt: skip
    parsed = parse_sitemap(news_sitemap(entries), "https://www.n-tv.de/news.xml")
    assert [e.loc for e in parsed.entries] == ["https://www.n-tv.de/politik/b-id2.html"]


def test_gzip_files_are_inflated_within_the_cap():
    data = news_sitemap([("https://www.n-tv.de/politik/a-id1.html", START, "a")])
    assert gunzipped(gzip.compress(data), "u", 10_000) == data
    assert gunzipped(data, "u", 10) == data  # not gzip: as it is
    bomb = gzip.compress(b"<" * 5_000_000)
    with pytest.raises(SitemapError, match="size cap"):
        gunzipped(bomb, "u", 1_000_000)
    with pytest.raises(SitemapError, match="not a readable gzip"):
        gunzipped(b"\x1f\x8b" + b"broken", "u", 1000)


def test_sections_are_url_folders():
    assert in_section("https://www.n-tv.de/politik/a-id1.html", "politik")
    assert not in_section("https://www.n-tv.de/sport/politik/a-id1.html", "politik")
    assert not in_section("https://www.n-tv.de/politikum/a-id1.html", "politik")
    assert in_section("https://www.n-tv.de/sport/a-id1.html", None)


def test_an_index_is_followed_bounded_and_a_broken_child_skipped(httpserver):
    base = httpserver.url_for("")
    children = [f"{base}s{n}.xml.gz" for n in range(5)]
    listing = index(children)
    httpserver.expect_request("/index.xml").respond_with_data(listing, content_type="text/xml")
    for n in range(5):
        body = gzip.compress(news_sitemap([(f"https://www.n-tv.de/politik/a-id{n}.html", START,
                                            "t")]))  # fmt: skip
        if n == 1:
            body = b"\x1f\x8bbroken"
        httpserver.expect_request(f"/s{n}.xml.gz").respond_with_data(
            body, content_type="application/gzip"
        )
    client = HttpClient(FetchSettings(extra_hosts=frozenset({"127.0.0.1"}), retries=0))
    read = list(walk(client, f"{base}index.xml", max_sitemaps=4))
    # The index and its first three children were asked for; the broken one is skipped.
    assert [len(s.entries) for s in read] == [0, 1, 1]
    asked = {request.path for request, _ in httpserver.log}
    assert asked == {"/index.xml", "/s0.xml.gz", "/s1.xml.gz", "/s2.xml.gz"}


# --- catch-up in a poll


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


ARTICLE = "/politik/Artikel-{n}-id4100{n:04d}.html"
OTHER = "/sport/Spiel-{n}-id4200{n:04d}.html"


def outage_site(site: Site, window: int = 3) -> tuple[list[str], list[str]]:
    """Six politics and three sport articles published during an outage; the feed lists only
    the last ``window`` politics ones; the news sitemap lists them all, plus noise. Served."""
    politics = [ARTICLE.format(n=n) for n in range(6)]
    sport = [OTHER.format(n=n) for n in range(3)]
    html = page("ntv2025_article.html")
    for n, path in enumerate(politics):
        article = site.add(path, html.replace(b"40000001", f"4100{n:04d}".encode()),
                           title=f"Politik: Artikel {n}")  # fmt: skip
        article.listed = n >= len(politics) - window
        article.pub_date = (START + timedelta(days=1, hours=n)).strftime("%a, %d %b %Y %H:%M:%S %z")
    for n, path in enumerate(sport):
        site.add(path, html.replace(b"40000001", f"4200{n:04d}".encode())).listed = False
    entries = [(site.url(p), START + timedelta(days=1, hours=n), f"Politik: Artikel {n}")
               for n, p in enumerate(politics)]  # fmt: skip
    entries += [(site.url(p), START + timedelta(days=1), "Sport: Spiel") for p in sport]
    day, long_ago = START + timedelta(days=1), START - timedelta(days=9)
    entries += [(site.url(politics[0]), day, "doppelt"),  # a duplicate
                ("https://elsewhere.example/politik/x-id99.html", day, "x"),  # not allowed
                (site.url("/politik/Alt-id41009999.html"), long_ago, "alt")]  # fmt: skip
    site.serve()  # (clears the routes: the sitemap's comes after)
    site.server.expect_request("/news.xml").respond_with_data(
        news_sitemap(entries), content_type="application/xml"
    )
    return politics, sport


def vorher() -> bytes:
    """The article archived by the last poll before the outage."""
    return page("ntv2025_article.html").replace(b"40000001", b"41008888")


def poll(site: Site, root: Path, clock: Clock) -> dict:
    settings = local_settings(str(root), site.feed_url, sitemap_url=site.url("/news.xml"))
    return polling.poll(RunContext(settings, clock=clock)).to_dict()


def test_a_gap_longer_than_the_feed_is_filled_from_the_news_sitemap(site, tmp_path):
    root, clock = tmp_path / "archive", Clock()
    site.add("/politik/Vorher-id41008888.html", vorher(), title="Vorher")
    site.serve()
    assert poll(site, root, clock)["new"] == 1  # the last poll before the outage
    site.articles[0].listed = False
    politics, sport = outage_site(site)
    clock.now = START + timedelta(days=3)
    summary = poll(site, root, clock)
    assert summary["catchup"] == {
        "sitemap": site.url("/news.xml"), "since": "2025-03-14T08:30:05+00:00", "entries": 12,
        "in_section": 7, "archived_before": 0, "off_allowlist": 1, "to_archive": 3,
    }  # fmt: skip
    assert summary["new"] == 6 and summary["failed"] == 0
    archived = {p.stem for p in root.glob("articles/*/*/*/*.json")}
    assert archived == {"ntv-41008888"} | {f"ntv-4100{n:04d}" for n in range(6)}
    assert all(site.requests_to(p) == 1 for p in politics)
    assert all(site.requests_to(p) == 0 for p in sport)  # other sections: not even fetched
    assert site.requests_to("/politik/Alt-id41009999.html") == 0  # before the gap


def test_no_gap_no_sitemap_and_a_broken_sitemap_fails_nothing(site, tmp_path):
    root, clock = tmp_path / "archive", Clock()
    site.add("/politik/Vorher-id41008888.html", vorher(), title="Vorher")
    site.serve()
    poll(site, root, clock)
    outage_site(site, window=6)
    clock.now = START + timedelta(hours=1)  # the feed still reaches back: no catch-up
    assert "catchup" not in poll(site, root, clock) and site.requests_to("/news.xml") == 0
    state = json.loads((root / "state/run-state.json").read_text())
    newest = START + timedelta(days=1, hours=5)  # the last of the six
    assert state["newest"][site.feed_url] == newest.isoformat()
    for article in site.articles:
        article.listed = False  # an outage: the feed has moved past everything it listed
    later = site.add("/politik/Spaeter-id41006666.html", None, title="Politik: Später")
    later.pub_date = "Mon, 17 Mar 2025 09:00:00 +0000"
    site.serve()
    site.server.expect_request("/news.xml").respond_with_data("nope", status=500)
    clock.now = START + timedelta(days=3)
    summary = poll(site, root, clock)
    assert summary["catchup"]["since"] == newest.isoformat()
    assert "HTTP 500" in summary["catchup"]["error"]
    assert [f["id"] for f in summary["failures"]] == ["ntv-41006666"]  # its own 404, no more


def test_an_entry_already_archived_or_off_the_allowlist_is_not_fetched(site, tmp_path):
    root, clock = tmp_path / "archive", Clock()
    site.add("/politik/Vorher-id41008888.html", vorher(), title="Vorher")
    site.serve()
    poll(site, root, clock)
    site.articles[0].listed = False
    politics, _ = outage_site(site)
    clock.now = START + timedelta(days=3)
    assert poll(site, root, clock)["new"] == 6  # the three the feed lost, and its three
    for article in site.articles:
        article.listed = False
    site.articles[-1].listed = True  # one sport item keeps the feed non-empty and newer
    site.articles[-1].pub_date = "Tue, 18 Mar 2025 09:00:00 +0000"
    site.serve()
    site.server.expect_request("/news.xml").respond_with_data(
        news_sitemap([(site.url(p), START + timedelta(days=3, hours=1), "t") for p in politics]
                     + [("https://elsewhere.example/politik/x-id41007777.html",
                         START + timedelta(days=3, hours=1), "fremd")]),
        content_type="application/xml")  # fmt: skip
    clock.now = START + timedelta(days=5)
    summary = poll(site, root, clock)
    catchup = summary["catchup"]
    assert (catchup["archived_before"], catchup["off_allowlist"], catchup["to_archive"]) == (
        6, 1, 0,
    )  # fmt: skip
    # New: only the sport item the feed lists; the politics pages were due revisits, no more.
    assert summary["new"] == 1 and summary["revisited"] == 6
