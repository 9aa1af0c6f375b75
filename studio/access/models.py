"""Workspaces, who belongs to them and with which role, and the one place access is decided."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

__all__ = ["ACTIONS", "Membership", "RestrictedQuerySet", "Role", "Workspace"]


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"


# Each action and the roles allowed to take it; roles are cumulative.
ACTIONS: dict[str, tuple[str, ...]] = {
    "view": (Role.VIEWER, Role.EDITOR, Role.OPERATOR, Role.ADMIN),
    "change": (Role.EDITOR, Role.OPERATOR, Role.ADMIN),
    "run": (Role.OPERATOR, Role.ADMIN),
    "admin": (Role.ADMIN,),
}


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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} as {self.role}"


