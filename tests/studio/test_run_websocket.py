"""The run websocket streams a run only to users who may see it (when they connect and while they
watch), carries each run's own messages only, and pushes node metrics, a batch job's progress, alerts
and heartbeats."""
from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.urls import path
from django.utils import timezone
from rest_framework.test import APIClient

from runners.output import JobProgress, NodeMetric
from studio.access.models import Membership
from studio.runs import events, services
from studio.runs.consumers import CLOSE_NOT_FOUND, RunConsumer
from studio.runs.models import Run
from tests.studio.documents import filter_pipeline

pytestmark = pytest.mark.django_db(transaction=True)


def new_run(api: APIClient, name: str) -> int:
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": name, "document": filter_pipeline()},
                        format="json").json()["id"]
    response = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def socket(user: Any, run_id: int) -> WebsocketCommunicator:
    router = URLRouter([path("ws/runs/<int:pk>/", RunConsumer.as_asgi())])

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        return await router({**scope, "user": user}, receive, send)

    return WebsocketCommunicator(app, f"/ws/runs/{run_id}/")


async def receive_where(watcher: WebsocketCommunicator, wanted: Any, *, skipped: list[dict[str, Any]] | None = None,
                        ) -> dict[str, Any]:
    """The first message `wanted` accepts; others (a parallel test session sharing the Redis layer may
    publish for a run with the same id) are collected in `skipped`."""
    for _ in range(50):
        message = await watcher.receive_json_from(timeout=10)
        if wanted(message):
            return message
        if skipped is not None:
            skipped.append(message)
    raise AssertionError("the expected message never came")


def test_nobody_outside_the_workspace_can_watch_a_run(api: APIClient, outsider: Any) -> None:
    run_id = new_run(api, "private")

    async def scenario() -> None:
        for user in (AnonymousUser(), outsider):
            connected, code = await socket(user, run_id).connect()
            assert not connected and code == CLOSE_NOT_FOUND
        connected, code = await socket(outsider, run_id + 1000).connect()
        assert not connected and code == CLOSE_NOT_FOUND

    async_to_sync(scenario)()


def test_a_watcher_removed_from_the_workspace_stops_receiving(api: APIClient, viewer: Any, workspace: Any,
                                                               monkeypatch: Any) -> None:
    monkeypatch.setattr(RunConsumer, "access_recheck_seconds", 0)
    run_id = new_run(api, "revoked")

    async def scenario() -> None:
        watcher = socket(viewer, run_id)
        connected, _ = await watcher.connect()
        assert connected
        first = await watcher.receive_json_from(timeout=10)
        assert first["type"] == "run.status" and first["run"]["id"] == run_id

        await sync_to_async(Membership.objects.filter(workspace=workspace, user=viewer).delete)()
        await sync_to_async(services.run_cancel)(run=await sync_to_async(_run)(run_id))
        closed = await watcher.receive_output(timeout=10)
        assert closed == {"type": "websocket.close", "code": CLOSE_NOT_FOUND}

    async_to_sync(scenario)()


def test_a_watcher_gets_its_runs_messages_only_with_nodes_metrics_and_alerts(api: APIClient, viewer: Any) -> None:
    watched, other = new_run(api, "watched"), new_run(api, "other")
    at = timezone.now()

    async def scenario() -> None:
        watcher = socket(viewer, watched)
        connected, _ = await watcher.connect()
        assert connected
        first = await watcher.receive_json_from(timeout=10)
        assert first["type"] == "run.status" and first["run"]["status"] == "queued"
        assert [n["status"] for n in first["nodes"]] == ["pending"] * 3

        alert = events.alert_data(node="big", severity="critical", message="order 7 is huge", at=at, seq=3)
        await sync_to_async(events.publish_alerts)(other, [alert | {"message": "not yours"}])
        await sync_to_async(events.publish_alerts)(watched, [alert])
        skipped: list[dict[str, Any]] = []
        pushed = await receive_where(watcher, lambda m: m["type"] == "run.alert"
                                     and m["alerts"][0]["message"] == "order 7 is huge", skipped=skipped)
        assert pushed["alerts"] == [{"node": "big", "severity": "critical", "message": "order 7 is huge",
                                     "at": at.isoformat().replace("+00:00", "Z"), "seq": 3}]
        assert not [m for m in skipped if m["type"] == "run.alert" and m["alerts"][0]["message"] == "not yours"]

        await sync_to_async(services.run_record_output)(
            run_id=watched, output=[NodeMetric(node="orders", port="out", rows=4)])
        metrics = await receive_where(watcher, lambda m: m["type"] == "run.metrics" and m["nodes"][0]["rows_out"] == 4)
        assert metrics["status"] == "queued"
        assert {n["node"]: n["rows_out"] for n in metrics["nodes"]} == {"orders": 4, "big": None, "out": None}

        await sync_to_async(services.run_cancel)(run=await sync_to_async(_run)(watched))
        status = await receive_where(watcher, lambda m: m["type"] == "run.status" and m.get("event"))
        assert status["event"]["to_status"] == "cancelled"
        assert {n["node"]: n["status"] for n in status["nodes"]}["orders"] == "succeeded"
        assert {n["node"]: n["status"] for n in status["nodes"]}["big"] == "cancelled"
        await watcher.disconnect()

    async_to_sync(scenario)()


def test_a_watcher_gets_the_workers_heartbeats(api: APIClient, viewer: Any, monkeypatch: Any) -> None:
    run_id = new_run(api, "beating")
    services.run_claim(run_id=run_id, worker_host="w1", worker_pid=1)
    # Run ids come back after each test's flush: a throttle of this test's own.
    monkeypatch.setattr(events, "_heartbeats", events._Throttle(events.HEARTBEAT_PUBLISH_SECONDS))

    async def scenario() -> None:
        watcher = socket(viewer, run_id)
        connected, _ = await watcher.connect()
        assert connected
        assert await sync_to_async(services.run_heartbeat)(run_id=run_id)
        beat = await receive_where(watcher, lambda m: m["type"] == "run.heartbeat")
        recorded = (await sync_to_async(_run)(run_id)).heartbeat_at
        assert beat == {"type": "run.heartbeat", "heartbeat_at": recorded.isoformat().replace("+00:00", "Z")}
        await watcher.disconnect()

    async_to_sync(scenario)()


def test_a_batch_jobs_progress_and_its_finished_sinks_reach_the_watcher_while_it_runs(
    api: APIClient, viewer: Any,
) -> None:
    """The first of the job's sinks has written (its metrics and those of the nodes feeding only it
    came in): those nodes are done while the rest still run, and the job's task count is pushed."""
    run_id = new_run(api, "progressing")
    services.run_claim(run_id=run_id, worker_host="w1", worker_pid=1)
    services.run_job_started(run_id=run_id, job_pid=1)

    async def scenario() -> None:
        watcher = socket(viewer, run_id)
        connected, _ = await watcher.connect()
        assert connected
        await sync_to_async(services.run_record_output)(run_id=run_id, output=[
            JobProgress(tasks_done=1, tasks_total=4, stage=0),
            NodeMetric(node="big", port="out", rows=2),
            NodeMetric(node="out", port="in", rows=2, duration_ms=35),
            JobProgress(tasks_done=3, tasks_total=4, stage=1),
        ])
        seen: list[dict[str, Any]] = []
        progress = await receive_where(watcher, lambda m: m["type"] == "run.progress", skipped=seen)
        assert progress == {"type": "run.progress", "tasks_done": 3, "tasks_total": 4, "stage": 1}
        metrics = next(m for m in seen if m["type"] == "run.metrics")
        nodes = {n["node"]: n for n in metrics["nodes"]}
        assert {node: n["status"] for node, n in nodes.items()} == {
            "orders": "running", "big": "succeeded", "out": "succeeded"}
        assert nodes["out"]["duration_ms"] == 35
        await watcher.disconnect()

    async_to_sync(scenario)()


def _run(run_id: int) -> Run:
    return Run.objects.get(pk=run_id)
