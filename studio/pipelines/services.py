"""Writes for pipelines and versions."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from rest_framework.exceptions import ValidationError

import compiler
from studio.access.models import Workspace
from studio.connections.selectors import connection_kinds
from studio.core.api import Conflict, InvalidDocument
from studio.lineage import services as lineage
from studio.pipelines.models import Pipeline, PipelineVersion

__all__ = ["pipeline_create", "pipeline_delete", "pipeline_update", "version_create"]


def _check_name(*, workspace: Workspace, name: str, exclude_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["A pipeline needs a name."]})
    clash = Pipeline.objects.filter(workspace=workspace, name=name).exclude(pk=exclude_id)
    if clash.exists():
        raise ValidationError({"name": [f"Workspace '{workspace.slug}' already has a pipeline named '{name}'."]})
    return name


@transaction.atomic
def pipeline_create(
    *, workspace: Workspace, name: str, user: Any, description: str = "", document: dict[str, Any] | None = None
) -> Pipeline:
    pipeline = Pipeline(
        workspace=workspace, name=_check_name(workspace=workspace, name=name),
        description=description, created_by=user,
    )
    pipeline.full_clean()
    pipeline.save()
    if document is not None:
        version_create(pipeline=pipeline, document=document, user=user, base_version=None, message="Created")
    return pipeline


@transaction.atomic
def pipeline_update(*, pipeline: Pipeline, name: str | None = None, description: str | None = None) -> Pipeline:
    if name is not None:
        pipeline.name = _check_name(workspace=pipeline.workspace, name=name, exclude_id=pipeline.pk)
    if description is not None:
        pipeline.description = description
    pipeline.full_clean()
    pipeline.save()
    return pipeline


@transaction.atomic
def pipeline_delete(*, pipeline: Pipeline) -> None:
    """Delete the pipeline with its versions and everything that ran them (runs, deployments)."""
    # What ran a version protects it from being deleted on its own (on_delete=PROTECT), which also
    # stops the cascade from the pipeline: delete those first.
    for relation in PipelineVersion._meta.related_objects:
        if relation.on_delete is models.PROTECT:
            relation.related_model._base_manager.filter(**{f"{relation.field.name}__pipeline": pipeline}).delete()
    pipeline.delete()


def version_create(
    *, pipeline: Pipeline, document: Any, user: Any, base_version: int | None, message: str = ""
) -> tuple[PipelineVersion, compiler.ValidationResult]:
    """Save a new version on top of `base_version`, or answer 409 if someone saved since.

    A document with validation errors is still saved (work in progress is never lost); only a
    document that is not a pipeline document at all is refused.
    """
    shape_errors = compiler.check_shape(document)
    if shape_errors:
        raise InvalidDocument({"valid": False, "errors": [d.to_dict() for d in shape_errors], "warnings": []})
    result = compiler.validate(document, data_dir=str(settings.STUDIO_DATA_DIR),
                               connections=connection_kinds(workspace=pipeline.workspace))
    try:
        with transaction.atomic():
            # Lock the pipeline row so two saves on one base cannot both pass the check
            # (PostgreSQL); SQLite serialises writers and the unique constraint backs it up.
            locked = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
            if locked.latest_version != base_version:
                raise Conflict(
                    f"Version {locked.latest_version} was saved since you loaded version {base_version}; "
                    "load it and reapply your changes, nothing was overwritten.",
                    current_version=locked.latest_version,
                )
            number = (locked.latest_version or 0) + 1
            version = PipelineVersion(
                pipeline=locked, number=number, document=document, valid=result.valid,
                author=user, message=message,
            )
            version.full_clean()
            version.save()
            locked.latest_version = number
            locked.save(update_fields=["latest_version", "updated_at"])
    except IntegrityError:
        current = Pipeline.objects.get(pk=pipeline.pk).latest_version
        raise Conflict(
            f"Version {current} was saved at the same moment; load it and reapply your changes.",
            current_version=current,
        ) from None
    pipeline.refresh_from_db()
    lineage.version_saved(version=version, result=result)
    return version, result
