"""Streaming deployments, end to end with real engines through a real Celery worker: a stream runs as
a long-lived deployment, records throughput per micro-batch, stops keeping its checkpoint, resumes
from it (nothing read twice, nothing lost), and upgrades to a new version from the same state when
that state can serve it (refused with reasons, or reset on request, when not).

Outputs are read as the engines commit them: for Spark, the files its sink's `_spark_metadata` log
lists; for Flink, the files it has made visible.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from runners.celery import app as celery_app
from runners.output import Alert, NodeMetric, SourceLag
from studio.access.models import Workspace
from studio.connections.services import connection_create
from studio.runs import services
from studio.runs.models import Deployment
from tests.studio.conftest import client_for
from tests.studio.documents import filter_pipeline
from tests.studio.test_openapi import Contract, contract, schema  # noqa: F401 - fixtures used below
from tests.studio.test_run_execution import log_text

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]

FINISHED = {"succeeded", "failed", "cancelled", "lost"}


def stream_document(name: str, *, condition: str = "page <> 'skip'", folder: str = "landing/clicks",
                    sink: str = "curated/clicks") -> dict[str, Any]:
    """Watch a folder of JSON files, keep some rows, append them to a JSON folder."""
    return {
        "format": "studio.pipeline/v1",
        "name": name,
        "mode": "streaming",
        "nodes": [
            {"id": "clicks", "type": "source.file",
             "config": {"path": folder, "format": "json", "streaming": True,
                        "schema": [{"name": "user_id", "type": "bigint"}, {"name": "page", "type": "string"}]}},
            {"id": "keep", "type": "transform.filter", "config": {"condition": condition}},
            {"id": "out", "type": "sink.file",
             "config": {"path": sink, "format": "json", "mode": "append"}},
        ],
        "edges": [
            {"from": {"node": "clicks", "port": "out"}, "to": {"node": "keep", "port": "in"}},
            {"from": {"node": "keep", "port": "out"}, "to": {"node": "out", "port": "in"}},
        ],
    }


@pytest.fixture
def folders(settings: Any, tmp_path: Path) -> Path:
    settings.STUDIO_DATA_DIR = tmp_path / "data"
    settings.STUDIO_RUNS_DIR = tmp_path / "runs"
    settings.STUDIO_DEPLOYMENTS_DIR = tmp_path / "deployments"
    (tmp_path / "data" / "landing" / "clicks").mkdir(parents=True)
    return tmp_path / "data"


@pytest.fixture
def worker(folders: Path) -> Iterator[None]:
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"):
        yield


def drop(data: Path, name: str, rows: list[tuple[int, str]], folder: str = "landing/clicks") -> None:
    """Write a file the way a producer should: complete under a hidden name, then renamed into view."""
    target = data / folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    hidden = target.with_name("." + name)
    hidden.write_text("".join(json.dumps({"user_id": u, "page": p}) + "\n" for u, p in rows))
    hidden.rename(target)


def spark_committed(folder: Path) -> list[tuple[int, str]]:
    """Rows of the files a Spark file sink has committed (listed in its `_spark_metadata` log)."""
    log = folder / "_spark_metadata"
    files: list[Path] = []
    for entry in sorted(log.glob("[0-9]*"), key=lambda p: int(p.name.split(".")[0])) if log.is_dir() else []:
        for line in entry.read_text().splitlines()[1:]:  # the first line is the log's version
            files.append(Path(json.loads(line)["path"].removeprefix("file://")))
    return sorted((r["user_id"], r["page"]) for f in files for r in map(json.loads, f.read_text().splitlines()))


def flink_committed(folder: Path) -> list[tuple[int, str]]:
    """Rows of the files a Flink file sink has made visible (in-progress files are hidden)."""
    files = [f for f in folder.glob("**/*") if f.is_file() and not f.name.startswith((".", "_"))] if folder.is_dir() \
        else []
    return sorted((r["user_id"], r["page"]) for f in files for r in map(json.loads, f.read_text().splitlines()))


def wait_until(what: str, condition: Callable[[], Any], timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s")


def deployment(api: APIClient, pk: int) -> dict[str, Any]:
    return api.get(f"/api/deployments/{pk}/").json()


def wait_status(api: APIClient, pk: int, status: str, timeout: float = 240) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        found = deployment(api, pk)
        assert found["status"] != "failed" or status == "failed", (found["run"], log_text(api, found["run"]["id"]))
        return found if found["status"] == status else None

    return wait_until(f"deployment {pk} {status}", reached, timeout)


def new_pipeline(api: APIClient, document: dict[str, Any]) -> int:
    response = api.post("/api/pipelines/", {"workspace": "team", "name": document["name"], "document": document},
                        format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def save_version(api: APIClient, pipeline: int, document: dict[str, Any], base: int) -> int:
    response = api.post(f"/api/pipelines/{pipeline}/versions/", {"document": document, "base_version": base},
                        format="json")
    assert response.status_code == 201, response.json()
    return response.json()["number"]


@pytest.mark.spark
def test_a_spark_stream_deploys_stops_with_its_checkpoint_resumes_and_upgrades(
    api: APIClient, worker: None, folders: Path,
) -> None:
    pipeline = new_pipeline(api, stream_document("clicks_live"))
    drop(folders, "a.json", [(1, "home"), (2, "skip"), (3, "cart")])
    created = api.post(f"/api/pipelines/{pipeline}/deployments/", {"engine": "spark"}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    out = folders / "curated" / "clicks"

    wait_until("the first file's rows", lambda: spark_committed(out) == [(1, "home"), (3, "cart")])
    running = wait_status(api, pk, "running")
    first_run = running["run"]["id"]
    assert running["heartbeat_at"] is not None
    progress = wait_until("a micro-batch reported", lambda: api.get(f"/api/deployments/{pk}/progress/").json())
    assert progress[0]["run"] == first_run and progress[0]["rows"] == 3 and progress[0]["duration_ms"] > 0
    assert progress[0]["rows_per_second"] > 0
    nodes = {n["node"]: n for n in api.get(f"/api/runs/{first_run}/nodes/").json()}
    assert (nodes["clicks"]["rows_out"], nodes["keep"]["rows_out"], nodes["clicks"]["batches"]) == (3, 2, 1)

    # Stop: the job finishes its micro-batch and stops; the checkpoint stays.
    assert api.post(f"/api/deployments/{pk}/stop/").status_code == 202
    stopped = wait_status(api, pk, "stopped", timeout=90)
    assert stopped["run"]["status"] == "cancelled" and stopped["desired"] == "stopped"
    assert "state is kept" in api.get(f"/api/runs/{first_run}/").json()["events"][-1]["reason"]
    assert (Path(stopped["state_dir"]) / "checkpoints" / "out" / "offsets").is_dir()
    assert api.post(f"/api/deployments/{pk}/stop/").status_code == 409

    # While it is stopped, a file arrives; started again, it reads only that file.
    drop(folders, "b.json", [(4, "home"), (5, "skip")])
    assert api.post(f"/api/deployments/{pk}/start/").status_code == 202
    assert api.post(f"/api/deployments/{pk}/start/").status_code == 409  # already running
    wait_until("the second file's rows", lambda: spark_committed(out) == [(1, "home"), (3, "cart"), (4, "home")])
    second = wait_status(api, pk, "running")["run"]["id"]
    assert second != first_run

    # Upgrade: a changed filter can use the checkpoint; the new version reads only new files.
    upgraded = stream_document("clicks_live", condition="page <> 'skip' AND user_id < 100")
    version = save_version(api, pipeline, upgraded, base=1)
    answer = api.post(f"/api/deployments/{pk}/upgrade/", {"version": version}, format="json")
    assert answer.status_code == 202, answer.json()
    third = wait_until("the upgraded run", lambda: (d := deployment(api, pk))["status"] == "running"
                       and d["run"]["id"] != second and d["run"])
    assert third["version"] == version
    drop(folders, "c.json", [(6, "home"), (600, "home")])
    wait_until("the third file's rows, filtered by the new version",
               lambda: spark_committed(out) == [(1, "home"), (3, "cart"), (4, "home"), (6, "home")])
    assert api.get(f"/api/runs/{second}/").json()["status"] == "cancelled"

    # A changed source cannot use the checkpoint: refused with the reason, unless the state is reset;
    # and with fresh state, the sink needs a folder without the old stream's log of batches.
    moved = stream_document("clicks_live", folder="landing/other")
    version = save_version(api, pipeline, moved, base=version)
    refused = api.post(f"/api/deployments/{pk}/upgrade/", {"version": version}, format="json")
    assert refused.status_code == 409
    assert any("Source 'clicks' changed" in problem for problem in refused.json()["problems"])
    assert deployment(api, pk)["version"] == version - 1  # nothing changed
    same_folder = api.post(f"/api/deployments/{pk}/upgrade/", {"version": version, "reset_state": True},
                           format="json")
    assert same_folder.status_code == 409 and "_spark_metadata" in same_folder.json()["problems"][0]
    moved["nodes"][2]["config"]["path"] = "curated/clicks_v2"
    version = save_version(api, pipeline, moved, base=version)
    drop(folders, "d.json", [(7, "home"), (8, "skip")], folder="landing/other")
    reset = api.post(f"/api/deployments/{pk}/upgrade/", {"version": version, "reset_state": True}, format="json")
    assert reset.status_code == 202 and reset.json()["deployment"]["state_generation"] == 2
    wait_until("the other folder's rows", lambda: spark_committed(folders / "curated" / "clicks_v2") == [(7, "home")])

    assert api.delete(f"/api/deployments/{pk}/").status_code == 409  # still running
    assert api.post(f"/api/deployments/{pk}/stop/").status_code == 202
    wait_status(api, pk, "stopped", timeout=90)
    state = Path(deployment(api, pk)["state_dir"]).parent
    assert api.delete(f"/api/deployments/{pk}/").status_code == 204
    assert not state.exists()
    runs = api.get(f"/api/pipelines/{pipeline}/runs/").json()
    assert {run["trigger"] for run in runs} == {"deployment"} and all(run["status"] in FINISHED for run in runs)


@pytest.mark.flink
def test_a_flink_stream_on_a_local_mini_cluster_resumes_from_its_retained_checkpoint(
    api: APIClient, worker: None, folders: Path, settings: Any,
) -> None:
    settings.FLINK_JOBMANAGER = ""
    pipeline = new_pipeline(api, stream_document("clicks_flink"))
    drop(folders, "a.json", [(1, "home"), (2, "skip")])
    pk = api.post(f"/api/pipelines/{pipeline}/deployments/", {"engine": "flink"}, format="json").json()["id"]
    out = folders / "curated" / "clicks"
    # The file sink makes its files visible when a checkpoint completes (every 10 s).
    wait_until("the first file's rows", lambda: flink_committed(out) == [(1, "home")], timeout=300)
    state = Path(deployment(api, pk)["state_dir"])
    wait_until("a retained checkpoint", lambda: list((state / "checkpoints").glob("*/chk-*/_metadata")))
    first_run = deployment(api, pk)["run"]["id"]
    assert api.post(f"/api/deployments/{pk}/stop/").status_code == 202
    wait_status(api, pk, "stopped", timeout=90)

    drop(folders, "b.json", [(3, "cart")])
    assert api.post(f"/api/deployments/{pk}/start/").status_code == 202
    wait_until("the second file's rows, the first ones not again",
               lambda: flink_committed(out) == [(1, "home"), (3, "cart")], timeout=300)
    second_run = deployment(api, pk)["run"]["id"]
    assert second_run != first_run
    assert "It starts from the saved state" in log_text(api, second_run)
    assert api.post(f"/api/deployments/{pk}/stop/").status_code == 202
    wait_status(api, pk, "stopped", timeout=90)
    assert flink_committed(out) == [(1, "home"), (3, "cart")]


# --- without an engine: what is refused, who may do what, and the answers' shapes -------------------


def test_deployments_refuse_batch_pipelines_and_strangers(api: APIClient, viewer: Any, outsider: Any) -> None:
    batch = new_pipeline(api, filter_pipeline(name="batchy"))
    refused = api.post(f"/api/pipelines/{batch}/deployments/", {}, format="json")
    assert refused.status_code == 400 and "batch pipeline" in refused.json()["version"][0]
    stream = new_pipeline(api, stream_document("s"))
    assert client_for(viewer).post(f"/api/pipelines/{stream}/deployments/", {}, format="json").status_code == 403
    assert client_for(outsider).post(f"/api/pipelines/{stream}/deployments/", {}, format="json").status_code == 404
    pk = api.post(f"/api/pipelines/{stream}/deployments/", {}, format="json").json()["id"]
    assert deployment(api, pk)["status"] == "starting"
    assert client_for(viewer).get(f"/api/deployments/{pk}/").status_code == 200
    assert client_for(viewer).post(f"/api/deployments/{pk}/stop/").status_code == 403
    assert client_for(outsider).get(f"/api/deployments/{pk}/").status_code == 404
    assert [d["id"] for d in client_for(outsider).get("/api/deployments/").json()] == []
    assert [d["id"] for d in api.get(f"/api/deployments/?pipeline={stream}").json()] == [pk]
    # Stopped before a worker took it: its queued run is cancelled at once.
    stopped = api.post(f"/api/deployments/{pk}/stop/").json()
    assert stopped["status"] == "stopped" and stopped["run"]["status"] == "cancelled"
    assert Deployment.objects.get(pk=pk).desired == "stopped"


def test_deployment_progress_alert_and_webhook_answers_match_the_schema(
    api: APIClient, contract: Contract,  # noqa: F811 - the fixture
) -> None:
    stream = new_pipeline(api, stream_document("shaped"))
    created = contract(api.post(f"/api/pipelines/{stream}/deployments/", {"parameters": {}}, format="json"),
                       "post", "/api/pipelines/{id}/deployments/")
    pk = created["id"]
    contract(api.post(f"/api/pipelines/{stream}/deployments/", {"engine": "nope"}, format="json"),
             "post", "/api/pipelines/{id}/deployments/")
    contract(api.get(f"/api/pipelines/{stream}/deployments/"), "get", "/api/pipelines/{id}/deployments/")
    contract(api.get("/api/deployments/"), "get", "/api/deployments/")
    contract(api.get("/api/deployments/?pipeline=x"), "get", "/api/deployments/")
    contract(api.get(f"/api/deployments/{pk}/"), "get", "/api/deployments/{id}/")
    contract(api.post(f"/api/deployments/{pk}/start/"), "post", "/api/deployments/{id}/start/")  # 409: running
    contract(api.delete(f"/api/deployments/{pk}/"), "delete", "/api/deployments/{id}/")  # 409: running
    run_id = created["run"]["id"]
    services.run_record_output(run_id=run_id, output=[
        NodeMetric(node="clicks", port="out", rows=5, batch=0, duration_ms=250),
        SourceLag(node="clicks", lag=40, batch=0),
        NodeMetric(node="clicks", port="out", rows=7, batch=1, duration_ms=500),
        Alert(node="keep", severity="info", message="x"),
    ])
    progress = contract(api.get(f"/api/runs/{run_id}/progress/"), "get", "/api/runs/{id}/progress/")
    assert [(p["batch"], p["rows"], p["rows_per_second"], p["lag"]) for p in progress] == [
        (0, 5, 20.0, 40), (1, 7, 14.0, None)]
    assert contract(api.get(f"/api/deployments/{pk}/progress/?limit=1"), "get",
                    "/api/deployments/{id}/progress/")[0]["batch"] == 1
    contract(api.get(f"/api/deployments/{pk}/progress/?limit=0"), "get", "/api/deployments/{id}/progress/")
    detail = contract(api.get(f"/api/deployments/{pk}/"), "get", "/api/deployments/{id}/")
    assert detail["progress"]["batch"] == 1
    nodes = {n["node"]: n for n in contract(api.get(f"/api/runs/{run_id}/nodes/"), "get", "/api/runs/{id}/nodes/")}
    assert (nodes["clicks"]["rows_out"], nodes["clicks"]["lag"], nodes["clicks"]["batches"]) == (12, 40, 2)
    assert contract(api.get(f"/api/runs/{run_id}/alerts/"), "get", "/api/runs/{id}/alerts/")["next"] == 1
    contract(api.get(f"/api/runs/{run_id}/alerts/?after=-1"), "get", "/api/runs/{id}/alerts/")

    version = save_version(api, stream, stream_document("shaped", folder="landing/moved"), base=1)
    refused = contract(api.post(f"/api/deployments/{pk}/upgrade/", {"version": version}, format="json"),
                       "post", "/api/deployments/{id}/upgrade/")
    assert refused["problems"]
    filtered = save_version(api, stream, stream_document("shaped", condition="user_id > 1"), base=version)
    upgraded = contract(api.post(f"/api/deployments/{pk}/upgrade/", {"version": filtered}, format="json"),
                        "post", "/api/deployments/{id}/upgrade/")
    assert upgraded["deployment"]["version"] == filtered and upgraded["notes"] == []
    stopped = contract(api.post(f"/api/deployments/{pk}/stop/"), "post", "/api/deployments/{id}/stop/")
    assert stopped["status"] == "stopped"
    contract(api.post(f"/api/deployments/{pk}/stop/"), "post", "/api/deployments/{id}/stop/")  # 409: not running
    contract(api.delete(f"/api/deployments/{pk}/"), "delete", "/api/deployments/{id}/")

    connection_create(workspace=Workspace.objects.get(slug="team"), name="hook", kind="webhook",
                      user=get_user_model().objects.get(username="otto"), settings={"url": "http://example.com/a"})
    hook = contract(api.post("/api/webhooks/", {"workspace": "team", "connection": "hook"}, format="json"),
                    "post", "/api/webhooks/")
    contract(api.post("/api/webhooks/", {"workspace": "team"}, format="json"), "post", "/api/webhooks/")
    contract(api.get("/api/webhooks/"), "get", "/api/webhooks/")
    contract(api.get(f"/api/webhooks/{hook['id']}/"), "get", "/api/webhooks/{id}/")
    contract(api.patch(f"/api/webhooks/{hook['id']}/", {"enabled": False}, format="json"), "patch",
             "/api/webhooks/{id}/")
    contract(api.delete(f"/api/webhooks/{hook['id']}/"), "delete", "/api/webhooks/{id}/")
    assert len(contract.checked) >= 25
