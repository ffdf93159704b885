"""One error hierarchy for the whole package.

Every error carries a one-line, human-readable message that says what was wrong and where; the
CLI prints exactly that line and maps the class to an exit code (see ``EXIT_CODES`` in cli.py).
"""


def one_line(message: str) -> str:
    """``message`` with every character that is not printable (a line break, a line or record
    separator, a control character) written as its escape: a message that echoes a value from
    outside, or a library's error about one, stays one line wherever it is shown."""
    if message.isprintable():
        return message
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in message)  # fmt: skip


class ArchiveError(Exception):
    """Base class: something the archive could not do, with a one-line reason.

    The context travels as attributes too, so a caller decides by them, never by parsing the
    message: ``url`` (the page, feed or event URL), ``status`` (the HTTP status, when a server
    answered), ``key`` (the store key), ``field`` (the event or setting field).
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        key: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(one_line(message))
        self.url = url
        self.status = status
        self.key = key
        self.field = field

    def context(self) -> dict[str, str | int]:
        """The attributes that are set, for logs and run summaries."""
        found = {"url": self.url, "status": self.status, "key": self.key, "field": self.field}
        return {name: value for name, value in found.items() if value is not None}


class ConfigError(ArchiveError):
    """Bad settings or arguments (unknown store scheme, malformed URL, ...)."""


class UrlError(ArchiveError):
    """A URL that is malformed or could be read two ways (see handler.core.urls); callers turn it
    into the error of their context (a refused fetch, event or option)."""


class FetchError(ArchiveError):
    """An HTTP fetch failed: connection, status, size cap, content type, ... ``status`` is set
    when the server answered with an error status; ``gone`` says the page is not there (404,
    410) as opposed to a failure that may pass (timeout, 5xx)."""

    @property
    def gone(self) -> bool:
        return self.status in (404, 410)


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
        super().__init__(f"{url}: not an article ({reason})", url=url)
        self.reason = reason


class OlderCaptureError(ArchiveError):
    """An imported capture is older than the archived version and says something else: it is
    history, and history never replaces what is current. Not a failure; nothing is written."""


class StoreError(ArchiveError):
    """The store could not be read or written."""


class ConflictError(StoreError):
    """A conditional write lost: the object changed since it was read (compare-and-swap)."""


class EventError(ArchiveError):
    """A Lambda event that is not one the archive understands; nothing is done."""
