"""The pipeline as a directed graph of node ports, over networkx, with the checks the format asks for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NewType

import networkx as nx

__all__ = ["Connection", "NodeId", "PipelineGraph"]

NodeId = NewType("NodeId", str)


@dataclass(frozen=True)
class Connection:
    """One edge: from a node's output port to a node's input port; `index` is its place in `$.edges`."""

    index: int
    source: NodeId
    source_port: str
    target: NodeId
    target_port: str


class PipelineGraph:
    """Nodes in document order and the connections between their ports (several may join two nodes)."""

    def __init__(self, nodes: Sequence[NodeId]) -> None:
        self._order = {node: i for i, node in enumerate(nodes)}
        self._graph: nx.MultiDiGraph = nx.MultiDiGraph()
        self._graph.add_nodes_from(nodes)
        self._into: dict[NodeId, list[Connection]] = {node: [] for node in nodes}
        self._out_of: dict[NodeId, list[Connection]] = {node: [] for node in nodes}

    @property
    def nodes(self) -> list[NodeId]:
        return sorted(self._graph.nodes, key=self._order.__getitem__)

    def __contains__(self, node: object) -> bool:
        return node in self._order

    def connect(self, connection: Connection) -> None:
        self._graph.add_edge(connection.source, connection.target, key=connection.index, connection=connection)
        self._into[connection.target].append(connection)
        self._out_of[connection.source].append(connection)

    def inputs(self, node: NodeId) -> list[Connection]:
        """Connections into a node, in document order (edges are connected in document order)."""
        return list(self._into.get(node, ()))

    def outputs(self, node: NodeId) -> list[Connection]:
        return list(self._out_of.get(node, ()))

    def cycles(self) -> list[list[NodeId]]:
        """One cycle per strongly connected part, as a closed path starting at its earliest node."""
        found: list[list[NodeId]] = []
        for component in nx.strongly_connected_components(self._graph):
            start = min(component, key=self._order.__getitem__)
            if len(component) == 1 and not self._graph.has_edge(start, start):
                continue
            edges = nx.find_cycle(self._graph.subgraph(component), source=start)
            ring = [edge[0] for edge in edges]
            first = min(range(len(ring)), key=lambda i: self._order[ring[i]])
            ring = ring[first:] + ring[:first]
            found.append([*ring, ring[0]])
        return sorted(found, key=lambda p: self._order[p[0]])

    def connection_between(self, source: NodeId, target: NodeId) -> Connection:
        """The first connection from source to target (used to point at the edge closing a cycle)."""
        keys = sorted(self._graph.get_edge_data(source, target) or {})
        return self._graph.edges[source, target, keys[0]]["connection"]  # type: ignore[no-any-return]

    def cyclic_nodes(self) -> set[NodeId]:
        """Nodes on a cycle or downstream of one: they have no well-defined input schema."""
        on_cycle = {n for cycle in self.cycles() for n in cycle}
        tainted = set(on_cycle)
        for node in on_cycle:
            tainted |= nx.descendants(self._graph, node)
        return tainted

    def topological_order(self, exclude: Iterable[NodeId] = ()) -> list[NodeId]:
        """Nodes so that every node comes after its inputs; ties keep document order, so output is stable."""
        skipped = set(exclude)
        graph = self._graph.subgraph(n for n in self._graph.nodes if n not in skipped)
        return list(nx.lexicographical_topological_sort(graph, key=lambda n: f"{self._order[n]:09d}"))

    def not_reaching(self, sinks: Iterable[NodeId]) -> list[NodeId]:
        """Nodes from which no path leads to any of `sinks`, in document order."""
        targets = set(sinks)
        reaching = set(targets)
        for sink in targets:
            reaching |= nx.ancestors(self._graph, sink)
        return [n for n in self.nodes if n not in reaching]

    def upstream(self, node: NodeId) -> Mapping[str, list[NodeId]]:
        """Upstream node ids per input port."""
        ports: dict[str, list[NodeId]] = {}
        for c in self.inputs(node):
            ports.setdefault(c.target_port, []).append(c.source)
        return ports
