"""Reads for pipelines and versions, restricted to what the user may see."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from studio.pipelines.models import Pipeline, PipelineVersion

__all__ = ["pipeline_list", "version_get", "version_list"]


def pipeline_list(*, user: Any, workspace_slug: str | None = None) -> QuerySet[Pipeline]:
    pipelines = Pipeline.objects.restrict(user, "view").select_related("workspace")
    if workspace_slug:
        pipelines = pipelines.filter(workspace__slug=workspace_slug)
    return pipelines


def version_list(*, pipeline: Pipeline) -> QuerySet[PipelineVersion]:
    return pipeline.versions.select_related("author").defer("document")


def version_get(*, pipeline: Pipeline, number: int | None = None) -> PipelineVersion | None:
    """One version, the latest when `number` is None; None when there is none."""
    number = pipeline.latest_version if number is None else number
    if number is None:
        return None
    return pipeline.versions.select_related("author").filter(number=number).first()
