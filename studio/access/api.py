"""Login, logout, tokens, the current user and their workspaces."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.access.models import Role
from studio.access.selectors import user_role, workspace_list
from studio.core.schema import BAD_REQUEST, CSRF_FAILED, error_responses

__all__ = ["CsrfView", "LoginView", "LogoutView", "MeView", "TokenView", "WorkspaceListView"]


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class WorkspaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices, help_text="The user's role in the workspace.")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_superuser = serializers.BooleanField()
    workspaces = WorkspaceSerializer(many=True)


class CsrfTokenSerializer(serializers.Serializer):
    csrfToken = serializers.CharField(help_text="Also set as the `csrftoken` cookie; send it back as `X-CSRFToken`.")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


# Login and token answer 400 `{"detail"}` for wrong credentials, `{"field": [...]}` for missing ones.
_CREDENTIALS_REFUSED = OpenApiResponse(BAD_REQUEST, description="Missing fields, or wrong username or password.")
# Endpoints anyone may call: an explicit empty security requirement.
_PUBLIC: list[dict[str, list[str]]] = [{}]


def _workspaces(user: Any) -> list[dict[str, Any]]:
    return [
        {"id": ws.id, "slug": ws.slug, "name": ws.name, "role": user_role(user=user, workspace=ws)}
        for ws in workspace_list(user=user)
    ]


def _me(user: Any) -> dict[str, Any]:
    return {"id": user.id, "username": user.get_username(), "is_superuser": user.is_superuser,
            "workspaces": _workspaces(user)}


def _authenticate(request: Request) -> Any:
    serializer = CredentialsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = authenticate(request._request, **serializer.validated_data)
    if user is None or not user.is_active:
        raise serializers.ValidationError({"detail": "Invalid username or password."})
    return user


class CsrfView(APIView):
    """Sets the CSRF cookie the browser sends back on unsafe requests."""

    permission_classes = [AllowAny]

    @extend_schema(operation_id="auth_csrf", tags=["auth"], auth=_PUBLIC, responses={200: CsrfTokenSerializer},
                   summary="Set the CSRF cookie")
    def get(self, request: Request) -> Response:
        return Response({"csrfToken": get_token(request._request)})


class LoginView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="auth_login", tags=["auth"], auth=_PUBLIC, request=CredentialsSerializer,
                   responses={200: MeSerializer, 400: _CREDENTIALS_REFUSED, 403: CSRF_FAILED},
                   summary="Log in with a session cookie")
    def post(self, request: Request) -> Response:
        user = _authenticate(request)
        login(request._request, user)
        return Response(_me(user))


class LogoutView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="auth_logout", tags=["auth"], request=None,
                   responses={204: OpenApiResponse(description="Logged out (also when not logged in)."),
                              403: CSRF_FAILED},
                   summary="Log out")
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenView(APIView):
    """A token for scripts: `Authorization: Token <token>`."""

    permission_classes = [AllowAny]

    @extend_schema(operation_id="auth_token", tags=["auth"], auth=_PUBLIC, request=CredentialsSerializer,
                   responses={200: TokenSerializer, 400: _CREDENTIALS_REFUSED, 403: CSRF_FAILED},
                   summary="Get an API token for scripts")
    def post(self, request: Request) -> Response:
        user = _authenticate(request)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    @extend_schema(operation_id="auth_me", tags=["auth"], responses={200: MeSerializer, **error_responses(401)},
                   summary="The current user and their workspaces")
    def get(self, request: Request) -> Response:
        return Response(_me(request.user))


class WorkspaceListView(APIView):
    @extend_schema(operation_id="workspaces_list", tags=["workspaces"],
                   responses={200: WorkspaceSerializer(many=True), **error_responses(401)},
                   summary="The user's workspaces and role in each")
    def get(self, request: Request) -> Response:
        return Response(WorkspaceSerializer(_workspaces(request.user), many=True).data)
