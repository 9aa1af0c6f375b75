"""Runs on real clusters started from the pip packages on loopback: a Spark standalone master and
worker (pyspark's `spark-class`), and a Flink session cluster (apache-flink's `jobmanager.sh` and
`taskmanager.sh` in the Flink environment). Pipelines run on each through the runner (a real Celery
worker, SPARK_MASTER=spark://... and FLINK_JOBMANAGER=host:port); a Flink job is cancelled through
the cluster's REST API; a Flink deployment stops with a savepoint and resumes from it.

The clusters start once for the module and are torn down at its end (and die with the test process
if it is killed: PR_SET_PDEATHSIG).
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from celery.contrib.testing.worker import start_worker
from rest_framework.test import APIClient

from runners.celery import app as celery_app
from runners.flink_rest import FlinkCluster, job_name
from studio.runs.models import Run
from tests.studio.conftest import api, operator, workspace  # noqa: F401 - fixtures used below
from tests.studio.documents import ORDERS_CSV, filter_pipeline
from tests.studio.test_run_deployments import deployment, drop, flink_committed, stream_document, wait_status
from tests.studio.test_run_execution import FINISHED, cancel_and_wait, log_text, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery, pytest.mark.spark, pytest.mark.flink,
              pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SPARK_CLASS = ROOT / ".venv" / "bin" / "spark-class"
FLINK_HOME = next((ROOT / ".venv-flink" / "lib").glob("python3*/site-packages/pyflink"))
STARTUP_SECONDS = 240


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_until(what: str, condition: Callable[[], Any], timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OSError:  # a server still starting
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s")


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.started.append(subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True, preexec_fn=_die_with_parent))

    def stop(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.started):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def tail(self, name: str) -> str:
        return "\n".join((self.logs / f"{name}.log").read_text(errors="replace").splitlines()[-30:])


@dataclass(frozen=True)
class SparkStandalone:
    master: str  # spark://127.0.0.1:port
    web: str  # the master's web UI, whose /json/ lists workers and applications


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkStandalone]:
    folder = tmp_path_factory.mktemp("spark-standalone")
    port, web, worker_web = free_port(), free_port(), free_port()
    env = {"SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(folder), "SPARK_WORKER_DIR": str(folder / "work")}
    processes = Processes(folder)
    cluster = SparkStandalone(master=f"spark://127.0.0.1:{port}", web=f"http://127.0.0.1:{web}")
    try:
        processes.start("master", [str(SPARK_CLASS), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                   "--port", str(port), "--webui-port", str(web)], env)
        processes.start("worker", [str(SPARK_CLASS), "org.apache.spark.deploy.worker.Worker", cluster.master,
                                   "--host", "127.0.0.1", "--cores", "2", "--memory", "2g", "--webui-port",
                                   str(worker_web), "--work-dir", str(folder / "work")], env)
        wait_until("a Spark worker registered with the master",
                   lambda: [w for w in get_json(cluster.web + "/json/")["workers"] if w["state"] == "ALIVE"],
                   STARTUP_SECONDS)
        yield cluster
    except AssertionError:
        raise AssertionError(processes.tail("master") + "\n" + processes.tail("worker")) from None
    finally:
        processes.stop()


@pytest.fixture(scope="module")
def flink_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Flink session cluster (one JobManager, one TaskManager with 2 slots); yields host:port of
    its REST endpoint."""
    folder = tmp_path_factory.mktemp("flink-session")
    config = yaml.safe_load((FLINK_HOME / "conf" / "config.yaml").read_text())
    rest = free_port()
    config["rest"] = {"address": "127.0.0.1", "bind-address": "127.0.0.1", "port": rest}
    config["jobmanager"].update({"bind-host": "127.0.0.1", "rpc": {"address": "127.0.0.1", "port": free_port()},
                                 "memory": {"process": {"size": "1024m"}}})
    config["taskmanager"].update({"bind-host": "127.0.0.1", "host": "127.0.0.1", "numberOfTaskSlots": 2,
                                  "memory": {"process": {"size": "1280m"}}, "rpc": {"port": free_port()}})
    conf = folder / "conf"
    conf.mkdir()
    for name in os.listdir(FLINK_HOME / "conf"):
        if name != "config.yaml":
            (conf / name).write_bytes((FLINK_HOME / "conf" / name).read_bytes())
    (conf / "config.yaml").write_text(yaml.safe_dump(config))
    env = {"FLINK_HOME": str(FLINK_HOME), "FLINK_CONF_DIR": str(conf), "FLINK_LOG_DIR": str(folder)}
    processes = Processes(folder)
    address = f"127.0.0.1:{rest}"
    try:
        processes.start("jobmanager", [str(FLINK_HOME / "bin" / "jobmanager.sh"), "start-foreground"], env)
        processes.start("taskmanager", [str(FLINK_HOME / "bin" / "taskmanager.sh"), "start-foreground"], env)
        wait_until("a Flink TaskManager registered with free slots",
                   lambda: get_json(f"http://{address}/overview")["slots-available"] >= 2, STARTUP_SECONDS)
        yield address
    except AssertionError:
        raise AssertionError(processes.tail("jobmanager") + "\n" + processes.tail("taskmanager")) from None
    finally:
        processes.stop()


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.STUDIO_DATA_DIR = tmp_path / "data"
    settings.STUDIO_RUNS_DIR = tmp_path / "runs"
    settings.STUDIO_DEPLOYMENTS_DIR = tmp_path / "deployments"
    (tmp_path / "data" / "in").mkdir(parents=True)
    (tmp_path / "data" / "in" / "orders.csv").write_text(ORDERS_CSV)
    return tmp_path / "data"


@pytest.fixture(scope="module")
def worker() -> Iterator[None]:
    # Each test's settings (data folder, engines' addresses) are read when a run starts.
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"):
        yield


def start(api: APIClient, document: dict[str, Any], **body: Any) -> int:  # noqa: F811 - `api` is the fixture
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": document["name"], "document": document},
                        format="json").json()["id"]
    response = api.post(f"/api/pipelines/{pipeline}/runs/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_a_pipeline_runs_on_the_spark_standalone_cluster(
    api: APIClient, spark_cluster: SparkStandalone, worker: None, data_dir: Path, settings: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.SPARK_MASTER = spark_cluster.master
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # the driver, in the job, on loopback like the cluster
    run_id = start(api, filter_pipeline(name="on_the_cluster"))
    run = wait_for(api, run_id, FINISHED, timeout=300)
    assert run["status"] == "succeeded", run["error"] + log_text(api, run_id)
    assert sorted(r["order_id"] for r in pq.read_table(data_dir / "out" / "big").to_pylist()) == [2, 4]
    apps = get_json(spark_cluster.web + "/json/")["completedapps"]
    assert [a["name"] for a in apps if a["name"] == "on_the_cluster"]  # it ran on the cluster's executors


def test_a_pipeline_runs_on_the_flink_session_cluster(
    api: APIClient, flink_session: str, worker: None, data_dir: Path, settings: Any,  # noqa: F811
) -> None:
    settings.FLINK_JOBMANAGER = flink_session
    run_id = start(api, filter_pipeline(name="on_flink"), engine="flink")
    run = wait_for(api, run_id, FINISHED, timeout=300)
    assert run["status"] == "succeeded", run["error"] + log_text(api, run_id)
    assert sorted(r["order_id"] for r in pq.read_table(data_dir / "out" / "big").to_pylist()) == [2, 4]
    jobs = [j for j in FlinkCluster(flink_session).overview() if j["name"] == job_name(str(run_id))]
    assert [j["state"] for j in jobs] == ["FINISHED"]


def test_cancel_reaches_a_flink_job_through_the_clusters_rest_api(
    api: APIClient, flink_session: str, worker: None, data_dir: Path, settings: Any,  # noqa: F811
) -> None:
    settings.FLINK_JOBMANAGER = flink_session
    cluster = FlinkCluster(flink_session)
    (data_dir / "landing" / "clicks").mkdir(parents=True)
    run_id = start(api, stream_document("endless"), engine="flink")  # a stream: runs until cancelled
    def running_job() -> str | None:
        job = cluster.find_job(job_name(str(run_id)))
        return job if job is not None and cluster.state(job) == "RUNNING" else None

    job = wait_until("the job running on the cluster", running_job, 300)
    wait_until("the job's id recorded on the run", lambda: Run.objects.get(pk=run_id).engine_job_id == job, 30)
    run, seconds = cancel_and_wait(api, run_id)
    assert run["status"] == "cancelled"
    assert seconds < 5, seconds  # the bound, from the API call to the terminal status
    assert cluster.state(job) == "CANCELED"  # already: the run settles once the cluster has cancelled it
    assert f"Cancelled Flink job {job} on the cluster." in log_text(api, run_id)


def node_rows(api: APIClient, run_id: int) -> dict[str, tuple[int | None, int | None]]:  # noqa: F811
    """(rows in, rows out) of each node of a run, as its run page shows them."""
    return {n["node"]: (n["rows_in"], n["rows_out"]) for n in api.get(f"/api/runs/{run_id}/nodes/").json()}


def test_a_flink_deployment_stops_with_a_savepoint_and_resumes_from_it(
    api: APIClient, flink_session: str, worker: None, data_dir: Path, settings: Any,  # noqa: F811
) -> None:
    settings.FLINK_JOBMANAGER = flink_session
    cluster = FlinkCluster(flink_session)
    document = stream_document("clicks_on_flink")
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": document["name"], "document": document},
                        format="json").json()["id"]
    drop(data_dir, "a.json", [(1, "home"), (2, "skip")])
    pk = api.post(f"/api/pipelines/{pipeline}/deployments/", {"engine": "flink"}, format="json").json()["id"]
    out = data_dir / "curated" / "clicks"
    wait_until("the first file's rows", lambda: flink_committed(out) == [(1, "home")], 300)
    first = deployment(api, pk)["run"]["id"]
    # The job counts its nodes' rows on the cluster and prints them while it runs.
    wait_until("the first run's node counts",
               lambda: node_rows(api, first) == {"clicks": (None, 2), "keep": (2, 1), "out": (1, None)}, 60)
    job = Run.objects.get(pk=first).engine_job_id
    assert job and cluster.state(job) == "RUNNING"

    assert api.post(f"/api/deployments/{pk}/stop/").status_code == 202
    stopped = wait_status(api, pk, "stopped", timeout=120)
    savepoint = stopped["last_savepoint"]
    assert savepoint and (Path(savepoint.removeprefix("file:")) / "_metadata").is_file()
    # The job has ended on the cluster (finished by its savepoint, or cancelled once it was taken).
    assert cluster.state(job) in ("FINISHED", "CANCELED"), log_text(api, first)
    assert f"Stopped with a savepoint at {savepoint}" in log_text(api, first)

    drop(data_dir, "b.json", [(3, "cart")])
    assert api.post(f"/api/deployments/{pk}/start/").status_code == 202
    wait_until("the second file's rows, the first ones not again",
               lambda: flink_committed(out) == [(1, "home"), (3, "cart")], 300)
    second = deployment(api, pk)["run"]["id"]
    assert "It starts from the saved state" in log_text(api, second)
    # Only the new file's rows: the first run's were counted, as they were read, before the savepoint.
    wait_until("the second run's node counts",
               lambda: node_rows(api, second) == {"clicks": (None, 1), "keep": (1, 1), "out": (1, None)}, 60)
    assert api.post(f"/api/deployments/{pk}/stop/").status_code == 202
    wait_status(api, pk, "stopped", timeout=120)
    assert flink_committed(out) == [(1, "home"), (3, "cart")]
