"""``ntv-archive site`` and ``ntv-archive serve``: the archive as static pages (docs/site.md)."""

from __future__ import annotations

import argparse
import signal
from typing import Any

from handler.cli.args import EXIT_ARTICLES_FAILED, EXIT_OK, host_name, store_option, verbosity
from handler.cli.output import counted, progress_for, say


def add_site_command(commands: Any) -> None:
    site = _site_parser(
        commands, "site", "build the archive's static site, or bring it up to date (docs/site.md)",
        "write the site into this folder (default: store's site/)",
    )  # fmt: skip
    site.add_argument(
        "--full", action="store_true", help="rebuild every page (default: what changed since)"
    )
    site.set_defaults(command=cmd_site)
    serve = _site_parser(
        commands, "serve", "preview the site on 127.0.0.1 (builds or updates it first)",
        "a folder `site --output DIR` wrote (default: store's)",
    )  # fmt: skip
    serve.add_argument(
        "--port", type=port, default=8000, help="port (%(default)s; 0: any free one)"
    )
    serve.add_argument("--host", default="127.0.0.1", type=host_name,
                       help="address to bind (%(default)s: this machine only)")  # fmt: skip
    serve.set_defaults(command=cmd_serve)


def _site_parser(commands: Any, name: str, summary: str, output: str) -> Any:
    """A site command's parser with what both take: the store, the site folder, verbosity."""
    parser = commands.add_parser(name, help=summary)
    store_option(parser)
    parser.add_argument("--output", metavar="DIR", help=output)
    verbosity(parser)
    return parser


def port(value: str) -> int:
    number = int(value) if value.isdigit() else -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (0 to 65535)")
    return number


def _target(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """The archive, the site's target and where that is, as the options say."""
    from handler.cli.read import open_archive
    from handler.site.target import SiteTarget
    from handler.store import LocalStore

    archive = open_archive(args.store)
    if args.output:
        return archive, SiteTarget.folder(LocalStore(args.output)), args.output
    return archive, SiteTarget.in_store(archive), f"{args.store.rstrip('/')}/site"


def cmd_site(args: argparse.Namespace) -> int:
    from handler.site.build import update_site

    archive, target, where = _target(args)
    with progress_for(args) as bar:
        built = update_site(archive, target, full=args.full, progress=bar)
    for reason in built.skipped:
        say(f"ntv-archive: skipped {reason}")
    if not args.quiet:
        kind = "full build" if built.full else "update"
        say(f"site {kind}: {counted(built.articles, 'article')} rendered, "
            f"{counted(built.pages, 'page')} written to {where} (open index.html)")  # fmt: skip
    return EXIT_ARTICLES_FAILED if built.skipped else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from handler.core.errors import ConfigError
    from handler.site.build import update_site
    from handler.site.serve import make_server

    archive, target, where = _target(args)
    with progress_for(args) as bar:
        built = update_site(archive, target, progress=bar)
    for reason in built.skipped:
        say(f"ntv-archive: skipped {reason}")
    try:
        server = make_server(target, args.host, args.port)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    host, bound = str(server.server_address[0]), server.server_address[1]
    shown = f"[{host}]" if ":" in str(host) else host
    say(f"serving {where} at http://{shown}:{bound}/ (Ctrl-C stops)")
    # Ctrl-C and a polite kill both stop it cleanly, even when started with SIGINT ignored
    # (as a background job or under a test runner's worker is).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        say("stopped")
    finally:
        server.server_close()
    return EXIT_OK
