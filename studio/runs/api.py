"""Thin views for starting, watching and cancelling runs."""
from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.access.permissions import get_for_action
from studio.pipelines.models import Pipeline
from studio.pipelines.selectors import version_get
from studio.runs import selectors, services
from studio.runs.events import log_line_data, run_data
from studio.runs.models import Engine, Run

__all__ = ["PipelineRunsView", "RunCancelView", "RunDetailView", "RunListView", "RunLogView"]


class RunCreateSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)
    engine = serializers.ChoiceField(choices=Engine.values, default=Engine.SPARK)
    parameters = serializers.DictField(required=False, default=dict)


class LogQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, default=0, min_value=0)
    limit = serializers.IntegerField(required=False, default=500, min_value=1, max_value=5000)


def _runs() -> object:
    return Run.objects.select_related("pipeline__workspace", "version", "created_by")


class PipelineRunsView(APIView):
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
    def get(self, request: Request) -> Response:
        pipeline = request.query_params.get("pipeline")
        if pipeline is not None and not pipeline.isdigit():
            raise ValidationError({"pipeline": ["Give a pipeline id (a number)."]})
        runs = selectors.run_list(user=request.user, pipeline_id=int(pipeline) if pipeline else None)[:100]
        return Response([run_data(run) for run in runs])


class RunDetailView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="view", pk=pk)
        return Response(run_data(run, code=True))


class RunLogView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="view", pk=pk)
        query = LogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        lines = [log_line_data(line) for line in selectors.run_log(run=run, **query.validated_data)]
        next_after = lines[-1]["seq"] if lines else query.validated_data["after"]
        return Response({"lines": lines, "next": next_after})


class RunCancelView(APIView):
    def post(self, request: Request, pk: int) -> Response:
        run = get_for_action(_runs(), user=request.user, action="run", pk=pk)
        run = services.run_cancel(run=run)
        return Response(run_data(run, code=True), status=status.HTTP_202_ACCEPTED)
