"""The columns each node port of a Flink batch job must carry, worked out from the sinks back.

Why the compiler prunes when Flink's planner also does: a statement set is optimised in blocks cut
at every view with more than one consumer, and every counted view has two (the next node and its
row count). No projection is pushed through a block boundary, so without this every source view
would parse and convert every column of its files, used or not (bench/flink_generated_vs_sql.py
measured 2.4x the time of hand-written Flink SQL). With it, source and join views carry only the
columns something downstream reads, and the planner pushes that projection into the file scan.

Pruning is exact only where a consumer's needs are known column by column (filter, derive,
aggregate, deduplicate, limit, join); every other consumer (sinks, select, union, quality, SQL,
window aggregation, anything after a sort) needs all columns of its input, and so does everything
in a streaming job (event-time columns and watermarks travel with the rows there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from compiler.diagnostics import join_path
from compiler.document import Node
from compiler.graph import NodeId

__all__ = ["Needed", "needed_columns"]

# (node, port) -> the lower-cased names its consumers read; None: all of them.
Needed = dict[tuple[str, str], frozenset[str] | None]


def needed_columns(analysis: object) -> Needed:
    """For every (node, port) that feeds something: the columns its consumers read (None: all)."""
    graph = analysis.graph  # type: ignore[attr-defined]
    order: list[NodeId] = list(analysis.order)  # type: ignore[attr-defined]
    nodes: dict[str, Node] = {node_id: analysis.node(node_id) for node_id in order}  # type: ignore[attr-defined]
    after_sort: set[str] = set()
    for node_id in order:
        if any(nodes[c.source].type == "transform.sort" or c.source in after_sort for c in graph.inputs(node_id)):
            after_sort.add(node_id)
    needed: Needed = {}
    for node_id in reversed(order):
        node = nodes[node_id]
        outputs = {port: needed.get((node_id, port), frozenset()) for port in ("out", "rejected")}
        for connection in graph.inputs(node_id):
            wanted = None if node_id in after_sort else _reads(analysis, node, connection.target_port, outputs)
            key = (connection.source, connection.source_port)
            previous = needed.get(key, frozenset())
            needed[key] = None if wanted is None or previous is None else previous | wanted
    return needed


def _reads(analysis: object, node: Node, port: str, outputs: Mapping[str, frozenset[str] | None]) -> frozenset[str] | None:
    """The input columns `node` reads on `port` when its consumers read `outputs` (None: all)."""
    config = node.config or {}
    out = outputs["out"]

    def plus(*extra: Iterable[str]) -> frozenset[str] | None:
        return None if out is None else out | _lower(c for names in extra for c in names)

    if node.type == "transform.filter":
        return plus(_expression_columns(analysis, node, "condition"))
    if node.type == "transform.limit":
        return out
    if node.type == "transform.derive":
        entries = list(config["columns"])
        defined = _lower(str(e["name"]) for e in entries)
        used = [c for i in range(len(entries)) for c in _expression_columns(analysis, node, "columns", i, "expression")]
        return None if out is None else (out - defined) | _lower(used)
    if node.type == "transform.aggregate":
        measured = [str(a["column"]) for a in config["aggregations"] if a.get("column")]
        return _lower([*map(str, config["group_by"]), *measured])
    if node.type == "transform.deduplicate":
        order_by = config.get("order_by")
        ordered = [str(order_by["column"])] if isinstance(order_by, dict) else []
        return plus(map(str, config["keys"]), ordered)
    if node.type == "transform.join":
        return _join_reads(analysis, node, port, out)
    return None


def _join_reads(analysis: object, node: Node, port: str, out: frozenset[str] | None) -> frozenset[str] | None:
    config = node.config or {}
    if out is None or config.get("condition"):
        return None  # an extra condition may read any column of either side
    keys = _lower(str(pair[port]) for pair in config["on"])
    if config["how"] in ("semi", "anti"):
        return keys | out if port == "left" else keys  # the output is the left input's columns
    layout = analysis.joins[node.id]  # type: ignore[attr-defined]
    read = {name.lower() for name, _, _ in layout} & out
    # A view needs a column: when nothing downstream reads one (a count), the join keeps its first.
    read = read or {layout[0][0].lower()}
    taken = _lower(column for name, side, column in layout if name.lower() in read and side in (port, "key"))
    return keys | taken


def _expression_columns(analysis: object, node: Node, *keys: str | int) -> tuple[str, ...]:
    path = node.config_path
    for key in keys:
        path = join_path(path, key)
    return analysis.expressions[path].columns  # type: ignore[attr-defined]


def _lower(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.lower() for name in names)
