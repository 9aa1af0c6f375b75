"""A streaming Flink job over a watched folder prints its nodes' row counts while it runs.

The job is compiled and run as the runner runs it (`.venv-flink/bin/python job.py` in the data
folder, its own process group, stopped with SIGTERM); files are dropped into the folder it watches
while it runs, and its `STUDIO_METRIC` lines are read as the studio reads them (`parse_line`, a
later line for the same node, port and batch replacing the earlier one, batches added up).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_pipeline
from runners.output import NodeMetric, parse_line

pytestmark = [pytest.mark.flink, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
FLINK_PYTHON = REPO / ".venv-flink" / "bin" / "python"

DOCUMENT: dict[str, Any] = {
    "format": "studio.pipeline/v1",
    "name": "stream counts",
    "mode": "streaming",
    "nodes": [
        {"id": "orders", "type": "source.file",
         "config": {"path": "landing/orders", "format": "csv", "streaming": True, "options": {"header": True},
                    "schema": [{"name": "id", "type": "int"}, {"name": "customer", "type": "string"},
                               {"name": "amount", "type": "int"}]}},
        {"id": "big", "type": "transform.filter", "config": {"condition": "amount > 10"}},
        {"id": "tagged", "type": "transform.derive",
         "config": {"columns": [{"name": "twice", "expression": "amount * 2"}]}},
        {"id": "out", "type": "sink.file", "config": {"path": "curated/big", "format": "json", "mode": "append"}},
    ],
    "edges": [
        {"from": {"node": a, "port": "out"}, "to": {"node": b, "port": "in"}}
        for a, b in [("orders", "big"), ("big", "tagged"), ("tagged", "out")]
    ],
}  # fmt: skip


class Job:
    """The job's process and every line it has printed so far."""

    def __init__(self, job: Path, data: Path) -> None:
        # Checkpoints every second (the runner's default is 10 s) keep the test short.
        config = {"pipeline.name": "stream-counts-test", "execution.checkpointing.interval": "1 s",
                  "parallelism.default": "2"}  # fmt: skip
        env = {**os.environ, "PYFLINK_CLIENT_EXECUTABLE": str(FLINK_PYTHON), "FLINK_JOBMANAGER": "",
               "STUDIO_FLINK_CONFIG": json.dumps(config)}  # fmt: skip
        self.process = subprocess.Popen(
            [str(FLINK_PYTHON), str(job)], cwd=data, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def rows(self) -> dict[tuple[str, str], int]:
        """Rows per (node, port), as the run page adds them up."""
        per_batch: dict[tuple[str, str, int | None], int] = {}
        for line in list(self.lines):
            item = parse_line(line)
            if isinstance(item, NodeMetric):
                assert item.batch is not None and item.duration_ms == 5000, line
                per_batch[(item.node, item.port, item.batch)] = item.rows
        totals: dict[tuple[str, str], int] = {}
        for (node, port, _), rows in per_batch.items():
            totals[(node, port)] = totals.get((node, port), 0) + rows
        return totals

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the job stopped:\n{''.join(self.lines)[-4000:]}"
            if condition():
                return
            time.sleep(0.5)
        raise AssertionError(f"{what}: not within {timeout} s; rows {self.rows()}\n{''.join(self.lines)[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # as the runner stops a run
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(10)


def drop(folder: Path, name: str, rows: list[tuple[int, str, int]]) -> None:
    """A CSV file with its header, written under a hidden name and renamed into view."""
    hidden = folder / f".{name}"
    hidden.write_text("id,customer,amount\n" + "".join(f"{i},{c},{a}\n" for i, c, a in rows), encoding="utf-8")
    hidden.rename(folder / name)


def committed(folder: Path) -> list[dict[str, Any]]:
    """Rows of the files the sink has made visible (in-progress files are hidden)."""
    files = [f for f in folder.glob("**/*") if f.is_file() and not f.name.startswith((".", "_"))] if folder.is_dir() \
        else []
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines() if line]


@pytest.mark.skipif(not FLINK_PYTHON.exists(), reason="the Flink virtual environment (.venv-flink) is not set up")
def test_a_streaming_flink_job_prints_each_nodes_rows_as_files_arrive(tmp_path: Path) -> None:
    job_file = tmp_path / "job.py"
    job_file.write_text(compile_pipeline(DOCUMENT, engine="flink").code, encoding="utf-8")
    data = tmp_path / "data"
    landing = data / "landing" / "orders"
    landing.mkdir(parents=True)
    first = [(i, f"c{i % 3}", i) for i in range(1, 41)]  # 40 rows, 30 with amount > 10
    second = [(i, f"c{i % 3}", i % 20) for i in range(41, 101)]  # 60 rows, 27 with amount > 10
    job = Job(job_file, data)
    try:
        drop(landing, "a.csv", first)
        job.wait_for("the first file's counts", lambda: job.rows().get(("orders", "out"), 0) >= 40)
        drop(landing, "b.csv", second)
        expected = {("orders", "out"): 100, ("big", "out"): 57, ("tagged", "out"): 57, ("out", "in"): 57}
        job.wait_for("every node's counts", lambda: all(job.rows().get(k, 0) >= n for k, n in expected.items()))
        job.wait_for("the sink's rows", lambda: len(committed(data / "curated" / "big")) == 57)
        time.sleep(3)  # a few more checkpoints: no row is counted twice
        assert job.rows() == expected
    finally:
        job.stop()
    assert sorted(r["id"] for r in committed(data / "curated" / "big")) == sorted(
        i for i, _, a in first + second if a > 10
    )
