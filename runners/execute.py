"""Execute one run: claim it, compile its version, run the job under supervision, settle it.

While the job runs, the supervising loop heartbeats the run (so the reaper knows this worker is
alive) and notices, within half a second, a cancel request or the run having been declared lost.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from django.conf import settings

import compiler
from runners.engines import job_spec
from runners.jobs import JobResult, run_job
from runners.output import LogLine
from studio.runs import selectors, services
from studio.runs.models import Run, RunStatus

__all__ = ["Supervisor", "execute_run", "worker_stopping"]

logger = logging.getLogger(__name__)

# How often the supervising loop reads the run's status: a cancel is seen within this.
STATUS_POLL_SECONDS = 0.5

# Set when the worker is asked to stop: running jobs are stopped and their runs settled, so no
# run is left "running" behind a worker that has gone.
worker_stopping = threading.Event()


class Supervisor:
    """`should_cancel` for run_job: heartbeats the run and says stop when it is no longer ours to run
    (cancelling, lost) or the worker is stopping. A database hiccup never stops a job by itself."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.status: str | None = RunStatus.STARTING
        self._next_heartbeat = 0.0
        self._next_poll = 0.0

    def __call__(self) -> bool:
        if worker_stopping.is_set():
            return True
        now = time.monotonic()
        try:
            if now >= self._next_heartbeat:
                services.run_heartbeat(run_id=self.run_id)
                self._next_heartbeat = now + settings.STUDIO_RUN_HEARTBEAT_SECONDS
            if now >= self._next_poll:
                self.status = selectors.run_status(run_id=self.run_id)
                self._next_poll = now + STATUS_POLL_SECONDS
        except Exception:  # noqa: BLE001 - keep supervising; the reaper judges a long silence
            logger.warning("Run %s: could not reach the database from the supervising loop", self.run_id,
                           exc_info=True)
        return self.status not in (RunStatus.STARTING, RunStatus.RUNNING)


def execute_run(run_id: int) -> None:
    """Run `run_id` to its end. A run that is not queued (a redelivered task) is left alone."""
    if not services.run_claim(run_id=run_id, worker_host=socket.gethostname(), worker_pid=os.getpid()):
        logger.info("Run %s is not queued (or not due) any more; nothing to do.", run_id)
        return
    run = Run.objects.select_related("version", "pipeline").get(pk=run_id)
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
    services.run_set_code(run_id=run_id, code=job.code)
    attempt = f" (attempt {run.attempt} of {run.pipeline.max_attempts})" if run.pipeline.max_attempts > 1 else ""
    services.run_append_log(run_id=run_id, lines=[
        f"Starting the {run.engine} job for version {run.version.number}{attempt}."
    ])
    supervisor = Supervisor(run_id)
    try:
        result = run_job(
            job_spec(engine=run.engine, code=job.code, run_key=str(run_id)),
            on_output=lambda output: services.run_record_output(run_id=run_id, output=output),
            should_cancel=supervisor,
            timeout=run.pipeline.timeout_seconds,
            on_start=lambda pid: services.run_job_started(run_id=run_id, job_pid=pid),
        )
    except Exception as error:  # noqa: BLE001 - whatever breaks, the run must not stay running
        logger.exception("Run %s could not be executed", run_id)
        services.run_transition(run_id=run_id, to_status=RunStatus.FAILED, reason=f"The runner failed: {error}")
        return
    _settle(run_id, result)


def _settle(run_id: int, result: JobResult) -> None:
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
        services.run_transition(run_id=run_id, to_status=RunStatus.CANCELLED, from_statuses=[RunStatus.CANCELLING],
                                reason="Cancelled while running; the job was stopped.")
    elif result.succeeded:
        services.run_record_output(run_id=run_id, output=[LogLine("The job finished successfully.")])
        services.run_transition(run_id=run_id, to_status=RunStatus.SUCCEEDED, reason="The job finished successfully.")
    else:
        services.run_transition(run_id=run_id, to_status=failed, reason=result.error.split("\n", 1)[0],
                                error=result.error)
