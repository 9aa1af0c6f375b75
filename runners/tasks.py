"""Celery tasks. They take ids, never objects or code; the work is in runners.execute."""
from __future__ import annotations

from celery import shared_task

from runners import execute

__all__ = ["execute_run"]


@shared_task(name="runners.execute_run", acks_late=True, ignore_result=True)
def execute_run(run_id: int) -> None:
    execute.execute_run(run_id)
