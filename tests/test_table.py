"""The archive as a typed table: the Parquet export and the DuckDB recipe of docs/consumers.md,
both with columns made from the JSON Schema, run against an archive the project wrote."""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from handler.archive.table import columns, duckdb_columns
from handler.cli import main
from handler.run.context import RunContext
from handler.run.events import Reprocess
from handler.run.reprocess import reprocess
from handler.schema import article_schema

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import build_archive, make_stale, settings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "consumers.md"


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """30 articles over 3 days; the last day's re-extracted later, so the files a reader
    samples first have no ``reprocessed_at`` and later ones do."""
    root = tmp_path_factory.mktemp("table") / "archive"
    build_archive(str(root), 30, 3, first_day=date(2024, 8, 1))
    assert len(make_stale(root, day=date(2024, 8, 3))) == 10
    done = reprocess(RunContext(settings(str(root))), Reprocess(date(2024, 8, 3), None)).to_dict()
    assert done["updated"] == 10
    return root


def test_the_parquet_export_is_typed_by_the_schema(archive, tmp_path, capsys):
    out = tmp_path / "articles.parquet"
    assert main(["export", "--store", str(archive), "--format", "parquet", "-o", str(out)]) == 0
    assert "exported 30 articles" in capsys.readouterr().err
    table = pq.read_table(out)
    assert table.num_rows == 30
    kind = {field.name: field.type for field in table.schema}
    assert kind["published_at"] == pa.timestamp("ms", tz="UTC")
    assert pa.types.is_list(kind["authors"]) and kind["authors"].value_type == pa.string()
    body = kind["body"].value_type
    assert [body.field(n).name for n in range(body.num_fields)] == ["type", "text", "title", "time"]
    assert kind["capture"].field("status").type == pa.int64()
    assert kind["changes"].field("fields").type.value_type == pa.string()
    assert kind["changes"].field("values").type == pa.string()  # free keys: JSON text
    rows = table.to_pylist()
    reprocessed = [r for r in rows if r["reprocessed_at"] is not None]
    assert len(reprocessed) == 10 and all(r["published_at"].year == 2024 for r in rows)
    assert all(r["changes"]["from_sha256"] == "0" * 64 for r in reprocessed)
    assert all(isinstance(json.loads(r["changes"]["values"]), dict) for r in reprocessed)
    [by_duckdb] = duckdb.sql(f"SELECT count(*), count(reprocessed_at) FROM '{out}'").fetchall()
    assert by_duckdb == (30, 10)
    assert not list(tmp_path.glob(".*partial"))  # the file appeared whole


def test_the_duckdb_recipe_of_the_docs_reads_explicit_columns(archive):
    text = DOCS.read_text()
    recipe = re.search(r"<!-- duckdb-recipe -->\n```sql\n(.*?)```", text, re.S)
    assert recipe, "docs/consumers.md lost its DuckDB recipe"
    sql = recipe.group(1).replace("'archive/", f"'{archive.as_posix()}/")
    rows = duckdb.sql(sql).fetchall()
    assert len(rows) == 30
    assert sum(1 for row in rows if row[5] is not None) == 10  # not a column of NULLs
    assert all(row[1].year == 2024 for row in rows)  # a timestamp, not text
    # The types the recipe writes out are the schema's.
    declared = dict(re.findall(r"'(\w+)': '([A-Z\[\]]+)'", sql))
    from_schema = dict(re.findall(r"'(\w+)': '([^']+)'", duckdb_columns()))
    assert declared and all(from_schema[name] == kind for name, kind in declared.items())


def test_every_schema_field_is_a_column_and_a_new_one_would_be_too():
    schema = article_schema()
    assert [name for name, _ in columns()] == list(schema["properties"])
    grown = {**schema, "properties": {**schema["properties"],
                                      "word_count": {"type": "integer"}}}  # fmt: skip
    assert dict(columns(grown))["word_count"].kind == "int"


def test_parquet_needs_a_file_and_pyarrow_and_says_so(archive, tmp_path, capsys, monkeypatch):
    assert main(["export", "--store", str(archive), "--format", "parquet"]) == 2
    assert "needs --output FILE" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if the extra were not installed
    target = tmp_path / "x.parquet"
    assert main(["export", "--store", str(archive), "--format", "parquet", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert "python3 tasks.py cli export --format parquet" in err and "Traceback" not in err
    assert "pip install -e '.[parquet]'" in err  # a command that works: nothing is published
    assert "ntv-archive[parquet]" not in err
    assert not target.exists()


def test_a_jsonl_export_to_a_file_appears_whole(archive, tmp_path):
    target = tmp_path / "all.jsonl"
    assert main(["export", "--store", str(archive), "--output", str(target)]) == 0
    assert len(target.read_text().splitlines()) == 30
    assert [p.name for p in tmp_path.iterdir()] == ["all.jsonl"]
