"""The corpus harness: load cases, read what an engine wrote, compare it with the expected rows.

Nothing here imports the compiler or an engine; reading outputs uses pyarrow (parquet), the csv
module and json, and turns every value into its canonical form (see canonical.py) using the
expected column types.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.corpus.canonical import CanonicalError, canonical, from_text, rows_equal

__all__ = [
    "CASES_DIR",
    "Case",
    "Expected",
    "OutputError",
    "check_outputs",
    "compare_rows",
    "copy_case",
    "load_cases",
    "read_sink",
]

CASES_DIR = Path(__file__).resolve().parent / "cases"
SHOWN_ROWS = 10


@dataclass(frozen=True)
class Expected:
    """One sink's expected output: columns (name, Spark type), canonical rows, and whether order counts."""

    columns: list[tuple[str, str]]
    rows: list[list[Any]]
    ordered: bool

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.columns]

    @property
    def types(self) -> list[str]:
        return [t for _, t in self.columns]


@dataclass(frozen=True)
class Case:
    """A corpus case: its folder, pipeline document, run parameters (parameters.json) and expected outputs."""

    name: str
    folder: Path
    document: dict[str, Any]
    parameters: dict[str, Any] | None
    expected: dict[str, Expected]

    def sink(self, sink_id: str) -> dict[str, Any]:
        return next(n for n in self.document["nodes"] if n["id"] == sink_id)

    @property
    def sink_ids(self) -> list[str]:
        return [n["id"] for n in self.document["nodes"] if n["type"].startswith("sink.")]

    def upstream(self, node_id: str) -> tuple[str, str]:
        """(node, port) feeding a sink's `in`."""
        edge = next(e for e in self.document["edges"] if e["to"]["node"] == node_id)
        return edge["from"]["node"], edge["from"].get("port", "out")


def _expected(path: Path) -> Expected:
    data = json.loads(path.read_text(encoding="utf-8"))
    columns = [(c["name"], c["type"]) for c in data["columns"]]
    return Expected(columns, data["rows"], bool(data["ordered"]))


def load_case(folder: Path) -> Case:
    document = json.loads((folder / "pipeline.json").read_text(encoding="utf-8"))
    parameters_file = folder / "parameters.json"
    parameters = json.loads(parameters_file.read_text(encoding="utf-8")) if parameters_file.exists() else None
    expected = {p.stem: _expected(p) for p in sorted((folder / "expected").glob("*.json"))}
    return Case(folder.name, folder, document, parameters, expected)


def load_cases(root: Path = CASES_DIR) -> list[Case]:
    return [load_case(p) for p in sorted(root.iterdir()) if (p / "pipeline.json").exists()]


def copy_case(case: Case, target: Path) -> Path:
    """The case's document and inputs in a fresh folder (the job's working directory); outputs go
    to `target/output/<sink_id>`."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(case.folder / "pipeline.json", target / "pipeline.json")
    if (case.folder / "input").exists():
        shutil.copytree(case.folder / "input", target / "input")
    return target


# ---------------------------------------------------------------------------------------------
# Reading outputs


class OutputError(AssertionError):
    """What an engine wrote cannot be read as the expected columns (missing, wrong names or types)."""


def _arrow_type_name(t: pa.DataType) -> str:
    """The Spark type name a parquet column's Arrow type stands for."""
    if pa.types.is_int32(t):
        return "int"
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_timestamp(t) and t.tz in (None, "UTC", "+00:00", "Etc/UTC"):
        return "timestamp"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array<{_arrow_type_name(t.value_type)}>"
    return f"<arrow {t}>"


def _data_files(folder: Path) -> list[Path]:
    """Part files in name order; hidden and marker files (.crc, _SUCCESS, in-progress .part-*) are skipped."""
    files = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")) or path.name.endswith(".crc"):
            continue
        if path.is_dir():
            raise OutputError(f"{folder} holds a folder {path.name!r}; the corpus writes no partitioned outputs")
        files.append(path)
    return files


def _normalise_arrow(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, list):
        return [_normalise_arrow(v) for v in value]
    return value


def _timestamps_to_micros(table: pa.Table) -> pa.Table:
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type) and column.type.unit == "ns":
            column = column.cast(pa.timestamp("us", column.type.tz))  # safe: fails on sub-microsecond values
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _read_parquet(files: Iterable[Path], expected: Expected) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for path in files:
        table = pq.read_table(path)
        if table.column_names != expected.names:
            raise OutputError(f"{path.name}: columns {table.column_names}, expected {expected.names}")
        written = [_arrow_type_name(f.type) for f in table.schema]
        wrong = [f"{n}: {w} (expected {t})" for n, w, t in zip(expected.names, written, expected.types, strict=True)
                 if w != t]  # fmt: skip
        if wrong:
            raise OutputError(f"{path.name}: column types differ: " + "; ".join(wrong))
        for record in _timestamps_to_micros(table).to_pylist():
            rows.append([canonical(_normalise_arrow(record[n]), t) for n, t in expected.columns])
    return rows


def _read_csv(files: Iterable[Path], expected: Expected) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            records = list(csv.reader(handle))
        if not records:
            continue  # an empty part file (no header, no rows)
        if records[0] != expected.names:
            raise OutputError(f"{path.name}: header {records[0]}, expected {expected.names}")
        for number, record in enumerate(records[1:], start=2):
            if len(record) != len(expected.columns):
                raise OutputError(f"{path.name} line {number}: {len(record)} fields, expected {len(expected.columns)}")
            try:
                rows.append([from_text(text, t) for text, t in zip(record, expected.types, strict=True)])
            except CanonicalError as error:
                raise OutputError(f"{path.name} line {number}: {error}") from error
    return rows


def _json_value(value: Any, type_name: str) -> Any:
    if value is None:
        return None
    if type_name in ("date", "timestamp"):
        if not isinstance(value, str):
            raise CanonicalError(f"{value!r} is not a {type_name} written as text")
        return from_text(value, type_name)
    if type_name.startswith("array<") and isinstance(value, list):
        inner = type_name[len("array<") : -1]
        return [_json_value(v, inner) for v in value]
    if (type_name.startswith("decimal(") or type_name in ("double", "float")) and isinstance(value, str):
        raise CanonicalError(f"{value!r} is text, not a number")
    return canonical(value, type_name)


def _read_json(files: Iterable[Path], expected: Expected) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as error:
                raise OutputError(f"{path.name} line {number}: not JSON ({error})") from error
            if not isinstance(record, dict):
                raise OutputError(f"{path.name} line {number}: not a JSON object")
            extra = sorted(set(record) - set(expected.names))
            if extra:
                raise OutputError(f"{path.name} line {number}: unexpected keys {extra}; expected {expected.names}")
            try:
                # A missing key is NULL (Spark leaves NULL fields out of JSON).
                rows.append([_json_value(record.get(n), t) for n, t in expected.columns])
            except CanonicalError as error:
                raise OutputError(f"{path.name} line {number}: {error}") from error
    return rows


def read_sink(path: Path, file_format: str, expected: Expected) -> list[list[Any]]:
    """Canonical rows of a sink's output: a folder of part files (read in name order), or one file."""
    if not path.exists():
        raise OutputError(f"nothing was written: {path} does not exist")
    files = [path] if path.is_file() else _data_files(path)
    reader = {"parquet": _read_parquet, "csv": _read_csv, "json": _read_json}[file_format]
    try:
        return reader(files, expected)
    except CanonicalError as error:
        raise OutputError(str(error)) from error


# ---------------------------------------------------------------------------------------------
# Comparing


def _show(row: list[Any], names: list[str]) -> str:
    return json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False, default=str)


def _unmatched(expected: list[list[Any]], actual: list[list[Any]], types: list[str]) -> tuple[list[Any], list[Any]]:
    """(expected rows not produced, produced rows not expected), as multisets."""
    remaining = list(actual)
    missing = []
    for row in expected:
        index = next((i for i, other in enumerate(remaining) if rows_equal(row, other, types)), None)
        if index is None:
            missing.append(row)
        else:
            remaining.pop(index)
    return missing, remaining


def compare_rows(expected: Expected, actual: list[list[Any]]) -> str | None:
    """None when the rows match (as multisets, or in order when the output is ordered), else a diff."""
    missing, unexpected = _unmatched(expected.rows, actual, expected.types)
    names = expected.names
    if missing or unexpected:
        lines = [f"expected {len(expected.rows)} rows, got {len(actual)}; columns {names}"]
        if missing:
            lines.append(f"missing ({len(missing)} expected rows not produced):")
            lines += [f"  - {_show(r, names)}" for r in missing[:SHOWN_ROWS]]
        if unexpected:
            lines.append(f"unexpected ({len(unexpected)} produced rows not expected):")
            lines += [f"  + {_show(r, names)}" for r in unexpected[:SHOWN_ROWS]]
        return "\n".join(lines)
    if expected.ordered:
        for position, (want, got) in enumerate(zip(expected.rows, actual, strict=True)):
            if not rows_equal(want, got, expected.types):
                return (
                    f"the rows are right but the order is not (ordered output); first difference at row "
                    f"{position}:\n  expected {_show(want, names)}\n  got      {_show(got, names)}"
                )
    return None


def check_outputs(case: Case, workdir: Path) -> list[str]:
    """Every sink's output in `workdir` against the case's expected rows; one message per problem."""
    problems = []
    for sink_id, expected in sorted(case.expected.items()):
        config = case.sink(sink_id)["config"]
        try:
            actual = read_sink(workdir / config["path"], config["format"], expected)
        except OutputError as error:
            problems.append(f"[{sink_id}] {error}")
            continue
        diff = compare_rows(expected, actual)
        if diff:
            problems.append(f"[{sink_id}] {diff}")
    return problems
