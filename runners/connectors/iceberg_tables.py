"""Writing Iceberg tables: create or evolve, write data files, commit exactly once.

Shared by the Spark data source (executors write files, the driver commits) and the committer of
Flink's staged files. Every commit:

- carries snapshot properties `studio.query-id` and `studio.batch-id` when it belongs to a replayable
  stream, and is skipped when the table's current lineage already holds that query's batch (or a
  later one): batch ids of one query only grow, so the newest snapshot of the query answers it;
- is one pyiceberg transaction (one atomic catalog commit, even when it makes two snapshots such as
  delete-then-append for upserts);
- is retried from scratch (reload, re-check, rebuild) when it loses a compare-and-swap race.

Modes: `append`; `overwrite` (the whole table, or the rows matching `overwrite_filter`, replaced by
the batch); `upsert` by `keys`: within a batch the last change per key wins (ordered by `_ts` when the
input has it, then by arrival order), `_op = 'd'` deletes the key, any other change replaces the row
(copy-on-write: delete every key of the batch, then append the surviving images).
"""
from __future__ import annotations

import itertools
import logging
import re
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from runners.connectors import transforms
from runners.connectors.columns import Field, conform, fields_from_iceberg
from runners.connectors.config import catalog_properties, load_catalog
from runners.connectors.retry import retry_transient

__all__ = [
    "BATCH_ID",
    "MODES",
    "QUERY_ID",
    "SEQUENCE_COLUMN",
    "CommitResult",
    "TableWrite",
    "commit",
    "ensure_table",
    "last_committed_batch",
    "load_static_table",
    "parse_partition_by",
    "write_data_files",
]

log = logging.getLogger("studio.connectors")

QUERY_ID = "studio.query-id"
BATCH_ID = "studio.batch-id"
MODES = ("append", "overwrite", "upsert")
# Arrival order of rows within an upsert batch, added by the writer and never stored.
SEQUENCE_COLUMN = "__studio_seq"
_BUCKET = re.compile(r"bucket\[([1-9][0-9]{0,8})\]")
_TRANSFORMS = ("identity", "year", "month", "day", "hour")


def table_identifier(name: str) -> tuple[str, ...]:
    parts = tuple(p for p in name.split("."))
    if len(parts) < 2 or not all(parts):
        raise ValueError(f"Table name '{name}' must look like 'namespace.name'.")
    return parts


def parse_partition_by(value: Any) -> list[tuple[str, str]]:
    """`[{"column", "transform"}]` (JSON text or list) as (column, transform) pairs, checked."""
    import json

    if value in (None, "", "[]"):
        return []
    items = json.loads(value) if isinstance(value, str) else value
    result = []
    for item in items:
        column = str(item["column"])
        transform = str(item.get("transform", "identity"))
        if transform not in _TRANSFORMS and not _BUCKET.fullmatch(transform):
            raise ValueError(
                f"Partition transform '{transform}' for column '{column}' is not one of identity, year, month, day, "
                "hour, bucket[N]."
            )
        result.append((column, transform))
    return result


def _iceberg_transform(text: str) -> Any:
    from pyiceberg.transforms import (
        BucketTransform, DayTransform, HourTransform, IdentityTransform, MonthTransform, YearTransform,
    )

    match = _BUCKET.fullmatch(text)
    if match:
        return BucketTransform(int(match.group(1)))
    return {
        "identity": IdentityTransform, "year": YearTransform, "month": MonthTransform,
        "day": DayTransform, "hour": HourTransform,
    }[text]()


def _iceberg_type(f: Field) -> Any:
    from pyiceberg import types as it

    if f.type.startswith("decimal"):
        kind = f.arrow_type
        return it.DecimalType(kind.precision, kind.scale)
    return {
        "string": it.StringType(), "boolean": it.BooleanType(), "int": it.IntegerType(), "bigint": it.LongType(),
        "float": it.FloatType(), "double": it.DoubleType(), "date": it.DateType(),
        "timestamp": it.TimestampType(), "binary": it.BinaryType(),
    }[f.type]


_PROMOTIONS = {("int", "bigint"), ("float", "double")}


def ensure_table(
    name: str,
    fields: Sequence[Field],
    *,
    partition_by: Sequence[tuple[str, str]] = (),
    create_if_missing: bool = True,
    catalog: Any = None,
) -> Any:
    """Load table `name`, creating it from `fields` when missing, and add input columns it lacks.

    New columns are added as nullable (Iceberg cannot add required columns to existing data). A
    column whose type differs from the table's is accepted when it widens safely into it (int into
    bigint, float into double); anything else is an error naming the column. `partition_by` applies
    when the table is created; an existing table keeps its own partitioning.
    """
    from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchTableError, TableAlreadyExistsError

    transforms.install()
    catalog = catalog or load_catalog()
    identifier = table_identifier(name)

    def load_or_create() -> Any:
        try:
            return catalog.load_table(identifier)
        except NoSuchTableError:
            if not create_if_missing:
                raise NoSuchTableError(
                    f"Table '{name}' does not exist and create_if_missing is false."
                ) from None
        try:
            catalog.create_namespace(identifier[:-1])
        except NamespaceAlreadyExistsError:
            pass
        schema = pa.schema([pa.field(f.name, f.arrow_type, nullable=f.nullable) for f in fields])
        for column, _ in partition_by:
            if column not in schema.names:
                raise ValueError(f"Partition column '{column}' is not a column of the data written to '{name}'.")
        try:
            tx = catalog.create_table_transaction(identifier, schema=schema, properties={"format-version": "2"})
            if partition_by:
                with tx.update_spec() as spec:
                    for column, transform in partition_by:
                        spec.add_field(column, _iceberg_transform(transform))
            tx.commit_transaction()
        except TableAlreadyExistsError:
            pass  # another writer created it first: use theirs
        return catalog.load_table(identifier)

    def evolve() -> Any:
        current = catalog.load_table(identifier)
        added = _missing_columns(current, fields, name)
        if not added:
            return current
        with current.update_schema() as update:
            for f in added:
                update.add_column(f.name, _iceberg_type(f), required=False)
        log.info("table %s: added columns %s", name, ", ".join(f.name for f in added))
        return catalog.load_table(identifier)

    table = retry_transient(load_or_create, what=f"create table {name}")
    if _missing_columns(table, fields, name):
        table = retry_transient(evolve, what=f"add columns to {name}")
    return table


def _missing_columns(table: Any, fields: Sequence[Field], name: str) -> list[Field]:
    """Input columns the table lacks; raises for a column whose type cannot go into the table's."""
    existing = {f.name: f for f in fields_from_iceberg(table.schema())}
    for f in fields:
        old = existing.get(f.name)
        if old is not None and old.type != f.type and (f.type, old.type) not in _PROMOTIONS:
            raise ValueError(
                f"Column '{f.name}' is {f.type} in the data but {old.type} in table '{name}'; "
                "only new columns can be added automatically."
            )
    return [f for f in fields if f.name not in existing]


_static_tables: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}


def load_static_table(metadata_location: str, options: Mapping[str, Any] | None = None) -> Any:
    """A read-only table at one metadata file (what executors write or read against), cached.

    `options` may name an S3 connection (`connectionVariable`) whose credentials its FileIO uses."""
    from pyiceberg.table import StaticTable

    properties = {k: v for k, v in catalog_properties(options).items() if k.startswith("s3.")}
    key = (metadata_location, tuple(sorted(properties.items())))
    table = _static_tables.get(key)
    if table is None:
        table = StaticTable.from_metadata(metadata_location, properties=properties)
        if len(_static_tables) > 64:
            _static_tables.clear()
        _static_tables[key] = table
    return table


def table_arrow_schema(table: Any) -> pa.Schema:
    """The table's current schema as plain Arrow (string, timestamp[us]) without field-id metadata."""
    from runners.connectors.columns import arrow_schema

    return arrow_schema(fields_from_iceberg(table.schema()))


# Below this much Arrow data per file, splitting a write across threads costs more than it saves.
MIN_PARALLEL_FILE_BYTES = 32 * 1024 * 1024


def write_data_files(
    table: Any, data: pa.Table, *, write_uuid: uuid.UUID | None = None, parallelism: int = 1
) -> list[Any]:
    """Write `data` as Parquet data files in the table's location (partitioned by its spec).

    Returns pyiceberg `DataFile`s (with column metrics) ready for one commit. Columns are matched by
    name; missing ones are written as NULL. With `parallelism` > 1 a large input is split into that
    many files written by parallel threads (Arrow's Parquet writer releases the GIL); Spark tasks
    use 1, since Spark already runs one task per core.
    """
    from pyiceberg.io.pyarrow import _dataframe_to_data_files
    from pyiceberg.table import TableProperties

    transforms.install()
    if data.num_rows == 0:
        return []
    conformed = conform(data, table_arrow_schema(table))
    metadata = table.metadata
    if parallelism > 1 and conformed.nbytes >= 2 * MIN_PARALLEL_FILE_BYTES:
        configured = int(metadata.properties.get(
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES, TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT
        ))
        per_file = max(MIN_PARALLEL_FILE_BYTES, -(-conformed.nbytes // parallelism))
        if per_file < configured:
            metadata = metadata.model_copy(
                update={"properties": {**metadata.properties, TableProperties.WRITE_TARGET_FILE_SIZE_BYTES: str(per_file)}}
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(
            _dataframe_to_data_files(
                table_metadata=metadata,
                df=conformed,
                io=table.io,
                write_uuid=write_uuid or uuid.uuid4(),
                counter=itertools.count(0),
            )
        )


def last_committed_batch(table: Any, query_id: str) -> int | None:
    """The highest batch id that query `query_id` committed in the table's current lineage."""
    from pyiceberg.table.snapshots import ancestors_of

    for snapshot in ancestors_of(table.current_snapshot(), table.metadata):
        summary = snapshot.summary
        if summary is not None and summary.get(QUERY_ID) == query_id:
            value = summary.get(BATCH_ID)
            return int(value) if value is not None else None
    return None


@dataclass
class TableWrite:
    """What one commit does to one table."""

    table: str
    mode: str = "append"
    keys: Sequence[str] = ()
    overwrite_filter: str | None = None
    query_id: str | None = None
    batch_id: int | None = None
    extra_properties: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"Unknown write mode '{self.mode}' (expected one of {', '.join(MODES)}).")
        if self.mode == "upsert" and not self.keys:
            raise ValueError("Mode 'upsert' needs key columns ('keys').")
        if (self.query_id is None) != (self.batch_id is None):
            raise ValueError("A query id and a batch id go together.")

    def snapshot_properties(self) -> dict[str, str]:
        properties = dict(self.extra_properties)
        if self.query_id is not None:
            properties[QUERY_ID] = self.query_id
            properties[BATCH_ID] = str(self.batch_id)
        return properties


@dataclass
class CommitResult:
    committed: bool
    reason: str = ""
    snapshot_id: int | None = None
    rows_added: int = 0
    rows_deleted_keys: int = 0


def latest_changes(rows: pa.Table, keys: Sequence[str]) -> pa.Table:
    """The last change per key: ordered by `_ts` (NULL first) when present, then `SEQUENCE_COLUMN`."""
    for key in keys:
        if key not in rows.column_names:
            raise ValueError(f"Upsert key column '{key}' is not in the data.")
        if rows.column(key).null_count:
            raise ValueError(f"Upsert key column '{key}' holds NULL; every row needs a key.")
    if rows.num_rows == 0:
        return rows
    if SEQUENCE_COLUMN not in rows.column_names:
        rows = rows.append_column(SEQUENCE_COLUMN, pa.array(range(rows.num_rows), pa.int64()))
    order = [(k, "ascending", "at_start") for k in keys]
    if "_ts" in rows.column_names:
        order.append(("_ts", "ascending", "at_start"))
    order.append((SEQUENCE_COLUMN, "ascending", "at_start"))
    indices = pc.sort_indices(rows, sort_keys=order)
    ordered = rows.take(indices)
    # A row is the last of its key when the next row has another key (or there is no next row).
    last = None
    for key in keys:
        column = ordered.column(key)
        nxt = pc.not_equal(column.slice(0, len(column) - 1), column.slice(1))
        last = nxt if last is None else pc.or_(last, nxt)
    mask = pa.concat_arrays([_one(last), pa.array([True])]) if last is not None else None
    return ordered.filter(mask)


def _one(column: Any) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _key_filter(rows: pa.Table, keys: Sequence[str]) -> Any:
    from pyiceberg.table.upsert_util import create_match_filter

    return create_match_filter(rows, list(keys))


def commit(
    spec: TableWrite,
    *,
    data_files: Sequence[Any] = (),
    changes: pa.Table | None = None,
    catalog: Any = None,
) -> CommitResult:
    """Commit written files (append/overwrite) or a batch of changes (upsert), exactly once.

    `changes` (upsert only) holds the batch's rows with the key columns, optionally `_op`, `_ts` and
    `SEQUENCE_COLUMN`. Retries conflicts; returns whether this call committed or found it done.
    """
    transforms.install()
    catalog = catalog or load_catalog()
    identifier = table_identifier(spec.table)
    properties = spec.snapshot_properties()
    final = None
    if spec.mode == "upsert":
        final = latest_changes(changes if changes is not None else pa.table({}), spec.keys) if changes is not None else None
    has_work = bool(data_files) or (final is not None and final.num_rows > 0) or spec.mode == "overwrite"
    if not has_work:
        return CommitResult(False, "nothing to write")

    def attempt() -> CommitResult:
        table = catalog.load_table(identifier)
        if spec.query_id is not None:
            done = last_committed_batch(table, spec.query_id)
            if done is not None and done >= int(spec.batch_id):  # type: ignore[arg-type]
                return CommitResult(False, f"batch {spec.batch_id} of query {spec.query_id} is already committed")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Delete operation did not match any records"
            tx = table.transaction()
            rows_added = sum(f.record_count for f in data_files)
            deleted_keys = 0
            if spec.mode == "overwrite":
                from pyiceberg.expressions import AlwaysTrue

                tx.delete(spec.overwrite_filter or AlwaysTrue(), snapshot_properties=properties)
            if spec.mode == "upsert" and final is not None:
                deleted_keys = final.num_rows
                tx.delete(_key_filter(final, spec.keys), snapshot_properties=properties)
                survivors = final
                if "_op" in final.column_names:
                    survivors = final.filter(pc.fill_null(pc.not_equal(final.column("_op"), "d"), True))
                if survivors.num_rows:
                    target = _transaction_schema(tx)
                    survivors = conform(survivors, target)
                    tx.append(survivors, snapshot_properties=properties)
                    rows_added = survivors.num_rows
            if data_files:
                with tx.update_snapshot(snapshot_properties=properties).fast_append() as append:
                    for data_file in data_files:
                        append.append_data_file(data_file)
            if not tx._updates and spec.query_id is None:
                return CommitResult(False, "nothing changed")
            if not tx._updates:
                # Nothing changed the data (e.g. deletes of absent keys), but the batch must still be
                # recorded so a replay is recognised: an empty append snapshot carries the marker.
                with tx.update_snapshot(snapshot_properties=properties).fast_append():
                    pass
            committed = tx.commit_transaction()
        snapshot = committed.current_snapshot()
        return CommitResult(True, "", snapshot.snapshot_id if snapshot else None, rows_added, deleted_keys)

    return retry_transient(attempt, what=f"commit to {spec.table}")


def _transaction_schema(tx: Any) -> pa.Schema:
    from runners.connectors.columns import arrow_schema

    return arrow_schema(fields_from_iceberg(tx.table_metadata.schema()))
