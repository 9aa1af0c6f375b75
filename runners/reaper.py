"""The reaper: settles runs whose worker died, so no run stays starting, running or cancelling.

Celery beat sends `runners.reap_runs` every STUDIO_REAPER_INTERVAL_SECONDS. A run owned by a worker
is lost when its heartbeat is older than STUDIO_RUN_LOST_AFTER_SECONDS, or sooner when its worker
ran on this machine and its process is gone. The reaper then kills what is left of the job on this
machine (and cancels its job on a Flink session cluster), marks the run lost and retries it when
the pipeline's policy allows. It also sends queued runs and alert deliveries whose task message
seems lost to the broker again.
"""
from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from runners.engines import RUN_KEY_VARIABLE, flink_cluster
from runners.flink_rest import FlinkError
from runners.jobs import kill_job_processes
from studio.runs import selectors, services
from studio.runs.models import Run

__all__ = ["process_alive", "reap"]

logger = logging.getLogger(__name__)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _why_lost(run: Run, *, host: str, now: datetime) -> str | None:
    lost_after = timedelta(seconds=settings.STUDIO_RUN_LOST_AFTER_SECONDS)
    silent = now - run.heartbeat_at if run.heartbeat_at else None
    if silent is None or silent > lost_after:
        since = f"for {silent.total_seconds():.0f} s" if silent else "at all"
        return (f"The worker on {run.worker_host or 'an unknown host'} (pid {run.worker_pid}) has not reported "
                f"{since} while the run was {run.status}: it died or cannot reach the database.")
    # Same machine: a dead worker process is certain once it has also missed two heartbeats (a pid
    # seen from another pid namespace under the same host name must not end a healthy run).
    missed_two = silent > timedelta(seconds=2 * settings.STUDIO_RUN_HEARTBEAT_SECONDS)
    if run.worker_host == host and run.worker_pid and missed_two and not process_alive(run.worker_pid):
        return f"The worker process {run.worker_pid} on {host} died while the run was {run.status}."
    return None


def reap(*, now: datetime | None = None) -> list[int]:
    """Mark lost the owned runs whose worker is gone; returns their ids."""
    now = now or timezone.now()
    host = socket.gethostname()
    lost: list[int] = []
    for run in selectors.runs_owned():
        reason = _why_lost(run, host=host, now=now)
        if reason is None:
            continue
        if run.worker_host == host and run.job_pgid:
            killed = kill_job_processes(run.job_pgid, marker=f"{RUN_KEY_VARIABLE}={run.id}")
            if killed:
                reason += f" Its job's {killed} leftover process(es) were killed."
        reason += _cancel_on_cluster(run)
        if services.run_lose(run_id=run.id, reason=reason, from_statuses=[run.status]):
            logger.warning("Run %s is lost: %s", run.id, reason)
            lost.append(run.id)
    services.runs_redispatch(now=now)
    services.deliveries_redispatch(now=now)
    return lost


def _cancel_on_cluster(run: Run) -> str:
    """A lost run's Flink job keeps running on a session cluster with no one watching: cancel it."""
    cluster = flink_cluster() if run.engine == "flink" else None
    if cluster is None or not run.engine_job_id:
        return ""
    try:
        cluster.cancel(run.engine_job_id)
    except FlinkError as error:
        return f" Its Flink job {run.engine_job_id} could not be cancelled: {error}"
    return f" Its Flink job {run.engine_job_id} was cancelled on the cluster."
