"""Debezium-style change streams for the tests, and the final state they must produce."""
from __future__ import annotations

import copy
import datetime as dt
import json
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

SCHEMA = [
    {"name": "id", "type": "bigint", "nullable": False},
    {"name": "name", "type": "string"},
    {"name": "amount", "type": "decimal(12,2)"},
    {"name": "updated", "type": "timestamp"},
]
SCHEMA_JSON = json.dumps(SCHEMA)
SCHEMA_WITH_CDC_JSON = json.dumps(SCHEMA + [{"name": "_op", "type": "string"}, {"name": "_ts", "type": "timestamp"}])
EPOCH_MS = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC


@dataclass
class ChangeStream:
    """What was produced: the expected final rows by id, and every change in production order."""

    final: dict[int, dict[str, Any]] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    images: dict[int, dict[str, Any]] = field(default_factory=dict)  # each live key's row, as produced


def produce_changes(
    bootstrap: str,
    topic: str,
    count: int,
    keys: int,
    *,
    seed: int = 7,
    wave: int = 0,
    pause: float = 0.0,
    after: ChangeStream | None = None,
) -> ChangeStream:
    """`count` change events (inserts, updates, deletes + tombstones) over `keys` ids, keyed by id.

    Every second event has the `{"schema", "payload"}` envelope. `ts_ms` grows by one per event, so
    the last change of a key is also its newest. With `wave`, the events are flushed `wave` at a
    time with `pause` seconds in between, like a live source. `after` continues an earlier stream
    (its keys' rows, its event numbering); the result describes both.
    """
    from confluent_kafka import Producer

    rng = random.Random(seed)
    # Compressed batches: librdkafka's mock broker keeps only 5 MB of (compressed) batches per partition.
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 50,
                         "compression.type": "lz4", "batch.size": 1_000_000})
    stream = copy.deepcopy(after) if after is not None else ChangeStream()
    state = stream.images
    first = len(stream.changes)
    for i in range(first, first + count):
        key = rng.randrange(keys)
        ts_ms = EPOCH_MS + i
        before = state.get(key)
        if before is None:
            op = "c" if rng.random() < 0.9 else "r"
            # `updated` as Debezium's io.debezium.time.Timestamp (epoch milliseconds) and as text.
            updated: Any = EPOCH_MS + i * 1000 if i % 3 else (dt.datetime(2026, 1, 1) + dt.timedelta(seconds=i)).isoformat(sep=" ")
            after: dict[str, Any] | None = {
                "id": key, "name": f"n{i}", "amount": f"{rng.randrange(100000)}.{rng.randrange(100):02d}",
                "updated": updated,
            }
        elif rng.random() < 0.2:
            op, after = "d", None
        else:
            op = "u"
            after = dict(before, name=f"n{i}", amount=f"{rng.randrange(100000)}.{rng.randrange(100):02d}")
        # Compact events: librdkafka's mock broker keeps only about 5 MB per partition.
        event: dict[str, Any] = {"before": before, "after": after, "op": op, "ts_ms": ts_ms}
        if i % 2:
            event = {"schema": {}, "payload": event}
        _send(producer, topic, str(key).encode(), json.dumps(event, separators=(",", ":")).encode())
        row = after if op != "d" else before
        stream.changes.append({**row, "_op": op, "_ts": ts_ms})  # type: ignore[dict-item]
        if op == "d":
            state.pop(key, None)
            stream.final.pop(key, None)
            _send(producer, topic, str(key).encode(), None)  # the tombstone after a delete
        else:
            state[key] = after  # type: ignore[assignment]
            stream.final[key] = {**after, "_ts": ts_ms}  # type: ignore[dict-item]
        if i % 5000 == 0:
            producer.poll(0)
        if wave and (i + 1) % wave == 0:
            producer.flush(60)
            time.sleep(pause)
    if producer.flush(60):
        raise RuntimeError("the test producer could not deliver every message")
    return stream


def _send(producer: Any, topic: str, key: bytes, value: bytes | None) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value)
            return
        except BufferError:
            producer.poll(0.1)


def normalise(row: dict[str, Any]) -> tuple[Any, ...]:
    """A table row or an expected row as comparable plain values."""
    amount = row["amount"]
    updated = row["updated"]
    ts = row.get("_ts")
    if isinstance(updated, str):
        updated = dt.datetime.fromisoformat(updated)
    elif isinstance(updated, int):
        updated = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=updated)
    if isinstance(ts, int):
        ts = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ts)
    return (int(row["id"]), row["name"], Decimal(str(amount)) if amount is not None else None, updated, ts)
