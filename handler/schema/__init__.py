"""The published JSON Schemas (shipped inside the package): the stored document and the
manifest line (which is also the detail of an ArticleArchived event)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SCHEMA_FILE = "article.schema.json"
MANIFEST_LINE_FILE = "manifest-line.schema.json"


@cache
def article_schema() -> dict[str, Any]:
    return _load(SCHEMA_FILE)


@cache
def manifest_line_schema() -> dict[str, Any]:
    return _load(MANIFEST_LINE_FILE)


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(files(__name__).joinpath(name).read_text("utf-8"))
    return loaded
