"""Kafka -> Iceberg on Flink survives SIGKILLs: the tables end exactly at the expected state.

The job is the one the compiler generates for a studio pipeline (one Kafka source, an upsert into
`cdc.current` and an append of every change into `cdc.changelog`), run from .venv-flink as the
runner runs it. It starts the studio's connector processes itself: the Kafka bridge (topic ->
landing folder) and one Iceberg committer per sink (staged files -> table). 200,000 Debezium change
events are produced in waves while it runs. Five SIGKILLs at random moments, each once something
was committed since the last restart: three of the whole job (its JVM and connector processes
with it), one of the bridge alone and one of a committer alone, after which the job must stop by
itself, saying which process stopped. Each time the job is started again; it restores Flink's
newest checkpoint and the connector processes resume from their folders.
"""
from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from compiler import compile_pipeline
from tests.connectors.changes import normalise, produce_changes
from tests.connectors.processes import Job, wait_until
from tests.connectors.test_spark_kill import cdc_pipeline

pytestmark = [pytest.mark.flink, pytest.mark.kafka, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
FLINK_PYTHON = REPO / ".venv-flink" / "bin" / "python"
CHANGES = 200_000
KEYS = 20_000
# What each SIGKILL hits: the job's whole process group, or one of its connector processes.
KILLS = ("job", "kafka_bridge", "job", "iceberg_commit", "job")


def _snapshots(lakehouse, name: str) -> int:  # type: ignore[no-untyped-def]
    from pyiceberg.exceptions import NoSuchTableError

    try:
        return len(lakehouse.table(name).snapshots())
    except NoSuchTableError:
        return 0


@pytest.mark.skipif(not FLINK_PYTHON.exists(), reason="the Flink virtual environment (.venv-flink) is not set up")
def test_flink_path_reaches_the_exact_final_state_across_sigkills(tmp_path, bootstrap, topic, job_env, lakehouse):
    started = time.monotonic()
    job_file = tmp_path / "job.py"
    job_file.write_text(compile_pipeline(cdc_pipeline(topic), engine="flink").code)
    env = {**job_env, "STUDIO_CONNECTOR_PYTHON": sys.executable, "STUDIO_CHECKPOINT_DIR": str(tmp_path / "state"),
           "STUDIO_FLINK_CHECKPOINT_INTERVAL": "2 s", "PYFLINK_CLIENT_EXECUTABLE": str(FLINK_PYTHON)}  # fmt: skip
    data = tmp_path / "data"
    data.mkdir()
    job = Job([str(FLINK_PYTHON), str(job_file)], env=env, cwd=data, log=tmp_path / "job.log")
    produced: dict = {}
    producer = threading.Thread(target=lambda: produced.update(
        stream=produce_changes(bootstrap, topic, CHANGES, KEYS, seed=13, wave=5000, pause=1.0)))  # fmt: skip
    producer.start()
    rng = random.Random(2027)

    def progress() -> int:
        return _snapshots(lakehouse, "cdc.current") + _snapshots(lakehouse, "cdc.changelog")

    try:
        for victim in KILLS:
            job.start()
            before = progress()
            wait_until(lambda: progress() > before, timeout=300, what=f"a commit before killing the {victim}")
            assert job.running, f"the job stopped by itself:\n{job.tail()}"
            time.sleep(rng.uniform(0.0, 2.0))
            if victim == "job":
                job.kill()
                continue
            processes = sorted(job.descendants(f"runners.connectors.{victim}"))  # one committer per sink
            assert processes, f"no {victim} process runs:\n{job.tail()}"
            os.kill(rng.choice(processes), signal.SIGKILL)
            assert job.wait(120) != 0
            assert "stopped (exit code -9); the run is stopped" in job.tail(200), job.tail()
        job.start()
        producer.join()
        expected = sorted(normalise(row) for row in produced["stream"].final.values())

        def finished() -> bool:
            assert job.running, f"the job stopped by itself:\n{job.tail()}"
            if _snapshots(lakehouse, "cdc.changelog") == 0 or _snapshots(lakehouse, "cdc.current") == 0:
                return False
            changelog = lakehouse.table("cdc.changelog").current_snapshot()
            if int(changelog.summary.get("total-records", 0)) < CHANGES:
                return False
            rows = lakehouse.table("cdc.current").scan().to_arrow().to_pylist()
            return sorted(normalise(r) for r in rows) == expected

        wait_until(finished, timeout=400, interval=2.0, what="the Flink path to catch up")
        time.sleep(5)  # a duplicate or stale commit would land now
    finally:
        job.kill()
        producer.join()
    current = lakehouse.table("cdc.current").scan().to_arrow().to_pylist()
    assert len(current) == len({r["id"] for r in current}), "a key appears twice"
    assert sorted(normalise(r) for r in current) == expected
    changelog = lakehouse.table("cdc.changelog").scan().to_arrow()
    assert changelog.num_rows == CHANGES, "changes lost or duplicated in the append table"
    assert sorted(changelog.column("_ts").cast("int64").to_pylist()) == sorted(
        c["_ts"] * 1000 for c in produced["stream"].changes
    )
    assert job.starts == len(KILLS) + 1
    print(f"flink kill test: {time.monotonic() - started:.0f} s")
