"""Starting, listing, logging and cancelling runs through the REST API (no worker here)."""
from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from studio.runs import services
from studio.runs.models import Run
from tests.studio.conftest import client_for
from tests.studio.documents import filter_pipeline


def pipeline_with_version(api: APIClient, document: Any = None) -> int:
    response = api.post("/api/pipelines/", {"workspace": "team", "name": "p", "document": document or filter_pipeline()},
                        format="json")
    return response.json()["id"]


def test_start_a_run_queues_it_and_enqueues_its_id(api: APIClient, django_capture_on_commit_callbacks: Any) -> None:
    pipeline = pipeline_with_version(api)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(f"/api/pipelines/{pipeline}/runs/", {"parameters": {"min_amount": "120"}}, format="json")
    assert response.status_code == 201, response.json()
    run = response.json()
    assert run["status"] == "queued" and run["engine"] == "spark" and run["version"] == 1
    assert run["parameters"] == {"min_amount": "120"}
    assert len(callbacks) == 1  # the task is sent only once the run row is committed
    listed = api.get(f"/api/runs/?pipeline={pipeline}").json()
    assert [r["id"] for r in listed] == [run["id"]]
    assert api.get("/api/pipelines/").json()[0]["last_run"]["id"] == run["id"]
    renamed = api.patch(f"/api/pipelines/{pipeline}/", {"description": "renamed"}, format="json").json()
    assert renamed["last_run"]["id"] == run["id"] and renamed["description"] == "renamed"


def test_a_pipeline_without_version_cannot_run(api: APIClient) -> None:
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": "empty"}, format="json").json()["id"]
    response = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json")
    assert response.status_code == 400
    assert "no version" in str(response.json()["detail"])


def test_an_invalid_version_or_parameter_is_refused_before_queueing(api: APIClient) -> None:
    draft = filter_pipeline()
    draft["nodes"][1]["config"]["condition"] = "amout > 1"
    pipeline = pipeline_with_version(api, draft)
    response = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json")
    assert response.status_code == 400 and response.json()["valid"] is False
    good = api.post("/api/pipelines/", {"workspace": "team", "name": "good", "document": filter_pipeline()}, format="json").json()["id"]
    unknown = api.post(f"/api/pipelines/{good}/runs/", {"parameters": {"nope": 1}}, format="json")
    assert unknown.status_code == 400
    assert any("nope" in e["message"] for e in unknown.json()["errors"])
    assert Run.objects.count() == 0


def test_log_is_paginated_by_sequence(api: APIClient) -> None:
    pipeline = pipeline_with_version(api)
    run_id = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    services.run_append_log(run_id=run_id, lines=[f"line {i}" for i in range(1, 8)])
    services.run_append_log(run_id=run_id, lines=["ERROR something broke"])
    first = api.get(f"/api/runs/{run_id}/log/?limit=5").json()
    assert [line["text"] for line in first["lines"]] == [f"line {i}" for i in range(1, 6)]
    rest = api.get(f"/api/runs/{run_id}/log/?after={first['next']}").json()
    assert [line["seq"] for line in rest["lines"]] == [6, 7, 8]
    assert rest["lines"][-1]["level"] == "error"
    assert api.get(f"/api/runs/{run_id}/log/?after=-1").status_code == 400


def test_cancel_a_queued_run_and_not_a_finished_one(api: APIClient) -> None:
    pipeline = pipeline_with_version(api)
    run_id = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    cancelled = api.post(f"/api/runs/{run_id}/cancel/")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    again = api.post(f"/api/runs/{run_id}/cancel/")
    assert again.status_code == 409
    # A redelivered task finds the run settled and leaves it alone.
    assert services.run_claim(run_id=run_id) is False


def test_claim_is_idempotent(api: APIClient) -> None:
    pipeline = pipeline_with_version(api)
    run_id = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    assert services.run_claim(run_id=run_id) is True
    assert services.run_claim(run_id=run_id) is False
    assert Run.objects.get(pk=run_id).started_at is not None


def test_runs_of_other_workspaces_are_invisible(api: APIClient, outsider: Any) -> None:
    pipeline = pipeline_with_version(api)
    run_id = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    other = client_for(outsider)
    assert other.get("/api/runs/").json() == []
    for url in (f"/api/runs/{run_id}/", f"/api/runs/{run_id}/log/"):
        assert other.get(url).status_code == 404
    assert other.post(f"/api/runs/{run_id}/cancel/").status_code == 404
