"""Writes for the catalog: register datasets, record their schemas, refresh them from storage, and
the curation people do (owner, description, tags, column classifications)."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from studio.access.models import Membership, Workspace
from studio.catalog.identity import DatasetKey
from studio.catalog.models import (
    SCHEMA_SOURCE_RANK, Classification, Dataset, DatasetColumn, DatasetKind, DatasetSchemaVersion, DatasetSnapshot,
    DatasetTag, SchemaSource,
)
from studio.catalog.storage import Location, Observation, StorageError, observe

__all__ = [
    "UNSET", "dataset_observed", "dataset_record_schema", "dataset_refresh", "dataset_register", "dataset_update",
    "dataset_written",
    "iceberg_settings", "location_of", "normalise_schema",
]

_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MAX_TAGS = 50


class _Unset:
    pass


UNSET: Any = _Unset()


def iceberg_settings() -> tuple[str, str]:
    return settings.ICEBERG_CATALOG_URI, settings.ICEBERG_WAREHOUSE


def location_of(dataset: Dataset) -> Location:
    return Location(kind=dataset.kind, namespace=dataset.namespace, name=dataset.name, format=dataset.format,
                    options=dict(dataset.options or {}))


def normalise_schema(schema: Sequence[Any]) -> list[dict[str, Any]]:
    """`[{"name", "type", "nullable"}]` from compiler Fields or dicts, in order."""
    columns = []
    for column in schema:
        data = column.to_dict() if hasattr(column, "to_dict") else dict(column)
        columns.append({"name": str(data["name"]), "type": str(data.get("type", "")),
                        "nullable": bool(data.get("nullable", True))})
    return columns


def _fingerprint(schema: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()


@transaction.atomic
def dataset_register(
    *, workspace: Workspace, key: DatasetKey, format: str = "", options: dict[str, Any] | None = None
) -> Dataset:
    """The catalog entry for `key`, created on first sight; format and read options follow the latest user."""
    dataset, _ = Dataset.objects.get_or_create(workspace=workspace, kind=key.kind, namespace=key.namespace,
                                               name=key.name)
    changed = []
    if format and dataset.format != format:
        dataset.format = format
        changed.append("format")
    if options is not None and dataset.options != options:
        dataset.options = options
        changed.append("options")
    if changed:
        # From a document the compiler parsed: no field check needed (the table's constraints hold).
        dataset.save(update_fields=changed)
    return dataset


def _sync_columns(dataset: Dataset, schema: list[dict[str, Any]]) -> None:
    """The current columns as `schema` says, keeping each one's classification and description."""
    existing = {c.name: c for c in dataset.columns.all()}
    new, kept = [], []
    for position, column in enumerate(schema):
        row = existing.pop(column["name"], None)
        if row is None:
            row = DatasetColumn(dataset=dataset, name=column["name"])
            new.append(row)
        else:
            kept.append(row)
        row.type, row.nullable, row.position, row.present = column["type"], column["nullable"], position, True
    DatasetColumn.objects.bulk_create(new)
    DatasetColumn.objects.bulk_update(kept, ["type", "nullable", "position", "present"])
    DatasetColumn.objects.filter(pk__in=[c.pk for c in existing.values()]).update(present=False)


@transaction.atomic
def dataset_record_schema(
    *, dataset: Dataset, schema: Sequence[Any], source: str, pipeline_version: Any = None, run: Any = None
) -> bool:
    """Make `schema` the dataset's current one unless weaker evidence than what it has; a changed
    schema gets a new number in the history. True when the current schema changed."""
    columns = normalise_schema(schema)
    if not columns:
        return False
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if dataset.schema and SCHEMA_SOURCE_RANK[source] < SCHEMA_SOURCE_RANK.get(dataset.schema_source, 0):
        return False
    fingerprint = _fingerprint(columns)
    latest = dataset.schema_versions.order_by("-number").first()
    changed = latest is None or latest.fingerprint != fingerprint
    if changed:
        DatasetSchemaVersion.objects.create(
            dataset=dataset, number=(latest.number if latest else 0) + 1, schema=columns, fingerprint=fingerprint,
            source=source, pipeline_version=pipeline_version, run=run,
        )
    if changed or dataset.schema != columns or dataset.schema_source != source:
        dataset.schema, dataset.schema_source = columns, source
        dataset.save(update_fields=["schema", "schema_source"])
        _sync_columns(dataset, columns)
    return changed


def _apply_snapshots(dataset: Dataset, snapshots: list[dict[str, Any]]) -> None:
    known = set(dataset.snapshots.values_list("snapshot_id", flat=True))
    DatasetSnapshot.objects.bulk_create([
        DatasetSnapshot(dataset=dataset, **snapshot) for snapshot in snapshots if snapshot["snapshot_id"] not in known
    ])
    # Snapshots expired from the table are gone from its history too.
    DatasetSnapshot.objects.filter(dataset=dataset).exclude(
        snapshot_id__in=[s["snapshot_id"] for s in snapshots]
    ).delete()


@transaction.atomic
def dataset_observed(*, dataset: Dataset, observation: Observation, run: Any = None) -> Dataset:
    """Store what a look at the data found."""
    if observation.schema:
        dataset_record_schema(dataset=dataset, schema=observation.schema, source=SchemaSource.OBSERVED, run=run)
        dataset.refresh_from_db()
    if observation.row_count is not None:
        dataset.row_count = observation.row_count
    if observation.size_bytes is not None:
        dataset.size_bytes = observation.size_bytes
    if observation.last_modified is not None:
        dataset.last_updated_at = max(filter(None, [dataset.last_updated_at, observation.last_modified]))
    if observation.snapshots is not None:
        _apply_snapshots(dataset, observation.snapshots)
    dataset.refreshed_at = timezone.now()
    dataset.refresh_error = ""
    dataset.save()
    return dataset


def dataset_refresh(*, dataset: Dataset, run: Any = None, written_schema: Sequence[Any] | None = None) -> Dataset:
    """Look at the data of a file location or Iceberg table now; a problem is kept in `refresh_error`.

    `written_schema` (what a run's sink wrote, as the compiler inferred it) becomes the schema when
    the data itself does not say (CSV, JSON, Kafka). Kafka topics are not looked at."""
    observation: Observation | None = None
    if dataset.kind != DatasetKind.KAFKA:
        try:
            observation = observe(location_of(dataset), data_dir=settings.STUDIO_DATA_DIR,
                                  iceberg=iceberg_settings())
        except StorageError as error:
            Dataset.objects.filter(pk=dataset.pk).update(refresh_error=str(error), refreshed_at=timezone.now())
    if written_schema and (observation is None or not observation.schema):
        dataset_record_schema(dataset=dataset, schema=written_schema, source=SchemaSource.WRITTEN, run=run)
    dataset.refresh_from_db()
    if observation is not None:
        dataset = dataset_observed(dataset=dataset, observation=observation, run=run)
    return dataset


@transaction.atomic
def dataset_written(*, dataset: Dataset, rows: int | None, at: datetime) -> None:
    """A run wrote the dataset at `at` (rows it wrote, when its job counted them)."""
    updates: dict[str, Any] = {"last_updated_at": at}
    if rows is not None and dataset.kind == DatasetKind.KAFKA:
        # A topic is only appended to: its size is what runs have written into it.
        updates["row_count"] = (dataset.row_count or 0) + rows
    Dataset.objects.filter(pk=dataset.pk).update(**updates)


def _check_tags(tags: Sequence[Any]) -> list[str]:
    cleaned: list[str] = []
    for tag in tags:
        text = str(tag).strip()
        if not _TAG.match(text):
            raise ValidationError({"tags": [
                f"'{text}' is not a tag: use letters, digits, '_', '.', ':' or '-', up to 64 characters."
            ]})
        if text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError({"tags": [f"A dataset has at most {MAX_TAGS} tags."]})
    return cleaned


def _check_owner(dataset: Dataset, username: str | None) -> Any:
    if username is None or username == "":
        return None
    user = get_user_model().objects.filter(username=username).first()
    member = user is not None and (
        user.is_superuser or Membership.objects.filter(user=user, workspace=dataset.workspace_id).exists()
    )
    if not member:
        raise ValidationError({"owner": [f"'{username}' is not a member of this workspace."]})
    return user


@transaction.atomic
def dataset_update(
    *,
    dataset: Dataset,
    description: str | None = None,
    owner: Any = UNSET,
    tags: Sequence[str] | None = None,
    columns: Sequence[dict[str, Any]] | None = None,
) -> Dataset:
    """People's curation: description, owner (a username, or null), tags (replaces them) and, per
    column, classification and description."""
    if description is not None:
        dataset.description = description
    if owner is not UNSET:
        dataset.owner = _check_owner(dataset, owner)
    dataset.full_clean()
    dataset.save()
    if tags is not None:
        wanted = _check_tags(tags)
        DatasetTag.objects.filter(dataset=dataset).exclude(name__in=wanted).delete()
        present = set(dataset.tags.values_list("name", flat=True))
        for name in wanted:
            if name not in present:
                # One save per tag, not bulk_create (which sends no signal): each addition is audited,
                # as each removal is.
                DatasetTag.objects.create(dataset=dataset, name=name)
    for i, change in enumerate(columns or []):
        column = dataset.columns.filter(name=change["name"]).first()
        if column is None:
            raise ValidationError({"columns": [f"columns[{i}]: the dataset has no column '{change['name']}'."]})
        if "classification" in change:
            value = change["classification"] or ""
            if value and value not in Classification.values:
                raise ValidationError({"columns": [
                    f"columns[{i}]: '{value}' is not a classification; use one of {', '.join(Classification.values)}."
                ]})
            column.classification = value
        if "description" in change:
            column.description = change["description"]
        column.full_clean()
        column.save()
    return dataset
