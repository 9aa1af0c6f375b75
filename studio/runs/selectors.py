"""Reads for runs and their logs, restricted to what the user may see."""
from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from studio.runs.models import Run, RunLogLine

__all__ = ["last_runs", "run_list", "run_log"]


def run_list(*, user: Any, pipeline_id: int | None = None) -> QuerySet[Run]:
    runs = Run.objects.restrict(user, "view").select_related("pipeline__workspace", "version", "created_by")
    if pipeline_id is not None:
        runs = runs.filter(pipeline_id=pipeline_id)
    return runs


def last_runs(*, pipeline_ids: list[int]) -> dict[int, Run]:
    """The newest run of each pipeline, by pipeline id."""
    newest = Run.objects.filter(pipeline_id=OuterRef("pipeline_id")).order_by("-created_at", "-id").values("id")[:1]
    runs = Run.objects.filter(pipeline_id__in=pipeline_ids, id=Subquery(newest))
    return {run.pipeline_id: run for run in runs}


def run_log(*, run: Run, after: int = 0, limit: int = 500) -> QuerySet[RunLogLine]:
    return run.log.filter(seq__gt=after).order_by("seq")[:limit]
