"""Thin views for starting, watching and cancelling runs."""
from __future__ import annotations

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
from studio.runs.events import log_line_data, run_data
from studio.runs.models import Engine, LogLevel, Run, RunStatus

__all__ = ["PipelineRunsView", "RunCancelView", "RunDetailView", "RunListView", "RunLogView"]


class RunCreateSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="A version number; the latest when omitted.",
    )
    engine = serializers.ChoiceField(choices=Engine.values, default=Engine.SPARK)
    parameters = serializers.DictField(required=False, default=dict, help_text="Values for the pipeline's parameters.")


class LogQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, default=0, min_value=0)
    limit = serializers.IntegerField(required=False, default=500, min_value=1, max_value=5000)


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
    created_by = serializers.CharField(allow_null=True, help_text="Username; null when the user was deleted.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True, help_text='Why the run failed; "" when it did not.')


class RunDetailSerializer(RunSerializer):
    """A run with its generated job."""

    code = serializers.CharField(allow_blank=True, help_text='The generated job; "" until it is compiled.')


class LogLineSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    ts = serializers.DateTimeField()
    level = serializers.ChoiceField(choices=LogLevel.choices)
    text = serializers.CharField(allow_blank=True)


class LogPageSerializer(serializers.Serializer):
    lines = LogLineSerializer(many=True)
    next = serializers.IntegerField(help_text="The `after` for the following page.")


_RUN_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The run's id.")
_RUN_REFUSED = PolymorphicProxySerializer(
    component_name="RunRefused",
    serializers=[InvalidDocumentSerializer, ErrorSerializer, FieldErrorsSerializer],
    resource_type_field_name=None,
)


def _runs() -> object:
    return Run.objects.select_related("pipeline__workspace", "version", "created_by")


class PipelineRunsView(APIView):
    @extend_schema(
        operation_id="runs_create", tags=["runs"], summary="Start a run of a pipeline version",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The pipeline's id.")],
        request=RunCreateSerializer,
        responses={
            201: RunDetailSerializer,
            400: OpenApiResponse(_RUN_REFUSED, description=(
                "A validation result when the version is invalid for the engine or a parameter is unknown or "
                "of the wrong type; `{\"detail\"}` when the pipeline has no version; or invalid fields."
            )),
            **error_responses(401, 403, 404),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        pipeline = get_for_action(
            Pipeline.objects.select_related("workspace"), user=request.user, action="run", pk=pk
        )
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
        run = _runs().get(pk=run.pk)
        return Response(run_data(run, code=True), status=status.HTTP_201_CREATED)


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
        operation_id="runs_retrieve", tags=["runs"], summary="A run with its generated code",
        parameters=[_RUN_ID], responses={200: RunDetailSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="view", pk=pk)
        return Response(run_data(run, code=True))


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
        parameters=[_RUN_ID], request=None,
        responses={
            202: RunDetailSerializer, **error_responses(401, 403, 404),
            409: OpenApiResponse(ErrorSerializer, description="The run has already finished."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="run", pk=pk)
        run = services.run_cancel(run=run)
        return Response(run_data(run, code=True), status=status.HTTP_202_ACCEPTED)
