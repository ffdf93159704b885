"""JSON from outside (store objects read back, queue messages, pages' JSON-LD, feeds files).

``json.loads`` raises RecursionError, not ValueError, on a document nested a few thousand
levels deep: every reader that handles malformed JSON would let it through as a bug. ``loads``
makes it one more ``json.JSONDecodeError`` (a ValueError), so a reader that catches either
handles it with the rest. Every module reads outside JSON through here (a test keeps it so).
"""

from __future__ import annotations

import json
from typing import Any


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads``; json.JSONDecodeError (never RecursionError) for JSON that is not
    readable."""
    try:
        return json.loads(data)
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deeply", "", 0) from None
