"""Kafka sources report their lag as the metric line the studio reads (`STUDIO_METRIC {"node", "lag",
"batch"}`, runners.output.SourceLag), through real traffic on the dev broker: the Spark
`studio-kafka` streaming source per micro-batch, and the Flink path's bridge when it starts and per
drain cycle. A topic with a known number of unread messages gives a known lag."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runners.connectors.kafka_bridge import Drainer
from runners.output import NodeMetric, SourceLag, parse_line

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SCHEMA = json.dumps([{"name": "id", "type": "bigint", "nullable": False}])

SPARK_JOB = textwrap.dedent('''
    import sys

    from pyspark.sql import SparkSession

    from runners.connectors import register_data_sources

    topic, checkpoint, schema = sys.argv[1:4]
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    register_data_sources(spark)
    clicks = (spark.readStream.format("studio-kafka")
              .options(topic=topic, schema=schema, startingOffsets="earliest", maxRecordsPerBatch="30", node="clicks")
              .load())
    query = (clicks.writeStream.format("noop").option("checkpointLocation", checkpoint)
             .trigger(processingTime="100 milliseconds").start())
    query.processAllAvailable()
    query.stop()
    spark.stop()
''')


def _produce(bootstrap: str, topic: str, ids: range) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in ids:
        producer.produce(topic, key=str(i).encode(), value=json.dumps({"id": i}).encode())
    assert producer.flush(30) == 0


def _metrics(output: str) -> tuple[list[SourceLag], list[NodeMetric]]:
    parsed = [parse_line(line) for line in output.splitlines()]
    return [m for m in parsed if isinstance(m, SourceLag)], [m for m in parsed if isinstance(m, NodeMetric)]


@pytest.mark.spark
def test_the_spark_kafka_source_reports_its_lag_per_micro_batch(
    tmp_path: Path, bootstrap: str, topic: str, job_env: dict[str, str],
) -> None:
    _produce(bootstrap, topic, range(100))  # 100 unread messages, read 30 per micro-batch
    (tmp_path / "job.py").write_text(SPARK_JOB)
    done = subprocess.run([sys.executable, "job.py", topic, str(tmp_path / "checkpoint"), SCHEMA], cwd=tmp_path,
                          env=job_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:]
    lags, _ = _metrics(done.stdout)
    assert {lag.node for lag in lags} == {"clicks"}, done.stdout[-4000:]
    # A retried task may print its batch's line again; the studio keeps one per batch.
    assert {lag.batch: lag.lag for lag in lags} == {0: 70, 1: 40, 2: 10, 3: 0}


def test_the_kafka_bridge_reports_its_lag_when_it_starts_and_per_drain_cycle(
    tmp_path: Path, bootstrap: str, topic: str, job_env: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    landing = tmp_path / "landing"
    _produce(bootstrap, topic, range(100))
    Drainer(topic=topic, fmt="json", schema=SCHEMA, landing=landing, max_records_per_file=40,
            node="clicks").run(until_caught_up=True)
    lags, rows = _metrics(capsys.readouterr().out)
    assert lags[0] == SourceLag(node="clicks", lag=100, batch=0)  # nothing landed yet
    assert lags[-1].lag == 0 and [lag.batch for lag in lags] == list(range(len(lags)))
    assert [lag.lag for lag in lags] == sorted((lag.lag for lag in lags), reverse=True)
    # Each drain cycle's rows landed account for the lag it removed.
    assert [(m.node, m.port, m.batch) for m in rows] == [("clicks", "out", lag.batch) for lag in lags[1:]]
    assert [lag.lag for lag in lags[1:]] == [100 - sum(m.rows for m in rows[: i + 1]) for i in range(len(rows))]

    # 37 more: a bridge started again (as the Flink job starts it) resumes from the landed offsets.
    _produce(bootstrap, topic, range(100, 137))
    done = subprocess.run(
        [sys.executable, "-m", "runners.connectors.kafka_bridge", "drain", "--topic", topic, "--schema", SCHEMA,
         "--landing", str(landing), "--until-caught-up", "--node", "clicks"],
        cwd=tmp_path, env=job_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout
    lags, rows = _metrics(done.stdout)
    assert lags[0] == SourceLag(node="clicks", lag=37, batch=0)
    assert lags[-1].lag == 0 and sum(m.rows for m in rows) == 37
