"""The audit log, filtered: who did what to which object, when, with before and after."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.access.permissions import workspace_for_action
from studio.audit.models import AuditAction, AuditEvent
from studio.audit.selectors import event_list
from studio.core.schema import error_responses

__all__ = ["AuditEventListView"]


class AuditQuerySerializer(serializers.Serializer):
    workspace = serializers.SlugField(required=False, help_text="Only this workspace's events (you must be its admin).")
    actor = serializers.CharField(required=False, allow_blank=True, max_length=150,
                                  help_text='A username; empty for what the studio itself did (schedules, retries).')
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    object_type = serializers.CharField(required=False, max_length=40,
                                        help_text="pipeline, pipeline_version, run, schedule, connection, membership, "
                                                  "workspace, user, ...")
    object_id = serializers.CharField(required=False, max_length=64, help_text="With object_type: one object.")
    since = serializers.DateTimeField(required=False, help_text="At or after this time (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Before this time (ISO 8601).")
    before = serializers.IntegerField(required=False, min_value=1,
                                      help_text="Only events older than this id: the `next` of the previous page.")
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Give a time after `since`."]})
        return attrs


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True, help_text="Username; null for the studio itself.")
    action = serializers.ChoiceField(choices=AuditAction.choices)
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField(allow_blank=True)
    workspace = serializers.CharField(allow_null=True, help_text="The workspace's slug; null for instance-wide.")
    before = serializers.DictField(allow_null=True, help_text="The audited fields before; null for a creation.")
    after = serializers.DictField(allow_null=True, help_text="The audited fields after; null for a deletion.")


class AuditPageSerializer(serializers.Serializer):
    events = AuditEventSerializer(many=True)
    next = serializers.IntegerField(allow_null=True, help_text="Pass as `before` for older events; null at the end.")


def event_data(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id, "at": event.at, "actor": event.actor or None, "action": event.action,
        "object_type": event.object_type, "object_id": event.object_id, "object_repr": event.object_repr,
        "workspace": event.workspace or None, "before": event.before, "after": event.after,
    }


class AuditEventListView(APIView):
    @extend_schema(
        operation_id="audit_list", tags=["audit"], parameters=[AuditQuerySerializer],
        summary="Audit events, newest first (workspace admins: their workspaces; superusers: all)",
        responses={200: AuditPageSerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        workspace_id = None
        if data.get("workspace"):
            workspace_id = workspace_for_action(user=request.user, action="admin", slug=data["workspace"]).id
        events = list(event_list(
            user=request.user, workspace_id=workspace_id, actor=data.get("actor"), action=data.get("action"),
            object_type=data.get("object_type"), object_id=data.get("object_id"), since=data.get("since"),
            until=data.get("until"), before_id=data.get("before"),
        )[: data["limit"] + 1])
        page = events[: data["limit"]]
        return Response({"events": [event_data(e) for e in page],
                         "next": page[-1].id if len(events) > data["limit"] else None})
