"""Typed view of a `studio.pipeline/v1` document, parsed from JSON with every error reported by path."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from compiler.diagnostics import Diagnostic, Diagnostics, describe_value, did_you_mean, join_path, list_names, quote
from compiler.nodes import INVALID, NODE_SPECS, CheckContext, NodeSpec
from compiler.parameters import PARAMETER_NAME, PARAMETER_TYPES, ParameterValue, coerce
from compiler.types import alias_hint

__all__ = [
    "FORMAT",
    "MODES",
    "NODE_ID",
    "Edge",
    "Node",
    "Parameter",
    "Pipeline",
    "PortRef",
    "check_shape",
    "parse_document",
]

FORMAT = "studio.pipeline/v1"
MODES = ("batch", "streaming")
NODE_ID = re.compile(r"[a-z][a-z0-9_]{0,62}")
MAX_NAME = 256

_TOP_LEVEL = {
    "format": "the format marker, 'studio.pipeline/v1'",
    "name": "the pipeline name",
    "description": "free text",
    "mode": "'batch' or 'streaming'",
    "parameters": "typed parameters with defaults",
    "nodes": "the nodes",
    "edges": "the edges between node ports",
}
_NODE_KEYS = ("id", "type", "label", "config", "position")
_EDGE_KEYS = ("from", "to")
_PORT_KEYS = ("node", "port")
_PARAMETER_KEYS = ("name", "type", "default")


@dataclass(frozen=True)
class PortRef:
    node: str
    port: str


@dataclass(frozen=True)
class Edge:
    index: int
    source: PortRef
    target: PortRef

    @property
    def path(self) -> str:
        return f"$.edges[{self.index}]"


@dataclass(frozen=True)
class Parameter:
    """A declared parameter; `default` is already converted to the parameter's canonical value."""

    name: str
    type: str
    default: object
    index: int

    @property
    def path(self) -> str:
        return f"$.parameters[{self.index}]"

    def value(self, value: object) -> ParameterValue:
        return ParameterValue(self.name, self.type, value)


@dataclass
class Node:
    """A node whose id is valid and unique. `spec` is None for an unknown type; `config` is None when
    the config has structural errors (already reported), else it is normalised with defaults."""

    id: str
    type: str
    label: str
    index: int
    spec: NodeSpec | None
    config: dict[str, object] | None
    raw_config: dict[str, object] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"$.nodes[{self.index}]"

    @property
    def config_path(self) -> str:
        return f"$.nodes[{self.index}].config"


@dataclass
class Pipeline:
    name: str
    description: str
    mode: str
    parameters: list[Parameter] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    # Ids that appeared but were invalid or duplicated: edges touching them are not reported again.
    rejected_ids: set[str] = field(default_factory=set)
    _by_id: dict[str, Node] = field(default_factory=dict, repr=False)

    def node(self, node_id: str) -> Node:
        if len(self._by_id) != len(self.nodes):
            self._by_id = {n.id: n for n in self.nodes}
        return self._by_id[node_id]


def check_shape(document: object) -> list[Diagnostic]:
    """The cheap check before saving a draft: an object in this format with `nodes` and `edges` lists."""
    diagnostics = Diagnostics()
    _check_shape(document, diagnostics)
    return diagnostics.errors


def _check_shape(document: object, diagnostics: Diagnostics) -> bool:
    if not isinstance(document, dict):
        diagnostics.error("$", f"A pipeline document must be a JSON object, not {describe_value(document)}.")
        return False
    ok = True
    if "format" not in document:
        diagnostics.error("$.format", f'The document has no \'format\'; add "format": "{FORMAT}".')
        ok = False
    elif document["format"] != FORMAT:
        shown = quote(document["format"]) if isinstance(document["format"], str) else describe_value(document["format"])
        diagnostics.error("$.format", f"The document's format is {shown}; this studio reads '{FORMAT}'.")
        ok = False
    for key in ("nodes", "edges"):
        if key not in document:
            diagnostics.error(f"$.{key}", f"The document has no '{key}' list; add \"{key}\": [].")
            ok = False
        elif not isinstance(document[key], list):
            diagnostics.error(f"$.{key}", f"'{key}' must be a list, not {describe_value(document[key])}.")
            ok = False
    return ok


def parse_document(document: object, diagnostics: Diagnostics) -> Pipeline | None:
    """Parse what can be parsed, reporting every problem; None only when the document is not an object."""
    _check_shape(document, diagnostics)
    if not isinstance(document, dict):
        return None
    for key in document:
        if not isinstance(key, str) or key not in _TOP_LEVEL:
            shown = key if isinstance(key, str) else str(key)
            hint = did_you_mean(shown, _TOP_LEVEL)
            suggestion = f" Did you mean '{hint}'?" if hint else ""
            diagnostics.error(
                join_path("$", shown),
                f"{quote(shown)} is not a known top-level key.{suggestion} Known keys: {list_names(_TOP_LEVEL)}.",
            )
    pipeline = Pipeline(
        name=_parse_name(document, diagnostics),
        description=_optional_text(document, "description", "$.description", diagnostics),
        mode=_parse_mode(document, diagnostics),
    )
    pipeline.parameters = _parse_parameters(document.get("parameters", []), diagnostics)
    nodes = document.get("nodes")
    if isinstance(nodes, list):
        _parse_nodes(nodes, pipeline, diagnostics)
    edges = document.get("edges")
    if isinstance(edges, list):
        pipeline.edges = [e for i, raw in enumerate(edges) if (e := _parse_edge(raw, i, diagnostics)) is not None]
    return pipeline


def _parse_name(document: Mapping[str, object], diagnostics: Diagnostics) -> str:
    name = document.get("name")
    if name is None:
        diagnostics.error("$.name", "The pipeline has no 'name'; give it one, e.g. \"orders_daily\".")
        return "pipeline"
    if not isinstance(name, str) or not name.strip():
        diagnostics.error("$.name", f"'name' must be non-empty text, not {describe_value(name)}.")
        return "pipeline"
    if len(name) > MAX_NAME or "\x00" in name or any("\ud800" <= ch <= "\udfff" for ch in name):
        diagnostics.error("$.name", f"'name' must be at most {MAX_NAME} characters of ordinary text.")
        return "pipeline"
    return name


def _optional_text(document: Mapping[str, object], key: str, path: str, diagnostics: Diagnostics) -> str:
    value = document.get(key, "")
    if not isinstance(value, str):
        diagnostics.error(path, f"'{key}' must be text, not {describe_value(value)}.")
        return ""
    return value


def _parse_mode(document: Mapping[str, object], diagnostics: Diagnostics) -> str:
    mode = document.get("mode", "batch")
    if mode not in MODES:
        shown = quote(mode) if isinstance(mode, str) else describe_value(mode)
        diagnostics.error("$.mode", f"'mode' must be 'batch' or 'streaming', not {shown}.")
        return "batch"
    return str(mode)


def _unknown_keys(
    raw: Mapping[object, object],
    allowed: tuple[str, ...],
    path: str,
    what: str,
    diagnostics: Diagnostics,
    node: str | None = None,
) -> None:
    for key in raw:
        if not isinstance(key, str) or key not in allowed:
            shown = key if isinstance(key, str) else str(key)
            hint = did_you_mean(shown, allowed)
            suggestion = f" Did you mean '{hint}'?" if hint else ""
            diagnostics.error(
                join_path(path, shown),
                f"{quote(shown)} is not a known key of {what}.{suggestion} Known keys: {', '.join(allowed)}.",
                node,
            )


def _parse_parameters(raw: object, diagnostics: Diagnostics) -> list[Parameter]:
    if not isinstance(raw, list):
        diagnostics.error("$.parameters", f"'parameters' must be a list, not {describe_value(raw)}.")
        return []
    parameters: list[Parameter] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        path = f"$.parameters[{index}]"
        if not isinstance(item, dict):
            diagnostics.error(
                path, f"Each parameter must be an object with name, type and default, not {describe_value(item)}."
            )
            continue
        _unknown_keys(item, _PARAMETER_KEYS, path, "a parameter", diagnostics)
        name, type_name = item.get("name"), item.get("type")
        ok = True
        if not isinstance(name, str) or not PARAMETER_NAME.fullmatch(name):
            shown = quote(name) if isinstance(name, str) else describe_value(name)
            diagnostics.error(
                f"{path}.name",
                f"Parameter name {shown} is not valid; use a letter or _, then letters, digits or _ (at most 63).",
            )
            ok = False
        elif name in seen:
            diagnostics.error(f"{path}.name", f"Parameter '{name}' is declared twice; remove one declaration.")
            ok = False
        if type_name not in PARAMETER_TYPES:
            shown = quote(type_name) if isinstance(type_name, str) else describe_value(type_name)
            hint = None
            if isinstance(type_name, str):
                hint = alias_hint(type_name) or did_you_mean(type_name, PARAMETER_TYPES)
                hint = hint if hint in PARAMETER_TYPES else None
            suggestion = f" Did you mean '{hint}'?" if hint else ""
            diagnostics.error(
                f"{path}.type",
                f"Parameter type {shown} is not supported.{suggestion} Use one of {', '.join(PARAMETER_TYPES)}.",
            )
            ok = False
        if "default" not in item:
            diagnostics.error(f"{path}.default", "Every parameter needs a 'default' value; add one.")
            continue
        if not ok:
            continue
        assert isinstance(name, str) and isinstance(type_name, str)
        value, reason = coerce(type_name, item["default"])
        if reason is not None:
            diagnostics.error(
                f"{path}.default", f"The default of parameter '{name}' {reason} (its type is {type_name})."
            )
            continue
        seen.add(name)
        parameters.append(Parameter(name, type_name, value, index))
    return parameters


def _parse_nodes(raw_nodes: list[object], pipeline: Pipeline, diagnostics: Diagnostics) -> None:
    seen: set[str] = set()
    for index, raw in enumerate(raw_nodes):
        path = f"$.nodes[{index}]"
        if not isinstance(raw, dict):
            diagnostics.error(path, f"Each node must be an object with id, type and config, not {describe_value(raw)}.")
            continue
        raw_id = raw.get("id")
        node_id = _parse_node_id(raw_id, path, seen, pipeline, diagnostics)
        who = raw_id if isinstance(raw_id, str) else None
        _unknown_keys(raw, _NODE_KEYS, path, "a node", diagnostics, who)
        label = raw.get("label", "")
        if not isinstance(label, str):
            diagnostics.error(
                f"{path}.label", f"Node {_name(who)}: 'label' must be text, not {describe_value(label)}.", who
            )
            label = ""
        spec = _parse_node_type(raw.get("type"), path, who, diagnostics)
        config = _parse_config(raw, spec, path, who, diagnostics)
        if node_id is not None:
            type_name = raw["type"] if isinstance(raw.get("type"), str) else ""
            raw_config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
            pipeline.nodes.append(Node(node_id, type_name, label, index, spec, config, raw_config))


def _name(node_id: str | None) -> str:
    return quote(node_id) if node_id is not None else "(without a valid id)"


def _parse_node_id(
    raw_id: object, path: str, seen: set[str], pipeline: Pipeline, diagnostics: Diagnostics
) -> str | None:
    if raw_id is None:
        diagnostics.error(f"{path}.id", "This node has no 'id'; give it a unique id such as 'orders'.")
        return None
    if not isinstance(raw_id, str) or not NODE_ID.fullmatch(raw_id):
        shown = quote(raw_id) if isinstance(raw_id, str) else describe_value(raw_id)
        if isinstance(raw_id, str):
            pipeline.rejected_ids.add(raw_id)
        diagnostics.error(
            f"{path}.id",
            f"Node id {shown} is not valid; ids start with a lowercase letter and use only a-z, 0-9 and _ "
            "(at most 63 characters).",
            raw_id if isinstance(raw_id, str) else None,
        )
        return None
    if raw_id in seen:
        diagnostics.error(
            f"{path}.id", f"Node id '{raw_id}' is used by more than one node; ids must be unique.", raw_id
        )
        return None
    seen.add(raw_id)
    return raw_id


def _parse_node_type(raw_type: object, path: str, who: str | None, diagnostics: Diagnostics) -> NodeSpec | None:
    if raw_type is None:
        diagnostics.error(
            f"{path}.type", f"Node {_name(who)} has no 'type'; choose one of: {list_names(NODE_SPECS, 30)}.", who
        )
        return None
    if not isinstance(raw_type, str) or raw_type not in NODE_SPECS:
        shown = quote(raw_type) if isinstance(raw_type, str) else describe_value(raw_type)
        hint = did_you_mean(raw_type, NODE_SPECS) if isinstance(raw_type, str) else None
        suggestion = f" Did you mean '{hint}'?" if hint else ""
        diagnostics.error(
            f"{path}.type",
            f"Node {_name(who)} has an unknown type {shown}.{suggestion} Known types: {list_names(NODE_SPECS, 30)}.",
            who,
        )
        return None
    return NODE_SPECS[raw_type]


def _parse_config(
    raw: Mapping[str, object], spec: NodeSpec | None, path: str, who: str | None, diagnostics: Diagnostics
) -> dict[str, object] | None:
    config = raw.get("config", {})
    if not isinstance(config, dict):
        diagnostics.error(
            f"{path}.config", f"Node {_name(who)}: 'config' must be an object, not {describe_value(config)}.", who
        )
        return None
    if spec is None:
        return None
    context = CheckContext(who, spec.type, diagnostics, f"{path}.config")
    checked = spec.config.check(config, f"{path}.config", context)
    return None if checked is INVALID else checked  # type: ignore[return-value]


def _parse_edge(raw: object, index: int, diagnostics: Diagnostics) -> Edge | None:
    path = f"$.edges[{index}]"
    if not isinstance(raw, dict):
        diagnostics.error(path, f"Each edge must be an object with 'from' and 'to', not {describe_value(raw)}.")
        return None
    _unknown_keys(raw, _EDGE_KEYS, path, "an edge", diagnostics)
    ends = [_parse_port_ref(raw, key, path, diagnostics) for key in _EDGE_KEYS]
    if ends[0] is None or ends[1] is None:
        return None
    return Edge(index, ends[0], ends[1])


def _parse_port_ref(raw: Mapping[str, object], key: str, path: str, diagnostics: Diagnostics) -> PortRef | None:
    end_path = f"{path}.{key}"
    if key not in raw:
        diagnostics.error(end_path, f'Edge {index_of(path)} has no \'{key}\'; add {{"node": ..., "port": ...}}.')
        return None
    end = raw[key]
    if not isinstance(end, dict):
        diagnostics.error(
            end_path,
            f"'{key}' of edge {index_of(path)} must be an object with 'node' and 'port', not {describe_value(end)}.",
        )
        return None
    _unknown_keys(end, _PORT_KEYS, end_path, f"an edge's '{key}'", diagnostics)
    ok = True
    for part in _PORT_KEYS:
        value = end.get(part)
        if not isinstance(value, str) or not value:
            diagnostics.error(
                f"{end_path}.{part}",
                f"'{key}.{part}' of edge {index_of(path)} must be a non-empty string, not {describe_value(value)}.",
            )
            ok = False
    if not ok:
        return None
    return PortRef(str(end["node"]), str(end["port"]))


def index_of(path: str) -> str:
    """`$.edges[3]` -> `3`, for messages that count edges the way the document does."""
    return path[path.rindex("[") + 1 : -1]
