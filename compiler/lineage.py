"""Column-level and dataset-level lineage, inferred by the front end together with the schemas.

For every output column of every node port: the upstream (node, port, column) values it is made
from and how (`identity`, `expression`, `aggregation`, `join_key`). Columns that decide which rows
a node passes on (filter and quality conditions, join keys, deduplication keys, SQL WHERE/ON) are
recorded once per node under `rows`, with `how` `filter` or `join_key`. Sources and sinks name the
datasets they read and write (`file:<path>`, `kafka:<topic>`, `iceberg:<table>`); for each written
dataset, `columns` follows the graph back to the read datasets' columns.

Everything is plain data in a stable order, so `to_dict()` is JSON and the same document always
gives the same lineage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["HOW", "DatasetRef", "Dependency", "Lineage", "strongest"]

How = Literal["identity", "expression", "aggregation", "join_key", "filter"]
# From the weakest to the strongest change of a value; a chain of steps is as strong as its strongest.
HOW: tuple[str, ...] = ("identity", "join_key", "expression", "aggregation", "filter")


def strongest(hows: Iterable[str]) -> str:
    return max(hows, key=HOW.index, default="identity")


@dataclass(frozen=True, order=True)
class Dependency:
    """One input value of an output column: upstream node, its output port, the column, and how."""

    node: str
    port: str
    column: str
    how: str

    def to_dict(self) -> dict[str, str]:
        return {"node": self.node, "port": self.port, "column": self.column, "how": self.how}


@dataclass(frozen=True)
class DatasetRef:
    """A dataset a source reads or a sink writes; `columns` (outputs only) traces each written column
    back to the columns of the datasets read: {column: [(dataset, column, how)]}."""

    node: str
    dataset: str
    columns: Mapping[str, Sequence[tuple[str, str, str]]] | None = None

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"node": self.node, "dataset": self.dataset}
        if self.columns is not None:
            data["columns"] = {
                column: [{"dataset": d, "column": c, "how": h} for d, c, h in sources]
                for column, sources in self.columns.items()
            }
        return data


@dataclass
class Lineage:
    """`columns[node][port][column]` -> dependencies; `rows[node]` -> row-deciding dependencies."""

    columns: dict[str, dict[str, dict[str, list[Dependency]]]] = field(default_factory=dict)
    rows: dict[str, list[Dependency]] = field(default_factory=dict)
    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "columns": {
                node: {
                    port: {column: [d.to_dict() for d in deps] for column, deps in columns.items()}
                    for port, columns in ports.items()
                }
                for node, ports in self.columns.items()
            },
            "rows": {node: [d.to_dict() for d in deps] for node, deps in self.rows.items()},
            "datasets": {
                "inputs": [d.to_dict() for d in self.inputs],
                "outputs": [d.to_dict() for d in self.outputs],
            },
        }

    def trace(self, node: str, port: str, column: str) -> list[tuple[str, str, str]]:
        """The source columns (node, column, how) a column is made from, following every path back."""
        found: dict[tuple[str, str], str] = {}
        stack: list[tuple[str, str, str, str]] = [(node, port, column, "identity")]
        seen: set[tuple[str, str, str, str]] = set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            at_node, at_port, at_column, how = current
            deps = self.columns.get(at_node, {}).get(at_port, {}).get(at_column)
            if not deps:
                key = (at_node, at_column)
                found[key] = strongest([found.get(key, "identity"), how])
                continue
            for dep in deps:
                stack.append((dep.node, dep.port, dep.column, strongest([how, dep.how])))
        return sorted((n, c, h) for (n, c), h in found.items())
