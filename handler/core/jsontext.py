"""JSON from outside (store objects read back, queue messages, pages' JSON-LD, feeds files).

``json.loads`` raises RecursionError, not ValueError, on a document nested a few thousand
levels deep: every reader that handles malformed JSON as a ValueError would let it through as a
bug. ``loads`` makes it one more kind of malformed JSON.
"""

from __future__ import annotations

import json
from typing import Any


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads``; ValueError (never RecursionError) for JSON that is not readable."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
