"""A streaming deployment's state: where its checkpoints live, what a new run restores from, and
whether a new pipeline version can start from the state an older one left.

Pure Python (no Django): the runner plans each run of a deployment with it, and the studio checks
an upgrade with it before anything is stopped.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "STATEFUL_TYPES", "Compatibility", "StatePlan", "compatibility", "fresh_state_problems", "newest_flink_state",
    "state_plan",
]

# Node types whose output depends on rows of earlier micro-batches: the engines keep their state
# in the checkpoint, keyed by the plan. transform.sql may aggregate or join, so it counts as one.
STATEFUL_TYPES = frozenset({
    "transform.aggregate", "transform.window_aggregate", "transform.deduplicate", "transform.join",
    "transform.sql", "transform.sort", "transform.limit",
})


@dataclass(frozen=True)
class StatePlan:
    """Where one run of a deployment keeps its state, and the Flink state it starts from (None:
    fresh, or for Spark, whatever its checkpoint folders hold)."""

    checkpoints: Path
    savepoints: Path
    restore_from: str | None = None


def newest_flink_state(folder: Path) -> str | None:
    """The newest complete Flink checkpoint or savepoint under `folder` (one with a `_metadata`
    file: an unfinished one has none), as a path Flink can restore from."""
    found = [meta for meta in folder.glob("**/_metadata") if meta.is_file()]
    if not found:
        return None
    return str(max(found, key=lambda meta: meta.stat().st_mtime_ns).parent)


def state_plan(base: Path, *, engine: str) -> StatePlan:
    """The plan for a run whose deployment keeps its state in `base` (created if missing)."""
    plan = StatePlan(checkpoints=base / "checkpoints", savepoints=base / "savepoints")
    plan.checkpoints.mkdir(parents=True, exist_ok=True)
    plan.savepoints.mkdir(parents=True, exist_ok=True)
    if engine == "flink":
        return StatePlan(plan.checkpoints, plan.savepoints, newest_flink_state(base))
    return plan  # Spark finds its checkpoint in each sink's folder by itself


@dataclass(frozen=True)
class Compatibility:
    """Whether the state of `old` can serve `new`: `problems` say why not (empty: it can), `notes`
    say what changes all the same (a new sink starts with no state of its own)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        return not self.problems


def _nodes(document: Any) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in (document or {}).get("nodes", []) if isinstance(n, dict) and "id" in n}


def _inputs(document: Any) -> dict[str, list[tuple[str, str, str]]]:
    """For each node, its inputs as sorted (from node, from port, to port)."""
    inputs: dict[str, list[tuple[str, str, str]]] = {}
    for edge in (document or {}).get("edges", []):
        try:
            key = (str(edge["from"]["node"]), str(edge["from"].get("port", "out")), str(edge["to"].get("port", "in")))
            inputs.setdefault(str(edge["to"]["node"]), []).append(key)
        except (KeyError, TypeError, AttributeError):
            continue
    return {node: sorted(found) for node, found in inputs.items()}


def _ancestors(node: str, inputs: dict[str, list[tuple[str, str, str]]]) -> set[str]:
    seen: set[str] = set()
    stack = [node]
    while stack:
        for source, _, _ in inputs.get(stack.pop(), []):
            if source not in seen:
                seen.add(source)
                stack.append(source)
    return seen


def _shape(node: dict[str, Any], inputs: list[tuple[str, str, str]]) -> str:
    """What of a node the state depends on: its type, its config and where its rows come from
    (not its label or its position on the canvas)."""
    return json.dumps({"type": node.get("type"), "config": node.get("config"), "inputs": inputs}, sort_keys=True)


def _kind(node: dict[str, Any]) -> str:
    return str(node.get("type", "")).split(".", 1)[0]


def compatibility(old: Any, new: Any) -> Compatibility:
    """Compare two versions of a streaming pipeline, conservatively: the state serves the new one
    when every source is unchanged, and every stateful node (and everything upstream of it) is
    unchanged. Filters, projections, quality rules and sinks downstream of the state may change."""
    old_nodes, new_nodes = _nodes(old), _nodes(new)
    old_inputs, new_inputs = _inputs(old), _inputs(new)
    problems: list[str] = []
    notes: list[str] = []

    def same(node_id: str) -> bool:
        return _shape(old_nodes[node_id], old_inputs.get(node_id, [])) == _shape(
            new_nodes[node_id], new_inputs.get(node_id, []))

    old_sources = {n for n, node in old_nodes.items() if _kind(node) == "source"}
    new_sources = {n for n, node in new_nodes.items() if _kind(node) == "source"}
    for node_id in sorted(new_sources - old_sources):
        problems.append(f"Source '{node_id}' is new: the checkpoint tracks the sources it was written with.")
    for node_id in sorted(old_sources - new_sources):
        problems.append(f"Source '{node_id}' was removed: the checkpoint tracks the sources it was written with.")
    for node_id in sorted(old_sources & new_sources):
        if not same(node_id):
            problems.append(f"Source '{node_id}' changed: the checkpoint holds positions in what it used to read.")

    stateful = {n for nodes in (old_nodes, new_nodes) for n, node in nodes.items()
                if node.get("type") in STATEFUL_TYPES}
    for node_id in sorted(stateful):
        if node_id not in old_nodes or node_id not in new_nodes:
            what = "is new" if node_id not in old_nodes else "was removed"
            problems.append(f"Stateful node '{node_id}' {what}: its state would not match the checkpoint.")
            continue
        changed = sorted(a for a in _ancestors(node_id, new_inputs) | {node_id}
                         if a not in old_nodes or a not in new_nodes or not same(a))
        if changed:
            problems.append(
                f"Stateful node '{node_id}' ({new_nodes[node_id].get('type')}) or what feeds it changed "
                f"({', '.join(repr(c) for c in changed)}): its state in the checkpoint would not match."
            )
    for node_id in sorted(n for n, node in new_nodes.items() if _kind(node) == "sink" and n not in old_nodes):
        notes.append(f"Sink '{node_id}' is new: it starts with no checkpoint of its own and reads its input "
                     "from where its sources start.")
    return Compatibility(problems=problems, notes=notes)


def fresh_state_problems(document: Any, *, engine: str, data_dir: Path) -> list[str]:
    """Why a Spark stream cannot start with fresh state: its file sink keeps a log of the batches
    it committed (`_spark_metadata`) in its output folder, and a query with fresh state numbers its
    batches from 0 again, so the sink would skip them as already written. Paths with parameters
    or a scheme are not checked."""
    if engine != "spark":
        return []
    problems = []
    for node_id, node in _nodes(document).items():
        path = str((node.get("config") or {}).get("path", "")) if node.get("type") == "sink.file" else ""
        if not path or "${" in path or "://" in path:
            continue
        if (data_dir / path / "_spark_metadata").is_dir():
            problems.append(
                f"Sink '{node_id}' writes to {path}, which holds the log of batches an earlier stream wrote there "
                "(_spark_metadata): starting with fresh state, its first batches would be skipped as already "
                "written. Give the sink a new path, or remove that folder."
            )
    return problems
