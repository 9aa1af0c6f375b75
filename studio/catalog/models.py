"""The data catalog: datasets (file locations, Kafka topics, Iceberg tables) with their columns,
classifications, tags, schema history and Iceberg snapshots.

A dataset belongs to one workspace and is identified there by (kind, namespace, name); see
`studio.catalog.identity` for how the compiler's dataset names are normalised into that key.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.access.models import RestrictedQuerySet, Workspace

__all__ = [
    "Classification", "Dataset", "DatasetColumn", "DatasetKind", "DatasetSchemaVersion", "DatasetSnapshot",
    "DatasetTag", "SchemaSource",
]


class DatasetKind(models.TextChoices):
    FILE = "file", "File location"
    KAFKA = "kafka", "Kafka topic"
    ICEBERG = "iceberg", "Iceberg table"


class Classification(models.TextChoices):
    """How sensitive a column is. Values of `pii` columns are masked for members without the PII
    permission; the others are labels for people."""

    PII = "pii", "Personal data (PII)"
    CONFIDENTIAL = "confidential", "Confidential"
    INTERNAL = "internal", "Internal"
    PUBLIC = "public", "Public"


class SchemaSource(models.TextChoices):
    """Where a schema came from, from the weakest evidence to the strongest."""

    DECLARED = "declared", "Declared by a saved pipeline (a source's schema, or what a sink will write)"
    WRITTEN = "written", "Written by a run (the compiler's schema of what the sink wrote)"
    OBSERVED = "observed", "Read from the data itself (Parquet footer, Iceberg metadata)"


SCHEMA_SOURCE_RANK = {SchemaSource.DECLARED: 0, SchemaSource.WRITTEN: 1, SchemaSource.OBSERVED: 2}


class Dataset(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="datasets")
    kind = models.CharField(max_length=16, choices=DatasetKind.choices)
    # file: "local" (under the data folder, or an absolute path) or "s3://bucket"; kafka: the
    # connection name ("default" for the studio's broker); iceberg: the catalog ("studio").
    namespace = models.CharField(max_length=200)
    # file: the location (a folder or a file, globs cut at their first wildcard); kafka: the topic;
    # iceberg: "namespace.table".
    name = models.CharField(max_length=1000)
    format = models.CharField(max_length=32, blank=True, default="")
    # How to read it, as the last pipeline that used it said: CSV `header` and `delimiter`.
    options = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    schema = models.JSONField(default=list, blank=True)
    schema_source = models.CharField(max_length=16, choices=SchemaSource.choices, blank=True, default="")
    row_count = models.PositiveBigIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    # When its data last changed (a run that wrote it, a file's mtime, an Iceberg commit).
    last_updated_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "workspace"

    class Meta:
        ordering = ["kind", "namespace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "kind", "namespace", "name"], name="dataset_unique_key"),
            models.CheckConstraint(condition=models.Q(kind__in=DatasetKind.values), name="dataset_kind_valid"),
            models.CheckConstraint(condition=~models.Q(name=""), name="dataset_name_not_empty"),
            models.CheckConstraint(
                condition=models.Q(schema_source="") | models.Q(schema_source__in=SchemaSource.values),
                name="dataset_schema_source_valid",
            ),
        ]

    @property
    def uri(self) -> str:
        """The compiler's spelling (`file:<path>`, `kafka:<topic>`, `iceberg:<table>`), plus the namespace
        where it is not the default one."""
        if self.kind == DatasetKind.FILE and self.namespace.startswith("s3://"):
            return f"file:{self.namespace}/{self.name}"
        if self.kind == DatasetKind.KAFKA and self.namespace != "default":
            return f"kafka:{self.namespace}/{self.name}"
        return f"{self.kind}:{self.name}"

    def __str__(self) -> str:
        return self.uri


class DatasetColumn(models.Model):
    """A column of a dataset, with its classification. A column the current schema no longer has is
    kept (`present` false) so its classification and description are not lost if it comes back."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="columns")
    name = models.CharField(max_length=128)
    type = models.CharField(max_length=200, blank=True, default="")
    nullable = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    present = models.BooleanField(default=True)
    classification = models.CharField(max_length=16, choices=Classification.choices, blank=True, default="")
    description = models.TextField(blank=True, default="")

    objects = RestrictedQuerySet.as_manager()
    workspace_path = "dataset__workspace"

    class Meta:
        ordering = ["dataset", "-present", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="datasetcolumn_unique_name"),
            models.CheckConstraint(
                condition=models.Q(classification="") | models.Q(classification__in=Classification.values),
                name="datasetcolumn_classification_valid",
            ),
        ]


class DatasetTag(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ["dataset", "name"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="datasettag_unique_name"),
            models.CheckConstraint(condition=~models.Q(name=""), name="datasettag_name_not_empty"),
        ]


class DatasetSchemaVersion(models.Model):
    """One schema a dataset had; a new number each time its columns or types change."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="schema_versions")
    number = models.PositiveIntegerField()
    schema = models.JSONField(default=list)
    fingerprint = models.CharField(max_length=64)
    source = models.CharField(max_length=16, choices=SchemaSource.choices)
    pipeline_version = models.ForeignKey("pipelines.PipelineVersion", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    run = models.ForeignKey("runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="datasetschema_unique_number"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="datasetschema_number_positive"),
            models.CheckConstraint(condition=models.Q(source__in=SchemaSource.values),
                                   name="datasetschema_source_valid"),
        ]


class DatasetSnapshot(models.Model):
    """An Iceberg snapshot of a table dataset, as its metadata listed it at the last refresh."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="snapshots")
    snapshot_id = models.BigIntegerField()
    parent_id = models.BigIntegerField(null=True, blank=True)
    committed_at = models.DateTimeField()
    operation = models.CharField(max_length=32, blank=True, default="")
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["dataset", "-committed_at", "-snapshot_id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "snapshot_id"], name="datasetsnapshot_unique_id"),
        ]
