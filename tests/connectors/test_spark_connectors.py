"""The studio's Spark data sources in one Spark session: Iceberg batch/time travel/streaming reads,
partitioned and evolving writes, Kafka batch and streaming reads with malformed records, and the
Kafka sink read back with a consumer."""
from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ROWS_SCHEMA = "id BIGINT, name STRING, amount DECIMAL(12,2), at TIMESTAMP"


def _frame(spark, rows):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(rows, ROWS_SCHEMA)


def _row(i: int, name: str = "n") -> tuple:
    return (i, f"{name}{i}", Decimal(f"{i}.25"), dt.datetime(2026, 1, 1) + dt.timedelta(hours=7 * i))


def _ids(frame) -> list[int]:  # type: ignore[no-untyped-def]
    return sorted(r["id"] for r in frame.collect())


def test_iceberg_write_read_and_time_travel(spark, namespace, module_lakehouse):
    table = f"{namespace}.orders"
    writer = lambda rows, mode: _frame(spark, rows).write.format("studio-iceberg").option("table", table).mode(mode).save()  # noqa: E731
    writer([_row(1), _row(2)], "append")
    first = module_lakehouse.table(table).current_snapshot()
    time.sleep(0.01)
    writer([_row(3)], "append")
    second = module_lakehouse.table(table).current_snapshot()
    writer([_row(9)], "overwrite")

    read = lambda **options: spark.read.format("studio-iceberg").option("table", table).options(**options).load()  # noqa: E731
    current = read()
    assert current.schema.simpleString() == "struct<id:bigint,name:string,amount:decimal(12,2),at:timestamp>"
    assert [tuple(r) for r in current.collect()] == [_row(9)]
    assert _ids(read(snapshotId=str(first.snapshot_id))) == [1, 2]
    assert _ids(read(snapshotId=str(second.snapshot_id))) == [1, 2, 3]
    as_of = dt.datetime.fromtimestamp(first.timestamp_ms / 1000, dt.timezone.utc).replace(tzinfo=None)
    assert _ids(read(asOf=as_of.isoformat(sep=" "))) == [1, 2]
    with pytest.raises(Exception, match="no snapshot at or before"):
        read(asOf="2001-01-01 00:00:00").collect()


def test_partitioned_write_lands_in_partitions_and_new_columns_are_added(spark, namespace, module_lakehouse):
    import pyarrow.parquet as pq
    from pyiceberg.transforms import BucketTransform, DayTransform
    from pyiceberg.types import LongType, TimestampType

    table = f"{namespace}.events"
    partition_by = json.dumps([{"column": "at", "transform": "day"}, {"column": "id", "transform": "bucket[3]"}])
    (_frame(spark, [_row(i) for i in range(60)]).repartition(2).write.format("studio-iceberg")
     .option("table", table).option("partitionBy", partition_by).mode("append").save())
    iceberg = module_lakehouse.table(table)
    assert [f.name for f in iceberg.spec().fields] == ["at_day", "id_bucket_3"]
    rows = 0
    for task in iceberg.scan().plan_files():
        for row in pq.read_table(task.file.file_path[len("file://"):]).to_pylist():
            micros = (row["at"] - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
            assert list(task.file.partition) == [DayTransform().transform(TimestampType())(micros),
                                                 BucketTransform(3).transform(LongType())(row["id"])]
            rows += 1
    assert rows == 60

    wider = spark.createDataFrame([(100, "x", Decimal("1.00"), dt.datetime(2026, 2, 1), "gold")],
                                  ROWS_SCHEMA + ", tier STRING")
    wider.write.format("studio-iceberg").option("table", table).mode("append").save()
    read = spark.read.format("studio-iceberg").option("table", table).load()
    assert read.columns == ["id", "name", "amount", "at", "tier"]
    tiers = {r["id"]: r["tier"] for r in read.collect()}
    assert tiers[100] == "gold" and tiers[0] is None and len(tiers) == 61


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 10})
    for i, value in enumerate(values):
        producer.produce(topic, key=str(i).encode(), value=value)
    assert producer.flush(30) == 0


def _dead_letters(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.rglob("*.jsonl")) for line in path.read_text().splitlines()]


KAFKA_SCHEMA = json.dumps([{"name": "id", "type": "bigint", "nullable": False}, {"name": "name", "type": "string"},
                           {"name": "at", "type": "timestamp"}])


@pytest.mark.kafka
def test_kafka_batch_read_sends_malformed_records_to_the_dead_letter_file(spark, bootstrap, topic, tmp_path):
    good = [json.dumps({"id": i, "name": f"n{i}", "at": "2026-01-01 10:00:00"}).encode() for i in range(1000)]
    bad = [b"{not json", b"\xff\xfe\x00", b'{"id": "seven"}', b'{"name": "no id"}', b"[1]"]
    _produce(bootstrap, topic, good[:500] + bad + good[500:])
    frame = (spark.read.format("studio-kafka").option("topic", topic).option("schema", KAFKA_SCHEMA)
             .option("deadLetterPath", str(tmp_path / "dead")).load())
    assert frame.count() == 1000
    assert _ids(frame) == list(range(1000))
    letters = _dead_letters(tmp_path / "dead")
    assert len(letters) == 5
    assert {(d["value"], d["value_encoding"]) for d in letters} >= {("{not json", "utf-8"), ("//4A", "base64")}
    assert all(d["topic"] == topic and isinstance(d["offset"], int) and d["error"] for d in letters)


@pytest.mark.kafka
def test_kafka_stream_caps_batches_and_keeps_running_past_malformed_records(spark, bootstrap, topic, tmp_path):
    good = lambda lo, hi: [json.dumps({"id": i, "name": "x"}).encode() for i in range(lo, hi)]  # noqa: E731
    _produce(bootstrap, topic, good(0, 600) + [b"oops", b"{}"] + good(600, 1000))
    stream = (spark.readStream.format("studio-kafka").option("topic", topic).option("schema", KAFKA_SCHEMA)
              .option("startingOffsets", "earliest").option("maxRecordsPerBatch", "250")
              .option("deadLetterPath", str(tmp_path / "dead")).load())
    query = (stream.writeStream.format("memory").queryName(f"q_{topic.replace('-', '_')}")
             .option("checkpointLocation", str(tmp_path / "checkpoint")).trigger(processingTime="200 milliseconds")
             .start())
    try:
        query.processAllAvailable()
        table = f"q_{topic.replace('-', '_')}"
        assert _ids(spark.table(table)) == list(range(1000))
        assert len(_dead_letters(tmp_path / "dead")) == 2
        assert all(p["numInputRows"] <= 250 for p in query.recentProgress)
        assert sum(1 for p in query.recentProgress if p["numInputRows"]) >= 4
        _produce(bootstrap, topic, [b"\x00bad"] + good(1000, 1100))
        query.processAllAvailable()
        assert query.isActive
        assert _ids(spark.table(table)) == list(range(1100))
        assert len(_dead_letters(tmp_path / "dead")) == 3
    finally:
        query.stop()


def _consume(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes | None, bytes]]:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    received: list[tuple[bytes | None, bytes]] = []
    deadline = time.monotonic() + 60
    try:
        while len(received) < expected and time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=1):
                if not message.error():
                    received.append((message.key(), message.value()))
        for message in consumer.consume(500, timeout=2):  # nothing more may arrive
            if not message.error():
                received.append((message.key(), message.value()))
    finally:
        consumer.close()
    return received


@pytest.mark.kafka
def test_kafka_sink_round_trip_batch_and_streaming(spark, bootstrap, topic, tmp_path):
    rows = [_row(i) for i in range(200)]
    (_frame(spark, rows).write.format("studio-kafka").option("topic", topic).option("keyColumns", "id")
     .mode("append").save())
    received = _consume(bootstrap, topic, 200)
    assert len(received) == 200
    by_id = {json.loads(value)["id"]: (key, json.loads(value)) for key, value in received}
    key, value = by_id[3]
    assert key == b'{"id":3}'
    assert value == {"id": 3, "name": "n3", "amount": 3.25, "at": "2026-01-01 21:00:00.000"}

    copy = f"{topic}-copy"
    schema = json.dumps([{"name": "id", "type": "bigint"}, {"name": "name", "type": "string"},
                         {"name": "amount", "type": "decimal(12,2)"}, {"name": "at", "type": "timestamp"}])
    query = (spark.readStream.format("studio-kafka").option("topic", topic).option("schema", schema)
             .option("startingOffsets", "earliest").load()
             .writeStream.format("studio-kafka").option("topic", copy)
             .option("checkpointLocation", str(tmp_path / "copy-checkpoint")).start())
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    copied = _consume(bootstrap, copy, 200)
    assert sorted(json.loads(v)["id"] for _, v in copied) == list(range(200))
    assert all(k is None for k, _ in copied)
    assert {json.loads(v)["id"]: json.loads(v) for _, v in copied}[3] == value


def test_iceberg_stream_reads_appended_snapshots_and_refuses_overwrites(spark, namespace, module_lakehouse, tmp_path):
    from runners.connectors import iceberg_tables as tables
    from runners.connectors.columns import parse_schema

    name = f"{namespace}.feed"
    fields = parse_schema([{"name": "id", "type": "bigint"}, {"name": "name", "type": "string"}])

    def append(ids: range) -> None:
        table = tables.ensure_table(name, fields)
        data = pa.table({"id": pa.array(list(ids), pa.int64()), "name": [f"n{i}" for i in ids]})
        tables.commit(tables.TableWrite(name), data_files=tables.write_data_files(table, data))

    append(range(0, 10))
    append(range(10, 20))
    seen: list[int] = []  # ids each micro-batch delivered, in order (foreachBatch runs on the driver)

    def follow(**options: str):  # type: ignore[no-untyped-def]
        return (spark.readStream.format("studio-iceberg").option("table", name).options(**options).load()
                .writeStream.foreachBatch(lambda frame, _: seen.extend(r["id"] for r in frame.collect()))
                .option("checkpointLocation", str(tmp_path / "feed-checkpoint")).start())

    query = follow()
    try:
        query.processAllAvailable()
        assert sorted(seen) == list(range(20))  # the table as of the start
        append(range(20, 25))
        append(range(25, 30))
        query.processAllAvailable()
        assert sorted(seen) == list(range(30))  # then each appended snapshot, once
        table = tables.ensure_table(name, fields)
        with table.transaction() as tx:
            tx.delete("id < 10")  # drops the first data file whole: a 'delete' snapshot
        with pytest.raises(Exception, match="deletes rows"):
            query.processAllAvailable()
    finally:
        query.stop()
    skipping = follow(skipDeleteSnapshots="true")  # the same checkpoint: resumes after the last batch
    try:
        append(range(30, 32))
        skipping.processAllAvailable()
        assert sorted(seen) == list(range(32))  # the delete skipped, 30 and 31 delivered once
    finally:
        skipping.stop()


@pytest.mark.kafka
def test_generated_batch_job_reads_kafka_and_time_travels_into_iceberg_and_kafka(
    spark, bootstrap, topic, namespace, module_lakehouse, tmp_path, monkeypatch
):
    """A batch pipeline compiled for Spark, run on this session: a Kafka topic read to its end and
    appended to a table; a table read as of an older snapshot, derived, and overwritten into another
    and sent to a topic."""
    from compiler import compile_pipeline
    from runners.connectors import iceberg_tables as tables
    from runners.connectors.columns import parse_schema

    kafka_schema = [{"name": "id", "type": "bigint", "nullable": False}, {"name": "name", "type": "string"},
                    {"name": "at", "type": "timestamp"}]  # fmt: skip
    _produce(bootstrap, topic, [json.dumps({"id": i, "name": f"n{i}", "at": "2026-01-01 10:00:00"}).encode()
                                for i in range(40)] + [b"not json"])  # fmt: skip
    orders = f"{namespace}.orders"
    fields = parse_schema([{"name": "id", "type": "bigint"}, {"name": "amount", "type": "decimal(12,2)"}])
    for ids in (range(0, 3), range(3, 6)):
        table = tables.ensure_table(orders, fields)
        data = pa.table({"id": pa.array(list(ids), pa.int64()),
                         "amount": pa.array([Decimal(f"{i}.50") for i in ids], pa.decimal128(12, 2))})  # fmt: skip
        tables.commit(tables.TableWrite(orders), data_files=tables.write_data_files(table, data))
    first = module_lakehouse.table(orders).snapshots()[0]
    as_of = dt.datetime.fromtimestamp(first.timestamp_ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")

    def edge(a: str, b: str) -> dict:
        return {"from": {"node": a, "port": "out"}, "to": {"node": b, "port": "in"}}

    document = {
        "format": "studio.pipeline/v1", "name": "batch lakehouse", "mode": "batch",
        "parameters": [{"name": "ns", "type": "string", "default": namespace}],
        "nodes": [
            {"id": "clicks", "type": "source.kafka",
             "config": {"topic": topic, "schema": kafka_schema, "starting_offsets": "earliest"}},
            {"id": "landing", "type": "sink.iceberg", "config": {"table": "${ns}.clicks", "mode": "append"}},
            {"id": "history", "type": "source.iceberg", "config": {"table": "${ns}.orders", "as_of": as_of}},
            {"id": "scaled", "type": "transform.derive",
             "config": {"columns": [{"name": "cents", "expression": "CAST(amount * 100 AS bigint)"}]}},
            {"id": "mart", "type": "sink.iceberg",
             "config": {"table": "${ns}.mart", "mode": "overwrite",
                        "partition_by": [{"column": "id", "transform": "bucket[2]"}]}},
            {"id": "feed", "type": "sink.kafka", "config": {"topic": f"{topic}-out", "key_columns": ["id"]}},
        ],
        "edges": [edge("clicks", "landing"), edge("history", "scaled"), edge("scaled", "mart"), edge("scaled", "feed")],
    }  # fmt: skip
    job = compile_pipeline(document, engine="spark")
    module: dict = {}
    exec(compile(job.code, "job.py", "exec"), module)  # noqa: S102 - the generated job, as the runner runs it
    monkeypatch.chdir(tmp_path)  # the job's working directory: its dead-letter folder is relative
    module["build"](spark)

    landed = module_lakehouse.table(f"{namespace}.clicks").scan().to_arrow()
    assert sorted(landed.column("id").to_pylist()) == list(range(40))
    [letter] = _dead_letters(tmp_path / "dead_letter" / "batch_lakehouse" / "clicks")
    assert letter["value"] == "not json" and letter["topic"] == topic
    mart = module_lakehouse.table(f"{namespace}.mart")
    assert [f.name for f in mart.spec().fields] == ["id_bucket_2"]
    assert sorted((r["id"], r["cents"]) for r in mart.scan().to_arrow().to_pylist()) == [(0, 50), (1, 150), (2, 250)]
    sent = sorted(json.loads(value)["cents"] for _, value in _consume(bootstrap, f"{topic}-out", 3))
    assert sent == [50, 150, 250]
