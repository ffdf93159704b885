"""A newcomer's first hour (issue 24): every documented command works as documented.

Each test here names the defect it guards against; each failed on the main of 2026-12-06.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from conftest import Site, page
from handler.cli import _parser, main
from handler.cli.history import colour_terminal
from handler.cli.output import counted

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = "/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html"
ARTICLE_ID = "ntv-40000001"
CLI = "import sys; from handler.cli import main; sys.exit(main(sys.argv[1:]))"


def archived(site: Site, store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One article archived from the local site into ``store``."""
    site.add(ARTICLE, page("ntv2025_article.html"))
    site.serve()
    assert main(site.run_args(str(store), "--json")) == 0
    capsys.readouterr()


def edited(site: Site) -> None:
    """The article's page changes one paragraph."""
    html = page("ntv2025_article.html")
    site.articles[0].html = html.replace(
        b"Der Bau soll im Herbst beginnen.", b"Der Bau soll im Herbst beginnen, sagt die Stadt."
    )
    site.serve()


# --- 1. replay and reprocess from the command line ---------------------------------------------


def test_replay_by_id_and_by_url_archives_the_edit(site: Site, tmp_path: Path, capsys) -> None:
    store = tmp_path / "archive"
    archived(site, store, capsys)
    edited(site)
    code = main(["replay", ARTICLE_ID, "--store", str(store), "--allow-host", "127.0.0.1"])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(rf"updated {ARTICLE_ID}: body: 1 paragraph edited", out), out
    code = main(["replay", site.url(ARTICLE), "--store", str(store), "--allow-host", "127.0.0.1",
                 "--force", "--json"])  # fmt: skip
    assert code == 0 and json.loads(capsys.readouterr().out)["updated"] == 1


def test_replay_of_an_unknown_id_says_so_in_one_line(site: Site, tmp_path: Path, capsys) -> None:
    store = tmp_path / "archive"
    archived(site, store, capsys)
    assert main(["replay", "ntv-999", "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ntv-999: no such article" in err[0] and "its URL" in err[0]


def test_reprocess_from_the_command_line(site: Site, tmp_path: Path, capsys) -> None:
    store = tmp_path / "archive"
    archived(site, store, capsys)
    code = main(["reprocess", "--ids", ARTICLE_ID, "--store", str(store), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["reprocess"]["complete"] is True
    assert summary["reprocess"]["documents"] == 1
    assert main(["reprocess", "--store", str(store)]) == 2  # nothing selected: the event's check
    assert "give 'since'/'until' dates, 'ids', or both" in capsys.readouterr().err


# --- 2. and 15. the README and docs name what exists -------------------------------------------


def test_the_import_section_starts_with_the_import_synopsis() -> None:
    page = (ROOT / "docs" / "ingest.md").read_text()
    section = page.split("## Importing WARC files", 1)[1].lstrip()
    assert section.startswith("`ntv-archive import FILE_OR_S3_URL...`"), section[:80]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


COMMON = {"--help", "--verbose", "--quiet"}  # every command has them; docs/cli.md says so once


def help_options(command: argparse.ArgumentParser) -> set[str]:
    return {o for a in command._actions for o in a.option_strings if o.startswith("--")} - COMMON


def readme_synopses() -> dict[str, set[str]]:
    """The options each command's synopsis in docs/cli.md's first block names."""
    page = (ROOT / "docs" / "cli.md").read_text()
    block = page.split("## Synopsis", 1)[1].split("```", 2)[1]
    synopses: dict[str, set[str]] = {}
    command = ""
    for line in block.splitlines():
        start = re.match(r"ntv-archive (\w+)", line)
        if start:
            command = start.group(1)
        if command:
            synopses.setdefault(command, set()).update(re.findall(r"--[a-z][a-z-]*", line))
    return {name: options - COMMON for name, options in synopses.items()}


def test_the_cli_page_synopsis_and_help_name_the_same_options() -> None:
    synopses, commands = readme_synopses(), subcommands()
    assert set(synopses) == set(commands)
    for name, command in commands.items():
        assert synopses[name] == help_options(command), name


def code_of(markdown: str) -> list[str]:
    """The lines of fenced code blocks, and each inline code span, of a Markdown text."""
    code, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced:
            code.append(line)
        else:
            code += re.findall(r"`([^`]+)`", line)
    return code


def test_every_command_the_docs_show_exists_with_its_options() -> None:
    commands = subcommands()
    shown = 0
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for line in code_of(doc.read_text()):
            for call in re.findall(r"ntv-archive ([a-z]+)((?: +--?[a-z][a-z-]*| +[^\s`|;#]+)*)",
                                   line):  # fmt: skip
                name, rest = call
                if name not in commands:
                    pytest.fail(f"{doc.name}: no command {name!r}: {line.strip()}")
                unknown = (
                    set(re.findall(r"--[a-z][a-z-]*", rest)) - help_options(commands[name]) - COMMON
                )
                assert not unknown, f"{doc.name}: {name} has no {unknown}: {line.strip()}"
                shown += 1
    assert shown > 20


# --- 3. hints name what exists in the command at hand ------------------------------------------


def test_a_refused_host_names_the_option_in_the_cli_and_the_setting_in_invoke(
    httpserver: HTTPServer, tmp_path: Path, capsys, monkeypatch
) -> None:
    url = httpserver.url_for(ARTICLE)
    assert main(["replay", url, "--store", str(tmp_path / "a"), "--json"]) == 1
    [failure] = json.loads(capsys.readouterr().out)["failures"]
    assert "(name it with --allow-host)" in failure["reason"]
    event = tmp_path / "replay.json"
    event.write_text(json.dumps({"action": "replay", "urls": [url]}))
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    assert main(["invoke", str(event), "--store", str(tmp_path / "b")]) == 1
    [failure] = json.loads(capsys.readouterr().out)["failures"]
    assert "ALLOWED_HOSTS" in failure["reason"] and "--allow-host" not in failure["reason"]


# --- 4. damaged imports exit 1 ----------------------------------------------------------------


def test_importing_a_page_that_is_not_a_warc_exits_1(tmp_path: Path, capsys) -> None:
    html = tmp_path / "page.html"
    html.write_bytes(page("ntv2025_article.html"))
    assert main(["import", str(html), "--store", str(tmp_path / "a")]) == 1
    said = capsys.readouterr()
    assert "1 record (malformed 1)" in said.out
    assert "page.html: 1 malformed record skipped" in said.err and "Traceback" not in said.err


def test_an_import_event_naming_a_missing_file_exits_1(tmp_path: Path, capsys) -> None:
    event = tmp_path / "import.json"
    event.write_text(json.dumps({"action": "import", "keys": [str(tmp_path / "missing.warc")]}))
    assert main(["invoke", str(event), "--store", str(tmp_path / "a")]) == 1
    said = capsys.readouterr()
    assert json.loads(said.out)["sources"][0]["error"]
    assert "missing.warc" in said.err


# --- 6. reading and reprocessing refuse a store that holds no archive ------------------------


@pytest.mark.parametrize(
    "command",
    [["status"], ["list"], ["show", ARTICLE_ID], ["history", ARTICLE_ID], ["diff", ARTICLE_ID],
     ["export"], ["reprocess", "--since", "2025-01-01"], ["replay", ARTICLE_ID]],
)  # fmt: skip
def test_a_store_without_an_archive_is_refused(tmp_path: Path, capsys, command) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*command, "--store", str(empty)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("no archive at" in err[0] or "no such article" in err[0]), err
    assert list(empty.iterdir()) == []  # nothing was created (no state/reprocess/...)


def test_invoking_a_reprocess_on_a_store_without_an_archive_plans_nothing(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["invoke", str(ROOT / "events/reprocess.json"), "--store", str(empty)]) == 2
    assert "no archive at" in capsys.readouterr().err
    assert list(empty.iterdir()) == []


# --- 7. relative paths are the caller's ---------------------------------------------------------


def test_tasks_run_writes_a_relative_store_where_it_was_called(site: Site, tmp_path: Path) -> None:
    site.add(ARTICLE, page("ntv2025_article.html"))
    site.serve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, str(ROOT / "tasks.py"), "run", "--store", "relstore", "--feed-url",
         site.feed_url, "--allow-host", "127.0.0.1", "--quiet"],
        cwd=elsewhere, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (elsewhere / "relstore" / "state").is_dir()
    assert not (ROOT / "relstore").exists()


# --- 8. a run over a feeds file: its real duration, and no raw log lines -------------------------


def test_a_feeds_run_reports_its_time_and_no_json_log_lines(
    site: Site, tmp_path: Path, capsys
) -> None:
    site.add(ARTICLE, page("ntv2025_article.html"))
    site.serve()
    slow = "/slow/rss"
    site.server.expect_request(slow).respond_with_handler(
        lambda request: (time.sleep(0.4), site._feed_response(request))[1]
    )
    feeds = tmp_path / "feeds.json"
    feeds.write_text(json.dumps({"feeds": [
        {"name": "politik", "url": site.feed_url, "allow_hosts": ["127.0.0.1"]},
        {"name": "slow", "url": site.url(slow), "allow_hosts": ["127.0.0.1"]},
        {"name": "broken", "url": site.url("/missing/rss"), "allow_hosts": ["127.0.0.1"]},
    ]}))  # fmt: skip
    code = main(["run", "--feeds", str(feeds), "--store", str(tmp_path / "a")])
    said = capsys.readouterr()
    assert code == 1  # one feed failed
    took = float(re.search(r" in (\d+\.\d) s", said.out).group(1))
    assert took >= 0.4  # the slow feed's own wait is in it
    assert "feed failed" in said.out
    assert not [line for line in said.err.splitlines() if line.startswith("{")], said.err


# --- 9. argument errors: one line, exit 2 -------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [(["list", "--since", "2025-13-01"], "argument --since: '2025-13-01' is not a date"),
     (["run", "--revisit-after", "5x"], "argument --revisit-after: '5x' is not a delay"),
     (["frobnicate"], "invalid choice: 'frobnicate'")],
)  # fmt: skip
def test_an_argument_error_is_one_line(capsys, argv, expected) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert err[0].count("--revisit-after") <= 1 and "usage:" not in err[0]


# --- 10. colours follow NO_COLOR and TERM=dumb --------------------------------------------------


@pytest.mark.parametrize(
    ("env", "colour"), [({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False)]
)
def test_diff_colours_respect_no_color_and_dumb_terminals(monkeypatch, env, colour) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert colour_terminal() is colour


# --- 11. plurals --------------------------------------------------------------------------------


def test_counts_say_one_thing_and_two_things() -> None:
    assert counted(1, "version") == "1 version" and counted(2, "version") == "2 versions"
    assert counted(0, "article") == "0 articles"
    assert counted(1, "not an article", "not articles") == "1 not an article"


def test_one_of_everything_is_said_in_the_singular(site: Site, tmp_path: Path, capsys) -> None:
    store = tmp_path / "archive"
    site.add(ARTICLE, page("ntv2025_article.html"))
    site.serve()
    assert main(site.run_args(str(store))) == 0
    assert "  1 item: 1 new" in capsys.readouterr().out
    assert main(["history", ARTICLE_ID, "--store", str(store)]) == 0
    assert f"1 version of {ARTICLE_ID}" in capsys.readouterr().err
    assert main(["list", "--store", str(store)]) == 0
    assert capsys.readouterr().err.strip() == "1 article"


# --- 12. progress on a terminal only ------------------------------------------------------------


def test_long_commands_show_progress_on_a_terminal_only(site: Site, tmp_path: Path) -> None:
    """A real pseudo-terminal: the bar (count and rate) is drawn there, and not into a pipe."""
    import fcntl
    import pty
    import struct
    import termios

    store = tmp_path / "archive"
    site.add(ARTICLE, page("ntv2025_article.html"))
    site.serve()
    assert main(site.run_args(str(store), "--quiet")) == 0
    command = [sys.executable, "-c", CLI, "reprocess", "--ids", ARTICLE_ID,
               "--store", str(store), "--restart"]  # fmt: skip
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    leader, follower = pty.openpty()
    # A terminal 100 columns wide, as a real one has a size (a bare pty says 0 x 0).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    done = subprocess.run(command, stderr=follower, stdout=subprocess.PIPE, env=env, cwd=ROOT,
                          timeout=120)  # fmt: skip
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert done.returncode == 0
    assert re.search(rb"1/1 \[[0-9:]+<[0-9:]+, +[0-9.?]+ articles/s", drawn), drawn
    piped = subprocess.run(command, capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert piped.returncode == 0 and b"it/s" not in piped.stderr and b"\r" not in piped.stderr
    quiet = subprocess.run([*command, "--quiet"], capture_output=True, env=env, cwd=ROOT,
                           timeout=120)  # fmt: skip
    assert quiet.stdout == b"" and quiet.stderr == b""
    # The site's full build too (10,000 articles take about 20 s).
    site_build = [sys.executable, "-c", CLI, "site", "--store", str(store), "--full"]
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    built = subprocess.run(site_build, stderr=follower, stdout=subprocess.PIPE, env=env,
                           cwd=ROOT, timeout=120)  # fmt: skip
    os.close(follower)
    drawn = b""
    while chunk := _read_or_nothing(leader):
        drawn += chunk
    os.close(leader)
    assert built.returncode == 0 and re.search(rb"1/1 \[[0-9:]+<", drawn), drawn


def _read_or_nothing(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:
        return b""


# --- 13. run names the updated articles and what changed ----------------------------------------


def test_a_run_lists_each_updated_article_with_its_change(site: Site, tmp_path, capsys) -> None:
    store = tmp_path / "archive"
    archived(site, store, capsys)
    edited(site)
    site.articles[0].title = "Kicker: Schlagzeile, neu"  # the feed describes it differently
    site.serve()
    assert main(site.run_args(str(store))) == 0
    out = capsys.readouterr().out
    assert "1 updated" in out
    assert re.search(rf"^  updated {ARTICLE_ID}: body: 1 paragraph edited \(\+\d+ -\d+ words\)",
                     out, re.MULTILINE), out  # fmt: skip


# --- 15. times, older versions, a diff of a version with itself ---------------------------------


def test_status_times_are_in_milliseconds(site: Site, tmp_path: Path, capsys) -> None:
    store = tmp_path / "archive"
    archived(site, store, capsys)
    assert main(["status", "--store", str(store), "--json"]) == 0
    due = json.loads(capsys.readouterr().out)["revisits"]["next_due"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", due), due


def test_show_prints_an_older_version(site: Site, tmp_path: Path, capsys) -> None:
    store = tmp_path / "archive"
    archived(site, store, capsys)
    edited(site)
    assert main(["replay", ARTICLE_ID, "--store", str(store), "--allow-host", "127.0.0.1",
                 "--quiet"]) == 0  # fmt: skip
    assert main(["history", ARTICLE_ID, "--store", str(store), "--json"]) == 0
    first, current = json.loads(capsys.readouterr().out)
    assert main(["show", ARTICLE_ID, "--store", str(store), "--version", first["version"]]) == 0
    older = json.loads(capsys.readouterr().out)
    assert older["content_sha256"] == first["content_sha256"] != current["content_sha256"]
    assert main(["diff", ARTICLE_ID, "--store", str(store), "--from", current["version"]]) == 0
    said = capsys.readouterr()
    assert said.out == "" and "both name" in said.err and "nothing to compare" in said.err
    assert main(["diff", ARTICLE_ID, "--store", str(store), "--from", current["version"],
                 "--to", first["version"]]) == 2  # fmt: skip
    assert "is later than --to" in capsys.readouterr().err


# --- 5. a dead run's stored articles are not hidden for 15 minutes ------------------------------

SECOND = "/politik/Hafen-bekommt-neue-Faehre-article30000002.html"


def start_run_held_at_second_article(site: Site, store: Path) -> subprocess.Popen[bytes]:
    """A CLI run (one article at a time) that has stored the first article and is waiting for
    the second one's page when this returns."""
    import signal
    import threading

    reached, release = threading.Event(), threading.Event()
    site.add(ARTICLE, page("ntv2025_article.html"))
    site.add(SECOND, page("ntv_legacy_article.html"))
    site.serve()
    second = site.articles[1]

    def held(request):  # type: ignore[no-untyped-def]
        reached.set()
        release.wait(20)
        return second.respond(request)

    site.server.clear_all_handlers()
    site.server.expect_request(site.feed_path).respond_with_handler(site._feed_response)
    site.server.expect_request(ARTICLE).respond_with_handler(site.articles[0].respond)
    site.server.expect_request(SECOND).respond_with_handler(held)
    # As from a terminal: SIGINT at its default (a shell's background job, as CI may start
    # this suite, inherits it ignored, and Python then installs no Ctrl-C handler).
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, *site.run_args(str(store), "--concurrency", "1", "--quiet")],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert reached.wait(60), "the run never asked for the second article"
    process.release = release  # type: ignore[attr-defined]
    return process


def listed_ids(store: Path, capsys) -> list[str]:
    assert main(["list", "--store", str(store), "--json"]) == 0
    return sorted(row["id"] for row in json.loads(capsys.readouterr().out))


def test_an_interrupted_run_settles_its_own_markers_at_once(site: Site, tmp_path: Path, capsys):
    import signal

    store = tmp_path / "archive"
    run = start_run_held_at_second_article(site, store)
    run.send_signal(signal.SIGINT)
    run.release.set()  # type: ignore[attr-defined]
    assert run.wait(60) == 130, run.stderr.read() if run.stderr else ""
    assert "interrupted" in (run.stderr.read() if run.stderr else b"").decode()
    assert ARTICLE_ID in listed_ids(store, capsys)  # stored, so listed: no 15-minute gap
    assert list((store / "index" / "pending").glob("*")) == []
    assert list((store / "index" / "runs").glob("*")) == []  # its lease released


def test_a_killed_runs_markers_show_in_status_and_settle_once_its_lease_expires(
    site: Site, tmp_path: Path, capsys
) -> None:
    import signal

    store = tmp_path / "archive"
    run = start_run_held_at_second_article(site, store)
    run.send_signal(signal.SIGKILL)
    run.wait(60)
    run.release.set()  # type: ignore[attr-defined]
    assert ARTICLE_ID not in listed_ids(store, capsys)  # stored, but its line is not written

    assert main(["status", "--store", str(store), "--json"]) == 0
    markers = json.loads(capsys.readouterr().out)["markers"]
    assert markers and {m["run"] for m in markers} == {"alive"}  # its lease has not run out
    assert main(["status", "--store", str(store)]) == 0
    assert re.search(r"waiting to be settled.*\n    run [0-9a-f]+: 1 marker, alive until",
                     capsys.readouterr().out)  # fmt: skip

    # A second run while the lease still holds leaves the markers alone (the run may be live).
    site.serve()
    assert main(site.run_args(str(store), "--quiet")) == 0
    assert list((store / "index" / "pending").glob("*"))

    # The lease runs out (as 90 s later: written back, not waited for): known dead.
    [lease] = (store / "index" / "runs").glob("*.json")
    expired = json.loads(lease.read_text())
    expired["alive_until"] = "2020-01-01T00:00:00.000+00:00"
    lease.write_text(json.dumps(expired))
    assert main(["status", "--store", str(store), "--json"]) == 0
    assert {m["run"] for m in json.loads(capsys.readouterr().out)["markers"]} == {"dead"}
    assert main(site.run_args(str(store), "--quiet")) == 0  # the next run settles them at once
    assert ARTICLE_ID in listed_ids(store, capsys)
    assert list((store / "index" / "pending").glob("*")) == []
    assert list((store / "index" / "runs").glob("*")) == []


def test_a_lease_taken_again_after_a_release_keeps_beating(tmp_path: Path, monkeypatch) -> None:
    """A run whose use case was abandoned (one of several feeds failed) released its lease; when
    it writes again the lease must be renewed again, or other runs would take the live run for
    dead after a minute and settle its markers."""
    from handler.archive import leases
    from handler.store import LocalStore

    monkeypatch.setattr(leases, "HEARTBEAT_S", 0.02)
    store = LocalStore(tmp_path)
    lease = leases.RunLease(store, "abc123")
    lease.hold()
    lease.release()
    assert store.get("index/runs/abc123.json") is None
    lease.hold()
    store.delete("index/runs/abc123.json")  # only a heartbeat can write it back
    renewed = False
    for _ in range(500):  # bounded wait: a few beats of 20 ms
        renewed = store.get("index/runs/abc123.json") is not None
        if renewed:
            break
        time.sleep(0.01)
    lease.release()
    assert renewed


def test_every_module_is_small_enough_to_read_whole():
    """Issue 26: modules over 300 lines were where changes piled up (the run context had 490);
    each holds one job, and this keeps them that way."""
    import handler

    package = Path(handler.__file__).parent
    long = {str(p.relative_to(package)): n for p in package.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 300}  # fmt: skip
    assert long == {}


def test_the_readme_is_a_front_door_and_the_docs_index_lists_every_page():
    """Issue 26: the README stays short (what it is, the two commands, a tour, where to go
    next) and its index names every page under docs/, each of which says what it is for."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    listed = set(re.findall(r"\(docs/([a-z-]+\.md)\)", readme.split("## Documentation", 1)[1]))
    assert pages == listed


def test_the_cli_runs_the_typed_requests_events_give_through_the_one_dispatcher(
    monkeypatch, tmp_path: Path
) -> None:
    """Issue 26: `run`, `replay`, `reprocess` and `backfill` build the request their Lambda
    event would and hand it to run_event; no command strings a use case together itself."""
    from handler.run import actions
    from handler.run.events import Backfill, Poll, Replay, Reprocess, ScheduledPoll
    from handler.run.outcomes import RunSummary

    seen: list[object] = []

    def recorded(request, ctx):
        seen.append(request)
        return RunSummary(run_id=ctx.run_id, feed_url=None, store=ctx.store.describe())

    monkeypatch.setattr(actions, "run_event", recorded)
    store = ["--store", str(tmp_path / "a")]
    feeds = tmp_path / "feeds.json"
    feeds.write_text('{"feeds": [{"name": "p", "url": "https://www.n-tv.de/politik/rss"}]}')
    (tmp_path / "a" / "state").mkdir(parents=True)
    (tmp_path / "a" / "state" / "run-state.json").write_text("{}")  # an archive, though empty
    commands = [
        ["run", *store],
        ["run", "--feeds", str(feeds), *store],
        ["replay", "https://www.n-tv.de/politik/x-id1.html", *store],
        ["reprocess", "--since", "2025-01-01", *store],
        ["backfill", "--since", "2025-01-01", "--until", "2025-01-02", *store],
    ]
    for argv in commands:
        assert main([*argv, "--quiet"] if argv[0] != "backfill" else [*argv, "--json"]) == 0
    assert [type(r) for r in seen] == [Poll, ScheduledPoll, Replay, Reprocess, Backfill]
    assert seen[1] == ScheduledPoll(schedule=None)  # every class of the file, without --schedule
