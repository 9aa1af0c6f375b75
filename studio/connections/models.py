"""Connections to outside systems (Kafka, object storage, databases, webhooks) and their secrets."""
from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.validators import RegexValidator
from django.db import models

from studio.access.models import RestrictedQuerySet, Workspace
from studio.connections.kinds import KINDS, NAME_PATTERN

__all__ = ["Connection"]


class Connection(models.Model):
    """Settings in the clear, secrets encrypted (`studio.connections.crypto`) and never answered by the API.

    A pipeline node names a connection of its workspace (`"connection": "prod_kafka"` in its config);
    the runner hands it to the job at execution time.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="connections")
    name = models.CharField(
        max_length=63,
        validators=[RegexValidator(NAME_PATTERN, "Use lower-case letters, digits and _ (starting with a letter).")],
    )
    kind = models.CharField(max_length=16, choices=[(k, v.label) for k, v in KINDS.items()])
    description = models.TextField(blank=True, default="")
    settings = models.JSONField(default=dict, blank=True)
    secrets_ciphertext = models.TextField(blank=True, default="", editable=False)
    secret_names = models.JSONField(default=list, blank=True, help_text="Which secrets are set (names only).")
    secrets_updated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "workspace"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="connection_unique_name"),
            models.CheckConstraint(condition=models.Q(kind__in=list(KINDS)), name="connection_kind_valid"),
            models.CheckConstraint(condition=models.Q(name__regex=NAME_PATTERN), name="connection_name_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace.slug}/{self.name}"

    def __repr__(self) -> str:
        return f"<Connection {self.pk} {self.name} ({self.kind})>"

    def audit_snapshot(self) -> dict[str, Any]:
        """What the audit log keeps: settings and which secrets are set, never their values."""
        return {"name": self.name, "kind": self.kind, "description": self.description, "settings": self.settings,
                "secrets_set": sorted(self.secret_names), "secrets_updated_at": self.secrets_updated_at}
