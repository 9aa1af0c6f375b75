"""Where access is decided for the REST API and the websocket.

Every object lookup goes through `get_for_action`: objects in workspaces the user may not see answer
404 (as if they did not exist), visible objects the user's role may not act on answer 403 naming the
role needed. Lists go through `RestrictedQuerySet.restrict`. Endpoints that touch no workspace object
declare one of the permission classes below. tests/studio/test_authorization_matrix.py checks every
endpoint against the declared table of roles.
"""
from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import BasePermission

from studio.access.models import ACTIONS, Membership, RestrictedQuerySet, Workspace

__all__ = [
    "ACTION_BY_METHOD", "IsSuperuser", "IsWorkspaceAdmin", "IsWorkspaceMember", "get_for_action",
    "require_superuser", "workspace_for_action",
]

M = TypeVar("M", bound=Model)

# The action a request takes, from its HTTP method; endpoints that start work say "run" themselves.
ACTION_BY_METHOD = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "POST": "change",
                    "PUT": "change", "PATCH": "change", "DELETE": "change"}


def get_for_action(queryset: RestrictedQuerySet, *, user: Any, action: str, **lookup: Any) -> Model:
    """Fetch one object the user may see, and check that the user may take `action` on it."""
    obj = queryset.restrict(user, "view").filter(**lookup).first()
    if obj is None:
        raise NotFound("Not found.")
    if action != "view" and not queryset.restrict(user, action).filter(pk=obj.pk).exists():
        least = ACTIONS[action][0]
        raise PermissionDenied(
            f"Your role in this workspace cannot {action} this; it needs the {least} role or above."
        )
    return obj


def workspace_for_action(*, user: Any, action: str, **lookup: Any) -> Workspace:
    """The workspace named by `lookup` (`id=` or `slug=`), 404 when invisible, 403 when the role is short."""
    return get_for_action(Workspace.objects.all(), user=user, action=action, **lookup)


def require_superuser(user: Any) -> None:
    if not user.is_superuser:
        raise PermissionDenied(IsSuperuser.message)


class IsWorkspaceMember(BasePermission):
    """For endpoints about no one workspace (the landing zone): a member of some workspace, any role."""

    message = "You are not a member of any workspace; ask a workspace admin to add you."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.is_superuser or Membership.objects.filter(user=user).exists()


class IsWorkspaceAdmin(BasePermission):
    """An admin of some workspace (or a superuser): may look up users to add them as members."""

    message = "Only workspace admins may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.is_superuser or Membership.objects.filter(user=user, role__in=ACTIONS["admin"]).exists()


class IsSuperuser(BasePermission):
    """Instance-wide administration: users and workspaces."""

    message = "Only an instance superuser may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_superuser)
