"""Alerts: what a run raises is stored, logged, served, and POSTed by a real Celery worker (on the
control queue) to the webhook connections its workspace or pipeline routes alerts to, here a real
local HTTP server that fails first, then succeeds; failures are retried with backoff and recorded."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from runners.celery import app as celery_app
from runners.output import Alert
from studio.access.models import Workspace
from studio.connections.services import connection_create
from studio.runs import services
from studio.runs.models import Run
from tests.studio.conftest import client_for
from tests.studio.documents import ORDERS_CSV, filter_pipeline
from tests.studio.test_run_execution import FINISHED, log_text, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]


class Receiver:
    """A webhook receiver on loopback that answers 503 to its first `failures` requests, then 204."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[int, dict[str, str], bytes]] = []  # (answer, headers, body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = 503 if len(receiver.requests) < receiver.failures else 204
                receiver.requests.append((answer, dict(self.headers), body))
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self) -> list[dict[str, Any]]:
        return [json.loads(body) for answer, _, body in self.requests if answer == 204]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(failures=2)
    yield server
    server.server.shutdown()


@pytest.fixture
def worker(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.STUDIO_DATA_DIR = tmp_path / "data"
    settings.STUDIO_RUNS_DIR = tmp_path / "runs"
    (tmp_path / "data" / "in").mkdir(parents=True)
    (tmp_path / "data" / "in" / "orders.csv").write_text(ORDERS_CSV)
    settings.STUDIO_WEBHOOK_BACKOFF_SECONDS = 0.3
    settings.STUDIO_WEBHOOK_MAX_ATTEMPTS = 3
    settings.STUDIO_WEBHOOK_TIMEOUT_SECONDS = 3
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING",
                      queues=["celery", "control"]):
        yield


def wait_until(what: str, condition: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def new_pipeline(api: APIClient, document: dict[str, Any]) -> int:
    return api.post("/api/pipelines/", {"workspace": "team", "name": document["name"], "document": document},
                    format="json").json()["id"]


def alerts(api: APIClient, run_id: int) -> list[dict[str, Any]]:
    return api.get(f"/api/runs/{run_id}/alerts/").json()["alerts"]


def admin() -> Any:
    return get_user_model().objects.get_or_create(username="ada")[0]


def hook_connection(name: str, url: str, token: str | None = None) -> None:
    """A webhook connection of the `team` workspace, as an admin adds it under Connections."""
    connection_create(workspace=Workspace.objects.get(slug="team"), name=name, kind="webhook", user=admin(),
                      settings={"url": url}, secrets={"token": token} if token else {})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_alerts_are_delivered_after_failures_with_backoff_and_the_connections_token(
    api: APIClient, worker: None, receiver: Receiver, viewer: Any, outsider: Any,
) -> None:
    pipeline = new_pipeline(api, filter_pipeline(name="watched"))
    other = new_pipeline(api, filter_pipeline(name="other"))
    hook_connection("oncall", receiver.url, token="t0ken-for-oncall")
    hook_connection("other_team", receiver.url + "?other")
    hook_connection("paused", receiver.url + "?paused")
    hook = api.post("/api/webhooks/", {"workspace": "team", "connection": "oncall"}, format="json")
    assert hook.status_code == 201, hook.json()
    assert (hook.json()["connection"], hook.json()["url"], hook.json()["pipeline"]) == ("oncall", receiver.url, None)
    # A webhook of another pipeline, and a disabled one: neither receives these alerts.
    api.post("/api/webhooks/", {"workspace": "team", "pipeline": other, "connection": "other_team"}, format="json")
    paused = api.post("/api/webhooks/", {"workspace": "team", "connection": "paused"}, format="json").json()
    assert api.patch(f"/api/webhooks/{paused['id']}/", {"enabled": False}, format="json").json()["enabled"] is False

    run = Run.objects.get(pk=api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"])
    api.post(f"/api/runs/{run.id}/cancel/")  # the alerts come from the output below, not from a job
    services.run_record_output(run_id=run.id, output=[
        Alert(node="big", severity="critical", message="order 2 is 150.50")])

    def delivered_alerts(count: int) -> list[dict[str, Any]] | None:
        found = alerts(api, run.id)
        done = [a for a in found if a["deliveries"][0]["status"] == "delivered"]
        return found if len(done) == count else None

    retried = wait_until("the first alert delivered", lambda: delivered_alerts(1))[0]["deliveries"]
    assert len(retried) == 1  # only the enabled workspace webhook
    history = retried[0]["history"]
    assert [entry["status_code"] for entry in history] == [503, 503, 204]
    assert "503" in history[0]["error"] and history[-1]["error"] == ""
    at = [datetime.fromisoformat(entry["at"]) for entry in history]
    assert (at[1] - at[0]).total_seconds() >= 0.3 and (at[2] - at[1]).total_seconds() >= 0.6  # the backoff

    services.run_record_output(run_id=run.id, output=[
        Alert(node="big", severity="warning", message="order 4 is 100.01")])
    found = wait_until("the second alert delivered", lambda: delivered_alerts(2))
    assert [(a["seq"], a["severity"], a["message"], a["deliveries"][0]["attempts"]) for a in found] == [
        (1, "critical", "order 2 is 150.50", 3), (2, "warning", "order 4 is 100.01", 1)]

    assert len(receiver.requests) == 4
    delivered = receiver.delivered()
    assert sorted(d["alert"]["message"] for d in delivered) == ["order 2 is 150.50", "order 4 is 100.01"]
    assert {d["format"] for d in delivered} == {"studio.alert/v1"}
    assert {d["run"]["id"] for d in delivered} == {run.id} and delivered[0]["run"]["pipeline_name"] == "watched"
    for answer, headers, body in receiver.requests:
        assert headers["Authorization"] == "Bearer t0ken-for-oncall"
        assert headers["X-Studio-Delivery"] == str(json.loads(body)["delivery"]["id"])
    assert "t0ken" not in json.dumps(api.get("/api/webhooks/").json()) + log_text(api, run.id)

    log = log_text(api, run.id)
    assert "ALERT [critical] big: order 2 is 150.50" in log and "ALERT [warning] big: order 4 is 100.01" in log
    assert client_for(viewer).get(f"/api/runs/{run.id}/alerts/").status_code == 200
    assert client_for(outsider).get(f"/api/runs/{run.id}/alerts/").status_code == 404
    assert client_for(viewer).post("/api/webhooks/", {"workspace": "team", "connection": "oncall"},
                                   format="json").status_code == 403
    assert client_for(outsider).get(f"/api/webhooks/{paused['id']}/").status_code == 404


def test_a_delivery_that_keeps_failing_ends_failed_with_every_attempt_recorded(
    api: APIClient, worker: None,
) -> None:
    pipeline = new_pipeline(api, filter_pipeline(name="nowhere"))
    dead = f"http://127.0.0.1:{free_port()}/gone"  # nothing listens there
    hook_connection("nowhere", dead)
    assert api.post("/api/webhooks/", {"workspace": "team", "pipeline": pipeline, "connection": "nowhere"},
                    format="json").status_code == 201
    run = Run.objects.get(pk=api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"])
    api.post(f"/api/runs/{run.id}/cancel/")
    services.run_record_output(run_id=run.id, output=[Alert(node="n", severity="info", message="hello")])
    delivery = wait_until("the delivery given up", lambda: (d := alerts(api, run.id)[0]["deliveries"][0])["status"]
                          == "failed" and d)
    assert delivery["attempts"] == 3 and len(delivery["history"]) == 3
    assert all(e["status_code"] is None and "No answer from the webhook" in e["error"] for e in delivery["history"])
    assert delivery["delivered_at"] is None and delivery["next_attempt_at"] is None
    assert f"could not be delivered to {dead} after 3 attempts" in wait_until(
        "the failure in the run's log", lambda: (text := log_text(api, run.id)) and "could not be delivered" in text
        and text)


def test_webhooks_are_checked_when_configured(api: APIClient, outsider: Any) -> None:
    pipeline = new_pipeline(api, filter_pipeline(name="mine"))
    hook_connection("hook", "http://example.com/a")
    connection_create(workspace=Workspace.objects.get(slug="team"), name="broker", kind="kafka", user=admin(),
                      settings={"bootstrap_servers": "127.0.0.1:9092"})
    unknown = api.post("/api/webhooks/", {"workspace": "team", "connection": "nope"}, format="json")
    assert unknown.status_code == 400 and "has no connection named 'nope'" in unknown.json()["connection"][0]
    kafka = api.post("/api/webhooks/", {"workspace": "team", "connection": "broker"}, format="json")
    assert kafka.status_code == 400 and "is a kafka connection" in kafka.json()["connection"][0]
    assert api.post("/api/webhooks/", {"workspace": "nope", "connection": "hook"}, format="json").status_code == 404
    assert api.post("/api/webhooks/", {"workspace": "team", "pipeline": 999999, "connection": "hook"},
                    format="json").status_code == 404
    created = api.post("/api/webhooks/", {"workspace": "team", "pipeline": pipeline, "connection": "hook"},
                       format="json").json()
    assert (created["pipeline"], created["url"]) == (pipeline, "http://example.com/a")
    again = api.post("/api/webhooks/", {"workspace": "team", "pipeline": pipeline, "connection": "hook"},
                     format="json")
    assert again.status_code == 400 and f"Webhook {created['id']} already sends" in again.json()["connection"][0]
    assert api.post("/api/webhooks/", {"workspace": "team", "connection": "hook"}, format="json").status_code == 201
    assert api.patch(f"/api/webhooks/{created['id']}/", {"enabled": False}, format="json").json()["enabled"] is False
    assert client_for(outsider).delete(f"/api/webhooks/{created['id']}/").status_code == 404
    assert api.delete(f"/api/webhooks/{created['id']}/").status_code == 204
    assert api.get(f"/api/webhooks/{created['id']}/").status_code == 404


@pytest.mark.spark
def test_a_spark_jobs_alert_sink_reaches_the_webhook(api: APIClient, worker: None, receiver: Receiver) -> None:
    receiver.failures = 1
    document = filter_pipeline(name="alerting")
    document["nodes"][1:] = [{"id": "big", "type": "sink.alert", "config": {
        "condition": "amount > ${min_amount}", "message": "order {order_id} is {amount}", "severity": "warning"}}]
    document["edges"] = [{"from": {"node": "orders", "port": "out"}, "to": {"node": "big", "port": "in"}}]
    pipeline = new_pipeline(api, document)
    hook_connection("alerts", receiver.url)
    api.post("/api/webhooks/", {"workspace": "team", "pipeline": pipeline, "connection": "alerts"}, format="json")
    run_id = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    run = wait_for(api, run_id, FINISHED)
    assert run["status"] == "succeeded", run["error"] + log_text(api, run_id)
    wait_until("both alerts delivered", lambda: len(receiver.delivered()) == 2)
    assert sorted(d["alert"]["message"] for d in receiver.delivered()) == ["order 2 is 150.50", "order 4 is 100.01"]
    assert [a["node"] for a in alerts(api, run_id)] == ["big", "big"]
