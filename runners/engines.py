"""What each engine needs to run a generated job: its interpreter, its environment, and how it stops."""
from __future__ import annotations

import json
import os

from django.conf import settings

from runners.flink_rest import FlinkCluster, job_name
from runners.jobs import STOP_GRACE_SECONDS, JobSpec
from runners.state import StatePlan

__all__ = ["FLINK_CANCEL_GRACE_SECONDS", "RUN_KEY_VARIABLE", "connector_env", "flink_cluster", "job_spec"]

# Every process of a job carries its run key in this variable: the reaper checks it before it kills
# the leftovers of a job whose worker died, so a recycled process id is never mistaken for the job.
RUN_KEY_VARIABLE = "STUDIO_RUN_KEY"
# On a Flink session cluster a cancel goes through the cluster's REST API, and the run waits for the
# job to be CANCELED (a second or two; about three on a saturated machine) before its client is
# stopped; the whole group is killed this long after the cancel was seen, so a cancel settles within
# 5 s of the request (the supervising loop sees it within half a second).
FLINK_CANCEL_GRACE_SECONDS = 4.0


def flink_cluster() -> FlinkCluster | None:
    """The Flink session cluster jobs are submitted to, or None for a local mini-cluster per job."""
    return FlinkCluster(settings.FLINK_JOBMANAGER) if settings.FLINK_JOBMANAGER else None


def _flink_config(run_key: str, state: StatePlan | None) -> dict[str, str]:
    """Flink configuration the generated job applies (STUDIO_FLINK_CONFIG): a name to find the job
    by on a cluster and, for a deployment, retained checkpoints and the state to start from."""
    config = {"pipeline.name": job_name(run_key)}
    if state is not None:
        config["execution.checkpointing.dir"] = state.checkpoints.as_uri()
        config["execution.checkpointing.savepoint-dir"] = state.savepoints.as_uri()
        config["execution.checkpointing.externalized-checkpoint-retention"] = "RETAIN_ON_CANCELLATION"
        if state.restore_from:
            config["execution.state-recovery.path"] = state.restore_from
            # An upgrade may drop an operator; its state is then left behind rather than refused.
            config["execution.state-recovery.ignore-unclaimed-state"] = "true"
    return config


def job_spec(*, engine: str, code: str, run_key: str, state: StatePlan | None = None) -> JobSpec:
    """The job spec for one run; `run_key` names its working folder under the runs folder. `state`
    makes it a streaming deployment's run: it keeps its checkpoints there and stops gracefully."""
    graceful = False
    stop_grace = STOP_GRACE_SECONDS
    if engine == "spark":
        python = settings.STUDIO_PYTHON
        # Spark's Python workers must use the same interpreter, or they import nothing from the venv.
        env = {
            "PYSPARK_PYTHON": python,
            "PYSPARK_DRIVER_PYTHON": python,
            "SPARK_MASTER": settings.SPARK_MASTER,
            # The console progress bar redraws one line with carriage returns: noise in a run log.
            "PYSPARK_SUBMIT_ARGS": "--conf spark.ui.showConsoleProgress=false pyspark-shell",
        }
        if settings.SPARK_MASTER.startswith("local"):
            env["SPARK_LOCAL_IP"] = "127.0.0.1"
        if state is not None:
            # The job stops its queries between micro-batches on SIGTERM (see the Spark back end).
            env["STUDIO_CHECKPOINT_DIR"] = str(state.checkpoints)
            graceful = True
            stop_grace = settings.STUDIO_DEPLOYMENT_STOP_GRACE_SECONDS
    elif engine == "flink":
        python = settings.STUDIO_FLINK_PYTHON
        env = {
            "PYFLINK_CLIENT_EXECUTABLE": python,
            "FLINK_JOBMANAGER": settings.FLINK_JOBMANAGER,
            "STUDIO_FLINK_CONFIG": json.dumps(_flink_config(run_key, state)),
            # Kafka and Iceberg nodes run the studio's connector processes (runners.connectors) with
            # this interpreter, keeping their folders with the deployment's state.
            "STUDIO_CONNECTOR_PYTHON": settings.STUDIO_PYTHON,
        }
        if state is not None:
            env["STUDIO_CHECKPOINT_DIR"] = str(state.checkpoints)
        if settings.FLINK_JOBMANAGER:
            # The job runs on the cluster: it is cancelled, or stopped with a savepoint, through
            # the cluster's REST API first (runners.execute), then its client is stopped.
            stop_grace = settings.STUDIO_DEPLOYMENT_STOP_GRACE_SECONDS if state else FLINK_CANCEL_GRACE_SECONDS
    else:
        raise ValueError(f"Unknown engine '{engine}'.")
    return JobSpec(
        code=code,
        workdir=settings.STUDIO_RUNS_DIR / run_key,
        data_dir=settings.STUDIO_DATA_DIR,
        python=python,
        env={**env, **connector_env(), RUN_KEY_VARIABLE: run_key},
        graceful_stop=graceful,
        stop_grace=stop_grace,
    )


def connector_env() -> dict[str, str]:
    """Where the Kafka and Iceberg connectors (runners/connectors) find their services, and the
    repository on PYTHONPATH: generated Spark jobs import the connectors, Spark's Python workers
    unpickle them by module name, and Flink jobs start them as processes. Credentials (AWS_*,
    STUDIO_KAFKA_CONFIG) reach the job through the inherited environment only, never through code."""
    paths = [str(settings.BASE_DIR), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
        "ICEBERG_CATALOG_URI": settings.ICEBERG_CATALOG_URI,
        "ICEBERG_WAREHOUSE": settings.ICEBERG_WAREHOUSE,
    }
    if settings.KAFKA_BOOTSTRAP_SERVERS:
        env["KAFKA_BOOTSTRAP_SERVERS"] = settings.KAFKA_BOOTSTRAP_SERVERS
    else:  # the embedded dev broker writes its address here (runners/devbroker.py)
        env["STUDIO_KAFKA_BOOTSTRAP_FILE"] = str(settings.KAFKA_DEV_BROKER_FILE)
    return env
