"""Writes for runs, schedules, streaming deployments, alerts and webhooks. The database is the
source of truth.

Every status change goes through `run_transition`: it checks the transition table, wins or loses
with a conditional UPDATE (so of two actors racing, a worker finishing and the reaper declaring the
run lost, exactly one succeeds), records a `RunEvent` and publishes `run.status`.
"""
from __future__ import annotations

import logging
import os
import shutil
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
from runners.output import Alert as AlertOutput
from runners.output import JobProgress, LogLine, NodeMetric, Output, QualityResult, SourceLag, level_of
from runners.state import compatibility, fresh_state_problems
from studio.access.models import Workspace
from studio.connections.models import Connection
from studio.connections.selectors import connection_kinds
from studio.core.api import Conflict, InvalidDocument
from studio.pipelines.models import MAX_BACKOFF_SECONDS, Pipeline, PipelineVersion
from studio.runs import events
from studio.runs.cron import CronError, parse_cron
from studio.runs.models import (
    ACTIVE, FINISHED, OWNED, Alert, AlertDelivery, DeliveryStatus, Deployment, DesiredState, Run, RunEvent,
    RunLogLine, RunNodeMetric, RunQualityResult, RunStatus, RunTrigger, Schedule, Webhook,
)

__all__ = [
    "TRANSITIONS", "UNSET", "deliveries_redispatch", "delivery_claim", "delivery_record_attempt",
    "deployment_create", "deployment_delete", "deployment_record_savepoint", "deployment_run_finished",
    "deployment_start", "deployment_stop", "deployment_upgrade", "run_append_log", "run_cancel", "run_claim",
    "run_create", "run_end_and_retry", "run_heartbeat", "run_job_started", "run_lose", "run_policy_update",
    "run_record_alerts", "run_record_metrics", "run_record_output", "run_retry_if_allowed", "run_set_code",
    "run_set_engine_job",
    "run_transition", "runs_redispatch", "schedule_create", "schedule_delete", "schedule_update",
    "schedules_fire_due", "transition_allowed", "webhook_create", "webhook_delete", "webhook_update",
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
    with transaction.atomic():
        rows = Run.objects.filter(pk=run_id)
        if where is not None:
            rows = rows.filter(where)
        current = rows.values_list("status", flat=True).first()
        if current is None or current not in allowed_from or not transition_allowed(current, to_status):
            return False
        # Taken after the read: a mover that reads the status another one committed is stamped later
        # than it, so the events' times follow the order the moves happened in.
        now = timezone.now()
        changes: dict[str, Any] = {**fields, "status": to_status}
        if to_status == S.STARTING:
            changes.setdefault("started_at", now)
        if to_status in FINISHED:
            changes["finished_at"] = now
            if to_status != S.SUCCEEDED:
                changes["error"] = reason if error is None else error
        # Conditional on the status read above: of two concurrent movers only one updates a row.
        if not rows.filter(status=current).update(**changes):
            return False
        event = RunEvent.objects.create(run_id=run_id, from_status=current, to_status=to_status, at=now, reason=reason)
        transaction.on_commit(lambda: events.publish_status(_load(run_id), event=event))
        if to_status in FINISHED:
            transaction.on_commit(lambda: deployment_run_finished(run_id=run_id))
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
    if trigger == RunTrigger.DEPLOYMENT:
        return "Started by its deployment."
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
    deployment: Deployment | None = None,
    reason: str = "",
) -> Run:
    """Queue a run after checking, now, that the version compiles for the engine and that the
    pipeline accepts another run (409 naming the active run when it refuses concurrent runs)."""
    result = compiler.validate(
        version.document, engine=engine, parameters=parameters, data_dir=str(settings.STUDIO_DATA_DIR),
        connections=connection_kinds(workspace=pipeline.workspace),
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
        schedule=schedule, attempt=attempt, retry_of=retry_of, deployment=deployment,
        not_before=now + timedelta(seconds=delay_seconds) if delay_seconds > 0 else None,
    )
    run.full_clean()
    run.save()
    reason = reason or _creation_reason(user=user, trigger=trigger, schedule=schedule, retry_of=retry_of,
                                        attempt=attempt, max_attempts=locked.max_attempts, delay=delay_seconds)
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
    """The worker is alive and supervising the run; the run's page is told (throttled). False when
    the run is no longer owned."""
    now = timezone.now()
    if not Run.objects.filter(pk=run_id, status__in=OWNED).update(heartbeat_at=now):
        return False
    transaction.on_commit(lambda: events.publish_heartbeat(run_id, at=now))
    return True


def run_set_code(*, run_id: int, code: str) -> None:
    Run.objects.filter(pk=run_id).update(code=code)


def run_set_engine_job(*, run_id: int, job_id: str) -> None:
    """Record the engine's id of the run's job (a Flink job on a session cluster)."""
    if Run.objects.filter(pk=run_id).exclude(engine_job_id=job_id).update(engine_job_id=job_id):
        run_append_log(run_id=run_id, lines=[f"The job runs on the cluster as Flink job {job_id}."])


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
    """Store what a job printed: log lines with their levels, metrics (never as log lines), and
    alerts (stored, logged as warnings, pushed live and sent to the webhooks); push the job's
    newest progress live."""
    _append(run_id, [(item.level, item.text) for item in output if isinstance(item, LogLine)])
    alerts = [item for item in output if isinstance(item, AlertOutput)]
    if alerts:
        run_record_alerts(run_id=run_id, alerts=alerts)
    metrics = [item for item in output if isinstance(item, (NodeMetric, QualityResult, SourceLag))]
    if metrics:
        run_record_metrics(run_id=run_id, metrics=metrics)
    progress = [item for item in output if isinstance(item, JobProgress)]
    if progress:
        newest = progress[-1]
        events.publish_progress(run_id, tasks_done=newest.tasks_done, tasks_total=newest.tasks_total,
                                stage=newest.stage)


def run_record_metrics(*, run_id: int, metrics: Sequence[NodeMetric | QualityResult | SourceLag]) -> None:
    """Upsert node metrics, quality results and sources' lag (a later report of the same key
    replaces the earlier one) and push the run's node summaries as `run.metrics`."""
    with transaction.atomic():
        for metric in metrics:
            if isinstance(metric, NodeMetric):
                RunNodeMetric.objects.update_or_create(
                    run_id=run_id, node=metric.node, port=metric.port, batch=metric.batch,
                    defaults={"rows": metric.rows, "duration_ms": metric.duration_ms},
                )
            elif isinstance(metric, SourceLag):
                # On the source's output row of that micro-batch; its rows come in their own line.
                RunNodeMetric.objects.update_or_create(
                    run_id=run_id, node=metric.node, port="out", batch=metric.batch, defaults={"lag": metric.lag},
                )
            else:
                RunQualityResult.objects.update_or_create(
                    run_id=run_id, node=metric.node, rule=metric.rule, batch=metric.batch,
                    defaults={"passed": metric.passed, "failed": metric.failed},
                )
        transaction.on_commit(lambda: events.publish_metrics(_load(run_id)))


def _by(user: Any) -> str:
    return f" by {user.get_username()}" if user is not None and getattr(user, "is_authenticated", False) else ""


def _request_stop(run_id: int, *, queued_reason: str, running_reason: str) -> bool:
    """Cancel a queued run at once; move a starting or running one to `cancelling` (its worker
    stops the job and settles it). False when the run had already finished."""
    for _ in range(3):  # the run may move under us (claimed, finished); look again
        current = Run.objects.values_list("status", flat=True).get(pk=run_id)
        if current in FINISHED:
            return False
        if current == S.CANCELLING:
            return True
        if current == S.QUEUED:
            if run_transition(run_id=run_id, to_status=S.CANCELLED, from_statuses=[S.QUEUED], reason=queued_reason):
                return True
        elif run_transition(run_id=run_id, to_status=S.CANCELLING, from_statuses=[S.STARTING, S.RUNNING],
                            reason=running_reason):
            return True
    return Run.objects.filter(pk=run_id, status__in=ACTIVE).exists()


def run_cancel(*, run: Run, user: Any = None) -> Run:
    """Cancel a queued run at once; ask the worker to stop a starting or running one (`cancelling`:
    the worker stops the job within a second or so and settles it `cancelled`). Cancelling a
    deployment's run stops the deployment (its state is kept)."""
    if run.deployment_id is not None:
        Deployment.objects.filter(pk=run.deployment_id).update(desired=DesiredState.STOPPED, restart_pending=False)
    who = _by(user)
    if not _request_stop(run.pk, queued_reason=f"Cancelled{who} before it started.",
                         running_reason=f"Cancel requested{who}."):
        current = Run.objects.values_list("status", flat=True).get(pk=run.pk)
        raise Conflict(f"Run {run.pk} has already {current}; there is nothing to cancel.")
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
    run = Run.objects.select_related("pipeline", "version", "created_by", "schedule", "deployment__version").get(
        pk=run_id)
    pipeline = run.pipeline
    if run.attempt >= pipeline.max_attempts:
        if pipeline.max_attempts > 1:
            run_append_log(run_id=run_id, level="warning",
                           lines=[f"Not retried: this was attempt {run.attempt} of {pipeline.max_attempts}."])
        return None
    delay = min(pipeline.retry_backoff_seconds * 2 ** (run.attempt - 1), RETRY_DELAY_CAP_SECONDS)
    deployment = run.deployment
    if deployment is not None and deployment.desired != DesiredState.RUNNING:
        run_append_log(run_id=run_id, lines=["Not retried: its deployment was stopped."], level="warning")
        return None
    try:
        retry = run_create(
            # A deployment's retry runs the version the deployment has now (an upgrade may be pending).
            pipeline=pipeline, version=deployment.version if deployment else run.version, engine=run.engine,
            parameters=run.parameters, user=run.created_by, trigger=RunTrigger.RETRY, schedule=run.schedule,
            retry_of=run, delay_seconds=delay, deployment=deployment,
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


# --- streaming deployments ------------------------------------------------------------------------


def _lock_deployment(deployment: Deployment) -> Deployment:
    # `of`: PostgreSQL cannot lock the nullable side of an outer join (created_by).
    return (Deployment.objects.select_for_update(of=("self",))
            .select_related("pipeline__workspace", "version", "created_by").get(pk=deployment.pk))


def _active_run(deployment: Deployment) -> Run | None:
    return Run.objects.filter(deployment=deployment, status__in=ACTIVE).order_by("-id").first()


def _check_streaming(version: PipelineVersion) -> None:
    if not isinstance(version.document, dict) or version.document.get("mode") != "streaming":
        raise ValidationError({"version": [
            f"Version {version.number} is a batch pipeline: start a run of it instead. Only streaming pipelines "
            "are deployed."
        ]})


def _check_fresh_state(version: PipelineVersion, engine: str) -> None:
    problems = fresh_state_problems(version.document, engine=engine, data_dir=settings.STUDIO_DATA_DIR)
    if problems:
        raise Conflict(f"Version {version.number} cannot start with fresh state: {problems[0]}", problems=problems)


def _deployment_run(deployment: Deployment, *, user: Any, reason: str) -> Run:
    return run_create(
        pipeline=deployment.pipeline, version=deployment.version, engine=deployment.engine,
        parameters=deployment.parameters, user=user, trigger=RunTrigger.DEPLOYMENT, deployment=deployment,
        reason=reason,
    )


@transaction.atomic
def deployment_create(
    *, pipeline: Pipeline, version: PipelineVersion, engine: str, parameters: dict[str, Any], user: Any,
) -> Deployment:
    """Deploy a streaming pipeline version: it runs until stopped, keeping its state in a folder of
    its own. Refused like a run (400 invalid, 409 when the pipeline refuses concurrent runs)."""
    _check_streaming(version)
    _check_fresh_state(version, engine)
    deployment = Deployment(pipeline=pipeline, version=version, engine=engine, parameters=parameters,
                            created_by=user)
    deployment.full_clean()
    deployment.save()
    _deployment_run(deployment, user=user, reason=f"Deployment {deployment.id} of version {version.number} "
                                                  f"started{_by(user)}.")
    return deployment


@transaction.atomic
def deployment_start(*, deployment: Deployment, user: Any) -> Deployment:
    """Start a stopped (or failed) deployment again: its new run resumes from its last checkpoint."""
    deployment = _lock_deployment(deployment)
    active = _active_run(deployment)
    if active is not None:
        raise Conflict(f"Deployment {deployment.id} is already running: run {active.id} is {active.status}.",
                       active_run=active.id)
    deployment.desired = DesiredState.RUNNING
    deployment.restart_pending = False
    deployment.save()
    _deployment_run(deployment, user=user, reason=f"Started{_by(user)}; it resumes from the deployment's last "
                                                  "checkpoint.")
    return deployment


@transaction.atomic
def deployment_stop(*, deployment: Deployment, user: Any) -> Deployment:
    """Stop a deployment, keeping its state: Spark finishes its current micro-batch, Flink on a
    session cluster takes a savepoint, Flink on a local mini-cluster keeps its last checkpoint."""
    deployment = _lock_deployment(deployment)
    active = _active_run(deployment)
    if active is None:
        raise Conflict(f"Deployment {deployment.id} is not running; there is nothing to stop.")
    deployment.desired = DesiredState.STOPPED
    deployment.restart_pending = False
    deployment.save()
    who = _by(user)
    _request_stop(active.id, queued_reason=f"Stopped{who} before it started.",
                  running_reason=f"Stop requested{who}: the job stops after its current micro-batch (or savepoint) "
                                 "and its state is kept.")
    return deployment


@transaction.atomic
def deployment_upgrade(
    *, deployment: Deployment, version: PipelineVersion, user: Any, reset_state: bool = False,
) -> tuple[Deployment, list[str]]:
    """Move a deployment to another version of its pipeline: stop its run with a checkpoint and
    start the new version from it. When the old state cannot serve the new version (a changed
    source or stateful node), refuse with the reasons (409), unless `reset_state`: then the new
    version starts with fresh state (a new state generation; the old one stays on disk).
    Returns the deployment and notes on what changes all the same."""
    deployment = _lock_deployment(deployment)
    _check_streaming(version)
    result = compiler.validate(version.document, engine=deployment.engine, parameters=deployment.parameters,
                               data_dir=str(settings.STUDIO_DATA_DIR),
                               connections=connection_kinds(workspace=deployment.pipeline.workspace))
    if not result.valid:
        raise InvalidDocument(result.to_dict())
    check = compatibility(deployment.version.document, version.document)
    old = deployment.version.number
    if not check.compatible and not reset_state:
        raise Conflict(
            f"Version {version.number} cannot start from the state version {old} left: {check.problems[0]} "
            "Upgrade with reset_state to start it with fresh state.",
            problems=check.problems,
        )
    if reset_state:
        _check_fresh_state(version, deployment.engine)
        deployment.state_generation += 1
    deployment.version = version
    state = "fresh state" if reset_state else "the state it left"
    who = _by(user)
    active = _active_run(deployment)
    # With a run active, the next run starts once it has stopped (deployment_run_finished).
    deployment.restart_pending = active is not None
    deployment.save()
    if active is not None:
        _request_stop(active.id, queued_reason=f"Replaced by version {version.number}{who} before it started.",
                      running_reason=f"Upgrade to version {version.number} requested{who}: stopping with a "
                                     f"checkpoint; version {version.number} starts from {state}.")
    elif deployment.desired == DesiredState.RUNNING:
        _deployment_run(deployment, user=user, reason=f"Upgraded from version {old}{who}; it starts from {state}.")
    return deployment, check.notes


def deployment_run_finished(*, run_id: int) -> None:
    """After a deployment's run has ended: when an upgrade (or restart) was waiting for it to stop,
    start the next run, with the deployment's version."""
    deployment_id = Run.objects.filter(pk=run_id).values_list("deployment_id", flat=True).first()
    if deployment_id is None:
        return
    with transaction.atomic():
        deployment = (Deployment.objects.select_for_update(of=("self",))
                      .select_related("pipeline", "version", "created_by")
                      .filter(pk=deployment_id, restart_pending=True).first())
        if deployment is None or _active_run(deployment) is not None:
            return
        deployment.restart_pending = False
        deployment.desired = DesiredState.RUNNING
        deployment.save()
        try:
            _deployment_run(deployment, user=deployment.created_by,
                            reason=f"Version {deployment.version.number} started after run {run_id} stopped.")
        except (Conflict, InvalidDocument, ValidationError) as error:
            detail = getattr(error, "body", None) or str(error)
            run_append_log(run_id=run_id, level="error", lines=[f"The deployment could not start again: {detail}"])


def deployment_record_savepoint(*, run_id: int, location: str) -> None:
    """A deployment's job was stopped with a savepoint at `location` (Flink on a session cluster)."""
    Deployment.objects.filter(runs=run_id).update(last_savepoint=location)
    run_append_log(run_id=run_id, lines=[f"Stopped with a savepoint at {location}; the next run starts from it."])


@transaction.atomic
def deployment_delete(*, deployment: Deployment) -> None:
    """Delete a stopped deployment and its state folder (its runs stay in the history)."""
    deployment = _lock_deployment(deployment)
    active = _active_run(deployment)
    if active is not None:
        raise Conflict(f"Deployment {deployment.id} is running (run {active.id}); stop it first.",
                       active_run=active.id)
    folder = settings.STUDIO_DEPLOYMENTS_DIR / str(deployment.pk)
    deployment.delete()
    transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))


# --- alerts and webhooks --------------------------------------------------------------------------

_ALERT_LOG_LEVEL = {"info": "info", "warning": "warning", "critical": "error"}


def _enqueue_delivery(delivery_id: int, countdown: float = 0) -> None:
    from runners.tasks import deliver_alert  # the task module imports Django models; import late

    try:
        deliver_alert.apply_async((delivery_id,), countdown=countdown)
    except Exception:  # noqa: BLE001 - the delivery is stored; the reaper sends it again
        logger.exception("Could not send alert delivery %s to the broker; the reaper will send it again.",
                         delivery_id)


def run_record_alerts(*, run_id: int, alerts: Sequence[AlertOutput]) -> list[Alert]:
    """Store alerts (numbered after the run's last one), log each one, push them live as
    `run.alert`, and queue their delivery to the webhooks of the run's workspace and pipeline."""
    with transaction.atomic():
        Run.objects.filter(pk=run_id).update(alert_count=F("alert_count") + len(alerts))
        run = Run.objects.select_related("pipeline").get(pk=run_id)
        now = timezone.now()
        first = run.alert_count - len(alerts) + 1
        rows = Alert.objects.bulk_create([
            Alert(run_id=run_id, seq=first + i, node=a.node, severity=a.severity, message=a.message, at=now)
            for i, a in enumerate(alerts)
        ])
        _append(run_id, [(_ALERT_LOG_LEVEL[a.severity], f"ALERT [{a.severity}] {a.node}: {a.message}") for a in rows])
        hooks = list(Webhook.objects.select_related("connection").filter(
            enabled=True, workspace_id=run.pipeline.workspace_id).filter(
            Q(pipeline__isnull=True) | Q(pipeline_id=run.pipeline_id)))
        deliveries = AlertDelivery.objects.bulk_create([
            AlertDelivery(alert=alert, webhook=hook, url=str(hook.connection.settings.get("url", "")),
                          next_attempt_at=now)
            for alert in rows for hook in hooks
        ])
        pushed = [events.alert_data(node=a.node, severity=a.severity, message=a.message, at=a.at, seq=a.seq)
                  for a in rows]
        transaction.on_commit(lambda: events.publish_alerts(run_id, pushed))
        ids = [delivery.id for delivery in deliveries]
        transaction.on_commit(lambda: [_enqueue_delivery(delivery_id) for delivery_id in ids])
    return rows


def delivery_claim(*, delivery_id: int, lease_seconds: float) -> AlertDelivery | None:
    """Take the next attempt of a pending, due delivery: its attempt count goes up and it is held
    for `lease_seconds` (a duplicate task finds it not due). None when there is nothing to do."""
    now = timezone.now()
    due = AlertDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    if not due.update(attempts=F("attempts") + 1, next_attempt_at=now + timedelta(seconds=lease_seconds)):
        return None
    return AlertDelivery.objects.select_related(
        "alert__run__pipeline__workspace", "alert__run__version", "webhook__connection").get(pk=delivery_id)


@transaction.atomic
def delivery_record_attempt(
    *, delivery_id: int, status_code: int | None, error: str, duration_ms: int,
) -> AlertDelivery:
    """Record an attempt: delivered on a 2xx answer; otherwise retried after the backoff (doubled
    at each attempt) until STUDIO_WEBHOOK_MAX_ATTEMPTS, then failed, with a line in the run's log."""
    delivery = AlertDelivery.objects.select_for_update(of=("self",)).select_related("alert").get(pk=delivery_id)
    now = timezone.now()
    delivery.history = [*delivery.history, {
        "attempt": delivery.attempts, "at": now.isoformat(), "status_code": status_code, "error": error,
        "duration_ms": duration_ms,
    }]
    if not error and status_code is not None and 200 <= status_code < 300:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= settings.STUDIO_WEBHOOK_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        alert = delivery.alert
        transaction.on_commit(lambda: run_append_log(run_id=alert.run_id, level="error", lines=[
            f"Alert {alert.seq} could not be delivered to {delivery.url} after {delivery.attempts} attempts: {error}"]))
    else:
        delay = settings.STUDIO_WEBHOOK_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        transaction.on_commit(lambda: _enqueue_delivery(delivery_id, countdown=delay))
    delivery.save()
    return delivery


def deliveries_redispatch(*, now: datetime | None = None) -> list[int]:
    """Send pending deliveries again whose task seems lost (due for over a minute)."""
    now = now or timezone.now()
    ids = list(AlertDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=now - timedelta(
        seconds=60)).order_by("next_attempt_at").values_list("id", flat=True)[:100])
    for delivery_id in ids:
        _enqueue_delivery(delivery_id)
    return ids


def _check_webhook(workspace: Workspace, pipeline: Pipeline | None, connection: Connection,
                   exclude: int | None = None) -> None:
    if pipeline is not None and pipeline.workspace_id != workspace.pk:
        raise ValidationError({"pipeline": [f"Pipeline {pipeline.pk} is not in workspace '{workspace.slug}'."]})
    if connection.workspace_id != workspace.pk:
        raise ValidationError({"connection": [f"Workspace '{workspace.slug}' has no connection '{connection.name}'."]})
    if connection.kind != "webhook":
        raise ValidationError({"connection": [
            f"Connection '{connection.name}' is a {connection.kind} connection; alerts go to webhook connections."]})
    taken = Webhook.objects.filter(connection=connection, pipeline=pipeline).exclude(pk=exclude).first()
    if taken is not None:
        scope = f"pipeline {pipeline.pk}" if pipeline is not None else f"workspace '{workspace.slug}'"
        raise ValidationError({"connection": [
            f"Webhook {taken.pk} already sends the alerts of {scope} to connection '{connection.name}'."]})


@transaction.atomic
def webhook_create(
    *, workspace: Workspace, connection: Connection, user: Any, pipeline: Pipeline | None = None,
    enabled: bool = True,
) -> Webhook:
    """Send the alerts of a workspace's runs (or of one pipeline's runs) to a webhook connection."""
    _check_webhook(workspace, pipeline, connection)
    webhook = Webhook(workspace=workspace, pipeline=pipeline, connection=connection, enabled=enabled, created_by=user)
    webhook.full_clean()
    webhook.save()
    return webhook


@transaction.atomic
def webhook_update(*, webhook: Webhook, connection: Connection | None = None, enabled: bool | None = None) -> Webhook:
    if connection is not None:
        _check_webhook(webhook.workspace, webhook.pipeline, connection, exclude=webhook.pk)
        webhook.connection = connection
    if enabled is not None:
        webhook.enabled = enabled
    webhook.full_clean()
    webhook.save()
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()
