"""Pipelines and their immutable versions (each a `studio.pipeline/v1` document)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from studio.access.models import RestrictedQuerySet, Workspace

__all__ = ["Pipeline", "PipelineVersion"]


class Pipeline(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="pipelines")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    latest_version = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "workspace"

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="pipeline_unique_name"),
            models.CheckConstraint(condition=~models.Q(name=""), name="pipeline_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace.slug}/{self.name}"


class PipelineVersion(models.Model):
    """A saved document. Never changed after it is written: a save makes a new number."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    document = models.JSONField()
    valid = models.BooleanField(default=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    message = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "pipeline__workspace"

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "number"], name="version_unique_number"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="version_number_positive"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Pipeline versions are immutable; save a new version instead.")
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.pipeline} v{self.number}"
