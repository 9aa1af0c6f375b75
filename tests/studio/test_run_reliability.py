"""Runs survive what happens in operation, proven with real processes: a Celery worker SIGKILLed
mid-run (lost, then retried on a fresh worker), a job SIGKILLed (failed with its last lines), cancel
within 5 s, timeouts, four runs at once, a cron schedule fired by Celery beat, and node metrics.

Jobs are synthetic (tests/runners/synthetic.py) except in the one Spark test, so these take seconds.
The same tests run on the embedded defaults and, in the production tier, on PostgreSQL and Redis.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.test import APIClient

from runners.celery import app as celery_app
from runners.reaper import process_alive
from studio.runs.models import Run, Schedule
from tests.runners.synthetic import fake_python, write_job
from tests.studio.documents import ORDERS_CSV, filter_pipeline
from tests.studio.test_run_execution import FINISHED, log_text, wait_for
from tests.studio.test_worker_process import ROOT, _database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery, pytest.mark.stack]

# Fast liveness for the processes these tests start: heartbeats every second, lost after 5 s of
# silence, the reaper and the schedule dispatcher every second. The defaults are 5 / 45 / 15 / 10.
FAST = {"STUDIO_RUN_HEARTBEAT_SECONDS": "1", "STUDIO_RUN_LOST_AFTER_SECONDS": "5",
        "STUDIO_REAPER_INTERVAL_SECONDS": "1", "STUDIO_SCHEDULER_TICK_SECONDS": "1"}

SLEEPER = """
import signal, subprocess, sys, time
print("working on it", flush=True)
time.sleep(120)
"""


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    """A data folder whose `synthetic_job.py` is what every run executes (see tests/runners/synthetic.py)."""
    data = tmp_path / "data"
    (data / "in").mkdir(parents=True)
    (data / "in" / "orders.csv").write_text(ORDERS_CSV)
    settings.STUDIO_DATA_DIR = data
    settings.STUDIO_RUNS_DIR = tmp_path / "runs"
    settings.STUDIO_PYTHON = fake_python(tmp_path / "bin")
    return data


@pytest.fixture(scope="module")
def _module_worker() -> Iterator[None]:
    # One in-process worker for the module (stopping one takes seconds); each test's settings
    # (data folder, interpreter) are read when a run starts.
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"):
        yield


@pytest.fixture
def thread_worker(data_dir: Path, settings: Any, _module_worker: None) -> None:
    settings.STUDIO_RUN_HEARTBEAT_SECONDS = 1


class Processes:
    """Celery processes started for one test, killed at its end."""

    def __init__(self, tmp_path: Path, data_dir: Path) -> None:
        self.tmp_path = tmp_path
        self.env = {
            **os.environ, **FAST, "DATABASE_URL": _database_url(), "STUDIO_DATA_DIR": str(data_dir),
            "STUDIO_VAR_DIR": str(django_settings.VAR_DIR), "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
            "STUDIO_PYTHON": django_settings.STUDIO_PYTHON,
        }
        self.started: list[subprocess.Popen[bytes]] = []

    def _start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "runners.celery", "worker", *args, "--loglevel", "INFO",
             "--hostname", f"{name}-{os.getpid()}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.started.append(process)
        return process

    def worker(self, name: str = "worker", concurrency: int = 2) -> subprocess.Popen[bytes]:
        """A run worker as `studio_up` starts it."""
        return self._start(name, ["-Q", "celery", "--pool", "threads", "--concurrency", str(concurrency)])

    def scheduler(self) -> subprocess.Popen[bytes]:
        """The control worker with Celery beat embedded: the reaper and the schedule dispatcher."""
        return self._start("scheduler", ["-Q", "control", "--pool", "solo", "-B",
                                         "--schedule", str(self.tmp_path / "beat-schedule")])

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def processes(tmp_path: Path, data_dir: Path) -> Iterator[Processes]:
    started = Processes(tmp_path, data_dir)
    yield started
    started.stop()


def new_pipeline(api: APIClient, name: str, **policy: Any) -> int:
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": name, "document": filter_pipeline()},
                        format="json").json()["id"]
    if policy:
        assert api.patch(f"/api/pipelines/{pipeline}/", policy, format="json").status_code == 200
    return pipeline


def start(api: APIClient, pipeline: int, **body: Any) -> int:
    response = api.post(f"/api/pipelines/{pipeline}/runs/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def wait_until(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def test_a_worker_killed_mid_run_is_lost_then_retried_on_a_fresh_worker(
    api: APIClient, data_dir: Path, processes: Processes
) -> None:
    # The first attempt hangs (and will be orphaned); the retry finds the marker and succeeds.
    write_job(data_dir, """
import os, time
if not os.path.exists("attempted"):
    open("attempted", "w").close()
    print("first attempt: working", flush=True)
    time.sleep(120)
print("second attempt: done", flush=True)
""")
    pipeline = new_pipeline(api, "retried", max_attempts=2, retry_backoff_seconds=1)
    processes.scheduler()
    worker = processes.worker()
    run_id = start(api, pipeline)
    wait_for(api, run_id, {"running"}, timeout=180)
    job_pid = wait_until(lambda: Run.objects.get(pk=run_id).job_pid, 10, "the job pid to be recorded")
    os.kill(worker.pid, signal.SIGKILL)  # the worker only: its job is orphaned, as in a crash
    killed_at = time.monotonic()
    lost = wait_for(api, run_id, FINISHED, timeout=180)
    detected_after = time.monotonic() - killed_at
    assert lost["status"] == "lost", lost
    assert "died while the run was running" in lost["error"] and "leftover" in lost["error"]
    assert detected_after < 15, detected_after  # 60 s with the default settings
    wait_until(lambda: not process_alive(job_pid), 5, "the orphaned job to be killed")
    assert [e["to_status"] for e in lost["events"]] == ["queued", "starting", "running", "lost"]

    retry_id = lost["retried_by"]  # queued in the same transaction that marked the run lost
    assert retry_id is not None
    processes.worker("fresh-worker")
    retry = wait_for(api, retry_id, FINISHED, timeout=180)
    assert retry["status"] == "succeeded", retry["error"] + log_text(api, retry_id)
    assert (retry["attempt"], retry["trigger"], retry["retry_of"]) == (2, "retry", run_id)
    assert "second attempt: done" in log_text(api, retry_id)
    assert "Retrying as run" in log_text(api, run_id)


def test_a_cron_schedule_fires_through_celery_beat(api: APIClient, data_dir: Path, processes: Processes) -> None:
    write_job(data_dir, "import sys\nprint('ran', open(sys.argv[1]).read().count('120'))\n")
    pipeline = new_pipeline(api, "scheduled")
    created = api.post(f"/api/pipelines/{pipeline}/schedules/",
                       {"cron": "* * * * *", "parameters": {"min_amount": 120}}, format="json")
    assert created.status_code == 201, created.json()
    Schedule.objects.filter(pk=created.json()["id"]).update(next_fire_at=timezone.now())  # due now
    processes.scheduler()
    processes.worker()
    run = wait_until(lambda: Run.objects.filter(pipeline_id=pipeline).first(), 180, "a scheduled run")
    finished = wait_for(api, run.id, FINISHED, timeout=180)
    assert finished["status"] == "succeeded", finished["error"]
    assert (finished["trigger"], finished["schedule"], finished["parameters"]) == (
        "schedule", created.json()["id"], {"min_amount": 120})
    assert "120" in finished["code"]  # the parameter reached the generated job
    assert Run.objects.filter(pipeline_id=pipeline).count() == 1  # fired once, not at every tick


def test_four_runs_at_once_on_the_embedded_worker_overlap_and_all_succeed(
    api: APIClient, data_dir: Path, processes: Processes
) -> None:
    write_job(data_dir, "import time\nprint('start', flush=True)\ntime.sleep(3)\nprint('end')\n")
    processes.worker(concurrency=4)  # as studio_up starts it
    runs = [start(api, new_pipeline(api, f"parallel{i}")) for i in range(4)]
    finished = [wait_for(api, run_id, FINISHED, timeout=240) for run_id in runs]
    assert [run["status"] for run in finished] == ["succeeded"] * 4, [run["error"] for run in finished]
    # All four intervals share a moment: they ran at the same time, not one after the other.
    assert max(run["started_at"] for run in finished) < min(run["finished_at"] for run in finished)
    assert all(3 <= run["duration_seconds"] < 20 for run in finished)


def test_a_killed_job_fails_the_run_with_its_last_lines(api: APIClient, data_dir: Path, thread_worker: None) -> None:
    write_job(data_dir, """
import time
for i in range(20):
    print(f"wrote batch {i}", flush=True)
time.sleep(120)
""")
    run_id = start(api, new_pipeline(api, "killed"))
    wait_for(api, run_id, {"running"}, timeout=180)
    job_pid = wait_until(lambda: Run.objects.get(pk=run_id).job_pid, 10, "the job pid to be recorded")
    wait_until(lambda: "wrote batch 19" in log_text(api, run_id), 10, "the job's output")
    os.kill(job_pid, signal.SIGKILL)
    run = wait_for(api, run_id, FINISHED, timeout=30)
    assert run["status"] == "failed"
    assert run["error"].startswith("The job was killed by signal SIGKILL.")
    assert "wrote batch 18\nwrote batch 19" in run["error"]


def test_cancel_stops_a_stubborn_job_and_its_children_within_5_seconds(
    api: APIClient, data_dir: Path, thread_worker: None
) -> None:
    write_job(data_dir, """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the worst case: SIGKILL after the grace
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open("child.pid", "w").write(str(child.pid))
print("ready", flush=True)
time.sleep(120)
""")
    run_id = start(api, new_pipeline(api, "cancelled"))
    wait_until(lambda: "ready" in log_text(api, run_id), 60, "the job to start")
    asked = time.monotonic()
    response = api.post(f"/api/runs/{run_id}/cancel/")
    assert response.status_code == 202 and response.json()["status"] == "cancelling"
    run = wait_for(api, run_id, FINISHED, timeout=10)
    took = time.monotonic() - asked
    assert run["status"] == "cancelled" and took < 5, (run["status"], took)
    assert not process_alive(int((data_dir / "child.pid").read_text()))
    assert [e["to_status"] for e in run["events"]][-2:] == ["cancelling", "cancelled"]


def test_a_run_longer_than_the_pipeline_timeout_fails_and_says_so(
    api: APIClient, data_dir: Path, thread_worker: None
) -> None:
    write_job(data_dir, SLEEPER)
    run_id = start(api, new_pipeline(api, "slow", timeout_seconds=1))
    run = wait_for(api, run_id, FINISHED, timeout=30)
    assert run["status"] == "failed"
    assert run["error"].startswith("The run timed out after 1 s and was stopped.")
    assert "working on it" in run["error"]
    assert run["duration_seconds"] < 6


def test_job_metrics_reach_the_nodes_api_and_not_the_log(api: APIClient, data_dir: Path, thread_worker: None) -> None:
    write_job(data_dir, """
import json
def metric(**fields): print("STUDIO_METRIC " + json.dumps(fields), flush=True)
print("reading orders")
metric(node="orders", port="out", rows=4, duration_ms=40)
metric(node="big", port="out", rows=2, duration_ms=5)
metric(node="big", rule="amount_known", passed=3, failed=1)
metric(node="out", port="in", rows=2)
print("STUDIO_LOG " + json.dumps({"level": "warning", "message": "one row had no amount"}))
""")
    run_id = start(api, new_pipeline(api, "measured"))
    run = wait_for(api, run_id, FINISHED, timeout=180)
    assert run["status"] == "succeeded", run["error"]
    nodes = {n["node"]: n for n in api.get(f"/api/runs/{run_id}/nodes/").json()}
    assert [(n["rows_in"], n["rows_out"], n["status"]) for n in nodes.values()] == [
        (None, 4, "succeeded"), (4, 2, "succeeded"), (2, None, "succeeded")]
    assert nodes["big"]["quality"] == [{"rule": "amount_known", "passed": 3, "failed": 1}]
    lines = api.get(f"/api/runs/{run_id}/log/").json()["lines"]
    assert not any("STUDIO_" in line["text"] for line in lines)
    assert {"level": "warning", "text": "one row had no amount"}.items() <= next(
        line for line in lines if "no amount" in line["text"]).items()


@pytest.mark.spark
def test_metrics_from_a_real_spark_job(api: APIClient, data_dir: Path, thread_worker: None) -> None:
    write_job(data_dir, """
import json, os, sys
os.environ["PYSPARK_PYTHON"] = sys.executable  # the runner points it at the test's stand-in interpreter
from pyspark.sql import SparkSession
spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
orders = spark.read.option("header", True).schema("order_id BIGINT, amount DECIMAL(12,2)").csv("in/orders.csv")
counts = orders.selectExpr("count(*) AS orders", "count_if(amount > 100) AS big").first()
for node in ("orders", "big"):
    print("STUDIO_METRIC " + json.dumps({"node": node, "port": "out", "rows": counts[node]}), flush=True)
orders.filter("amount > 100").write.mode("overwrite").parquet("out/big")
spark.stop()
""")
    run_id = start(api, new_pipeline(api, "spark_metrics"))
    run = wait_for(api, run_id, FINISHED, timeout=180)
    assert run["status"] == "succeeded", run["error"] + log_text(api, run_id)
    nodes = {n["node"]: n for n in api.get(f"/api/runs/{run_id}/nodes/").json()}
    assert (nodes["orders"]["rows_out"], nodes["big"]["rows_in"], nodes["big"]["rows_out"]) == (4, 4, 2)
    assert "STUDIO_METRIC" not in log_text(api, run_id)
