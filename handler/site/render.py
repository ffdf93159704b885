"""Pages from stored documents. Every value from an article is untrusted text: the templates
are autoescaped (Jinja2), links out are only ever http(s) URLs the one URL parser reads, and
each page carries a Content-Security-Policy that lets it load nothing but its own stylesheet."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from handler.core.errors import UrlError
from handler.core.times import instant
from handler.core.urls import parse_web_url

# Nothing from elsewhere, no script at all; the search page runs its own script and Pagefind's
# (WebAssembly, a worker, its index files), all from this origin, and submits to itself.
# (frame-ancestors only counts in a header: the preview server and CloudFront send it.)
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
       "form-action 'none'")  # fmt: skip
SEARCH_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
              "form-action 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
              "connect-src 'self'")  # fmt: skip
FRAMES = "; frame-ancestors 'none'"  # appended where the policy is sent as a header


def web_url(value: object) -> str:
    """An http(s) URL both parsers read alike, as it will be linked; "" for anything else
    (``javascript:``, ``data:``, a mangled link): such a value is shown as no link at all."""
    try:
        return str(parse_web_url(value))
    except UrlError:
        return ""


def moment(value: object) -> str:
    """A stored time as readers see it on every page: "2025-03-14 12:00 UTC" (one zone for
    the whole site, so that two times on a page always compare); the text itself when it is
    not a time."""
    parsed = instant(value, with_offset=True)
    if parsed is None:
        return str(value or "")
    return f"{parsed.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def host(value: object) -> str:
    """The host a link out goes to ("" for no link), for its text."""
    return urlsplit(web_url(value)).hostname or ""


_ENV = Environment(
    loader=PackageLoader("handler.site", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["web_url"] = web_url
_ENV.filters["host"] = host
_ENV.filters["moment"] = moment


def render(template: str, root: str, **values: Any) -> str:
    """``template`` filled with ``values``; ``root`` is the relative path to the site's top."""
    return _ENV.get_template(template).render(**({"csp": CSP} | values), root=root)


def asset(name: str) -> str:
    """A file the pages load as it is (the stylesheet, the search script)."""
    return _ENV.loader.get_source(_ENV, name)[0]  # type: ignore[union-attr]


ASSETS = ("site.css", "search.js", "favicon.svg")
