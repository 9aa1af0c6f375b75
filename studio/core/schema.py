"""OpenAPI pieces shared by every area: error bodies, diagnostics and validation results.

These serializers only describe what the views answer (the views build plain dicts); they are
used in `@extend_schema` and never to serialize data.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

__all__ = [
    "BAD_REQUEST", "CSRF_FAILED", "ColumnSerializer", "DiagnosticSerializer", "ErrorSerializer",
    "FieldErrorsSerializer", "INVALID_DOCUMENT_OR_FIELDS", "InvalidDocumentSerializer", "ValidationResultSerializer",
    "VersionConflictSerializer", "error_responses",
]


class ErrorSerializer(serializers.Serializer):
    """A request-level error: one sentence a person can act on."""

    detail = serializers.CharField()


class VersionConflictSerializer(serializers.Serializer):
    """409 on a save based on a version that is no longer the latest; nothing was saved."""

    detail = serializers.CharField()
    current_version = serializers.IntegerField(
        allow_null=True, help_text="The pipeline's latest version now; load it and reapply your changes."
    )


class FieldErrorsSerializer(serializers.Serializer):
    """Invalid request fields: `{"field": ["sentence", ...]}` (described by the extension below)."""


class _FieldErrorsSchema(OpenApiSerializerExtension):
    target_class = FieldErrorsSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {
            "type": "object",
            "description": "Invalid request fields: each key is a field name, each value the sentences about it.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "example": {"name": ["This field is required."]},
        }


class DiagnosticSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=["error", "warning"])
    node = serializers.CharField(
        allow_null=True, help_text="The node the finding is about; null for the whole document.",
    )
    path = serializers.CharField(help_text="JSON path into the document, e.g. `$.nodes[2].config.condition`.")
    message = serializers.CharField()


class ColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(help_text="Spark SQL type name, e.g. `bigint`, `decimal(12,2)`.")
    nullable = serializers.BooleanField()


def _schemas_field(**kwargs: Any) -> serializers.DictField:
    return serializers.DictField(
        child=serializers.DictField(child=ColumnSerializer(many=True)),
        help_text="Output schema of every node that could be inferred: node id -> port -> columns.",
        **kwargs,
    )


class ValidationResultSerializer(serializers.Serializer):
    """Every error and warning at once, and the inferred schemas."""

    valid = serializers.BooleanField()
    errors = DiagnosticSerializer(many=True)
    warnings = DiagnosticSerializer(many=True)
    schemas = _schemas_field()
    lineage = serializers.DictField(
        required=False,
        help_text="Column, row and dataset lineage: {columns, rows, datasets} (compiler/README.md, 'Lineage').",
    )


class InvalidDocumentSerializer(ValidationResultSerializer):
    """400 for a pipeline document that must be valid and is not (`valid` is false).

    `schemas` is absent when the document is not a pipeline document at all.
    """

    schemas = _schemas_field(required=False)


BAD_REQUEST = PolymorphicProxySerializer(
    component_name="BadRequest",
    serializers=[ErrorSerializer, FieldErrorsSerializer],
    resource_type_field_name=None,
)
INVALID_DOCUMENT_OR_FIELDS = PolymorphicProxySerializer(
    component_name="InvalidDocumentOrFields",
    serializers=[InvalidDocumentSerializer, FieldErrorsSerializer],
    resource_type_field_name=None,
)

# Session-authenticated unsafe requests without the `X-CSRFToken` header answer 403.
CSRF_FAILED = OpenApiResponse(ErrorSerializer, description="CSRF check failed (session auth without `X-CSRFToken`).")

_ERRORS: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(FieldErrorsSerializer, description="Invalid request fields."),
    401: OpenApiResponse(ErrorSerializer, description="Not logged in (no session and no valid token)."),
    403: OpenApiResponse(
        ErrorSerializer,
        description="The user's role in the workspace does not allow this, or the CSRF check failed (session auth).",
    ),
    404: OpenApiResponse(
        ErrorSerializer, description="No such object, or it is in a workspace the user is not a member of.",
    ),
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The standard error responses for `codes` (400, 401, 403, 404); merge specific ones after.

    403 here is for endpoints that check the user's role; use `CSRF_FAILED` where only CSRF applies.
    """
    return {code: _ERRORS[code] for code in codes}
