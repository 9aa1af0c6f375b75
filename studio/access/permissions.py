"""Object lookups that enforce access: invisible objects are 404, visible but forbidden ones 403."""
from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model
from rest_framework.exceptions import NotFound, PermissionDenied

from studio.access.models import ACTIONS, RestrictedQuerySet

__all__ = ["ACTION_BY_METHOD", "get_for_action"]

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
        roles = ", ".join(str(role) for role in ACTIONS[action])
        raise PermissionDenied(f"Your role in this workspace cannot {action} this; it needs one of: {roles}.")
    return obj
