"""ntv-archive: archive the ntv.de politics feed, one JSON document per article version.

The package reads as the data's path, one folder per layer (docs/architecture.md):
``ingest/`` (feeds file, feed, sitemaps, WARC files, the HTTP client) -> ``extract/``
(trafilatura, page metadata) with ``sites/`` (each site's layout rules) -> ``archive/`` (the
document, its versions and capture, the manifest, run state, revisits, changes) -> ``store/``
(local folder or S3, every key). ``run/`` holds the use cases (poll, replay, reprocess,
backfill, import, fan-out), ``core/`` what every layer shares (errors, settings, URLs, times,
typed values). ``app.py`` (Lambda) and ``cli/`` (``ntv-archive``) are thin doors onto ``run/``.
"""

# The built-in sites (and SITE_PACKAGES) register their definitions before anything asks for an
# article id, a site's hosts or its conventions (core/sitedefs.py).
from handler import sites as _sites  # noqa: F401
from handler.core.version import __version__  # noqa: F401  (the one place it is set)
