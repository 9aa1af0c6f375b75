"""The pipeline as a directed graph of node ports, over networkx, with the checks the format asks for."""

from __future__ import annotations

import heapq
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
        return self._reachable({n for cycle in self.cycles() for n in cycle}, self._out_of, "target")

    def topological_order(self, exclude: Iterable[NodeId] = ()) -> list[NodeId]:
        """Nodes so that every node comes after its inputs; ties keep document order, so output is stable.

        Kahn's algorithm with the ready nodes in a heap by document position: O(E + N log N).
        """
        skipped = set(exclude)
        waiting = {n: 0 for n in self._order if n not in skipped}
        for node in waiting:
            for c in self._into[node]:
                if c.source in waiting:
                    waiting[node] += 1
        ready = [(self._order[n], n) for n, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order: list[NodeId] = []
        while ready:
            _, node = heapq.heappop(ready)
            order.append(node)
            for c in self._out_of[node]:
                if c.target in waiting:
                    waiting[c.target] -= 1
                    if waiting[c.target] == 0:
                        heapq.heappush(ready, (self._order[c.target], c.target))
        return order

    def not_reaching(self, sinks: Iterable[NodeId]) -> list[NodeId]:
        """Nodes from which no path leads to any of `sinks`, in document order."""
        reaching = self._reachable(set(sinks), self._into, "source")
        return [n for n in self._order if n not in reaching]

    @staticmethod
    def _reachable(start: set[NodeId], edges: Mapping[NodeId, list[Connection]], end: str) -> set[NodeId]:
        """`start` and every node reached from it along `edges` (one walk for all starting nodes)."""
        found = set(start)
        stack = list(start)
        while stack:
            for c in edges.get(stack.pop(), ()):
                node: NodeId = getattr(c, end)
                if node not in found:
                    found.add(node)
                    stack.append(node)
        return found

    def upstream(self, node: NodeId) -> Mapping[str, list[NodeId]]:
        """Upstream node ids per input port."""
        ports: dict[str, list[NodeId]] = {}
        for c in self.inputs(node):
            ports.setdefault(c.target_port, []).append(c.source)
        return ports
