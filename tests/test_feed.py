from datetime import UTC, datetime

import pytest

from handler.core.config import FetchSettings
from handler.core.errors import FeedError
from handler.core.sitedefs import split_title as split_by_site
from handler.ingest.feed import parse_feed, read_feed
from handler.ingest.fetch import HttpClient

FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>n-tv.de - Politik</title><link>https://www.n-tv.de/</link>
<item><title>"Es geht los": Parlament stimmt ab</title>
<link>https://www.n-tv.de/politik/Parlament-stimmt-ab-id40000010.html</link>
<guid>https://www.n-tv.de/politik/Parlament-stimmt-ab-id40000010.html</guid>
<category>Politik</category><description>Ein Teaser.</description>
<pubDate>Wed, 12 Nov 2025 07:55:21 +0100</pubDate></item>
<item><title>Ohne Dachzeile</title><link>https://www.n-tv.de/politik/Alt-article24594969.html</link></item>
<item><title>Doppelt: Gleicher Artikel</title>
<link>https://www.n-tv.de/politik/Parlament-stimmt-ab-id40000010.html</link></item>
<item><title>Kein Link: wird ausgelassen</title></item>
</channel></rss>"""


def test_items_are_typed_and_keep_kicker_and_headline():
    items = parse_feed(FEED, "https://www.n-tv.de/politik/rss")
    assert [i.id for i in items] == ["ntv-40000010", "ntv-24594969"]
    first = items[0]
    assert first.title == '"Es geht los": Parlament stimmt ab'
    assert (first.kicker, first.headline) == ('"Es geht los"', "Parlament stimmt ab")
    assert first.category == "Politik"
    assert first.teaser == "Ein Teaser."
    assert first.published == datetime(2025, 11, 12, 6, 55, 21, tzinfo=UTC)
    assert (items[1].kicker, items[1].headline, items[1].published) == (
        None,
        "Ohne Dachzeile",
        None,
    )


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Kicker: Headline", ("Kicker", "Headline")),
        ("Kicker: Headline: mit Doppelpunkt", ("Kicker", "Headline: mit Doppelpunkt")),
        ("Nur eine Zeile", (None, "Nur eine Zeile")),
        (": leer", (None, ": leer")),
    ],
)
def test_split_title(title, expected):
    assert split_by_site(title, "ntv") == expected


def test_entity_declarations_are_refused():
    bomb = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">
    <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><rss version="2.0"><channel><title>&b;</title>
    </channel></rss>"""
    with pytest.raises(FeedError, match="refused DTD/entity declarations"):
        parse_feed(bomb, "https://www.n-tv.de/politik/rss")


def test_html_page_is_not_a_feed():
    with pytest.raises(FeedError, match=r"^feed https://x\.n-tv\.de/rss: not a feed"):
        parse_feed(b"<html><body><p>Wartungsarbeiten</p></body></html>", "https://x.n-tv.de/rss")


def test_bytes_naming_a_local_file_are_parsed_not_opened(tmp_path):
    # feedparser opens a *file name* given as bytes; read_feed must hand it a stream instead.
    secret = tmp_path / "secret.xml"
    secret.write_bytes(FEED)
    with pytest.raises(FeedError, match="not a feed"):
        parse_feed(str(secret).encode(), "https://www.n-tv.de/politik/rss")


def test_read_feed_over_http_reports_http_errors(httpserver):
    httpserver.expect_request("/rss").respond_with_data("gone", status=410)
    client = HttpClient(FetchSettings(extra_hosts=frozenset({"127.0.0.1"}), retries=0))
    with pytest.raises(FeedError, match=r"^feed http://127\.0\.0\.1:\d+/rss: HTTP 410"):
        read_feed(client, httpserver.url_for("/rss"))


def test_read_feed_refuses_wrong_content_type(httpserver):
    httpserver.expect_request("/rss").respond_with_data("<p>hi</p>", content_type="text/html")
    client = HttpClient(FetchSettings(extra_hosts=frozenset({"127.0.0.1"}), retries=0))
    with pytest.raises(FeedError, match="content type 'text/html'"):
        read_feed(client, httpserver.url_for("/rss"))


def test_external_entity_is_refused():
    xxe = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <rss version="2.0"><channel><title>&x;</title></channel></rss>"""
    with pytest.raises(FeedError, match="refused DTD/entity declarations"):
        parse_feed(xxe, "https://www.n-tv.de/politik/rss")


def test_50_mb_feed_is_stopped_by_the_size_cap(httpserver):
    item = b"<item><title>K: T</title><link>https://www.n-tv.de/x-id1.html</link></item>"
    huge = b'<?xml version="1.0"?><rss version="2.0"><channel>' + item * 700_000
    assert len(huge) > 50_000_000
    httpserver.expect_request("/rss").respond_with_data(huge, content_type="application/rss+xml")
    client = HttpClient(FetchSettings(extra_hosts=frozenset({"127.0.0.1"}), retries=0))
    with pytest.raises(FeedError, match=r"/rss: response larger than 5242880 bytes"):
        read_feed(client, httpserver.url_for("/rss"))


def test_empty_feed_has_no_items():
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    assert parse_feed(empty, "https://www.n-tv.de/politik/rss") == []


def test_duplicate_guids_and_items_without_links_are_skipped():
    items = parse_feed(FEED, "https://www.n-tv.de/politik/rss")
    assert len(items) == 2  # 4 entries: one repeats a link, one has none
