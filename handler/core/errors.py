"""One error hierarchy for the whole package.

Every error carries a one-line, human-readable message that says what was wrong and where; the
CLI prints exactly that line and maps the class to an exit code (see ``EXIT_CODES`` in cli.py).
"""


class ArchiveError(Exception):
    """Base class: something the archive could not do, with a one-line reason."""


class ConfigError(ArchiveError):
    """Bad settings or arguments (unknown store scheme, malformed URL, ...)."""


class UrlError(ArchiveError):
    """A URL that is malformed or could be read two ways (see handler.core.urls); callers turn it
    into the error of their context (a refused fetch, event or option)."""


class FetchError(ArchiveError):
    """An HTTP fetch failed: connection, status, size cap, content type, ..."""


class HostNotAllowedError(FetchError):
    """The URL's host is not on the fetch allowlist; no request was made."""


class FeedError(ArchiveError):
    """The feed could not be read: unreachable, HTTP error, not a feed, hostile XML."""

    failed_feeds: int = 1  # how many feeds this error stands for (all of a run's, when all fail)


class ExtractionError(ArchiveError):
    """The page holds no extractable article text."""


class NotAnArticleError(ExtractionError):
    """The page is not an article at all (an author page, a section front): nothing is
    archived, and it is not a failure to retry. ``url`` and ``reason`` say which and why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: not an article ({reason})")
        self.url = url
        self.reason = reason


class StoreError(ArchiveError):
    """The store could not be read or written."""


class ConflictError(StoreError):
    """A conditional write lost: the object changed since it was read (compare-and-swap)."""


class EventError(ArchiveError):
    """A Lambda event that is not one the archive understands; nothing is done."""
