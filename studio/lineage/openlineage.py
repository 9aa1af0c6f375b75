"""OpenLineage run events for the studio's runs, built and sent with openlineage-python.

A run sends START when its job starts, and COMPLETE, FAIL or ABORT when it ends. Each event names
the job (`<workspace>.<pipeline>` in the `OPENLINEAGE_NAMESPACE` namespace), the datasets the run
read and wrote with their `schema` facets, the written datasets' `columnLineage` (row-deciding
columns under the facet's `dataset` list, as INDIRECT FILTER or JOIN), row counts once known, and
for a failure the error. Every event is also stored with the run (`OpenLineageEvent`) with what the
transport said, so the studio shows what it sent.

Dataset naming follows OpenLineage's conventions: a local file location is namespace `file` and
its absolute path; `s3://bucket` and the key; Kafka `kafka://<connection>` and the topic; Iceberg
`iceberg://<catalog>` and `namespace.table`.
"""
from __future__ import annotations

import logging
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run as OLRun, RunEvent, RunState, set_producer
from openlineage.client.facet_v2 import (
    column_lineage_dataset, documentation_job, error_message_run, input_statistics_input_dataset, job_type_job,
    output_statistics_output_dataset, processing_engine_run, schema_dataset,
)
from openlineage.client.serde import Serde
from openlineage.client.transport import Transport
from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG

from studio.catalog.models import Dataset, DatasetKind
from studio.lineage.models import ColumnEdge, Direction, LineageDataset, LineageRecord, OpenLineageEvent
from studio.runs.models import Run, RunStatus

__all__ = ["TRANSPORTS", "build_run_event", "dataset_identity", "emit_run_event", "event_type_of", "run_uuid"]

logger = logging.getLogger(__name__)

TRANSPORTS = ("off", "file", "console", "http")
_EVENT_TYPES = {
    RunStatus.SUCCEEDED: RunState.COMPLETE,
    RunStatus.FAILED: RunState.FAIL,
    RunStatus.LOST: RunState.FAIL,
    RunStatus.CANCELLED: RunState.ABORT,
}
# The compiler's `how` of a column -> OpenLineage transformation (type, subtype).
_DIRECT = {"identity": "IDENTITY", "join_key": "IDENTITY", "expression": "TRANSFORMATION",
           "aggregation": "AGGREGATION"}
_INDIRECT = {"filter": "FILTER", "join_key": "JOIN"}


def event_type_of(run: Run) -> RunState:
    """START while the run is starting or running; its end state once it has finished."""
    return _EVENT_TYPES.get(run.status, RunState.START)


def run_uuid(run: Run) -> str:
    """A stable UUID for the run (the same in its START and its end event)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.OPENLINEAGE_PRODUCER}/{settings.OPENLINEAGE_NAMESPACE}"
                                              f"/runs/{run.pk}/{run.created_at.isoformat()}"))


def dataset_identity(dataset: Dataset) -> tuple[str, str]:
    """(namespace, name) of a catalog dataset in OpenLineage's naming."""
    if dataset.kind == DatasetKind.FILE:
        if dataset.namespace == "local":
            path = Path(dataset.name) if dataset.name.startswith("/") else Path(settings.STUDIO_DATA_DIR) / dataset.name
            return "file", str(path.resolve())
        return dataset.namespace, dataset.name
    return f"{dataset.kind}://{dataset.namespace}", dataset.name


class _Recorder(Transport):
    """Passes events on to the real transport and keeps the last one exactly as it was sent (the
    client adds facets of its own, such as its version tag, on the way)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.sent: RunEvent | None = None

    def emit(self, event: Any) -> Any:
        self.sent = event
        return self.inner.emit(event)

    def close(self, timeout: float = -1) -> bool:
        return self.inner.close(timeout)


def _transport() -> Transport | None:
    kind = settings.OPENLINEAGE_TRANSPORT
    if kind == "file":
        path = Path(settings.OPENLINEAGE_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        return FileTransport(FileConfig(log_file_path=str(path), append=True))
    if kind == "console":
        return ConsoleTransport(ConsoleConfig())
    if kind == "http":
        if not settings.OPENLINEAGE_URL:
            raise ValueError("OPENLINEAGE_TRANSPORT is http but OPENLINEAGE_URL is not set.")
        auth = ApiKeyTokenProvider({"apiKey": settings.OPENLINEAGE_API_KEY}) if settings.OPENLINEAGE_API_KEY \
            else TokenProvider({})
        # Two quick retries: a consumer that is down delays the worker by about a second per event.
        retry = {**DEFAULT_RETRY_CONFIG, "total": 2, "read": 2, "connect": 2}
        return HttpTransport(HttpConfig(url=settings.OPENLINEAGE_URL, endpoint=settings.OPENLINEAGE_ENDPOINT,
                                        auth=auth, timeout=5.0, retry=retry))
    if kind == "off":
        return None
    raise ValueError(f"OPENLINEAGE_TRANSPORT '{kind}' is not one of {', '.join(TRANSPORTS)}.")


def _schema_facet(columns: list[dict[str, Any]]) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(fields=[
        schema_dataset.SchemaDatasetFacetFields(name=c["name"], type=c["type"], ordinal_position=i + 1)
        for i, c in enumerate(columns)
    ])


def _column_lineage(record: LineageRecord, target: Dataset) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    fields: dict[str, list[column_lineage_dataset.InputField]] = {}
    whole: list[column_lineage_dataset.InputField] = []
    for edge in ColumnEdge.objects.filter(record=record, target=target).select_related("source").order_by(
        "target_column", "source__name", "source_column", "how"
    ):
        namespace, name = dataset_identity(edge.source)
        if edge.target_column:
            transformation = column_lineage_dataset.Transformation(
                type="DIRECT", subtype=_DIRECT.get(edge.how, "TRANSFORMATION"), description=edge.how,
            )
            fields.setdefault(edge.target_column, []).append(column_lineage_dataset.InputField(
                namespace=namespace, name=name, field=edge.source_column, transformations=[transformation],
            ))
        else:
            transformation = column_lineage_dataset.Transformation(
                type="INDIRECT", subtype=_INDIRECT.get(edge.how, "FILTER"), description=edge.how,
            )
            whole.append(column_lineage_dataset.InputField(
                namespace=namespace, name=name, field=edge.source_column, transformations=[transformation],
            ))
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={column: column_lineage_dataset.Fields(inputFields=inputs) for column, inputs in fields.items()},
        dataset=whole,
    )


def _engine_version(engine: str) -> str:
    package = {"spark": "pyspark", "flink": "apache-flink"}.get(engine, engine)
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def build_run_event(run: Run, record: LineageRecord, event_type: RunState) -> RunEvent:
    set_producer(settings.OPENLINEAGE_PRODUCER)
    ended = event_type != RunState.START
    run_facets: dict[str, Any] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=_engine_version(run.engine), name=run.engine.capitalize(),
            openlineageAdapterVersion=metadata.version("openlineage-python"),
        ),
    }
    if event_type == RunState.FAIL:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=(run.error or f"The run ended {run.status}.").split("\n", 1)[0], programmingLanguage="python",
            stackTrace=run.error or None,
        )
    mode = (run.version.document or {}).get("mode") if isinstance(run.version.document, dict) else None
    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="STREAMING" if mode == "streaming" else "BATCH", integration="PIPELINE_STUDIO",
            jobType="PIPELINE",
        ),
    }
    if run.pipeline.description:
        job_facets["documentation"] = documentation_job.DocumentationJobFacet(description=run.pipeline.description)
    inputs, outputs = [], []
    for use in LineageDataset.objects.filter(record=record).select_related("dataset").order_by("direction", "node"):
        namespace, name = dataset_identity(use.dataset)
        facets: dict[str, Any] = {"schema": _schema_facet(use.schema)} if use.schema else {}
        if use.direction == Direction.INPUT:
            input_facets = {}
            if ended and use.rows is not None:
                input_facets["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                    rowCount=use.rows)
            inputs.append(InputDataset(namespace=namespace, name=name, facets=facets, inputFacets=input_facets))
        else:
            facets["columnLineage"] = _column_lineage(record, use.dataset)
            output_facets = {}
            if ended and use.rows is not None:
                output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=use.rows)
            outputs.append(OutputDataset(namespace=namespace, name=name, facets=facets, outputFacets=output_facets))
    at = (run.finished_at if ended else run.started_at) or timezone.now()
    return RunEvent(
        eventType=event_type,
        eventTime=at.isoformat(),
        run=OLRun(runId=run_uuid(run), facets=run_facets),
        job=Job(namespace=settings.OPENLINEAGE_NAMESPACE, name=f"{run.pipeline.workspace.slug}.{run.pipeline.name}",
                facets=job_facets),
        inputs=inputs,
        outputs=outputs,
        producer=settings.OPENLINEAGE_PRODUCER,
    )


def emit_run_event(*, run: Run) -> OpenLineageEvent | None:
    """Send the event the run's status calls for (once per kind), and keep it with the run."""
    transport = _transport()
    if transport is None:
        return None
    event_type = event_type_of(run)
    if OpenLineageEvent.objects.filter(run=run, event_type=event_type.value).exists():
        return None
    record = LineageRecord.objects.filter(run=run).first()
    if record is None:
        return None
    event = build_run_event(run, record, event_type)
    recorder = _Recorder(transport)
    error = ""
    try:
        OpenLineageClient(transport=recorder).emit(event)
    except Exception as failure:  # noqa: BLE001 - a consumer that is down must not fail the run
        error = f"The {settings.OPENLINEAGE_TRANSPORT} transport could not send it: {failure}"
        logger.warning("OpenLineage %s event of run %s not sent: %s", event_type.value, run.pk, failure)
    return OpenLineageEvent.objects.create(run=run, event_type=event_type.value,
                                           event=Serde.to_dict(recorder.sent or event),
                                           transport=settings.OPENLINEAGE_TRANSPORT, error=error)
