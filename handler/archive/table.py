"""The archive as a typed table whose columns come from the document's JSON Schema.

One walk over ``article.schema.json`` gives every column its type; the Parquet export (Arrow
types) and the DuckDB recipe (``ntv-archive schema --duckdb``) are both made from it, so a
consumer never depends on what a reader guesses from the first files it sees (a field null in
those files would otherwise become a column of NULLs).

    string with an ISO 8601 date-time pattern   timestamp (UTC)
    string, enum                                string
    integer / number / boolean                  int64 / double / bool
    array                                       list of the item's type
    object with declared properties             struct of them
    object with free keys, or a value that may
    be of several types                         JSON text
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from handler.core.errors import ConfigError
from handler.schema import article_schema

_DATE_TIME_PATTERN = "^\\d{4}-\\d\\d-\\d\\dT"
ROWS_PER_BATCH = 1000


@dataclass(frozen=True)
class Column:
    """A column's type: ``kind`` is string, timestamp, int, float, bool or json; list has
    ``item``; struct has ``fields``."""

    kind: str
    item: Column | None = None
    fields: tuple[tuple[str, Column], ...] = ()


def columns(schema: dict[str, Any] | None = None) -> tuple[tuple[str, Column], ...]:
    """The document's top-level columns, in the schema's order."""
    schema = schema or article_schema()
    return tuple((name, _column(node, schema)) for name, node in schema["properties"].items())


def _column(node: dict[str, Any], root: dict[str, Any]) -> Column:
    node = _resolve(node, root)
    if "anyOf" in node:
        options = [_resolve(o, root) for o in node["anyOf"] if o.get("type") != "null"]
        return _column(options[0], root) if len(options) == 1 else Column("json")
    kind = node.get("type")
    if kind == "string" or ("enum" in node and kind is None):
        return Column("timestamp" if _is_date_time(node) else "string")
    if kind in ("integer", "number", "boolean"):
        return Column({"integer": "int", "number": "float", "boolean": "bool"}[kind])
    if kind == "array":
        return Column("list", item=_column(node.get("items", {}), root))
    if kind == "object" and node.get("properties") and not node.get("additionalProperties"):
        fields = tuple((name, _column(sub, root)) for name, sub in node["properties"].items())
        return Column("struct", fields=fields)
    return Column("json")


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _is_date_time(node: dict[str, Any]) -> bool:
    return str(node.get("pattern", "")).startswith(_DATE_TIME_PATTERN)


# --- values --------------------------------------------------------------------------------


def row(doc: dict[str, Any], table: tuple[tuple[str, Column], ...]) -> dict[str, Any]:
    """A document as a row of ``table``: every column present, typed; fields the schema does
    not declare are left out (a newer minor schema's additions wait for a newer reader)."""
    return {name: value(doc.get(name), column) for name, column in table}


def value(raw: Any, column: Column) -> Any:
    if raw is None:
        return None
    if column.kind == "json":
        return json.dumps(raw, ensure_ascii=False, sort_keys=True)
    if column.kind == "timestamp":
        return datetime.fromisoformat(str(raw))
    if column.kind == "list":
        assert column.item is not None
        return [value(v, column.item) for v in raw] if isinstance(raw, list) else None
    if column.kind == "struct":
        if not isinstance(raw, dict):
            return None
        return {name: value(raw.get(name), sub) for name, sub in column.fields}
    return raw


# --- DuckDB --------------------------------------------------------------------------------

_DUCKDB = {"string": "VARCHAR", "timestamp": "TIMESTAMPTZ", "int": "BIGINT", "float": "DOUBLE",
           "bool": "BOOLEAN", "json": "JSON"}  # fmt: skip


def duckdb_type(column: Column) -> str:
    if column.kind == "list":
        assert column.item is not None
        return f"{duckdb_type(column.item)}[]"
    if column.kind == "struct":
        inner = ", ".join(f'"{name}" {duckdb_type(sub)}' for name, sub in column.fields)
        return f"STRUCT({inner})"
    return _DUCKDB[column.kind]


def duckdb_columns(table: tuple[tuple[str, Column], ...] | None = None) -> str:
    """The ``columns`` argument of DuckDB's ``read_json`` for stored documents."""
    table = table or columns()
    return "{" + ", ".join(f"'{name}': '{duckdb_type(c)}'" for name, c in table) + "}"


# --- Parquet (optional extra: pyarrow) -----------------------------------------------------


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise ConfigError(
            "export --format parquet needs pyarrow (the parquet extra); from a checkout run "
            "`python3 tasks.py cli export --format parquet ...`, or install it into this "
            "environment with `pip install -e '.[parquet]'`"
        ) from None
    return pa


def arrow_type(column: Column) -> Any:
    pa = _pyarrow()
    if column.kind == "list":
        assert column.item is not None
        return pa.list_(arrow_type(column.item))
    if column.kind == "struct":
        return pa.struct([(name, arrow_type(sub)) for name, sub in column.fields])
    simple = {
        "string": pa.string(),
        "timestamp": pa.timestamp("ms", tz="UTC"),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "json": pa.string(),
    }
    return simple[column.kind]


def arrow_schema(table: tuple[tuple[str, Column], ...] | None = None) -> Any:
    pa = _pyarrow()
    table = table or columns()
    fields = [pa.field(name, arrow_type(c)) for name, c in table]
    return pa.schema(fields, metadata={"source": "ntv-archive article.schema.json"})


def write_parquet(
    docs: Iterable[dict[str, Any]], path: Path, skipped: list[str] | None = None
) -> int:
    """Write ``docs`` to a Parquet file in batches (memory stays flat); returns the count.
    The file appears whole or not at all: it is written beside ``path`` and renamed. A
    document whose values do not fit the schema's types (a tampered one) is left out and
    named in ``skipped``, as the JSON Lines export does; the others are written."""
    pa = _pyarrow()
    import pyarrow.parquet as pq

    table, schema = columns(), arrow_schema()
    partial = path.with_name(f".{path.name}.partial")
    written = 0
    try:
        with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
            for batch in _batches(docs, ROWS_PER_BATCH):
                rows, kept = [], []
                for doc in batch:
                    try:
                        rows.append(row(doc, table))
                        kept.append(doc)
                    except (TypeError, ValueError, KeyError, OverflowError) as exc:
                        if skipped is not None:
                            skipped.append(f"{doc.get('id')!r}: not a document of the schema "
                                           f"({exc!r})")  # fmt: skip
                try:
                    converted = pa.Table.from_pylist(rows, schema=schema)
                except (pa.ArrowException, TypeError, ValueError, OverflowError):
                    rows = _fitting(rows, kept, schema, skipped)  # find the ones that do not
                    converted = pa.Table.from_pylist(rows, schema=schema)
                writer.write_table(converted)
                written += len(rows)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return written


def _fitting(
    rows: list[dict[str, Any]],
    docs: list[dict[str, Any]],
    schema: Any,
    skipped: list[str] | None,
) -> list[dict[str, Any]]:
    """The rows that convert one by one; each that does not is named in ``skipped``."""
    pa = _pyarrow()
    kept = []
    for one, doc in zip(rows, docs, strict=True):
        try:
            pa.Table.from_pylist([one], schema=schema)
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
            if skipped is not None:
                skipped.append(f"{doc.get('id')!r}: a value does not fit the table ({exc})")
            continue
        kept.append(one)
    return kept


def _batches(docs: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
