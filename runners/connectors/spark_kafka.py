"""`studio-kafka`: a Kafka source and sink for Spark, written with the Python Data Source API.

    spark.dataSource.register(StudioKafkaDataSource)
    events = (spark.readStream.format("studio-kafka")
              .option("topic", "orders").option("format", "debezium-json")
              .option("schema", '[{"name": "id", "type": "bigint"}, ...]')
              .option("startingOffsets", "earliest").load())

Offsets belong to Spark's checkpoint: a micro-batch is a dict `{topic: {partition: next offset}}`,
read on executors with assign + seek (no consumer group), one input partition per Kafka partition
and offset range. With the option `node`, each micro-batch also reports the source's lag as the
runner's metric line. See runners/connectors/README.md for every option.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
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

from runners.connectors.codec import FORMATS, Decoder
from runners.connectors.columns import (
    Field,
    arrow_batches,
    arrow_schema,
    fields_from_spark,
    parse_schema,
    spark_ddl,
    with_cdc_columns,
)
from runners.connectors.config import option_list
from runners.connectors.kafka_io import (
    RangeStats,
    consumer,
    flush_or_raise,
    lag_behind,
    new_producer,
    partition_ids,
    produce_rows,
    read_decoded,
    watermarks,
)
from runners.output import metric_line

__all__ = ["StudioKafkaDataSource"]

DEFAULT_MAX_RECORDS_PER_BATCH = 100_000


def _plain_options(options: Any) -> dict[str, str]:
    """Options as a plain picklable dict (Spark's is case-insensitive: keys come lower-cased)."""
    return {str(k): str(v) for k, v in dict(options).items()}


def _required(options: Any, name: str) -> str:
    value = options.get(name)
    if value is None or str(value) == "":
        raise ValueError(f"The studio-kafka data source needs the option '{name}'.")
    return str(value)


@dataclass(frozen=True)
class KafkaRange(InputPartition):
    """One Kafka partition's offsets [start, end): one Spark input partition. The first range of a
    streaming micro-batch also carries the batch's lag, which the task reading it reports."""

    topic: str
    partition: int
    start: int
    end: int
    lag: int | None = None


TopicPartitionKey = tuple[str, int]


class _ReadSettings:
    """What every reader needs, resolved once on the driver and pickled to executors."""

    def __init__(self, options: Any, schema: Any) -> None:
        self.options = _plain_options(options)
        self.topics = option_list(_required(options, "topic"))
        self.format = str(options.get("format") or "json")
        if self.format not in FORMATS:
            raise ValueError(f"Option 'format' must be one of {', '.join(FORMATS)}, not '{self.format}'.")
        self.fields: list[Field] = fields_from_spark(schema)
        root = options.get("deadLetterPath") or os.path.join(os.getcwd(), "_dead_letter")
        self.dead_letter_root = str(root) if "://" in str(root) else os.path.abspath(str(root))
        self.node = str(options.get("node") or "")  # the pipeline node whose lag is reported; "": none

    def marks(self, client: Any) -> dict[TopicPartitionKey, tuple[int, int]]:
        """(low, high) watermarks of every partition of every topic."""
        found: dict[TopicPartitionKey, tuple[int, int]] = {}
        for topic in self.topics:
            for p, mark in watermarks(client, topic, partition_ids(client, topic)).items():
                found[(topic, p)] = mark
        return found

    def read(self, part: KafkaRange) -> Iterator[pa.RecordBatch]:
        decoder = Decoder(self.fields, self.format)
        client = consumer(self.options)
        try:
            stats = RangeStats()
            yield from read_decoded(
                client, decoder, part.topic, part.partition, part.start, part.end,
                dead_letter_root=self.dead_letter_root, stats=stats,
            )
        finally:
            client.close()


def _report_lag(node: str, lag: int) -> None:
    """Print a micro-batch's lag as the metric line the runner reads (runners.output.SourceLag).

    Printed from the task that read the batch's first range: an executor knows the batch id (a local
    property Spark sets for each micro-batch's jobs), the driver-side reader is never told it. In
    local mode the line reaches the job's output; on a cluster it goes to the executor's log."""
    from pyspark import TaskContext

    context = TaskContext.get()
    batch = context.getLocalProperty("streaming.sql.batchId") if context is not None else None
    metric: dict[str, Any] = {"node": node, "lag": lag}
    if batch is not None:
        metric["batch"] = int(batch)
    print(metric_line(metric), flush=True)


def _offsets(positions: dict[TopicPartitionKey, int]) -> dict[str, Any]:
    """Spark's offset: `{topic: {partition: next offset}}`."""
    result: dict[str, dict[str, int]] = {}
    for (topic, p), offset in sorted(positions.items()):
        result.setdefault(topic, {})[str(p)] = int(offset)
    return result


def _positions(offset: dict[str, Any] | None) -> dict[TopicPartitionKey, int]:
    return {(topic, int(p)): int(o) for topic, parts in (offset or {}).items() for p, o in parts.items()}


class KafkaBatchReader(DataSourceReader):
    """Bounded read: from `startingOffsets` (default earliest) up to the end offsets at planning."""

    def __init__(self, options: Any, schema: Any) -> None:
        self.settings = _ReadSettings(options, schema)
        self.starting = str(options.get("startingOffsets") or "earliest")

    def partitions(self) -> list[KafkaRange]:
        client = consumer(self.settings.options)
        try:
            marks = self.settings.marks(client)
        finally:
            client.close()
        ranges = []
        for (topic, p), (low, high) in sorted(marks.items()):
            start = low if self.starting == "earliest" else high
            if high > start:
                ranges.append(KafkaRange(topic, p, start, high))
        return ranges or [KafkaRange(self.settings.topics[0], 0, 0, 0)]

    def read(self, partition: KafkaRange) -> Iterator[pa.RecordBatch]:  # type: ignore[override]
        if partition.end > partition.start:
            yield from self.settings.read(partition)


class KafkaStreamReader(DataSourceStreamReader):
    """Micro-batches of at most `maxRecordsPerBatch` records, spread fairly over the partitions.

    Spark 4.0's `latestOffset()` receives neither the start nor a read limit, so the reader keeps its
    own frontier: the end of the newest range Spark planned (on restart Spark replays the logged
    end through `partitions(end, end)` before asking for more).
    """

    def __init__(self, options: Any, schema: Any) -> None:
        self.settings = _ReadSettings(options, schema)
        self.starting = str(options.get("startingOffsets") or "latest")
        if self.starting not in ("earliest", "latest"):
            raise ValueError(f"Option 'startingOffsets' must be earliest or latest, not '{self.starting}'.")
        cap = options.get("maxRecordsPerBatch")
        self.max_records = DEFAULT_MAX_RECORDS_PER_BATCH if cap in (None, "") else int(cap)
        if self.max_records < 0:
            raise ValueError("Option 'maxRecordsPerBatch' must be a positive number, or 0 for no cap.")
        self._client: Any = None
        self._initial: dict[str, Any] | None = None
        self._frontier: dict[TopicPartitionKey, int] | None = None
        self._warned: dict[TopicPartitionKey, int] = {}

    def _marks(self) -> dict[TopicPartitionKey, tuple[int, int]]:
        if self._client is None:
            self._client = consumer(self.settings.options)
        return self.settings.marks(self._client)

    def initialOffset(self) -> dict:
        if self._initial is None:
            marks = self._marks()
            positions = {key: (low if self.starting == "earliest" else high) for key, (low, high) in marks.items()}
            self._initial = _offsets(positions)
        if self._frontier is None:
            self._frontier = _positions(self._initial)
        return self._initial

    def latestOffset(self) -> dict:
        if self._frontier is None:
            self.initialOffset()
        assert self._frontier is not None
        marks = self._marks()
        start = dict(self._frontier)
        for key, (low, _high) in marks.items():
            # A partition added after the query started is read from its beginning.
            start.setdefault(key, low)
        for key, (low, _high) in marks.items():
            if start[key] < low and self._warned.get(key) != start[key]:
                self._warned[key] = start[key]
                print(
                    f"studio-kafka: topic {key[0]} partition {key[1]}: offsets [{start[key]}, {low}) were deleted by "
                    "the broker's retention before this query read them; they are skipped.",
                    file=sys.stderr,
                    flush=True,
                )
        available = {key: max(0, high - max(start[key], low)) for key, (low, high) in marks.items()}
        budget = self.max_records or sum(available.values())
        take = {key: 0 for key in marks}
        waiting = sorted(key for key, n in available.items() if n > 0)
        while budget > 0 and waiting:
            share = max(1, budget // len(waiting))
            still = []
            for key in waiting:
                step = min(share, available[key] - take[key], budget)
                take[key] += step
                budget -= step
                if take[key] < available[key]:
                    still.append(key)
                if budget <= 0:
                    break
            waiting = still
        end = {}
        for key, position in start.items():
            if key in marks and take[key]:
                end[key] = max(position, marks[key][0]) + take[key]
            else:
                end[key] = position
        return _offsets(end)

    def partitions(self, start: dict, end: dict) -> list[KafkaRange]:
        begin = _positions(start)
        finish = _positions(end)
        self._frontier = dict(finish)
        ranges = []
        for (topic, p), stop in sorted(finish.items()):
            first = begin.get((topic, p), 0)
            if stop < first:
                raise RuntimeError(
                    f"Kafka topic '{topic}' partition {p}: the planned end offset {stop} is before the start {first}."
                )
            if stop > first:
                ranges.append(KafkaRange(topic, p, first, stop))
        if ranges and self.settings.node:
            # What the batch leaves unread: the high watermarks as it is planned minus its end offsets.
            ranges[0] = replace(ranges[0], lag=lag_behind(self._marks(), finish))
        return ranges

    def read(self, partition: KafkaRange) -> Iterator[pa.RecordBatch]:  # type: ignore[override]
        yield from self.settings.read(partition)
        if partition.lag is not None:
            _report_lag(self.settings.node, partition.lag)

    def commit(self, end: dict) -> None:
        # Nothing to do: Spark's checkpoint owns the offsets, Kafka keeps no consumer-group state.
        pass

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


@dataclass
class KafkaWriteMessage(WriterCommitMessage):
    rows: int


class _KafkaWriterBase:
    def __init__(self, options: Any, schema: Any) -> None:
        self.options = _plain_options(options)
        self.topic = _required(options, "topic")
        fmt = str(options.get("format") or "json")
        if fmt != "json":
            raise ValueError(f"The studio-kafka sink writes 'json' values, not '{fmt}'.")
        self.key_columns = option_list(options.get("keyColumns"))
        fields = fields_from_spark(schema)
        self.arrow_schema = arrow_schema(fields)
        names = [f.name for f in fields]
        missing = [c for c in self.key_columns if c not in names]
        if missing:
            raise ValueError(f"Key column(s) {', '.join(missing)} are not columns of the data written to Kafka.")

    def write(self, iterator: Iterator[Any]) -> KafkaWriteMessage:
        """Produce every row of this task, then flush: any delivery error fails the task."""
        producer, errors = new_producer(self.options)
        rows = 0
        for batch in arrow_batches(iterator, self.arrow_schema):
            rows += produce_rows(producer, self.topic, batch, key_columns=self.key_columns)
            if errors:
                break
        flush_or_raise(producer, errors)
        return KafkaWriteMessage(rows)


class KafkaBatchWriter(_KafkaWriterBase, DataSourceArrowWriter):
    def commit(self, messages: list[Any]) -> None:
        pass


class KafkaStreamWriter(_KafkaWriterBase, DataSourceStreamWriter, DataSourceArrowWriter):
    """At least once: a micro-batch replayed after a crash is produced again (as Spark's own sink)."""

    def commit(self, messages: list[Any], batchId: int) -> None:  # type: ignore[override]
        pass

    def abort(self, messages: list[Any], batchId: int) -> None:  # type: ignore[override]
        pass


class StudioKafkaDataSource(DataSource):
    """Format `studio-kafka`: read a topic (batch or streaming) as the node's schema; write JSON rows."""

    @classmethod
    def name(cls) -> str:
        return "studio-kafka"

    def schema(self) -> str:
        declared = self.options.get("schema")
        if not declared:
            raise ValueError(
                "The studio-kafka source needs the node's columns: option 'schema' (JSON) or .schema(...)."
            )
        fields = parse_schema(declared)
        if str(self.options.get("format") or "json") == "debezium-json":
            fields = with_cdc_columns(fields)
        return spark_ddl(fields)

    def reader(self, schema: Any) -> DataSourceReader:
        return KafkaBatchReader(self.options, schema)

    def streamReader(self, schema: Any) -> DataSourceStreamReader:
        return KafkaStreamReader(self.options, schema)

    def writer(self, schema: Any, overwrite: bool) -> KafkaBatchWriter:
        return KafkaBatchWriter(self.options, schema)

    def streamWriter(self, schema: Any, overwrite: bool) -> KafkaStreamWriter:
        return KafkaStreamWriter(self.options, schema)
