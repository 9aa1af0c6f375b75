"""Thin views for connections. Secrets are write-only: answers say which are set, never their values."""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.access.permissions import get_for_action, workspace_for_action
from studio.connections import selectors, services
from studio.connections.kinds import KINDS, NAME_PATTERN, environment_variable
from studio.connections.models import Connection
from studio.core.schema import ErrorSerializer, error_responses

__all__ = ["ConnectionDetailView", "ConnectionKindsView", "ConnectionListView"]

_VALUES_HELP = ("Field name -> value, as the kind declares (GET /api/connections/kinds/); on update, "
                "null removes a field and absent fields stay as they are.")


class ConnectionCreateSerializer(serializers.Serializer):
    workspace = serializers.SlugField(help_text="Slug of a workspace where the user is admin.")
    name = serializers.RegexField(NAME_PATTERN, max_length=63,
                                  help_text="Lower-case letters, digits and _; what pipeline nodes name.")
    kind = serializers.ChoiceField(choices=list(KINDS))
    description = serializers.CharField(required=False, allow_blank=True, default="")
    settings = serializers.DictField(required=False, default=dict, help_text=_VALUES_HELP)
    secrets = serializers.DictField(required=False, default=dict, write_only=True,
                                    help_text="Write-only. " + _VALUES_HELP)


class ConnectionUpdateSerializer(serializers.Serializer):
    name = serializers.RegexField(NAME_PATTERN, max_length=63, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    settings = serializers.DictField(required=False, help_text=_VALUES_HELP)
    secrets = serializers.DictField(required=False, write_only=True, help_text="Write-only. " + _VALUES_HELP)


class SecretStateSerializer(serializers.Serializer):
    set = serializers.BooleanField(help_text="Whether a value is stored (the value is never answered).")


class ConnectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    workspace = serializers.SlugField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(KINDS))
    description = serializers.CharField(allow_blank=True)
    settings = serializers.DictField(help_text="The non-secret fields.")
    secrets = serializers.DictField(child=SecretStateSerializer(), help_text="Every secret field of the kind.")
    environment_variable = serializers.CharField(help_text="Where a run's job finds the connection (JSON).")
    used_by = serializers.ListField(child=serializers.CharField(),
                                    help_text="Pipelines whose latest version uses the connection.")
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    secrets_updated_at = serializers.DateTimeField(allow_null=True)


class KindFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    secret = serializers.BooleanField()
    required = serializers.BooleanField()
    type = serializers.ChoiceField(choices=["string", "integer", "url"])
    choices = serializers.ListField(child=serializers.CharField())
    default = serializers.JSONField(allow_null=True)
    help = serializers.CharField(allow_blank=True)


class KindSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(KINDS))
    label = serializers.CharField()
    description = serializers.CharField()
    fields = KindFieldSerializer(many=True)


_CONNECTION_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The connection's id.")
_IN_USE = OpenApiResponse(ErrorSerializer, description="Pipelines use the connection (named in the sentence).")


def connection_data(connection: Connection, used_by: list[str]) -> dict[str, Any]:
    kind = KINDS[connection.kind]
    return {
        "id": connection.id,
        "workspace": connection.workspace.slug,
        "name": connection.name,
        "kind": connection.kind,
        "description": connection.description,
        "settings": connection.settings,
        "secrets": {name: {"set": name in connection.secret_names} for name in kind.secrets},
        "environment_variable": environment_variable(connection.name),
        "used_by": used_by,
        "created_by": connection.created_by.get_username() if connection.created_by else None,
        "created_at": connection.created_at,
        "updated_at": connection.updated_at,
        "secrets_updated_at": connection.secrets_updated_at,
    }


def _answer(connection: Connection, code: int = status.HTTP_200_OK) -> Response:
    usages = selectors.connection_usages(workspace_ids=[connection.workspace_id])
    return Response(connection_data(connection, usages.get((connection.workspace_id, connection.name), [])),
                    status=code)


def _connection(request: Request, pk: int, action: str) -> Connection:
    return get_for_action(Connection.objects.select_related("workspace", "created_by"),
                          user=request.user, action=action, pk=pk)


class ConnectionKindsView(APIView):
    @extend_schema(operation_id="connections_kinds", tags=["connections"],
                   responses={200: KindSerializer(many=True), **error_responses(401)},
                   summary="The kinds of connection and their fields (which are secret)")
    def get(self, request: Request) -> Response:
        return Response([kind.describe() for kind in KINDS.values()])


class ConnectionListView(APIView):
    @extend_schema(
        operation_id="connections_list", tags=["connections"], summary="Connections in the user's workspaces",
        parameters=[OpenApiParameter("workspace", OpenApiTypes.STR, OpenApiParameter.QUERY,
                                     description="A workspace slug; all the user's workspaces when omitted.")],
        responses={200: ConnectionSerializer(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        connections = list(selectors.connection_list(user=request.user,
                                                     workspace_slug=request.query_params.get("workspace")))
        usages = selectors.connection_usages(workspace_ids={c.workspace_id for c in connections})
        return Response([connection_data(c, usages.get((c.workspace_id, c.name), [])) for c in connections])

    @extend_schema(
        operation_id="connections_create", tags=["connections"], summary="Create a connection (admins)",
        request=ConnectionCreateSerializer,
        responses={201: ConnectionSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request) -> Response:
        serializer = ConnectionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        workspace = workspace_for_action(user=request.user, action="admin", slug=data.pop("workspace"))
        connection = services.connection_create(workspace=workspace, user=request.user, **data)
        return _answer(connection, status.HTTP_201_CREATED)


class ConnectionDetailView(APIView):
    @extend_schema(operation_id="connections_retrieve", tags=["connections"], summary="A connection",
                   parameters=[_CONNECTION_ID], responses={200: ConnectionSerializer, **error_responses(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        return _answer(_connection(request, pk, "view"))

    @extend_schema(
        operation_id="connections_partial_update", tags=["connections"], parameters=[_CONNECTION_ID],
        summary="Change a connection's name, description, settings or secrets (admins)",
        request=ConnectionUpdateSerializer,
        responses={200: ConnectionSerializer, **error_responses(400, 401, 403, 404), 409: _IN_USE},
    )
    def patch(self, request: Request, pk: int) -> Response:
        connection = _connection(request, pk, "admin")
        serializer = ConnectionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _answer(services.connection_update(connection=connection, **serializer.validated_data))

    @extend_schema(
        operation_id="connections_destroy", tags=["connections"], summary="Delete a connection (admins)",
        parameters=[_CONNECTION_ID],
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404), 409: _IN_USE},
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.connection_delete(connection=_connection(request, pk, "admin"))
        return Response(status=status.HTTP_204_NO_CONTENT)
