"""A run of one pipeline version on one engine: a row that owns its state machine, its history of
transitions, its log, its per-node metrics and its alerts; the schedules that start runs; the
deployments that keep a streaming pipeline running; and the webhooks alerts are sent to."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models

from studio.access.models import RestrictedQuerySet
from studio.pipelines.models import Pipeline, PipelineVersion

__all__ = [
    "ACTIVE", "FINISHED", "OWNED", "Alert", "AlertDelivery", "DeliveryStatus", "Deployment", "DesiredState",
    "Engine", "LogLevel", "Run", "RunEvent", "RunLogLine", "RunNodeMetric", "RunQualityResult", "RunStatus",
    "RunTrigger", "Schedule", "Severity", "Webhook",
]


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    LOST = "lost"


FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.LOST)
# Owned by a worker, which heartbeats while it supervises the job.
OWNED = (RunStatus.STARTING, RunStatus.RUNNING, RunStatus.CANCELLING)
ACTIVE = (RunStatus.QUEUED, *OWNED)


class RunTrigger(models.TextChoices):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    RETRY = "retry"
    DEPLOYMENT = "deployment"


class Engine(models.TextChoices):
    SPARK = "spark", "Spark"
    FLINK = "flink", "Flink"


class LogLevel(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Schedule(models.Model):
    """Start a run of a pipeline's latest version whenever a cron expression (UTC) fires."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="schedules")
    cron = models.CharField(max_length=200)
    parameters = models.JSONField(default=dict, blank=True)
    engine = models.CharField(max_length=16, choices=Engine.choices, default=Engine.SPARK)
    enabled = models.BooleanField(default=True)
    # The next time it fires; the dispatcher moves it forward with a conditional update, so a tick
    # that runs twice (two beats, a redelivered task) starts one run, not two.
    next_fire_at = models.DateTimeField(null=True, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey("Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "pipeline__workspace"

    class Meta:
        ordering = ["pipeline", "id"]
        indexes = [models.Index(fields=["enabled", "next_fire_at"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(cron=""), name="schedule_cron_not_empty"),
            models.CheckConstraint(condition=models.Q(engine__in=Engine.values), name="schedule_engine_valid"),
            models.CheckConstraint(
                condition=models.Q(enabled=False) | models.Q(next_fire_at__isnull=False),
                name="schedule_enabled_has_next_fire",
            ),
        ]

    def __str__(self) -> str:
        return f"schedule {self.pk} of {self.pipeline} ({self.cron})"


class DesiredState(models.TextChoices):
    RUNNING = "running"
    STOPPED = "stopped"


class Deployment(models.Model):
    """A streaming pipeline kept running: each start (and each restart after a stop, an upgrade or a
    retry) is a run of it, and every run of it keeps its state in the same place, so a run resumes
    where the one before stopped.

    Its status is not stored: it follows from `desired` and its newest run (see selectors)."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="deployments")
    version = models.ForeignKey(PipelineVersion, on_delete=models.PROTECT, related_name="deployments")
    engine = models.CharField(max_length=16, choices=Engine.choices, default=Engine.SPARK)
    parameters = models.JSONField(default=dict, blank=True)
    desired = models.CharField(max_length=16, choices=DesiredState.choices, default=DesiredState.RUNNING)
    # The state (checkpoints) lives in a folder per generation; resetting the state (an upgrade
    # the old state cannot serve) starts a new generation, leaving the old one for inspection.
    state_generation = models.PositiveIntegerField(default=1)
    # The savepoint its last stop took (Flink on a session cluster); a run starts from the newest
    # complete checkpoint or savepoint of the current generation, whichever it is.
    last_savepoint = models.CharField(max_length=1000, blank=True, default="")
    # Set by an upgrade or a restart of a running deployment: once its run has stopped, the next
    # run starts (with the deployment's version, which may have changed meanwhile).
    restart_pending = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "pipeline__workspace"

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(engine__in=Engine.values), name="deployment_engine_valid"),
            models.CheckConstraint(condition=models.Q(desired__in=DesiredState.values),
                                   name="deployment_desired_valid"),
            models.CheckConstraint(condition=models.Q(state_generation__gte=1), name="deployment_generation_positive"),
        ]

    def __str__(self) -> str:
        return f"deployment {self.pk} of {self.pipeline}"

    @property
    def state_dir(self) -> Path:
        """The current generation's state folder: checkpoints and savepoints."""
        return Path(settings.STUDIO_DEPLOYMENTS_DIR) / str(self.pk) / f"state-{self.state_generation}"


class Run(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(PipelineVersion, on_delete=models.PROTECT, related_name="runs")
    engine = models.CharField(max_length=16, choices=Engine.choices, default=Engine.SPARK)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    schedule = models.ForeignKey(Schedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    # Retries: attempt n + 1 is a new run linked to attempt n.
    attempt = models.PositiveSmallIntegerField(default=1)
    retry_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retry")
    # The deployment this run serves (a long-lived streaming run), if any.
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # A retry waits for its backoff: no worker starts it before this.
    not_before = models.DateTimeField(null=True, blank=True)
    # When its task was last handed to the broker (null: not yet); the reaper sends it again if the
    # message was lost.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    code = models.TextField(blank=True, default="")
    # The number of log lines written so far; the next line gets this number plus one.
    log_lines = models.PositiveIntegerField(default=0)
    # Who owns it while it is starting, running or cancelling: the reaper's evidence.
    worker_host = models.CharField(max_length=255, blank=True, default="")
    worker_pid = models.PositiveIntegerField(null=True, blank=True)
    job_pid = models.PositiveIntegerField(null=True, blank=True)
    job_pgid = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The engine's own id of the job, where it has one the runner uses (a Flink job on a session
    # cluster, cancelled and stopped through the cluster's REST API).
    engine_job_id = models.CharField(max_length=64, blank=True, default="")
    # Alerts raised so far; the next one gets this number plus one.
    alert_count = models.PositiveIntegerField(default=0)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "pipeline__workspace"

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["pipeline", "-created_at"]), models.Index(fields=["status"]),
                   models.Index(fields=["deployment", "-id"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=RunStatus.values), name="run_status_valid"),
            models.CheckConstraint(condition=models.Q(engine__in=Engine.values), name="run_engine_valid"),
            models.CheckConstraint(condition=models.Q(trigger__in=RunTrigger.values), name="run_trigger_valid"),
            models.CheckConstraint(condition=models.Q(attempt__gte=1), name="run_attempt_positive"),
            models.CheckConstraint(
                condition=models.Q(finished_at__isnull=True) | models.Q(status__in=FINISHED),
                name="run_finished_only_when_done",
            ),
            models.CheckConstraint(
                condition=models.Q(finished_at__isnull=False) | ~models.Q(status__in=FINISHED),
                name="run_done_has_finished_at",
            ),
        ]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def duration_seconds(self) -> float | None:
        """How long it ran (from its claim by a worker to its end); None until both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def __str__(self) -> str:
        return f"run {self.pk} of {self.pipeline} ({self.status})"


class RunEvent(models.Model):
    """One transition of a run's state machine (from_status is null for its creation)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=RunStatus.choices, null=True, blank=True)
    to_status = models.CharField(max_length=16, choices=RunStatus.choices)
    at = models.DateTimeField()
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["run", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(to_status__in=RunStatus.values), name="runevent_to_valid"),
            models.CheckConstraint(
                condition=models.Q(from_status__isnull=True) | models.Q(from_status__in=RunStatus.values),
                name="runevent_from_valid",
            ),
        ]


def _unique_per_batch(fields: list[str], name: str) -> list[models.UniqueConstraint]:
    """One row per key for a batch job (batch is null), and one per key and micro-batch for a stream."""
    return [
        models.UniqueConstraint(fields=fields, condition=models.Q(batch__isnull=True), name=f"{name}_unique"),
        models.UniqueConstraint(fields=[*fields, "batch"], condition=models.Q(batch__isnull=False),
                                name=f"{name}_unique_batch"),
    ]


class RunNodeMetric(models.Model):
    """Rows through one port of one node, as the job reported them (per micro-batch for a stream)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="node_metrics")
    node = models.CharField(max_length=200)
    port = models.CharField(max_length=200)
    batch = models.PositiveBigIntegerField(null=True, blank=True)
    rows = models.PositiveBigIntegerField(default=0)
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)
    # A streaming source's lag after the micro-batch, in records (see runners.output.SourceLag).
    lag = models.PositiveBigIntegerField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "node", "port", "batch"]
        constraints = _unique_per_batch(["run", "node", "port"], "runnodemetric")


class RunQualityResult(models.Model):
    """Rows that passed and failed one quality rule of one node (per micro-batch for a stream)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="quality_results")
    node = models.CharField(max_length=200)
    rule = models.CharField(max_length=200)
    batch = models.PositiveBigIntegerField(null=True, blank=True)
    passed = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "node", "rule", "batch"]
        constraints = _unique_per_batch(["run", "node", "rule"], "runqualityresult")


class RunLogLine(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="log")
    seq = models.PositiveIntegerField()
    ts = models.DateTimeField()
    level = models.CharField(max_length=8, choices=LogLevel.choices, default=LogLevel.INFO)
    text = models.TextField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="runlog_unique_seq")]


class Severity(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Alert(models.Model):
    """One alert a run raised (a row that reached a `sink.alert` node)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="alerts")
    seq = models.PositiveIntegerField()
    node = models.CharField(max_length=200)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    message = models.TextField(blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="alert_unique_seq"),
            models.CheckConstraint(condition=models.Q(severity__in=Severity.values), name="alert_severity_valid"),
        ]


class Webhook(models.Model):
    """Sends every alert of a workspace's runs, or of one pipeline's runs, to a webhook connection
    of the workspace (its URL and bearer token live there, the token encrypted)."""

    workspace = models.ForeignKey("access.Workspace", on_delete=models.CASCADE, related_name="webhooks")
    pipeline = models.ForeignKey(Pipeline, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks")
    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="webhooks")
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "workspace"

    class Meta:
        ordering = ["workspace", "id"]
        constraints = [
            models.UniqueConstraint(fields=["connection"], condition=models.Q(pipeline__isnull=True),
                                    name="webhook_unique_workspace_route"),
            models.UniqueConstraint(fields=["connection", "pipeline"], condition=models.Q(pipeline__isnull=False),
                                    name="webhook_unique_pipeline_route"),
        ]

    def __str__(self) -> str:
        return f"webhook {self.pk} of {self.workspace}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class AlertDelivery(models.Model):
    """Sending one alert to one webhook: retried with backoff until delivered or out of attempts,
    each attempt recorded."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    webhook = models.ForeignKey(Webhook, null=True, on_delete=models.SET_NULL, related_name="deliveries")
    url = models.CharField(max_length=2000)  # where it goes, kept if the webhook is deleted
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due; an attempt in flight holds it a little ahead (its lease).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # One entry per attempt: {"at", "status_code" (null: no answer), "error", "duration_ms"}.
    history = models.JSONField(default=list, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["alert", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(fields=["alert", "webhook"], name="alertdelivery_unique"),
            models.CheckConstraint(condition=models.Q(status__in=DeliveryStatus.values),
                                   name="alertdelivery_status_valid"),
            models.CheckConstraint(
                condition=models.Q(delivered_at__isnull=True) | models.Q(status=DeliveryStatus.DELIVERED),
                name="alertdelivery_delivered_at_only_when_delivered",
            ),
        ]
