"""``ntv-archive site`` and ``ntv-archive serve``: the archive as static pages (docs/site.md)."""

from __future__ import annotations

import argparse
from typing import Any

from handler.cli.args import EXIT_ARTICLES_FAILED, EXIT_OK, store_option, verbosity
from handler.cli.output import counted, say


def add_site_command(commands: Any) -> None:
    site = commands.add_parser(
        "site", help="build the archive's static site, or bring it up to date (docs/site.md)"
    )
    store_option(site)
    site.add_argument(
        "--output", metavar="DIR", help="write the site into this folder (default: store's site/)"
    )
    site.add_argument(
        "--full", action="store_true", help="rebuild every page (default: what changed since)"
    )
    verbosity(site)
    site.set_defaults(command=cmd_site)


def cmd_site(args: argparse.Namespace) -> int:
    from handler.cli.read import open_archive
    from handler.site.build import update_site
    from handler.site.target import SiteTarget
    from handler.store import LocalStore

    archive = open_archive(args.store)
    if args.output:
        target = SiteTarget.folder(LocalStore(args.output))
        where = args.output
    else:
        target = SiteTarget.in_store(archive)
        where = f"{args.store.rstrip('/')}/site"
    built = update_site(archive, target, full=args.full)
    for reason in built.skipped:
        say(f"ntv-archive: skipped {reason}")
    if not args.quiet:
        kind = "full build" if built.full else "update"
        say(f"site {kind}: {counted(built.articles, 'article')} rendered, "
            f"{counted(built.pages, 'page')} written to {where} (open index.html)")  # fmt: skip
    return EXIT_ARTICLES_FAILED if built.skipped else EXIT_OK
