"""Writing audit events: the one function every audited change goes through."""
from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from studio.audit.context import current_actor
from studio.audit.models import AuditAction, AuditEvent

__all__ = ["audit_record", "jsonable"]

_NOBODY = object()


def jsonable(value: Any) -> Any:
    """The value as it will read back from the JSON column (dates as ISO text, decimals as text)."""
    return None if value is None else json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_record(
    *,
    action: str,
    object_type: str,
    object_id: Any,
    object_repr: str = "",
    workspace: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor: Any = _NOBODY,
) -> AuditEvent:
    """Append one event. The actor defaults to whoever is acting now (`studio.audit.context`).

    Call it inside the transaction of the change it records, so both are kept or neither is.
    """
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action '{action}'.")
    user = current_actor() if actor is _NOBODY else actor
    return AuditEvent.objects.create(
        actor_ref=user.pk if user is not None else None,
        actor=user.get_username() if user is not None else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=str(object_repr)[:300],
        workspace_ref=workspace.pk if workspace is not None else None,
        workspace=workspace.slug if workspace is not None else "",
        before=jsonable(before),
        after=jsonable(after),
    )
