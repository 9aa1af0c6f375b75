"""Celery tasks. They take ids, never objects or code; the work is in runners.execute."""
from __future__ import annotations

from runners import execute
from runners.celery import app

__all__ = ["execute_run"]


# Bound to the studio's app (not `shared_task`), so a web process that only imports this module
# sends through the configured broker rather than Celery's default one.
@app.task(name="runners.execute_run", acks_late=True, ignore_result=True)
def execute_run(run_id: int) -> None:
    execute.execute_run(run_id)
