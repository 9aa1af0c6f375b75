"""Thin views for pipelines, versions, validation and compilation."""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from django.conf import settings
from django.db import transaction
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import compiler
from studio.access.models import Workspace
from studio.core.api import InvalidDocument
from studio.core.schema import (
    CSRF_FAILED, INVALID_DOCUMENT_OR_FIELDS, ValidationResultSerializer, VersionConflictSerializer, error_responses,
)
from studio.access.permissions import ACTION_BY_METHOD, get_for_action
from studio.connections.selectors import connection_kinds
from studio.pipelines import selectors, services
from studio.pipelines.models import MAX_ATTEMPTS, MAX_BACKOFF_SECONDS, MAX_TIMEOUT_SECONDS, Pipeline, PipelineVersion
from studio.runs.models import RunStatus
from studio.runs.selectors import last_runs
from studio.runs.services import run_policy_update

__all__ = [
    "CompileView", "PipelineDetailView", "PipelineListView", "ValidateView",
    "VersionDetailView", "VersionListView",
]


class PipelineCreateSerializer(serializers.Serializer):
    workspace = serializers.SlugField(help_text="Slug of a workspace where the user may edit.")
    name = serializers.CharField(max_length=100, help_text="Unique in the workspace.")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    document = serializers.JSONField(required=False, help_text="A `studio.pipeline/v1` document; saved as version 1.")


class PipelineUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    max_attempts = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ATTEMPTS,
        help_text="Runs in all when a run's worker dies or is stopped (1: no retry).",
    )
    retry_backoff_seconds = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_BACKOFF_SECONDS,
        help_text="Wait before the first retry; doubled for each further attempt.",
    )
    timeout_seconds = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_TIMEOUT_SECONDS,
        help_text="A run taking longer is stopped and fails; null for no limit.",
    )
    allow_concurrent_runs = serializers.BooleanField(
        required=False, help_text="False: starting a run while another is active answers 409.",
    )


class VersionCreateSerializer(serializers.Serializer):
    document = serializers.JSONField(help_text="A `studio.pipeline/v1` document (saved even with validation errors).")
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    base_version = serializers.IntegerField(
        allow_null=True, min_value=1,
        help_text="The version the edit started from; null for a pipeline with no version yet.",
    )


@extend_schema_serializer(component_name="DocumentCheck")
class CheckSerializer(serializers.Serializer):
    document = serializers.JSONField(help_text="A `studio.pipeline/v1` document.")
    engine = serializers.ChoiceField(choices=compiler.ENGINES, required=False, allow_null=True)
    parameters = serializers.DictField(required=False, default=dict)
    workspace = serializers.SlugField(
        required=False, allow_null=True,
        help_text="A workspace's slug: given, each node's `connection` must name one of its connections of a "
                  "kind the node accepts (Kafka for Kafka nodes, S3 for Iceberg nodes).",
    )


def _workspace_connections(request: Request, data: dict[str, Any]) -> dict[str, str] | None:
    """The connections (name -> kind) of the workspace the request names, if it names one it may see."""
    if not data.get("workspace"):
        return None
    workspace = get_for_action(Workspace.objects.all(), user=request.user, action="view", slug=data["workspace"])
    return connection_kinds(workspace=workspace)


class RunSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    created_at = serializers.DateTimeField()


class PipelineSerializer(serializers.Serializer):
    """A pipeline (the schema of `pipeline_data` without the document)."""

    id = serializers.IntegerField()
    workspace = serializers.SlugField(help_text="The workspace's slug.")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    latest_version = serializers.IntegerField(allow_null=True, help_text="Null until a version is saved.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_run = RunSummarySerializer(allow_null=True)
    max_attempts = serializers.IntegerField(help_text="Runs in all when a run's worker dies or is stopped.")
    retry_backoff_seconds = serializers.IntegerField(help_text="Wait before the first retry; doubled after.")
    timeout_seconds = serializers.IntegerField(allow_null=True, help_text="Null: runs have no time limit.")
    allow_concurrent_runs = serializers.BooleanField()


class PipelineDetailSerializer(PipelineSerializer):
    """A pipeline with its latest version's document."""

    document = serializers.DictField(allow_null=True, help_text="The latest version's document; null without one.")


class VersionSerializer(serializers.Serializer):
    """A saved version (the schema of `version_data` without the document)."""

    number = serializers.IntegerField()
    author = serializers.CharField(allow_null=True, help_text="Username; null when the user was deleted.")
    message = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    valid = serializers.BooleanField(help_text="Only a valid version can be run.")


class VersionDetailSerializer(VersionSerializer):
    """A version with its document."""

    document = serializers.DictField()


class VersionCreatedSerializer(VersionDetailSerializer):
    """The saved version, and what validation found in it (a version with errors is saved too)."""

    validation = ValidationResultSerializer()


class CompileResultSerializer(serializers.Serializer):
    engine = serializers.ChoiceField(choices=compiler.ENGINES)
    language = serializers.ChoiceField(choices=["python"])
    code = serializers.CharField(help_text="The generated job.")


_PIPELINE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The pipeline's id.")
_INVALID_DOCUMENT = OpenApiResponse(
    INVALID_DOCUMENT_OR_FIELDS,
    description="Invalid fields, or a document that is not a `studio.pipeline/v1` document at all.",
)


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
        "max_attempts": pipeline.max_attempts,
        "retry_backoff_seconds": pipeline.retry_backoff_seconds,
        "timeout_seconds": pipeline.timeout_seconds,
        "allow_concurrent_runs": pipeline.allow_concurrent_runs,
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
    @extend_schema(
        operation_id="pipelines_list", tags=["pipelines"], summary="Pipelines, newest update first",
        parameters=[OpenApiParameter(
            "workspace", OpenApiTypes.STR, OpenApiParameter.QUERY,
            description="A workspace slug; all the user's workspaces when omitted.",
        )],
        responses={200: PipelineSerializer(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        pipelines = list(selectors.pipeline_list(user=request.user, workspace_slug=request.query_params.get("workspace")))
        runs = last_runs(pipeline_ids=[p.id for p in pipelines])
        return Response([pipeline_data(p, last_run=runs.get(p.id)) for p in pipelines])

    @extend_schema(
        operation_id="pipelines_create", tags=["pipelines"], summary="Create a pipeline",
        request=PipelineCreateSerializer,
        responses={201: PipelineDetailSerializer, 400: _INVALID_DOCUMENT, **error_responses(401, 403, 404)},
    )
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
    @extend_schema(
        operation_id="pipelines_retrieve", tags=["pipelines"], summary="A pipeline with its latest document",
        parameters=[_PIPELINE_ID], responses={200: PipelineDetailSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk)
        return Response(pipeline_data(pipeline, last_run=last_runs(pipeline_ids=[pk]).get(pk), document=True))

    @extend_schema(
        operation_id="pipelines_partial_update", tags=["pipelines"],
        summary="Rename or describe a pipeline, or change how its runs are run",
        parameters=[_PIPELINE_ID], request=PipelineUpdateSerializer,
        responses={200: PipelineDetailSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk)
        serializer = PipelineUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        naming = {key: data.pop(key) for key in ("name", "description") if key in data}
        with transaction.atomic():
            pipeline = services.pipeline_update(pipeline=pipeline, **naming)
            if data:
                pipeline = run_policy_update(pipeline=pipeline, **data)
        return Response(pipeline_data(pipeline, last_run=last_runs(pipeline_ids=[pk]).get(pk), document=True))

    @extend_schema(
        operation_id="pipelines_destroy", tags=["pipelines"], summary="Delete a pipeline, its versions and runs",
        parameters=[_PIPELINE_ID],
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.pipeline_delete(pipeline=_pipeline(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionListView(APIView):
    @extend_schema(
        operation_id="versions_list", tags=["versions"], summary="A pipeline's versions, newest first",
        parameters=[_PIPELINE_ID], responses={200: VersionSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        pipeline = _pipeline(request, pk)
        return Response([version_data(v) for v in selectors.version_list(pipeline=pipeline)])

    @extend_schema(
        operation_id="versions_create", tags=["versions"], summary="Save a new version",
        description=(
            "Saved even when the document has validation errors (`valid: false`; it cannot be run). "
            "409 when another version was saved since `base_version`; nothing is saved then."
        ),
        parameters=[_PIPELINE_ID], request=VersionCreateSerializer,
        responses={
            201: VersionCreatedSerializer, 400: _INVALID_DOCUMENT, **error_responses(401, 403, 404),
            409: OpenApiResponse(
                VersionConflictSerializer, description="Another version was saved since `base_version`.",
            ),
        },
    )
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
    @extend_schema(
        operation_id="versions_retrieve", tags=["versions"], summary="One version with its document",
        parameters=[
            _PIPELINE_ID,
            OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH, description="The version number."),
        ],
        responses={200: VersionDetailSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int, number: int) -> Response:
        version = selectors.version_get(pipeline=_pipeline(request, pk), number=number)
        if version is None:
            raise NotFound(f"Pipeline {pk} has no version {number}.")
        return Response(version_data(version, document=True))


class ValidateView(APIView):
    """Validate a draft without saving it: the editor calls this as the user draws."""

    @extend_schema(
        operation_id="validate", tags=["compiler"], summary="Validate a document without saving it",
        request=CheckSerializer,
        responses={200: ValidationResultSerializer, **error_responses(400, 401, 404), 403: CSRF_FAILED},
    )
    def post(self, request: Request) -> Response:
        serializer = CheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = compiler.validate(
            data["document"], engine=data.get("engine"), parameters=data["parameters"], data_dir=str(settings.STUDIO_DATA_DIR),
            connections=_workspace_connections(request, data),
        )
        return Response(result.to_dict())


class CompileView(APIView):
    @extend_schema(
        operation_id="compile", tags=["compiler"], summary="Generate the job code without saving or running",
        description="`engine` defaults to `spark`.",
        request=CheckSerializer,
        responses={
            200: CompileResultSerializer,
            400: OpenApiResponse(
                INVALID_DOCUMENT_OR_FIELDS, description="Invalid fields, or a document that is not valid for the engine.",
            ),
            **error_responses(401, 404), 403: CSRF_FAILED,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = CheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        engine = data.get("engine") or "spark"
        try:
            job = compiler.compile_pipeline(
                data["document"], engine=engine, parameters=data["parameters"], data_dir=str(settings.STUDIO_DATA_DIR),
                connections=_workspace_connections(request, data),
            )
        except compiler.CompileError as error:
            raise InvalidDocument(error.result.to_dict()) from None
        return Response({"engine": job.engine, "language": "python", "code": job.code})
