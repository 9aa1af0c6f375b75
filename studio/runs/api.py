"""Thin views for starting, watching and cancelling runs, their history and metrics, and schedules."""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.access.permissions import get_for_action
from studio.core.schema import ErrorSerializer, FieldErrorsSerializer, InvalidDocumentSerializer, error_responses
from studio.pipelines.models import Pipeline
from studio.pipelines.selectors import version_get
from studio.runs import selectors, services
from studio.runs.events import log_line_data, run_data, run_detail_data
from studio.runs.models import Engine, LogLevel, Run, RunStatus, RunTrigger, Schedule
from studio.runs.selectors import NodeStatus

__all__ = [
    "PipelineRunsView", "PipelineSchedulesView", "RunCancelView", "RunDetailView", "RunListView", "RunLogView",
    "RunMetricsView", "RunNodesView", "ScheduleDetailView",
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
