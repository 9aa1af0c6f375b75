"""Schema and lineage inference: the output columns of every node port, where each column comes
from, and the checks that need the input columns.

Each node type has an `infer_<kind>` function that reads the node's inputs (`Input`: upstream
node and port, columns, whether it is a stream, its watermark column) and returns the columns of
each output port, recording lineage on the way. A node whose input columns are not known (parquet
or Iceberg without a schema) still gets its expressions checked for syntax, supported functions
and parameters; column checks are skipped with a warning instead of reporting columns as missing.
Nodes downstream of errors are skipped silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from sqlglot import exp

from compiler.diagnostics import Diagnostics, did_you_mean, join_path, list_names, quote
from compiler.document import Node, Pipeline
from compiler.footers import parquet_columns
from compiler.expressions import (
    Analysed,
    aggregate_result,
    analyse_condition,
    analyse_expression,
    can_cast,
    common_type,
)
from compiler.graph import NodeId, PipelineGraph
from compiler.lineage import Dependency, Lineage, strongest
from compiler.nodes import INTERVAL
from compiler.parameters import ParameterValue
from compiler.sql import Query, analyse_sql
from compiler.types import ARRAY_OF_STRING, COLUMN_NAME, Field

__all__ = [
    "FAILED",
    "FAILED_RULES",
    "INFERRERS",
    "Inference",
    "Input",
    "Unknown",
    "interval_seconds",
    "message_parts",
]

FAILED_RULES = "_failed_rules"
WINDOW_COLUMNS = ("window_start", "window_end")


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


@dataclass(frozen=True)
class Input:
    """One edge into a node: the upstream node and port, its columns (None when not known),
    whether it is a stream, and the column its watermark is defined on (if any)."""

    node: str
    port: str
    schema: list[Field] | None
    streaming: bool = False
    watermark: str | None = None


Inputs = Mapping[str, list[Input]]


@dataclass
class Inference:
    """Runs inference over the pipeline in topological order and keeps what back ends need."""

    pipeline: Pipeline
    graph: PipelineGraph
    parameters: Mapping[str, ParameterValue]
    diagnostics: Diagnostics
    texts: Mapping[str, str] = field(default_factory=dict)  # path, topic and table values, parameters substituted
    data_dir: str | None = None  # where relative paths resolve, to read parquet footers; None: do not read
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    expressions: dict[str, Analysed] = field(default_factory=dict)
    queries: dict[str, Query] = field(default_factory=dict)
    lineage: Lineage = field(default_factory=Lineage)
    streaming: dict[str, bool] = field(default_factory=dict)
    watermarks: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # transform.join: each output column as (name, side, input column); side "key" for a key with the
    # same name on both sides (one column, like SQL USING).
    joins: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    def run(self, order: Sequence[NodeId], skipped: set[NodeId]) -> dict[str, Outputs]:
        nodes = {n.id: n for n in self.pipeline.nodes}
        for node_id in order:
            self.outcomes[node_id] = self._infer(nodes[node_id])
        for node_id in skipped:
            self.outcomes[node_id] = FAILED
        return {n.id: outcome for n in self.pipeline.nodes if isinstance(outcome := self.outcomes.get(n.id), dict)}

    def is_streaming_source(self, node: Node) -> bool:
        raw = node.config if node.config is not None else node.raw_config
        streaming = raw.get("streaming") if isinstance(raw, dict) else None
        if streaming is None and node.type == "source.kafka":
            return self.pipeline.mode == "streaming"
        return streaming is True

    def _infer(self, node: Node) -> Outcome:
        connections = self.graph.inputs(NodeId(node.id))
        if node.spec is not None and node.spec.kind == "source":
            self.streaming[node.id] = self.is_streaming_source(node)
        else:
            self.streaming[node.id] = any(self.streaming.get(c.source, False) for c in connections)
        checks = NodeChecks(node, self)
        if node.spec is None or node.config is None:
            return FAILED
        inputs: dict[str, list[Input]] = {}
        failed = False
        unknown: Unknown | None = None
        for connection in connections:
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
            inputs.setdefault(connection.target_port, []).append(
                Input(
                    connection.source,
                    connection.source_port,
                    schema,
                    self.streaming.get(connection.source, False),
                    self.watermarks.get((connection.source, connection.source_port)),
                )
            )
        if any(port.name not in inputs for port in node.spec.inputs):
            return FAILED  # an unconnected input, reported with the graph
        if not failed:
            checks.unknown_input = unknown
        outcome = INFERRERS[node.spec.type](checks, inputs)
        if failed or checks.failed or outcome is FAILED:
            return FAILED
        result = unknown if unknown is not None else outcome
        if isinstance(result, dict):
            self._record_lineage(node.id, result, checks)
            for port, fields in result.items():
                self.watermarks[(node.id, port)] = _watermark(node, inputs, fields)
        return result

    def _record_lineage(self, node_id: str, outputs: Outputs, checks: NodeChecks) -> None:
        ports: dict[str, dict[str, list[Dependency]]] = {}
        for port, fields in outputs.items():
            recorded = checks.lineage.get(port, {})
            ports[port] = {f.name: sorted(set(recorded.get(f.name, []))) for f in fields}
        if ports:
            self.lineage.columns[node_id] = ports
        if checks.rows:
            self.lineage.rows[node_id] = sorted(set(checks.rows))


def _watermark(node: Node, inputs: Inputs, fields: list[Field]) -> str | None:
    """The column a watermark is defined on after this node, if it is still there.

    Watermarks start at a source (source.kafka's event_time) and pass through nodes that keep the
    column; aggregations end them (their results are written once their window closes)."""
    names = {f.name for f in fields}
    kind = node.type
    config = node.config or {}
    if kind == "source.kafka":
        return str(config["event_time"]) if config.get("watermark") and config.get("event_time") else None
    if kind in ("transform.aggregate", "transform.window_aggregate", "transform.sql") or node.spec is None:
        return None
    upstream = [i.watermark for port in inputs.values() for i in port]
    if kind == "transform.union":
        return upstream[0] if upstream and all(w == upstream[0] for w in upstream) and upstream[0] in names else None
    if kind == "transform.select":
        column = next(iter(upstream), None)
        for entry in config.get("columns") or []:  # type: ignore[attr-defined]
            if entry["name"] == column and not entry.get("type"):
                return str(entry.get("alias") or column)
        return None
    if kind == "transform.derive":
        replaced = {str(entry["name"]) for entry in config.get("columns") or []}  # type: ignore[attr-defined]
        column = next(iter(upstream), None)
        return column if column not in replaced else None
    for column in upstream:
        if column is not None and column in names:
            return column
    return None


class NodeChecks:
    """Reporting helpers for one node: messages start with the node's id, expressions are stored,
    lineage is collected."""

    def __init__(self, node: Node, inference: Inference) -> None:
        self.node = node
        self.inference = inference
        self.failed = False
        self.unknown_input: Unknown | None = None
        self.config: dict[str, object] = node.config or {}
        self.lineage: dict[str, dict[str, list[Dependency]]] = {}
        self.rows: list[Dependency] = []

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

    def condition(self, path: str, text: str, schema: Sequence[Field] | None, what: str = "the condition") -> Analysed | None:
        """A true/false expression (filter and alert conditions, quality rules)."""
        analysed = self.expression(path, text, schema)
        if analysed is None or analysed.type is None:
            return analysed
        if analysed.type not in ("boolean", "null"):
            self.error(
                path,
                f"{what} must be true or false for each row, but it gives {analysed.type}; "
                "compare it with something, e.g. amount > 100.",
            )
            return None
        return analysed

    def column(
        self, path: str, name: str, schema: Sequence[Field], what: str = "column", where: str = "the input"
    ) -> Field | None:
        """Look up a column by exact name; report it with a suggestion when missing."""
        for f in schema:
            if f.name == name:
                return f
        names = [f.name for f in schema]
        hint = did_you_mean(name, names)
        suggestion = f"; did you mean '{hint}'?" if hint else "."
        self.error(path, f"{what} {quote(name)} does not exist in {where}{suggestion} Available: {list_names(names)}.")
        return None

    # Lineage ------------------------------------------------------------------------------
    def link(self, port: str, column: str, deps: Iterable[Dependency]) -> None:
        self.lineage.setdefault(port, {}).setdefault(column, []).extend(deps)

    def identity(self, port: str, source: Input, fields: Iterable[Field]) -> None:
        for f in fields:
            self.link(port, f.name, [Dependency(source.node, source.port, f.name, "identity")])

    def affects_rows(self, source: Input, columns: Iterable[str], how: str = "filter") -> None:
        self.rows.extend(Dependency(source.node, source.port, c, how) for c in columns)


def _single_input(inputs: Inputs, port: str = "in") -> Input:
    return inputs[port][0]


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


def _schema_fields(schema: object) -> list[Field]:
    assert isinstance(schema, list)
    return [Field(str(c["name"]), str(c["type"]), bool(c["nullable"])) for c in schema]


def interval_seconds(text: str) -> float:
    """'10 seconds' -> 10.0 (intervals are checked and normalised by nodes.Interval)."""
    match = INTERVAL.fullmatch(text)
    assert match is not None
    factor = {"millisecond": 0.001, "second": 1, "minute": 60, "hour": 3600, "day": 86400}[match.group(2).lower()]
    return int(match.group(1)) * factor


# ---------------------------------------------------------------------------------------------
# Sources


def infer_source_file(checks: NodeChecks, inputs: Inputs) -> Outcome:
    config = checks.config
    raw_options = checks.node.raw_config.get("options")
    if config["format"] != "csv" and isinstance(raw_options, dict) and raw_options:
        checks.warning(
            checks.path("options"), f"options apply only to csv files; they are ignored for {config['format']}."
        )
    path = str(config["path"])
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if config["streaming"] and "." in last and not any(ch in last for ch in "*?[{"):
        checks.warning(
            checks.path("path"),
            f"a streaming source watches a folder for new files, but {quote(path)} looks like one file; give the "
            "folder or a glob such as 'landing/*.csv'.",
        )
    schema = config.get("schema")
    text = checks.inference.texts.get(checks.path("path"))
    footer = parquet_columns(text, checks.inference.data_dir) if schema is None and text is not None else None
    if schema is None and footer is None:
        checks.warning(
            checks.path("schema"),
            "the columns of parquet files are not known until the files are read; add a 'schema' to check "
            "the columns used downstream.",
        )
        return Unknown(checks.node.id, "parquet files without a schema")
    fields = footer if footer is not None else _schema_fields(schema)
    for f in fields:
        checks.link("out", f.name, [])
    return {"out": fields}


def infer_source_kafka(checks: NodeChecks, inputs: Inputs) -> Outcome:
    fields = _schema_fields(checks.config["schema"])
    if checks.config["format"] == "debezium-json":
        for extra in ("_op", "_ts"):
            if any(f.name.lower() == extra for f in fields):
                checks.error(
                    checks.path("schema"),
                    f"debezium-json adds the column '{extra}' to each row; rename the schema's '{extra}' column.",
                )
        fields += [Field("_op", "string", False), Field("_ts", "timestamp", True)]
    event_time = checks.config.get("event_time")
    if isinstance(event_time, str):
        found = checks.column(checks.path("event_time"), event_time, fields, what="event_time column", where="the schema")
        if found is not None and found.type != "timestamp":
            checks.error(
                checks.path("event_time"),
                f"the event_time column '{event_time}' is {found.type}; it must be a timestamp column.",
            )
    if checks.failed:
        return FAILED
    for f in fields:
        checks.link("out", f.name, [])
    return {"out": fields}


def infer_source_iceberg(checks: NodeChecks, inputs: Inputs) -> Outcome:
    checks.warning(
        checks.node.path,
        "the columns of an Iceberg table are read from its catalog when the job runs, so the columns used "
        "downstream are not checked now.",
    )
    return Unknown(checks.node.id, "an Iceberg table's columns are known only when the job runs")


# ---------------------------------------------------------------------------------------------
# Row-by-row transforms


def infer_filter(checks: NodeChecks, inputs: Inputs) -> Outcome:
    source = _single_input(inputs)
    analysed = checks.condition(checks.path("condition"), str(checks.config["condition"]), source.schema)
    if analysed is None:
        return FAILED
    if source.schema is None:
        return Unknown(checks.node.id, "")
    checks.identity("out", source, source.schema)
    checks.affects_rows(source, analysed.columns)
    return {"out": list(source.schema)}


def infer_select(checks: NodeChecks, inputs: Inputs) -> Outcome:
    source = _single_input(inputs)
    schema = source.schema
    if schema is None:
        checks.columns_unchecked()
        return Unknown(checks.node.id, "")
    columns = checks.config["columns"]
    assert isinstance(columns, list)
    fields: list[Field] = []
    for i, entry in enumerate(columns):
        found = checks.column(checks.path("columns", i, "name"), entry["name"], schema)
        if found is None:
            continue
        target_type = entry.get("type") or found.type
        if not can_cast(found.type, target_type):
            checks.error(
                checks.path("columns", i, "type"),
                f"column '{found.name}' is {found.type} and cannot be cast to {target_type}.",
            )
            continue
        nullable = found.nullable or (found.type == "string" and target_type != "string")
        name = entry.get("alias") or found.name
        fields.append(Field(name, target_type, nullable))
        how = "identity" if target_type == found.type else "expression"
        checks.link("out", name, [Dependency(source.node, source.port, found.name, how)])
    if checks.failed or not _unique_output(checks, fields, checks.path("columns")):
        return FAILED
    return {"out": fields}


def _expression_deps(analysed: Analysed, known: Mapping[str, list[Dependency]]) -> list[Dependency]:
    """What an expression's value is made from, given what each column it reads is made from."""
    bare = isinstance(analysed.tree, exp.Column)
    deps: list[Dependency] = []
    for column in analysed.columns:
        for dep in known.get(column, []):
            deps.append(Dependency(dep.node, dep.port, dep.column, dep.how if bare else strongest([dep.how, "expression"])))
    return deps


def infer_derive(checks: NodeChecks, inputs: Inputs) -> Outcome:
    source = _single_input(inputs)
    columns = checks.config["columns"]
    assert isinstance(columns, list)
    current = list(source.schema) if source.schema is not None else None
    known = {f.name: [Dependency(source.node, source.port, f.name, "identity")] for f in current or []}
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
            continue
        known[name] = _expression_deps(analysed, known)
    if checks.failed:
        return FAILED
    if current is None:
        return Unknown(checks.node.id, "")
    for f in current:
        checks.link("out", f.name, known[f.name])
    return {"out": current}


def infer_quality(checks: NodeChecks, inputs: Inputs) -> Outcome:
    source = _single_input(inputs)
    rules = checks.config["rules"]
    assert isinstance(rules, list)
    read: list[str] = []
    deciding: list[str] = []
    for i, rule in enumerate(rules):
        path = checks.path("rules", i, "expression")
        analysed = checks.condition(path, str(rule["expression"]), source.schema, what=f"rule '{rule['name']}'")
        if analysed is not None:
            read.extend(analysed.columns)
            if rule["on_fail"] != "warn":
                deciding.extend(analysed.columns)
    if checks.failed:
        return FAILED
    if source.schema is None:
        return Unknown(checks.node.id, "")
    if any(f.name.lower() == FAILED_RULES for f in source.schema):
        checks.error(
            checks.node.path,
            f"the input already has a column '{FAILED_RULES}', which the 'rejected' output adds; rename it upstream.",
        )
        return FAILED
    for port in ("out", "rejected"):
        checks.identity(port, source, source.schema)
    checks.link(
        "rejected",
        FAILED_RULES,
        [Dependency(source.node, source.port, c, "expression") for c in dict.fromkeys(read)],
    )
    checks.affects_rows(source, dict.fromkeys(deciding))
    return {"out": list(source.schema), "rejected": [*source.schema, Field(FAILED_RULES, ARRAY_OF_STRING, False)]}


# ---------------------------------------------------------------------------------------------
# Joins and unions


def infer_join(checks: NodeChecks, inputs: Inputs) -> Outcome:
    left, right = _single_input(inputs, "left"), _single_input(inputs, "right")
    config = checks.config
    how = str(config["how"])
    suffix = config.get("right_suffix")
    condition_text = config.get("condition")
    condition: Analysed | None = None
    if isinstance(condition_text, str):
        path = checks.path("condition")
        if left.schema is None or right.schema is None:
            checks.columns_unchecked()
        condition, errors = analyse_condition(
            condition_text, sides={"left": left.schema, "right": right.schema}, parameters=checks.inference.parameters
        )
        for message in errors:
            checks.error(path, message)
        if condition is not None and not errors:
            if condition.type not in (None, "boolean", "null"):
                checks.error(path, f"the join condition must be true or false, but it gives {condition.type}.")
            else:
                checks.inference.expressions[path] = condition
    if left.schema is None or right.schema is None:
        checks.columns_unchecked()
        return FAILED if checks.failed else Unknown(checks.node.id, "")
    on = config["on"]
    assert isinstance(on, list)
    pairs: list[tuple[Field, Field]] = []
    for i, pair in enumerate(on):
        lf = checks.column(checks.path("on", i, "left"), pair["left"], left.schema, "key", "the left input")
        rf = checks.column(checks.path("on", i, "right"), pair["right"], right.schema, "key", "the right input")
        if lf is None or rf is None:
            continue
        if common_type(lf.type, rf.type) is None:
            checks.error(
                checks.path("on", i),
                f"the key '{lf.name}' ({lf.type}) cannot be compared with '{rf.name}' ({rf.type}); "
                "cast one of them with transform.select first.",
            )
            continue
        pairs.append((lf, rf))
    if checks.failed:
        return FAILED
    for lf, rf in pairs:
        checks.affects_rows(left, [lf.name], "join_key")
        checks.affects_rows(right, [rf.name], "join_key")
    if condition is not None:
        for side, column in condition.qualified:
            checks.affects_rows(left if side == "left" else right, [column])
    if how in ("semi", "anti"):
        checks.identity("out", left, left.schema)
        return {"out": list(left.schema)}
    left_nullable = how in ("right", "full")
    right_nullable = how in ("left", "full")
    using = list(dict.fromkeys(lf.name for lf, rf in pairs if lf.name == rf.name))
    fields: list[Field] = []
    layout: list[tuple[str, str, str]] = []
    for name in using:
        lf = next(f for f in left.schema if f.name == name)
        rf = next(f for f in right.schema if f.name == name)
        if how == "full":
            key = Field(name, str(common_type(lf.type, rf.type)), lf.nullable or rf.nullable or True)
        elif how == "right":
            key = rf
        else:
            key = lf
        fields.append(key)
        layout.append((name, "key", name))
        checks.link(
            "out",
            name,
            [Dependency(left.node, left.port, name, "join_key"), Dependency(right.node, right.port, name, "join_key")],
        )
    for f in left.schema:
        if f.name not in using:
            fields.append(Field(f.name, f.type, f.nullable or left_nullable))
            layout.append((f.name, "left", f.name))
            checks.link("out", f.name, [Dependency(left.node, left.port, f.name, "identity")])
    taken = {f.name.lower(): f.name for f in fields}
    clashes: list[str] = []
    for f in right.schema:
        if f.name in using:
            continue
        name = f.name
        if name.lower() in taken:
            if not suffix:
                clashes.append(name)
                continue
            name = f"{name}{suffix}"
            if name.lower() in taken:
                checks.error(
                    checks.path("right_suffix"),
                    f"renaming the right input's '{f.name}' to '{name}' still clashes with a column of the left "
                    "input; choose another right_suffix.",
                )
                continue
        taken[name.lower()] = name
        fields.append(Field(name, f.type, f.nullable or right_nullable))
        layout.append((name, "right", f.name))
        checks.link("out", name, [Dependency(right.node, right.port, f.name, "identity")])
    if clashes:
        checks.error(
            checks.node.config_path,
            f"both inputs have the column{'s' if len(clashes) > 1 else ''} {list_names(clashes)}; set "
            "'right_suffix' (e.g. '_right') to rename the right input's copies, or join on them with the same "
            "name on both sides, or drop them upstream with transform.select.",
        )
    if checks.failed:
        return FAILED
    checks.inference.joins[checks.node.id] = layout
    return {"out": fields}


def infer_union(checks: NodeChecks, inputs: Inputs) -> Outcome:
    sources = inputs["in"]
    by_name, allow_missing = bool(checks.config["by_name"]), bool(checks.config["allow_missing"])
    if allow_missing and not by_name:
        checks.error(
            checks.path("allow_missing"),
            "allow_missing matches columns by name; set by_name to true, or give every input the same columns.",
        )
        return FAILED
    if any(s.schema is None for s in sources):
        checks.columns_unchecked()
        return Unknown(checks.node.id, "")
    schemas = [s.schema for s in sources if s.schema is not None]
    columns: list[tuple[str, list[tuple[int, Field]]]] = []
    if by_name:
        index: dict[str, int] = {}
        for position, schema in enumerate(schemas):
            for f in schema:
                lowered = f.name.lower()
                if lowered in index:
                    name, found = columns[index[lowered]]
                    if name != f.name:
                        checks.error(
                            checks.node.path,
                            f"input '{sources[position].node}' has the column '{f.name}' and another input has "
                            f"'{name}'; names must match exactly (Spark ignores case), so rename one of them.",
                        )
                        return FAILED
                    found.append((position, f))
                else:
                    index[lowered] = len(columns)
                    columns.append((f.name, [(position, f)]))
    else:
        width = len(schemas[0])
        for position, schema in enumerate(schemas[1:], start=1):
            if len(schema) != width:
                checks.error(
                    checks.path("by_name"),
                    f"with by_name false every input needs the same number of columns, but '{sources[0].node}' "
                    f"has {width} and '{sources[position].node}' has {len(schema)}.",
                )
                return FAILED
        columns = [(schemas[0][i].name, [(p, s[i]) for p, s in enumerate(schemas)]) for i in range(width)]
    fields: list[Field] = []
    for name, found in columns:
        missing = [sources[p].node for p in range(len(schemas)) if p not in {q for q, _ in found}]
        if missing and not allow_missing:
            checks.error(
                checks.node.path,
                f"the column '{name}' is missing from input{'s' if len(missing) > 1 else ''} {list_names(missing)}; "
                "give every input the same columns, or set allow_missing: true to fill missing columns with NULL.",
            )
            continue
        result = found[0][1].type
        for position, f in found[1:]:
            wider = common_type(result, f.type)
            if wider is None:
                checks.error(
                    checks.node.path,
                    f"the column '{name}' is {result} in '{sources[found[0][0]].node}' but {f.type} in "
                    f"'{sources[position].node}'; cast one of them with transform.select so they match.",
                )
                break
            result = wider
        else:
            nullable = bool(missing) or any(f.nullable for _, f in found)
            fields.append(Field(name, result, nullable))
            checks.link(
                "out", name, [Dependency(sources[p].node, sources[p].port, f.name, "identity") for p, f in found]
            )
    if checks.failed:
        return FAILED
    return {"out": fields}


# ---------------------------------------------------------------------------------------------
# Aggregations


def _aggregations(checks: NodeChecks, source: Input, schema: list[Field]) -> tuple[list[Field], list[Field]]:
    """Group columns and aggregation results of aggregate and window_aggregate, with lineage."""
    groups: list[Field] = []
    for i, name in enumerate(checks.config["group_by"] or []):  # type: ignore[union-attr]
        found = checks.column(checks.path("group_by", i), name, schema)
        if found is not None:
            groups.append(found)
            checks.link("out", found.name, [Dependency(source.node, source.port, found.name, "identity")])
    results: list[Field] = []
    aggregations = checks.config["aggregations"]
    assert isinstance(aggregations, list)
    for i, aggregation in enumerate(aggregations):
        function, column = str(aggregation["function"]), aggregation.get("column")
        found = None
        if column is not None:
            found = checks.column(checks.path("aggregations", i, "column"), column, schema)
            if found is None:
                continue
        result = aggregate_result(function, found.type if found is not None else None)
        if isinstance(result, str):
            checks.error(
                checks.path("aggregations", i, "function"),
                f"{function} of '{column}' {result}, but it is {found.type if found else 'missing'}.",
            )
            continue
        name = str(aggregation["name"])
        results.append(Field(name, result.type, result.nullable))
        checks.link("out", name, [Dependency(source.node, source.port, column, "aggregation")] if column else [])
    return groups, results


def infer_aggregate(checks: NodeChecks, inputs: Inputs) -> Outcome:
    source = _single_input(inputs)
    if source.schema is None:
        checks.columns_unchecked()
        return Unknown(checks.node.id, "")
    groups, results = _aggregations(checks, source, source.schema)
    fields = [*groups, *results]
    if checks.failed or not _unique_output(checks, fields, checks.path("aggregations")):
        return FAILED
    return {"out": fields}


def infer_window_aggregate(checks: NodeChecks, inputs: Inputs) -> Outcome:
    source = _single_input(inputs)
    config = checks.config
    window = config["window"]
    assert isinstance(window, dict)
    if window["type"] == "hopping" and interval_seconds(str(window["slide"])) > interval_seconds(str(window["size"])):
        checks.error(
            checks.path("window", "slide"),
            f"the slide ({window['slide']}) is longer than the window ({window['size']}), so some rows would fall "
            "in no window; make the slide at most the size.",
        )
    time_column = str(config["time_column"])
    if source.streaming and config.get("watermark") is None and source.watermark != time_column:
        checks.error(
            checks.path("watermark"),
            "in a streaming pipeline a window is written once no more late rows can arrive for it; set "
            "'watermark' (e.g. '10 seconds') to say how late rows may be.",
        )
    if source.schema is None:
        checks.columns_unchecked()
        return FAILED if checks.failed else Unknown(checks.node.id, "")
    found = checks.column(checks.path("time_column"), time_column, source.schema, "time column")
    if found is not None and found.type not in ("timestamp", "date"):
        checks.error(
            checks.path("time_column"),
            f"the time column '{time_column}' is {found.type}; windows need a timestamp or a date (cast it "
            "with transform.select).",
        )
    elif found is not None and found.type == "date" and source.streaming:
        checks.error(
            checks.path("time_column"),
            f"the time column '{time_column}' is a date; over a stream, windows and watermarks need a timestamp "
            "(cast it with transform.select).",
        )
    groups, results = _aggregations(checks, source, source.schema)
    bounds = [Field(name, "timestamp", False) for name in WINDOW_COLUMNS]
    for f in bounds:
        checks.link("out", f.name, [Dependency(source.node, source.port, time_column, "expression")])
    fields = [*bounds, *groups, *results]
    if checks.failed or not _unique_output(checks, fields, checks.path("aggregations")):
        return FAILED
    return {"out": fields}


def infer_deduplicate(checks: NodeChecks, inputs: Inputs) -> Outcome:
    source = _single_input(inputs)
    config = checks.config
    order_by = config.get("order_by")
    if source.streaming and source.watermark is None:
        checks.error(
            checks.path("keys"),
            "in a streaming pipeline deduplication needs a watermark upstream (a source.kafka with event_time and "
            "watermark), so keys seen long ago can be forgotten.",
        )
    if order_by is None and config["keep"] == "last" and not source.streaming:
        checks.warning(
            checks.path("keep"),
            "without 'order_by' there is no first or last row; which row of each key is kept is not defined. Set "
            "order_by to choose.",
        )
    if source.schema is None:
        checks.columns_unchecked()
        return FAILED if checks.failed else Unknown(checks.node.id, "")
    keys = config["keys"]
    assert isinstance(keys, list)
    for i, key in enumerate(keys):
        checks.column(checks.path("keys", i), key, source.schema, "key")
    if isinstance(order_by, dict):
        checks.column(checks.path("order_by", "column"), order_by["column"], source.schema, "order_by column")
    if checks.failed:
        return FAILED
    checks.identity("out", source, source.schema)
    checks.affects_rows(source, keys)
    if isinstance(order_by, dict):
        checks.affects_rows(source, [order_by["column"]])
    return {"out": list(source.schema)}


def _pass_through(checks: NodeChecks, inputs: Inputs) -> Outcome:
    source = _single_input(inputs)
    if source.schema is None:
        return Unknown(checks.node.id, "")
    checks.identity("out", source, source.schema)
    return {"out": list(source.schema)}


def infer_sort(checks: NodeChecks, inputs: Inputs) -> Outcome:
    source = _single_input(inputs)
    if source.schema is None:
        checks.columns_unchecked()
        return Unknown(checks.node.id, "")
    order = checks.config["order"]
    assert isinstance(order, list)
    for i, entry in enumerate(order):
        found = checks.column(checks.path("order", i, "column"), entry["column"], source.schema)
        if found is not None and found.type in ("binary", ARRAY_OF_STRING):
            checks.error(checks.path("order", i, "column"), f"rows cannot be sorted by the {found.type} '{found.name}'.")
    if checks.failed:
        return FAILED
    return _pass_through(checks, inputs)


def infer_limit(checks: NodeChecks, inputs: Inputs) -> Outcome:
    return _pass_through(checks, inputs)


def infer_sql(checks: NodeChecks, inputs: Inputs) -> Outcome:
    sources = inputs["in"]
    path = checks.path("query")
    by_node: dict[str, Input] = {}
    for source in sources:
        if source.node in by_node:
            checks.error(
                path,
                f"'{source.node}' is connected twice (its '{by_node[source.node].port}' and '{source.port}' "
                "outputs), but the query names its inputs by node id; connect one of them.",
            )
            return FAILED
        by_node[source.node] = source
    if any(s.schema is None for s in sources):
        checks.columns_unchecked()
    query, errors = analyse_sql(
        str(checks.config["query"]),
        inputs={name: s.schema for name, s in by_node.items()},
        parameters=checks.inference.parameters,
    )
    for message in errors:
        checks.error(path, message)
    if query is None or errors:
        return FAILED
    checks.inference.queries[path] = query
    unread = [name for name in by_node if name not in query.tables]
    if unread:
        checks.warning(path, f"the query does not read the input{'s' if len(unread) > 1 else ''} {list_names(unread)}.")
    if query.fields is None:
        return Unknown(checks.node.id, "")
    for name, origins in query.columns.items():
        checks.link("out", name, [Dependency(t, by_node[t].port, c, how) for t, c, how in origins])
    checks.rows.extend(Dependency(t, by_node[t].port, c, how) for t, c, how in query.rows)
    return {"out": list(query.fields)}


# ---------------------------------------------------------------------------------------------
# Sinks


def infer_sink_file(checks: NodeChecks, inputs: Inputs) -> Outcome:
    schema = _single_input(inputs).schema
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
            if f.type in ("binary", ARRAY_OF_STRING):
                checks.error(
                    checks.path("format"),
                    f"csv files cannot hold the {f.type} column '{f.name}'; write parquet or json, or "
                    "leave the column out with transform.select.",
                )
    return {}


def infer_sink_kafka(checks: NodeChecks, inputs: Inputs) -> Outcome:
    schema = _single_input(inputs).schema
    keys = checks.config.get("key_columns") or []
    assert isinstance(keys, list)
    if schema is None:
        if keys:
            checks.columns_unchecked()
        return {}
    for i, name in enumerate(keys):
        checks.column(checks.path("key_columns", i), name, schema, "key column")
    return {}


def infer_sink_iceberg(checks: NodeChecks, inputs: Inputs) -> Outcome:
    schema = _single_input(inputs).schema
    keys = checks.config.get("keys") or []
    partition_by = checks.config.get("partition_by") or []
    assert isinstance(keys, list) and isinstance(partition_by, list)
    if schema is None:
        if keys or partition_by:
            checks.columns_unchecked()
        return {}
    for i, name in enumerate(keys):
        checks.column(checks.path("keys", i), name, schema, "key")
    for i, entry in enumerate(partition_by):
        found = checks.column(checks.path("partition_by", i, "column"), entry["column"], schema)
        transform = str(entry["transform"])
        if found is None:
            continue
        needs = {"year": ("date", "timestamp"), "month": ("date", "timestamp"), "day": ("date", "timestamp"),
                 "hour": ("timestamp",)}.get(transform)  # fmt: skip
        if needs and found.type not in needs:
            checks.error(
                checks.path("partition_by", i, "transform"),
                f"the {transform} transform needs a {' or '.join(needs)} column, but '{found.name}' is {found.type}.",
            )
    return {}


_TEMPLATE_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def message_parts(template: str) -> list[tuple[str, bool]]:
    """An alert message template as (text, is_column) parts: `{name}` is a column, `{{`/`}}` are
    literal braces. Callers check the template first (see infer_sink_alert)."""
    parts: list[tuple[str, bool]] = []
    text: list[str] = []
    cursor = 0
    for match in _TEMPLATE_PART.finditer(template):
        text.append(template[cursor : match.start()])
        cursor = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            text.append(token[0])
        elif match.group(1) is not None:
            if text and "".join(text):
                parts.append(("".join(text), False))
            text = []
            parts.append((match.group(1), True))
    text.append(template[cursor:])
    if "".join(text):
        parts.append(("".join(text), False))
    return parts


def infer_sink_alert(checks: NodeChecks, inputs: Inputs) -> Outcome:
    source = _single_input(inputs)
    condition = checks.config.get("condition")
    if isinstance(condition, str):
        analysed = checks.condition(checks.path("condition"), condition, source.schema)
        if analysed is not None and source.schema is not None:
            checks.affects_rows(source, analysed.columns)
    message = str(checks.config["message"])
    path = checks.path("message")
    for match in _TEMPLATE_PART.finditer(message):
        name = match.group(1)
        if match.group(0) in ("{{", "}}"):
            continue
        if name is None:
            checks.error(path, "the message has a '{' or '}' that is not part of a {column} field; write {{ or }} "
                         "for a literal brace.")  # fmt: skip
            break
        if not COLUMN_NAME.fullmatch(name):
            checks.error(path, f"{quote('{' + name + '}')} is not a column field; write a column name in braces, "
                         "e.g. {order_id}.")  # fmt: skip
            continue
        if source.schema is None:
            checks.columns_unchecked()
            continue
        checks.column(path, name, source.schema, "the message's field")
    return {}


INFERRERS: Mapping[str, Callable[[NodeChecks, Inputs], Outcome]] = {
    "source.file": infer_source_file,
    "source.kafka": infer_source_kafka,
    "source.iceberg": infer_source_iceberg,
    "transform.select": infer_select,
    "transform.filter": infer_filter,
    "transform.derive": infer_derive,
    "transform.join": infer_join,
    "transform.aggregate": infer_aggregate,
    "transform.window_aggregate": infer_window_aggregate,
    "transform.deduplicate": infer_deduplicate,
    "transform.union": infer_union,
    "transform.sort": infer_sort,
    "transform.limit": infer_limit,
    "transform.sql": infer_sql,
    "transform.quality": infer_quality,
    "sink.iceberg": infer_sink_iceberg,
    "sink.file": infer_sink_file,
    "sink.kafka": infer_sink_kafka,
    "sink.alert": infer_sink_alert,
}
