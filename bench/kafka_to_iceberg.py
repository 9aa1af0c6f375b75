"""Kafka -> Iceberg throughput through the studio's Spark connectors vs a plain one-process baseline.

The same RECORDS JSON records (8 columns) are produced once, spread over TOPICS topics of the dev
broker (or KAFKA_BOOTSTRAP_SERVERS; the dev broker keeps only 5 MB per partition, so more records
need more topics), then read to the end:

1. baseline: one process, a confluent-kafka consumer (assign + seek, every partition) whose values
   are parsed by Arrow's JSON reader and written with `pyarrow.parquet.ParquetWriter` (zstd, the
   codec of Iceberg tables), no Spark, no Iceberg;
2. studio: `spark.read.format("studio-kafka")` -> `.write.format("studio-iceberg")` on local[2]
   (bounded read up to the end offsets, append, one Iceberg commit), timed from the action to the
   commit, after a warm-up run on the same session.

Prints rows/s of both and the ratio (target: studio >= 0.7x the baseline on 2 cores), and the time
the same Spark query takes over an empty topic (its fixed cost), with the ratio without it.

    .venv/bin/python bench/kafka_to_iceberg.py [--records 2000000] [--topics 4] [--repeat 2]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.json as pa_json  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

SCHEMA = [
    {"name": "order_id", "type": "bigint", "nullable": False},
    {"name": "customer", "type": "string"},
    {"name": "country", "type": "string"},
    {"name": "amount", "type": "decimal(12,2)"},
    {"name": "quantity", "type": "int"},
    {"name": "discount", "type": "double"},
    {"name": "paid", "type": "boolean"},
    {"name": "ordered_at", "type": "timestamp"},
]
ARROW_SCHEMA = pa.schema([
    ("order_id", pa.int64()), ("customer", pa.string()), ("country", pa.string()), ("amount", pa.decimal128(12, 2)),
    ("quantity", pa.int32()), ("discount", pa.float64()), ("paid", pa.bool_()), ("ordered_at", pa.timestamp("us")),
])


def start_broker(work: Path) -> tuple[subprocess.Popen[bytes] | None, str]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return None, os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    address = work / "bootstrap"
    process = subprocess.Popen([sys.executable, "-m", "runners.devbroker", str(address)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if address.exists():
            break
        time.sleep(0.05)
    os.environ["STUDIO_KAFKA_BOOTSTRAP_FILE"] = str(address)
    return process, address.read_text().strip()


def produce(bootstrap: str, topic: str, records: int, first: int = 0) -> None:
    from confluent_kafka import Producer

    rng = random.Random(1)
    # Compressed batches: the dev broker (librdkafka's mock cluster) keeps 5 MB per partition.
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 100, "compression.type": "zstd",
                         "batch.size": 4_000_000, "batch.num.messages": 100_000})
    countries = ["de", "fr", "it", "es", "nl", "pl", "se"]
    for i in range(first, first + records):
        value = json.dumps({
            "order_id": i, "customer": f"c{rng.randrange(100_000)}", "country": rng.choice(countries),
            "amount": f"{rng.randrange(100_000)}.{rng.randrange(100):02d}", "quantity": rng.randrange(1, 20),
            "discount": round(rng.random(), 3), "paid": rng.random() < 0.8,
            "ordered_at": f"2026-01-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}",
        }, separators=(",", ":")).encode()
        while True:
            try:
                producer.produce(topic, key=str(i).encode(), value=value)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(120) == 0


def check_retained(bootstrap: str, topics: list[str], records: int) -> None:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-check"})
    marks = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
             for topic in topics for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions]
    consumer.close()
    if sum(high - low for low, high in marks) != records:
        raise SystemExit(f"the broker kept only part of the topic ({marks}): use fewer --records")


def baseline(bootstrap: str, topics: list[str], records: int, target: Path) -> float:
    """A plain consumer + Arrow JSON parsing + ParquetWriter, in this one process."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    started = time.perf_counter()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         # the same fetch settings as the studio's reader (kafka_io.consumer)
                         "fetch.wait.max.ms": 20, "max.partition.fetch.bytes": 8 << 20, "fetch.max.bytes": 64 << 20,
                         "queued.min.messages": 500_000})
    partitions = [(topic, p) for topic in topics for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions]
    consumer.assign([TopicPartition(topic, p, 0) for topic, p in partitions])
    writer = pq.ParquetWriter(target, ARROW_SCHEMA, compression="zstd")
    options = pa_json.ParseOptions(explicit_schema=ARROW_SCHEMA, unexpected_field_behavior="ignore")
    done: set[tuple[str, int]] = set()
    rows = 0
    pending: list[bytes] = []
    while len(done) < len(partitions):
        for message in consumer.consume(num_messages=10_000, timeout=0.2):
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    done.add((message.topic(), message.partition()))
                continue
            pending.append(message.value())
        if len(pending) >= 50_000 or (len(done) == len(partitions) and pending):
            table = pa_json.read_json(io.BytesIO(b"\n".join(pending)), parse_options=options,
                                      read_options=pa_json.ReadOptions(block_size=64 << 20))
            writer.write_table(table)
            rows += table.num_rows
            pending = []
    writer.close()
    consumer.close()
    elapsed = time.perf_counter() - started
    assert rows == records, (rows, records)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--topics", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-kafka-"))
    os.environ["ICEBERG_CATALOG_URI"] = f"sqlite:///{work / 'catalog.sqlite3'}"
    os.environ["ICEBERG_WAREHOUSE"] = f"file://{work / 'warehouse'}"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    broker, bootstrap = start_broker(work)
    try:
        run = uuid.uuid4().hex[:8]
        topics = [f"bench-{run}-{i}" for i in range(args.topics)]
        started = time.perf_counter()
        for i, topic in enumerate(topics):
            produce(bootstrap, topic, args.records // args.topics, first=i * (args.records // args.topics))
        records = args.records // args.topics * args.topics
        check_retained(bootstrap, topics, records)
        print(f"{records:,} JSON records ({len(SCHEMA)} columns) in {len(topics)} topics produced in "
              f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} cores; best of {args.repeat}")

        base = min(baseline(bootstrap, topics, records, work / "baseline.parquet") for _ in range(args.repeat))

        from pyspark.sql import SparkSession

        from runners.connectors import register_data_sources
        from runners.connectors.config import load_catalog

        spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                 .config("spark.sql.session.timeZone", "UTC").config("spark.driver.host", "127.0.0.1")
                 .config("spark.driver.bindAddress", "127.0.0.1")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        register_data_sources(spark)
        from runners.connectors.columns import parse_schema, spark_ddl

        ddl = spark_ddl(parse_schema(SCHEMA))  # as a generated job passes the node's schema

        def studio(table: str, read: list[str] = topics) -> float:
            begun = time.perf_counter()
            (spark.read.format("studio-kafka").option("topic", ",".join(read)).schema(ddl)
             .option("startingOffsets", "earliest").load()
             .write.format("studio-iceberg").option("table", table).mode("append").save())
            return time.perf_counter() - begun

        studio("bench.warmup")
        timings = [studio(f"bench.run{i}") for i in range(args.repeat)]
        # What a query costs with no data: Spark plans a Python data source in fresh Python
        # processes (schema, partitions, writer), each importing pyspark before it answers.
        from confluent_kafka import Producer

        empty = f"{topics[0]}-empty"
        Producer({"bootstrap.servers": bootstrap}).list_topics(empty, timeout=10)  # creates it (auto-create)
        fixed = min(studio(f"bench.empty{i}", [empty]) for i in range(args.repeat))
        rows = load_catalog().load_table("bench.run0").scan().count()
        assert rows == records, (rows, records)
        spark.stop()
        best = min(timings)
        print(f"{'path':<56} {'seconds':>8} {'rows/s':>12}")
        print(f"{'baseline: confluent-kafka + Arrow JSON + ParquetWriter':<56} {base:8.2f} {records / base:12,.0f}")
        print(f"{'studio: studio-kafka -> studio-iceberg (Spark local[2])':<56} {best:8.2f} {records / best:12,.0f}")
        print(f"{'studio, the same query over an empty topic':<56} {fixed:8.2f}")
        print(f"ratio studio / baseline: {base / best:.2f}x (target >= 0.7x); "
              f"without the fixed per-query cost: {base / max(best - fixed, 1e-9):.2f}x")
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
