"""Which models are audited and how: the one place that turns saves and deletes into audit events.

Services write through the ORM inside `transaction.atomic`; the signal handlers here record each
create, update and delete of a tracked model in the same transaction, with the state before and
after (only the fields listed, never a secret value). Bulk `update()` calls, which runs use for
their internal bookkeeping (heartbeats, status), are not audited; what a person does to a run is:
starting it (a `run` event) and cancelling it (`cancel`).

`connect()` below lists every audited model: a new model that people change belongs there.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model
from django.db.models.signals import post_delete, post_save, pre_save

from studio.audit.models import AuditAction
from studio.audit.services import audit_record, jsonable

__all__ = ["Tracked", "connect", "track"]


@dataclass(frozen=True)
class Tracked:
    object_type: str
    snapshot: Callable[[Any], dict[str, Any]]  # the audited fields; never a secret value
    workspace: Callable[[Any], Any]  # the workspace it belongs to, or None (instance-wide)
    on_create: str | None = AuditAction.CREATE  # the action recorded, or None for not recorded
    on_update: str | None = AuditAction.UPDATE
    on_delete: str | None = AuditAction.DELETE
    # Optional: the action for an update, from the states before and after (e.g. a superuser flag).
    update_action: Callable[[dict[str, Any], dict[str, Any]], str] | None = None


_TRACKED: dict[type[Model], Tracked] = {}
_BEFORE = "_audit_before"


def track(model: type[Model], spec: Tracked) -> None:
    """Audit the model's saves and deletes as `spec` says."""
    _TRACKED[model] = spec
    uid = f"audit-{model._meta.label_lower}"
    if spec.on_update:
        pre_save.connect(_remember_before, sender=model, dispatch_uid=uid + "-pre")
    if spec.on_create or spec.on_update:
        post_save.connect(_saved, sender=model, dispatch_uid=uid + "-post")
    if spec.on_delete:
        post_delete.connect(_deleted, sender=model, dispatch_uid=uid + "-delete")


def _record(spec: Tracked, instance: Any, action: str, before: Any, after: Any) -> None:
    audit_record(action=action, object_type=spec.object_type, object_id=instance.pk, object_repr=str(instance),
                 workspace=spec.workspace(instance), before=before, after=after)


def _remember_before(sender: type[Model], instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.pk is None or instance._state.adding:
        return
    old = sender._base_manager.filter(pk=instance.pk).first()
    if old is not None:
        setattr(instance, _BEFORE, jsonable(_TRACKED[sender].snapshot(old)))


def _saved(sender: type[Model], instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:  # loaddata
        return
    spec = _TRACKED[sender]
    after = jsonable(spec.snapshot(instance))
    if created:
        if spec.on_create:
            _record(spec, instance, spec.on_create, None, after)
        return
    before = instance.__dict__.pop(_BEFORE, None)
    if spec.on_update and before is not None and before != after:
        action = spec.update_action(before, after) if spec.update_action else spec.on_update
        _record(spec, instance, action, before, after)


def _deleted(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    spec = _TRACKED[sender]
    if spec.on_delete:
        _record(spec, instance, spec.on_delete, jsonable(spec.snapshot(instance)), None)


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def _run_cancelled(sender: type[Model], instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """A run's transition into cancelling (or from queued straight to cancelled) is a person's cancel."""
    if raw or not created:
        return
    cancelled = instance.to_status == "cancelling" or (
        instance.to_status == "cancelled" and instance.from_status == "queued"
    )
    if cancelled:
        run = instance.run
        audit_record(action=AuditAction.CANCEL, object_type="run", object_id=run.pk, object_repr=f"run {run.pk}",
                     workspace=run.pipeline.workspace, before={"status": instance.from_status},
                     after={"status": instance.to_status, "reason": instance.reason})


def connect() -> None:
    """Track the studio's models (called once, from AuditConfig.ready)."""
    from studio.access.models import Membership, Workspace
    from studio.pipelines.models import Pipeline, PipelineVersion
    from studio.catalog.models import Dataset, DatasetColumn, DatasetTag
    from studio.connections.models import Connection
    from studio.runs.models import Deployment, Run, RunEvent, Schedule, Webhook

    track(Workspace, Tracked("workspace", lambda w: {"slug": w.slug, "name": w.name}, lambda w: w))
    permission = AuditAction.PERMISSION
    track(Membership, Tracked(
        "membership", lambda m: {"user": _username(m.user), "role": m.role, "can_view_pii": m.can_view_pii},
        lambda m: m.workspace,
        on_create=permission, on_update=permission, on_delete=permission,
    ))
    track(get_user_model(), Tracked(
        "user", lambda u: {"username": u.get_username(), "is_superuser": u.is_superuser, "is_active": u.is_active},
        lambda u: None,
        update_action=lambda b, a: permission if b["is_superuser"] != a["is_superuser"] else AuditAction.UPDATE,
    ))
    track(Pipeline, Tracked(
        "pipeline",
        lambda p: {"name": p.name, "description": p.description, "max_attempts": p.max_attempts,
                   "retry_backoff_seconds": p.retry_backoff_seconds, "timeout_seconds": p.timeout_seconds,
                   "allow_concurrent_runs": p.allow_concurrent_runs},
        lambda p: p.workspace,
    ))
    track(PipelineVersion, Tracked(
        "pipeline_version",
        lambda v: {"pipeline": v.pipeline_id, "number": v.number, "message": v.message, "valid": v.valid},
        lambda v: v.pipeline.workspace, on_update=None, on_delete=None,
    ))
    track(Run, Tracked(
        "run",
        lambda r: {"pipeline": r.pipeline_id, "version": r.version.number, "engine": r.engine,
                   "parameters": r.parameters, "trigger": r.trigger, "attempt": r.attempt},
        lambda r: r.pipeline.workspace, on_create=AuditAction.RUN, on_update=None, on_delete=None,
    ))
    track(Schedule, Tracked(
        "schedule",
        lambda s: {"pipeline": s.pipeline_id, "cron": s.cron, "parameters": s.parameters, "engine": s.engine,
                   "enabled": s.enabled},
        lambda s: s.pipeline.workspace,
    ))
    post_save.connect(_run_cancelled, sender=RunEvent, dispatch_uid="audit-run-cancel")
    track(Connection, Tracked("connection", Connection.audit_snapshot, lambda c: c.workspace))
    # What a person decides about a deployment (its version, parameters, running or stopped); its
    # status bookkeeping is not audited.
    track(Deployment, Tracked(
        "deployment",
        lambda d: {"pipeline": d.pipeline_id, "version": d.version.number, "engine": d.engine,
                   "parameters": d.parameters, "desired": d.desired, "state_generation": d.state_generation},
        lambda d: d.pipeline.workspace,
    ))
    track(Webhook, Tracked(
        "webhook",
        lambda w: {"connection": w.connection.name, "pipeline": w.pipeline_id, "enabled": w.enabled},
        lambda w: w.workspace,
    ))
    # Catalog curation: registration and refreshes are the studio's; descriptions, owners, tags and
    # column classifications (PII) are people's.
    track(Dataset, Tracked(
        "dataset", lambda d: {"name": d.name, "description": d.description, "owner": _username(d.owner)},
        lambda d: d.workspace,
    ))
    track(DatasetColumn, Tracked(
        "dataset_column",
        lambda c: {"dataset": c.dataset_id, "name": c.name, "classification": c.classification,
                   "description": c.description},
        lambda c: c.dataset.workspace, on_create=None, on_delete=None,
    ))
    track(DatasetTag, Tracked("dataset_tag", lambda t: {"dataset": t.dataset_id, "name": t.name},
                              lambda t: t.dataset.workspace, on_update=None))
