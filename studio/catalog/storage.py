"""Look at a dataset's data where it lives: its schema, size, row count, snapshots and a page of rows.

Files are read with pyarrow (a folder is one dataset of every file below it, hidden `.x` and `_x`
files skipped as Spark does, `col=value` folders as partition columns); Iceberg tables with pyiceberg
through the studio's SQL catalog. Kafka topics and object storage are not read from the web
process: their schema and counts come from the pipelines and runs that use them.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.dataset as pa_ds

from compiler.footers import arrow_type_name

__all__ = ["Location", "Observation", "Page", "StorageError", "iceberg_catalog", "observe", "read_rows"]

# CSV and JSON locations larger than this are not scanned to count rows (run metrics count them).
MAX_COUNTED_TEXT_BYTES = 256 << 20


class StorageError(Exception):
    """The data could not be looked at, as a sentence a person can act on."""


@dataclass
class Observation:
    """What a look at the data found; None where that kind of storage does not say."""

    schema: list[dict[str, Any]] | None = None
    row_count: int | None = None
    size_bytes: int | None = None
    last_modified: datetime | None = None
    snapshots: list[dict[str, Any]] | None = None


@dataclass
class Page:
    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    has_more: bool = False


@dataclass(frozen=True)
class Location:
    """Where a dataset's data is, for this module: kind, namespace, name, format and read options."""

    kind: str
    namespace: str
    name: str
    format: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def _schema_of(arrow_schema: pa.Schema) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": arrow_type_name(f.type), "nullable": f.nullable} for f in arrow_schema]


def _json_rows(table: pa.Table) -> list[dict[str, Any]]:
    # Decimals, dates and timestamps as text: JSON has no such types and floats would round decimals.
    return json.loads(json.dumps(table.to_pylist(), default=str))


# --- files -----------------------------------------------------------------------------------------


def _local_path(location: Location, data_dir: Path) -> Path:
    if location.namespace != "local":
        raise StorageError(
            f"The studio does not read {location.namespace} from the web server; the runs that write it "
            "report its schema and row counts."
        )
    path = Path(location.name) if location.name.startswith("/") else data_dir / location.name
    if not path.exists():
        raise StorageError(f"Nothing is at '{location.name}' yet: no run has written it, or it was removed.")
    return path


def _file_format(location: Location) -> pa_ds.FileFormat:
    if location.format == "parquet":
        return pa_ds.ParquetFileFormat()
    if location.format == "json":
        return pa_ds.JsonFileFormat()
    if location.format == "csv":
        header = location.options.get("header", True)
        delimiter = location.options.get("delimiter", ",")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            delimiter = ","
        return pa_ds.CsvFileFormat(
            parse_options=pa_csv.ParseOptions(delimiter=delimiter),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=not header),
            convert_options=pa_csv.ConvertOptions(strings_can_be_null=True),
        )
    raise StorageError(f"The catalog cannot read files of format '{location.format or 'unknown'}'.")


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(
        p for p in path.rglob("*")
        if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    )


def _file_dataset(location: Location, data_dir: Path) -> tuple[pa_ds.Dataset, list[Path]]:
    path = _local_path(location, data_dir)
    files = _files(path)
    if not files:
        raise StorageError(f"'{location.name}' holds no data files yet.")
    try:
        dataset = pa_ds.dataset(
            [str(f) for f in files], format=_file_format(location),
            partitioning=pa_ds.partitioning(flavor="hive") if path.is_dir() else None,
            partition_base_dir=str(path) if path.is_dir() else None,
        )
    except (pa.ArrowInvalid, OSError) as error:
        raise StorageError(f"Could not read '{location.name}' as {location.format}: {error}") from None
    return dataset, files


def _observe_files(location: Location, data_dir: Path) -> Observation:
    dataset, files = _file_dataset(location, data_dir)
    stats = [f.stat() for f in files]
    size = sum(s.st_size for s in stats)
    observation = Observation(
        size_bytes=size,
        last_modified=datetime.fromtimestamp(max(s.st_mtime for s in stats), tz=timezone.utc),
    )
    try:
        if location.format == "parquet":
            # Parquet footers carry exact types and row counts: no data is read.
            observation.schema = _schema_of(dataset.schema)
            observation.row_count = dataset.count_rows()
        elif size <= MAX_COUNTED_TEXT_BYTES:
            observation.row_count = dataset.count_rows()
    except (pa.ArrowInvalid, OSError) as error:
        raise StorageError(f"Could not read '{location.name}' as {location.format}: {error}") from None
    return observation


def _read_files(location: Location, data_dir: Path, offset: int, limit: int) -> Page:
    dataset, _ = _file_dataset(location, data_dir)
    try:
        table = _slice(dataset.to_batches(batch_size=max(limit, 1024)), dataset.schema, offset, limit + 1)
    except (pa.ArrowInvalid, OSError) as error:
        raise StorageError(f"Could not read '{location.name}' as {location.format}: {error}") from None
    return _page(table, limit)


def _slice(batches: Iterator[pa.RecordBatch], schema: pa.Schema, offset: int, count: int) -> pa.Table:
    """Rows offset .. offset+count of a stream of batches, reading no further than needed."""
    taken: list[pa.RecordBatch] = []
    skip, wanted = offset, count
    for batch in batches:
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        part = batch.slice(skip, wanted)
        skip = 0
        taken.append(part)
        wanted -= part.num_rows
        if wanted <= 0:
            break
    return pa.Table.from_batches(taken, schema=schema) if taken else schema.empty_table()


def _page(table: pa.Table, limit: int) -> Page:
    return Page(columns=_schema_of(table.schema), rows=_json_rows(table.slice(0, limit)),
                has_more=table.num_rows > limit)


# --- Iceberg ---------------------------------------------------------------------------------------


def iceberg_catalog(uri: str, warehouse: str) -> Any:
    """The studio's pyiceberg SQL catalog (read-only use here)."""
    try:
        from pyiceberg.catalog.sql import SqlCatalog
    except ImportError:  # pragma: no cover - pyiceberg is in requirements.txt
        raise StorageError("pyiceberg is not installed, so Iceberg tables cannot be read.") from None
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).exists():
        raise StorageError("The Iceberg catalog has no tables yet (its database does not exist).")
    from runners.connectors.config import s3_environment_properties

    # The studio's own object store (AWS_*), as the jobs without a connection use it.
    return SqlCatalog("studio", uri=uri, warehouse=warehouse, **s3_environment_properties())


def _iceberg_table(location: Location, catalog: Any) -> Any:
    from pyiceberg.exceptions import NoSuchTableError

    try:
        return catalog.load_table(location.name)
    except (NoSuchTableError, ValueError):
        raise StorageError(f"The Iceberg catalog has no table '{location.name}' yet.") from None


def _observe_iceberg(location: Location, catalog: Any) -> Observation:
    table = _iceberg_table(location, catalog)
    snapshots = [
        {
            "snapshot_id": s.snapshot_id,
            "parent_id": s.parent_snapshot_id,
            "committed_at": datetime.fromtimestamp(s.timestamp_ms / 1000, tz=timezone.utc),
            "operation": s.summary.operation.value if s.summary is not None else "",
            "summary": dict(s.summary.additional_properties) if s.summary is not None else {},
        }
        for s in table.snapshots()
    ]
    observation = Observation(schema=_schema_of(table.schema().as_arrow()), snapshots=snapshots, row_count=0,
                              size_bytes=0)
    current = table.current_snapshot()
    if current is not None:
        summary = dict(current.summary.additional_properties) if current.summary is not None else {}
        observation.row_count = int(summary.get("total-records", 0))
        observation.size_bytes = int(summary.get("total-files-size", 0))
        observation.last_modified = datetime.fromtimestamp(current.timestamp_ms / 1000, tz=timezone.utc)
    return observation


def _read_iceberg(location: Location, catalog: Any, offset: int, limit: int) -> Page:
    table = _iceberg_table(location, catalog)
    arrow = table.scan(limit=offset + limit + 1).to_arrow()
    return _page(arrow.slice(offset), limit)


# --- entry points ----------------------------------------------------------------------------------


def observe(location: Location, *, data_dir: Path, iceberg: tuple[str, str]) -> Observation:
    """Look at the data: schema (where exact), row count, size, last change, Iceberg snapshots."""
    if location.kind == "file":
        return _observe_files(location, data_dir)
    if location.kind == "iceberg":
        return _observe_iceberg(location, iceberg_catalog(*iceberg))
    raise StorageError("A Kafka topic is not read from the web server; the runs that use it report its schema.")


def read_rows(location: Location, *, data_dir: Path, iceberg: tuple[str, str], offset: int, limit: int) -> Page:
    """One page of rows, in storage order."""
    if location.kind == "file":
        return _read_files(location, data_dir, offset, limit)
    if location.kind == "iceberg":
        return _read_iceberg(location, iceberg_catalog(*iceberg), offset, limit)
    raise StorageError("Browsing a Kafka topic's messages is not supported here; read it with a pipeline "
                       "(source.kafka -> sink.file) and browse that location.")
