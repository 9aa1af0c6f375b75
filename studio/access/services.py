"""Writes for workspaces and memberships."""
from __future__ import annotations

from typing import Any

from django.db import transaction

from studio.access.models import Membership, Workspace

__all__ = ["membership_set", "workspace_create"]


@transaction.atomic
def workspace_create(*, slug: str, name: str) -> Workspace:
    workspace = Workspace(slug=slug, name=name)
    workspace.full_clean()
    workspace.save()
    return workspace


@transaction.atomic
def membership_set(*, workspace: Workspace, user: Any, role: str) -> Membership:
    """Give the user the role in the workspace, creating or updating the membership."""
    membership, _ = Membership.objects.get_or_create(workspace=workspace, user=user, defaults={"role": role})
    if membership.role != role:
        membership.role = role
    membership.full_clean()
    membership.save()
    return membership
