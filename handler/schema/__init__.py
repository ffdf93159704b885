"""The published JSON Schema of the stored document (shipped inside the package)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SCHEMA_FILE = "article.schema.json"


@cache
def article_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(files(__name__).joinpath(SCHEMA_FILE).read_text("utf-8"))
    return loaded
