"""Login, logout, tokens, the current user and their workspaces."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.access.selectors import user_role, workspace_list

__all__ = ["CsrfView", "LoginView", "LogoutView", "MeView", "TokenView", "WorkspaceListView"]


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class WorkspaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField()


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

    def get(self, request: Request) -> Response:
        return Response({"csrfToken": get_token(request._request)})


class LoginView(APIView):
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        user = _authenticate(request)
        login(request._request, user)
        return Response(_me(user))


class LogoutView(APIView):
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenView(APIView):
    """A token for scripts: `Authorization: Token <token>`."""

    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        user = _authenticate(request)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    def get(self, request: Request) -> Response:
        return Response(_me(request.user))


class WorkspaceListView(APIView):
    def get(self, request: Request) -> Response:
        return Response(WorkspaceSerializer(_workspaces(request.user), many=True).data)
