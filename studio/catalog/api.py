"""Browse the landing zone and infer file schemas for the editor."""
from __future__ import annotations

from dataclasses import asdict

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.catalog.files import FileError, file_list, file_schema

__all__ = ["FileListView", "FileSchemaView"]


class FileSchemaSerializer(serializers.Serializer):
    path = serializers.CharField(max_length=1000)
    format = serializers.ChoiceField(choices=["csv", "json", "parquet"])
    options = serializers.DictField(required=False, default=dict)


class FileListView(APIView):
    def get(self, request: Request) -> Response:
        try:
            entries = file_list(settings.STUDIO_DATA_DIR, request.query_params.get("prefix", ""))
        except FileError as error:
            raise ValidationError({"detail": str(error)}) from None
        return Response({"files": [asdict(entry) for entry in entries]})


class FileSchemaView(APIView):
    def post(self, request: Request) -> Response:
        serializer = FileSchemaSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            return Response(file_schema(settings.STUDIO_DATA_DIR, data["path"], data["format"], data["options"]))
        except FileError as error:
            raise ValidationError({"detail": str(error)}) from None
