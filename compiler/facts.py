"""What the front end knows about a node beyond its config, for engine rules that depend on it:
whether its inputs and output are streams, where a watermark is defined, what its query uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compiler.document import Node
    from compiler.sql import Query

__all__ = ["InputFacts", "NodeFacts"]


@dataclass(frozen=True)
class InputFacts:
    """One edge into a node: the upstream port, whether it is a stream, and its watermark column."""

    node: str
    port: str
    streaming: bool
    watermark: str | None


@dataclass(frozen=True)
class NodeFacts:
    node: Node
    mode: str
    streaming: bool  # the node's output is a stream (a streaming source or a stream upstream)
    inputs: Mapping[str, Sequence[InputFacts]] = field(default_factory=dict)
    query: Query | None = None  # transform.sql only, when the query checked
    known: bool = True  # the node's output columns are known when it compiles

    def input(self, port: str = "in") -> InputFacts | None:
        found = self.inputs.get(port) or []
        return found[0] if found else None
