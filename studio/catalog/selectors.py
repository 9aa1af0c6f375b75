"""Reads for the catalog, restricted to what the user may see, with PII masked for those who may not."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from studio.access.models import Membership
from studio.catalog.files import file_schema
from studio.catalog.identity import LOCAL_NAMESPACE
from studio.catalog.models import Classification, Dataset, DatasetKind
from studio.catalog.services import iceberg_settings, location_of
from studio.catalog.storage import read_rows

__all__ = [
    "MASK", "dataset_list", "dataset_rows", "file_masked_columns", "file_preview", "masked_columns",
    "user_can_view_pii",
]

# What a masked value reads as (whatever the value was, NULL included, so nothing of it shows).
MASK = "***"


def dataset_list(
    *, user: Any, workspace: str | None = None, q: str = "", tag: str = "", column: str = "", kind: str = ""
) -> QuerySet[Dataset]:
    """Datasets the user may see; `q` matches the name or description, `tag` one tag exactly
    (case-insensitive), `column` part of a column's name."""
    datasets = Dataset.objects.restrict(user, "view").select_related("workspace", "owner").prefetch_related("tags")
    if workspace:
        datasets = datasets.filter(workspace__slug=workspace)
    if kind:
        datasets = datasets.filter(kind=kind)
    if q:
        datasets = datasets.filter(Q(name__icontains=q) | Q(description__icontains=q))
    if tag:
        datasets = datasets.filter(tags__name__iexact=tag)
    if column:
        datasets = datasets.filter(columns__name__icontains=column, columns__present=True)
    return datasets.distinct()


def user_can_view_pii(*, user: Any, workspace_id: int) -> bool:
    """Superusers, and members whose membership says so (`can_view_pii`)."""
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, workspace_id=workspace_id, can_view_pii=True).exists()


def masked_columns(*, dataset: Dataset, user: Any) -> set[str]:
    """The columns whose values this user may not see in this dataset."""
    if user_can_view_pii(user=user, workspace_id=dataset.workspace_id):
        return set()
    return set(dataset.columns.filter(classification=Classification.PII).values_list("name", flat=True))


def _mask(rows: list[dict[str, Any]], *, columns: Iterable[dict[str, Any]], pii: set[str]
          ) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows with the values of the `pii` columns replaced, and those columns as the data names
    them. Names match whatever their case: Spark reads `Email` for a declared `email`."""
    folded = {name.casefold() for name in pii}
    masked = {c["name"] for c in columns if c["name"].casefold() in folded}
    return [{k: (MASK if k in masked else v) for k, v in row.items()} for row in rows], sorted(masked)


def dataset_rows(*, dataset: Dataset, user: Any, offset: int, limit: int) -> dict[str, Any]:
    """A page of the dataset's rows from storage, PII columns masked (raises StorageError)."""
    page = read_rows(location_of(dataset), data_dir=settings.STUDIO_DATA_DIR, iceberg=iceberg_settings(),
                     offset=offset, limit=limit)
    rows, masked = _mask(page.rows, columns=page.columns, pii=masked_columns(dataset=dataset, user=user))
    return {"columns": page.columns, "rows": rows, "offset": offset, "has_more": page.has_more, "masked": masked}


def _locations_holding(path: str) -> list[str]:
    """The catalog names of the local file locations that hold the file at `path` (relative to the
    data folder): the data folder itself (`.`), each folder above the file, and the file."""
    parts = PurePosixPath(path).parts
    return [".", *("/".join(parts[:end]) for end in range(1, len(parts) + 1))]


def file_masked_columns(*, user: Any, path: str) -> set[str]:
    """The columns whose values this user may not see in the landing-zone file at `path`: the PII
    columns of every dataset of the user's workspaces that holds the file, where the user lacks that
    workspace's PII permission (as on the dataset's page)."""
    datasets = Dataset.objects.restrict(user, "view").filter(
        kind=DatasetKind.FILE, namespace=LOCAL_NAMESPACE, name__in=_locations_holding(path))
    masked: set[str] = set()
    for dataset in datasets:
        masked |= masked_columns(dataset=dataset, user=user)
    return masked


def file_preview(*, user: Any, path: str, file_format: str, options: dict[str, Any]) -> dict[str, Any]:
    """The schema and sample rows of the first file matching `path` (a glob relative to the data
    folder), PII masked as `file_masked_columns` says (raises FileError)."""
    preview = file_schema(settings.STUDIO_DATA_DIR, path, file_format, options)
    sample, masked = _mask(preview["sample"], columns=preview["schema"],
                           pii=file_masked_columns(user=user, path=preview["file"]))
    return {**preview, "sample": sample, "masked": masked}
