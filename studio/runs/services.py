"""Writes for runs and schedules. The database is the source of truth.

Every status change goes through `run_transition`: it checks the transition table, wins or loses
with a conditional UPDATE (so of two actors racing, a worker finishing and the reaper declaring the
run lost, exactly one succeeds), records a `RunEvent` and publishes `run.status`.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

import compiler
from runners.output import LogLine, NodeMetric, Output, QualityResult, level_of
from studio.core.api import Conflict, InvalidDocument
from studio.pipelines.models import MAX_BACKOFF_SECONDS, Pipeline, PipelineVersion
from studio.runs import events
from studio.runs.cron import CronError, parse_cron
from studio.runs.models import (
    ACTIVE, FINISHED, OWNED, Run, RunEvent, RunLogLine, RunNodeMetric, RunQualityResult, RunStatus, RunTrigger,
    Schedule,
)

__all__ = [
    "TRANSITIONS", "UNSET", "run_append_log", "run_cancel", "run_claim", "run_create", "run_end_and_retry",
    "run_heartbeat", "run_job_started", "run_lose", "run_policy_update", "run_record_metrics", "run_record_output",
    "run_retry_if_allowed",
    "run_set_code", "run_transition", "runs_redispatch", "schedule_create", "schedule_delete", "schedule_update",
    "schedules_fire_due", "transition_allowed",
]

logger = logging.getLogger(__name__)

S = RunStatus
# The run state machine: status -> the statuses it may move to. Finished statuses move nowhere; a
# retry is a new run linked to the one that was lost.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.STARTING, S.CANCELLED}),
    S.STARTING: frozenset({S.RUNNING, S.FAILED, S.CANCELLING, S.LOST}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLING, S.LOST}),
    # A job may still finish on its own (or fail) before the stop reaches it: the truth is recorded.
    S.CANCELLING: frozenset({S.CANCELLED, S.SUCCEEDED, S.FAILED, S.LOST}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.LOST: frozenset(),
}
RETRY_DELAY_CAP_SECONDS = MAX_BACKOFF_SECONDS


class _Unset:
    """The value of an optional argument that was not given (where None means something)."""


UNSET = _Unset()


def transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def _load(run_id: int) -> Run:
    return Run.objects.select_related("pipeline__workspace", "version", "created_by").get(pk=run_id)


def run_transition(
    *,
    run_id: int,
    to_status: str,
    reason: str = "",
    from_statuses: Iterable[str] | None = None,
    where: Q | None = None,
    error: str | None = None,
    **fields: Any,
) -> bool:
    """Move a run to `to_status` if the table allows it from its current status; record and publish it.

    `from_statuses` and `where` narrow when the move applies. `fields` are set in the same UPDATE.
    Entering `starting` sets `started_at`; a finished status sets `finished_at` and, unless the run
    succeeded, `error` (the reason when no error is given). False when the move does not apply: a
    refused transition, or another actor changed the run first.
    """
    if to_status not in TRANSITIONS:
        raise ValueError(f"Unknown run status '{to_status}'.")
    allowed_from = set(from_statuses) if from_statuses is not None else set(TRANSITIONS)
    now = timezone.now()
    changes: dict[str, Any] = {**fields, "status": to_status}
    if to_status == S.STARTING:
        changes.setdefault("started_at", now)
    if to_status in FINISHED:
        changes["finished_at"] = now
        if to_status != S.SUCCEEDED:
            changes["error"] = reason if error is None else error
    with transaction.atomic():
        rows = Run.objects.filter(pk=run_id)
        if where is not None:
            rows = rows.filter(where)
        current = rows.values_list("status", flat=True).first()
        if current is None or current not in allowed_from or not transition_allowed(current, to_status):
            return False
        # Conditional on the status read above: of two concurrent movers only one updates a row.
        if not rows.filter(status=current).update(**changes):
            return False
        event = RunEvent.objects.create(run_id=run_id, from_status=current, to_status=to_status, at=now, reason=reason)
        transaction.on_commit(lambda: events.publish_status(_load(run_id), event=event))
    return True


def _enqueue(run_id: int, countdown: float = 0) -> None:
    from runners.tasks import execute_run  # the task module imports Django models; import late

    try:
        if countdown > 0:
            execute_run.apply_async((run_id,), countdown=countdown)
        else:
            execute_run.delay(run_id)
    except Exception:  # noqa: BLE001 - the run is stored; the reaper sends it again
        logger.exception("Could not send run %s to the broker; the reaper will send it again.", run_id)
        return
    Run.objects.filter(pk=run_id).update(dispatched_at=timezone.now())


def _creation_reason(*, user: Any, trigger: str, schedule: Schedule | None, retry_of: Run | None,
                     attempt: int, max_attempts: int, delay: float) -> str:
    if trigger == RunTrigger.RETRY and retry_of is not None:
        return (f"Retry of run {retry_of.id} (attempt {attempt} of {max_attempts}), "
                f"starting in {delay:g} s.")
    if trigger == RunTrigger.SCHEDULE and schedule is not None:
        return f"Started by schedule {schedule.id} ({schedule.cron} UTC)."
    return f"Started by {user.get_username()}." if user is not None else "Started."


@transaction.atomic
def run_create(
    *,
    pipeline: Pipeline,
    version: PipelineVersion,
    engine: str,
    parameters: dict[str, Any],
    user: Any,
    trigger: str = RunTrigger.MANUAL,
    schedule: Schedule | None = None,
    retry_of: Run | None = None,
    delay_seconds: float = 0,
) -> Run:
    """Queue a run after checking, now, that the version compiles for the engine and that the
    pipeline accepts another run (409 naming the active run when it refuses concurrent runs)."""
    result = compiler.validate(
        version.document, engine=engine, parameters=parameters, data_dir=str(settings.STUDIO_DATA_DIR)
    )
    if not result.valid:
        raise InvalidDocument(result.to_dict())
    # Lock the pipeline row so two requests cannot both see "no active run" (PostgreSQL); SQLite
    # serialises writers already.
    locked = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    if not locked.allow_concurrent_runs:
        active = Run.objects.filter(pipeline=locked, status__in=ACTIVE).order_by("created_at", "id").first()
        if active is not None:
            raise Conflict(
                f"Pipeline '{locked.name}' does not allow concurrent runs and run {active.id} is still "
                f"{active.status}; wait for it to finish or cancel it.",
                active_run=active.id,
            )
    now = timezone.now()
    attempt = retry_of.attempt + 1 if retry_of is not None else 1
    run = Run(
        pipeline=locked, version=version, engine=engine, parameters=parameters, created_by=user, trigger=trigger,
        schedule=schedule, attempt=attempt, retry_of=retry_of,
        not_before=now + timedelta(seconds=delay_seconds) if delay_seconds > 0 else None,
    )
    run.full_clean()
    run.save()
    reason = _creation_reason(user=user, trigger=trigger, schedule=schedule, retry_of=retry_of, attempt=attempt,
                              max_attempts=locked.max_attempts, delay=delay_seconds)
    RunEvent.objects.create(run=run, from_status=None, to_status=S.QUEUED, at=now, reason=reason)
    transaction.on_commit(lambda: _enqueue(run.id, countdown=delay_seconds))
    return run


def run_claim(*, run_id: int, worker_host: str | None = None, worker_pid: int | None = None) -> bool:
    """Move a queued, due run to starting, owned by this worker. False when another delivery of the
    task got there first (or the run was cancelled, or its retry delay has not passed)."""
    host = worker_host if worker_host is not None else socket.gethostname()
    pid = worker_pid if worker_pid is not None else os.getpid()
    now = timezone.now()
    return run_transition(
        run_id=run_id, to_status=S.STARTING, from_statuses=[S.QUEUED],
        where=Q(not_before__isnull=True) | Q(not_before__lte=now),
        reason=f"Claimed by the worker on {host} (pid {pid}).",
        worker_host=host, worker_pid=pid, heartbeat_at=now,
    )


def run_job_started(*, run_id: int, job_pid: int) -> bool:
    """Record the job's process (its pid is its process group) and move the run to running."""
    Run.objects.filter(pk=run_id, status__in=OWNED).update(job_pid=job_pid, job_pgid=job_pid,
                                                           heartbeat_at=timezone.now())
    return run_transition(run_id=run_id, to_status=S.RUNNING, from_statuses=[S.STARTING],
                          reason=f"The job started (process {job_pid}).")


def run_heartbeat(*, run_id: int) -> bool:
    """The worker is alive and supervising the run. False when the run is no longer owned."""
    return bool(Run.objects.filter(pk=run_id, status__in=OWNED).update(heartbeat_at=timezone.now()))


def run_set_code(*, run_id: int, code: str) -> None:
    Run.objects.filter(pk=run_id).update(code=code)


def _append(run_id: int, entries: Sequence[tuple[str, str]]) -> list[RunLogLine]:
    if not entries:
        return []
    with transaction.atomic():
        Run.objects.filter(pk=run_id).update(log_lines=F("log_lines") + len(entries))
        last = Run.objects.values_list("log_lines", flat=True).get(pk=run_id)
        now = timezone.now()
        first = last - len(entries) + 1
        rows = [
            RunLogLine(run_id=run_id, seq=first + i, ts=now, level=level, text=text)
            for i, (level, text) in enumerate(entries)
        ]
        RunLogLine.objects.bulk_create(rows)
        transaction.on_commit(lambda: events.publish_log(run_id, rows))
    return rows


def run_append_log(*, run_id: int, lines: Iterable[str], level: str | None = None) -> list[RunLogLine]:
    """Store lines (numbered after the last stored one) and push them to the browsers.

    Without `level`, each line's level is guessed from its text (ERROR, Traceback, WARN...).
    """
    texts = [line.rstrip("\n") for line in lines]
    return _append(run_id, [(level or level_of(text), text) for text in texts])


def run_record_output(*, run_id: int, output: Sequence[Output]) -> None:
    """Store what a job printed: log lines with their levels, and metrics (never as log lines)."""
    _append(run_id, [(item.level, item.text) for item in output if isinstance(item, LogLine)])
    metrics = [item for item in output if not isinstance(item, LogLine)]
    if metrics:
        run_record_metrics(run_id=run_id, metrics=metrics)


def run_record_metrics(*, run_id: int, metrics: Sequence[NodeMetric | QualityResult]) -> None:
    """Upsert node metrics and quality results (a later report of the same key replaces the
    earlier one) and push the run's node summaries as `run.metrics`."""
    with transaction.atomic():
        for metric in metrics:
            if isinstance(metric, NodeMetric):
                RunNodeMetric.objects.update_or_create(
                    run_id=run_id, node=metric.node, port=metric.port, batch=metric.batch,
                    defaults={"rows": metric.rows, "duration_ms": metric.duration_ms},
                )
            else:
                RunQualityResult.objects.update_or_create(
                    run_id=run_id, node=metric.node, rule=metric.rule, batch=metric.batch,
                    defaults={"passed": metric.passed, "failed": metric.failed},
                )
        transaction.on_commit(lambda: events.publish_metrics(_load(run_id)))


def run_cancel(*, run: Run, user: Any = None) -> Run:
    """Cancel a queued run at once; ask the worker to stop a starting or running one (`cancelling`:
    the worker stops the job within a second or so and settles it `cancelled`)."""
    who = f" by {user.get_username()}" if user is not None and getattr(user, "is_authenticated", False) else ""
    for _ in range(3):  # the run may move under us (claimed, finished); look again
        current = Run.objects.values_list("status", flat=True).get(pk=run.pk)
        if current in FINISHED:
            raise Conflict(f"Run {run.pk} has already {current}; there is nothing to cancel.")
        if current == S.CANCELLING:
            break
        if current == S.QUEUED:
            if run_transition(run_id=run.pk, to_status=S.CANCELLED, from_statuses=[S.QUEUED],
                              reason=f"Cancelled{who} before it started."):
                break
        elif run_transition(run_id=run.pk, to_status=S.CANCELLING, from_statuses=[S.STARTING, S.RUNNING],
                            reason=f"Cancel requested{who}."):
            break
    return _load(run.pk)


def run_lose(*, run_id: int, reason: str, from_statuses: Iterable[str] = OWNED) -> bool:
    """Declare a run lost (its worker or job died without settling it), and retry it when its
    pipeline's policy allows. False when the run had moved on meanwhile."""
    return run_end_and_retry(run_id=run_id, to_status=S.LOST, reason=reason, from_statuses=from_statuses)


@transaction.atomic
def run_end_and_retry(*, run_id: int, to_status: str, reason: str, from_statuses: Iterable[str] = OWNED) -> bool:
    """End a run through no fault of its job (lost; failed because its worker was stopped) and, in
    the same transaction, queue its retry when the policy allows: nobody sees the one without the
    other. A run that was being cancelled is not retried."""
    current = Run.objects.values_list("status", flat=True).filter(pk=run_id).first()
    if not run_transition(run_id=run_id, to_status=to_status, from_statuses=list(from_statuses), reason=reason):
        return False
    if current == S.CANCELLING:
        run_append_log(run_id=run_id, lines=["Not retried: it was being cancelled."], level="warning")
    else:
        run_retry_if_allowed(run_id=run_id)
    return True


def run_retry_if_allowed(*, run_id: int) -> Run | None:
    """Start the next attempt of a run that ended through no fault of its job, when the pipeline's
    `max_attempts` allows, after `retry_backoff_seconds` doubled at each attempt."""
    run = Run.objects.select_related("pipeline", "version", "created_by", "schedule").get(pk=run_id)
    pipeline = run.pipeline
    if run.attempt >= pipeline.max_attempts:
        if pipeline.max_attempts > 1:
            run_append_log(run_id=run_id, level="warning",
                           lines=[f"Not retried: this was attempt {run.attempt} of {pipeline.max_attempts}."])
        return None
    delay = min(pipeline.retry_backoff_seconds * 2 ** (run.attempt - 1), RETRY_DELAY_CAP_SECONDS)
    try:
        retry = run_create(
            pipeline=pipeline, version=run.version, engine=run.engine, parameters=run.parameters,
            user=run.created_by, trigger=RunTrigger.RETRY, schedule=run.schedule, retry_of=run, delay_seconds=delay,
        )
    except (Conflict, InvalidDocument, DjangoValidationError, ValidationError) as error:
        detail = getattr(error, "body", None) or getattr(error, "messages", None) or str(error)
        run_append_log(run_id=run_id, lines=[f"Not retried: {detail}"], level="warning")
        return None
    run_append_log(run_id=run_id, level="warning", lines=[
        f"Retrying as run {retry.id} (attempt {retry.attempt} of {pipeline.max_attempts}) in {delay:g} s."
    ])
    return retry


def runs_redispatch(*, now: datetime | None = None) -> list[int]:
    """Send queued runs to the broker again when their message seems lost: never sent (the broker
    was down), or not picked up long after they were due. A duplicate is harmless (the claim)."""
    now = now or timezone.now()
    overdue = now - timedelta(seconds=settings.STUDIO_RUN_REDISPATCH_SECONDS)
    stale = Run.objects.filter(status=S.QUEUED).filter(
        Q(dispatched_at__isnull=True, created_at__lt=now - timedelta(seconds=30))
        | (Q(dispatched_at__lt=overdue) & (Q(not_before__isnull=True) | Q(not_before__lt=overdue)))
    )
    ids = list(stale.order_by("created_at").values_list("id", flat=True)[:100])
    for run_id in ids:
        logger.warning("Run %s is still queued long after it was due; sending it again.", run_id)
        _enqueue(run_id)
    return ids


@transaction.atomic
def run_policy_update(
    *,
    pipeline: Pipeline,
    max_attempts: int | None = None,
    retry_backoff_seconds: int | None = None,
    timeout_seconds: int | None | _Unset = UNSET,
    allow_concurrent_runs: bool | None = None,
) -> Pipeline:
    """Change how a pipeline's runs are run: retries, backoff, timeout (None: no limit), concurrency."""
    if max_attempts is not None:
        pipeline.max_attempts = max_attempts
    if retry_backoff_seconds is not None:
        pipeline.retry_backoff_seconds = retry_backoff_seconds
    if not isinstance(timeout_seconds, _Unset):
        pipeline.timeout_seconds = timeout_seconds
    if allow_concurrent_runs is not None:
        pipeline.allow_concurrent_runs = allow_concurrent_runs
    pipeline.full_clean()
    pipeline.save()
    return pipeline


# --- schedules ------------------------------------------------------------------------------------


def _check_cron(cron: str) -> str:
    try:
        return parse_cron(cron).expression
    except CronError as error:
        raise ValidationError({"cron": [str(error)]}) from None


def _check_run_settings(pipeline: Pipeline, engine: str, parameters: dict[str, Any]) -> None:
    """Refuse parameters the latest version does not declare or cannot convert, and an engine that
    is unknown, now rather than at 3 a.m. (other problems of a draft are reported when it fires)."""
    version = PipelineVersion.objects.filter(pipeline=pipeline).order_by("-number").first()
    if version is None:
        return
    result = compiler.validate(
        version.document, engine=engine, parameters=parameters, data_dir=str(settings.STUDIO_DATA_DIR)
    ).to_dict()
    errors = [d for d in result["errors"]
              if d["path"] in ("$.parameters", "engine") or d["path"].startswith("parameters.")]
    if errors:
        raise InvalidDocument({"valid": False, "errors": errors, "warnings": []})


@transaction.atomic
def schedule_create(
    *, pipeline: Pipeline, cron: str, user: Any, parameters: dict[str, Any] | None = None, engine: str = "spark",
    enabled: bool = True,
) -> Schedule:
    expression = _check_cron(cron)
    parameters = parameters or {}
    _check_run_settings(pipeline, engine, parameters)
    schedule = Schedule(
        pipeline=pipeline, cron=expression, parameters=parameters, engine=engine, enabled=enabled, created_by=user,
        next_fire_at=parse_cron(expression).next_after(timezone.now()) if enabled else None,
    )
    schedule.full_clean()
    schedule.save()
    return schedule


@transaction.atomic
def schedule_update(
    *, schedule: Schedule, cron: str | None = None, parameters: dict[str, Any] | None = None,
    engine: str | None = None, enabled: bool | None = None,
) -> Schedule:
    if cron is not None:
        schedule.cron = _check_cron(cron)
    if parameters is not None:
        schedule.parameters = parameters
    if engine is not None:
        schedule.engine = engine
    if enabled is not None:
        schedule.enabled = enabled
    if parameters is not None or engine is not None:
        _check_run_settings(schedule.pipeline, schedule.engine, schedule.parameters)
    # From now on: changing or re-enabling a schedule never fires the times it missed.
    schedule.next_fire_at = parse_cron(schedule.cron).next_after(timezone.now()) if schedule.enabled else None
    schedule.full_clean()
    schedule.save()
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: Schedule) -> None:
    schedule.delete()


def _fire(schedule: Schedule) -> Run | None:
    pipeline = schedule.pipeline
    version = PipelineVersion.objects.filter(pipeline=pipeline).order_by("-number").first()
    error = ""
    run = None
    if version is None:
        error = "The pipeline has no saved version to run."
    else:
        try:
            run = run_create(pipeline=pipeline, version=version, engine=schedule.engine,
                             parameters=schedule.parameters, user=schedule.created_by,
                             trigger=RunTrigger.SCHEDULE, schedule=schedule)
        except InvalidDocument as refused:
            first = (refused.body.get("errors") or [{"message": "it is not valid"}])[0]
            error = f"Version {version.number} cannot run: {first['message']}"
        except Conflict as refused:
            error = str(refused.body["detail"])
    update: dict[str, Any] = {"last_error": error}
    if run is not None:
        update["last_run"] = run
    Schedule.objects.filter(pk=schedule.pk).update(**update)
    if error:
        logger.warning("Schedule %s did not start a run: %s", schedule.pk, error)
    return run


def schedules_fire_due(*, now: datetime | None = None) -> list[int]:
    """Start a run for every enabled schedule that is due, once: the schedule's next fire time is
    moved forward with a conditional update first, so concurrent ticks cannot both fire it. A
    schedule that missed several times while the studio was down fires once."""
    now = now or timezone.now()
    started: list[int] = []
    due = Schedule.objects.filter(enabled=True, next_fire_at__lte=now).select_related("pipeline", "created_by")
    for schedule in due:
        following = parse_cron(schedule.cron).next_after(now)
        claimed = Schedule.objects.filter(pk=schedule.pk, enabled=True, next_fire_at=schedule.next_fire_at).update(
            next_fire_at=following, last_fired_at=now,
        )
        if not claimed:
            continue
        run = _fire(schedule)
        if run is not None:
            started.append(run.id)
    return started
