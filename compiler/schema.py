"""Schema inference: the output columns of every node port, and the checks that need them.

Each node type with inference has an `infer_<kind>` function. A node whose input schema is not
known (parquet without a schema, or an upstream type without inference yet) still gets its
expressions checked for syntax, supported functions and parameters; column checks are skipped with
a warning instead of reporting columns as missing. Nodes downstream of errors are skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from compiler.diagnostics import Diagnostics, did_you_mean, join_path, list_names, quote
from compiler.document import Node, Pipeline
from compiler.expressions import Analysed, analyse_expression, analyse_query, can_cast
from compiler.graph import NodeId, PipelineGraph
from compiler.nodes import ExpressionText, iter_leaves
from compiler.parameters import ParameterValue
from compiler.types import Field

__all__ = ["FAILED", "INFERRERS", "Inference", "Unknown"]


@dataclass(frozen=True)
class Unknown:
    """An output whose columns are not known at compile time, and why (for downstream warnings)."""

    origin: str
    reason: str


class _Failed:
    def __repr__(self) -> str:
        return "FAILED"


FAILED: Final = _Failed()
Outputs = dict[str, list[Field]]
Outcome = Outputs | Unknown | _Failed
Inputs = Mapping[str, list[list[Field] | None]]


@dataclass
class Inference:
    """Runs inference over the pipeline in topological order and keeps what back ends need."""

    pipeline: Pipeline
    graph: PipelineGraph
    parameters: Mapping[str, ParameterValue]
    diagnostics: Diagnostics
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    expressions: dict[str, Analysed] = field(default_factory=dict)

    def run(self, order: Sequence[NodeId], skipped: set[NodeId]) -> dict[str, Outputs]:
        nodes = {n.id: n for n in self.pipeline.nodes}
        for node_id in order:
            self.outcomes[node_id] = self._infer(nodes[node_id])
        for node_id in skipped:
            self.outcomes[node_id] = FAILED
        return {n.id: outcome for n in self.pipeline.nodes if isinstance(outcome := self.outcomes.get(n.id), dict)}

    def _infer(self, node: Node) -> Outcome:
        checks = NodeChecks(node, self)
        if node.spec is None or node.config is None:
            return FAILED
        inputs: dict[str, list[list[Field] | None]] = {}
        failed = False
        unknown: Unknown | None = None
        for connection in self.graph.inputs(NodeId(node.id)):
            upstream = self.outcomes.get(connection.source, FAILED)
            schema: list[Field] | None = None
            if isinstance(upstream, dict):
                schema = upstream.get(connection.source_port)
                if schema is None:
                    failed = True
            elif isinstance(upstream, Unknown):
                unknown = unknown or upstream
            else:
                failed = True
            inputs.setdefault(connection.target_port, []).append(schema)
        inferrer = INFERRERS.get(node.spec.type)
        if inferrer is None:
            _check_generic(checks, inputs)
            return FAILED if failed else Unknown(node.id, f"{node.spec.type} has no schema inference yet")
        if not failed:
            checks.unknown_input = unknown
        outcome = inferrer(checks, inputs)
        if failed or checks.failed or outcome is FAILED:
            return FAILED
        return unknown if unknown is not None else outcome


class NodeChecks:
    """Reporting helpers for one node: messages start with the node's id, expressions are stored."""

    def __init__(self, node: Node, inference: Inference) -> None:
        self.node = node
        self.inference = inference
        self.failed = False
        self.unknown_input: Unknown | None = None
        self.config: dict[str, object] = node.config or {}

    def path(self, *keys: str | int) -> str:
        path = self.node.config_path
        for key in keys:
            path = join_path(path, key)
        return path

    def error(self, path: str, message: str) -> None:
        self.failed = True
        self.inference.diagnostics.error(path, f"Node '{self.node.id}': {message}", self.node.id)

    def warning(self, path: str, message: str) -> None:
        self.inference.diagnostics.warning(path, f"Node '{self.node.id}': {message}", self.node.id)

    def columns_unchecked(self) -> None:
        """Say once that column references could not be checked because the input schema is unknown."""
        unknown = self.unknown_input
        if unknown is not None:
            self.unknown_input = None
            origin = f" (from '{unknown.origin}': {unknown.reason})"
            self.warning(self.node.path, f"the input schema is not known{origin}, so column names were not checked.")

    def expression(self, path: str, text: str, schema: Sequence[Field] | None, subject: str = "") -> Analysed | None:
        if schema is None:
            self.columns_unchecked()
        analysed, errors = analyse_expression(text, schema=schema, parameters=self.inference.parameters)
        for message in errors:
            self.error(path, subject + message)
        if analysed is not None and not errors:
            self.inference.expressions[path] = analysed
            return analysed
        return None

    def column(self, path: str, name: str, schema: Sequence[Field], what: str = "column") -> Field | None:
        """Look up a column by exact name; report it with a suggestion when missing."""
        for f in schema:
            if f.name == name:
                return f
        names = [f.name for f in schema]
        hint = did_you_mean(name, names)
        suggestion = f"; did you mean '{hint}'?" if hint else "."
        self.error(
            path, f"{what} {quote(name)} does not exist in the input{suggestion} Available: {list_names(names)}."
        )
        return None


def _single_input(inputs: Inputs, port: str = "in") -> list[Field] | None:
    schemas = inputs.get(port) or [None]
    return schemas[0]


def _check_generic(checks: NodeChecks, inputs: Inputs) -> None:
    """Node types without inference: check their expressions (against `in` when it is known)."""
    spec = checks.node.spec
    assert spec is not None
    schema = _single_input(inputs) if [p.name for p in spec.inputs] == ["in"] and not spec.inputs[0].many else None
    for leaf, value, path in iter_leaves(spec.config, checks.config, checks.node.config_path):
        if not isinstance(leaf, ExpressionText) or not isinstance(value, str):
            continue
        if leaf.query:
            tables = [c.source for c in checks.inference.graph.inputs(NodeId(checks.node.id))]
            for message in analyse_query(value, tables=tables, parameters=checks.inference.parameters):
                checks.error(path, message)
        else:
            checks.expression(path, value, schema)


def _unique_output(checks: NodeChecks, fields: list[Field], path: str) -> bool:
    """Spark resolves names ignoring case, so two output columns may not differ only in case."""
    seen: dict[str, str] = {}
    for f in fields:
        if f.name.lower() in seen:
            other = seen[f.name.lower()]
            same = "twice" if other == f.name else f"twice (as '{other}' and '{f.name}'; Spark ignores case)"
            checks.error(path, f"the output would have column '{f.name}' {same}; rename one of them.")
            return False
        seen[f.name.lower()] = f.name
    return True


# ---------------------------------------------------------------------------------------------
# Inferrers, one per node type with inference.


def infer_source_file(checks: NodeChecks, inputs: Inputs) -> Outcome:
    config = checks.config
    raw_options = checks.node.raw_config.get("options")
    if config["format"] != "csv" and isinstance(raw_options, dict) and raw_options:
        checks.warning(
            checks.path("options"), f"options apply only to csv files; they are ignored for {config['format']}."
        )
    schema = config.get("schema")
    if schema is None:
        checks.warning(
            checks.path("schema"),
            "the columns of parquet files are not known until the files are read; add a 'schema' to check "
            "the columns used downstream.",
        )
        return Unknown(checks.node.id, "parquet files without a schema")
    assert isinstance(schema, list)
    return {"out": [Field(str(c["name"]), str(c["type"]), bool(c["nullable"])) for c in schema]}


def infer_filter(checks: NodeChecks, inputs: Inputs) -> Outcome:
    schema = _single_input(inputs)
    path = checks.path("condition")
    analysed = checks.expression(path, str(checks.config["condition"]), schema)
    if analysed is None or schema is None:
        return FAILED if analysed is None else Unknown(checks.node.id, "")
    if analysed.type not in ("boolean", "null"):
        checks.error(
            path,
            f"the condition must be true or false for each row, but it gives {analysed.type}; "
            "compare it with something, e.g. amount > 100.",
        )
        return FAILED
    return {"out": list(schema)}


def infer_select(checks: NodeChecks, inputs: Inputs) -> Outcome:
    schema = _single_input(inputs)
    if schema is None:
        checks.columns_unchecked()
        return Unknown(checks.node.id, "")
    columns = checks.config["columns"]
    assert isinstance(columns, list)
    fields: list[Field] = []
    for i, entry in enumerate(columns):
        source = checks.column(checks.path("columns", i, "name"), entry["name"], schema)
        if source is None:
            continue
        target_type = entry.get("type") or source.type
        if not can_cast(source.type, target_type):
            checks.error(
                checks.path("columns", i, "type"),
                f"column '{source.name}' is {source.type} and cannot be cast to {target_type}.",
            )
            continue
        nullable = source.nullable or (source.type == "string" and target_type != "string")
        fields.append(Field(entry.get("alias") or source.name, target_type, nullable))
    if checks.failed or not _unique_output(checks, fields, checks.path("columns")):
        return FAILED
    return {"out": fields}


def infer_derive(checks: NodeChecks, inputs: Inputs) -> Outcome:
    schema = _single_input(inputs)
    columns = checks.config["columns"]
    assert isinstance(columns, list)
    current = list(schema) if schema is not None else None
    for i, entry in enumerate(columns):
        name = str(entry["name"])
        path = checks.path("columns", i, "expression")
        analysed = checks.expression(path, str(entry["expression"]), current, subject=f"in '{name}', ")
        if analysed is None:
            # Later entries may use this one; check them without columns rather than report it missing.
            current = None
        if analysed is None or current is None:
            continue
        if analysed.type == "null":
            checks.error(
                path, f"'{name}' is always NULL without a type; write CAST(NULL AS <type>), e.g. CAST(NULL AS string)."
            )
            continue
        assert analysed.type is not None
        derived = Field(name, analysed.type, analysed.nullable)
        clash = next((k for k, f in enumerate(current) if f.name.lower() == name.lower()), None)
        if clash is None:
            current.append(derived)
        elif current[clash].name == name:
            current[clash] = derived
        else:
            checks.error(
                checks.path("columns", i, "name"),
                f"'{name}' differs only in case from the existing column '{current[clash].name}'; write "
                f"'{current[clash].name}' to replace it, or choose another name.",
            )
    if checks.failed:
        return FAILED
    return Unknown(checks.node.id, "") if current is None else {"out": current}


def infer_sink_file(checks: NodeChecks, inputs: Inputs) -> Outcome:
    schema = _single_input(inputs)
    partition_by = checks.config.get("partition_by") or []
    assert isinstance(partition_by, list)
    if schema is None:
        if partition_by:
            checks.columns_unchecked()
        return {}
    for i, name in enumerate(partition_by):
        checks.column(checks.path("partition_by", i), name, schema)
    if partition_by and len(set(partition_by)) >= len(schema) and not checks.failed:
        checks.error(
            checks.path("partition_by"),
            "every column is a partition column, so the files would hold no data; partition by fewer columns.",
        )
    if checks.config["format"] == "csv":
        for f in schema:
            if f.type == "binary":
                checks.error(
                    checks.path("format"),
                    f"csv files cannot hold the binary column '{f.name}'; write parquet or "
                    "leave the column out with transform.select.",
                )
    return {}


INFERRERS: Mapping[str, Callable[[NodeChecks, Inputs], Outcome]] = {
    "source.file": infer_source_file,
    "transform.filter": infer_filter,
    "transform.select": infer_select,
    "transform.derive": infer_derive,
    "sink.file": infer_sink_file,
}
