"""Browse the landing zone and infer file schemas for the editor."""
from __future__ import annotations

from dataclasses import asdict

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.catalog.files import FileError, file_list, file_schema
from studio.core.schema import BAD_REQUEST, CSRF_FAILED, ColumnSerializer, ErrorSerializer, error_responses

__all__ = ["FileListView", "FileSchemaView"]


@extend_schema_serializer(component_name="FileSchemaRequest")
class FileSchemaSerializer(serializers.Serializer):
    path = serializers.CharField(max_length=1000, help_text="Relative to the data folder; may be a glob.")
    format = serializers.ChoiceField(choices=["csv", "json", "parquet"])
    options = serializers.DictField(
        required=False, default=dict,
        help_text='CSV options: `{"header": bool (default true), "delimiter": one character (default ",")}`.',
    )


class FileEntrySerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Relative to the data folder.")
    size = serializers.IntegerField(help_text="Bytes.")
    modified = serializers.DateTimeField()


class FileListSerializer(serializers.Serializer):
    files = FileEntrySerializer(many=True)


@extend_schema_serializer(component_name="FileSchema")
class FileSchemaResultSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="The file the schema was inferred from (the first match of the glob).")
    schema = ColumnSerializer(many=True)
    sample = serializers.ListField(child=serializers.DictField(), help_text="At most 20 rows.")


class FileListView(APIView):
    @extend_schema(
        operation_id="files_list", tags=["files"], summary="Files in the data folder (recursive, at most 1,000)",
        parameters=[OpenApiParameter(
            "prefix", OpenApiTypes.STR, OpenApiParameter.QUERY,
            description="A folder or path prefix relative to the data folder, e.g. `orders/`.",
        )],
        responses={
            200: FileListSerializer,
            400: OpenApiResponse(ErrorSerializer, description="The prefix leaves the data folder."),
            **error_responses(401),
        },
    )
    def get(self, request: Request) -> Response:
        try:
            entries = file_list(settings.STUDIO_DATA_DIR, request.query_params.get("prefix", ""))
        except FileError as error:
            raise ValidationError({"detail": str(error)}) from None
        return Response({"files": [asdict(entry) for entry in entries]})


class FileSchemaView(APIView):
    @extend_schema(
        operation_id="files_schema", tags=["files"], summary="Infer a file's schema, with sample rows",
        request=FileSchemaSerializer,
        responses={
            200: FileSchemaResultSerializer,
            400: OpenApiResponse(
                BAD_REQUEST, description='Invalid fields, or `{"detail"}` naming the problem with the file.',
            ),
            **error_responses(401), 403: CSRF_FAILED,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = FileSchemaSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            return Response(file_schema(settings.STUDIO_DATA_DIR, data["path"], data["format"], data["options"]))
        except FileError as error:
            raise ValidationError({"detail": str(error)}) from None
