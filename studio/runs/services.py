"""Writes for runs: create, claim, log, finish, cancel. The database is the source of truth."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

import compiler
from studio.core.api import Conflict, InvalidDocument
from studio.pipelines.models import Pipeline, PipelineVersion
from studio.runs import events
from studio.runs.models import LogLevel, Run, RunLogLine, RunStatus

__all__ = ["run_append_log", "run_cancel", "run_claim", "run_create", "run_finish", "run_set_code"]

_ERROR_LINE = re.compile(r"\b(ERROR|FATAL|Traceback|Exception|Error:)\b")
_WARNING_LINE = re.compile(r"\b(WARN|WARNING)\b")


def _enqueue(run_id: int) -> None:
    from runners.tasks import execute_run  # the task module imports Django models; import late

    execute_run.delay(run_id)


@transaction.atomic
def run_create(
    *, pipeline: Pipeline, version: PipelineVersion, engine: str, parameters: dict[str, Any], user: Any
) -> Run:
    """Queue a run after checking, now, that the version compiles for the engine."""
    result = compiler.validate(version.document, engine=engine, parameters=parameters)
    if not result.valid:
        raise InvalidDocument(result.to_dict())
    run = Run(pipeline=pipeline, version=version, engine=engine, parameters=parameters, created_by=user)
    run.full_clean()
    run.save()
    transaction.on_commit(lambda: _enqueue(run.id))
    return run


def run_claim(*, run_id: int) -> bool:
    """Move a queued run to running. False when another delivery of the task got there first."""
    claimed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now()
    )
    if claimed:
        events.publish_status(_load(run_id))
    return bool(claimed)


def run_set_code(*, run_id: int, code: str) -> None:
    Run.objects.filter(pk=run_id).update(code=code)


def _level(text: str) -> str:
    if _ERROR_LINE.search(text):
        return LogLevel.ERROR
    if _WARNING_LINE.search(text):
        return LogLevel.WARNING
    return LogLevel.INFO


def run_append_log(*, run_id: int, lines: Iterable[str], level: str | None = None) -> list[RunLogLine]:
    """Store lines (numbered after the last stored one) and push them to the browsers."""
    texts = [line.rstrip("\n") for line in lines]
    if not texts:
        return []
    with transaction.atomic():
        Run.objects.filter(pk=run_id).update(log_lines=F("log_lines") + len(texts))
        last = Run.objects.values_list("log_lines", flat=True).get(pk=run_id)
        now = timezone.now()
        first = last - len(texts) + 1
        rows = [
            RunLogLine(run_id=run_id, seq=first + i, ts=now, level=level or _level(text), text=text)
            for i, text in enumerate(texts)
        ]
        RunLogLine.objects.bulk_create(rows)
    events.publish_log(run_id, rows)
    return rows


def run_finish(*, run_id: int, status: str, error: str = "") -> bool:
    """Settle a running run. False when it had already finished (nothing changes then)."""
    finished = Run.objects.filter(pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
        status=status, error=error, finished_at=timezone.now()
    )
    if finished:
        events.publish_status(_load(run_id))
    return bool(finished)


def run_cancel(*, run: Run) -> Run:
    """Cancel a queued run at once; ask the worker to stop a running one."""
    if run.finished:
        raise Conflict(f"Run {run.id} has already {run.status}; there is nothing to cancel.")
    if run.status == RunStatus.QUEUED:
        run_finish(run_id=run.id, status=RunStatus.CANCELLED, error="Cancelled before it started.")
    else:
        Run.objects.filter(pk=run.id).update(cancel_requested=True)
    return _load(run.id)


def _load(run_id: int) -> Run:
    return Run.objects.select_related("pipeline__workspace", "version", "created_by").get(pk=run_id)
