"""Thin views for starting, watching and cancelling runs, their history, metrics, progress and alerts;
schedules; streaming deployments; and alert webhooks."""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.access.models import Workspace
from studio.access.permissions import get_for_action
from studio.connections.models import Connection
from studio.core.schema import ErrorSerializer, FieldErrorsSerializer, InvalidDocumentSerializer, error_responses
from studio.pipelines.models import Pipeline, PipelineVersion
from studio.pipelines.selectors import version_get
from studio.runs import selectors, services
from studio.runs.events import log_line_data, run_data, run_detail_data
from studio.runs.models import (
    Alert, DeliveryStatus, Deployment, DesiredState, Engine, LogLevel, Run, RunStatus, RunTrigger, Schedule, Severity,
    Webhook,
)
from studio.runs.selectors import DeploymentStatus, NodeStatus

__all__ = [
    "DeploymentDetailView", "DeploymentListView", "DeploymentProgressView", "DeploymentStartView",
    "DeploymentStopView", "DeploymentUpgradeView", "PipelineDeploymentsView", "PipelineRunsView",
    "PipelineSchedulesView", "RunAlertsView", "RunCancelView", "RunDetailView", "RunListView", "RunLogView",
    "RunMetricsView", "RunNodesView", "RunProgressView", "ScheduleDetailView", "WebhookDetailView", "WebhookListView",
]


class RunCreateSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="A version number; the latest when omitted.",
    )
    engine = serializers.ChoiceField(choices=Engine.values, default=Engine.SPARK)
    parameters = serializers.DictField(required=False, default=dict, help_text="Values for the pipeline's parameters.")


class LogQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, default=0, min_value=0)
    limit = serializers.IntegerField(required=False, default=500, min_value=1, max_value=5000)


class HistoryQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000,
                                     help_text="At most this many runs (newest first); 100 by default.")


class MetricsQuerySerializer(serializers.Serializer):
    node = serializers.CharField(required=False, max_length=200, help_text="Only this node's rows.")
    limit = serializers.IntegerField(required=False, default=5000, min_value=1, max_value=20000,
                                     help_text="At most this many of the newest rows of each kind.")


class RunSerializer(serializers.Serializer):
    """A run (the schema of `run_data` without the code)."""

    id = serializers.IntegerField()
    pipeline = serializers.IntegerField(help_text="The pipeline's id.")
    pipeline_name = serializers.CharField()
    workspace = serializers.SlugField(help_text="The workspace's slug.")
    version = serializers.IntegerField(help_text="The version number that runs.")
    engine = serializers.ChoiceField(choices=Engine.values)
    parameters = serializers.DictField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    trigger = serializers.ChoiceField(
        choices=RunTrigger.choices, help_text="Started by a person (or script), by a schedule, or as a retry.",
    )
    schedule = serializers.IntegerField(
        allow_null=True, help_text="The schedule that started it (or its first attempt).",
    )
    attempt = serializers.IntegerField(help_text="1 for a first run; n for the (n-1)th retry.")
    retry_of = serializers.IntegerField(allow_null=True, help_text="The run this one retries.")
    deployment = serializers.IntegerField(allow_null=True, help_text="The deployment it is a run of (a stream); null "
                                                                     "for any other run.")
    created_by = serializers.CharField(allow_null=True, help_text="Username; null when the user was deleted.")
    created_at = serializers.DateTimeField()
    not_before = serializers.DateTimeField(allow_null=True, help_text="A retry does not start before this time.")
    started_at = serializers.DateTimeField(allow_null=True, help_text="When a worker claimed it.")
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True, help_text="finished_at - started_at, once finished.")
    error = serializers.CharField(
        allow_blank=True, help_text='Why the run failed, was cancelled or was lost; "" when it succeeded or is active.',
    )


class RunEventSerializer(serializers.Serializer):
    """One transition of the run's state machine."""

    from_status = serializers.ChoiceField(choices=RunStatus.choices, allow_null=True,
                                          help_text="Null for the run's creation.")
    to_status = serializers.ChoiceField(choices=RunStatus.choices)
    at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)


class RunNodePortSerializer(serializers.Serializer):
    port = serializers.CharField()
    rows = serializers.IntegerField(help_text="Rows through the port (summed over micro-batches for a stream).")
    batches = serializers.IntegerField(help_text="Micro-batches reported (0 for a batch job).")


class RunNodeQualitySerializer(serializers.Serializer):
    rule = serializers.CharField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()


class RunNodeSerializer(serializers.Serializer):
    """A node of the run's version, with its status and the metrics its job reported."""

    node = serializers.CharField(help_text="The node's id in the document.")
    type = serializers.CharField(allow_null=True)
    label = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=NodeStatus.ALL)
    rows_in = serializers.IntegerField(allow_null=True, help_text="Null until known.")
    rows_out = serializers.IntegerField(allow_null=True, help_text="Null until known (and for a sink).")
    duration_ms = serializers.IntegerField(allow_null=True)
    batches = serializers.IntegerField(help_text="Micro-batches reported (0 for a batch job).")
    last_batch = serializers.IntegerField(allow_null=True)
    lag = serializers.IntegerField(
        allow_null=True, help_text="A streaming source's lag after its newest micro-batch, in records; null when "
                                   "the source does not report it.",
    )
    ports = RunNodePortSerializer(many=True)
    quality = RunNodeQualitySerializer(many=True)
    updated = serializers.DateTimeField(allow_null=True, help_text="When the job last reported about the node.")


class RunDetailSerializer(RunSerializer):
    """A run with its generated job, its transitions, who owns it and its nodes' metrics."""

    code = serializers.CharField(allow_blank=True, help_text='The generated job; "" until it is compiled.')
    retried_by = serializers.IntegerField(allow_null=True, help_text="The run that retries this one.")
    worker_host = serializers.CharField(allow_blank=True, help_text="The machine of the worker that claimed it.")
    worker_pid = serializers.IntegerField(allow_null=True)
    job_pid = serializers.IntegerField(allow_null=True, help_text="The job's process (and process group).")
    heartbeat_at = serializers.DateTimeField(allow_null=True, help_text="The worker's last sign of life.")
    events = RunEventSerializer(many=True)
    nodes = RunNodeSerializer(many=True)


class LogLineSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    ts = serializers.DateTimeField()
    level = serializers.ChoiceField(choices=LogLevel.choices)
    text = serializers.CharField(allow_blank=True)


class LogPageSerializer(serializers.Serializer):
    lines = LogLineSerializer(many=True)
    next = serializers.IntegerField(help_text="The `after` for the following page.")


class RunMetricRowSerializer(serializers.Serializer):
    node = serializers.CharField()
    port = serializers.CharField()
    batch = serializers.IntegerField(allow_null=True, help_text="The micro-batch; null for a batch job.")
    rows = serializers.IntegerField()
    duration_ms = serializers.IntegerField(allow_null=True)
    updated = serializers.DateTimeField()


class RunQualityRowSerializer(serializers.Serializer):
    node = serializers.CharField()
    rule = serializers.CharField()
    batch = serializers.IntegerField(allow_null=True, help_text="The micro-batch; null for a batch job.")
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    updated = serializers.DateTimeField()


class RunMetricsSerializer(serializers.Serializer):
    metrics = RunMetricRowSerializer(many=True)
    quality = RunQualityRowSerializer(many=True)


class RunConflictSerializer(serializers.Serializer):
    """409: the pipeline does not allow concurrent runs and one is active."""

    detail = serializers.CharField()
    active_run = serializers.IntegerField(help_text="The active run's id.")


class ScheduleCreateSerializer(serializers.Serializer):
    cron = serializers.CharField(max_length=200, help_text='Five cron fields in UTC, e.g. "0 6 * * 1-5", or @daily.')
    parameters = serializers.DictField(required=False, default=dict, help_text="Values for the pipeline's parameters.")
    engine = serializers.ChoiceField(choices=Engine.values, default=Engine.SPARK)
    enabled = serializers.BooleanField(required=False, default=True)


class ScheduleUpdateSerializer(serializers.Serializer):
    cron = serializers.CharField(max_length=200, required=False)
    parameters = serializers.DictField(required=False)
    engine = serializers.ChoiceField(choices=Engine.values, required=False)
    enabled = serializers.BooleanField(required=False)


class ScheduleSerializer(serializers.Serializer):
    """Starts a run of the pipeline's latest version whenever the cron expression fires (UTC)."""

    id = serializers.IntegerField()
    pipeline = serializers.IntegerField(help_text="The pipeline's id.")
    cron = serializers.CharField()
    timezone = serializers.ChoiceField(choices=["UTC"], help_text="Cron expressions are in UTC.")
    parameters = serializers.DictField()
    engine = serializers.ChoiceField(choices=Engine.values)
    enabled = serializers.BooleanField()
    next_fire_at = serializers.DateTimeField(allow_null=True, help_text="Null while disabled.")
    last_fired_at = serializers.DateTimeField(allow_null=True)
    last_run = serializers.IntegerField(allow_null=True, help_text="The run it started last.")
    last_error = serializers.CharField(allow_blank=True, help_text='Why the last firing started no run; "" if it did.')
    created_by = serializers.CharField(allow_null=True, help_text="Username; runs it starts are theirs.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


_RUN_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The run's id.")
_PIPELINE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The pipeline's id.")
_SCHEDULE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The schedule's id.")
_RUN_REFUSED = PolymorphicProxySerializer(
    component_name="RunRefused",
    serializers=[InvalidDocumentSerializer, ErrorSerializer, FieldErrorsSerializer],
    resource_type_field_name=None,
)
_SCHEDULE_REFUSED = PolymorphicProxySerializer(
    component_name="ScheduleRefused",
    serializers=[InvalidDocumentSerializer, FieldErrorsSerializer],
    resource_type_field_name=None,
)


def _runs() -> Any:
    return Run.objects.select_related("pipeline__workspace", "version", "created_by")


def _pipeline(request: Request, pk: int, action: str) -> Pipeline:
    return get_for_action(Pipeline.objects.select_related("workspace"), user=request.user, action=action, pk=pk)


def schedule_data(schedule: Schedule) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "pipeline": schedule.pipeline_id,
        "cron": schedule.cron,
        "timezone": "UTC",
        "parameters": schedule.parameters,
        "engine": schedule.engine,
        "enabled": schedule.enabled,
        "next_fire_at": schedule.next_fire_at,
        "last_fired_at": schedule.last_fired_at,
        "last_run": schedule.last_run_id,
        "last_error": schedule.last_error,
        "created_by": schedule.created_by.get_username() if schedule.created_by else None,
        "created_at": schedule.created_at,
        "updated_at": schedule.updated_at,
    }


class PipelineRunsView(APIView):
    @extend_schema(
        operation_id="runs_history", tags=["runs"], summary="A pipeline's runs, newest first (its run history)",
        description="Each run carries `duration_seconds`, for a chart of durations over time.",
        parameters=[_PIPELINE_ID, HistoryQuerySerializer],
        responses={200: RunSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk, "view")
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        runs = selectors.run_list(user=request.user, pipeline_id=pipeline.pk)[: query.validated_data["limit"]]
        return Response([run_data(run) for run in runs])

    @extend_schema(
        operation_id="runs_create", tags=["runs"], summary="Start a run of a pipeline version",
        parameters=[_PIPELINE_ID],
        request=RunCreateSerializer,
        responses={
            201: RunDetailSerializer,
            400: OpenApiResponse(_RUN_REFUSED, description=(
                "A validation result when the version is invalid for the engine or a parameter is unknown or "
                "of the wrong type; `{\"detail\"}` when the pipeline has no version; or invalid fields."
            )),
            **error_responses(401, 403, 404),
            409: OpenApiResponse(RunConflictSerializer, description=(
                "The pipeline does not allow concurrent runs (`allow_concurrent_runs` is false) and a run of it "
                "is queued, starting, running or cancelling."
            )),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk, "run")
        serializer = RunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = version_get(pipeline=pipeline, number=data.get("version"))
        if version is None:
            if pipeline.latest_version is None:
                raise ValidationError({"detail": "Save the pipeline before running it: it has no version yet."})
            raise NotFound(f"Pipeline {pk} has no version {data.get('version')}.")
        run = services.run_create(
            pipeline=pipeline, version=version, engine=data["engine"], parameters=data["parameters"],
            user=request.user,
        )
        return Response(run_detail_data(_runs().get(pk=run.pk)), status=status.HTTP_201_CREATED)


class RunListView(APIView):
    @extend_schema(
        operation_id="runs_list", tags=["runs"], summary="Runs, newest first (at most 100)",
        parameters=[OpenApiParameter(
            "pipeline", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Only the runs of this pipeline id.",
        )],
        responses={200: RunSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        pipeline = request.query_params.get("pipeline")
        if pipeline is not None and not pipeline.isdigit():
            raise ValidationError({"pipeline": ["Give a pipeline id (a number)."]})
        runs = selectors.run_list(user=request.user, pipeline_id=int(pipeline) if pipeline else None)[:100]
        return Response([run_data(run) for run in runs])


class RunDetailView(APIView):
    @extend_schema(
        operation_id="runs_retrieve", tags=["runs"],
        summary="A run with its code, transitions and node metrics",
        parameters=[_RUN_ID], responses={200: RunDetailSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="view", pk=pk)
        return Response(run_detail_data(run))


class RunNodesView(APIView):
    @extend_schema(
        operation_id="runs_nodes", tags=["runs"], summary="Each node of a run with its status and metrics",
        parameters=[_RUN_ID], responses={200: RunNodeSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="view", pk=pk)
        return Response(selectors.run_nodes(run=run))


class RunMetricsView(APIView):
    @extend_schema(
        operation_id="runs_metrics", tags=["runs"],
        summary="A run's metric rows as reported (per micro-batch for a stream)",
        parameters=[_RUN_ID, MetricsQuerySerializer],
        responses={200: RunMetricsSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="view", pk=pk)
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        metrics, quality = selectors.run_metric_rows(run=run, **query.validated_data)
        return Response({
            "metrics": [{"node": m.node, "port": m.port, "batch": m.batch, "rows": m.rows,
                         "duration_ms": m.duration_ms, "updated": m.updated} for m in metrics],
            "quality": [{"node": q.node, "rule": q.rule, "batch": q.batch, "passed": q.passed,
                         "failed": q.failed, "updated": q.updated} for q in quality],
        })


class RunLogView(APIView):
    @extend_schema(
        operation_id="runs_log", tags=["runs"], summary="A page of a run's log",
        parameters=[_RUN_ID, LogQuerySerializer],
        responses={200: LogPageSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="view", pk=pk)
        query = LogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        lines = [log_line_data(line) for line in selectors.run_log(run=run, **query.validated_data)]
        next_after = lines[-1]["seq"] if lines else query.validated_data["after"]
        return Response({"lines": lines, "next": next_after})


class RunCancelView(APIView):
    @extend_schema(
        operation_id="runs_cancel", tags=["runs"], summary="Cancel a queued or running run",
        description=(
            "A queued run is cancelled at once. A starting or running one becomes `cancelling`: its worker "
            "stops the job's processes (SIGTERM, then SIGKILL after a grace) and settles it `cancelled` "
            "within a few seconds. Cancelling a run that is already cancelling changes nothing."
        ),
        parameters=[_RUN_ID], request=None,
        responses={
            202: RunDetailSerializer, **error_responses(401, 403, 404),
            409: OpenApiResponse(ErrorSerializer, description="The run has already finished."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="run", pk=pk)
        run = services.run_cancel(run=run, user=request.user)
        return Response(run_detail_data(run), status=status.HTTP_202_ACCEPTED)


class PipelineSchedulesView(APIView):
    @extend_schema(
        operation_id="schedules_list", tags=["schedules"], summary="A pipeline's schedules",
        parameters=[_PIPELINE_ID], responses={200: ScheduleSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk, "view")
        return Response([schedule_data(s) for s in selectors.schedule_list(pipeline=pipeline)])

    @extend_schema(
        operation_id="schedules_create", tags=["schedules"], summary="Schedule runs of a pipeline",
        description="Needs the role that may run the pipeline. Runs it starts are the creator's.",
        parameters=[_PIPELINE_ID], request=ScheduleCreateSerializer,
        responses={
            201: ScheduleSerializer,
            400: OpenApiResponse(_SCHEDULE_REFUSED, description=(
                "Invalid fields (a cron expression that does not parse, with the reason), or a validation "
                "result naming parameters the latest version does not declare or cannot convert."
            )),
            **error_responses(401, 403, 404),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk, "run")
        serializer = ScheduleCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        schedule = services.schedule_create(pipeline=pipeline, user=request.user, **serializer.validated_data)
        return Response(schedule_data(schedule), status=status.HTTP_201_CREATED)


class ScheduleDetailView(APIView):
    def _schedule(self, request: Request, pk: int, action: str) -> Schedule:
        return get_for_action(selectors.schedules_visible(user=request.user), user=request.user, action=action, pk=pk)

    @extend_schema(
        operation_id="schedules_retrieve", tags=["schedules"], summary="A schedule",
        parameters=[_SCHEDULE_ID], responses={200: ScheduleSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(schedule_data(self._schedule(request, pk, "view")))

    @extend_schema(
        operation_id="schedules_partial_update", tags=["schedules"], summary="Change or pause a schedule",
        description="The next firing is computed from now: a re-enabled schedule does not replay missed times.",
        parameters=[_SCHEDULE_ID], request=ScheduleUpdateSerializer,
        responses={
            200: ScheduleSerializer,
            400: OpenApiResponse(_SCHEDULE_REFUSED, description="Invalid fields or parameters."),
            **error_responses(401, 403, 404),
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        schedule = self._schedule(request, pk, "run")
        serializer = ScheduleUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        schedule = services.schedule_update(schedule=schedule, **serializer.validated_data)
        return Response(schedule_data(schedule))

    @extend_schema(
        operation_id="schedules_destroy", tags=["schedules"], summary="Delete a schedule (its runs stay)",
        parameters=[_SCHEDULE_ID],
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.schedule_delete(schedule=self._schedule(request, pk, "run"))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- progress and alerts of a run -----------------------------------------------------------------


class ProgressQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=500, min_value=1, max_value=5000,
                                     help_text="At most this many of the newest micro-batches.")


class ProgressSerializer(serializers.Serializer):
    """One micro-batch of a stream: what its sources produced and how fast it was processed."""

    run = serializers.IntegerField()
    batch = serializers.IntegerField()
    at = serializers.DateTimeField(help_text="When the job reported the batch.")
    rows = serializers.IntegerField(help_text="Rows the sources produced in the batch.")
    duration_ms = serializers.IntegerField(allow_null=True, help_text="How long the batch took.")
    rows_per_second = serializers.FloatField(allow_null=True, help_text="rows / duration: the processing rate.")
    lag = serializers.IntegerField(
        allow_null=True, help_text="Records the sources were behind after the batch (e.g. Kafka offsets not yet "
                                   "read); null when the sources do not report it.",
    )


class AlertsQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, default=0, min_value=0, help_text="Alerts after this `seq`.")
    limit = serializers.IntegerField(required=False, default=500, min_value=1, max_value=5000)


class DeliveryAttemptSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True, help_text="The webhook's HTTP answer; null: none.")
    error = serializers.CharField(allow_blank=True, help_text='Why the attempt failed; "" when it succeeded.')
    duration_ms = serializers.IntegerField()


class AlertDeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    webhook = serializers.IntegerField(allow_null=True, help_text="Null once the webhook was deleted.")
    url = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    history = DeliveryAttemptSerializer(many=True)


class AlertSerializer(serializers.Serializer):
    """An alert a run raised (a row that reached a `sink.alert` node) and its deliveries."""

    seq = serializers.IntegerField(help_text="1, 2, ... within the run.")
    node = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    message = serializers.CharField(allow_blank=True)
    at = serializers.DateTimeField()
    deliveries = AlertDeliverySerializer(many=True)


class AlertPageSerializer(serializers.Serializer):
    alerts = AlertSerializer(many=True)
    next = serializers.IntegerField(help_text="The `after` for the following page.")


def alert_data(alert: Alert) -> dict[str, Any]:
    return {
        "seq": alert.seq, "node": alert.node, "severity": alert.severity, "message": alert.message, "at": alert.at,
        "deliveries": [{
            "id": d.id, "webhook": d.webhook_id, "url": d.url, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at, "delivered_at": d.delivered_at, "history": d.history,
        } for d in alert.deliveries.all()],
    }


class RunProgressView(APIView):
    @extend_schema(
        operation_id="runs_progress", tags=["runs"], summary="A stream's micro-batches: throughput and lag",
        parameters=[_RUN_ID, ProgressQuerySerializer],
        responses={200: ProgressSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="view", pk=pk)
        query = ProgressQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.run_progress(run=run, **query.validated_data))


class RunAlertsView(APIView):
    @extend_schema(
        operation_id="runs_alerts", tags=["runs"], summary="A page of a run's alerts, with their webhook deliveries",
        parameters=[_RUN_ID, AlertsQuerySerializer],
        responses={200: AlertPageSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="view", pk=pk)
        query = AlertsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        alerts = [alert_data(alert) for alert in selectors.run_alerts(run=run, **query.validated_data)]
        return Response({"alerts": alerts, "next": alerts[-1]["seq"] if alerts else query.validated_data["after"]})


# --- streaming deployments ------------------------------------------------------------------------


class DeploymentCreateSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text="A version number; the latest when "
                                                                              "omitted.")
    engine = serializers.ChoiceField(choices=Engine.values, default=Engine.SPARK)
    parameters = serializers.DictField(required=False, default=dict, help_text="Values for the pipeline's parameters.")


class DeploymentUpgradeSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text="The version to run; the latest when "
                                                                              "omitted.")
    reset_state = serializers.BooleanField(
        required=False, default=False,
        help_text="Start the new version with fresh state (a new state generation) when the old state cannot "
                  "serve it. Without it such an upgrade is refused (409) and nothing changes.",
    )


class DeploymentSerializer(serializers.Serializer):
    """A streaming pipeline kept running; each start is a run of it."""

    id = serializers.IntegerField()
    pipeline = serializers.IntegerField(help_text="The pipeline's id.")
    pipeline_name = serializers.CharField()
    workspace = serializers.SlugField()
    version = serializers.IntegerField(help_text="The version it runs (or runs next, during an upgrade).")
    engine = serializers.ChoiceField(choices=Engine.values)
    parameters = serializers.DictField()
    status = serializers.ChoiceField(choices=DeploymentStatus.ALL, help_text=(
        "starting, running, stopping, stopped (as asked, or its stream ended by itself) or failed (its run ended "
        "while it should run; see `run.error`)."))
    desired = serializers.ChoiceField(choices=DesiredState.choices, help_text="What was last asked of it.")
    restart_pending = serializers.BooleanField(help_text="A new run starts once the current one has stopped "
                                                         "(an upgrade).")
    state_generation = serializers.IntegerField(help_text="Goes up each time its state is reset.")
    state_dir = serializers.CharField(help_text="Where its checkpoints and savepoints are kept.")
    last_savepoint = serializers.CharField(allow_blank=True, help_text="The savepoint its last stop took (Flink on "
                                                                       "a session cluster).")
    run = RunSerializer(allow_null=True, help_text="Its newest run.")
    heartbeat_at = serializers.DateTimeField(allow_null=True, help_text="Its worker's last sign of life.")
    progress = ProgressSerializer(allow_null=True, help_text="Its newest micro-batch.")
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DeploymentUpgradeResultSerializer(serializers.Serializer):
    deployment = DeploymentSerializer()
    notes = serializers.ListField(child=serializers.CharField(), help_text="What changes all the same.")


class DeploymentConflictSerializer(serializers.Serializer):
    """409: the deployment is in a state that does not allow this, or its state cannot serve the
    version asked for."""

    detail = serializers.CharField()
    active_run = serializers.IntegerField(required=False, help_text="The run that is active.")
    problems = serializers.ListField(child=serializers.CharField(), required=False, help_text=(
        "Why the deployment's state cannot serve the new version."))


_DEPLOYMENT_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The deployment's id.")
_DEPLOYMENT_REFUSED = PolymorphicProxySerializer(
    component_name="DeploymentRefused",
    serializers=[InvalidDocumentSerializer, FieldErrorsSerializer],
    resource_type_field_name=None,
)
_DEPLOYMENT_CONFLICT = OpenApiResponse(DeploymentConflictSerializer, description=(
    "Refused in the deployment's present state (already running, not running, pipeline refuses concurrent runs), "
    "or its state cannot serve the version."))


def deployment_data(deployment: Deployment) -> dict[str, Any]:
    run = selectors.deployment_latest_run(deployment=deployment)
    progress = selectors.run_progress(run=run, limit=1) if run is not None else []
    return {
        "id": deployment.id,
        "pipeline": deployment.pipeline_id,
        "pipeline_name": deployment.pipeline.name,
        "workspace": deployment.pipeline.workspace.slug,
        "version": deployment.version.number,
        "engine": deployment.engine,
        "parameters": deployment.parameters,
        "status": selectors.deployment_status(deployment=deployment, run=run),
        "desired": deployment.desired,
        "restart_pending": deployment.restart_pending,
        "state_generation": deployment.state_generation,
        "state_dir": str(deployment.state_dir),
        "last_savepoint": deployment.last_savepoint,
        "run": run_data(run) if run is not None else None,
        "heartbeat_at": run.heartbeat_at if run is not None else None,
        "progress": progress[-1] if progress else None,
        "created_by": deployment.created_by.get_username() if deployment.created_by else None,
        "created_at": deployment.created_at,
        "updated_at": deployment.updated_at,
    }


def _deployments() -> Any:
    return Deployment.objects.select_related("pipeline__workspace", "version", "created_by")


def _deployment(request: Request, pk: int, action: str) -> Deployment:
    return get_for_action(_deployments(), user=request.user, action=action, pk=pk)


def _version(pipeline: Pipeline, number: int | None) -> PipelineVersion:
    version = version_get(pipeline=pipeline, number=number)
    if version is None:
        if pipeline.latest_version is None:
            raise ValidationError({"detail": "Save the pipeline before deploying it: it has no version yet."})
        raise NotFound(f"Pipeline {pipeline.pk} has no version {number}.")
    return version


class PipelineDeploymentsView(APIView):
    @extend_schema(
        operation_id="deployments_of_pipeline", tags=["deployments"], summary="A pipeline's deployments",
        parameters=[_PIPELINE_ID], responses={200: DeploymentSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk, "view")
        return Response([deployment_data(d) for d in selectors.deployment_list(user=request.user,
                                                                                pipeline_id=pipeline.pk)])

    @extend_schema(
        operation_id="deployments_create", tags=["deployments"], summary="Deploy a streaming pipeline version",
        description=(
            "Starts a long-lived run of the version that keeps its state (checkpoints) in a folder of the deployment; "
            "stop, start and upgrade it through the deployment."
        ),
        parameters=[_PIPELINE_ID], request=DeploymentCreateSerializer,
        responses={
            201: DeploymentSerializer,
            400: OpenApiResponse(_DEPLOYMENT_REFUSED, description=(
                "A batch pipeline, an invalid version for the engine, unknown parameters, or invalid fields.")),
            **error_responses(401, 403, 404),
            409: _DEPLOYMENT_CONFLICT,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk, "run")
        serializer = DeploymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        deployment = services.deployment_create(
            pipeline=pipeline, version=_version(pipeline, data.get("version")), engine=data["engine"],
            parameters=data["parameters"], user=request.user,
        )
        return Response(deployment_data(_deployments().get(pk=deployment.pk)), status=status.HTTP_201_CREATED)


class DeploymentListView(APIView):
    @extend_schema(
        operation_id="deployments_list", tags=["deployments"], summary="Deployments, newest first (at most 100)",
        parameters=[OpenApiParameter(
            "pipeline", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Only this pipeline's deployments.",
        )],
        responses={200: DeploymentSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        pipeline = request.query_params.get("pipeline")
        if pipeline is not None and not pipeline.isdigit():
            raise ValidationError({"pipeline": ["Give a pipeline id (a number)."]})
        deployments = selectors.deployment_list(user=request.user, pipeline_id=int(pipeline) if pipeline else None)
        return Response([deployment_data(d) for d in deployments[:100]])


class DeploymentDetailView(APIView):
    @extend_schema(
        operation_id="deployments_retrieve", tags=["deployments"], summary="A deployment, its newest run and "
                                                                           "micro-batch",
        parameters=[_DEPLOYMENT_ID], responses={200: DeploymentSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(deployment_data(_deployment(request, pk, "view")))

    @extend_schema(
        operation_id="deployments_destroy", tags=["deployments"],
        summary="Delete a stopped deployment and its state (its runs stay)",
        parameters=[_DEPLOYMENT_ID],
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404),
                   409: _DEPLOYMENT_CONFLICT},
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.deployment_delete(deployment=_deployment(request, pk, "run"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeploymentStopView(APIView):
    @extend_schema(
        operation_id="deployments_stop", tags=["deployments"], summary="Stop a deployment, keeping its state",
        description=(
            "Spark finishes its current micro-batch; Flink on a session cluster stops with a savepoint; Flink on a "
            "local mini-cluster keeps its last checkpoint. The next start resumes from there."
        ),
        parameters=[_DEPLOYMENT_ID], request=None,
        responses={202: DeploymentSerializer, **error_responses(401, 403, 404), 409: _DEPLOYMENT_CONFLICT},
    )
    def post(self, request: Request, pk: int) -> Response:
        deployment = services.deployment_stop(deployment=_deployment(request, pk, "run"), user=request.user)
        return Response(deployment_data(_deployments().get(pk=deployment.pk)), status=status.HTTP_202_ACCEPTED)


class DeploymentStartView(APIView):
    @extend_schema(
        operation_id="deployments_start", tags=["deployments"],
        summary="Start a stopped or failed deployment again, from its last checkpoint",
        parameters=[_DEPLOYMENT_ID], request=None,
        responses={202: DeploymentSerializer, **error_responses(401, 403, 404), 409: _DEPLOYMENT_CONFLICT},
    )
    def post(self, request: Request, pk: int) -> Response:
        deployment = services.deployment_start(deployment=_deployment(request, pk, "run"), user=request.user)
        return Response(deployment_data(_deployments().get(pk=deployment.pk)), status=status.HTTP_202_ACCEPTED)


class DeploymentUpgradeView(APIView):
    @extend_schema(
        operation_id="deployments_upgrade", tags=["deployments"], summary="Run another version of the pipeline",
        description=(
            "The running version stops with a checkpoint and the new one starts from it, when the state can serve it: "
            "every source and every stateful node (aggregations, windows, joins, deduplication, SQL) with what feeds "
            "it unchanged. Otherwise 409 lists the problems; `reset_state` starts the new version with fresh state."
        ),
        parameters=[_DEPLOYMENT_ID], request=DeploymentUpgradeSerializer,
        responses={
            202: DeploymentUpgradeResultSerializer,
            400: OpenApiResponse(_DEPLOYMENT_REFUSED, description="A batch or invalid version, or invalid fields."),
            **error_responses(401, 403, 404),
            409: _DEPLOYMENT_CONFLICT,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        deployment = _deployment(request, pk, "run")
        serializer = DeploymentUpgradeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        deployment, notes = services.deployment_upgrade(
            deployment=deployment, version=_version(deployment.pipeline, data.get("version")), user=request.user,
            reset_state=data["reset_state"],
        )
        return Response({"deployment": deployment_data(_deployments().get(pk=deployment.pk)), "notes": notes},
                        status=status.HTTP_202_ACCEPTED)


class DeploymentProgressView(APIView):
    @extend_schema(
        operation_id="deployments_progress", tags=["deployments"],
        summary="The micro-batches of a deployment's runs: its throughput and lag over time",
        parameters=[_DEPLOYMENT_ID, ProgressQuerySerializer],
        responses={200: ProgressSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        deployment = _deployment(request, pk, "view")
        query = ProgressQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.deployment_progress(deployment=deployment, **query.validated_data))


# --- alert webhooks -------------------------------------------------------------------------------


class WebhookCreateSerializer(serializers.Serializer):
    workspace = serializers.SlugField(help_text="The workspace whose runs' alerts it sends.")
    pipeline = serializers.IntegerField(required=False, allow_null=True, default=None,
                                        help_text="Only this pipeline's alerts; all of the workspace's when null.")
    connection = serializers.CharField(max_length=63, help_text=(
        "The name of a webhook connection of the workspace (its URL and bearer token)."))
    enabled = serializers.BooleanField(required=False, default=True)


class WebhookUpdateSerializer(serializers.Serializer):
    connection = serializers.CharField(max_length=63, required=False)
    enabled = serializers.BooleanField(required=False)


class WebhookSerializer(serializers.Serializer):
    """Alerts (format `studio.alert/v1`) POSTed to a webhook connection, retried with backoff."""

    id = serializers.IntegerField()
    workspace = serializers.SlugField()
    pipeline = serializers.IntegerField(allow_null=True)
    connection = serializers.CharField(help_text="The webhook connection's name.")
    url = serializers.CharField(help_text="The connection's URL, where the alerts go.")
    enabled = serializers.BooleanField()
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


_WEBHOOK_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The webhook's id.")


def webhook_data(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id, "workspace": webhook.workspace.slug, "pipeline": webhook.pipeline_id,
        "connection": webhook.connection.name, "url": str(webhook.connection.settings.get("url", "")),
        "enabled": webhook.enabled, "created_by": webhook.created_by.get_username() if webhook.created_by else None,
        "created_at": webhook.created_at, "updated_at": webhook.updated_at,
    }


def _webhook_connection(workspace: Workspace, name: str) -> Connection:
    connection = Connection.objects.filter(workspace=workspace, name=name).first()
    if connection is None:
        raise ValidationError({"connection": [
            f"Workspace '{workspace.slug}' has no connection named '{name}'; an admin can add a webhook connection "
            "under Connections."]})
    return connection


class WebhookListView(APIView):
    @extend_schema(
        operation_id="webhooks_list", tags=["webhooks"], summary="Alert webhooks of the user's workspaces",
        responses={200: WebhookSerializer(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        return Response([webhook_data(w) for w in selectors.webhooks_visible(user=request.user)])

    @extend_schema(
        operation_id="webhooks_create", tags=["webhooks"],
        summary="Send a workspace's (or a pipeline's) alerts to a webhook connection",
        description="Needs the role that may run the workspace's pipelines.",
        request=WebhookCreateSerializer,
        responses={201: WebhookSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request) -> Response:
        serializer = WebhookCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace = get_for_action(Workspace.objects.all(), user=request.user, action="run", slug=data["workspace"])
        pipeline = None
        if data["pipeline"] is not None:
            pipeline = get_for_action(Pipeline.objects.select_related("workspace"), user=request.user, action="run",
                                      pk=data["pipeline"])
        webhook = services.webhook_create(workspace=workspace, pipeline=pipeline,
                                          connection=_webhook_connection(workspace, data["connection"]),
                                          enabled=data["enabled"], user=request.user)
        return Response(webhook_data(webhook), status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    def _webhook(self, request: Request, pk: int, action: str) -> Webhook:
        return get_for_action(selectors.webhooks_visible(user=request.user), user=request.user, action=action, pk=pk)

    @extend_schema(
        operation_id="webhooks_retrieve", tags=["webhooks"], summary="An alert webhook",
        parameters=[_WEBHOOK_ID], responses={200: WebhookSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(webhook_data(self._webhook(request, pk, "view")))

    @extend_schema(
        operation_id="webhooks_partial_update", tags=["webhooks"], summary="Pause a webhook or change its connection",
        parameters=[_WEBHOOK_ID], request=WebhookUpdateSerializer,
        responses={200: WebhookSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        webhook = self._webhook(request, pk, "run")
        serializer = WebhookUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        connection = _webhook_connection(webhook.workspace, data["connection"]) if "connection" in data else None
        return Response(webhook_data(services.webhook_update(webhook=webhook, connection=connection,
                                                             enabled=data.get("enabled"))))

    @extend_schema(
        operation_id="webhooks_destroy", tags=["webhooks"], summary="Delete a webhook (its delivery records stay)",
        parameters=[_WEBHOOK_ID],
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.webhook_delete(webhook=self._webhook(request, pk, "run"))
        return Response(status=status.HTTP_204_NO_CONTENT)
