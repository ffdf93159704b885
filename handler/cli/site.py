"""``ntv-archive site``: the archive as static pages (issue 27, in progress: docs/site.md)."""

from __future__ import annotations

import argparse
from typing import Any

from handler.cli.args import EXIT_ARTICLES_FAILED, EXIT_OK, store_option, verbosity
from handler.cli.output import counted, say


def add_site_command(commands: Any) -> None:
    site = commands.add_parser("site", help="build the archive's static site (see docs/site.md)")
    store_option(site)
    site.add_argument(
        "--output", metavar="DIR", help="write the site into this folder (default: store's site/)"
    )
    site.add_argument("--full", action="store_true",
                      help="rebuild every page (this version always does)")  # fmt: skip
    verbosity(site)
    site.set_defaults(command=cmd_site)


def cmd_site(args: argparse.Namespace) -> int:
    from handler.cli.read import open_archive
    from handler.site.build import build_site
    from handler.store import LocalStore

    archive = open_archive(args.store)
    if args.output:
        built = build_site(archive, LocalStore(args.output))
        where = args.output
    else:
        built = build_site(archive, archive, prefix="site/")
        where = f"{args.store.rstrip('/')}/site"
    for reason in built.skipped or []:
        say(f"ntv-archive: skipped {reason}")
    if not args.quiet:
        say(f"{counted(built.pages, 'article page')} written to {where} (open index.html)")
    return EXIT_ARTICLES_FAILED if built.skipped else EXIT_OK
