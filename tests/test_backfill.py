"""Backfilling a date range from a sitemap index: section and range, resumption across
invocations with a small time budget, politeness, the command and the event."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from conftest import Site, local_settings, page
from handler.cli import main
from handler.core.errors import EventError
from handler.run.backfill import Job, Pacer, backfill
from handler.run.context import RunContext
from handler.run.events import Backfill, parse_event

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
DAY = datetime(2025, 11, 3, 10, 0, tzinfo=UTC)


def urlset(entries: list[tuple[str, datetime]]) -> bytes:
    urls = "".join(f"<url><loc>{u}</loc><lastmod>{w.isoformat()}</lastmod></url>"
                   for u, w in entries)  # fmt: skip
    return f'<urlset xmlns="{NS}">{urls}</urlset>'.encode()


def serve_history(site: Site) -> dict[str, list[str]]:
    """An index of three monthly sitemaps: October (older than the range), November (the
    range: six politics, two sport articles, one politics article after the range), and a
    broken one. Pages carry their own ids."""
    html = page("ntv2025_article.html")
    paths: dict[str, list[str]] = {"politik": [], "sport": [], "later": []}
    november = []
    for n in range(6):
        path = f"/politik/Artikel-{n}-id4300{n:04d}.html"
        paths["politik"].append(path)
        november.append((site.url(path), DAY + timedelta(days=n % 3, hours=n)))
    for n in range(2):
        path = f"/sport/Spiel-{n}-id4400{n:04d}.html"
        paths["sport"].append(path)
        november.append((site.url(path), DAY))
    later = "/politik/Spaeter-id43009999.html"
    paths["later"].append(later)
    november.append((site.url(later), DAY + timedelta(days=20)))
    for path in [*paths["politik"], *paths["sport"], later]:
        digits = path.rsplit("-id", 1)[1].removesuffix(".html")
        site.add(path, html.replace(b"40000001", digits.encode())).listed = False
    site.serve()
    index = (f'<sitemapindex xmlns="{NS}">'
             f"<sitemap><loc>{site.url('/sm-2025-10.xml')}</loc>"
             "<lastmod>2025-10-31T23:00:00+00:00</lastmod></sitemap>"
             f"<sitemap><loc>{site.url('/sm-broken.xml')}</loc></sitemap>"
             f"<sitemap><loc>{site.url('/sm-2025-11.xml')}</loc>"
             "<lastmod>2025-11-30T23:00:00+00:00</lastmod></sitemap></sitemapindex>")  # fmt: skip
    site.server.expect_request("/sitemap.xml").respond_with_data(index, content_type="text/xml")
    site.server.expect_request("/sm-2025-10.xml").respond_with_data(
        urlset([(site.url("/politik/Alt-id43008888.html"), DAY - timedelta(days=30))]),
        content_type="text/xml")  # fmt: skip
    site.server.expect_request("/sm-broken.xml").respond_with_data(
        "<html/>", content_type="text/xml"
    )
    monthly = urlset(november)
    site.server.expect_request("/sm-2025-11.xml").respond_with_data(
        monthly, content_type="text/xml"
    )
    return paths


JOB = Job(date(2025, 11, 1), date(2025, 11, 7), "politik")


def settings(site: Site, root: str):
    return local_settings(root, site.feed_url, sitemap_index_url=site.url("/sitemap.xml"),
                          backfill_rate=1000.0)  # fmt: skip


def test_a_backfill_archives_the_range_and_section_it_lacks(site, tmp_path):
    paths = serve_history(site)
    root = tmp_path / "archive"
    summary = backfill(RunContext(settings(site, str(root))), JOB).to_dict()
    assert summary["new"] == 6 and summary["failed"] == 0
    assert summary["backfill"]["done"] and summary["backfill"]["archived"] == 6
    assert all(site.requests_to(p) == 1 for p in paths["politik"])
    assert all(site.requests_to(p) == 0 for p in paths["sport"] + paths["later"])
    assert site.requests_to("/sm-2025-10.xml") == 0  # last modified before the range
    assert not list(root.glob("index/revisit/*.json"))  # history gets no revisits
    # Done is done: the same job again reads nothing.
    before = len(site.server.log)
    again = backfill(RunContext(settings(site, str(root))), JOB).to_dict()
    assert again["new"] == 0 and len(site.server.log) == before


def test_a_backfill_resumes_where_its_time_ran_out(site, tmp_path):
    paths = serve_history(site)
    root = str(tmp_path / "archive")

    def budget() -> float:  # time for three articles, then out of time
        return 100.0 if len(list(tmp_path.glob("archive/articles/*/*/*/*.json"))) < 3 else 0.0

    first = RunContext(settings(site, root), remaining_s=budget)
    summary = backfill(first, JOB).to_dict()
    assert summary["new"] == 3 and not summary["backfill"]["done"]
    assert "time ran out" in summary["errors"][0]
    second = backfill(RunContext(settings(site, root)), JOB).to_dict()
    assert second["new"] == 3 and second["backfill"]["done"]
    # Nothing fetched twice; the range's sitemap is read once by each invocation working in
    # it, the one before the range by neither.
    assert all(site.requests_to(p) == 1 for p in paths["politik"])
    assert site.requests_to("/sm-2025-11.xml") == 2 and site.requests_to("/sm-2025-10.xml") == 0


def test_the_pacer_keeps_to_its_rate():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        now[0] += seconds

    pacer = Pacer(2.0, sleep=sleep, clock=lambda: now[0])
    for gap in (0.0, 0.1, 0.7, 0.0):
        now[0] += gap
        pacer.wait()
    assert slept == [0.4, 0.5]  # 0.5 s apart at 2 a second; the 0.7 s gap needed no wait


def test_the_command_and_the_event(site, tmp_path, capsys):
    serve_history(site)
    root = tmp_path / "archive"
    args = ["backfill", "--since", "2025-11-01", "--until", "2025-11-07", "--store", str(root),
            "--sitemap-index", site.url("/sitemap.xml"), "--allow-host", "127.0.0.1",
            "--rate", "1000", "--json"]  # fmt: skip
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["new"] == 6
    assert main([*args[:-1]]) == 0
    assert "done" in capsys.readouterr().out
    assert main(["backfill", "--since", "2025-11-08", "--until", "2025-11-01"]) == 2
    assert "is after" in capsys.readouterr().err
    event = json.loads(open("events/backfill.json").read())  # noqa: PTH123, SIM115
    assert parse_event(event) == Backfill(date(2025, 11, 1), date(2025, 11, 7), "politik")
    for bad, said in (({"since": "2025-11-01"}, "give both"),
                      ({"since": "2025-11-02", "until": "2025-11-01"}, "is after"),
                      ({"since": "x", "until": "2025-11-01"}, "'since' must be a date"),
                      ({"since": "2025-11-01", "until": "2025-11-02", "section": "a/b"},
                       "'section'")):  # fmt: skip
        with pytest.raises(EventError, match=said):
            parse_event({"action": "backfill", **bad})
