"""The catalog's API: datasets (search, a dataset's page, curation, rows, refresh, quality history),
and the landing-zone browser the editor uses to pick files and infer their schemas."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.access.permissions import IsWorkspaceMember, get_for_action
from studio.access.selectors import user_can
from studio.catalog import services
from studio.catalog.files import FileError, file_list
from studio.catalog.models import Classification, Dataset, DatasetKind, SchemaSource
from studio.catalog.selectors import dataset_list, dataset_rows, file_preview, user_can_view_pii
from studio.catalog.storage import StorageError
from studio.core.schema import BAD_REQUEST, ColumnSerializer, ErrorSerializer, error_responses
from studio.lineage.selectors import dataset_pipelines, dataset_quality_history
from studio.runs.models import RunStatus

__all__ = [
    "DatasetDetailView", "DatasetListView", "DatasetQualityView", "DatasetRefreshView", "DatasetRowsView",
    "FileListView", "FileSchemaView",
]


@extend_schema_serializer(component_name="FileSchemaRequest")
class FileSchemaSerializer(serializers.Serializer):
    path = serializers.CharField(max_length=1000, help_text="Relative to the data folder; may be a glob.")
    format = serializers.ChoiceField(choices=["csv", "json", "parquet"])
    options = serializers.DictField(
        required=False, default=dict,
        help_text='CSV options: `{"header": bool (default true), "delimiter": one character (default ",")}`.',
    )


class FileEntrySerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Relative to the data folder.")
    size = serializers.IntegerField(help_text="Bytes.")
    modified = serializers.DateTimeField()


class FileListSerializer(serializers.Serializer):
    files = FileEntrySerializer(many=True)


@extend_schema_serializer(component_name="FileSchema")
class FileSchemaResultSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="The file the schema was inferred from (the first match of the glob).")
    schema = ColumnSerializer(many=True)
    sample = serializers.ListField(child=serializers.DictField(), help_text="At most 20 rows.")
    masked = serializers.ListField(
        child=serializers.CharField(),
        help_text="Columns whose sample values read `***`: classified PII in a catalog dataset of your workspaces "
                  "that holds the file, where you lack that workspace's PII permission.",
    )


# The landing zone is shared by every workspace: any member of one may browse it.
_NOT_A_MEMBER = OpenApiResponse(
    ErrorSerializer, description="Not a member of any workspace, or the CSRF check failed (session auth).",
)


class FileListView(APIView):
    permission_classes = [IsWorkspaceMember]

    @extend_schema(
        operation_id="files_list", tags=["files"], summary="Files in the data folder (recursive, at most 1,000)",
        parameters=[OpenApiParameter(
            "prefix", OpenApiTypes.STR, OpenApiParameter.QUERY,
            description="A folder or path prefix relative to the data folder, e.g. `orders/`.",
        )],
        responses={
            200: FileListSerializer,
            400: OpenApiResponse(ErrorSerializer, description="The prefix leaves the data folder."),
            **error_responses(401), 403: _NOT_A_MEMBER,
        },
    )
    def get(self, request: Request) -> Response:
        try:
            entries = file_list(settings.STUDIO_DATA_DIR, request.query_params.get("prefix", ""))
        except FileError as error:
            raise ValidationError({"detail": str(error)}) from None
        return Response({"files": [asdict(entry) for entry in entries]})


class FileSchemaView(APIView):
    permission_classes = [IsWorkspaceMember]

    @extend_schema(
        operation_id="files_schema", tags=["files"],
        summary="Infer a file's schema, with sample rows (PII masked for users without the PII permission)",
        request=FileSchemaSerializer,
        responses={
            200: FileSchemaResultSerializer,
            400: OpenApiResponse(
                BAD_REQUEST, description='Invalid fields, or `{"detail"}` naming the problem with the file.',
            ),
            **error_responses(401), 403: _NOT_A_MEMBER,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = FileSchemaSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            return Response(file_preview(user=request.user, path=data["path"], file_format=data["format"],
                                         options=data["options"]))
        except FileError as error:
            raise ValidationError({"detail": str(error)}) from None


# --- datasets --------------------------------------------------------------------------------------


class DatasetQuerySerializer(serializers.Serializer):
    workspace = serializers.SlugField(required=False, help_text="Only this workspace's datasets.")
    q = serializers.CharField(required=False, max_length=200, help_text="Part of the name or description.")
    tag = serializers.CharField(required=False, max_length=64, help_text="A tag (exact, case-insensitive).")
    column = serializers.CharField(required=False, max_length=128, help_text="Part of a column's name.")
    kind = serializers.ChoiceField(choices=DatasetKind.values, required=False)
    limit = serializers.IntegerField(required=False, default=200, min_value=1, max_value=1000)


class RowsQuerySerializer(serializers.Serializer):
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=10_000_000)
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=500)


class QualityQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=500,
                                     help_text="At most this many runs, newest first.")


class DatasetSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    workspace = serializers.SlugField()
    uri = serializers.CharField(help_text="`file:<location>`, `kafka:<topic>` or `iceberg:<table>`.")
    kind = serializers.ChoiceField(choices=DatasetKind.choices)
    namespace = serializers.CharField(help_text="file: `local` or `s3://bucket`; kafka: the connection; iceberg: the catalog.")
    name = serializers.CharField()
    format = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    owner = serializers.CharField(allow_null=True, help_text="Username.")
    tags = serializers.ListField(child=serializers.CharField())
    row_count = serializers.IntegerField(allow_null=True)
    size_bytes = serializers.IntegerField(allow_null=True)
    last_updated_at = serializers.DateTimeField(allow_null=True, help_text="When its data last changed.")
    refreshed_at = serializers.DateTimeField(allow_null=True, help_text="When the studio last looked at the data.")


class DatasetColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(allow_blank=True)
    nullable = serializers.BooleanField()
    position = serializers.IntegerField()
    present = serializers.BooleanField(help_text="False: not in the current schema (kept for its classification).")
    classification = serializers.ChoiceField(choices=["", *Classification.values], allow_blank=True)
    description = serializers.CharField(allow_blank=True)


class SchemaVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    schema = ColumnSerializer(many=True)
    source = serializers.ChoiceField(choices=SchemaSource.choices)
    pipeline = serializers.IntegerField(allow_null=True, help_text="The pipeline whose saved version declared it.")
    pipeline_version = serializers.IntegerField(allow_null=True)
    run = serializers.IntegerField(allow_null=True, help_text="The run that wrote or observed it.")
    created_at = serializers.DateTimeField()


class SnapshotSerializer(serializers.Serializer):
    snapshot_id = serializers.CharField(help_text="Iceberg snapshot id (text: it exceeds JavaScript's integers).")
    parent_id = serializers.CharField(allow_null=True)
    committed_at = serializers.DateTimeField()
    operation = serializers.CharField(allow_blank=True)
    summary = serializers.DictField()


class PipelineUseSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The pipeline's id.")
    name = serializers.CharField()
    version = serializers.IntegerField(help_text="Its latest version, whose lineage this is.")
    node = serializers.CharField()


class DatasetDetailSerializer(DatasetSummarySerializer):
    options = serializers.DictField(help_text="How files are read: CSV `header` and `delimiter`.")
    schema = ColumnSerializer(many=True)
    schema_source = serializers.ChoiceField(choices=["", *SchemaSource.values], allow_blank=True)
    refresh_error = serializers.CharField(allow_blank=True, help_text="Why the last look at the data failed.")
    created_at = serializers.DateTimeField()
    columns = DatasetColumnSerializer(many=True)
    schema_versions = SchemaVersionSerializer(many=True, help_text="Newest first (at most 100).")
    snapshots = SnapshotSerializer(many=True, help_text="Iceberg snapshots, newest first (at most 100).")
    producers = PipelineUseSerializer(many=True, help_text="Pipelines whose latest version writes it.")
    consumers = PipelineUseSerializer(many=True, help_text="Pipelines whose latest version reads it.")
    quarantine_of = PipelineUseSerializer(
        many=True, help_text="transform.quality nodes whose quarantined (`rejected`) rows are written here.",
    )
    can_view_pii = serializers.BooleanField(help_text="Whether the user sees the values of PII columns.")
    can_edit = serializers.BooleanField(help_text="Whether the user may change its description, owner, tags, columns.")


class ColumnUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    classification = serializers.ChoiceField(
        choices=["", *Classification.values], allow_blank=True, required=False,
        help_text="Changing it needs the PII permission in the workspace.",
    )
    description = serializers.CharField(allow_blank=True, required=False, max_length=10_000)


class DatasetUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(allow_blank=True, required=False, max_length=10_000)
    owner = serializers.CharField(allow_null=True, allow_blank=True, required=False, max_length=150,
                                  help_text="A member's username; null or empty for none.")
    tags = serializers.ListField(child=serializers.CharField(max_length=200), required=False, max_length=200,
                                 help_text="Replaces the tags.")
    columns = ColumnUpdateSerializer(many=True, required=False)


class RowsPageSerializer(serializers.Serializer):
    columns = ColumnSerializer(many=True, help_text="As the storage reports them.")
    rows = serializers.ListField(child=serializers.DictField())
    offset = serializers.IntegerField()
    has_more = serializers.BooleanField()
    masked = serializers.ListField(
        child=serializers.CharField(), help_text="PII columns whose values are replaced by `***` for this user.",
    )


class QualityRuleResultSerializer(serializers.Serializer):
    node = serializers.CharField()
    rule = serializers.CharField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()


class DatasetQualityRunSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    pipeline = serializers.IntegerField()
    pipeline_name = serializers.CharField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    node = serializers.CharField(help_text="The sink that wrote the dataset.")
    rows = serializers.IntegerField(allow_null=True, help_text="Rows it wrote.")
    rules = QualityRuleResultSerializer(many=True, help_text="The rules of the quality nodes upstream of the sink.")


_DATASET_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The dataset's id.")
_UNREADABLE = OpenApiResponse(BAD_REQUEST, description="Invalid query fields, or the data cannot be read (why).")


def _datasets() -> Any:
    return Dataset.objects.select_related("workspace", "owner").prefetch_related("tags")


def _dataset(request: Request, pk: int, action: str) -> Dataset:
    return get_for_action(_datasets(), user=request.user, action=action, pk=pk)


def _summary(dataset: Dataset) -> dict[str, Any]:
    return {
        "id": dataset.id, "workspace": dataset.workspace.slug, "uri": dataset.uri, "kind": dataset.kind,
        "namespace": dataset.namespace, "name": dataset.name, "format": dataset.format,
        "description": dataset.description, "owner": dataset.owner.get_username() if dataset.owner else None,
        "tags": [t.name for t in dataset.tags.all()], "row_count": dataset.row_count,
        "size_bytes": dataset.size_bytes, "last_updated_at": dataset.last_updated_at,
        "refreshed_at": dataset.refreshed_at,
    }


def _detail(dataset: Dataset, user: Any) -> dict[str, Any]:
    uses = dataset_pipelines(user=user, dataset=dataset)
    return {
        **_summary(dataset),
        "options": dataset.options, "schema": dataset.schema, "schema_source": dataset.schema_source,
        "refresh_error": dataset.refresh_error, "created_at": dataset.created_at,
        "columns": [
            {"name": c.name, "type": c.type, "nullable": c.nullable, "position": c.position, "present": c.present,
             "classification": c.classification, "description": c.description}
            for c in dataset.columns.all()
        ],
        "schema_versions": [
            {"number": v.number, "schema": v.schema, "source": v.source,
             "pipeline": v.pipeline_version.pipeline_id if v.pipeline_version else None,
             "pipeline_version": v.pipeline_version.number if v.pipeline_version else None,
             "run": v.run_id, "created_at": v.created_at}
            for v in dataset.schema_versions.select_related("pipeline_version")[:100]
        ],
        "snapshots": [
            {"snapshot_id": str(s.snapshot_id), "parent_id": None if s.parent_id is None else str(s.parent_id),
             "committed_at": s.committed_at, "operation": s.operation, "summary": s.summary}
            for s in dataset.snapshots.all()[:100]
        ],
        **uses,
        "can_view_pii": user_can_view_pii(user=user, workspace_id=dataset.workspace_id),
        "can_edit": user_can(user=user, workspace=dataset.workspace, action="change"),
    }


class DatasetListView(APIView):
    @extend_schema(
        operation_id="datasets_list", tags=["catalog"], summary="Search the catalog's datasets",
        description="Datasets are registered when a pipeline version that reads or writes them is saved, and "
                    "refreshed after its runs. Filters combine (AND).",
        parameters=[DatasetQuerySerializer],
        responses={200: DatasetSummarySerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        query = DatasetQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        limit = data.pop("limit")
        datasets = dataset_list(user=request.user, **data)[:limit]
        return Response([_summary(d) for d in datasets])


class DatasetDetailView(APIView):
    @extend_schema(
        operation_id="datasets_retrieve", tags=["catalog"],
        summary="A dataset: columns, classifications, schema history, snapshots, producers and consumers",
        parameters=[_DATASET_ID], responses={200: DatasetDetailSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(_dataset(request, pk, "view"), request.user))

    @extend_schema(
        operation_id="datasets_update", tags=["catalog"],
        summary="Curate a dataset: description, owner, tags, column classifications and descriptions",
        parameters=[_DATASET_ID], request=DatasetUpdateSerializer,
        responses={200: DatasetDetailSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        dataset = _dataset(request, pk, "change")
        serializer = DatasetUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        classifying = any("classification" in c for c in data.get("columns", []))
        if classifying and not user_can_view_pii(user=request.user, workspace_id=dataset.workspace_id):
            raise PermissionDenied("Changing a column's classification needs the PII permission in this workspace.")
        services.dataset_update(
            dataset=dataset, description=data.get("description"), owner=data.get("owner", services.UNSET),
            tags=data.get("tags"), columns=data.get("columns"),
        )
        return Response(_detail(_datasets().get(pk=dataset.pk), request.user))


class DatasetRowsView(APIView):
    @extend_schema(
        operation_id="datasets_rows", tags=["catalog"],
        summary="A page of a dataset's rows (PII masked for users without the PII permission)",
        description="Files are read with pyarrow, Iceberg tables through the catalog (a scan with a limit). "
                    "Kafka topics cannot be browsed here (400).",
        parameters=[_DATASET_ID, RowsQuerySerializer],
        responses={200: RowsPageSerializer, 400: _UNREADABLE, **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        dataset = _dataset(request, pk, "view")
        query = RowsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            return Response(dataset_rows(dataset=dataset, user=request.user, **query.validated_data))
        except StorageError as error:
            raise ValidationError({"detail": str(error)}) from None


class DatasetRefreshView(APIView):
    @extend_schema(
        operation_id="datasets_refresh", tags=["catalog"],
        summary="Look at a dataset's data now: schema, row count, size, last change, Iceberg snapshots",
        description="A problem reading it is answered in `refresh_error` (200), not as an error.",
        parameters=[_DATASET_ID], request=None,
        responses={200: DatasetDetailSerializer, **error_responses(401, 403, 404)},
    )
    def post(self, request: Request, pk: int) -> Response:
        dataset = _dataset(request, pk, "change")
        services.dataset_refresh(dataset=dataset)
        return Response(_detail(_datasets().get(pk=dataset.pk), request.user))


class DatasetQualityView(APIView):
    @extend_schema(
        operation_id="datasets_quality", tags=["quality"],
        summary="The dataset's quality history: rule results of the runs that wrote it",
        parameters=[_DATASET_ID, QualityQuerySerializer],
        responses={200: DatasetQualityRunSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        dataset = _dataset(request, pk, "view")
        query = QualityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(dataset_quality_history(user=request.user, dataset=dataset, **query.validated_data))
