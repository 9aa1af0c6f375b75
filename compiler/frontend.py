"""The shared front end: parse -> parameters -> graph -> mode rules -> templates -> schema and
lineage inference -> capabilities. Every stage runs and reports, so a person sees all problems at
once; back ends only ever receive an `Analysis` without errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from compiler.capabilities import ENGINES, condition, support
from compiler.diagnostics import (
    Diagnostics,
    ValidationResult,
    describe_value,
    did_you_mean,
    join_path,
    list_names,
    quote,
)
from compiler.document import Node, Pipeline, parse_document
from compiler.expressions import Analysed
from compiler.facts import InputFacts, NodeFacts
from compiler.graph import Connection, NodeId, PipelineGraph
from compiler.lineage import DatasetRef, Lineage
from compiler.nodes import CONNECTION_KINDS, ListOf, Record, Spec, Text, iter_leaves
from compiler.parameters import ParameterValue, coerce, has_unclosed_reference, substitute, template_references
from compiler.schema import Inference
from compiler.sql import Query

__all__ = ["Analysis", "analyse"]


@dataclass
class Analysis:
    """Everything the front end learnt about a document, for a back end to emit from."""

    result: ValidationResult
    pipeline: Pipeline | None = None
    graph: PipelineGraph | None = None
    order: list[NodeId] = field(default_factory=list)
    parameters: dict[str, ParameterValue] = field(default_factory=dict)
    expressions: dict[str, Analysed] = field(default_factory=dict)
    queries: dict[str, Query] = field(default_factory=dict)
    joins: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    facts: dict[str, NodeFacts] = field(default_factory=dict)

    def node(self, node_id: str) -> Node:
        assert self.pipeline is not None
        return self.pipeline.node(node_id)

    def streaming(self, node_id: str) -> bool:
        """Whether the node's output is a stream."""
        facts = self.facts.get(node_id)
        return facts.streaming if facts is not None else False


def analyse(
    document: object,
    *,
    engine: str | None,
    parameters: object,
    data_dir: str | None = None,
    connections: Mapping[str, str] | None = None,
) -> Analysis:
    """Run every check; never raises on any input.

    `connections` (name -> kind) are the stored connections the document may name; given, every
    node's `connection` must be one of them, of a kind its node type accepts (CONNECTION_KINDS)."""
    diagnostics = Diagnostics()
    analysis = Analysis(ValidationResult())
    if engine is not None and engine not in ENGINES:
        shown = quote(engine) if isinstance(engine, str) else describe_value(engine)
        diagnostics.error("engine", f"Unknown engine {shown}; choose one of: {', '.join(ENGINES)}.")
        engine = None
    pipeline = parse_document(document, diagnostics)
    if pipeline is not None:
        analysis.pipeline = pipeline
        analysis.parameters = _resolve_parameters(pipeline, parameters, diagnostics)
        graph = _build_graph(pipeline, diagnostics)
        analysis.graph = graph
        _check_flow(pipeline, graph, diagnostics)
        mode_errors = _check_modes(pipeline, diagnostics)
        if connections is not None:
            _check_connections(pipeline, connections, diagnostics)
        analysis.texts = _substitute_templates(pipeline, analysis.parameters, diagnostics)
        skipped = graph.cyclic_nodes()
        order = graph.topological_order(exclude=skipped)
        inference = Inference(pipeline, graph, analysis.parameters, diagnostics, analysis.texts, data_dir)
        analysis.result.schemas = inference.run(order, skipped)
        analysis.expressions = inference.expressions
        analysis.queries = inference.queries
        analysis.joins = inference.joins
        analysis.order = order
        analysis.facts = _facts(pipeline, graph, inference)
        analysis.result.lineage = _lineage(pipeline, graph, inference, analysis.texts)
        if engine is not None:
            _check_capabilities(pipeline, engine, mode_errors, diagnostics, analysis.facts)
    analysis.result.errors = diagnostics.errors
    analysis.result.warnings = diagnostics.warnings
    return analysis


def _resolve_parameters(pipeline: Pipeline, overrides: object, diagnostics: Diagnostics) -> dict[str, ParameterValue]:
    """Defaults merged with run-time overrides (JSON values or command-line text)."""
    declared = {p.name: p for p in pipeline.parameters}
    values = {p.name: p.value(p.default) for p in pipeline.parameters}
    if overrides is None:
        return values
    if not isinstance(overrides, Mapping):
        diagnostics.error(
            "parameters", f"Run parameters must be an object of name: value pairs, not {describe_value(overrides)}."
        )
        return values
    for name, raw in overrides.items():
        if not isinstance(name, str) or name not in declared:
            shown = quote(name) if isinstance(name, str) else describe_value(name)
            hint = did_you_mean(name, declared) if isinstance(name, str) else None
            suggestion = f" Did you mean '{hint}'?" if hint else ""
            known = (
                f"Declared parameters: {list_names(declared)}." if declared else "This pipeline declares no parameters."
            )
            diagnostics.error(
                "$.parameters", f"Run parameter {shown} is not declared by the pipeline.{suggestion} {known}"
            )
            continue
        parameter = declared[name]
        value, reason = coerce(parameter.type, raw)
        if reason is not None:
            diagnostics.error(
                join_path("parameters", name),
                f"The value given for parameter '{name}' {reason} (its type is {parameter.type}).",
            )
            continue
        values[name] = parameter.value(value)
    return values


def _build_graph(pipeline: Pipeline, diagnostics: Diagnostics) -> PipelineGraph:
    nodes = {n.id: n for n in pipeline.nodes}
    graph = PipelineGraph([NodeId(n.id) for n in pipeline.nodes])
    seen: set[tuple[str, str, str, str]] = set()
    for edge in pipeline.edges:
        ok = True
        for end, role in ((edge.source, "from"), (edge.target, "to")):
            node = nodes.get(end.node)
            if node is None:
                ok = False
                if end.node in pipeline.rejected_ids:
                    continue
                hint = did_you_mean(end.node, nodes)
                suggestion = f" Did you mean '{hint}'?" if hint else ""
                direction = "starts at" if role == "from" else "goes to"
                diagnostics.error(
                    f"{edge.path}.{role}.node",
                    f"Edge {edge.index} {direction} node {quote(end.node)}, which does not exist.{suggestion} "
                    "Connect existing nodes or delete the edge.",
                )
                continue
            if node.spec is None:
                continue
            side = "output" if role == "from" else "input"
            ports = list(node.spec.outputs) if role == "from" else [p.name for p in node.spec.inputs]
            if end.port not in ports:
                ok = False
                if not ports:
                    why = (
                        "a sink's output cannot feed other nodes" if role == "from" else "a source cannot receive edges"
                    )
                    message = f"Node '{node.id}' ({node.type}) has no {side} ports: {why}; delete edge {edge.index}."
                else:
                    message = (
                        f"Node '{node.id}' ({node.type}) has no {side} port {quote(end.port)}; "
                        f"its {side} ports are: {', '.join(ports)}."
                    )
                diagnostics.error(f"{edge.path}.{role}.port", message, node.id)
        if not ok:
            continue
        key = (edge.source.node, edge.source.port, edge.target.node, edge.target.port)
        if key in seen:
            diagnostics.error(
                edge.path,
                f"Edge {edge.index} repeats an earlier edge from '{edge.source.node}' to "
                f"'{edge.target.node}'; delete it.",
                edge.target.node,
            )
            continue
        seen.add(key)
        graph.connect(
            Connection(
                edge.index, NodeId(edge.source.node), edge.source.port, NodeId(edge.target.node), edge.target.port
            )
        )
    for node in pipeline.nodes:
        if node.spec is None:
            continue
        inputs = graph.inputs(NodeId(node.id))
        for port in node.spec.inputs:
            connected = [c for c in inputs if c.target_port == port.name]
            if not connected:
                diagnostics.error(
                    node.path,
                    f"Node '{node.id}' ({node.type}) has nothing connected to its '{port.name}' input; "
                    "connect an upstream node's output to it.",
                    node.id,
                )
            elif len(connected) > 1 and not port.many:
                diagnostics.error(
                    f"$.edges[{connected[1].index}]",
                    f"Node '{node.id}' ({node.type}) takes one edge on its '{port.name}' input, but "
                    f"{len(connected)} are connected; keep one, or combine the inputs with transform.union first.",
                    node.id,
                )
    return graph


def _check_flow(pipeline: Pipeline, graph: PipelineGraph, diagnostics: Diagnostics) -> None:
    """Acyclic, and every node leads to a sink."""
    if not pipeline.nodes:
        if not diagnostics.errors:
            diagnostics.error("$.nodes", "The pipeline has no nodes; add a source, the transforms you need and a sink.")
        return
    for cycle in graph.cycles():
        closing = graph.connection_between(cycle[-2], cycle[-1])
        diagnostics.error(
            f"$.edges[{closing.index}]",
            f"The pipeline has a cycle: {' -> '.join(cycle)}. Data must flow one way; remove one of these edges.",
            cycle[0],
        )
    sinks = [NodeId(n.id) for n in pipeline.nodes if n.spec is None or n.spec.kind == "sink"]
    if not sinks:
        diagnostics.error(
            "$.nodes",
            "The pipeline has no sink, so its results would go nowhere; add a sink (for example sink.file) "
            "and connect the last step to it.",
        )
        return
    by_id = {n.id: n for n in pipeline.nodes}
    for node_id in graph.not_reaching(sinks):
        node = by_id[node_id]
        diagnostics.error(
            node.path,
            f"Node '{node.id}' ({node.type}) does not lead to any sink, so its output would be thrown away; "
            "connect it towards a sink or delete it.",
            node.id,
        )


def _check_modes(pipeline: Pipeline, diagnostics: Diagnostics) -> set[str]:
    """Batch-only nodes, streaming sources in batch pipelines, and streaming pipelines without one."""
    flagged: set[str] = set()
    streaming_sources = 0
    for node in pipeline.nodes:
        if node.spec is None:
            continue
        if node.spec.batch_only and pipeline.mode == "streaming":
            flagged.add(node.id)
            diagnostics.error(
                f"{node.path}.type",
                f"Node '{node.id}': {node.type} works only in batch pipelines; remove it or set the pipeline's mode "
                "to batch.",
                node.id,
            )
        if node.spec.kind != "source" or node.config is None:
            continue
        streaming = node.config.get("streaming")
        if streaming is None:
            streaming = pipeline.mode == "streaming"
        if streaming:
            streaming_sources += 1
            if pipeline.mode == "batch":
                flagged.add(node.id)
                diagnostics.error(
                    f"{node.config_path}.streaming",
                    f"Node '{node.id}': streaming: true reads continuously, but this pipeline's mode is batch; set "
                    "streaming to false, or set the pipeline's mode to streaming.",
                    node.id,
                )
    if pipeline.mode == "streaming" and streaming_sources == 0 and pipeline.nodes:
        diagnostics.error(
            "$.mode",
            "A streaming pipeline needs at least one streaming source; set streaming: true on a source, or set "
            "mode to batch.",
        )
    return flagged


_TEMPLATED: dict[int, bool] = {}  # by id: the specs are the node types' module-level constants


def _templated(spec: Spec) -> bool:
    """Whether a config spec has a template text anywhere (most node types have none, and walking
    every config value is a good part of validating a large pipeline)."""
    found = _TEMPLATED.get(id(spec))
    if found is None:
        if isinstance(spec, Text):
            found = spec.template
        elif isinstance(spec, ListOf):
            found = _templated(spec.item)
        elif isinstance(spec, Record):
            found = any(_templated(key.spec) for key in spec.keys.values())
        else:  # a leaf, or a container this does not know (then its values are walked)
            found = type(spec).children is not Spec.children
        _TEMPLATED[id(spec)] = found
    return found


def _substitute_templates(
    pipeline: Pipeline, parameters: Mapping[str, ParameterValue], diagnostics: Diagnostics
) -> dict[str, str]:
    """`${name}` in path, topic and table values becomes the parameter's text; unknown names are errors."""
    texts: dict[str, str] = {}
    for node in pipeline.nodes:
        if node.spec is None or node.config is None or not _templated(node.spec.config):
            continue
        for leaf, value, path in iter_leaves(node.spec.config, node.config, node.config_path):
            if not isinstance(leaf, Text) or not leaf.template or not isinstance(value, str):
                continue
            key = path[len(node.config_path) + 1 :]
            ok = True
            if has_unclosed_reference(value):
                diagnostics.error(
                    path,
                    f"Node '{node.id}': '{key}' has a '${{' without a matching '}}'; write parameters as ${{name}}.",
                    node.id,
                )
                ok = False
            for name, _ in template_references(value):
                if name not in parameters:
                    hint = did_you_mean(name, parameters)
                    suggestion = f" Did you mean '${{{hint}}}'?" if hint else ""
                    declared = (
                        f"Declared parameters: {list_names(parameters)}."
                        if parameters
                        else ("This pipeline declares no parameters.")
                    )
                    diagnostics.error(
                        path,
                        f"Node '{node.id}': '{key}' uses the parameter {quote('${' + name + '}')}, which is not "
                        f"declared.{suggestion} {declared}",
                        node.id,
                    )
                    ok = False
            if ok:
                texts[path] = substitute(value, dict(parameters))
    return texts


def _check_connections(pipeline: Pipeline, connections: Mapping[str, str], diagnostics: Diagnostics) -> None:
    """Each node's `connection` names one of `connections` (name -> kind) of a kind the node accepts."""
    for node in pipeline.nodes:
        accepted = CONNECTION_KINDS.get(node.type)
        name = (node.raw_config or {}).get("connection") if isinstance(node.raw_config, Mapping) else None
        if not accepted or not isinstance(name, str) or not name:
            continue
        path = join_path(node.config_path, "connection")
        wanted = " or ".join(_KIND_LABELS.get(kind, kind) for kind in accepted)
        suitable = sorted(n for n, kind in connections.items() if kind in accepted)
        known = f"{wanted} connections here: {', '.join(suitable)}" if suitable else "the workspace has none yet"
        kind = connections.get(name)
        if kind is None:
            hint = did_you_mean(name, suitable)
            suggestion = f" Did you mean '{hint}'?" if hint else ""
            diagnostics.error(
                path,
                f"Node '{node.id}': there is no connection {quote(name)} in this workspace.{suggestion} "
                f"It needs {_article(wanted)} {wanted} connection ({known}); an admin can add one under Connections.",
                node.id,
            )
        elif kind not in accepted:
            label = _KIND_LABELS.get(kind, kind)
            diagnostics.error(
                path,
                f"Node '{node.id}': connection {quote(name)} is {_article(label)} {label} connection, but a "
                f"{node.type} node needs {_article(wanted)} {wanted} connection ({known}).",
                node.id,
            )


def _article(word: str) -> str:
    """'an' before a vowel sound as spoken ('an S3', 'a Kafka')."""
    return "an" if word[:1].upper() in "AEFHILMNORSX" else "a"


_KIND_LABELS = {"kafka": "Kafka", "s3": "S3", "postgres": "PostgreSQL", "jdbc": "JDBC", "webhook": "webhook"}


def _check_capabilities(
    pipeline: Pipeline, engine: str, flagged: set[str], diagnostics: Diagnostics, facts: Mapping[str, NodeFacts]
) -> None:
    for node in pipeline.nodes:
        if node.spec is None or node.id in flagged:
            continue
        capability = support(node.type, engine, pipeline.mode)
        if not capability.supported:
            diagnostics.error(f"{node.path}.type", f"Node '{node.id}': {capability.reason}.", node.id)
            continue
        node_facts = facts.get(node.id)
        if node_facts is None or node.config is None:
            continue
        found = condition(node_facts, engine)
        if found is not None:
            key, reason = found
            diagnostics.error(join_path(node.config_path, key), f"Node '{node.id}': {reason}.", node.id)


def _facts(pipeline: Pipeline, graph: PipelineGraph, inference: Inference) -> dict[str, NodeFacts]:
    """Streams, watermarks and queries per node, for engine rules and back ends."""
    facts: dict[str, NodeFacts] = {}
    for node in pipeline.nodes:
        if node.id not in inference.streaming:
            continue
        inputs: dict[str, list[InputFacts]] = {}
        for c in graph.inputs(NodeId(node.id)):
            inputs.setdefault(c.target_port, []).append(
                InputFacts(
                    c.source,
                    c.source_port,
                    inference.streaming.get(c.source, False),
                    inference.watermarks.get((c.source, c.source_port)),
                )
            )
        query = inference.queries.get(join_path(node.config_path, "query"))
        known = isinstance(inference.outcomes.get(node.id), dict)
        facts[node.id] = NodeFacts(node, pipeline.mode, inference.streaming[node.id], inputs, query, known)
    return facts


_DATASET_KEYS = {
    "source.file": ("file", "path"),
    "sink.file": ("file", "path"),
    "source.kafka": ("kafka", "topic"),
    "sink.kafka": ("kafka", "topic"),
    "source.iceberg": ("iceberg", "table"),
    "sink.iceberg": ("iceberg", "table"),
}


def _lineage(pipeline: Pipeline, graph: PipelineGraph, inference: Inference, texts: Mapping[str, str]) -> Lineage:
    """Column lineage from inference, plus the datasets sources read and sinks write (names with
    parameters substituted, as a run with these parameters reads and writes them)."""
    lineage = inference.lineage
    datasets: dict[str, str] = {}
    for node in pipeline.nodes:
        scheme_key = _DATASET_KEYS.get(node.type)
        if scheme_key is None or node.config is None:
            continue
        scheme, key = scheme_key
        path = join_path(node.config_path, key)
        datasets[node.id] = f"{scheme}:{texts.get(path, str(node.config[key]))}"
    for node in pipeline.nodes:
        if node.id not in datasets:
            continue
        if node.type.startswith("source."):
            lineage.inputs.append(DatasetRef(node.id, datasets[node.id]))
            continue
        columns: dict[str, list[tuple[str, str, str]]] | None = None
        feeding = graph.inputs(NodeId(node.id))
        if feeding and feeding[0].source in lineage.columns:
            upstream = lineage.columns[feeding[0].source].get(feeding[0].source_port, {})
            columns = {}
            for column in upstream:
                traced = lineage.trace(feeding[0].source, feeding[0].source_port, column)
                columns[column] = [(datasets[n], c, how) for n, c, how in traced if n in datasets]
        lineage.outputs.append(DatasetRef(node.id, datasets[node.id], columns))
    return lineage
