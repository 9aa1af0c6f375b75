"""Celery tasks. They take ids, never objects or code; the work is in runners.execute, runners.reaper,
runners.webhooks, the schedule service and the lineage service (the catalog's look at running runs'
outputs)."""
from __future__ import annotations

from runners import execute, reaper, webhooks
from runners.celery import app
from studio.lineage.services import running_outputs_refresh
from studio.runs.services import schedules_fire_due

__all__ = ["deliver_alert", "dispatch_schedules", "execute_run", "reap_runs", "refresh_running_datasets"]


# Bound to the studio's app (not `shared_task`), so a web process that only imports this module
# sends through the configured broker rather than Celery's default one. acks_late: a message is
# acknowledged once the run is settled, so a worker that dies mid-run leaves it to be redelivered;
# the claim makes the redelivery a no-op and the reaper settles the run.
@app.task(name="runners.execute_run", acks_late=True, ignore_result=True)
def execute_run(run_id: int) -> None:
    execute.execute_run(run_id)


@app.task(name="runners.reap_runs", ignore_result=True)
def reap_runs() -> list[int]:
    """Beat sends this every STUDIO_REAPER_INTERVAL_SECONDS (on the control queue)."""
    return reaper.reap()


@app.task(name="runners.dispatch_schedules", ignore_result=True)
def dispatch_schedules() -> list[int]:
    """Beat sends this every STUDIO_SCHEDULER_TICK_SECONDS (on the control queue)."""
    return schedules_fire_due()


@app.task(name="runners.refresh_running_datasets", ignore_result=True)
def refresh_running_datasets() -> list[int]:
    """Beat sends this every STUDIO_REAPER_INTERVAL_SECONDS, or STUDIO_CATALOG_RUNNING_REFRESH_SECONDS
    when shorter (on the control queue): the catalog looks again at what running runs write, each
    dataset at most once per STUDIO_CATALOG_RUNNING_REFRESH_SECONDS."""
    return running_outputs_refresh()


@app.task(name="runners.deliver_alert", acks_late=True, ignore_result=True)
def deliver_alert(delivery_id: int) -> str | None:
    """One attempt to POST an alert to a webhook (on the control queue: run slots may all be taken
    by long-lived deployments); a failed attempt sends the next one itself, after the backoff."""
    return webhooks.deliver(delivery_id)
