"""`studio-iceberg`: an Iceberg source and sink for Spark over pyiceberg, with no JAR.

    spark.dataSource.register(StudioIcebergDataSource)
    spark.read.format("studio-iceberg").option("table", "sales.orders").load()
    (df.writeStream.format("studio-iceberg").option("table", "sales.orders")
       .option("mode", "upsert").option("keys", '["order_id"]')
       .option("checkpointLocation", "...").start())

Reads plan with pyiceberg on the driver (one input partition per group of data files) and read
Parquet with Arrow on executors, applying delete files. Writes: executors write Parquet data files
into the table's location and send their metadata back; the driver commits them in one Iceberg
transaction, idempotently per (query id, batch id). See runners/connectors/README.md.
"""
from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from pyspark.sql.datasource import (
    DataSource,
    DataSourceArrowWriter,
    DataSourceReader,
    DataSourceStreamReader,
    DataSourceStreamWriter,
    InputPartition,
    WriterCommitMessage,
)

from runners.connectors import iceberg_tables as tables
from runners.connectors.columns import (
    arrow_batches,
    arrow_schema,
    conform,
    fields_from_iceberg,
    fields_from_spark,
    spark_ddl,
)
from runners.connectors.config import (
    CONNECTION_OPTION,
    check_location_in_bucket,
    load_catalog,
    option_flag,
    option_list,
)
from runners.connectors.files import read_text

__all__ = ["StudioIcebergDataSource"]

TARGET_SPLIT_BYTES = 128 * 1024 * 1024
# Rows an executor buffers before writing a data file (bounded memory, reasonably large files).
ROWS_PER_FILE = 1_000_000
BYTES_PER_FILE = 256 * 1024 * 1024


def _table_name(options: Any) -> str:
    name = options.get("table")
    if not name:
        raise ValueError("The studio-iceberg data source needs the option 'table' ('namespace.name').")
    return str(name)


def _connection(options: Any) -> dict[str, str]:
    """Option `connectionVariable` alone: the name of the environment variable holding the S3
    connection the table's files are read and written with (never its values, so that what Spark
    sends to executors carries no secret; each process reads the variable itself)."""
    variable = options.get(CONNECTION_OPTION) if options else None
    return {CONNECTION_OPTION: str(variable)} if variable else {}


def _load(name: str, connection: dict[str, str]) -> Any:
    table = load_catalog(options=connection).load_table(tables.table_identifier(name))
    check_location_in_bucket(table.location(), connection, f"Table {name}")
    return table


def _as_of_millis(text: str) -> int:
    """A timestamp ('2026-01-01 10:00:00', ISO-8601; no zone means UTC) as epoch milliseconds."""
    moment = dt.datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def _snapshot_for_read(table: Any, options: Any) -> Any:
    """The snapshot a batch read sees: `snapshotId`, `asOf` (latest at or before it), or current."""
    snapshot_id = options.get("snapshotId")
    as_of = options.get("asOf")
    if snapshot_id and as_of:
        raise ValueError("Options 'snapshotId' and 'asOf' cannot be used together.")
    if snapshot_id:
        snapshot = table.snapshot_by_id(int(snapshot_id))
        if snapshot is None:
            raise ValueError(f"Table has no snapshot {snapshot_id}.")
        return snapshot
    if as_of:
        snapshot = table.snapshot_as_of_timestamp(_as_of_millis(str(as_of)))
        if snapshot is None:
            raise ValueError(f"Table had no snapshot at or before {as_of} (UTC).")
        return snapshot
    return table.current_snapshot()


def _schema_of(table: Any, snapshot: Any) -> Any:
    if snapshot is not None and snapshot.schema_id is not None:
        return table.schemas().get(snapshot.schema_id, table.schema())
    return table.schema()


@dataclass(frozen=True)
class FileGroup(InputPartition):
    """Scan tasks (data files with their delete files) read by one Spark task."""

    metadata_location: str
    schema_id: int
    tasks: tuple[Any, ...]
    connection: tuple[tuple[str, str], ...] = ()


def _group_tasks(
    tasks: list[Any], metadata_location: str, schema_id: int, connection: dict[str, str]
) -> list[FileGroup]:
    pairs = tuple(connection.items())
    groups: list[FileGroup] = []
    current: list[Any] = []
    size = 0
    for task in sorted(tasks, key=lambda t: t.file.file_path):
        current.append(task)
        size += task.file.file_size_in_bytes
        if size >= TARGET_SPLIT_BYTES:
            groups.append(FileGroup(metadata_location, schema_id, tuple(current), pairs))
            current, size = [], 0
    if current:
        groups.append(FileGroup(metadata_location, schema_id, tuple(current), pairs))
    return groups


def _read_group(group: FileGroup, target: pa.Schema) -> Iterator[pa.RecordBatch]:
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan

    table = tables.load_static_table(group.metadata_location, dict(group.connection))
    schema = table.schemas().get(group.schema_id, table.schema())
    scan = ArrowScan(table.metadata, table.io, schema, AlwaysTrue())
    for batch in scan.to_record_batches(list(group.tasks)):
        if batch.num_rows:
            yield from conform(batch, target).to_batches()


class IcebergBatchReader(DataSourceReader):
    def __init__(self, options: Any, schema: Any) -> None:
        self.connection = _connection(options)
        table = _load(_table_name(options), self.connection)
        snapshot = _snapshot_for_read(table, options)
        self.target = arrow_schema(fields_from_spark(schema))
        self.metadata_location = table.metadata_location
        self.snapshot_id = snapshot.snapshot_id if snapshot is not None else None
        self.schema_id = _schema_of(table, snapshot).schema_id

    def partitions(self) -> list[FileGroup]:
        pairs = tuple(self.connection.items())
        if self.snapshot_id is None:
            return [FileGroup(self.metadata_location, self.schema_id, (), pairs)]
        table = tables.load_static_table(self.metadata_location, self.connection)
        tasks = list(table.scan(snapshot_id=self.snapshot_id).plan_files())
        return _group_tasks(tasks, self.metadata_location, self.schema_id, self.connection) or [
            FileGroup(self.metadata_location, self.schema_id, (), pairs)
        ]

    def read(self, partition: FileGroup) -> Iterator[pa.RecordBatch]:  # type: ignore[override]
        yield from _read_group(partition, self.target)


NO_SNAPSHOT = -1


class IcebergStreamReader(DataSourceStreamReader):
    """Streams the rows of each newly appended snapshot; offsets are `{"snapshot_id": id}`.

    `startFrom=current` (default): the first micro-batch is the whole table as of the query's start,
    then every appended snapshot; `latest`: only snapshots appended after the start. Snapshots that
    only rewrite files (`replace`, e.g. compaction) change no rows and are passed over. `overwrite`
    and `delete` snapshots cannot be expressed as appended rows: they fail the query with a message
    naming the snapshot, unless `skipOverwriteSnapshots` / `skipDeleteSnapshots` is true, in which
    case they are passed over (rows an overwrite added are then not emitted).
    """

    def __init__(self, options: Any, schema: Any) -> None:
        self.table_name = _table_name(options)
        self.connection = _connection(options)
        self.target = arrow_schema(fields_from_spark(schema))
        self.start_from = str(options.get("startFrom") or "current")
        if self.start_from not in ("current", "latest"):
            raise ValueError(f"Option 'startFrom' must be current or latest, not '{self.start_from}'.")
        self.skip_overwrite = option_flag(options.get("skipOverwriteSnapshots"), False)
        self.skip_delete = option_flag(options.get("skipDeleteSnapshots"), False)
        self.max_snapshots = int(options.get("maxSnapshotsPerBatch") or 0)
        self._initial: dict[str, int] | None = None
        self._frontier: int | None = None

    def initialOffset(self) -> dict:
        if self._initial is None:
            current = _load(self.table_name, self.connection).current_snapshot()
            if self.start_from == "latest" and current is not None:
                self._initial = {"snapshot_id": current.snapshot_id}
            else:
                self._initial = {"snapshot_id": NO_SNAPSHOT}
        if self._frontier is None:
            self._frontier = self._initial["snapshot_id"]
        return self._initial

    def _chain(self, table: Any, start: int, end: int) -> list[Any]:
        """Snapshots after `start` up to `end`, oldest first; `start` must be an ancestor of `end`."""
        from pyiceberg.table.snapshots import ancestors_of

        chain = []
        for snapshot in ancestors_of(table.snapshot_by_id(end), table.metadata):
            if snapshot.snapshot_id == start:
                return list(reversed(chain))
            chain.append(snapshot)
        if start == NO_SNAPSHOT:
            return list(reversed(chain))
        raise RuntimeError(
            f"Table {self.table_name}: snapshot {start}, where this stream stopped, is no longer an ancestor of "
            f"the current snapshot {end} (the table was rolled back or the snapshot expired)."
        )

    def latestOffset(self) -> dict:
        if self._frontier is None:
            self.initialOffset()
        table = _load(self.table_name, self.connection)
        current = table.current_snapshot()
        if current is None:
            return {"snapshot_id": self._frontier}
        if self._frontier == NO_SNAPSHOT and self.start_from == "current":
            return {"snapshot_id": current.snapshot_id}  # the whole table first, then appends
        chain = self._chain(table, self._frontier, current.snapshot_id)  # type: ignore[arg-type]
        if not chain:
            return {"snapshot_id": self._frontier}
        if self.max_snapshots > 0:
            chain = chain[: self.max_snapshots]
        return {"snapshot_id": chain[-1].snapshot_id}

    def partitions(self, start: dict, end: dict) -> list[FileGroup]:
        first = int(start["snapshot_id"])
        last = int(end["snapshot_id"])
        self._frontier = last
        if first == last or last == NO_SNAPSHOT:
            return []
        table = _load(self.table_name, self.connection)
        schema_id = table.schema().schema_id
        if first == NO_SNAPSHOT and self.start_from == "current":
            tasks = list(table.scan(snapshot_id=last).plan_files())
            return _group_tasks(tasks, table.metadata_location, schema_id, self.connection)
        for snapshot in self._chain(table, first, last):
            operation = snapshot.summary.operation.value if snapshot.summary is not None else "append"
            if operation == "overwrite" and not self.skip_overwrite:
                raise RuntimeError(
                    f"Table {self.table_name}: snapshot {snapshot.snapshot_id} is an overwrite, which a stream of "
                    "appended rows cannot express. Set skipOverwriteSnapshots=true to pass over such snapshots."
                )
            if operation == "delete" and not self.skip_delete:
                raise RuntimeError(
                    f"Table {self.table_name}: snapshot {snapshot.snapshot_id} deletes rows, which a stream of "
                    "appended rows cannot express. Set skipDeleteSnapshots=true to pass over such snapshots."
                )
        scan = table.incremental_append_scan(
            from_snapshot_id_exclusive=None if first == NO_SNAPSHOT else first, to_snapshot_id_inclusive=last
        )
        return _group_tasks(list(scan.plan_files()), table.metadata_location, schema_id, self.connection)

    def read(self, partition: FileGroup) -> Iterator[pa.RecordBatch]:  # type: ignore[override]
        yield from _read_group(partition, self.target)

    def commit(self, end: dict) -> None:
        pass


@dataclass
class IcebergCommitMessage(WriterCommitMessage):
    data_files: list[Any] = field(default_factory=list)
    changes: bytes = b""
    rows: int = 0


def _checkpoint_query_id(location: str) -> str:
    """Spark's stable query id, kept in the checkpoint's `metadata` file across restarts."""
    text = read_text(location.rstrip("/") + "/metadata")
    return str(json.loads(text.splitlines()[0])["id"])


class _IcebergWriterBase:
    def __init__(self, options: Any, schema: Any, overwrite: bool, streaming: bool) -> None:
        self.table_name = _table_name(options)
        self.connection = _connection(options)
        mode = str(options.get("mode") or ("overwrite" if overwrite else "append"))
        if mode not in tables.MODES:
            raise ValueError(f"Option 'mode' must be one of {', '.join(tables.MODES)}, not '{mode}'.")
        if overwrite and mode == "append":
            raise ValueError("Spark's overwrite save mode contradicts option mode='append'.")
        self.mode = mode
        self.keys = option_list(options.get("keys"))
        if mode == "upsert" and not self.keys:
            raise ValueError("Mode 'upsert' needs option 'keys' (the columns that identify a row).")
        self.overwrite_filter = options.get("overwriteFilter") or None
        self.input_fields = fields_from_spark(schema)
        self.input_schema = arrow_schema(self.input_fields)
        stored = [f for f in self.input_fields if not (mode == "upsert" and f.name == "_op")]
        missing_keys = [k for k in self.keys if k not in {f.name for f in stored}]
        if missing_keys:
            raise ValueError(f"Upsert key column(s) {', '.join(missing_keys)} are not in the data.")
        table = tables.ensure_table(
            self.table_name,
            stored,
            partition_by=tables.parse_partition_by(options.get("partitionBy")),
            create_if_missing=option_flag(options.get("createIfMissing"), True),
            catalog=load_catalog(options=self.connection),
        )
        check_location_in_bucket(table.location(), self.connection, f"Table {self.table_name}")
        self.metadata_location = table.metadata_location
        self.query_id = options.get("queryId") or None
        self.batch_id_option = options.get("batchId")
        if streaming and not self.query_id:
            checkpoint = options.get("checkpointLocation")
            if not checkpoint:
                raise ValueError(
                    "A streaming write to studio-iceberg needs a checkpointLocation (or option 'queryId') so a "
                    "replayed micro-batch is recognised."
                )
            self.query_id = _checkpoint_query_id(str(checkpoint))

    def write(self, iterator: Iterator[Any]) -> IcebergCommitMessage:
        """Executor side: Parquet data files for append/overwrite, the batch's latest changes for upsert."""
        from pyspark import TaskContext

        batches = (_naive(batch) for batch in arrow_batches(iterator, self.input_schema))
        if self.mode == "upsert":
            context = TaskContext.get()
            task = context.partitionId() if context is not None else 0
            data = pa.Table.from_batches(list(batches), schema=self.input_schema)
            sequence = pa.array(range(task << 40, (task << 40) + data.num_rows), pa.int64())
            data = data.append_column(tables.SEQUENCE_COLUMN, sequence)
            latest = tables.latest_changes(data, self.keys)
            sink = io.BytesIO()
            with pa.ipc.new_stream(sink, latest.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as out:
                out.write_table(latest)
            return IcebergCommitMessage(changes=sink.getvalue(), rows=data.num_rows)
        table = tables.load_static_table(self.metadata_location, self.connection)
        files: list[Any] = []
        pending: list[pa.RecordBatch] = []
        rows = pending_rows = pending_bytes = 0
        for batch in batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            pending_bytes += batch.nbytes
            if pending_rows >= ROWS_PER_FILE or pending_bytes >= BYTES_PER_FILE:
                files += tables.write_data_files(table, pa.Table.from_batches(pending))
                rows += pending_rows
                pending, pending_rows, pending_bytes = [], 0, 0
        if pending:
            files += tables.write_data_files(table, pa.Table.from_batches(pending))
            rows += pending_rows
        return IcebergCommitMessage(data_files=files, rows=rows)

    def _commit(self, messages: list[Any], batch_id: int | None) -> None:
        messages = [m for m in messages if m is not None]
        data_files = [f for m in messages for f in m.data_files]
        changes = None
        if self.mode == "upsert":
            parts = [pa.ipc.open_stream(m.changes).read_all() for m in messages if m.changes]
            changes = pa.concat_tables(parts) if parts else None
        query_id = self.query_id
        if batch_id is None and query_id:
            batch_id = int(self.batch_id_option or 0)
        spec = tables.TableWrite(
            table=self.table_name,
            mode=self.mode,
            keys=self.keys,
            overwrite_filter=self.overwrite_filter,
            query_id=query_id if query_id else None,
            batch_id=batch_id if query_id else None,
        )
        result = tables.commit(spec, data_files=data_files, changes=changes, catalog=load_catalog(options=self.connection))
        if not result.committed and data_files and "already committed" in result.reason:
            self._delete_files(data_files)  # a replay's files: the batch's first files are in the table

    def _delete_files(self, data_files: list[Any]) -> None:
        table = tables.load_static_table(self.metadata_location, self.connection)
        for data_file in data_files:
            try:
                table.io.delete(data_file.file_path)
            except Exception:  # noqa: BLE001 - best effort; orphan-file cleanup catches the rest
                pass

    def _abort(self, messages: list[Any]) -> None:
        self._delete_files([f for m in messages if m is not None for f in m.data_files])


def _naive(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Spark hands timestamps over as UTC instants (tz=UTC); the studio's are UTC wall-clock times."""
    if not any(pa.types.is_timestamp(f.type) and f.type.tz is not None for f in batch.schema):
        return batch
    fields, columns = [], []
    for f, column in zip(batch.schema, batch.columns):
        if pa.types.is_timestamp(f.type) and f.type.tz is not None:
            column = column.cast(pa.timestamp(f.type.unit, tz="UTC")).cast(pa.timestamp(f.type.unit))
            f = pa.field(f.name, column.type, f.nullable)
        fields.append(f)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))


class IcebergBatchWriter(_IcebergWriterBase, DataSourceArrowWriter):
    def __init__(self, options: Any, schema: Any, overwrite: bool) -> None:
        super().__init__(options, schema, overwrite, streaming=False)

    def commit(self, messages: list[Any]) -> None:  # type: ignore[override]
        self._commit(messages, None)

    def abort(self, messages: list[Any]) -> None:  # type: ignore[override]
        self._abort(messages)


class IcebergStreamWriter(_IcebergWriterBase, DataSourceStreamWriter, DataSourceArrowWriter):
    """Exactly once: micro-batch `batchId` of query `queryId` is committed at most once, ever."""

    def __init__(self, options: Any, schema: Any, overwrite: bool) -> None:
        super().__init__(options, schema, overwrite, streaming=True)

    def commit(self, messages: list[Any], batchId: int) -> None:  # type: ignore[override]
        self._commit(messages, int(batchId))

    def abort(self, messages: list[Any], batchId: int) -> None:  # type: ignore[override]
        self._abort(messages)


class StudioIcebergDataSource(DataSource):
    """Format `studio-iceberg`: read (batch, time travel, streaming appends) and write Iceberg tables."""

    @classmethod
    def name(cls) -> str:
        return "studio-iceberg"

    def schema(self) -> str:
        table = _load(_table_name(self.options), _connection(self.options))
        snapshot = _snapshot_for_read(table, self.options)
        return spark_ddl(fields_from_iceberg(_schema_of(table, snapshot)))

    def reader(self, schema: Any) -> DataSourceReader:
        return IcebergBatchReader(self.options, schema)

    def streamReader(self, schema: Any) -> DataSourceStreamReader:
        return IcebergStreamReader(self.options, schema)

    def writer(self, schema: Any, overwrite: bool) -> IcebergBatchWriter:
        return IcebergBatchWriter(self.options, schema, overwrite)

    def streamWriter(self, schema: Any, overwrite: bool) -> IcebergStreamWriter:
        return IcebergStreamWriter(self.options, schema, overwrite)

