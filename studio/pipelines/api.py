"""Thin views for pipelines, versions, validation and compilation."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import compiler
from studio.access.models import Workspace
from studio.core.api import InvalidDocument
from studio.access.permissions import ACTION_BY_METHOD, get_for_action
from studio.pipelines import selectors, services
from studio.pipelines.models import Pipeline, PipelineVersion
from studio.runs.selectors import last_runs

__all__ = [
    "CompileView", "PipelineDetailView", "PipelineListView", "ValidateView",
    "VersionDetailView", "VersionListView",
]


class PipelineCreateSerializer(serializers.Serializer):
    workspace = serializers.SlugField()
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    document = serializers.JSONField(required=False)


class PipelineUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


class VersionCreateSerializer(serializers.Serializer):
    document = serializers.JSONField()
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    base_version = serializers.IntegerField(allow_null=True, min_value=1)


class CheckSerializer(serializers.Serializer):
    document = serializers.JSONField()
    engine = serializers.ChoiceField(choices=compiler.ENGINES, required=False, allow_null=True)
    parameters = serializers.DictField(required=False, default=dict)


def _run_summary(run: Any) -> dict[str, Any] | None:
    return None if run is None else {"id": run.id, "status": run.status, "created_at": run.created_at}


def pipeline_data(pipeline: Pipeline, *, last_run: Any = None, document: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": pipeline.id,
        "workspace": pipeline.workspace.slug,
        "name": pipeline.name,
        "description": pipeline.description,
        "latest_version": pipeline.latest_version,
        "created_at": pipeline.created_at,
        "updated_at": pipeline.updated_at,
        "last_run": _run_summary(last_run),
    }
    if document:
        latest = selectors.version_get(pipeline=pipeline)
        data["document"] = latest.document if latest else None
    return data


def version_data(version: PipelineVersion, *, document: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": version.number,
        "author": version.author.get_username() if version.author else None,
        "message": version.message,
        "created_at": version.created_at,
        "valid": version.valid,
    }
    if document:
        data["document"] = version.document
    return data


def _pipeline(request: Request, pk: int, action: str | None = None) -> Pipeline:
    return get_for_action(
        Pipeline.objects.select_related("workspace"), user=request.user,
        action=action or ACTION_BY_METHOD[request.method], pk=pk,
    )


class PipelineListView(APIView):
    def get(self, request: Request) -> Response:
        pipelines = list(selectors.pipeline_list(user=request.user, workspace_slug=request.query_params.get("workspace")))
        runs = last_runs(pipeline_ids=[p.id for p in pipelines])
        return Response([pipeline_data(p, last_run=runs.get(p.id)) for p in pipelines])

    def post(self, request: Request) -> Response:
        serializer = PipelineCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace = get_for_action(
            Workspace.objects.all(), user=request.user, action="change", slug=data["workspace"]
        )
        pipeline = services.pipeline_create(
            workspace=workspace, name=data["name"], description=data["description"],
            document=data.get("document"), user=request.user,
        )
        return Response(pipeline_data(pipeline, document=True), status=status.HTTP_201_CREATED)


class PipelineDetailView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk)
        return Response(pipeline_data(pipeline, last_run=last_runs(pipeline_ids=[pk]).get(pk), document=True))

    def patch(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk)
        serializer = PipelineUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pipeline = services.pipeline_update(pipeline=pipeline, **serializer.validated_data)
        return Response(pipeline_data(pipeline, document=True))

    def delete(self, request: Request, pk: int) -> Response:
        services.pipeline_delete(pipeline=_pipeline(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionListView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk)
        return Response([version_data(v) for v in selectors.version_list(pipeline=pipeline)])

    def post(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk)
        serializer = VersionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version, result = services.version_create(
            pipeline=pipeline, document=data["document"], user=request.user,
            base_version=data["base_version"], message=data["message"],
        )
        body = version_data(version, document=True) | {"validation": result.to_dict()}
        return Response(body, status=status.HTTP_201_CREATED)


class VersionDetailView(APIView):
    def get(self, request: Request, pk: int, number: int) -> Response:
        version = selectors.version_get(pipeline=_pipeline(request, pk), number=number)
        if version is None:
            raise NotFound(f"Pipeline {pk} has no version {number}.")
        return Response(version_data(version, document=True))


class ValidateView(APIView):
    """Validate a draft without saving it: the editor calls this as the user draws."""

    def post(self, request: Request) -> Response:
        serializer = CheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = compiler.validate(data["document"], engine=data.get("engine"), parameters=data["parameters"])
        return Response(result.to_dict())


class CompileView(APIView):
    def post(self, request: Request) -> Response:
        serializer = CheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        engine = data.get("engine") or "spark"
        try:
            job = compiler.compile_pipeline(data["document"], engine=engine, parameters=data["parameters"])
        except compiler.CompileError as error:
            raise InvalidDocument(error.result.to_dict()) from None
        return Response({"engine": job.engine, "language": "python", "code": job.code})
