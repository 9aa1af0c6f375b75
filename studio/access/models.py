"""Workspaces, who belongs to them and with which role, and the one place access is decided."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

__all__ = ["ACTIONS", "Membership", "RestrictedQuerySet", "Role", "Workspace", "role_allows"]


class Role(models.TextChoices):
    """Roles in a workspace, each allowing what the one before it does and more."""

    VIEWER = "viewer", "Viewer"  # reads pipelines, runs, the catalog
    EDITOR = "editor", "Editor"  # also designs and saves pipelines
    OPERATOR = "operator", "Operator"  # also runs, schedules, cancels, deploys
    ADMIN = "admin", "Admin"  # also manages members, connections and settings


# The actions a request can take and the least role that may take each; roles are cumulative.
# An instance superuser may take every action in every workspace.
_LEAST_ROLE = {"view": Role.VIEWER, "change": Role.EDITOR, "run": Role.OPERATOR, "admin": Role.ADMIN}
_ORDER = list(Role)
ACTIONS: dict[str, tuple[str, ...]] = {
    action: tuple(_ORDER[_ORDER.index(least):]) for action, least in _LEAST_ROLE.items()
}


def role_allows(role: str | None, action: str) -> bool:
    return role is not None and role in ACTIONS[action]


class RestrictedQuerySet(models.QuerySet):
    """A queryset that can be narrowed to what a user may do (NetBox's `restrict`).

    Models using it name the lookup path to their workspace in `workspace_path`.
    """

    def restrict(self, user: Any, action: str = "view") -> RestrictedQuerySet:
        if user is None or not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        path = getattr(self.model, "workspace_path", "workspace")
        workspaces = Membership.objects.filter(user=user, role__in=ACTIONS[action]).values("workspace_id")
        return self.filter(**{f"{path}__in": workspaces})


class Workspace(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "id"

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    # Whether the member sees the values of catalog columns classified as PII (masked otherwise).
    can_view_pii = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} as {self.role}"


