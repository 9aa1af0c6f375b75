"""Reading Kafka offset ranges without a consumer group, and producing JSON rows.

Positions are owned by whoever calls these functions (Spark's checkpoint, the bridge's file names),
never by Kafka consumer-group commits: a range [start, end) of one partition is read with
assign + seek, so re-reading it after a crash returns the same records.
"""
from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from runners.connectors.codec import Decoder, JsonEncoder
from runners.connectors.config import kafka_config
from runners.connectors.files import dead_letter_record, json_lines, write_atomic

__all__ = [
    "RangeStats",
    "consumer",
    "dead_letter_location",
    "lag_behind",
    "partition_ids",
    "produce_rows",
    "read_decoded",
    "read_range",
    "watermarks",
]

log = logging.getLogger("studio.connectors")

METADATA_TIMEOUT = 30.0
# How long a range read may wait without receiving anything before it fails the task.
STALL_TIMEOUT = 120.0
# Records decoded (and handed to Spark) per Arrow batch: large batches make the exchange with the JVM cheap.
DECODE_CHUNK = 100_000


def consumer(options: Mapping[str, Any] | None = None) -> Any:
    """A consumer for assign/seek reads: a throwaway group id, nothing committed, read_committed."""
    from confluent_kafka import Consumer

    config = kafka_config(
        options,
        **{
            "group.id": f"studio-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            # Range reads want big fetches, and no waiting for more when a fetch comes back short.
            "fetch.wait.max.ms": 20,
            "max.partition.fetch.bytes": 8 << 20,
            "fetch.max.bytes": 64 << 20,
            "queued.min.messages": 500_000,
        },
    )
    return Consumer(config)


def partition_ids(client: Any, topic: str) -> list[int]:
    """The topic's partitions; asking for its metadata creates it when the broker auto-creates topics."""
    deadline = time.monotonic() + METADATA_TIMEOUT
    while True:
        metadata = client.list_topics(topic, timeout=METADATA_TIMEOUT)
        described = metadata.topics.get(topic)
        if described is not None and described.error is None and described.partitions:
            return sorted(described.partitions)
        if time.monotonic() > deadline:
            reason = described.error if described is not None else "no metadata"
            raise RuntimeError(f"Kafka topic '{topic}' is not available: {reason}")
        time.sleep(0.2)


def watermarks(client: Any, topic: str, partitions: Sequence[int]) -> dict[int, tuple[int, int]]:
    from confluent_kafka import TopicPartition

    return {
        p: tuple(client.get_watermark_offsets(TopicPartition(topic, p), timeout=METADATA_TIMEOUT, cached=False))  # type: ignore[misc]
        for p in partitions
    }


def lag_behind(marks: Mapping[Any, tuple[int, int]], positions: Mapping[Any, int]) -> int:
    """Records not read yet: each partition's high watermark minus the next offset to read (its low
    watermark when unknown or deleted by retention), summed over the partitions of `marks`."""
    return sum(max(0, high - max(positions.get(key, low), low)) for key, (low, high) in marks.items())


def read_range(
    client: Any, topic: str, partition: int, start: int, end: int, *, chunk: int = DECODE_CHUNK
) -> Iterator[list[Any]]:
    """Messages of one partition with offsets in [start, end), in chunks (lists of Message objects).

    Offsets that hold no record (transaction markers, compacted or expired records) are skipped;
    the read ends at `end` or at the partition's end, whichever comes first.
    """
    from confluent_kafka import KafkaError, KafkaException, TopicPartition

    if end <= start:
        return
    client.assign([TopicPartition(topic, partition, start)])
    position = start
    pending: list[Any] = []
    last_progress = time.monotonic()
    try:
        while position < end:
            messages = client.consume(num_messages=min(chunk, max(end - position, 1), 10_000), timeout=1.0)
            if not messages:
                if time.monotonic() - last_progress > STALL_TIMEOUT:
                    raise TimeoutError(
                        f"Kafka topic '{topic}' partition {partition}: no records for {STALL_TIMEOUT:.0f} s while "
                        f"reading offsets [{position}, {end})."
                    )
                continue
            last_progress = time.monotonic()
            records = [m for m in messages if m.error() is None]
            if len(records) != len(messages):
                for message in messages:
                    error = message.error()
                    if error is None:
                        continue
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise KafkaException(error)
                    # The partition's end: offsets up to `end` that delivered nothing held no
                    # readable record (transaction markers, aborted or compacted records).
                    if message.offset() >= end:
                        position = end
            if records:
                if records[-1].offset() >= end:
                    records = [m for m in records if m.offset() < end]
                    position = end
                if records and records[0].offset() < start:
                    records = [m for m in records if m.offset() >= start]
                if records:
                    position = max(position, records[-1].offset() + 1)
                    pending.extend(records)
            if len(pending) >= chunk:
                yield pending
                pending = []
        if pending:
            yield pending
    finally:
        client.unassign()


def dead_letter_location(root: str, topic: str, partition: int, start: int, end: int) -> str:
    """One file per (topic, partition, offset range): a replayed range rewrites the same file."""
    name = f"{topic}+{partition}+{start:020d}+{end:020d}.jsonl"
    return f"{root.rstrip('/')}/{topic}/{name}"


@dataclass
class RangeStats:
    rows: int = 0
    malformed: int = 0
    tombstones: int = 0
    dead_letters: list[dict[str, Any]] = field(default_factory=list)


def read_decoded(
    client: Any,
    decoder: Decoder,
    topic: str,
    partition: int,
    start: int,
    end: int,
    *,
    dead_letter_root: str | None,
    stats: RangeStats | None = None,
) -> Iterator[pa.RecordBatch]:
    """Decoded batches of one offset range; malformed records go to the range's dead-letter file.

    The dead-letter file is written (atomically) once the range is read, before the last batch is
    handed on, so a range whose rows reached a sink always has its dead letters on disk.
    """
    stats = stats if stats is not None else RangeStats()
    pending: pa.RecordBatch | None = None
    for messages in read_range(client, topic, partition, start, end):
        values = [m.value() for m in messages]
        result = decoder.decode(values)
        for index, reason in result.failures:
            stats.dead_letters.append(
                dead_letter_record(
                    topic=topic, partition=partition, offset=messages[index].offset(), value=values[index],
                    key=messages[index].key(), error=reason,
                )
            )
        stats.rows += result.batch.num_rows
        stats.malformed += len(result.failures)
        stats.tombstones += result.tombstones
        if pending is not None:
            yield pending
        pending = result.batch if result.batch.num_rows else None
    if stats.dead_letters:
        if not dead_letter_root:
            raise RuntimeError("Malformed Kafka records need a dead-letter location.")
        location = dead_letter_location(dead_letter_root, topic, partition, start, end)
        write_atomic(location, json_lines(stats.dead_letters))
        print(
            f"studio-kafka: topic {topic} partition {partition} offsets [{start}, {end}): "
            f"{stats.malformed} malformed record(s) written to {location}",
            file=sys.stderr,
            flush=True,
        )
    if pending is not None:
        yield pending


def produce_rows(
    producer: Any, topic: str, data: pa.Table | pa.RecordBatch, *, key_columns: Sequence[str] = ()
) -> int:
    """Produce each row as a JSON value (key: JSON of `key_columns`, or none); returns the row count.

    Delivery errors are collected and raised by `flush_or_raise`.
    """
    if data.num_rows == 0:
        return 0
    values = JsonEncoder().encode(data)
    keys: list[bytes | None] = JsonEncoder(key_columns).encode(data) if key_columns else [None] * len(values)
    for value, key in zip(values, keys):
        while True:
            try:
                producer.produce(topic, value=value, key=key)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    return len(values)


def delivery_tracker() -> tuple[list[str], Any]:
    errors: list[str] = []

    def on_delivery(error: Any, message: Any) -> None:
        if error is not None:
            errors.append(f"{message.topic()}[{message.partition()}]: {error}")

    return errors, on_delivery


def new_producer(options: Mapping[str, Any] | None = None, **overrides: Any) -> tuple[Any, list[str]]:
    """An idempotent producer whose delivery errors land in the returned list."""
    from confluent_kafka import Producer

    errors, on_delivery = delivery_tracker()
    config = kafka_config(
        options,
        **{"enable.idempotence": True, "linger.ms": 20, "batch.num.messages": 10_000, "on_delivery": on_delivery},
        **overrides,
    )
    return Producer(config), errors


def flush_or_raise(producer: Any, errors: list[str], timeout: float = 120.0) -> None:
    remaining = producer.flush(timeout)
    if errors:
        raise RuntimeError(f"Kafka rejected {len(errors)} message(s), first: {errors[0]}")
    if remaining:
        raise TimeoutError(f"{remaining} Kafka message(s) were not delivered within {timeout:.0f} s.")
