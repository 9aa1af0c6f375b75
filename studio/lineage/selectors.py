"""Reads for lineage: the graph around a dataset or a column, impact analysis, per-run and
per-version lineage, and quality results (per run and per dataset).

The graph is the workspace's *current* lineage: what the latest version of every pipeline reads and
writes. Workspace graphs are small (hundreds of edges), so the edges are loaded once per request
and walked in memory, to any depth, each dataset or column visited once.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet

from studio.catalog.models import Dataset
from studio.lineage.models import ColumnEdge, DatasetEdge, Direction, LineageDataset, LineageRecord
from studio.runs.models import Run, RunQualityResult

__all__ = [
    "DIRECTIONS", "current_records", "dataset_pipelines", "dataset_quality_history", "dataset_ref", "impact",
    "lineage_graph", "record_data", "run_quality",
]

DIRECTIONS = ("upstream", "downstream", "both")
QUALITY = "transform.quality"


def dataset_ref(dataset: Dataset) -> dict[str, Any]:
    return {"id": dataset.id, "uri": dataset.uri, "kind": dataset.kind, "namespace": dataset.namespace,
            "name": dataset.name, "format": dataset.format}


def current_records(*, user: Any, workspace_id: int) -> QuerySet[LineageRecord]:
    """The save-time records of the latest version of each pipeline of the workspace."""
    return (
        LineageRecord.objects.restrict(user, "view")
        .filter(pipeline__workspace_id=workspace_id, run__isnull=True,
                version__number=F("pipeline__latest_version"))
    )


def _record_refs(*, user: Any, workspace_id: int) -> dict[int, dict[str, Any]]:
    """record id -> its pipeline's reference, for the current records (no documents loaded)."""
    rows = current_records(user=user, workspace_id=workspace_id).values_list(
        "id", "pipeline_id", "pipeline__name", "version__number")
    return {r: {"id": p, "name": name, "version": number} for r, p, name, number in rows}


def dataset_pipelines(*, user: Any, dataset: Dataset) -> dict[str, list[dict[str, Any]]]:
    """The pipelines (latest versions) that write and read the dataset, with the node doing it."""
    records = _record_refs(user=user, workspace_id=dataset.workspace_id)
    uses = LineageDataset.objects.filter(record_id__in=records, dataset=dataset).only(
        "record_id", "node", "direction", "quarantine_of")
    found: dict[str, list[dict[str, Any]]] = {"producers": [], "consumers": [], "quarantine_of": []}
    for use in sorted(uses, key=lambda u: (records[u.record_id]["name"], u.node)):
        ref = records[use.record_id]
        found["producers" if use.direction == Direction.OUTPUT else "consumers"].append({**ref, "node": use.node})
        found["quarantine_of"].extend({**ref, "node": q} for q in use.quarantine_of)
    return found


# --- the graph -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Edge:
    source: int
    target: int
    record: int
    source_column: str = ""
    target_column: str = ""
    how: str = ""


Step = Any  # node -> [(edge, next node)]


def _walk(root: Any, step: Step, depth: int | None) -> tuple[dict[Any, int], set[_Edge]]:
    """Breadth-first from `root`: node -> hops, and every edge followed, up to `depth` hops."""
    hops = {root: 0}
    followed: set[_Edge] = set()
    frontier = [root]
    level = 0
    while frontier and (depth is None or level < depth):
        level += 1
        following = []
        for node in frontier:
            for edge, nxt in step(node):
                followed.add(edge)
                if nxt not in hops:
                    hops[nxt] = level
                    following.append(nxt)
        frontier = following
    return hops, followed


def _steps(edges: list[_Edge], column: bool) -> tuple[Step, Step]:
    """(upstream step, downstream step) over dataset edges, or over column edges. In a column walk, a
    row-level dependency (no target column) is upstream of every column of its target, and downstream
    it leads to the target's rows, `(target, "")`, which is not walked further."""
    ups: dict[Any, list[tuple[_Edge, Any]]] = defaultdict(list)
    downs: dict[Any, list[tuple[_Edge, Any]]] = defaultdict(list)
    row_level: dict[int, list[tuple[_Edge, Any]]] = defaultdict(list)
    for e in edges:
        source = (e.source, e.source_column) if column else e.source
        target = (e.target, e.target_column) if column else e.target
        downs[source].append((e, target))
        if column and not e.target_column:
            row_level[e.target].append((e, source))
        else:
            ups[target].append((e, source))

    def upstream(node: Any) -> list[tuple[_Edge, Any]]:
        if column:
            return ups.get(node, []) + (row_level.get(node[0], []) if node[1] else [])
        return ups.get(node, [])

    def downstream(node: Any) -> list[tuple[_Edge, Any]]:
        return downs.get(node, []) if not column or node[1] else []

    return upstream, downstream


def _column_edges(record_ids: Iterable[int]) -> list[_Edge]:
    return [_Edge(*row) for row in ColumnEdge.objects.filter(record_id__in=list(record_ids)).values_list(
        "source_id", "target_id", "record_id", "source_column", "target_column", "how")]


def lineage_graph(
    *, user: Any, dataset: Dataset, direction: str = "both", depth: int | None = None, column: str | None = None
) -> dict[str, Any]:
    """Datasets (or columns) upstream and/or downstream of a dataset (or one of its columns), with
    the pipelines that connect them. `depth` counts pipeline hops; None means to the end. Depths in
    the answer are negative upstream, positive downstream."""
    records = _record_refs(user=user, workspace_id=dataset.workspace_id)
    by_column = bool(column)
    edges = _column_edges(records) if by_column else [
        _Edge(*row) for row in DatasetEdge.objects.filter(record_id__in=records).values_list(
            "source_id", "target_id", "record_id")
    ]
    upstream, downstream = _steps(edges, by_column)
    root: Any = (dataset.id, column) if by_column else dataset.id
    reached: dict[Any, int] = {root: 0}
    followed: set[_Edge] = set()
    if direction in ("upstream", "both"):
        hops, used = _walk(root, upstream, depth)
        reached.update({n: -h for n, h in hops.items() if n != root})
        followed |= used
    if direction in ("downstream", "both"):
        hops, used = _walk(root, downstream, depth)
        reached.update({n: h for n, h in hops.items() if n != root})
        followed |= used

    depth_of: dict[int, int] = {}
    for node, hops_to in reached.items():
        ident = node[0] if by_column else node
        if ident not in depth_of or abs(hops_to) < abs(depth_of[ident]):
            depth_of[ident] = hops_to
    datasets = {d.id: d for d in Dataset.objects.filter(id__in=depth_of)}
    grouped: dict[tuple[int, int, int], list[_Edge]] = defaultdict(list)
    for edge in followed:
        grouped[(edge.source, edge.target, edge.record)].append(edge)
    if not by_column:
        for e in _column_edges({k[2] for k in grouped}):
            if (e.source, e.target, e.record) in grouped:
                grouped[(e.source, e.target, e.record)].append(e)
    return {
        "root": {"dataset": dataset.id, "column": column or None},
        "direction": direction,
        "datasets": [
            {**dataset_ref(datasets[i]), "depth": depth_of[i]}
            for i in sorted(depth_of, key=lambda i: (depth_of[i], datasets[i].name))
        ],
        "columns": [
            {"dataset": node[0], "column": node[1] or None, "depth": hops_to}
            for node, hops_to in sorted(reached.items(), key=lambda item: (item[1], item[0]))
        ] if by_column else [],
        "pipelines": sorted((records[r] for r in {k[2] for k in grouped}), key=lambda p: p["name"]),
        "edges": [
            {
                "source": s, "target": t, "pipeline": records[r]["id"],
                "columns": [
                    {"source_column": sc, "target_column": tc or None, "how": how}
                    for tc, sc, how in sorted({(e.target_column, e.source_column, e.how) for e in group if e.source_column})
                ],
            }
            for (s, t, r), group in sorted(grouped.items())
        ],
    }


# --- impact analysis -------------------------------------------------------------------------------


def impact(*, user: Any, dataset: Dataset, column: str) -> dict[str, Any]:
    """What dropping `column` from `dataset` breaks, in the current lineage:

    - `columns`: every column made from it, downstream to any depth (a dropped input leaves them
      nothing to be computed from);
    - `pipelines`: every pipeline that uses the column or one of those (to compute a column, to
      decide rows, or in a source's declared schema): its job no longer compiles or reads;
    - `datasets`: what those pipelines write, which stops being refreshed.
    """
    records = _record_refs(user=user, workspace_id=dataset.workspace_id)
    _, downstream = _steps(_column_edges(records), column=True)
    reached, followed = _walk((dataset.id, column), downstream, None)
    affected = {node for node in reached if node[1]}
    uses: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for edge in sorted(followed, key=lambda e: (e.record, e.source, e.source_column, e.target, e.target_column)):
        uses[edge.record].append({"dataset": edge.source, "column": edge.source_column, "target": edge.target,
                                  "target_column": edge.target_column or None, "how": edge.how})
    read = LineageDataset.objects.filter(record_id__in=list(records), direction=Direction.INPUT,
                                         dataset_id__in={d for d, _ in affected})
    for record, dataset_id, schema in read.values_list("record_id", "dataset_id", "schema"):
        for name in {c["name"] for c in schema}:
            if (dataset_id, name) in affected and not any(
                u["dataset"] == dataset_id and u["column"] == name for u in uses[record]
            ):
                uses[record].append({"dataset": dataset_id, "column": name, "target": None,
                                     "target_column": None, "how": "read"})
    broken = {r for r, found in uses.items() if found}
    written = LineageDataset.objects.filter(record_id__in=broken, direction=Direction.OUTPUT).select_related("dataset")
    ids = {d for d, _ in affected} | {w.dataset_id for w in written}
    datasets = {d.id: d for d in Dataset.objects.filter(id__in=ids)}
    return {
        "dataset": dataset_ref(dataset),
        "column": column,
        "columns": [
            {"dataset": dataset_ref(datasets[d]), "column": c, "depth": reached[(d, c)]}
            for d, c in sorted(affected - {(dataset.id, column)}, key=lambda n: (reached[n], n))
        ],
        "pipelines": [
            {**records[r], "uses": uses[r]} for r in sorted(broken, key=lambda r: records[r]["name"])
        ],
        "datasets": [
            {**dataset_ref(w.dataset), "pipeline": records[w.record_id]["id"], "node": w.node}
            for w in sorted(written, key=lambda w: (w.dataset.name, w.node))
        ],
    }


# --- lineage of one version or run -----------------------------------------------------------------


def record_data(record: LineageRecord) -> dict[str, Any]:
    """A record as the API answers it: the datasets read and written, their edges and column edges."""
    uses = LineageDataset.objects.filter(record=record).select_related("dataset").order_by("direction", "node")
    return {
        "pipeline": record.pipeline_id,
        "version": record.version.number,
        "run": record.run_id,
        "parameters": record.parameters,
        "datasets": [
            {**dataset_ref(u.dataset), "node": u.node, "direction": u.direction, "rows": u.rows,
             "schema": u.schema, "quality_nodes": u.quality_nodes, "quarantine_of": u.quarantine_of}
            for u in uses
        ],
        "columns": [
            {"source": e.source_id, "source_column": e.source_column, "target": e.target_id,
             "target_column": e.target_column or None, "how": e.how}
            for e in ColumnEdge.objects.filter(record=record).order_by("target_id", "target_column", "source_id",
                                                                         "source_column", "how")
        ],
        "compiler": record.lineage,
    }


# --- quality ---------------------------------------------------------------------------------------


def _rule_counts(run_ids: Iterable[int]) -> dict[tuple[int, str, str], tuple[int, int, int]]:
    """(run, node, rule) -> (passed, failed, micro-batches), summed over a stream's micro-batches."""
    counts: dict[tuple[int, str, str], tuple[int, int, int]] = {}
    for q in RunQualityResult.objects.filter(run_id__in=list(run_ids)):
        passed, failed, batches = counts.get((q.run_id, q.node, q.rule), (0, 0, 0))
        counts[(q.run_id, q.node, q.rule)] = (passed + q.passed, failed + q.failed, batches + (q.batch is not None))
    return counts


def run_quality(*, run: Run) -> list[dict[str, Any]]:
    """Each transform.quality node of the run's version: its rules with their pass/fail counts, and
    the datasets its quarantined rows went to."""
    document = run.version.document if isinstance(run.version.document, dict) else {}
    counts = _rule_counts([run.id])
    record = LineageRecord.objects.filter(run=run).first() or LineageRecord.objects.filter(
        version=run.version, run__isnull=True).first()
    quarantine: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if record is not None:
        for use in LineageDataset.objects.filter(record=record, direction=Direction.OUTPUT).select_related("dataset"):
            for node in use.quarantine_of:
                quarantine[node].append({**dataset_ref(use.dataset), "node": use.node})
    found = []
    for node in document.get("nodes") or []:
        if not isinstance(node, dict) or node.get("type") != QUALITY:
            continue
        rules = (node.get("config") or {}).get("rules") or []
        found.append({
            "node": node.get("id"),
            "label": node.get("label") or None,
            "rules": [
                {"rule": rule.get("name"), "expression": rule.get("expression"), "on_fail": rule.get("on_fail"),
                 **dict(zip(("passed", "failed", "batches"), counts.get((run.id, node.get("id"), rule.get("name")),
                                                                       (None, None, 0))))}
                for rule in rules if isinstance(rule, dict)
            ],
            "quarantine": quarantine.get(node.get("id"), []),
        })
    return found


def dataset_quality_history(*, user: Any, dataset: Dataset, limit: int = 50) -> list[dict[str, Any]]:
    """The quality results of the runs that wrote the dataset, newest first: per run, the rules of
    the transform.quality nodes upstream of the sink that wrote it."""
    uses = [
        use for use in LineageDataset.objects.filter(
            dataset=dataset, direction=Direction.OUTPUT, record__run__isnull=False,
            record__in=LineageRecord.objects.restrict(user, "view"),
        ).select_related("record__run__pipeline").order_by("-record__run__created_at", "-record__run_id", "node")
        if use.quality_nodes
    ][:limit]
    counts = _rule_counts({use.record.run_id for use in uses})
    history = []
    for use in uses:
        run = use.record.run
        rules = [
            {"node": node, "rule": rule, "passed": passed, "failed": failed}
            for (run_id, node, rule), (passed, failed, _) in sorted(counts.items())
            if run_id == run.id and node in use.quality_nodes
        ]
        history.append({
            "run": run.id, "pipeline": run.pipeline_id, "pipeline_name": run.pipeline.name, "status": run.status,
            "created_at": run.created_at, "finished_at": run.finished_at, "node": use.node, "rows": use.rows,
            "rules": rules,
        })
    return history
