"""Which back end can run which node type in which mode: a declared table, never an accident.

To make a back end support a node type, add its (type, engine, mode) to `_SUPPORTED` and give the
back end its `visit_<kind>` method; a test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from compiler.document import MODES
from compiler.nodes import NODE_SPECS

__all__ = ["CAPABILITIES", "ENGINES", "Support", "support"]

ENGINES: tuple[str, ...] = ("spark", "flink")


@dataclass(frozen=True)
class Support:
    """Whether an engine runs a node type in a mode; `reason` completes "Node 'x': <type> ..."."""

    supported: bool
    reason: str = ""


_SUPPORTED: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("source.file", "spark", "batch"),
        ("transform.filter", "spark", "batch"),
        ("transform.select", "spark", "batch"),
        ("transform.derive", "spark", "batch"),
        ("sink.file", "spark", "batch"),
    }
)


def _declare(node_type: str, engine: str, mode: str) -> Support:
    if (node_type, engine, mode) in _SUPPORTED:
        return Support(True)
    in_mode = " in streaming mode" if mode == "streaming" else ""
    return Support(False, f"{node_type}{in_mode} is not supported yet by the {engine} back end")


CAPABILITIES: Mapping[tuple[str, str, str], Support] = {
    (node_type, engine, mode): _declare(node_type, engine, mode)
    for node_type in NODE_SPECS
    for engine in ENGINES
    for mode in MODES
}


def support(node_type: str, engine: str, mode: str) -> Support:
    """Look up the table; pairs outside it (unknown engines or types) are unsupported."""
    return CAPABILITIES.get(
        (node_type, engine, mode), Support(False, f"{node_type} is not supported by the {engine} back end")
    )
