"""Reads for connections, restricted to what the user may see."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import F, QuerySet

from studio.connections.models import Connection

__all__ = ["connection_kinds", "connection_list", "connection_usages", "referenced_connections"]


def connection_list(*, user: Any, workspace_slug: str | None = None) -> QuerySet[Connection]:
    connections = Connection.objects.restrict(user, "view").select_related("workspace", "created_by")
    if workspace_slug:
        connections = connections.filter(workspace__slug=workspace_slug)
    return connections


def connection_kinds(*, workspace: Any) -> dict[str, str]:
    """name -> kind of the workspace's connections: what `compiler.validate(connections=...)` checks
    a document's `connection` names against (nothing secret)."""
    return dict(Connection.objects.filter(workspace=workspace).values_list("name", "kind"))


def referenced_connections(document: Any) -> dict[str, str]:
    """node id -> connection name, for every node whose config names a connection."""
    found: dict[str, str] = {}
    nodes = document.get("nodes") if isinstance(document, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        config = node.get("config") if isinstance(node, dict) else None
        name = config.get("connection") if isinstance(config, dict) else None
        if isinstance(name, str) and name:
            found[str(node.get("id"))] = name
    return found


def connection_usages(*, workspace_ids: Iterable[int]) -> dict[tuple[int, str], list[str]]:
    """(workspace id, connection name) -> names of the pipelines whose latest version uses it."""
    from studio.pipelines.models import PipelineVersion

    latest = PipelineVersion.objects.filter(
        pipeline__workspace__in=list(workspace_ids), number=F("pipeline__latest_version"),
    ).values_list("pipeline__workspace", "pipeline__name", "document")
    usages: dict[tuple[int, str], list[str]] = defaultdict(list)
    for workspace_id, pipeline, document in latest:
        for name in sorted(set(referenced_connections(document).values())):
            usages[(workspace_id, name)].append(pipeline)
    return {key: sorted(names) for key, names in usages.items()}
