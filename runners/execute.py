"""Execute one run: claim it, compile its version, run the job, stream its log, settle it."""
from __future__ import annotations

import logging
import threading

import compiler
from runners.engines import job_spec
from runners.jobs import run_job
from studio.runs import services
from studio.runs.models import Run, RunStatus

__all__ = ["execute_run", "worker_stopping"]

logger = logging.getLogger(__name__)

# Set when the worker is asked to stop: running jobs are stopped and their runs settled, so no
# run is left "running" behind a worker that has gone.
worker_stopping = threading.Event()


def execute_run(run_id: int) -> None:
    """Run `run_id` to its end. A run that is not queued (a redelivered task) is left alone."""
    if not services.run_claim(run_id=run_id):
        logger.info("Run %s is not queued any more; nothing to do.", run_id)
        return
    run = Run.objects.select_related("version").get(pk=run_id)
    try:
        job = compiler.compile_pipeline(run.version.document, engine=run.engine, parameters=run.parameters)
    except compiler.CompileError as error:
        problems = [f"{d.path}: {d.message}" for d in error.result.errors]
        services.run_append_log(run_id=run_id, lines=problems, level="error")
        services.run_finish(run_id=run_id, status=RunStatus.FAILED, error="The pipeline does not compile: " + problems[0])
        return
    services.run_set_code(run_id=run_id, code=job.code)
    services.run_append_log(run_id=run_id, lines=[f"Starting the {run.engine} job for version {run.version.number}."])
    try:
        result = run_job(
            job_spec(engine=run.engine, code=job.code, run_key=str(run_id)),
            on_lines=lambda lines: services.run_append_log(run_id=run_id, lines=lines),
            should_cancel=lambda: worker_stopping.is_set()
            or Run.objects.filter(pk=run_id, cancel_requested=True).exists(),
        )
    except Exception as error:  # noqa: BLE001 - whatever breaks, the run must not stay running
        logger.exception("Run %s could not be executed", run_id)
        services.run_finish(run_id=run_id, status=RunStatus.FAILED, error=f"The runner failed: {error}")
        return
    if result.cancelled and worker_stopping.is_set():
        services.run_finish(run_id=run_id, status=RunStatus.FAILED,
                            error="The studio's worker was stopped while this run was running; start it again.")
    elif result.cancelled:
        services.run_finish(run_id=run_id, status=RunStatus.CANCELLED, error="Cancelled while running.")
    elif result.succeeded:
        services.run_append_log(run_id=run_id, lines=["The job finished successfully."])
        services.run_finish(run_id=run_id, status=RunStatus.SUCCEEDED)
    else:
        services.run_finish(run_id=run_id, status=RunStatus.FAILED, error=result.error)
