"""The audit log: one row per create, update, delete, run, cancel and permission change. Append-only."""
from __future__ import annotations

from typing import Any, NoReturn

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from studio.access.models import RestrictedQuerySet

__all__ = ["AppendOnlyError", "AuditAction", "AuditEvent"]


class AppendOnlyError(RuntimeError):
    """Audit events are never changed or deleted."""


def _refuse(what: str) -> NoReturn:
    raise AppendOnlyError(f"Audit events are append-only: {what} is refused.")


class AuditAction(models.TextChoices):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RUN = "run"  # a run was started (by a person, a schedule or as a retry)
    CANCEL = "cancel"  # a run was cancelled
    PERMISSION = "permission"  # a membership was added, changed or removed; a superuser flag changed


class AuditEventQuerySet(RestrictedQuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        _refuse("update")

    def delete(self) -> NoReturn:
        _refuse("delete")

    def _raw_delete(self, using: Any) -> NoReturn:
        _refuse("delete")


class AuditEvent(models.Model):
    """Who did what to which object, when, with the object's state before and after.

    Plain columns, not foreign keys, point at the actor and the workspace: the log outlives them (a
    cascade would have to change or delete events). On PostgreSQL a trigger refuses UPDATE and DELETE
    (migration 0002); everywhere the model and its queryset refuse them.
    """

    at = models.DateTimeField(default=timezone.now)
    actor_ref = models.BigIntegerField(null=True, blank=True, help_text="The user's id; null for the studio itself.")
    actor = models.CharField(max_length=150, blank=True, default="", help_text='Username; "" for the studio itself.')
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=300, blank=True, default="")
    workspace_ref = models.BigIntegerField(null=True, blank=True,
                                           help_text="The workspace's id; null for instance-wide events.")
    workspace = models.CharField(max_length=64, blank=True, default="", help_text="The workspace's slug then.")
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)

    objects = AuditEventQuerySet.as_manager()
    workspace_path = "workspace_ref"

    class Meta:
        ordering = ["-id"]  # insertion order: the `before` cursor pages by id
        indexes = [
            models.Index(fields=["workspace_ref", "at"]),
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["actor", "at"]),
            models.Index(fields=["at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(action__in=AuditAction.values), name="audit_action_valid"),
            models.CheckConstraint(condition=~models.Q(object_type=""), name="audit_object_type_not_empty"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse("update")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("delete")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor or 'studio'} {self.action} {self.object_type} {self.object_id}"
