"""What every back end shares: the visitor walk, safe ways to put user text into generated code,
and Python variable names for nodes."""

from __future__ import annotations

import keyword
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import ClassVar

from compiler.diagnostics import join_path
from compiler.document import Node
from compiler.frontend import Analysis
from compiler.graph import Connection, NodeId
from compiler.nodes import NodeSpec

__all__ = ["Backend", "VariableNames", "comment_text", "docstring", "py_str"]

MAX_COMMENT = 120


def py_str(text: str) -> str:
    """A Python string literal for any text (double-quoted when that needs no escaping)."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1] + '"'
    return literal


def comment_text(text: str, limit: int = MAX_COMMENT) -> str:
    """Text that can sit in a `#` comment: line breaks and other invisible characters are escaped,
    so nothing after them can become code."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def docstring(text: str) -> str:
    """A module docstring; falls back to an escaped literal when the text could end a triple quote."""
    plain = all(ch.isprintable() for ch in text) and "\\" not in text and '"' not in text
    return f'"""{text}"""' if plain else py_str(text)


class VariableNames:
    """Python names for node ids: ids are already `^[a-z][a-z0-9_]{0,62}$`; ids that clash with a
    keyword or a name the generated code uses get a `node_` prefix (and a number if that clashes)."""

    def __init__(self, node_ids: Iterable[str], reserved: Iterable[str]) -> None:
        ids = list(node_ids)
        taken = set(ids) | set(reserved)
        blocked = set(reserved) | set(keyword.kwlist) | set(keyword.softkwlist)
        self._names: dict[str, str] = {}
        self._derived: dict[tuple[str, str], str] = {}
        self._taken = taken | blocked
        for node_id in ids:
            if node_id not in blocked:
                self._names[node_id] = node_id
                continue
            candidate = f"node_{node_id}"
            number = 2
            while candidate in taken:
                candidate = f"node_{node_id}_{number}"
                number += 1
            taken.add(candidate)
            self._names[node_id] = candidate

    def __getitem__(self, node_id: str) -> str:
        return self._names[node_id]

    def derived(self, node_id: str, suffix: str) -> str:
        """A further variable of a node (`quality_rejected`) that clashes with no other name."""
        key = (node_id, suffix)
        if key not in self._derived:
            base = f"{self._names[node_id]}_{suffix}"
            candidate, number = base, 2
            while candidate in self._taken:
                candidate = f"{base}_{number}"
                number += 1
            self._taken.add(candidate)
            self._derived[key] = candidate
        return self._derived[key]


class Backend(ABC):
    """Walks the nodes in topological order and calls `visit_<kind>` for each (see NodeSpec.visitor).

    A back end only ever sees an Analysis without errors, so a node reaching a visitor is supported
    by this engine (the capability table said so) and its config and expressions are checked.
    """

    engine: ClassVar[str]
    dialect: ClassVar[str]
    reserved_names: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, analysis: Analysis) -> None:
        assert analysis.pipeline is not None and analysis.result.valid
        self.analysis = analysis
        self.pipeline = analysis.pipeline
        self.names = VariableNames((n.id for n in self.pipeline.nodes), self.reserved_names)

    @abstractmethod
    def generate(self) -> str:
        """The whole generated program."""

    def visit_all(self) -> list[str]:
        lines: list[str] = []
        for node_id in self.analysis.order:
            node = self.analysis.node(node_id)
            spec = self.spec(node)
            visitor = getattr(self, spec.visitor, None)
            if visitor is None:
                raise RuntimeError(
                    f"{type(self).__name__} has no {spec.visitor}() although the capability table "
                    f"declares {node.type} supported on {self.engine}"
                )
            lines.extend(visitor(node))
        return lines

    @staticmethod
    def spec(node: Node) -> NodeSpec:
        assert node.spec is not None
        return node.spec

    def config(self, node: Node) -> dict[str, object]:
        assert node.config is not None
        return node.config

    def var(self, node_id: str) -> str:
        return self.names[node_id]

    def port_var(self, node_id: str, port: str) -> str:
        """The variable holding a node's output port: the node's own for `out`, a derived one otherwise."""
        return self.var(node_id) if port == "out" else self.names.derived(node_id, port)

    def connections(self, node: Node, port: str = "in") -> list[Connection]:
        assert self.analysis.graph is not None
        return [c for c in self.analysis.graph.inputs(NodeId(node.id)) if c.target_port == port]

    def input_var(self, node: Node, port: str = "in") -> str:
        connection = self.connections(node, port)[0]
        return self.port_var(connection.source, connection.source_port)

    def used_ports(self, node: Node) -> list[str]:
        """The node's output ports that feed something, in the spec's order."""
        assert self.analysis.graph is not None
        used = {c.source_port for c in self.analysis.graph.outputs(NodeId(node.id))}
        return [port for port in self.spec(node).outputs if port in used]

    def expression_sql(self, node: Node, *keys: str | int) -> str:
        """The checked expression at config.<keys>, emitted in this back end's SQL dialect."""
        return self.analysis.expressions[self._path(node, keys)].sql(self.dialect)

    def text(self, node: Node, key: str) -> str:
        """A path/topic/table value with `${name}` replaced by parameter text."""
        return self.analysis.texts[self._path(node, (key,))]

    @staticmethod
    def _path(node: Node, keys: Iterable[str | int]) -> str:
        path = node.config_path
        for key in keys:
            path = join_path(path, key)
        return path
