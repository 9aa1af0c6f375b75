"""Reads about workspaces, members, users and roles."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from studio.access.models import ACTIONS, Membership, Workspace, role_allows

__all__ = ["admin_count", "member_list", "user_can", "user_list", "user_role", "workspace_list"]


def workspace_list(*, user: Any) -> QuerySet[Workspace]:
    if user.is_superuser:
        return Workspace.objects.all()
    return Workspace.objects.filter(memberships__user=user)


def user_role(*, user: Any, workspace: Workspace) -> str | None:
    """The user's role in the workspace ("admin" for a superuser), or None when not a member."""
    if user.is_superuser:
        return "admin"
    membership = Membership.objects.filter(user=user, workspace=workspace).first()
    return membership.role if membership else None


def user_can(*, user: Any, workspace: Workspace, action: str) -> bool:
    return role_allows(user_role(user=user, workspace=workspace), action)


def member_list(*, workspace: Workspace) -> QuerySet[Membership]:
    return workspace.memberships.select_related("user").order_by("user__username")


def user_list(*, query: str = "") -> QuerySet[Any]:
    """Active users whose username contains `query`, by username."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return users.filter(Q(username__icontains=query)) if query else users


def admin_count(*, workspace: Workspace) -> int:
    return workspace.memberships.filter(role__in=ACTIONS["admin"]).count()
