from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import assert_valid, page
from handler.archive.extraction import extract_article
from handler.core.errors import ExtractionError
from handler.core.models import article_id
from handler.extract.page import parse_timestamp
from handler.sites.ntv import parse_byline, parse_source_line, split_credit
from handler.sites.ntv.parsing import parse_interview_credit, parse_ticker_entry

URL = "https://www.n-tv.de/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"
NOISE = [
    "00:00",
    "Audioversion",
    "Artikel anhören",
    "Foto:",
    "Quelle:",
    "Mehr zum Thema",
    "Ich möchte",
    "Newsletter",
    "Facebook",
    "Link kopieren",
    "14.03.2025",
    "Politik\n",
]


def test_current_layout_fields():
    doc = extract_article(page("ntv2025_article.html"), URL)
    assert doc["id"] == "ntv-40000001"
    assert doc["url"] == URL
    assert doc["kicker"] == "Streit um Radwege"
    assert doc["title"] == "Stadtrat beschließt Fahrradplan"
    assert doc["seo_title"] == "Streit um Radwege: Stadtrat beschließt Fahrradplan"
    assert doc["teaser"].startswith("Nach monatelangem Streit")
    assert [b["type"] for b in doc["body"]] == ["paragraph"] * 2 + ["subheading"] + [
        "paragraph"
    ] * 2
    assert doc["body"][2]["text"] == "Kritik aus der Opposition"
    assert doc["text"] == "\n\n".join(b["text"] for b in doc["body"])
    assert doc["published_at"] == "2025-03-14T09:30:05+01:00"
    assert doc["modified_at"] == "2025-03-14T11:02:40+01:00"
    assert doc["source"] == {"publisher": "ntv.de", "feed": None, "section": "Politik"}
    assert doc["source_line"] == "Quelle: ntv.de, abc/dpa"
    assert doc["keywords"] == ["Politik", "Verkehr", "Kommunalpolitik"]
    assert doc["authors"] == []
    assert doc["extraction"]["profile"] == "ntv-2025"
    assert doc["extraction"]["status"] == "ok"


@pytest.mark.parametrize("name", ["ntv2025_article.html", "ntv_legacy_article.html"])
def test_no_page_furniture_in_text(name):
    doc = extract_article(page(name), URL)
    stored = "\n".join([doc["text"], doc["teaser"] or "", doc["title"]])
    found = [marker for marker in NOISE if marker in stored]
    assert found == []
    assert doc["teaser"] not in doc["text"]


def test_legacy_layout_fields():
    doc = extract_article(
        page("ntv_legacy_article.html"), "https://www.n-tv.de/x-article30000002.html"
    )
    assert doc["id"] == "ntv-30000002"
    assert (
        doc["url"] == "https://www.n-tv.de/panorama/Hafen-bekommt-neue-Faehre-article30000002.html"
    )
    assert (doc["kicker"], doc["title"]) == ("Nach langem Warten", "Hafen bekommt neue Fähre")
    assert (
        doc["teaser"]
        == "Jahrelang mussten die Inselbewohner auf Ersatz warten. Nun ist die neue Fähre da."
    )
    assert doc["authors"] == ["Anna Beispiel", "Bernd Muster"]
    assert doc["dateline"] == "Husum"
    # Legacy JSON-LD gives Berlin local time without a zone.
    assert doc["published_at"] == "2023-04-28T18:11:01+02:00"
    assert doc["source"]["section"] == "Panorama"
    assert doc["extraction"]["profile"] == "ntv-legacy"
    assert "Der alte Anleger" not in doc["text"] and "Fährverkehr eingestellt" not in doc["text"]


def test_unknown_layout_falls_back_to_trafilatura_and_says_so():
    doc = extract_article(page("generic_article.html"), "https://www.n-tv.de/politik/x.html")
    assert doc["extraction"]["profile"] == "generic"
    assert doc["extraction"]["status"] == "fallback"
    assert "no site rule matched" in doc["extraction"]["warnings"][0]
    assert doc["title"] == "Wahlabend im Überblick"
    assert doc["text"].startswith("Die ersten Hochrechnungen")
    assert doc["published_at"] == "2025-02-23T18:00:00+01:00"


@pytest.mark.parametrize("html", [page("no_text.html"), b"", b"   "])
def test_page_without_text_is_a_failure_not_an_empty_document(html):
    with pytest.raises(
        ExtractionError, match=r"^https://www\.n-tv\.de/x\.html: (no article text|empty page)"
    ):
        extract_article(html, "https://www.n-tv.de/x.html")


def test_content_hash_ignores_fetch_time_but_not_content():
    html = page("ntv2025_article.html")
    first = extract_article(
        html, URL, fetched_at=datetime.fromisoformat("2025-03-14T10:00:00+00:00")
    )
    later = extract_article(
        html, URL, fetched_at=datetime.fromisoformat("2025-03-15T10:00:00+00:00")
    )
    edited = extract_article(html.replace(b"im Herbst", b"im Winter"), URL)
    assert first["content_sha256"] == later["content_sha256"]
    assert first["fetched_at"] != later["fetched_at"]
    assert edited["content_sha256"] != first["content_sha256"]


@pytest.mark.parametrize(
    ("byline", "authors", "dateline"),
    [
        ("Von Seb Dumitru, Lille", ["Seb Dumitru"], "Lille"),
        ("Von Anna Beispiel und Bernd Muster", ["Anna Beispiel", "Bernd Muster"], None),
        ("Von A Eins, B Zwei und C Drei", ["A Eins", "B Zwei", "C Drei"], None),
        ("von Carla Test", ["Carla Test"], None),
        ("Von n-tv NACHRICHTEN", [], None),
        (None, [], None),
        # Role prefixes of opinion pieces (the old layout's bylines).
        ("Ein Kommentar von Roland Peters", ["Roland Peters"], None),
        ("Eine Analyse von Benjamin Konietzny", ["Benjamin Konietzny"], None),
        ("Eine Abrechnung von Thomas Schmoll", ["Thomas Schmoll"], None),
        ("Eine Kolumne von Anna Beispiel, Paris", ["Anna Beispiel"], "Paris"),
        # Several authors, each with a place; a place that itself holds "und".
        (
            "Von Anna Beispiel, Washington, und Bernd Muster, Moskau",
            ["Anna Beispiel", "Bernd Muster"],
            "Washington; Moskau",
        ),
        (
            "Von Anna Beispiel, Kiew und Charkiw, und Bernd Muster, Berlin",
            ["Anna Beispiel", "Bernd Muster"],
            "Kiew und Charkiw; Berlin",
        ),
        (
            "Von Anna Beispiel und Bernd Muster, New York",
            ["Anna Beispiel", "Bernd Muster"],
            "New York",
        ),
        ("Von Christian Wilp, New York", ["Christian Wilp"], "New York"),
        ("Von Anna Beispiel, Kiew und Charkiw", ["Anna Beispiel"], "Kiew und Charkiw"),
        (
            "Von Anna Beispiel, Bernd Muster und Ursula von der Test",
            ["Anna Beispiel", "Bernd Muster", "Ursula von der Test"],
            None,
        ),
        ("Von Anna Beispiel und ntv.de", ["Anna Beispiel"], None),
    ],
)
def test_byline(byline, authors, dateline):
    assert parse_byline(byline) == (authors, dateline)


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("Mit Philip Kovce sprach Solveig Bach", ["Solveig Bach"]),
        ("Mit Muhammad Yunus sprach Peter Littger.", ["Peter Littger"]),
        ("Mit Anna Beispiel sprachen Bernd Muster und Carla Test", ["Bernd Muster", "Carla Test"]),
        ("Mit der Kanzlerin sprach n-tv NACHRICHTEN", []),
        ("Mit diesem Satz sprach er Klartext, sagte sie", []),
        ("Das Gespräch wurde gekürzt.", []),
    ],
)
def test_interview_credit_names_the_interviewers(line, authors):
    assert parse_interview_credit(line) == authors


@pytest.mark.parametrize(
    ("heading", "entry"),
    [
        ("+++ 14:32 Kiew meldet neue Angriffe +++", ("14:32", "Kiew meldet neue Angriffe")),
        ("+++ 7.05 Uhr Scholz reist nach Paris +++", ("07:05", "Scholz reist nach Paris")),
        ("++ 23:59 Der Tag im Überblick ++", ("23:59", "Der Tag im Überblick")),
        ("14:32 Kiew meldet neue Angriffe", None),
        ("20:15 Uhr", ("20:15", "20:15 Uhr")),
        ("Um 20:15 Uhr", None),
        ("Kiew meldet +++ neue Angriffe", None),
    ],
)
def test_liveticker_entry_heading(heading, entry):
    assert parse_ticker_entry(heading) == entry


def test_liveticker_heading_of_hostile_length_is_read_in_one_pass():
    """A bold paragraph is tried as a ticker heading, and a page may hold one as long as the
    text cap: a run of "+" in it once made the pattern backtrack quadratically (minutes)."""
    heading = "+++ 12:00 Ein Titel " + "+" * 200_000 + " und weiter"
    assert parse_ticker_entry(heading) == ("12:00", heading[10:])
    assert parse_ticker_entry("+++ 12:00 " + "+" * 200_000) == (
        "12:00",
        "+++ 12:00 " + "+" * 200_000,
    )


@pytest.mark.parametrize(
    ("value", "offset_hours"),
    [("2023-04-28 18:11:01.0", 2), ("2023-01-28 18:11:01.0", 1), ("2025-12-12T05:07:47+01:00", 1)],
)
def test_timestamps_without_zone_are_berlin_time(value, offset_hours):
    parsed = parse_timestamp(value, "Europe/Berlin")  # ntv's zone (sites/ntv/definition.py)
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=offset_hours)
    assert parsed.microsecond == 0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.n-tv.de/politik/Slug-article24594969.html", "ntv-24594969"),
        ("https://www.n-tv.de/politik/Slug-id30134161.html?utm=x#top", "ntv-30134161"),
        ("HTTPS://WWW.N-TV.DE/politik/Slug-id30134161.html", "ntv-30134161"),
    ],
)
def test_article_id_from_both_url_forms(url, expected):
    assert article_id(url) == expected


def test_article_id_without_ntv_number_is_a_stable_hash():
    a = article_id("https://www.n-tv.de/special/wahl/")
    assert a.startswith("url-") and a == article_id("https://www.n-tv.de/special/wahl/#x")
    assert a != article_id("https://www.n-tv.de/special/other/")


@pytest.mark.parametrize(
    "name", ["ntv2025_article.html", "ntv_legacy_article.html", "generic_article.html"]
)
def test_documents_validate_against_the_published_schema(name):
    assert_valid(extract_article(page(name), URL))


def test_schema_rejects_a_document_that_breaks_the_contract():
    import jsonschema

    doc = extract_article(page("ntv2025_article.html"), URL)
    doc["body"] = []
    with pytest.raises(jsonschema.ValidationError):
        assert_valid(doc)


def test_two_authors_no_kicker_no_teaser_several_subheadings_paywall():
    doc = extract_article(page("ntv2025_byline.html"), "https://www.n-tv.de/x")
    assert doc["authors"] == ["Anna Beispiel", "Bernd Muster"]
    assert (doc["kicker"], doc["teaser"], doc["dateline"]) == (None, None, None)
    assert [b["text"] for b in doc["body"] if b["type"] == "subheading"] == [
        "Streit um die Schuldenregel",
        "Länder fordern mehr Geld",
        "Wie es weitergeht",
    ]
    assert doc["agencies"] == ["dpa", "AFP", "Reuters"]
    assert doc["editors"] == ["mli", "bbe"]
    assert doc["paywalled"] is True
    assert doc["kind"] == "article"


def test_liveticker_and_video_pages_are_marked():
    live = extract_article(page("ntv2025_liveticker.html"), "https://www.n-tv.de/x")
    video = extract_article(page("ntv2025_video.html"), "https://www.n-tv.de/x")
    assert (live["kind"], video["kind"]) == ("liveticker", "video")
    assert live["modified_at"] == "2025-02-23T20:15:00+01:00"
    assert video["published_at"] == "2025-06-02T12:00:00+02:00"  # VideoObject's uploadDate
    assert "00:00" not in video["text"] and video["text"].startswith("Der Verkehrsminister")


def test_images_keep_caption_and_credit_apart():
    current = extract_article(page("ntv2025_article.html"), URL)
    legacy = extract_article(page("ntv_legacy_article.html"), URL)
    assert current["images"] == [
        {
            "url": "https://www.n-tv.de/img/1/2/Img_16_9/1024/rad.webp",
            "caption": "Ein neuer Radweg in der Innenstadt.",
            "credit": "picture alliance / dpa",
        }
    ]
    assert legacy["images"][0]["caption"] == "Die neue Fähre bei der Probefahrt."
    assert legacy["images"][0]["credit"] == "picture alliance / dpa"


@pytest.mark.parametrize(
    ("line", "agencies", "editors"),
    [
        ("Quelle: ntv.de, chr/rts", ["Reuters"], ["chr"]),
        ("Quelle: ntv.de, ino/dpa", ["dpa"], ["ino"]),
        ("Quelle: ntv.de, mli/dpa/AFP", ["dpa", "AFP"], ["mli"]),
        ("Quelle: ntv.de, AP, sid", ["AP", "SID"], []),
        ("Quelle: n-tv.de", [], []),
        (None, [], []),
    ],
)
def test_source_line(line, agencies, editors):
    assert parse_source_line(line) == (agencies, editors)


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        (
            "Kim Jong-un. (Foto: picture alliance / YONHAPNEWS AGENCY)",
            ("Kim Jong-un.", "picture alliance / YONHAPNEWS AGENCY"),
        ),
        ("Donald Trump bleibt vage. (Foto: REUTERS)", ("Donald Trump bleibt vage.", "REUTERS")),
        ("Ohne Nachweis.", ("Ohne Nachweis.", None)),
        ("(Foto: dpa)", (None, "dpa")),
    ],
)
def test_split_credit(caption, expected):
    assert split_credit(caption) == expected


def test_legacy_layout_without_kicker_teaser_or_byline():
    html = page("ntv_legacy_article.html")
    html = html.replace(b'<span class="article__kicker">Nach langem Warten</span>', b"")
    html = html.replace(
        b'<span class="article__author">Von Anna Beispiel und Bernd Muster, Husum</span>', b""
    )
    html = html.replace(b"<p><i>Jahrelang", b"<p>Jahrelang").replace(b"da.</i></p>", b"da.</p>")
    doc = extract_article(html, "https://www.n-tv.de/x")
    assert (doc["kicker"], doc["teaser"], doc["authors"], doc["dateline"]) == (None, None, [], None)
    assert doc["body"][0]["text"].startswith("Jahrelang mussten")  # the lead is plain body now
    assert doc["extraction"]["profile"] == "ntv-legacy"


def test_extraction_core_is_site_neutral_and_sites_import_alone():
    """handler.extract never imports handler.sites (the layers contract in pyproject.toml,
    checked by lint); loading it pulls in no archive or run code (the package root only
    registers the sites' definitions), and handler.sites imports on its own (no cycle)."""
    import subprocess
    import sys

    core = ("import sys, handler.extract.generic, handler.extract.agreement, "
            "handler.extract.metadata, handler.extract.page; "
            "print(sorted(m for m in sys.modules if m.startswith(('handler.run', "
            "'handler.archive'))))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", core], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    sites = subprocess.run([sys.executable, "-c", "import handler.sites"], capture_output=True,
                           text=True)  # fmt: skip
    assert sites.returncode == 0, sites.stderr


_NAME = st.from_regex(r"[A-ZÄÖÜ][a-zäöüß]{1,8}( [A-ZÄÖÜ][a-zäöüß]{1,10}){1,2}", fullmatch=True)
_PLACE = st.sampled_from(["Lille", "New York", "Kiew und Charkiw", "Buenos Aires", "Dover"])
_ROLE = st.sampled_from(["Von", "von", "Ein Kommentar von", "Eine Analyse von",
                         "Eine Kolumne von", "Eine Abrechnung von"])  # fmt: skip


@given(role=_ROLE, people=st.lists(st.tuples(_NAME, st.none() | _PLACE), min_size=1, max_size=3),
       newsroom=st.booleans())  # fmt: skip
def test_byline_property_names_only_the_persons(role, people, newsroom):
    """Any byline ntv writes ("<role> A[, place][, und B[, place]]"), with the newsroom among
    them or not, gives exactly its persons in order: no role, place or publisher."""
    with_places = any(place for _, place in people)
    joiner = ", und " if with_places else " und "
    parts = [f"{name}, {place}" if place else name for name, place in people]
    if newsroom:
        parts.append("n-tv NACHRICHTEN")
    if not with_places and len(parts) > 2:
        text = ", ".join(parts[:-1]) + " und " + parts[-1]
    else:
        text = joiner.join(parts)
    authors, dateline = parse_byline(f"{role} {text}")
    assert authors == [name for name, _ in people]
    places = [place for _, place in people if place]
    assert dateline == ("; ".join(places) or None)


@given(st.text(max_size=200))
def test_byline_never_fails_and_never_names_the_newsroom(text):
    authors, _ = parse_byline(text)
    assert all(author == author.strip() and author for author in authors)
    assert not any(author.lower() in ("n-tv nachrichten", "ntv.de", "n-tv") for author in authors)
