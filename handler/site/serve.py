"""A preview server for the site: its pages, read from wherever they were written (a folder or
the archive's own store, S3 included), on the loopback address unless told otherwise. For a
person looking at the site before publishing it, not for the public: one thread per request,
GET and HEAD only, nothing but the site's own pages."""

from __future__ import annotations

import http.server
from urllib.parse import unquote, urlsplit

from handler.core.errors import StoreError
from handler.site.render import CSP, FRAMES, SEARCH_CSP
from handler.site.target import SiteTarget, content_type

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000


def site_path(request_path: str) -> str | None:
    """The page a request path names ("/" and folders: their index.html), or None for any path
    that leaves the site, is not one the site links to, or names the build's state."""
    path = unquote(urlsplit(request_path).path)
    if not path.startswith("/") or "\x00" in path or "\\" in path:
        return None
    parts = path[1:].split("/")
    folder = parts[-1] == ""
    parts = parts[:-1] if folder else parts
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None  # "..", "." or doubled slashes
    if parts[:1] == ["_build"]:
        return None  # the build's memory, not a page
    return "/".join([*parts, "index.html"] if folder else parts)


def make_server(target: SiteTarget, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
                ) -> http.server.ThreadingHTTPServer:  # fmt: skip
    """A server of ``target``'s pages bound to ``host``:``port`` (0: any free port); OSError
    when the address is taken or not this machine's."""

    class Pages(http.server.BaseHTTPRequestHandler):
        server_version = "ntv-archive"

        def do_GET(self) -> None:
            self._answer(with_body=True)

        def do_HEAD(self) -> None:
            self._answer(with_body=False)

        def _answer(self, with_body: bool) -> None:
            path = site_path(self.path)
            try:
                data = target.pages.get(f"{target.prefix}{path}") if path is not None else None
            except StoreError:
                data = None  # a name the store refuses is no page of the site
            if data is None or path is None:
                self.send_error(404, "Not in the site")
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type(path))
            self.send_header("Content-Length", str(len(data)))
            # Pagefind's worker runs under its own response's policy: it fetches the index.
            policy = SEARCH_CSP if path == "search.html" or path.startswith("search/") else CSP
            self.send_header("Content-Security-Policy", policy + FRAMES)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.end_headers()
            if with_body:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the CLI says where it serves; requests are not news

    server = http.server.ThreadingHTTPServer((host, port), Pages)
    server.daemon_threads = True
    return server
