"""Parquet sources without a schema: the columns come from the files' footers when the files are
on this disk (relative to the job's working directory), else they stay unknown."""

from __future__ import annotations

import datetime
import decimal
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from compiler import compile_pipeline, validate

CASE = Path(__file__).resolve().parent.parent / "corpus" / "cases" / "parquet_no_schema"


def document() -> dict[str, Any]:
    return json.loads((CASE / "pipeline.json").read_text())


def write_events(folder: Path) -> None:
    folder.mkdir(parents=True)
    table = pa.table({
        "id": pa.array([1], pa.int64()),
        "price": pa.array([decimal.Decimal("1.25")], pa.decimal128(9, 2)),
        "day": pa.array([datetime.date(2026, 1, 1)], pa.date32()),
        "at": pa.array([datetime.datetime(2026, 1, 1, 12)], pa.timestamp("us", tz="UTC")),
        "ok": pa.array([True]),
        "name": pa.array(["a"]),
    })
    pq.write_table(table, folder / "part-0.parquet")


def test_columns_come_from_the_footer_of_files_in_the_data_dir(tmp_path: Path) -> None:
    doc = document()
    doc["nodes"][0]["config"]["path"] = "landing/events"
    doc["nodes"][1]["config"]["condition"] = "id > 0"
    doc["nodes"][2]["config"]["columns"][0]["expression"] = "price * 2"
    write_events(tmp_path / "landing" / "events")
    result = validate(doc, data_dir=str(tmp_path))
    assert not result.errors
    columns = [(f.name, f.type) for f in result.schemas["metrics"]["out"]]
    assert columns == [("id", "bigint"), ("price", "decimal(9,2)"), ("day", "date"), ("at", "timestamp"),
                       ("ok", "boolean"), ("name", "string")]
    assert not any("not known" in w.message for w in result.warnings)


def test_a_glob_and_a_parameter_in_the_path_resolve_before_reading(tmp_path: Path) -> None:
    doc = document()
    doc["parameters"] = [{"name": "folder", "type": "string", "default": "events"}]
    doc["nodes"][0]["config"]["path"] = "landing/${folder}/*.parquet"
    write_events(tmp_path / "landing" / "events")
    result = validate(doc, data_dir=str(tmp_path))
    assert [f.name for f in result.schemas["metrics"]["out"]][:2] == ["id", "price"]


def test_a_column_missing_from_the_files_is_an_error_when_they_are_read(tmp_path: Path) -> None:
    write_events(tmp_path / "landing" / "events")
    doc = document()
    doc["nodes"][0]["config"]["path"] = "landing/events"
    result = validate(doc, data_dir=str(tmp_path))  # the filter uses `v`, which the files do not have
    assert any(e.node == "positive" and "v" in e.message for e in result.errors)


def test_without_files_the_columns_stay_unknown_and_flink_says_what_to_add(tmp_path: Path) -> None:
    doc = document()
    result = validate(doc, engine="flink", data_dir=str(tmp_path))
    assert "metrics" not in result.schemas
    assert any("not known" in w.message for w in result.warnings)
    error = next(e for e in result.errors if e.node == "metrics")
    assert error.path == "$.nodes[0].config.schema"
    assert "no files were found" in error.message and "add a 'schema'" in error.message


def test_flink_compiles_it_when_the_files_are_there() -> None:
    job = compile_pipeline(document(), engine="flink", data_dir=str(CASE))
    assert '("v", "bigint", "BIGINT")' in job.code
