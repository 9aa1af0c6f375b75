"""Execute one run: claim it, compile its version, run the job under supervision, settle it.

While the job runs, the supervising loop heartbeats the run (so the reaper knows this worker is
alive) and notices, within a quarter of a second, a cancel request or the run having been declared
lost. A run of a streaming deployment keeps its state in the deployment's folder and stops gracefully:
Spark finishes its current micro-batch, Flink on a session cluster takes a savepoint.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from django.conf import settings
from django.db import close_old_connections

import compiler
from runners.engines import flink_cluster, job_spec
from runners.flink_rest import TERMINAL, FlinkCluster, FlinkError, job_name
from runners.jobs import JobResult, run_job
from runners.output import LogLine
from runners.state import StatePlan, state_plan
from studio.connections.services import ConnectionUnavailable, run_connections
from studio.runs import selectors, services
from studio.runs.models import Run, RunStatus

__all__ = ["Supervisor", "execute_run", "worker_stopping"]

logger = logging.getLogger(__name__)

# How often the supervising loop reads the run's status: a cancel is seen within this (of the 5 s a
# cancel may take from the request to the run's end).
STATUS_POLL_SECONDS = 0.25
# How often a Flink job on a session cluster is looked for until found (to record its id).
FLINK_LOOKUP_SECONDS = 2.0
# A job on a Flink session cluster is stopped through the cluster first; then its client gets this
# long, out of the stop grace, to exit before the run's process group is killed (its Python process
# dies on SIGTERM at once, and the group with it: runners.jobs).
FLINK_CLIENT_EXIT_SECONDS = 0.5
# A savepoint may take the stop grace less this: the job then needs a moment to end after it.
SAVEPOINT_MARGIN_SECONDS = 3.0

# Set when the worker is asked to stop: running jobs are stopped and their runs settled, so no
# run is left "running" behind a worker that has gone.
worker_stopping = threading.Event()


class Supervisor:
    """`should_cancel` for run_job: heartbeats the run and says stop when it is no longer ours to run
    (cancelling, lost) or the worker is stopping. A database hiccup never stops a job by itself.
    With a Flink session cluster it also finds the run's job there and records its id."""

    def __init__(self, run_id: int, *, cluster: FlinkCluster | None = None) -> None:
        self.run_id = run_id
        self.status: str | None = RunStatus.STARTING
        self.cluster = cluster
        self.flink_job: str | None = None
        self._next_heartbeat = 0.0
        self._next_poll = 0.0
        self._next_lookup = 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        try:
            if now >= self._next_heartbeat:
                services.run_heartbeat(run_id=self.run_id)
                self._next_heartbeat = now + settings.STUDIO_RUN_HEARTBEAT_SECONDS
            if now >= self._next_poll:
                self.status = selectors.run_status(run_id=self.run_id)
                self._next_poll = now + STATUS_POLL_SECONDS
            if self.cluster is not None and self.flink_job is None and now >= self._next_lookup:
                self._next_lookup = now + FLINK_LOOKUP_SECONDS
                self.find_flink_job()
        except Exception:  # noqa: BLE001 - keep supervising; the reaper judges a long silence
            logger.warning("Run %s: could not reach the database from the supervising loop", self.run_id,
                           exc_info=True)
        return worker_stopping.is_set() or self.status not in (RunStatus.STARTING, RunStatus.RUNNING)

    def find_flink_job(self) -> str | None:
        assert self.cluster is not None
        try:
            self.flink_job = self.cluster.find_job(job_name(str(self.run_id)))
        except FlinkError as error:
            logger.warning("Run %s: %s", self.run_id, error)
            return None
        if self.flink_job is not None:
            services.run_set_engine_job(run_id=self.run_id, job_id=self.flink_job)
        return self.flink_job


def _stop_on_cluster(run_id: int, cluster: FlinkCluster, supervisor: Supervisor, state: StatePlan | None,
                     grace: float) -> Callable[[], None]:
    """How a job on a Flink session cluster is stopped before its client: a deployment's with a
    savepoint (its next run starts from it), any other cancelled through the REST API."""

    def stop() -> None:
        started = time.monotonic()
        try:
            job = supervisor.flink_job or supervisor.find_flink_job()
            if job is None:
                return  # not submitted yet: stopping the client is enough (leftovers: see execute_run)
            if state is not None:
                deadline = started + grace - SAVEPOINT_MARGIN_SECONDS
                try:
                    location = cluster.stop_with_savepoint(job, state.savepoints.as_uri(),
                                                           timeout=deadline - time.monotonic())
                except FlinkError as error:
                    services.run_append_log(run_id=run_id, level="warning", lines=[
                        f"Could not stop Flink job {job} with a savepoint ({error}); cancelling it. The next run "
                        "starts from its last checkpoint."])
                    cluster.cancel(job)
                    return
                services.deployment_record_savepoint(run_id=run_id, location=location)
                # The job ends once its savepoint is complete (its sinks commit with it); one that
                # has not by the deadline is cancelled: the savepoint is taken, nothing is lost.
                ended = cluster.wait_for_state(job, TERMINAL, timeout=max(1.0, deadline - time.monotonic()))
                if ended not in TERMINAL:
                    cluster.cancel(job)
                    ended = "cancelled after its savepoint"
                services.run_append_log(run_id=run_id, lines=[f"Flink job {job}: {ended.lower()}."])
                return
            # The run settles once the cluster says the job is CANCELED (about a second), not when its
            # client is gone: a cancelled run's job is never still running. A cancel that takes longer
            # than the grace is left to the cluster; execute_run cancels what is left after the run.
            cluster.cancel(job)
            wait = started + grace - FLINK_CLIENT_EXIT_SECONDS - time.monotonic()
            ended = cluster.wait_for_state(job, TERMINAL, timeout=max(0.0, wait), interval=0.1)
            if ended == "CANCELED":
                services.run_append_log(run_id=run_id, lines=[f"Cancelled Flink job {job} on the cluster."])
            else:
                services.run_append_log(run_id=run_id, level="warning", lines=[
                    f"Flink job {job} was {ended.lower()} on the cluster when its client was stopped."])
        finally:
            close_old_connections()

    return stop


def _cancel_leftovers(run_id: int, cluster: FlinkCluster) -> None:
    """A job submitted while its client was being stopped (or whose client died) would run on the
    cluster with no one watching: cancel it."""
    try:
        job = cluster.find_job(job_name(str(run_id)))
        if job is not None:
            cluster.cancel(job)
            services.run_append_log(run_id=run_id, level="warning",
                                    lines=[f"Cancelled Flink job {job}, left running on the cluster by its client."])
    except FlinkError as error:
        logger.warning("Run %s: could not look for leftover Flink jobs: %s", run_id, error)


def execute_run(run_id: int) -> None:
    """Run `run_id` to its end. A run that is not queued (a redelivered task) is left alone."""
    if not services.run_claim(run_id=run_id, worker_host=socket.gethostname(), worker_pid=os.getpid()):
        logger.info("Run %s is not queued (or not due) any more; nothing to do.", run_id)
        return
    run = Run.objects.select_related("version", "pipeline__workspace", "deployment").get(pk=run_id)
    try:
        job = compiler.compile_pipeline(
            run.version.document, engine=run.engine, parameters=run.parameters, data_dir=str(settings.STUDIO_DATA_DIR)
        )
    except compiler.CompileError as error:
        problems = [f"{d.path}: {d.message}" for d in error.result.errors]
        services.run_append_log(run_id=run_id, lines=problems, level="error")
        services.run_transition(run_id=run_id, to_status=RunStatus.FAILED,
                                reason="The pipeline does not compile: " + problems[0])
        return
    try:
        # The connections its nodes name, decrypted now: into the job's environment, masked in its output.
        connections = run_connections(workspace=run.pipeline.workspace, document=run.version.document)
    except ConnectionUnavailable as error:
        services.run_append_log(run_id=run_id, lines=[str(error)], level="error")
        services.run_transition(run_id=run_id, to_status=RunStatus.FAILED, reason=str(error))
        return
    services.run_set_code(run_id=run_id, code=job.code)
    attempt = f" (attempt {run.attempt} of {run.pipeline.max_attempts})" if run.pipeline.max_attempts > 1 else ""
    lines = [f"Starting the {run.engine} job for version {run.version.number}{attempt}."]
    state = None
    if run.deployment is not None:
        state = state_plan(run.deployment.state_dir, engine=run.engine)
        lines.append(f"Deployment {run.deployment.id} keeps its state in {state.checkpoints.parent}.")
        if state.restore_from:
            lines.append(f"It starts from the saved state {state.restore_from}.")
    services.run_append_log(run_id=run_id, lines=lines)
    spec = job_spec(engine=run.engine, code=job.code, run_key=str(run_id), state=state)
    spec = replace(spec, env={**spec.env, **connections.env})
    cluster = flink_cluster() if run.engine == "flink" else None
    supervisor = Supervisor(run_id, cluster=cluster)
    try:
        result = run_job(
            spec,
            on_output=lambda output: services.run_record_output(
                run_id=run_id, output=connections.mask_output(output),
            ),
            should_cancel=supervisor,
            # A deployment runs until it is stopped.
            timeout=None if state is not None else run.pipeline.timeout_seconds,
            on_start=lambda pid: services.run_job_started(run_id=run_id, job_pid=pid),
            before_stop=_stop_on_cluster(run_id, cluster, supervisor, state, spec.stop_grace) if cluster else None,
        )
    except Exception as error:  # noqa: BLE001 - whatever breaks, the run must not stay running
        logger.exception("Run %s could not be executed", run_id)
        services.run_transition(run_id=run_id, to_status=RunStatus.FAILED, reason=f"The runner failed: {error}")
        return
    if cluster is not None and not result.succeeded:
        _cancel_leftovers(run_id, cluster)
    _settle(run_id, replace(result, error=connections.mask(result.error)), deployment=state is not None)


def _settle(run_id: int, result: JobResult, *, deployment: bool = False) -> None:
    failed = RunStatus.FAILED
    if result.cancelled and worker_stopping.is_set():
        services.run_end_and_retry(
            run_id=run_id, to_status=failed,
            reason="The studio's worker was stopped while this run was running; start it again.",
        )
    elif result.timed_out:
        services.run_transition(run_id=run_id, to_status=failed, reason=result.error.split("\n", 1)[0],
                                error=result.error)
    elif result.cancelled:
        # Cancelling: settle it. Lost (the reaper gave up on this worker): leave it as it is.
        reason = ("Stopped; its state is kept and the next run of the deployment resumes from it."
                  if deployment else "Cancelled while running; the job was stopped.")
        services.run_transition(run_id=run_id, to_status=RunStatus.CANCELLED, from_statuses=[RunStatus.CANCELLING],
                                reason=reason)
    elif result.succeeded:
        services.run_record_output(run_id=run_id, output=[LogLine("The job finished successfully.")])
        services.run_transition(run_id=run_id, to_status=RunStatus.SUCCEEDED, reason="The job finished successfully.")
    else:
        services.run_transition(run_id=run_id, to_status=failed, reason=result.error.split("\n", 1)[0],
                                error=result.error)
