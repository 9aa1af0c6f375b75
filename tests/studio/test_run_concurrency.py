"""Four Spark runs at once through a real Celery worker process (four slots, as `studio_up` starts
it), each with its own parameters, input and output, without interfering; and a pipeline that
refuses to run twice at once says which run is in the way."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from rest_framework.test import APIClient

from tests.studio.documents import FILTER_PIPELINE, ORDERS_CSV
from tests.studio.test_run_deployments import stream_document
from tests.studio.test_run_execution import FINISHED, log_text, wait_for
from tests.studio.test_run_reliability import Processes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery, pytest.mark.spark]

TAGS = ("north", "south", "east", "west")


def tagged_pipeline() -> dict[str, Any]:
    """The filter pipeline reading in/<tag>.csv and writing out/<tag>."""
    document = copy.deepcopy(FILTER_PIPELINE)
    document["name"] = "by_region"
    document["parameters"].append({"name": "tag", "type": "string", "default": "north"})
    document["nodes"][0]["config"]["path"] = "in/${tag}.csv"
    document["nodes"][2]["config"]["path"] = "out/${tag}"
    return document


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "in").mkdir(parents=True)
    # Each region has its own orders: ids n*100 + 1..4, amounts as in ORDERS_CSV.
    for n, tag in enumerate(TAGS, start=1):
        lines = ORDERS_CSV.splitlines()
        rows = [f"{n * 100 + int(line.split(',')[0])},{line.split(',', 1)[1]}" for line in lines[1:]]
        (data / "in" / f"{tag}.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    settings.STUDIO_DATA_DIR = data
    settings.STUDIO_RUNS_DIR = tmp_path / "runs"
    return data


@pytest.fixture
def processes(tmp_path: Path, data_dir: Path) -> Iterator[Processes]:
    started = Processes(tmp_path, data_dir)
    yield started
    started.stop()


def test_four_spark_runs_at_once_each_write_their_own_output(
    api: APIClient, data_dir: Path, processes: Processes,
) -> None:
    processes.worker(concurrency=4)
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": "by_region", "document": tagged_pipeline()},
                        format="json").json()["id"]
    runs = {}
    for tag in TAGS:
        response = api.post(f"/api/pipelines/{pipeline}/runs/", {"parameters": {"tag": tag}}, format="json")
        assert response.status_code == 201, response.json()
        runs[tag] = response.json()["id"]
    finished = {tag: wait_for(api, run_id, FINISHED, timeout=600) for tag, run_id in runs.items()}
    for tag, run in finished.items():
        assert run["status"] == "succeeded", run["error"] + log_text(api, run["id"])
    # They ran at the same time: all four started before any one finished.
    assert max(run["started_at"] for run in finished.values()) < min(run["finished_at"] for run in finished.values())
    for n, tag in enumerate(TAGS, start=1):
        rows = pq.read_table(data_dir / "out" / tag).to_pylist()
        assert sorted(row["order_id"] for row in rows) == [n * 100 + 2, n * 100 + 4], tag
        nodes = {node["node"]: node for node in api.get(f"/api/runs/{runs[tag]}/nodes/").json()}
        assert (nodes["orders"]["rows_out"], nodes["out"]["rows_in"]) == (4, 2), tag
        assert f"{tag}.csv" in finished[tag]["code"] and all(
            f"{other}.csv" not in finished[tag]["code"] for other in TAGS if other != tag)


def test_a_pipeline_that_refuses_concurrent_runs_names_the_run_in_the_way(
    api: APIClient, data_dir: Path, processes: Processes,
) -> None:
    processes.worker(concurrency=2)
    (data_dir / "landing" / "clicks").mkdir(parents=True)
    document = stream_document("one_at_a_time")  # a stream: it runs until it is cancelled
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": document["name"], "document": document},
                        format="json").json()["id"]
    assert api.patch(f"/api/pipelines/{pipeline}/", {"allow_concurrent_runs": False}, format="json").status_code == 200
    first = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    assert wait_for(api, first, {"running"} | FINISHED, timeout=300)["status"] == "running"
    for refused in (api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json"),
                    api.post(f"/api/pipelines/{pipeline}/deployments/", {}, format="json")):
        assert refused.status_code == 409
        assert refused.json()["active_run"] == first
        assert refused.json()["detail"] == (f"Pipeline 'one_at_a_time' does not allow concurrent runs and run {first} "
                                            "is still running; wait for it to finish or cancel it.")
    assert api.post(f"/api/runs/{first}/cancel/").status_code == 202
    assert wait_for(api, first, FINISHED, timeout=60)["status"] == "cancelled"
    second = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json")
    assert second.status_code == 201
    api.post(f"/api/runs/{second.json()['id']}/cancel/")
    wait_for(api, second.json()["id"], FINISHED, timeout=60)
