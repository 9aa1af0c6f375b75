"""Writes for workspaces, users and memberships. Each is audited (studio.audit) as it is saved."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework.exceptions import ValidationError

from studio.access.models import Membership, Role, Workspace
from studio.access.selectors import admin_count
from studio.core.api import Conflict

__all__ = [
    "membership_add", "membership_remove", "membership_set", "membership_update", "user_create",
    "workspace_create", "workspace_update",
]


@transaction.atomic
def workspace_create(*, slug: str, name: str) -> Workspace:
    if Workspace.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [f"A workspace with the slug '{slug}' already exists."]})
    workspace = Workspace(slug=slug, name=name)
    workspace.full_clean()
    workspace.save()
    return workspace


@transaction.atomic
def workspace_update(*, workspace: Workspace, name: str) -> Workspace:
    workspace.name = name
    workspace.full_clean()
    workspace.save()
    return workspace


@transaction.atomic
def user_create(*, username: str, password: str, is_superuser: bool = False) -> Any:
    model = get_user_model()
    if model.objects.filter(username=username).exists():
        raise ValidationError({"username": [f"The username '{username}' is taken."]})
    user = model(username=username, is_superuser=is_superuser, is_staff=is_superuser)
    try:
        validate_password(password, user)
    except DjangoValidationError as error:
        raise ValidationError({"password": list(error.messages)}) from None
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def membership_set(*, workspace: Workspace, user: Any, role: str) -> Membership:
    """Give the user the role in the workspace, creating or updating the membership (seeding, tests)."""
    membership = Membership.objects.filter(workspace=workspace, user=user).first()
    if membership is None:
        membership = Membership(workspace=workspace, user=user, role=role)
    elif membership.role == role:
        return membership
    membership.role = role
    membership.full_clean()
    membership.save()
    return membership


@transaction.atomic
def membership_add(*, workspace: Workspace, user: Any, role: str, can_view_pii: bool = False) -> Membership:
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ValidationError({"username": [
            f"{user.get_username()} is already a member of '{workspace.slug}'; change their role instead."
        ]})
    membership = Membership(workspace=workspace, user=user, role=role, can_view_pii=can_view_pii)
    membership.full_clean()
    membership.save()
    return membership


def _keep_an_admin(membership: Membership) -> None:
    """A workspace never loses its last admin: nobody could manage it any more."""
    locked = Membership.objects.select_for_update().filter(workspace=membership.workspace_id)
    list(locked)  # lock the workspace's memberships (PostgreSQL) so two demotions cannot both pass
    if membership.role == Role.ADMIN and admin_count(workspace=membership.workspace) <= 1:
        raise Conflict(
            f"{membership.user.get_username()} is the last admin of '{membership.workspace.slug}'; "
            "make another member admin first."
        )


@transaction.atomic
def membership_update(
    *, membership: Membership, role: str | None = None, can_view_pii: bool | None = None,
) -> Membership:
    """Change a member's role and/or whether they see PII values in the catalog."""
    if role is not None and role != membership.role:
        if role != Role.ADMIN:
            _keep_an_admin(membership)
        membership.role = role
    if can_view_pii is not None:
        membership.can_view_pii = can_view_pii
    membership.full_clean()
    membership.save()
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    _keep_an_admin(membership)
    membership.delete()
