"""Reads of the audit log: what a user may see (admins: their workspaces; superusers: everything)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from studio.audit.models import AuditEvent

__all__ = ["event_list"]


def event_list(
    *,
    user: Any,
    workspace_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
) -> QuerySet[AuditEvent]:
    """Events newest first. `actor=""` selects what the studio itself did; `until` is exclusive."""
    events = AuditEvent.objects.restrict(user, "admin")
    filters: dict[str, Any] = {
        "workspace_ref": workspace_id, "actor": actor, "action": action, "object_type": object_type,
        "object_id": object_id, "at__gte": since, "at__lt": until, "id__lt": before_id,
    }
    return events.filter(**{key: value for key, value in filters.items() if value is not None})
