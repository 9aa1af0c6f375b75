"""Reads for the catalog, restricted to what the user may see, with PII masked for those who may not."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from studio.access.models import Membership
from studio.catalog.models import Classification, Dataset
from studio.catalog.services import iceberg_settings, location_of
from studio.catalog.storage import read_rows

__all__ = ["MASK", "dataset_list", "dataset_rows", "masked_columns", "user_can_view_pii"]

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


def dataset_rows(*, dataset: Dataset, user: Any, offset: int, limit: int) -> dict[str, Any]:
    """A page of the dataset's rows from storage, PII columns masked (raises StorageError)."""
    page = read_rows(location_of(dataset), data_dir=settings.STUDIO_DATA_DIR, iceberg=iceberg_settings(),
                     offset=offset, limit=limit)
    masked = masked_columns(dataset=dataset, user=user) & {c["name"] for c in page.columns}
    rows = [{k: (MASK if k in masked else v) for k, v in row.items()} for row in page.rows]
    return {"columns": page.columns, "rows": rows, "offset": offset, "has_more": page.has_more,
            "masked": sorted(masked)}
