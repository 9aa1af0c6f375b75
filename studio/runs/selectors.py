"""Reads for runs, their logs, events, node metrics, progress and alerts; schedules, deployments and
webhooks; restricted to what the user may see where a user is involved."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from studio.pipelines.models import Pipeline
from studio.runs.models import (
    OWNED, Alert, AlertDelivery, Deployment, DesiredState, Run, RunEvent, RunLogLine, RunNodeMetric,
    RunQualityResult, RunStatus, Schedule, Webhook,
)

__all__ = [
    "DeploymentStatus", "NodeStatus", "deployment_latest_run", "deployment_list", "deployment_progress",
    "deployment_status", "last_runs", "run_alerts", "run_events", "run_list", "run_log", "run_metric_rows",
    "run_nodes", "run_progress", "run_status", "runs_owned", "schedule_list", "schedules_visible", "webhooks_visible",
]


class NodeStatus:
    """What a node of a run is doing, as far as the run and the job's metrics tell."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"
    ALL = (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, LOST)


def run_list(*, user: Any, pipeline_id: int | None = None) -> QuerySet[Run]:
    runs = Run.objects.restrict(user, "view").select_related("pipeline__workspace", "version", "created_by")
    if pipeline_id is not None:
        runs = runs.filter(pipeline_id=pipeline_id)
    return runs


def last_runs(*, pipeline_ids: list[int]) -> dict[int, Run]:
    """The newest run of each pipeline, by pipeline id."""
    newest = Run.objects.filter(pipeline_id=OuterRef("pipeline_id")).order_by("-created_at", "-id").values("id")[:1]
    runs = Run.objects.filter(pipeline_id__in=pipeline_ids, id=Subquery(newest))
    return {run.pipeline_id: run for run in runs}


def run_log(*, run: Run, after: int = 0, limit: int = 500) -> QuerySet[RunLogLine]:
    return run.log.filter(seq__gt=after).order_by("seq")[:limit]


def run_status(*, run_id: int) -> str | None:
    return Run.objects.filter(pk=run_id).values_list("status", flat=True).first()


def runs_owned() -> QuerySet[Run]:
    """Runs a worker owns (starting, running, cancelling): what the reaper watches."""
    return Run.objects.filter(status__in=OWNED).order_by("id")


def run_events(*, run: Run) -> QuerySet[RunEvent]:
    return run.events.order_by("at", "id")


def run_metric_rows(
    *, run: Run, node: str | None = None, limit: int = 5000,
) -> tuple[list[RunNodeMetric], list[RunQualityResult]]:
    """The newest `limit` metric rows and quality rows (per micro-batch for a stream), oldest first."""
    metrics = run.node_metrics.all()
    quality = run.quality_results.all()
    if node is not None:
        metrics, quality = metrics.filter(node=node), quality.filter(node=node)
    return (
        sorted(metrics.order_by("-id")[:limit], key=lambda m: (m.node, m.port, _batch_order(m.batch), m.id)),
        sorted(quality.order_by("-id")[:limit], key=lambda q: (q.node, q.rule, _batch_order(q.batch), q.id)),
    )


def _batch_order(batch: int | None) -> int:
    return -1 if batch is None else batch


def _document_nodes(document: Any) -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str]]]:
    """(nodes, edges as (from node, from port, to node, to port)) of a version's document, leniently."""
    nodes = [n for n in (document or {}).get("nodes", []) if isinstance(n, dict) and isinstance(n.get("id"), str)]
    edges = []
    for edge in (document or {}).get("edges", []):
        try:
            edges.append((str(edge["from"]["node"]), str(edge["from"].get("port", "out")),
                          str(edge["to"]["node"]), str(edge["to"].get("port", "in"))))
        except (KeyError, TypeError, AttributeError):
            continue
    return nodes, edges


def _node_status(run_status_: str, *, reported: bool, streaming: bool) -> str:
    if run_status_ in (RunStatus.QUEUED, RunStatus.STARTING):
        return NodeStatus.PENDING
    if run_status_ in (RunStatus.RUNNING, RunStatus.CANCELLING):
        # A batch node that reported its rows is done; a stream node keeps running.
        return NodeStatus.SUCCEEDED if reported and not streaming else NodeStatus.RUNNING
    if run_status_ == RunStatus.SUCCEEDED or (reported and not streaming):
        return NodeStatus.SUCCEEDED
    return {RunStatus.FAILED: NodeStatus.FAILED, RunStatus.CANCELLED: NodeStatus.CANCELLED}.get(
        run_status_, NodeStatus.LOST)


def run_nodes(*, run: Run) -> list[dict[str, Any]]:
    """Each node of the run's version with its status and metrics: rows per output port, rows in
    (reported by the node on its input ports, else summed from its upstream edges), rows out,
    duration, micro-batches, quality rule results. Nodes the job reported that the document does not
    name come last."""
    document = run.version.document
    nodes, edges = _document_nodes(document)
    streaming = isinstance(document, dict) and document.get("mode") == "streaming"
    ports: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    durations: dict[str, int] = {}
    batches: dict[str, set[int]] = defaultdict(set)
    updated: dict[str, Any] = {}
    lag: dict[str, tuple[int, int]] = {}  # node -> (batch, lag) of its newest report
    # A stream's job reports each micro-batch and, when it ends, its own totals (batch null): the
    # totals then stand for the port, rather than being added to the batches.
    totals: dict[tuple[str, str], int] = {}
    for metric in run.node_metrics.order_by("node", "port", "batch"):
        port = ports[metric.node].setdefault(metric.port, {"port": metric.port, "rows": 0, "batches": 0})
        if metric.batch is None:
            totals[(metric.node, metric.port)] = metric.rows
        else:
            port["rows"] += metric.rows
            port["batches"] += 1
            batches[metric.node].add(metric.batch)
        if metric.lag is not None and metric.batch is not None and metric.batch >= lag.get(metric.node, (-1, 0))[0]:
            lag[metric.node] = (metric.batch, metric.lag)
        if metric.duration_ms is not None:
            durations[metric.node] = durations.get(metric.node, 0) + metric.duration_ms
        updated[metric.node] = max(filter(None, [updated.get(metric.node), metric.updated]))
    for (node, port_name), rows in totals.items():
        ports[node][port_name]["rows"] = rows
    quality: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for result in run.quality_results.all():
        rule = quality[result.node].setdefault(result.rule, {"rule": result.rule, "passed": 0, "failed": 0})
        rule["passed"] += result.passed
        rule["failed"] += result.failed
        updated[result.node] = max(filter(None, [updated.get(result.node), result.updated]))

    inputs: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for from_node, from_port, to_node, to_port in edges:
        inputs[to_node].append((from_node, from_port, to_port))

    known = {n["id"] for n in nodes}
    described = [(n["id"], n.get("type"), n.get("label")) for n in nodes]
    described += [(node, None, None) for node in sorted((set(ports) | set(quality)) - known)]
    summaries = []
    for node, node_type, label in described:
        input_ports = {to_port for _, _, to_port in inputs[node]}
        own = ports.get(node, {})
        outputs = [p for name, p in own.items() if name not in input_ports]
        reported_in = [p["rows"] for name, p in own.items() if name in input_ports]
        if reported_in:
            rows_in: int | None = sum(reported_in)
        else:
            upstream = [ports.get(src, {}).get(src_port) for src, src_port, _ in inputs[node]]
            rows_in = sum(p["rows"] for p in upstream) if upstream and all(upstream) else None
        summaries.append({
            "node": node,
            "type": node_type if isinstance(node_type, str) else None,
            "label": label if isinstance(label, str) and label else None,
            "status": _node_status(run.status, reported=bool(own) or node in quality, streaming=streaming),
            "rows_in": rows_in,
            "rows_out": sum(p["rows"] for p in outputs) if outputs else None,
            "duration_ms": durations.get(node),
            "batches": len(batches[node]),
            "last_batch": max(batches[node]) if batches[node] else None,
            "lag": lag[node][1] if node in lag else None,
            "ports": sorted(own.values(), key=lambda p: p["port"]),
            "quality": sorted(quality.get(node, {}).values(), key=lambda q: q["rule"]),
            "updated": updated.get(node),
        })
    return summaries


def schedules_visible(*, user: Any) -> QuerySet[Schedule]:
    return Schedule.objects.restrict(user, "view").select_related("pipeline__workspace", "created_by", "last_run")


def schedule_list(*, pipeline: Pipeline) -> QuerySet[Schedule]:
    return pipeline.schedules.select_related("pipeline__workspace", "created_by", "last_run").order_by("id")


def _source_nodes(run: Run) -> set[str]:
    nodes, _ = _document_nodes(run.version.document)
    return {n["id"] for n in nodes if str(n.get("type", "")).startswith("source.")}


def run_progress(*, run: Run, limit: int = 500) -> list[dict[str, Any]]:
    """A stream's micro-batches, oldest first (the newest `limit`): rows its sources produced, how
    long the batch took, the rate it processed them at, and the sources' lag where they report it.
    The series behind a deployment's throughput and lag charts."""
    sources = _source_nodes(run)
    by_batch: dict[int, dict[str, Any]] = {}
    rows = (run.node_metrics.filter(batch__isnull=False, node__in=sources, port="out")
            .order_by("-batch")[: limit * max(1, len(sources))])
    for metric in rows:
        entry = by_batch.setdefault(metric.batch, {"run": run.id, "batch": metric.batch, "at": metric.updated,
                                                    "rows": 0, "duration_ms": None, "lag": None})
        entry["rows"] += metric.rows
        entry["at"] = max(entry["at"], metric.updated)
        if metric.duration_ms is not None:
            entry["duration_ms"] = max(entry["duration_ms"] or 0, metric.duration_ms)
        if metric.lag is not None:
            entry["lag"] = (entry["lag"] or 0) + metric.lag
    series = sorted(by_batch.values(), key=lambda entry: entry["batch"])[-limit:]
    for entry in series:
        duration = entry["duration_ms"]
        entry["rows_per_second"] = round(entry["rows"] * 1000 / duration, 3) if duration else None
    return series


# --- deployments ----------------------------------------------------------------------------------


class DeploymentStatus:
    """What a deployment is doing, from what was asked of it and its newest run."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    ALL = (STARTING, RUNNING, STOPPING, STOPPED, FAILED)


def deployment_list(*, user: Any, pipeline_id: int | None = None) -> QuerySet[Deployment]:
    deployments = Deployment.objects.restrict(user, "view").select_related(
        "pipeline__workspace", "version", "created_by")
    if pipeline_id is not None:
        deployments = deployments.filter(pipeline_id=pipeline_id)
    return deployments


def deployment_latest_run(*, deployment: Deployment) -> Run | None:
    return (Run.objects.filter(deployment=deployment).select_related("pipeline__workspace", "version", "created_by")
            .order_by("-id").first())


def deployment_status(*, deployment: Deployment, run: Run | None) -> str:
    """starting (queued or starting, or about to start again after an upgrade), running, stopping,
    stopped (as asked, or the stream ended by itself), or failed (its run ended while it should run)."""
    if run is None:
        return DeploymentStatus.STOPPED
    if run.status in (RunStatus.QUEUED, RunStatus.STARTING):
        return DeploymentStatus.STARTING
    if run.status == RunStatus.RUNNING:
        return DeploymentStatus.RUNNING
    if run.status == RunStatus.CANCELLING:
        return DeploymentStatus.STOPPING
    if deployment.restart_pending:
        return DeploymentStatus.STARTING
    if deployment.desired == DesiredState.STOPPED or run.status == RunStatus.SUCCEEDED:
        return DeploymentStatus.STOPPED
    return DeploymentStatus.FAILED


def deployment_progress(*, deployment: Deployment, limit: int = 500) -> list[dict[str, Any]]:
    """The micro-batches of the deployment's runs, oldest first (the newest `limit`), each with its run."""
    series: list[dict[str, Any]] = []
    runs = Run.objects.filter(deployment=deployment).select_related("version").order_by("-id")
    for run in runs:
        series = run_progress(run=run, limit=limit - len(series)) + series
        if len(series) >= limit:
            break
    return series


# --- alerts and webhooks --------------------------------------------------------------------------


def run_alerts(*, run: Run, after: int = 0, limit: int = 500) -> QuerySet[Alert]:
    """A run's alerts after sequence number `after`, with their deliveries."""
    deliveries = Prefetch("deliveries", queryset=AlertDelivery.objects.order_by("id"))
    return run.alerts.filter(seq__gt=after).order_by("seq").prefetch_related(deliveries)[:limit]


def webhooks_visible(*, user: Any) -> QuerySet[Webhook]:
    return Webhook.objects.restrict(user, "view").select_related("workspace", "pipeline", "connection", "created_by")
