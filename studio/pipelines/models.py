"""Pipelines and their immutable versions (each a `studio.pipeline/v1` document)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from studio.access.models import RestrictedQuerySet, Workspace

__all__ = ["MAX_ATTEMPTS", "MAX_BACKOFF_SECONDS", "MAX_TIMEOUT_SECONDS", "Pipeline", "PipelineVersion"]

MAX_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 24 * 3600
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600


class Pipeline(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="pipelines")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    latest_version = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # How its runs are run: a run whose worker died is retried up to `max_attempts` runs in all,
    # waiting `retry_backoff_seconds` doubled at each attempt; `timeout_seconds` stops a run that
    # takes longer (null: no limit); without `allow_concurrent_runs` a run is refused while another
    # one of the pipeline is active.
    max_attempts = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_ATTEMPTS)],
    )
    retry_backoff_seconds = models.PositiveIntegerField(default=30, validators=[MaxValueValidator(MAX_BACKOFF_SECONDS)])
    timeout_seconds = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(MAX_TIMEOUT_SECONDS)],
    )
    allow_concurrent_runs = models.BooleanField(default=True)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "workspace"

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="pipeline_unique_name"),
            models.CheckConstraint(condition=~models.Q(name=""), name="pipeline_name_not_empty"),
            models.CheckConstraint(
                condition=models.Q(max_attempts__gte=1, max_attempts__lte=MAX_ATTEMPTS),
                name="pipeline_max_attempts_range",
            ),
            models.CheckConstraint(
                condition=models.Q(retry_backoff_seconds__lte=MAX_BACKOFF_SECONDS), name="pipeline_backoff_range",
            ),
            models.CheckConstraint(
                condition=models.Q(timeout_seconds__isnull=True)
                | models.Q(timeout_seconds__gte=1, timeout_seconds__lte=MAX_TIMEOUT_SECONDS),
                name="pipeline_timeout_range",
            ),
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
