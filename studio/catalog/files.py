"""The landing zone as the editor sees it: list files, and infer a schema with a sample of rows.

Paths are relative to the data folder and may not leave it.
"""
from __future__ import annotations

import glob
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from compiler.footers import arrow_type_name

__all__ = ["FileEntry", "FileError", "file_list", "file_schema", "resolve_inside"]

MAX_LISTED = 1000
SAMPLE_ROWS = 20
# Enough of a text file to infer types without reading a whole landing zone.
SAMPLE_BYTES = 1 << 20


class FileError(Exception):
    """A problem with a path a user gave, as a sentence they can act on."""


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    modified: str


def resolve_inside(root: Path, relative: str) -> Path:
    """The absolute path for `relative` under `root`; refuse anything that escapes it."""
    if not relative or "\x00" in relative:
        raise FileError("Give a path relative to the data folder, e.g. 'landing/orders/*.csv'.")
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise FileError(f"'{relative}' is outside the data folder; use a path relative to it.")
    return candidate


def file_list(root: Path, prefix: str = "") -> list[FileEntry]:
    base = resolve_inside(root, prefix) if prefix else root
    if base.is_file():
        files = [base]
    else:
        start = base if base.is_dir() else base.parent
        files = sorted(p for p in start.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
        files = [p for p in files if str(p).startswith(str(base))]
    return [
        FileEntry(
            path=str(p.relative_to(root)),
            size=p.stat().st_size,
            modified=datetime.fromtimestamp(p.stat().st_mtime, tz=timezone.utc).isoformat(),
        )
        for p in files[:MAX_LISTED]
    ]


def _first_match(root: Path, pattern: str) -> Path:
    absolute = resolve_inside(root, pattern)
    matches = sorted(Path(p) for p in glob.glob(str(absolute), recursive=True) if Path(p).is_file())
    if not matches and absolute.is_dir():
        matches = sorted(p for p in absolute.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    if not matches:
        raise FileError(f"No file matches '{pattern}' in the data folder.")
    return matches[0]


def _read_table(path: Path, file_format: str, options: dict[str, Any]) -> pa.Table:
    if file_format == "parquet":
        parquet = pq.ParquetFile(path)
        return parquet.read_row_group(0) if parquet.num_row_groups else parquet.schema_arrow.empty_table()
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    # Cut at the last complete line so a partial row does not break inference.
    if len(head) == SAMPLE_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]
    if file_format == "json":
        return pa_json.read_json(pa.BufferReader(head))
    header = options.get("header", True)
    delimiter = options.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise FileError("The CSV delimiter must be a single character.")
    read = pa_csv.ReadOptions(autogenerate_column_names=not header)
    parse = pa_csv.ParseOptions(delimiter=delimiter)
    convert = pa_csv.ConvertOptions(strings_can_be_null=True, timestamp_parsers=["%Y-%m-%d %H:%M:%S", pa_csv.ISO8601])
    return pa_csv.read_csv(pa.BufferReader(head), read_options=read, parse_options=parse, convert_options=convert)


def file_schema(root: Path, pattern: str, file_format: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Infer the schema of the first file matching `pattern`, with a few sample rows."""
    if file_format not in {"csv", "json", "parquet"}:
        raise FileError(f"Unknown format '{file_format}'; use csv, json or parquet.")
    path = _first_match(root, pattern)
    try:
        table = _read_table(path, file_format, options or {})
    except (pa.ArrowInvalid, OSError, ValueError) as error:
        raise FileError(f"Could not read '{path.relative_to(root)}' as {file_format}: {error}") from None
    schema = [
        {"name": field.name, "type": arrow_type_name(field.type), "nullable": True}
        for field in table.schema
    ]
    sample = json.loads(json.dumps(table.slice(0, SAMPLE_ROWS).to_pylist(), default=str))
    return {"file": str(path.relative_to(root)), "schema": schema, "sample": sample}
