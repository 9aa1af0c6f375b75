"""The run state machine and what hangs off it, without a worker: transitions and their record,
races, the claim, the reaper's decisions and retries, cancel, concurrency, metrics and history."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient

from runners import execute, reaper
from runners.output import LogLine, NodeMetric, QualityResult
from studio.pipelines.models import Pipeline
from studio.runs import events, services
from studio.runs.models import FINISHED, Run, RunEvent, RunStatus
from tests.runners.synthetic import fake_python, write_job
from tests.studio.conftest import client_for
from tests.studio.documents import filter_pipeline
from tests.studio.test_openapi import Contract

S = RunStatus


def new_run(api: APIClient, name: str = "p", **policy: Any) -> Run:
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": name, "document": filter_pipeline()},
                        format="json").json()["id"]
    if policy:
        assert api.patch(f"/api/pipelines/{pipeline}/", policy, format="json").status_code == 200
    response = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json")
    assert response.status_code == 201, response.json()
    return Run.objects.get(pk=response.json()["id"])


def statuses(run: Run) -> list[tuple[str | None, str]]:
    return list(RunEvent.objects.filter(run=run).order_by("at", "id").values_list("from_status", "to_status"))


# --- the transition table -------------------------------------------------------------------------


def test_every_active_status_can_finish_and_finished_ones_never_move() -> None:
    for status in S.values:
        targets = services.TRANSITIONS[status]
        if status in FINISHED:
            assert targets == frozenset(), status
        else:
            reachable, frontier = set(), {status}
            while frontier:
                frontier = {t for s in frontier for t in services.TRANSITIONS[s]} - reachable
                reachable |= frontier
            assert reachable & set(FINISHED), status
    assert not services.transition_allowed(S.QUEUED, S.RUNNING)  # a run is always claimed first
    assert not services.transition_allowed(S.QUEUED, S.LOST)
    assert services.transition_allowed(S.CANCELLING, S.SUCCEEDED)  # the job may finish before the stop lands


@pytest.mark.django_db
def test_transitions_are_recorded_and_refused_ones_change_nothing(api: APIClient) -> None:
    run = new_run(api)
    assert statuses(run) == [(None, "queued")]
    assert services.run_transition(run_id=run.id, to_status=S.RUNNING) is False  # queued -> running: refused
    assert services.run_claim(run_id=run.id, worker_host="w1", worker_pid=123) is True
    assert services.run_job_started(run_id=run.id, job_pid=4567) is True
    assert services.run_transition(run_id=run.id, to_status=S.SUCCEEDED, reason="done") is True
    assert services.run_transition(run_id=run.id, to_status=S.FAILED, reason="late") is False
    assert services.run_transition(run_id=run.id, to_status=S.LOST, reason="late") is False
    run.refresh_from_db()
    assert run.status == S.SUCCEEDED and run.error == "" and run.finished_at and run.started_at
    assert (run.worker_host, run.worker_pid, run.job_pid, run.job_pgid) == ("w1", 123, 4567, 4567)
    assert statuses(run) == [(None, "queued"), ("queued", "starting"), ("starting", "running"),
                             ("running", "succeeded")]
    claimed = RunEvent.objects.filter(run=run, to_status="starting").get()
    assert claimed.reason == "Claimed by the worker on w1 (pid 123)."
    with pytest.raises(ValueError):
        services.run_transition(run_id=run.id, to_status="exploded")


@pytest.mark.django_db(transaction=True)
def test_of_concurrent_movers_exactly_one_wins(api: APIClient) -> None:
    run = new_run(api)
    services.run_claim(run_id=run.id)
    services.run_job_started(run_id=run.id, job_pid=1)
    targets = [S.SUCCEEDED, S.FAILED, S.LOST, S.CANCELLING] * 2
    barrier = threading.Barrier(len(targets))
    won: list[str] = []

    def move(target: str) -> None:
        try:
            barrier.wait()
            if services.run_transition(run_id=run.id, to_status=target, reason=f"by {target}"):
                won.append(target)
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.refresh_from_db()
    chain = statuses(run)[3:]  # after created, claimed, started
    # Exactly one mover left running; one that moved it to cancelling may be followed by one more.
    assert [from_ for from_, _ in chain].count(S.RUNNING) == 1
    assert all(later[0] == earlier[1] for earlier, later in zip(chain, chain[1:]))
    assert sorted(won) == sorted(to for _, to in chain) and run.status == chain[-1][1]


@pytest.mark.django_db(transaction=True)
def test_every_transition_is_published_with_its_event(api: APIClient) -> None:
    run = new_run(api)
    layer = get_channel_layer()

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        # One event loop for the whole exchange: the Redis layer is bound to the loop it runs in.
        channel = await layer.new_channel()
        await layer.group_add(f"run-{run.id}", channel)

        async def receive(kind: str) -> dict[str, Any]:
            # Another test session sharing the Redis layer may publish for a run with the same id.
            for _ in range(20):
                message = await asyncio.wait_for(layer.receive(channel), timeout=10)
                if message["type"] == kind:
                    return message
            raise AssertionError(f"no {kind} message")

        await sync_to_async(services.run_cancel)(run=run)
        status = await receive("run.status")
        await sync_to_async(services.run_record_output)(
            run_id=run.id, output=[NodeMetric(node="orders", port="out", rows=4)])
        return status, await receive("run.metrics")

    message, metrics = async_to_sync(scenario)()
    assert message["run"]["status"] == "cancelled"
    assert message["event"]["from_status"] == "queued" and message["event"]["to_status"] == "cancelled"
    assert {n["node"]: n["rows_out"] for n in metrics["nodes"]}["orders"] == 4


@pytest.mark.django_db(transaction=True)
def test_heartbeats_are_published_with_their_time_at_most_once_per_interval(
    api: APIClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = new_run(api)
    queued_beat = services.run_heartbeat(run_id=run.id)  # not owned by a worker yet: nothing to say
    services.run_claim(run_id=run.id, worker_host="w1", worker_pid=1)
    monkeypatch.setattr(events, "_heartbeats", events._Throttle(0.5))
    layer = get_channel_layer()

    async def scenario() -> tuple[list[str], list[str]]:
        channel = await layer.new_channel()
        await layer.group_add(f"run-{run.id}", channel)
        recorded: list[str] = []

        async def beat() -> None:
            assert await sync_to_async(services.run_heartbeat)(run_id=run.id)
            at = (await Run.objects.aget(pk=run.id)).heartbeat_at
            recorded.append(at.isoformat().replace("+00:00", "Z"))

        await beat()
        await beat()  # within the throttle's interval: recorded, not published
        await asyncio.sleep(0.6)
        await beat()
        pushed: list[str] = []
        try:
            while True:
                message = await asyncio.wait_for(layer.receive(channel), timeout=1.5)
                # Another test session sharing the Redis layer may publish for a run with the same id.
                if message["type"] == "run.heartbeat" and message["heartbeat_at"] in recorded:
                    pushed.append(message["heartbeat_at"])
        except asyncio.TimeoutError:
            return recorded, pushed

    recorded, pushed = async_to_sync(scenario)()
    assert queued_beat is False
    assert pushed == [recorded[0], recorded[2]]


# --- the claim and the worker's settling ------------------------------------------------------------


@pytest.mark.django_db
def test_a_redelivered_task_does_nothing(api: APIClient, settings: Any, tmp_path: Path) -> None:
    settings.STUDIO_PYTHON = fake_python(tmp_path / "bin")
    settings.STUDIO_DATA_DIR = tmp_path / "data"
    settings.STUDIO_RUNS_DIR = tmp_path / "runs"
    write_job(tmp_path / "data", "print('hello from the job')\n")
    run = new_run(api)
    execute.execute_run(run.id)
    run.refresh_from_db()
    assert run.status == S.SUCCEEDED, run.error
    events, lines = RunEvent.objects.filter(run=run).count(), run.log_lines
    execute.execute_run(run.id)  # the same message again, e.g. after a worker restart
    run.refresh_from_db()
    assert run.status == S.SUCCEEDED
    assert (RunEvent.objects.filter(run=run).count(), run.log_lines) == (events, lines)
    # A delivery while the first is still running does nothing either.
    other = new_run(api, "other")
    assert services.run_claim(run_id=other.id) is True
    execute.execute_run(other.id)
    assert Run.objects.get(pk=other.id).status == S.STARTING


@pytest.mark.django_db
def test_a_retry_is_not_claimed_before_its_backoff(api: APIClient) -> None:
    run = new_run(api)
    Run.objects.filter(pk=run.id).update(not_before=timezone.now() + timedelta(seconds=60))
    assert services.run_claim(run_id=run.id) is False
    Run.objects.filter(pk=run.id).update(not_before=timezone.now() - timedelta(seconds=1))
    assert services.run_claim(run_id=run.id) is True


# --- the reaper -------------------------------------------------------------------------------------


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.django_db
def test_the_reaper_marks_silent_runs_lost_and_retries_per_policy(api: APIClient, settings: Any) -> None:
    now = timezone.now()
    silent = new_run(api, "silent", max_attempts=2, retry_backoff_seconds=30)
    services.run_claim(run_id=silent.id, worker_host="another-host", worker_pid=99)
    services.run_job_started(run_id=silent.id, job_pid=100)
    Run.objects.filter(pk=silent.id).update(heartbeat_at=now - timedelta(seconds=46))
    fresh = new_run(api, "fresh")
    services.run_claim(run_id=fresh.id, worker_host="another-host", worker_pid=99)
    Run.objects.filter(pk=fresh.id).update(heartbeat_at=now - timedelta(seconds=30))
    # Same machine, worker process gone: lost once two heartbeats are missed, without the 45 s wait.
    orphan = new_run(api, "orphan")
    services.run_claim(run_id=orphan.id, worker_pid=_dead_pid())
    Run.objects.filter(pk=orphan.id).update(heartbeat_at=now - timedelta(seconds=11))
    alive = new_run(api, "alive")  # same machine, this very process: alive
    services.run_claim(run_id=alive.id)
    Run.objects.filter(pk=alive.id).update(heartbeat_at=now - timedelta(seconds=11))

    assert sorted(reaper.reap(now=now)) == sorted([silent.id, orphan.id])
    silent.refresh_from_db()
    assert silent.status == S.LOST and silent.finished_at
    assert "has not reported for 46 s while the run was running" in silent.error
    assert "died while the run was starting" in Run.objects.get(pk=orphan.id).error
    assert {Run.objects.get(pk=r.id).status for r in (fresh, alive)} == {S.STARTING}

    retry = Run.objects.get(retry_of=silent)
    assert (retry.status, retry.attempt, retry.trigger) == (S.QUEUED, 2, "retry")
    assert retry.parameters == silent.parameters and retry.version_id == silent.version_id
    assert 29 <= (retry.not_before - timezone.now()).total_seconds() <= 31
    assert "Retrying as run" in silent.log.last().text
    assert not Run.objects.filter(retry_of_id=orphan.id).exists()  # max_attempts 1: no retry

    # The retry is lost too: the second and last attempt is not retried again.
    Run.objects.filter(pk=retry.id).update(not_before=None)
    assert services.run_claim(run_id=retry.id, worker_host="another-host", worker_pid=99)
    Run.objects.filter(pk=retry.id).update(heartbeat_at=now - timedelta(seconds=60))
    assert reaper.reap(now=now) == [retry.id]
    assert not Run.objects.filter(retry_of=retry).exists()
    assert "Not retried: this was attempt 2 of 2." in Run.objects.get(pk=retry.id).log.last().text


@pytest.mark.django_db
def test_the_reaper_sends_a_queued_run_again_when_its_message_was_lost(api: APIClient, monkeypatch: Any) -> None:
    sent: list[int] = []
    monkeypatch.setattr("runners.tasks.execute_run.delay", lambda run_id: sent.append(run_id))
    run = new_run(api)  # on_commit never runs in this test transaction: the message was never sent
    assert reaper.reap(now=timezone.now() + timedelta(seconds=10)) == [] and sent == []
    reaper.reap(now=timezone.now() + timedelta(seconds=31))
    assert sent == [run.id]
    assert Run.objects.get(pk=run.id).dispatched_at is not None
    reaper.reap(now=timezone.now() + timedelta(seconds=32))
    assert sent == [run.id]  # not again until it is overdue for STUDIO_RUN_REDISPATCH_SECONDS


# --- cancel and concurrency -------------------------------------------------------------------------


@pytest.mark.django_db
def test_cancelling_a_running_run_asks_the_worker_and_says_so(api: APIClient) -> None:
    run = new_run(api)
    services.run_claim(run_id=run.id)
    services.run_job_started(run_id=run.id, job_pid=1)
    first = api.post(f"/api/runs/{run.id}/cancel/")
    assert first.status_code == 202 and first.json()["status"] == "cancelling"
    assert first.json()["events"][-1]["reason"] == "Cancel requested by otto."
    again = api.post(f"/api/runs/{run.id}/cancel/")
    assert again.status_code == 202 and again.json()["status"] == "cancelling"
    assert services.run_transition(run_id=run.id, to_status=S.CANCELLED, reason="stopped") is True
    finished = api.post(f"/api/runs/{run.id}/cancel/")
    assert finished.status_code == 409 and "already cancelled" in finished.json()["detail"]


@pytest.mark.django_db
def test_a_pipeline_can_refuse_concurrent_runs_of_itself(api: APIClient) -> None:
    run = new_run(api, allow_concurrent_runs=False)
    pipeline = run.pipeline_id
    refused = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json() == {"active_run": run.id, "detail": (
        f"Pipeline 'p' does not allow concurrent runs and run {run.id} is still queued; "
        "wait for it to finish or cancel it.")}
    assert Run.objects.filter(pipeline_id=pipeline).count() == 1
    api.post(f"/api/runs/{run.id}/cancel/")
    assert api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").status_code == 201
    # Allowed by default: any number of runs at once.
    other = new_run(api, "free")
    assert api.post(f"/api/pipelines/{other.pipeline_id}/runs/", {}, format="json").status_code == 201


@pytest.mark.django_db
def test_the_run_policy_is_part_of_the_pipeline_and_checked(api: APIClient, viewer: Any) -> None:
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": "p"}, format="json").json()
    assert (pipeline["max_attempts"], pipeline["retry_backoff_seconds"], pipeline["timeout_seconds"],
            pipeline["allow_concurrent_runs"]) == (1, 30, None, True)
    changed = api.patch(f"/api/pipelines/{pipeline['id']}/", {"max_attempts": 3, "timeout_seconds": 600,
                                                             "allow_concurrent_runs": False}, format="json").json()
    assert (changed["max_attempts"], changed["timeout_seconds"], changed["allow_concurrent_runs"]) == (3, 600, False)
    cleared = api.patch(f"/api/pipelines/{pipeline['id']}/", {"timeout_seconds": None}, format="json").json()
    assert cleared["timeout_seconds"] is None and cleared["max_attempts"] == 3
    bad = api.patch(f"/api/pipelines/{pipeline['id']}/", {"max_attempts": 0, "timeout_seconds": 0}, format="json")
    assert bad.status_code == 400 and set(bad.json()) == {"max_attempts", "timeout_seconds"}
    assert client_for(viewer).patch(f"/api/pipelines/{pipeline['id']}/", {"max_attempts": 2},
                                    format="json").status_code == 403
    assert Pipeline.objects.get(pk=pipeline["id"]).max_attempts == 3


# --- metrics, log and history -----------------------------------------------------------------------


@pytest.mark.django_db
def test_node_metrics_are_stored_summarised_and_served(api: APIClient, outsider: Any) -> None:
    run = new_run(api)
    services.run_claim(run_id=run.id)
    services.run_job_started(run_id=run.id, job_pid=1)
    services.run_record_output(run_id=run.id, output=[
        LogLine("reading orders"),
        NodeMetric(node="orders", port="out", rows=4, duration_ms=120),
        NodeMetric(node="big", port="out", rows=2, duration_ms=30),
        QualityResult(node="big", rule="amount_known", passed=3, failed=1),
        LogLine("sink refused one file", "warning"),
    ])
    services.run_record_output(run_id=run.id, output=[NodeMetric(node="big", port="out", rows=3, duration_ms=31)])
    nodes = {n["node"]: n for n in api.get(f"/api/runs/{run.id}/nodes/").json()}
    assert list(nodes) == ["orders", "big", "out"]  # document order
    orders = nodes["orders"]
    assert (orders["rows_in"], orders["rows_out"], orders["status"]) == (None, 4, "succeeded")
    assert (nodes["big"]["rows_in"], nodes["big"]["rows_out"], nodes["big"]["duration_ms"]) == (4, 3, 31)
    assert nodes["big"]["quality"] == [{"rule": "amount_known", "passed": 3, "failed": 1}]
    assert (nodes["out"]["rows_in"], nodes["out"]["rows_out"], nodes["out"]["status"]) == (3, None, "running")
    assert nodes["orders"]["type"] == "source.file" and nodes["orders"]["label"] == "Orders"
    log = api.get(f"/api/runs/{run.id}/log/").json()["lines"]
    assert [(line["level"], line["text"]) for line in log] == [
        ("info", "reading orders"), ("warning", "sink refused one file")]
    rows = api.get(f"/api/runs/{run.id}/metrics/?node=big").json()
    assert [(m["port"], m["rows"], m["batch"]) for m in rows["metrics"]] == [("out", 3, None)]
    assert [(q["rule"], q["failed"]) for q in rows["quality"]] == [("amount_known", 1)]
    detail = api.get(f"/api/runs/{run.id}/").json()
    assert [n["node"] for n in detail["nodes"]] == ["orders", "big", "out"]
    services.run_transition(run_id=run.id, to_status=S.FAILED, reason="sink failed")
    after = {n["node"]: n["status"] for n in api.get(f"/api/runs/{run.id}/nodes/").json()}
    assert after == {"orders": "succeeded", "big": "succeeded", "out": "failed"}
    for url in (f"/api/runs/{run.id}/nodes/", f"/api/runs/{run.id}/metrics/"):
        assert client_for(outsider).get(url).status_code == 404


@pytest.mark.django_db
def test_stream_metrics_are_kept_per_micro_batch(api: APIClient) -> None:
    run = new_run(api)
    services.run_record_output(run_id=run.id, output=[
        NodeMetric(node="orders", port="out", rows=rows, batch=batch, duration_ms=10)
        for batch, rows in enumerate([5, 7, 0])
    ])
    orders = api.get(f"/api/runs/{run.id}/nodes/").json()[0]
    assert (orders["rows_out"], orders["batches"], orders["last_batch"], orders["duration_ms"]) == (12, 3, 2, 30)
    rows = api.get(f"/api/runs/{run.id}/metrics/").json()["metrics"]
    assert [(m["batch"], m["rows"]) for m in rows] == [(0, 5), (1, 7), (2, 0)]


@pytest.mark.django_db
def test_run_history_lists_a_pipelines_runs_with_their_durations(api: APIClient, outsider: Any) -> None:
    first = new_run(api)
    pipeline = first.pipeline_id
    second = Run.objects.get(pk=api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"])
    started = timezone.now() - timedelta(minutes=5)
    for run, seconds, status in ((first, 12.5, S.SUCCEEDED), (second, 3.25, S.FAILED)):
        services.run_claim(run_id=run.id)
        services.run_job_started(run_id=run.id, job_pid=1)
        services.run_transition(run_id=run.id, to_status=status, reason="done")
        Run.objects.filter(pk=run.id).update(started_at=started, finished_at=started + timedelta(seconds=seconds))
    third = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()
    assert third["duration_seconds"] is None
    history = api.get(f"/api/pipelines/{pipeline}/runs/").json()
    assert [(r["id"], r["status"], r["duration_seconds"]) for r in history] == [
        (third["id"], "queued", None), (second.id, "failed", 3.25), (first.id, "succeeded", 12.5)]
    assert [r["id"] for r in api.get(f"/api/pipelines/{pipeline}/runs/?limit=1").json()] == [third["id"]]
    assert api.get(f"/api/pipelines/{pipeline}/runs/?limit=0").status_code == 400
    assert client_for(outsider).get(f"/api/pipelines/{pipeline}/runs/").status_code == 404


@pytest.mark.django_db
def test_new_run_answers_match_the_schema(api: APIClient, viewer: Any) -> None:
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    contract = Contract(json.loads(OpenApiJsonRenderer().render(generated, renderer_context={})))
    run = new_run(api, allow_concurrent_runs=False)
    services.run_record_output(run_id=run.id, output=[
        NodeMetric(node="orders", port="out", rows=4), QualityResult(node="big", rule="r", passed=1, failed=0)])
    refused = api.post(f"/api/pipelines/{run.pipeline_id}/runs/", {}, format="json")
    assert contract(refused, "post", "/api/pipelines/{id}/runs/")["active_run"] == run.id
    contract(api.get(f"/api/pipelines/{run.pipeline_id}/runs/"), "get", "/api/pipelines/{id}/runs/")
    contract(api.get(f"/api/pipelines/{run.pipeline_id}/runs/?limit=x"), "get", "/api/pipelines/{id}/runs/")
    contract(api.get(f"/api/runs/{run.id}/"), "get", "/api/runs/{id}/")
    contract(api.get(f"/api/runs/{run.id}/nodes/"), "get", "/api/runs/{id}/nodes/")
    contract(api.get(f"/api/runs/{run.id}/metrics/"), "get", "/api/runs/{id}/metrics/")
    contract(api.get(f"/api/runs/{run.id}/metrics/?limit=0"), "get", "/api/runs/{id}/metrics/")
    contract(api.get("/api/runs/999999/nodes/"), "get", "/api/runs/{id}/nodes/")
    services.run_claim(run_id=run.id)
    contract(api.post(f"/api/runs/{run.id}/cancel/"), "post", "/api/runs/{id}/cancel/")
    contract(api.get(f"/api/runs/{run.id}/"), "get", "/api/runs/{id}/")
    pk = run.pipeline_id
    contract(client_for(viewer).patch(f"/api/pipelines/{pk}/", {"max_attempts": 2}, format="json"),
             "patch", "/api/pipelines/{id}/")
    contract(api.patch(f"/api/pipelines/{pk}/", {"max_attempts": 2, "timeout_seconds": None}, format="json"),
             "patch", "/api/pipelines/{id}/")
    contract(api.patch(f"/api/pipelines/{pk}/", {"max_attempts": 11}, format="json"), "patch", "/api/pipelines/{id}/")
    assert api.get(f"/api/runs/{run.id}/").json()["events"][-1]["to_status"] == "cancelling"
