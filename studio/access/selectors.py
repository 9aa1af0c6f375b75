"""Reads about workspaces and roles."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from studio.access.models import ACTIONS, Membership, Workspace

__all__ = ["user_can", "user_role", "workspace_list"]


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
    role = user_role(user=user, workspace=workspace)
    return role is not None and role in ACTIONS[action]
