"""Validate and compile generated pipelines of 10 to 5,000 nodes for both engines.

Prints, per size: the time to validate (engine-neutral), and to validate + compile for Spark and for
Flink, the time per node, and the per-node time relative to the smallest size (1.0 = linear growth).
Target: a 1,000-node pipeline validates and compiles for both engines in under 1 s in all.
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

CHAIN = 50  # nodes per source -> ... -> sink chain


def chain(index: int, length: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A source, `length - 2` transforms cycling filter/derive/select, and a sink. Every expression
    text is different, so nothing is measured from a cache of parsed expressions."""
    prefix = f"c{index}_"
    nodes: list[dict[str, Any]] = [{
        "id": f"{prefix}src", "type": "source.file",
        "config": {"path": f"in/{index}.csv", "format": "csv",
                   "schema": [{"name": "id", "type": "bigint"}, {"name": "amount", "type": "decimal(12,2)"},
                              {"name": "name", "type": "string"}]},
    }]
    for step in range(length - 2):
        node_id = f"{prefix}t{step}"
        kind = step % 3
        if kind == 0:
            node = {"id": node_id, "type": "transform.filter", "config": {"condition": f"amount > {step} OR name LIKE 'a%'"}}
        elif kind == 1:
            node = {"id": node_id, "type": "transform.derive",
                    "config": {"columns": [{"name": "amount", "expression": f"round(amount * 1.{step:03d}, 2)"},
                                           {"name": "name", "expression": f"concat(upper(trim(name)), '{index}')"}]}}
        else:
            node = {"id": node_id, "type": "transform.select",
                    "config": {"columns": [{"name": "id"}, {"name": "amount"}, {"name": "name"}]}}
        nodes.append(node)
    nodes.append({"id": f"{prefix}out", "type": "sink.file",
                  "config": {"path": f"out/{index}", "format": "parquet", "mode": "overwrite"}})
    edges = [{"from": {"node": a["id"], "port": "out"}, "to": {"node": b["id"], "port": "in"}}
             for a, b in zip(nodes, nodes[1:])]
    return nodes, edges


def document(size: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    index = 0
    while len(nodes) < size:
        part_nodes, part_edges = chain(index, min(CHAIN, max(2, size - len(nodes))))
        nodes += part_nodes
        edges += part_edges
        index += 1
    return {"format": "studio.pipeline/v1", "name": f"bench_{size}", "mode": "batch", "parameters": [],
            "nodes": nodes, "edges": edges}


def timed(call: Any, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def compile_or_reason(doc: dict[str, Any], engine: str) -> str | None:
    try:
        compiler.compile_pipeline(doc, engine=engine)
    except compiler.CompileError as error:
        return error.result.errors[0].message
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,100,1000,5000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'nodes':>6} {'validate':>10} {'spark':>10} {'flink':>10} {'total':>10} {'us/node':>9} {'vs smallest':>11}")
    base_per_node = None
    for size in sizes:
        doc = document(size)
        assert len(doc["nodes"]) == size
        validate = timed(lambda: compiler.validate(doc), args.repeat)
        engines = {}
        for engine in ("spark", "flink"):
            reason = compile_or_reason(doc, engine)
            engines[engine] = None if reason else timed(lambda e=engine: compiler.compile_pipeline(doc, engine=e), args.repeat)
            if reason:
                print(f"  ({engine} does not compile this pipeline: {reason})")
        total = validate + sum(t for t in engines.values() if t is not None)
        per_node = total / size * 1e6
        base_per_node = base_per_node or per_node
        shown = {e: f"{t * 1000:8.1f}ms" if t is not None else "       n/a" for e, t in engines.items()}
        print(f"{size:>6} {validate * 1000:8.1f}ms {shown['spark']:>10} {shown['flink']:>10} {total * 1000:8.1f}ms "
              f"{per_node:9.1f} {per_node / base_per_node:10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
