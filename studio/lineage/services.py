"""Writes for lineage: a record per saved version and per run, the catalog datasets they touch, and
what a finished run tells the catalog (rows written, schemas, a fresh look at the data). What a
running run writes is looked at again while it runs (`running_outputs_refresh`, sent by beat): a
streaming deployment's run may never finish.

The hooks (`version_saved`, and `run_started` / `run_finished`, called on a run's transitions by
`studio.lineage.signals`) never raise: lineage and catalog are a
view on the pipelines, and a problem there must not fail a save or a run. It is logged instead.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import compiler
from studio.catalog import services as catalog
from studio.catalog.identity import IdentityError, dataset_key
from studio.catalog.models import Dataset, DatasetKind, SchemaSource
from studio.lineage.extract import DatasetUse, Extracted, extract
from studio.lineage.models import ColumnEdge, DatasetEdge, Direction, LineageDataset, LineageRecord
from studio.pipelines.models import PipelineVersion
from studio.runs.models import Run, RunNodeMetric, RunStatus

__all__ = [
    "lineage_record_run", "lineage_record_version", "run_finished", "run_lineage_finish", "run_started",
    "running_outputs_refresh", "version_saved",
]

logger = logging.getLogger(__name__)


def _register(workspace: Any, uses: list[DatasetUse]) -> dict[str, Dataset]:
    """Catalog entries for the datasets the uses name (a name the catalog cannot place is logged)."""
    datasets: dict[str, Dataset] = {}
    for use in uses:
        config = use.config
        try:
            key = dataset_key(use.reference, data_dir=settings.STUDIO_DATA_DIR,
                              connection=config.get("connection") if isinstance(config.get("connection"), str) else None)
        except IdentityError as error:
            logger.info("Not cataloguing %s of node %s: %s", use.reference, use.node, error)
            continue
        file_format = config.get("format") if isinstance(config.get("format"), str) else ""
        options = config.get("options") if key.kind == "file" and isinstance(config.get("options"), dict) else None
        datasets[use.reference] = catalog.dataset_register(workspace=workspace, key=key, format=file_format,
                                                           options=options)
    return datasets


def _store(record: LineageRecord, extracted: Extracted, datasets: dict[str, Dataset]) -> None:
    LineageDataset.objects.bulk_create([
        LineageDataset(
            record=record, dataset=datasets[use.reference], node=use.node, direction=use.direction,
            quality_nodes=list(use.quality_nodes), quarantine_of=list(use.quarantine_of),
            schema=catalog.normalise_schema(use.schema or []),
        )
        for use in extracted.uses if use.reference in datasets
    ])
    DatasetEdge.objects.bulk_create([
        DatasetEdge(record=record, source=datasets[s], target=datasets[t])
        for s, t in sorted(extracted.dataset_edges) if s in datasets and t in datasets
    ])
    ColumnEdge.objects.bulk_create([
        ColumnEdge(record=record, source=datasets[f.source], source_column=f.source_column,
                   target=datasets[f.target], target_column=f.target_column, how=f.how)
        for f in sorted(extracted.columns) if f.source in datasets and f.target in datasets
    ])


@transaction.atomic
def lineage_record_version(*, version: PipelineVersion, result: compiler.ValidationResult | None = None
                           ) -> LineageRecord:
    """The save-time lineage of a version (parameters at their defaults); registers its datasets and
    the schemas the document declares for them."""
    existing = LineageRecord.objects.filter(version=version, run__isnull=True).first()
    if existing is not None:
        return existing
    result = result if result is not None else compiler.validate(version.document,
                                                                 data_dir=str(settings.STUDIO_DATA_DIR))
    extracted = extract(version.document, result)
    record = LineageRecord.objects.create(
        pipeline=version.pipeline, version=version,
        lineage=result.lineage.to_dict() if result.lineage is not None else {},
    )
    datasets = _register(version.pipeline.workspace, extracted.uses)
    for use in extracted.uses:
        if use.schema and use.reference in datasets:
            catalog.dataset_record_schema(dataset=datasets[use.reference], schema=use.schema,
                                          source=SchemaSource.DECLARED, pipeline_version=version)
    _store(record, extracted, datasets)
    return record


@transaction.atomic
def lineage_record_run(*, run: Run) -> LineageRecord:
    """The lineage of a run: its version's document with the run's parameters (dataset names may
    differ from the save-time ones, e.g. a path with ${run_date})."""
    existing = LineageRecord.objects.filter(run=run).first()
    if existing is not None:
        return existing
    result = compiler.validate(run.version.document, engine=run.engine, parameters=run.parameters,
                              data_dir=str(settings.STUDIO_DATA_DIR))
    extracted = extract(run.version.document, result)
    record = LineageRecord.objects.create(
        pipeline=run.pipeline, version=run.version, run=run, parameters=run.parameters,
        lineage=result.lineage.to_dict() if result.lineage is not None else {},
    )
    _store(record, extracted, _register(run.pipeline.workspace, extracted.uses))
    return record


def _count_rows(record: LineageRecord, run: Run) -> None:
    """Rows each source read and each sink wrote, summed over micro-batches."""
    totals: dict[tuple[str, str], int] = {}
    for metric in RunNodeMetric.objects.filter(run=run):
        totals[(metric.node, metric.port)] = totals.get((metric.node, metric.port), 0) + metric.rows
    for use in record.datasets.all():
        rows = totals.get((use.node, "out" if use.direction == Direction.INPUT else "in"))
        if rows is not None and use.rows != rows:
            use.rows = rows
            use.save(update_fields=["rows"])


def run_lineage_finish(*, run: Run) -> LineageRecord:
    """What a finished run tells the catalog: rows, and for a run that succeeded, the datasets it
    wrote (last update, schema, a fresh look at the data) and those it read if never looked at."""
    record = lineage_record_run(run=run)
    _count_rows(record, run)
    if run.status != RunStatus.SUCCEEDED:
        return record
    for use in record.datasets.select_related("dataset"):
        dataset = use.dataset
        if use.direction == Direction.OUTPUT:
            catalog.dataset_written(dataset=dataset, rows=use.rows, at=run.finished_at)
            catalog.dataset_refresh(dataset=dataset, run=run, written_schema=use.schema)
        elif dataset.refreshed_at is None:
            catalog.dataset_refresh(dataset=dataset, run=run)
    return record


def running_outputs_refresh(*, now: datetime | None = None) -> list[int]:
    """Look again at the file locations and Iceberg tables that running runs write, each at most once
    per STUDIO_CATALOG_RUNNING_REFRESH_SECONDS (counted from its last look, whoever made it). Kafka
    topics are left out: their data is never looked at. Returns the ids of the datasets looked at; a
    problem with one is logged and the others are still looked at."""
    now = now or timezone.now()
    looked_at_before = now - timedelta(seconds=settings.STUDIO_CATALOG_RUNNING_REFRESH_SECONDS)
    due = (
        LineageDataset.objects
        .filter(direction=Direction.OUTPUT, record__run__status=RunStatus.RUNNING)
        .exclude(dataset__kind=DatasetKind.KAFKA)
        .filter(Q(dataset__refreshed_at__isnull=True) | Q(dataset__refreshed_at__lt=looked_at_before))
        .select_related("dataset", "record__run")
        .order_by("dataset_id", "-record__run_id")
    )
    refreshed: list[int] = []
    for use in due:
        if use.dataset_id in refreshed:
            continue  # written by more than one running run: looked at once, for the newest
        refreshed.append(use.dataset_id)
        try:
            catalog.dataset_refresh(dataset=use.dataset, run=use.record.run, written_schema=use.schema)
        except Exception:  # noqa: BLE001 - one dataset's problem must not keep the others stale
            logger.exception("Could not refresh %s, written by running run %s", use.dataset, use.record.run_id)
    return refreshed


# --- hooks: called on a version save and on run transitions; they never raise --------------------------


def version_saved(*, version: PipelineVersion, result: compiler.ValidationResult) -> None:
    try:
        lineage_record_version(version=version, result=result)
    except Exception:  # noqa: BLE001 - the save stands; the catalog catches up on the next save
        logger.exception("Could not record the lineage of %s", version)


def run_started(*, run_id: int) -> None:
    from studio.lineage import openlineage

    try:
        run = Run.objects.select_related("pipeline__workspace", "version").get(pk=run_id)
        lineage_record_run(run=run)
        openlineage.emit_run_event(run=run)
    except Exception:  # noqa: BLE001 - the run goes on
        logger.exception("Could not record the start of run %s for lineage", run_id)


def run_finished(*, run_id: int) -> None:
    from studio.lineage import openlineage

    try:
        if not LineageRecord.objects.filter(run_id=run_id).exists():
            return  # it never ran (cancelled while queued, did not compile): nothing was read or written
        run = Run.objects.select_related("pipeline__workspace", "version").get(pk=run_id)
        run_lineage_finish(run=run)
        openlineage.emit_run_event(run=run)
    except Exception:  # noqa: BLE001 - the run is settled already
        logger.exception("Could not record the end of run %s for lineage and the catalog", run_id)
