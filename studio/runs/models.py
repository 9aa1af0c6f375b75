"""A run of one pipeline version on one engine: a row that owns its state machine and its log."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.access.models import RestrictedQuerySet
from studio.pipelines.models import Pipeline, PipelineVersion

__all__ = ["Engine", "LogLevel", "Run", "RunLogLine", "RunStatus"]


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class Engine(models.TextChoices):
    SPARK = "spark", "Spark"
    FLINK = "flink", "Flink"


class LogLevel(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Run(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(PipelineVersion, on_delete=models.PROTECT, related_name="runs")
    engine = models.CharField(max_length=16, choices=Engine.choices, default=Engine.SPARK)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    code = models.TextField(blank=True, default="")
    # The number of log lines written so far; the next line gets this number plus one.
    log_lines = models.PositiveIntegerField(default=0)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "pipeline__workspace"

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["pipeline", "-created_at"]), models.Index(fields=["status"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=RunStatus.values), name="run_status_valid"),
            models.CheckConstraint(condition=models.Q(engine__in=Engine.values), name="run_engine_valid"),
            models.CheckConstraint(
                condition=models.Q(finished_at__isnull=True) | models.Q(status__in=FINISHED),
                name="run_finished_only_when_done",
            ),
        ]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def __str__(self) -> str:
        return f"run {self.pk} of {self.pipeline} ({self.status})"


class RunLogLine(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="log")
    seq = models.PositiveIntegerField()
    ts = models.DateTimeField()
    level = models.CharField(max_length=8, choices=LogLevel.choices, default=LogLevel.INFO)
    text = models.TextField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="runlog_unique_seq")]
