"""Runs end to end through the configured broker, a real Celery worker and a real Spark job.

The same tests run on the embedded defaults (SQLite, filesystem broker, SQLite channel layer) and,
in the production tier of scripts/test, on PostgreSQL and Redis.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from asgiref.sync import async_to_sync
from celery.contrib.testing.worker import start_worker
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from runners.celery import app as celery_app
from studio.runs.consumers import RunConsumer
from tests.studio.conftest import client_for
from tests.studio.documents import ORDERS_CSV, filter_pipeline

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery, pytest.mark.stack]

FINISHED = {"succeeded", "failed", "cancelled", "lost"}


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.STUDIO_DATA_DIR = tmp_path / "data"
    settings.STUDIO_RUNS_DIR = tmp_path / "runs"
    (tmp_path / "data" / "in").mkdir(parents=True)
    (tmp_path / "data" / "in" / "orders.csv").write_text(ORDERS_CSV)
    return tmp_path / "data"


@pytest.fixture
def worker(data_dir: Path) -> Iterator[None]:
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"):
        yield


def start_run(api: APIClient, document: dict[str, Any], **body: Any) -> int:
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": document["name"], "document": document},
                        format="json").json()["id"]
    response = api.post(f"/api/pipelines/{pipeline}/runs/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def wait_for(api: APIClient, run_id: int, statuses: set[str], timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = api.get(f"/api/runs/{run_id}/").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still {run['status']} after {timeout} s")


def log_text(api: APIClient, run_id: int) -> str:
    return "\n".join(line["text"] for line in api.get(f"/api/runs/{run_id}/log/?limit=5000").json()["lines"])


def cancel_and_wait(api: APIClient, run_id: int) -> tuple[dict[str, Any], float]:
    """Cancel a run through the API and wait for it to end: the run, and the seconds from the cancel
    request to its terminal status (its `finished_at`, stamped by the status change itself, so the
    test's polling adds nothing)."""
    asked = timezone.now()
    assert api.post(f"/api/runs/{run_id}/cancel/").status_code == 202
    run = wait_for(api, run_id, FINISHED, timeout=60)
    return run, (parse_datetime(run["finished_at"]) - asked).total_seconds()


@pytest.mark.spark
def test_a_run_executes_on_spark_and_writes_the_rows(api: APIClient, worker: None, data_dir: Path) -> None:
    run_id = start_run(api, filter_pipeline(), parameters={"min_amount": "100"})
    run = wait_for(api, run_id, FINISHED)
    assert run["status"] == "succeeded", run["error"] + "\n" + log_text(api, run_id)
    assert run["started_at"] and run["finished_at"]
    assert "def build(spark" in run["code"]
    rows = pq.read_table(data_dir / "out" / "big").to_pylist()
    assert sorted(row["order_id"] for row in rows) == [2, 4]
    assert "The job finished successfully." in log_text(api, run_id)


@pytest.mark.spark
def test_a_failing_job_fails_the_run_with_its_error(api: APIClient, worker: None) -> None:
    document = filter_pipeline(name="missing_input")
    document["nodes"][0]["config"]["path"] = "in/does_not_exist.csv"
    run = wait_for(api, start_run(api, document), FINISHED)
    assert run["status"] == "failed"
    assert "does_not_exist.csv" in run["error"]


@pytest.mark.spark
def test_cancel_stops_a_running_job(api: APIClient, worker: None) -> None:
    run_id = start_run(api, filter_pipeline(name="to_cancel"))
    wait_for(api, run_id, {"running"} | FINISHED)
    run, seconds = cancel_and_wait(api, run_id)
    assert run["status"] == "cancelled"
    assert seconds < 5, seconds  # the bound: the job's process group is stopped within 5 s


def test_the_websocket_pushes_status_changes_and_refuses_outsiders(api: APIClient, operator: Any, outsider: Any) -> None:
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": "ws", "document": filter_pipeline()},
                        format="json").json()["id"]
    run_id = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]

    def as_user(user: Any) -> Any:
        router = URLRouter([path("ws/runs/<int:pk>/", RunConsumer.as_asgi())])

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> Any:
            return await router({**scope, "user": user}, receive, send)

        return app

    async def scenario() -> None:
        stranger = WebsocketCommunicator(as_user(outsider), f"/ws/runs/{run_id}/")
        connected, code = await stranger.connect()
        assert not connected and code == 4404

        watcher = WebsocketCommunicator(as_user(operator), f"/ws/runs/{run_id}/")
        connected, _ = await watcher.connect()
        assert connected
        first = await watcher.receive_json_from(timeout=5)
        assert first["type"] == "run.status" and first["run"]["status"] == "queued"
        # The cancel is a write from another "process" (a sync thread), pushed via the layer.
        response = await _in_thread(lambda: api.post(f"/api/runs/{run_id}/cancel/"))
        assert response.status_code == 202
        pushed = await watcher.receive_json_from(timeout=5)
        assert pushed["type"] == "run.status" and pushed["run"]["status"] == "cancelled"
        await watcher.disconnect()

    async_to_sync(scenario)()


async def _in_thread(call: Any) -> Any:
    from asgiref.sync import sync_to_async

    return await sync_to_async(call)()
