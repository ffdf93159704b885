"""Every default is defined once (handler.core.config) and shows the same everywhere: in the
settings the Lambda environment gives, in the CLI's options and in the README's tables."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from handler.cli import _parser
from handler.core.config import ENV_DEFAULTS, FLAG_DEFAULTS, RunSettings, settings_from_env

ROOT = Path(__file__).resolve().parents[1]
# The settings tables: the CLI's options in docs/cli.md, the Lambda's settings in docs/deploy.md.
SETTINGS_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def readme_defaults() -> dict[str, str]:
    """Each `NAME` or `--flag` in the first cell of a table row of the README or docs/ -> its
    default cell (rows naming two, "`A`, `B` | ... | 5, 600", are split in order)."""
    found: dict[str, str] = {}
    text = "\n".join(page.read_text(encoding="utf-8") for page in SETTINGS_PAGES)
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        matches = (
            re.match(r"(--?[\w-]+|[A-Z_]+)\b", n) for n in re.findall(r"`([^`]+)`", cells[0])
        )
        names = [m.group(1) for m in matches if m]
        values = cells[-1].split(", ") if len(names) > 1 else [cells[-1]]
        for name, value in zip(names, values, strict=False):
            found.setdefault(name, value)
    return found


def shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_readme_tables_show_the_defaults_the_code_uses():
    table = readme_defaults()
    for name, default in {**ENV_DEFAULTS, **FLAG_DEFAULTS}.items():
        assert name in table, f"{name} is missing from the settings tables in docs/"
        first = table[name].split(" ")[0].strip("`")  # "5242880 (5 MB)" -> "5242880"
        assert first == shown(default), f"the docs say {table[name]!r} for {name}"


def test_the_lambda_environment_and_the_cli_start_from_the_same_defaults():
    from_env = settings_from_env({})
    assert from_env == RunSettings()
    expected = (ENV_DEFAULTS[n] for n in ("CONCURRENCY", "ARCHIVE_STORE", "FEED_URL"))
    assert (from_env.concurrency, from_env.store, from_env.feed_url) == tuple(expected)
    assert from_env.retry.first_delay == timedelta(seconds=ENV_DEFAULTS["RETRY_DELAY_SECONDS"])
    args = _parser().parse_args(["run"])
    for flag, default in FLAG_DEFAULTS.items():
        assert getattr(args, flag.lstrip("-").replace("-", "_")) == default, flag
