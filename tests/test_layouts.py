"""Every form the old ntv layout takes, modelled on the real pages in ../shared/corpus/ntv/legacy
(the corpus tests check the real ones): lead, byline, interview, fact box, list, quote,
liveticker, and the pages that are not articles. Each page here is built from the parts a test
names, so a failure points at one form."""

from __future__ import annotations

import json

import pytest

from conftest import Site, assert_valid
from handler.archive.extraction import extract_article
from handler.cli import main
from handler.core.errors import NotAnArticleError

URL = "https://www.n-tv.de/politik/Eine-Meldung-article40000011.html"
PARAGRAPH = (
    "Der Stadtrat hat am Abend nach langer Debatte beschlossen, die Brücke zu sanieren. "
    "Die Arbeiten sollen im Frühjahr beginnen und zwei Jahre dauern."
)


def legacy_page(
    *body: str,
    byline: str | None = None,
    ld_author: str = "n-tv NACHRICHTEN",
    meta_author: str = "n-tv NACHRICHTEN",
    url: str = URL,
) -> bytes:
    """An old-layout article page (article__* classes, JSON-LD naming the newsroom as author
    and publisher, as the real ones do) whose article__text holds ``body``."""
    ld = {
        "@context": "http://schema.org",
        "@type": "NewsArticle",
        "headline": "Kicker: Eine Meldung",
        "datePublished": "2019-01-15T23:48:56",
        "author": {"@type": "Person", "name": ld_author},
        "publisher": {"@type": "Organization", "name": "n-tv NACHRICHTEN"},
    }
    author = f'<p class="article__author">{byline}</p>' if byline else ""
    return f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">
<meta name="author" content="{meta_author}" /><meta property="og:url" content="{url}" />
<script type="application/ld+json">{json.dumps(ld)}</script></head><body>
<article class="article"><span class="title title--dark">Politik</span>
<div class="article__header"><h1><span class="article__kicker">Kicker</span>
<span class="article__headline">Eine Meldung</span></h1></div>
<div class="article__share">FB TW</div>
<div class="article__text">{"".join(body)}</div>
{author}<p class="article__source">Quelle: ntv.de, bad/AFP</p></article>
<article class="teaser"><a href="/x">Mehr zum Thema</a></article></body></html>""".encode()


def extract(html: bytes, url: str = URL) -> dict:
    doc = extract_article(html, url)
    assert_valid(doc)
    return doc


def blocks(doc: dict) -> list[tuple[str, str]]:
    return [(block["type"], block["text"]) for block in doc["body"]]


@pytest.mark.parametrize("tag", ["strong", "b", "em", "i"])
def test_lead_set_wholly_in_emphasis_is_the_teaser(tag):
    doc = extract(legacy_page(f"<p><{tag}>Der Vorspann.</{tag}></p>", f"<p>{PARAGRAPH}</p>"))
    assert doc["teaser"] == "Der Vorspann."
    assert blocks(doc) == [("paragraph", PARAGRAPH)]


@pytest.mark.parametrize(
    "first",
    [
        f"<p>{PARAGRAPH}</p>",  # plain text: no lead
        "<p>Die <strong>Brücke</strong> wird saniert, sagt der Rat.</p>",  # emphasis inside
        "<p><strong>Die Brücke</strong> wird saniert.</p>",  # text after the emphasis
    ],
)
def test_a_first_paragraph_not_wholly_emphasised_is_body_not_lead(first):
    doc = extract(legacy_page(first, f"<p>{PARAGRAPH}</p>"))
    assert doc["teaser"] is None
    assert len(doc["body"]) == 2 and doc["body"][0]["type"] == "paragraph"


@pytest.mark.parametrize(
    ("byline", "authors", "dateline"),
    [
        ("Von Anna Beispiel", ["Anna Beispiel"], None),
        ("Von Anna Beispiel, Lille", ["Anna Beispiel"], "Lille"),
        ("Ein Kommentar von Anna Beispiel", ["Anna Beispiel"], None),
        ("Eine Analyse von Anna Beispiel", ["Anna Beispiel"], None),
        ("Eine Abrechnung von Anna Beispiel", ["Anna Beispiel"], None),
        ("Eine Kolumne von Anna Beispiel", ["Anna Beispiel"], None),
        (
            "Von Anna Beispiel, Kiew und Charkiw, und Bernd Muster, Moskau",
            ["Anna Beispiel", "Bernd Muster"],
            "Kiew und Charkiw; Moskau",
        ),
        (
            "Von Anna Beispiel und Bernd Muster, Washington",
            ["Anna Beispiel", "Bernd Muster"],
            "Washington",
        ),
    ],
)
def test_byline_forms_give_persons_only(byline, authors, dateline):
    doc = extract(legacy_page("<p><strong>Vorspann.</strong></p>", f"<p>{PARAGRAPH}</p>",
                              byline=byline))  # fmt: skip
    assert (doc["authors"], doc["dateline"]) == (authors, dateline)


def test_the_newsroom_is_never_an_author_from_meta_or_json_ld():
    # No byline; the page names "n-tv NACHRICHTEN" as meta author and JSON-LD Person.
    doc = extract(legacy_page("<p><strong>Vorspann.</strong></p>", f"<p>{PARAGRAPH}</p>"))
    assert doc["authors"] == []
    assert doc["source"]["publisher"] == "ntv.de"
    person = legacy_page(f"<p>{PARAGRAPH}</p>", ld_author="Anna Beispiel")
    assert extract(person)["authors"] == ["Anna Beispiel"]


def test_interview_questions_and_credit():
    doc = extract(
        legacy_page(
            "<p><em>Ein Gespräch über Brücken.</em></p>",
            "<p><strong>n-tv.de: Wann beginnen die Arbeiten?</strong></p>",
            f"<p>Anna Beispiel: {PARAGRAPH}</p>",
            "<p><b>Und wer zahlt?</b></p>",
            f"<p>{PARAGRAPH}</p>",
            "<p><em>Mit Anna Beispiel sprach Bernd Muster</em></p>",
        )
    )
    assert doc["teaser"] == "Ein Gespräch über Brücken."
    assert [t for t, _ in blocks(doc)] == ["question", "paragraph", "question", "paragraph"]
    assert doc["authors"] == ["Bernd Muster"]  # the interviewer, not the interviewee


def test_bold_line_in_an_ordinary_article_is_a_subheading():
    doc = extract(legacy_page(
        "<p><strong>Vorspann.</strong></p>", f"<p>{PARAGRAPH}</p>",
        "<p><strong>Die Kosten</strong></p>", f"<p>{PARAGRAPH}</p>",
        "<p><strong>Ein fetter Satz, der mit einem Punkt endet.</strong></p>",
    ))  # fmt: skip
    assert [t for t, _ in blocks(doc)] == ["paragraph", "subheading", "paragraph", "paragraph"]


def test_fact_box_is_one_box_block_with_its_title():
    box = (
        '<div class="article__aside article__aside--text article__aside--full">'
        '<strong class="article__aside__title">Die Brücke</strong>'
        "<p>Gebaut 1911.</p><p>Saniert 1975 und <strong>2026</strong>.<br> </p></div>"
    )
    doc = extract(legacy_page("<p><strong>Vorspann.</strong></p>", f"<p>{PARAGRAPH}</p>", box))
    assert doc["body"][1] == {
        "type": "box", "title": "Die Brücke", "text": "Gebaut 1911.\n\nSaniert 1975 und 2026.",
    }  # fmt: skip
    assert "Die Brücke\n\nGebaut 1911." in doc["text"]


def test_list_and_quote_are_typed_blocks_and_embeds_are_not():
    doc = extract(legacy_page(
        f"<p>{PARAGRAPH}</p>",
        "<ul><li>Erstens: die Brücke</li><li>Zweitens: die Straße</li><li> </li></ul>",
        "<blockquote>Wir bauen, sagte die Bürgermeisterin.</blockquote>",
        '<div class="article__aside article__aside--right article__aside--extcontent">'
        '<div class="extcontent extcontent--twitter"><blockquote class="twitter-tweet">'
        '<a href="https://twitter.com/x/status/1">Tweet</a></blockquote></div></div>',
    ))  # fmt: skip
    assert blocks(doc) == [
        ("paragraph", PARAGRAPH),
        ("list_item", "Erstens: die Brücke"),
        ("list_item", "Zweitens: die Straße"),
        ("quote", "Wir bauen, sagte die Bürgermeisterin."),
    ]


def test_liveticker_entries_carry_their_time_and_make_the_kind():
    doc = extract(legacy_page(
        "<p><strong>Der Tag im Überblick.</strong></p>",
        "<h2>+++ 14:32 Kiew meldet neue Angriffe +++</h2>", f"<p>{PARAGRAPH}</p>",
        "<p><strong>+++ 9.05 Uhr Scholz reist nach Paris +++</strong></p>", f"<p>{PARAGRAPH}</p>",
    ))  # fmt: skip
    assert doc["kind"] == "liveticker"
    entries = [(b["time"], b["text"]) for b in doc["body"] if b["type"] == "liveticker_entry"]
    assert entries == [("14:32", "Kiew meldet neue Angriffe"), ("09:05", "Scholz reist nach Paris")]
    one = extract(legacy_page(f"<p>{PARAGRAPH}</p>", "<h2>+++ 14:32 Nur eine +++</h2>"))
    assert one["kind"] == "article"  # a single "+++" heading is not yet a ticker


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/mediathek/audio/Ein-Podcast-article40000012.html", "audio"),
        ("/mediathek/videos/politik/Ein-Video-article40000013.html", "video"),
        ("/mediathek/bilderserien/politik/Bilder-article40000014.html", "gallery"),
        ("/politik/Der-Tag-im-Liveticker-article40000015.html", "liveticker"),
    ],
)
def test_kind_from_ntv_paths(path, kind):
    url = "https://www.n-tv.de" + path
    assert extract(legacy_page(f"<p>{PARAGRAPH}</p>", url=url), url)["kind"] == kind


AUTHOR_PAGE = (
    b"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">
<meta property="og:type" content="article" /><meta name="author" content="n-tv NACHRICHTEN" />
</head><body><section class="author"><div class="author__content"><div class="author__text">
<h1>Anna Beispiel</h1><p>Anna Beispiel ist Redakteurin im Politikressort und schreibt seit 2015
ueber Verkehr, Staedte und Landespolitik. Zuvor arbeitete sie bei einer Regionalzeitung.</p>
</div></div></section>"""
    + b"".join(
        b'<article class="teaser teaser--inline"><a href="/politik/T-article%d.html">'
        b"<span>Ein Artikel von ihr mit einer langen Schlagzeile</span></a></article>" % n
        for n in range(20)
    )
    + b"</body></html>"
)

FRONT_PAGE = (
    b"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">
<script type="application/ld+json">{"@type": "WebSite", "name": "n-tv.de"}</script>
</head><body><h1>Politik</h1>"""
    + b"".join(
        b'<article class="teaser"><a href="/politik/T-article%d.html"><p>Eine Schlagzeile '
        b"mit einem Vorspann, der ueber mehrere Zeilen geht und neugierig macht.</p></a></article>"
        % n
        for n in range(25)
    )
    + b"</body></html>"
)


@pytest.mark.parametrize(
    ("html", "reason"), [(AUTHOR_PAGE, "an author page"), (FRONT_PAGE, "a section front")]
)
def test_pages_that_are_not_articles_are_refused(html, reason):
    with pytest.raises(NotAnArticleError) as raised:
        extract_article(html, "https://www.n-tv.de/autoren/Anna-Beispiel-article40000016.html")
    assert raised.value.reason == reason
    assert str(raised.value).endswith(f"not an article ({reason})")
    # Under the generic profile no site rule knows the page: it is trafilatura's reading, not
    # refused (the recognisers are the ntv site's, not the extraction core's).
    generic = extract_article(html, "https://example.org/a", profile="generic")
    assert generic["extraction"]["profile"] == "generic" and generic["body"]


def test_not_an_article_in_a_run_is_skipped_not_failed_nor_retried(site: Site, tmp_path, capsys):
    site.add("/autoren/Anna-Beispiel-article40000016.html", AUTHOR_PAGE)
    site.add("/politik/Eine-Meldung-article40000011.html", legacy_page(f"<p>{PARAGRAPH}</p>"))
    site.serve()
    args = site.run_args(str(tmp_path), "--json")
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["new"], summary["skipped"], summary["failed"], summary["pending"]) == (
        1,
        1,
        0,
        0,
    )
    [skipped] = [a for a in summary["articles"] if a["status"] == "skipped"]
    assert skipped["reason"].endswith("not an article (an author page)") and skipped["key"] is None
    assert not list(tmp_path.glob("articles/**/ntv-40000016.json"))
    assert not list(tmp_path.glob("raw/**/*40000016*"))
    assert main(["status", "--store", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pending"] == []  # nothing owed, no retry due


def test_generic_profile_names_the_pages_own_publisher():
    html = (
        b"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta property="og:site_name" content="Example News" /><title>A story</title></head><body>
<article><h1>A story</h1><p>"""
        + PARAGRAPH.encode() * 3
        + b"""</p><p>"""
        + (PARAGRAPH.encode() * 2)
        + b"""</p></article></body></html>"""
    )
    doc = extract_article(html, "https://example.org/story", profile="generic")
    assert_valid(doc)
    assert doc["source"]["publisher"] == "Example News"
    assert doc["extraction"]["baseline"]["agrees"] is True


def test_extractions_never_overlap_in_a_concurrent_run(site: Site, tmp_path, capsys, monkeypatch):
    """trafilatura on lxml crashes the process when threads extract at once (see
    handler.archive.extraction._EXTRACTION_LOCK); a run with 8 fetch threads extracts one page at a
    time, while its fetches still overlap."""
    import threading
    import time

    import handler.archive.extraction as articles

    inside, most, guard = 0, 0, threading.Lock()
    real = articles.read_page

    def counting(page):
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        time.sleep(0.005)  # widen the window an unlocked second thread would fall into
        try:
            return real(page)
        finally:
            with guard:
                inside -= 1

    monkeypatch.setattr(articles, "read_page", counting)
    for n in range(16):
        html = legacy_page(f"<p>{PARAGRAPH} {n}</p>", url=f"https://www.n-tv.de/x-{n}")
        site.add(f"/politik/Meldung-{n}-article{40000100 + n}.html", html)
    site.serve()
    assert main(site.run_args(str(tmp_path), "--json", "--concurrency", "8")) == 0
    assert json.loads(capsys.readouterr().out)["new"] == 16
    assert most == 1
