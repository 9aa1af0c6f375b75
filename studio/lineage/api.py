"""Thin views for lineage (graph, impact, per version and per run), run quality and OpenLineage events."""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.access.permissions import get_for_action
from studio.catalog.models import Dataset, DatasetKind
from studio.core.schema import ColumnSerializer, error_responses
from studio.lineage import selectors
from studio.lineage.models import Direction, LineageRecord, OpenLineageEvent
from studio.pipelines.models import Pipeline
from studio.runs.models import Run

__all__ = [
    "DatasetImpactView", "DatasetLineageView", "RunLineageView", "RunOpenLineageView", "RunQualityView",
    "VersionLineageView",
]

_HOW = ["identity", "join_key", "expression", "aggregation", "filter", "read"]


class GraphQuerySerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=selectors.DIRECTIONS, default="both", required=False)
    depth = serializers.IntegerField(required=False, min_value=1, max_value=1000,
                                     help_text="At most this many pipeline hops; to the end when omitted.")
    column = serializers.RegexField(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$", required=False,
                                    help_text="Follow this column instead of the whole dataset.")


class ImpactQuerySerializer(serializers.Serializer):
    column = serializers.RegexField(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$", help_text="The column to drop.")


class DatasetRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    uri = serializers.CharField()
    kind = serializers.ChoiceField(choices=DatasetKind.choices)
    namespace = serializers.CharField()
    name = serializers.CharField()
    format = serializers.CharField(allow_blank=True)


class GraphDatasetSerializer(DatasetRefSerializer):
    depth = serializers.IntegerField(help_text="Pipeline hops from the root: negative upstream, positive downstream.")


class GraphColumnSerializer(serializers.Serializer):
    dataset = serializers.IntegerField()
    column = serializers.CharField(allow_null=True, help_text="Null: the rows of the dataset (a row-level dependency).")
    depth = serializers.IntegerField()


class PipelineRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.IntegerField(help_text="The latest version, whose lineage this is.")


class EdgeColumnSerializer(serializers.Serializer):
    source_column = serializers.CharField()
    target_column = serializers.CharField(allow_null=True, help_text="Null: decides which rows are written.")
    how = serializers.ChoiceField(choices=_HOW)


class GraphEdgeSerializer(serializers.Serializer):
    source = serializers.IntegerField(help_text="Dataset id.")
    target = serializers.IntegerField(help_text="Dataset id.")
    pipeline = serializers.IntegerField(help_text="The pipeline that reads `source` and writes `target`.")
    columns = EdgeColumnSerializer(many=True)


class GraphRootSerializer(serializers.Serializer):
    dataset = serializers.IntegerField()
    column = serializers.CharField(allow_null=True)


class LineageGraphSerializer(serializers.Serializer):
    root = GraphRootSerializer()
    direction = serializers.ChoiceField(choices=selectors.DIRECTIONS)
    datasets = GraphDatasetSerializer(many=True)
    columns = GraphColumnSerializer(many=True, help_text="The columns reached (only when following a column).")
    pipelines = PipelineRefSerializer(many=True)
    edges = GraphEdgeSerializer(many=True)


class ImpactColumnSerializer(serializers.Serializer):
    dataset = DatasetRefSerializer()
    column = serializers.CharField()
    depth = serializers.IntegerField()


class ImpactUseSerializer(serializers.Serializer):
    dataset = serializers.IntegerField(help_text="The dataset of the used column.")
    column = serializers.CharField()
    target = serializers.IntegerField(allow_null=True, help_text="The dataset it feeds (null: only read).")
    target_column = serializers.CharField(allow_null=True)
    how = serializers.ChoiceField(choices=_HOW, help_text="`read`: declared in a source's schema.")


class ImpactPipelineSerializer(PipelineRefSerializer):
    uses = ImpactUseSerializer(many=True)


class ImpactDatasetSerializer(DatasetRefSerializer):
    pipeline = serializers.IntegerField(help_text="The broken pipeline that writes it.")
    node = serializers.CharField()


class ImpactSerializer(serializers.Serializer):
    dataset = DatasetRefSerializer()
    column = serializers.CharField()
    columns = ImpactColumnSerializer(many=True, help_text="Columns made from it, downstream.")
    pipelines = ImpactPipelineSerializer(many=True, help_text="Pipelines that use it or a column made from it.")
    datasets = ImpactDatasetSerializer(many=True, help_text="What those pipelines write.")


class RecordDatasetSerializer(DatasetRefSerializer):
    node = serializers.CharField()
    direction = serializers.ChoiceField(choices=Direction.choices)
    rows = serializers.IntegerField(allow_null=True, help_text="Rows read or written (runs, once counted).")
    schema = ColumnSerializer(many=True)
    quality_nodes = serializers.ListField(child=serializers.CharField())
    quarantine_of = serializers.ListField(child=serializers.CharField())


class RecordColumnSerializer(serializers.Serializer):
    source = serializers.IntegerField()
    source_column = serializers.CharField()
    target = serializers.IntegerField()
    target_column = serializers.CharField(allow_null=True)
    how = serializers.ChoiceField(choices=_HOW)


class LineageRecordSerializer(serializers.Serializer):
    pipeline = serializers.IntegerField()
    version = serializers.IntegerField()
    run = serializers.IntegerField(allow_null=True)
    parameters = serializers.DictField()
    datasets = RecordDatasetSerializer(many=True)
    columns = RecordColumnSerializer(many=True)
    compiler = serializers.DictField(help_text="The compiler's lineage: {columns, rows, datasets}.")


class QualityRuleSerializer(serializers.Serializer):
    rule = serializers.CharField()
    expression = serializers.CharField()
    on_fail = serializers.ChoiceField(choices=["warn", "drop", "quarantine", "fail"])
    passed = serializers.IntegerField(allow_null=True, help_text="Null until the job reports it.")
    failed = serializers.IntegerField(allow_null=True)
    batches = serializers.IntegerField(help_text="Micro-batches reported (0 for a batch job).")


class QuarantineSerializer(DatasetRefSerializer):
    node = serializers.CharField(help_text="The sink that writes the quarantined rows.")


class QualityNodeSerializer(serializers.Serializer):
    node = serializers.CharField()
    label = serializers.CharField(allow_null=True)
    rules = QualityRuleSerializer(many=True)
    quarantine = QuarantineSerializer(many=True, help_text="Where its quarantined rows are: browse them with "
                                                           "`GET /api/catalog/datasets/{id}/rows/`.")


class OpenLineageEventSerializer(serializers.Serializer):
    event_type = serializers.ChoiceField(choices=["START", "COMPLETE", "FAIL", "ABORT"])
    transport = serializers.CharField()
    emitted_at = serializers.DateTimeField()
    error = serializers.CharField(allow_blank=True, help_text='Why the transport did not take it; "" if it did.')
    event = serializers.DictField(help_text="The OpenLineage RunEvent as sent.")


_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The dataset's id.")
_RUN_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The run's id.")
_PIPELINE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The pipeline's id.")


def _dataset(request: Request, pk: int) -> Dataset:
    return get_for_action(Dataset.objects.all(), user=request.user, action="view", pk=pk)


def _run(request: Request, pk: int) -> Run:
    return get_for_action(Run.objects.select_related("pipeline__workspace", "version"), user=request.user,
                          action="view", pk=pk)


class DatasetLineageView(APIView):
    @extend_schema(
        operation_id="lineage_graph", tags=["lineage"],
        summary="Upstream and downstream of a dataset, or of one of its columns, to any depth",
        description="The workspace's current lineage: what the latest version of every pipeline reads and writes.",
        parameters=[_ID, GraphQuerySerializer],
        responses={200: LineageGraphSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        dataset = _dataset(request, pk)
        query = GraphQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.lineage_graph(user=request.user, dataset=dataset, **query.validated_data))


class DatasetImpactView(APIView):
    @extend_schema(
        operation_id="lineage_impact", tags=["lineage"],
        summary="Impact analysis: what dropping a column breaks (columns, pipelines, datasets)",
        parameters=[_ID, ImpactQuerySerializer],
        responses={200: ImpactSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        dataset = _dataset(request, pk)
        query = ImpactQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.impact(user=request.user, dataset=dataset, column=query.validated_data["column"]))


class RunLineageView(APIView):
    @extend_schema(
        operation_id="runs_lineage", tags=["lineage"], summary="The lineage of a run (with its parameters)",
        parameters=[_RUN_ID], responses={200: LineageRecordSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        run = _run(request, pk)
        record = LineageRecord.objects.filter(run=run).first()
        if record is None:
            raise NotFound(f"Run {pk} has no lineage yet: it is recorded when its job starts.")
        return Response(selectors.record_data(record))


class VersionLineageView(APIView):
    @extend_schema(
        operation_id="versions_lineage", tags=["lineage"],
        summary="The lineage of a saved pipeline version (parameters at their defaults)",
        parameters=[_PIPELINE_ID, OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH,
                                                   description="The version number.")],
        responses={200: LineageRecordSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int, number: int) -> Response:
        pipeline = get_for_action(Pipeline.objects.all(), user=request.user, action="view", pk=pk)
        record = LineageRecord.objects.filter(version__pipeline=pipeline, version__number=number,
                                              run__isnull=True).first()
        if record is None:
            raise NotFound(f"Pipeline {pk} has no version {number}.")
        return Response(selectors.record_data(record))


class RunQualityView(APIView):
    @extend_schema(
        operation_id="runs_quality", tags=["quality"],
        summary="A run's transform.quality results: pass and fail counts per rule, and where quarantined rows went",
        parameters=[_RUN_ID], responses={200: QualityNodeSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.run_quality(run=_run(request, pk)))


class RunOpenLineageView(APIView):
    @extend_schema(
        operation_id="runs_openlineage", tags=["lineage"],
        summary="The OpenLineage events the studio sent for a run",
        parameters=[_RUN_ID], responses={200: OpenLineageEventSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        run = _run(request, pk)
        events: Any = OpenLineageEvent.objects.restrict(request.user, "view").filter(run=run)
        return Response([
            {"event_type": e.event_type, "transport": e.transport, "emitted_at": e.emitted_at, "error": e.error,
             "event": e.event}
            for e in events
        ])
