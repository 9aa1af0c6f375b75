"""Validate and compile generated pipelines of 10 to 5,000 nodes for both engines.

Each repetition starts from an empty expression cache and does what the studio does with a new
document: validate it, compile it for Spark, compile it for Flink (the compilations reuse the
expressions the validation checked). Prints the median time of each step, the total (wall clock and
CPU), the time per node and the per-node time relative to the smallest size (1.0 = linear growth).
Target: a 1,000-node pipeline validates and compiles for both engines in under 1 s in all.

Shapes: `chains` (source -> 48 transforms -> sink, repeated), `deep` (one chain of all the nodes)
and `wide` (one source feeding pairs of filter -> sink). Every expression text is different, so
no step is measured from cached expressions of an earlier node.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import compiler  # noqa: E402
from compiler import expressions  # noqa: E402

CHAIN = 50  # nodes per source -> ... -> sink chain
SCHEMA = [{"name": "id", "type": "bigint"}, {"name": "amount", "type": "decimal(12,2)"}, {"name": "name", "type": "string"}]


def source(node_id: str, index: int) -> dict[str, Any]:
    return {"id": node_id, "type": "source.file",
            "config": {"path": f"in/{index}.csv", "format": "csv", "schema": SCHEMA}}


def sink(node_id: str, index: int) -> dict[str, Any]:
    return {"id": node_id, "type": "sink.file", "config": {"path": f"out/{index}", "format": "parquet", "mode": "overwrite"}}


def transform(node_id: str, index: int, step: int) -> dict[str, Any]:
    """Cycles filter / derive / select; `index` and `step` make every expression text unique."""
    kind = step % 3
    if kind == 0:
        return {"id": node_id, "type": "transform.filter",
                "config": {"condition": f"amount > {index * 1000 + step} OR name LIKE 'a%'"}}
    if kind == 1:
        return {"id": node_id, "type": "transform.derive",
                "config": {"columns": [{"name": "amount", "expression": f"round(amount * {index + 1}.{step:03d}, 2)"},
                                       {"name": "name", "expression": f"concat(upper(trim(name)), '{index}.{step}')"}]}}
    return {"id": node_id, "type": "transform.select",
            "config": {"columns": [{"name": "id"}, {"name": "amount"}, {"name": "name"}]}}


def edge(a: str, b: str) -> dict[str, Any]:
    return {"from": {"node": a, "port": "out"}, "to": {"node": b, "port": "in"}}


def chain(index: int, length: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A source, `length - 2` transforms and a sink."""
    prefix = f"c{index}_"
    nodes = [source(f"{prefix}src", index),
             *(transform(f"{prefix}t{step}", index, step) for step in range(length - 2)),
             sink(f"{prefix}out", index)]
    return nodes, [edge(a["id"], b["id"]) for a, b in zip(nodes, nodes[1:])]


def document(size: int, shape: str = "chains") -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    if shape == "wide":
        nodes.append(source("src", 0))
        for index in range((size - 1) // 2):
            nodes += [transform(f"f{index}", index, 0), sink(f"o{index}", index)]
            edges += [edge("src", f"f{index}"), edge(f"f{index}", f"o{index}")]
    else:
        length = size if shape == "deep" else CHAIN
        index = 0
        while len(nodes) < size:
            part_nodes, part_edges = chain(index, min(length, max(2, size - len(nodes))))
            nodes += part_nodes
            edges += part_edges
            index += 1
    return {"format": "studio.pipeline/v1", "name": f"bench_{size}", "mode": "batch", "parameters": [],
            "nodes": nodes, "edges": edges}


def steps(doc: dict[str, Any]) -> dict[str, float]:
    """One cold run: validate, compile for Spark, compile for Flink; seconds per step."""
    expressions.clear_cache()
    times: dict[str, float] = {}
    cpu = time.process_time()
    started = time.perf_counter()
    result = compiler.validate(doc)
    if not result.valid:
        raise SystemExit(f"the generated pipeline is invalid: {result.errors[0].message}")
    times["validate"] = time.perf_counter() - started
    for engine in ("spark", "flink"):
        started = time.perf_counter()
        compiler.compile_pipeline(doc, engine=engine)
        times[engine] = time.perf_counter() - started
    times["total"] = times["validate"] + times["spark"] + times["flink"]
    times["cpu"] = time.process_time() - cpu
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000,5000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shape", choices=("chains", "deep", "wide"), default="chains")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"shape: {args.shape}; medians of {args.repeat} cold runs (wall clock; cpu = process CPU time)")
    print(f"{'nodes':>6} {'validate':>10} {'+spark':>10} {'+flink':>10} {'total':>10} {'cpu':>10} "
          f"{'us/node':>9} {'vs smallest':>11}")
    base_per_node = None
    for size in sizes:
        doc = document(size, args.shape)
        runs = [steps(doc) for _ in range(args.repeat)]
        median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        per_node = median["total"] / size * 1e6
        base_per_node = base_per_node or per_node
        shown = " ".join(f"{median[key] * 1000:8.1f}ms" for key in ("validate", "spark", "flink", "total", "cpu"))
        print(f"{len(doc['nodes']):>6} {shown} {per_node:9.1f} {per_node / base_per_node:10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
