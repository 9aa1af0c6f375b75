"""Lineage as the compiler infers it, stored per pipeline version and per run.

A `LineageRecord` is one analysis of a version's document: at save time with the parameters'
defaults (`run` null), or for a run with the run's parameters (dataset names may differ). Its rows
say which catalog datasets each source reads and each sink writes, which datasets feed which
(`DatasetEdge`), and which columns feed which columns (`ColumnEdge`). The "current" lineage of a
workspace is the save-time records of every pipeline's latest version.
"""
from __future__ import annotations

from django.db import models

from studio.access.models import RestrictedQuerySet
from studio.catalog.models import Dataset
from studio.pipelines.models import Pipeline, PipelineVersion
from studio.runs.models import Run

__all__ = ["ColumnEdge", "Direction", "DatasetEdge", "LineageDataset", "LineageRecord", "OpenLineageEvent"]


class Direction(models.TextChoices):
    INPUT = "input"
    OUTPUT = "output"


class LineageRecord(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="lineage_records")
    version = models.ForeignKey(PipelineVersion, on_delete=models.CASCADE, related_name="lineage_records")
    run = models.OneToOneField(Run, null=True, blank=True, on_delete=models.CASCADE, related_name="lineage")
    parameters = models.JSONField(default=dict, blank=True)
    # The compiler's lineage (`ValidationResult.lineage.to_dict()`): columns, rows, datasets.
    lineage = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "pipeline__workspace"

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["version"], condition=models.Q(run__isnull=True),
                                    name="lineagerecord_one_per_version"),
        ]


class LineageDataset(models.Model):
    """A dataset one source node reads or one sink node writes."""

    record = models.ForeignKey(LineageRecord, on_delete=models.CASCADE, related_name="datasets")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="lineage_uses")
    node = models.CharField(max_length=200)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    # Outputs: the transform.quality nodes upstream of the sink, and those whose `rejected` port
    # feeds it (it receives their quarantined rows).
    quality_nodes = models.JSONField(default=list, blank=True)
    quarantine_of = models.JSONField(default=list, blank=True)
    # The columns the source reads or the sink writes, as the compiler inferred them ([] if unknown).
    schema = models.JSONField(default=list, blank=True)
    # Runs: the rows the node read or wrote, as the job counted them.
    rows = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["record", "direction", "node"]
        constraints = [
            models.UniqueConstraint(fields=["record", "node"], name="lineagedataset_unique_node"),
            models.CheckConstraint(condition=models.Q(direction__in=Direction.values),
                                   name="lineagedataset_direction_valid"),
        ]


class DatasetEdge(models.Model):
    """Data of `source` flows into `target` in the record's pipeline."""

    record = models.ForeignKey(LineageRecord, on_delete=models.CASCADE, related_name="dataset_edges")
    source = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["record", "source", "target"], name="datasetedge_unique"),
        ]


class ColumnEdge(models.Model):
    """`target_column` of `target` is made from `source_column` of `source` (`how`: identity,
    join_key, expression, aggregation). A row-level dependency has an empty `target_column` and
    `how` filter or join_key: the source column decides which rows of `target` are written."""

    record = models.ForeignKey(LineageRecord, on_delete=models.CASCADE, related_name="column_edges")
    source = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    source_column = models.CharField(max_length=128)
    target = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    target_column = models.CharField(max_length=128, blank=True, default="")
    how = models.CharField(max_length=16)

    class Meta:
        indexes = [
            models.Index(fields=["source", "source_column"]),
            models.Index(fields=["target", "target_column"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["record", "source", "source_column", "target", "target_column"],
                                    name="columnedge_unique"),
        ]


class OpenLineageEvent(models.Model):
    """An OpenLineage run event the studio emitted for a run, as sent, and what the transport said."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="openlineage_events")
    event_type = models.CharField(max_length=16)
    transport = models.CharField(max_length=16)
    event = models.JSONField()
    emitted_at = models.DateTimeField(auto_now_add=True)
    error = models.TextField(blank=True, default="")

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "run__pipeline__workspace"

    class Meta:
        ordering = ["run", "emitted_at", "id"]
