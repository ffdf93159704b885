"""The site as data (issue 26): a site kept in its own folder (tests/example_site/) plugs in by
being imported, and everything site-specific follows its definition: article ids, the feed's
title convention, the time zone of its pages, its layout rule and, after a gap, its own news
sitemap. Outside handler/sites/ and the configuration defaults no code names a site."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from conftest import assert_valid
from handler.cli import main
from handler.core import sitedefs

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.now(UTC).replace(microsecond=0)
PARAGRAPHS = [
    "The city council voted on Thursday evening to rebuild the old harbour bridge by 2029.",
    "Opponents said the plan would cost twice what the council had promised in the spring.",
    "The mayor called the vote a turning point for the districts on both sides of the river.",
]


def story(number: int, published: str) -> bytes:
    ld = json.dumps({"@type": "NewsArticle", "datePublished": published, "headline": "Bridge"})
    grafs = "".join(f'<p class="graf">{text} ({number})</p>' for text in PARAGRAPHS)
    return (f'<html lang="en"><head><title>Bridge</title><script type="application/ld+json">'
            f"{ld}</script></head><body><main class=\"story\"><h1>Council votes for the bridge "
            f'{number}</h1><p class="lede">A new bridge is coming.</p><span class="author">Ann '
            f"Lee</span>{grafs}</main></body></html>").encode()  # fmt: skip


def feed(httpserver, items: list[tuple[int, datetime]]) -> bytes:
    rows = "".join(
        f"<item><title>Harbour | Council votes for the bridge {n}</title>"
        f"<link>{httpserver.url_for(f'/story/{n}')}</link>"
        f"<pubDate>{format_datetime(when)}</pubDate></item>"
        for n, when in items
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Example</title>{rows}'
            "</channel></rss>").encode()  # fmt: skip


@pytest.fixture
def example_site(httpserver) -> Iterator[object]:
    import example_site

    sitedefs.register(example_site.definition(httpserver.url_for("/example/news.xml")))
    yield example_site
    sitedefs.unregister(example_site.NAME)


def test_a_site_in_its_own_folder_plugs_in_and_catches_up_from_its_own_sitemap(
    example_site, httpserver, tmp_path: Path, capsys
) -> None:
    for n in (101, 102, 103, 104):
        httpserver.expect_request(f"/story/{n}").respond_with_data(
            story(n, "2026-12-01 09:30:00"), content_type="text/html; charset=utf-8"
        )
    httpserver.expect_request("/example/rss").respond_with_data(
        feed(httpserver, [(101, NOW - timedelta(days=3))]), content_type="application/rss+xml"
    )
    feeds = tmp_path / "feeds.json"
    feeds.write_text(json.dumps({"feeds": [{
        "name": "example", "url": httpserver.url_for("/example/rss"), "profile": "example",
        "section": "story"}]}))  # fmt: skip
    root = tmp_path / "archive"
    # 127.0.0.1 stands in for example.test (as --allow-host makes it stand in for any site).
    run = ["run", "--feeds", str(feeds), "--store", str(root), "--allow-host", "127.0.0.1"]
    assert main([*run, "--quiet"]) == 0
    [path] = root.glob("articles/*/*/*/example-101.json")
    doc = json.loads(path.read_text())
    assert (doc["kicker"], doc["title"]) == (None, "Council votes for the bridge 101")
    assert doc["feed"]["kicker"] == "Harbour"  # " | ", the site's own title convention
    assert doc["published_at"] == "2026-12-01T09:30:00-05:00"  # New York time, the site's zone
    assert doc["extraction"]["profile"] == "example-2026" and doc["authors"] == ["Ann Lee"]
    assert doc["source"]["publisher"] == "The Example Times"
    assert_valid(doc)
    # An outage longer than the feed's window: the feed now lists only newer items, and the
    # site's own news sitemap says what came in between.
    httpserver.clear_all_handlers()
    for n in (101, 102, 103, 104):
        httpserver.expect_request(f"/story/{n}").respond_with_data(
            story(n, "2026-12-03 09:30:00"), content_type="text/html; charset=utf-8"
        )
    httpserver.expect_request("/example/rss").respond_with_data(
        feed(httpserver, [(103, NOW - timedelta(hours=2)), (104, NOW - timedelta(hours=1))]),
        content_type="application/rss+xml",
    )
    entry = (f"<url><loc>{httpserver.url_for('/story/102')}</loc><news:news>"
             f"<news:publication_date>{(NOW - timedelta(days=2)).isoformat()}"
             "</news:publication_date></news:news></url>")  # fmt: skip
    httpserver.expect_request("/example/news.xml").respond_with_data(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{entry}</urlset>',
        content_type="application/xml",
    )
    assert main([*run, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["catchup"]["sitemap"] == httpserver.url_for("/example/news.xml")
    archived = {p.stem for p in root.glob("articles/*/*/*/*.json")}
    assert archived == {"example-101", "example-102", "example-103", "example-104"}
    asked = {request.path for request, _ in httpserver.log}
    assert "/news.xml" not in asked  # never another site's sitemap


def test_no_code_outside_the_sites_names_a_site() -> None:
    """Identifiers and string values outside handler/sites/ (and the configuration defaults in
    core/config.py) name no site: docstrings, comments and help texts may say what the default
    deployment archives, code may not branch on it."""
    package = ROOT / "handler"
    found = []
    for path in package.rglob("*.py"):
        relative = path.relative_to(package).as_posix()
        if relative.startswith("sites/") or relative == "core/config.py":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                           ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}  # fmt: skip
        helps = {id(k.value) for node in ast.walk(tree) if isinstance(node, ast.Call)
                 for k in node.keywords if k.arg in {"help", "description"}}  # fmt: skip
        for node in ast.walk(tree):
            if isinstance(node, ast.Name | ast.Attribute | ast.FunctionDef | ast.ClassDef):
                name = getattr(node, "id", None) or getattr(node, "attr", None) or node.name
                if "ntv" in name.lower():
                    found.append(f"{relative}:{node.lineno}: {name}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in docstrings or id(node) in helps:
                    continue
                text = node.value.lower().replace("ntv-archive", "").replace("ntvarchive", "")
                if text in {"ntv", "ntv-"} or "n-tv.de" in text or "ntv.de" in text:
                    found.append(f"{relative}:{node.lineno}: {node.value[:40]!r}")
    assert found == []


def test_a_site_package_that_cannot_be_imported_is_one_line_from_either_door(tmp_path) -> None:
    """SITE_PACKAGES is read when the package is imported; a name that cannot be imported was
    a traceback from every command. Now each door refuses to run, naming it in one line."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SITE_PACKAGES": "sites_we_do_not_have, ", "ARCHIVE_STORE": str(tmp_path)}
    cli = [sys.executable, "-c", "import sys; from handler.cli import main; sys.exit(main())"]
    listed = subprocess.run([*cli, "list", "--store", str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert listed.returncode == 2 and "Traceback" not in listed.stderr
    [line] = listed.stderr.strip().splitlines()
    assert "SITE_PACKAGES names 'sites_we_do_not_have'" in line and "No module named" in line
    lambda_door = (
        "import json; from handler.app import lambda_handler; "
        "from handler.cli.tools import LocalContext; "
        "print(json.dumps(lambda_handler({'action': 'scheduled'}, LocalContext(60))))"
    )
    invoked = subprocess.run([sys.executable, "-c", lambda_door], env=env, capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert invoked.returncode == 0 and "Traceback" not in invoked.stderr, invoked.stderr
    response = json.loads(invoked.stdout.strip().splitlines()[-1])
    assert "SITE_PACKAGES names 'sites_we_do_not_have'" in response["error"]
