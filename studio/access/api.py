"""Login, logout, tokens, the current user; workspaces, their members and roles; users."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, get_user_model, login, logout
from django.middleware.csrf import get_token
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.access import services
from studio.access.models import Membership, Role, Workspace
from studio.access.permissions import IsWorkspaceAdmin, require_superuser, workspace_for_action
from studio.access.selectors import member_list, user_list, user_role, workspace_list
from studio.core.schema import BAD_REQUEST, CSRF_FAILED, ErrorSerializer, error_responses

__all__ = [
    "CsrfView", "LoginView", "LogoutView", "MeView", "MemberDetailView", "MemberListView", "TokenView",
    "UserListView", "WorkspaceDetailView", "WorkspaceListView",
]


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


class WorkspaceCreateSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=64, help_text="Unique; used in URLs and in the API's `workspace` fields.")
    name = serializers.CharField(max_length=200)


class WorkspaceUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


_PII_HELP = "Whether the member sees the values of catalog columns classified as PII (masked otherwise)."


class MemberSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    can_view_pii = serializers.BooleanField(help_text=_PII_HELP)


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, help_text="An existing user.")
    role = serializers.ChoiceField(choices=Role.choices)
    can_view_pii = serializers.BooleanField(required=False, default=False, help_text=_PII_HELP)


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    can_view_pii = serializers.BooleanField(required=False, help_text=_PII_HELP)


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_superuser = serializers.BooleanField()


class UserCreateSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{1,150}$", help_text="Letters, digits and @/./+/-/_ only.")
    password = serializers.CharField(max_length=256, trim_whitespace=False, write_only=True)
    is_superuser = serializers.BooleanField(required=False, default=False,
                                            help_text="An instance superuser is admin of every workspace.")


class CsrfTokenSerializer(serializers.Serializer):
    csrfToken = serializers.CharField(help_text="Also set as the `csrftoken` cookie; send it back as `X-CSRFToken`.")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


# Login and token answer 400 `{"detail"}` for wrong credentials, `{"field": [...]}` for missing ones.
_CREDENTIALS_REFUSED = OpenApiResponse(BAD_REQUEST, description="Missing fields, or wrong username or password.")
# Endpoints anyone may call: an explicit empty security requirement.
_PUBLIC: list[dict[str, list[str]]] = [{}]


_WORKSPACE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The workspace's id.")
_USER_ID = OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The member's user id.")
_LAST_ADMIN = OpenApiResponse(ErrorSerializer, description="The change would leave the workspace without an admin.")


def _workspace_data(user: Any, workspace: Workspace) -> dict[str, Any]:
    return {"id": workspace.id, "slug": workspace.slug, "name": workspace.name,
            "role": user_role(user=user, workspace=workspace)}


def _workspaces(user: Any) -> list[dict[str, Any]]:
    return [_workspace_data(user, ws) for ws in workspace_list(user=user)]


def _member_data(membership: Membership) -> dict[str, Any]:
    return {"user_id": membership.user_id, "username": membership.user.get_username(), "role": membership.role,
            "can_view_pii": membership.can_view_pii}


def _user_data(user: Any) -> dict[str, Any]:
    return {"id": user.id, "username": user.get_username(), "is_superuser": user.is_superuser}


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

    @extend_schema(operation_id="workspaces_create", tags=["workspaces"], request=WorkspaceCreateSerializer,
                   responses={201: WorkspaceSerializer, **error_responses(400, 401, 403)},
                   summary="Create a workspace (instance superusers)")
    def post(self, request: Request) -> Response:
        require_superuser(request.user)
        serializer = WorkspaceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workspace = services.workspace_create(**serializer.validated_data)
        return Response(_workspace_data(request.user, workspace), status=status.HTTP_201_CREATED)


class WorkspaceDetailView(APIView):
    @extend_schema(operation_id="workspaces_retrieve", tags=["workspaces"], parameters=[_WORKSPACE_ID],
                   responses={200: WorkspaceSerializer, **error_responses(401, 404)},
                   summary="A workspace and the user's role in it")
    def get(self, request: Request, pk: int) -> Response:
        return Response(_workspace_data(request.user, workspace_for_action(user=request.user, action="view", pk=pk)))

    @extend_schema(operation_id="workspaces_partial_update", tags=["workspaces"], parameters=[_WORKSPACE_ID],
                   request=WorkspaceUpdateSerializer,
                   responses={200: WorkspaceSerializer, **error_responses(400, 401, 403, 404)},
                   summary="Rename a workspace (admins)")
    def patch(self, request: Request, pk: int) -> Response:
        workspace = workspace_for_action(user=request.user, action="admin", pk=pk)
        serializer = WorkspaceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workspace = services.workspace_update(workspace=workspace, **serializer.validated_data)
        return Response(_workspace_data(request.user, workspace))


class MemberListView(APIView):
    """Who belongs to a workspace. Members see the list; admins change it."""

    @extend_schema(operation_id="members_list", tags=["workspaces"], parameters=[_WORKSPACE_ID],
                   responses={200: MemberSerializer(many=True), **error_responses(401, 404)},
                   summary="A workspace's members and their roles")
    def get(self, request: Request, pk: int) -> Response:
        workspace = workspace_for_action(user=request.user, action="view", pk=pk)
        return Response([_member_data(m) for m in member_list(workspace=workspace)])

    @extend_schema(operation_id="members_create", tags=["workspaces"], parameters=[_WORKSPACE_ID],
                   request=MemberAddSerializer,
                   responses={201: MemberSerializer, **error_responses(400, 401, 403, 404)},
                   summary="Add a user to a workspace with a role (admins)")
    def post(self, request: Request, pk: int) -> Response:
        workspace = workspace_for_action(user=request.user, action="admin", pk=pk)
        serializer = MemberAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = get_user_model().objects.filter(username=data["username"], is_active=True).first()
        if user is None:
            raise ValidationError({"username": [f"There is no user named '{data['username']}'."]})
        membership = services.membership_add(workspace=workspace, user=user, role=data["role"],
                                             can_view_pii=data["can_view_pii"])
        return Response(_member_data(membership), status=status.HTTP_201_CREATED)


class MemberDetailView(APIView):
    def _membership(self, request: Request, pk: int, user_id: int) -> Membership:
        workspace = workspace_for_action(user=request.user, action="admin", pk=pk)
        membership = workspace.memberships.select_related("user", "workspace").filter(user_id=user_id).first()
        if membership is None:
            raise NotFound(f"User {user_id} is not a member of '{workspace.slug}'.")
        return membership

    @extend_schema(operation_id="members_partial_update", tags=["workspaces"], parameters=[_WORKSPACE_ID, _USER_ID],
                   request=MemberUpdateSerializer,
                   responses={200: MemberSerializer, **error_responses(400, 401, 403, 404), 409: _LAST_ADMIN},
                   summary="Change a member's role or PII permission (admins)")
    def patch(self, request: Request, pk: int, user_id: int) -> Response:
        membership = self._membership(request, pk, user_id)
        serializer = MemberUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_update(membership=membership, **serializer.validated_data)
        return Response(_member_data(membership))

    @extend_schema(operation_id="members_destroy", tags=["workspaces"], parameters=[_WORKSPACE_ID, _USER_ID],
                   responses={204: OpenApiResponse(description="Removed."), **error_responses(401, 403, 404),
                              409: _LAST_ADMIN},
                   summary="Remove a member from a workspace (admins)")
    def delete(self, request: Request, pk: int, user_id: int) -> Response:
        services.membership_remove(membership=self._membership(request, pk, user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserListView(APIView):
    """Accounts. Workspace admins look users up to add them; instance superusers create them."""

    permission_classes = [IsWorkspaceAdmin]

    @extend_schema(operation_id="users_list", tags=["users"],
                   parameters=[OpenApiParameter("q", OpenApiTypes.STR, OpenApiParameter.QUERY,
                                                description="Only usernames containing this (any case).")],
                   responses={200: UserSerializer(many=True), **error_responses(401, 403)},
                   summary="Active users, by username (at most 200; workspace admins)")
    def get(self, request: Request) -> Response:
        users = user_list(query=request.query_params.get("q", "").strip())[:200]
        return Response([_user_data(user) for user in users])

    @extend_schema(operation_id="users_create", tags=["users"], request=UserCreateSerializer,
                   responses={201: UserSerializer, **error_responses(400, 401, 403)},
                   summary="Create a user account (instance superusers)")
    def post(self, request: Request) -> Response:
        require_superuser(request.user)
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(_user_data(services.user_create(**serializer.validated_data)), status=status.HTTP_201_CREATED)
