"""Kafka -> Iceberg on Spark survives SIGKILL: the tables end exactly at the expected state.

200,000 Debezium change events (inserts, updates, deletes with tombstones) over 20,000 keys on the
dev broker feed the job the compiler generates for a studio pipeline: one Kafka source and two
Iceberg sinks, an upsert into `cdc.current` and an append of every change into `cdc.changelog`
(bucket-partitioned), two streaming queries. The job is SIGKILLed five times at random moments
(each after it committed something since its restart) and restarted from its checkpoints.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import pytest

from compiler import compile_pipeline
from tests.connectors.changes import SCHEMA, normalise, produce_changes
from tests.connectors.processes import Job, wait_until

pytestmark = [pytest.mark.spark, pytest.mark.kafka, pytest.mark.slow]

RUN_GENERATED = Path(__file__).parent / "jobs" / "generated.py"
CHANGES = 200_000
KEYS = 20_000
RECORDS_PER_BATCH = 40_000
KILLS = 5
TRANSIENT = "Python worker failed to connect back"


def _snapshots(lakehouse, name: str) -> list:  # type: ignore[no-untyped-def]
    from pyiceberg.exceptions import NoSuchTableError

    try:
        return lakehouse.table(name).snapshots()
    except NoSuchTableError:
        return []


def _total_records(lakehouse, name: str) -> int:  # type: ignore[no-untyped-def]
    from pyiceberg.exceptions import NoSuchTableError

    try:
        snapshot = lakehouse.table(name).current_snapshot()
    except NoSuchTableError:
        return 0
    return int(snapshot.summary.get("total-records", 0)) if snapshot is not None else 0


def cdc_pipeline(topic: str) -> dict:
    def sink(node_id: str, **config: object) -> dict:
        return {"id": node_id, "type": "sink.iceberg", "config": config}

    return {
        "format": "studio.pipeline/v1",
        "name": "cdc kill test",
        "mode": "streaming",
        "nodes": [
            {"id": "changes", "type": "source.kafka",
             "config": {"topic": topic, "format": "debezium-json", "schema": SCHEMA, "starting_offsets": "earliest"}},
            sink("current", table="cdc.current", mode="upsert", keys=["id"]),
            sink("changelog", table="cdc.changelog", mode="append",
                 partition_by=[{"column": "id", "transform": "bucket[4]"}]),
        ],
        "edges": [{"from": {"node": "changes", "port": "out"}, "to": {"node": name, "port": "in"}}
                  for name in ("current", "changelog")],
    }  # fmt: skip


def test_cdc_upsert_and_changelog_exactly_once_across_sigkills(tmp_path, bootstrap, topic, job_env, lakehouse):
    started = time.monotonic()
    stream = produce_changes(bootstrap, topic, CHANGES, KEYS, seed=11)
    expected = sorted(normalise(row) for row in stream.final.values())
    job_file = tmp_path / "job.py"
    job_file.write_text(compile_pipeline(cdc_pipeline(topic), engine="spark").code)
    env = {**job_env, "STUDIO_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
           "STUDIO_KAFKA_MAX_RECORDS_PER_BATCH": str(RECORDS_PER_BATCH), "SPARK_MASTER": "local[2]",
           "PYSPARK_SUBMIT_ARGS": "--conf spark.ui.showConsoleProgress=false pyspark-shell"}  # fmt: skip
    data = tmp_path / "data"
    data.mkdir()
    job = Job([sys.executable, str(RUN_GENERATED), str(job_file), "1 second"], env=env, cwd=data,
              log=tmp_path / "job.log")  # fmt: skip
    rng = random.Random(2026)

    def progress() -> int:
        return len(_snapshots(lakehouse, "cdc.current")) + len(_snapshots(lakehouse, "cdc.changelog"))

    transient_restarts = 0

    def alive() -> bool:
        """Whether the job runs; a transient start-up failure is restarted like any crash."""
        nonlocal transient_restarts
        output = job.output()
        if job.running and TRANSIENT not in output:
            return True
        # Spark 4.0.1 gives a new Python worker 10 s (hard-coded) to connect back; on a saturated
        # machine importing pyspark from pyspark.zip can take longer. That is a crash like any other.
        assert TRANSIENT in output and transient_restarts < 5, f"the job stopped by itself:\n{job.tail()}"
        transient_restarts += 1
        job.kill()
        job.start()
        return False

    try:
        for kill in range(KILLS):
            job.start()
            before = progress()
            wait_until(lambda: alive() and progress() > before, timeout=300, what=f"a commit before kill {kill + 1}")
            time.sleep(rng.uniform(0.0, 3.0))
            job.kill()
        job.start()

        def finished() -> bool:
            return (
                alive()
                and _total_records(lakehouse, "cdc.changelog") >= CHANGES
                and _total_records(lakehouse, "cdc.current") == len(expected)
                and sorted(normalise(r) for r in lakehouse.table("cdc.current").scan().to_arrow().to_pylist())
                == expected
            )

        wait_until(finished, timeout=300, interval=2.0, what="the job to catch up")
        time.sleep(3)  # anything committed twice would land now
    finally:
        job.kill()

    current = lakehouse.table("cdc.current").scan().to_arrow().to_pylist()
    assert len(current) == len({row["id"] for row in current}), "a key appears twice"
    assert sorted(normalise(row) for row in current) == expected

    changelog = lakehouse.table("cdc.changelog").scan().to_arrow()
    assert changelog.num_rows == CHANGES, "changes lost or duplicated in the append table"
    assert sorted(changelog.column("_ts").cast("int64").to_pylist()) == sorted(
        c["_ts"] * 1000 for c in stream.changes
    )
    batch_ids = [s.summary.get("studio.batch-id") for s in _snapshots(lakehouse, "cdc.changelog")]
    assert len(batch_ids) == len(set(batch_ids)), "a micro-batch was committed twice"
    assert not (data / "dead_letter").exists(), "no change event is malformed"
    assert job.starts == KILLS + 1 + transient_restarts
    print(f"kill test: {time.monotonic() - started:.0f} s, {job.starts} starts, {transient_restarts} after "
          "transient start-up failures")
