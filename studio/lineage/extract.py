"""From a document and the compiler's validation result to dataset uses and column flows.

The compiler gives, per written dataset, each column's source columns (`datasets.outputs[].columns`)
and, per node, the columns that decide which rows pass (`rows`). This module adds what needs the
graph: which read datasets reach which written ones, the row-deciding columns upstream of each sink
traced back to the read datasets, and the transform.quality nodes upstream of each sink (whose
`rejected` port may feed it). Pure Python; datasets are still the compiler's references here
(`file:<path>`, ...).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from compiler import ValidationResult

__all__ = ["ColumnFlow", "DatasetUse", "Extracted", "extract"]

QUALITY = "transform.quality"


@dataclass(frozen=True)
class DatasetUse:
    node: str
    reference: str
    direction: str  # input | output
    node_type: str
    config: Mapping[str, Any]
    schema: list[Any] | None  # the columns read (a source's output) or written (a sink's input)
    quality_nodes: tuple[str, ...] = ()
    quarantine_of: tuple[str, ...] = ()


@dataclass(frozen=True, order=True)
class ColumnFlow:
    source: str
    source_column: str
    target: str
    target_column: str  # "" for a row-level dependency
    how: str


@dataclass
class Extracted:
    uses: list[DatasetUse] = field(default_factory=list)
    dataset_edges: set[tuple[str, str]] = field(default_factory=set)
    columns: set[ColumnFlow] = field(default_factory=set)


def _nodes(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    nodes = document.get("nodes") if isinstance(document, Mapping) else None
    return {n["id"]: n for n in nodes or [] if isinstance(n, Mapping) and isinstance(n.get("id"), str)}


def _inbound(document: Mapping[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """node -> [(upstream node, upstream port)] from the document's edges."""
    inbound: dict[str, list[tuple[str, str]]] = {}
    for edge in document.get("edges") or []:
        try:
            source, target = edge["from"], edge["to"]
            inbound.setdefault(str(target["node"]), []).append((str(source["node"]), str(source.get("port", "out"))))
        except (KeyError, TypeError):
            continue
    return inbound


def _upstream(node: str, inbound: Mapping[str, list[tuple[str, str]]]) -> set[tuple[str, str]]:
    """Every (node, port) whose rows can reach `node`."""
    seen: set[tuple[str, str]] = set()
    stack = list(inbound.get(node, []))
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(inbound.get(current[0], []))
    return seen


def extract(document: Any, result: ValidationResult) -> Extracted:
    lineage = result.lineage
    extracted = Extracted()
    if lineage is None or not isinstance(document, Mapping):
        return extracted
    nodes = _nodes(document)
    inbound = _inbound(document)
    inputs = {ref.node: ref.dataset for ref in lineage.inputs}

    for ref in lineage.inputs:
        node = nodes.get(ref.node, {})
        schema = result.schemas.get(ref.node, {}).get("out")
        extracted.uses.append(DatasetUse(ref.node, ref.dataset, "input", str(node.get("type", "")),
                                         node.get("config") or {}, schema))

    for ref in lineage.outputs:
        node = nodes.get(ref.node, {})
        upstream = _upstream(ref.node, inbound)
        upstream_nodes = {n for n, _ in upstream}
        feeding = inbound.get(ref.node, [])
        schema = result.schemas.get(feeding[0][0], {}).get(feeding[0][1]) if len(feeding) == 1 else None
        quality = tuple(sorted(n for n in upstream_nodes if nodes.get(n, {}).get("type") == QUALITY))
        quarantine = tuple(sorted(n for n, port in upstream if port == "rejected" and n in quality))
        extracted.uses.append(DatasetUse(ref.node, ref.dataset, "output", str(node.get("type", "")),
                                         node.get("config") or {}, schema, quality, quarantine))
        for source_node in sorted(upstream_nodes & inputs.keys()):
            extracted.dataset_edges.add((inputs[source_node], ref.dataset))
        for column, sources in (ref.columns or {}).items():
            for source, source_column, how in sources:
                extracted.columns.add(ColumnFlow(source, source_column, ref.dataset, column, how))
        # Row-deciding columns of the sink and of every node upstream, traced to the read datasets.
        for at in sorted(upstream_nodes | {ref.node}):
            for dep in lineage.rows.get(at, []):
                for origin, column, _ in lineage.trace(dep.node, dep.port, dep.column):
                    if origin in inputs:
                        extracted.columns.add(ColumnFlow(inputs[origin], column, ref.dataset, "", dep.how))
    return extracted
