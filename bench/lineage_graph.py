"""Lineage at workspace scale: save N pipelines that chain datasets, then walk the graph.

Each pipeline reads the dataset the previous one wrote (plus a shared reference file) and writes a
new one, with a join, derived columns and a filter, so the workspace's lineage is a chain of N
datasets with 12 column edges per pipeline. Measured, as medians of 5 repetitions, on a fresh
SQLite database: the save with its lineage (per pipeline), the dataset graph from the first dataset
downstream to any depth, the column graph of one column downstream, and the impact analysis of
dropping it. Prints each size's figures and the per-pipeline time relative to the smallest size
(1.0 = linear growth in the number of pipelines).

    .venv/bin/python bench/lineage_graph.py --sizes 25 100 400
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLUMNS = [{"name": "id", "type": "bigint"}, {"name": "amount", "type": "decimal(12,2)"},
           {"name": "region", "type": "string"}]


def document(index: int) -> dict[str, Any]:
    """Pipeline `index`: link/<index-1> joined with regions.csv -> link/<index>."""
    source = f"link/{index - 1}" if index else "raw/orders.csv"
    return {
        "format": "studio.pipeline/v1", "name": f"p{index}", "mode": "batch",
        "nodes": [
            {"id": "prev", "type": "source.file",
             "config": {"path": source, "format": "csv", "schema": COLUMNS}},
            {"id": "regions", "type": "source.file",
             "config": {"path": "ref/regions.csv", "format": "csv",
                        "schema": [{"name": "region", "type": "string"}, {"name": "zone", "type": "string"}]}},
            {"id": "joined", "type": "transform.join", "config": {"how": "left", "on": [{"left": "region", "right": "region"}]}},
            {"id": "priced", "type": "transform.derive",
             "config": {"columns": [{"name": "amount", "expression": f"amount * {index + 1}"}]}},
            {"id": "kept", "type": "transform.filter", "config": {"condition": "amount > 0"}},
            {"id": "keep", "type": "transform.select", "config": {"columns": [{"name": c["name"]} for c in COLUMNS]}},
            {"id": "out", "type": "sink.file", "config": {"path": f"link/{index}", "format": "csv"}},
        ],
        "edges": [
            {"from": {"node": "prev", "port": "out"}, "to": {"node": "joined", "port": "left"}},
            {"from": {"node": "regions", "port": "out"}, "to": {"node": "joined", "port": "right"}},
            {"from": {"node": "joined", "port": "out"}, "to": {"node": "priced", "port": "in"}},
            {"from": {"node": "priced", "port": "out"}, "to": {"node": "kept", "port": "in"}},
            {"from": {"node": "kept", "port": "out"}, "to": {"node": "keep", "port": "in"}},
            {"from": {"node": "keep", "port": "out"}, "to": {"node": "out", "port": "in"}},
        ],
    }


def median_seconds(work: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(size: int) -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from studio.access.services import workspace_create
    from studio.catalog.models import Dataset
    from studio.lineage import selectors
    from studio.pipelines.services import pipeline_create

    call_command("flush", interactive=False, verbosity=0)
    user = get_user_model().objects.create_superuser("bench", password="bench")
    workspace = workspace_create(slug=f"bench{size}", name="Bench")
    started = time.perf_counter()
    for index in range(size):
        pipeline_create(workspace=workspace, name=f"p{index}", user=user, document=document(index))
    save = (time.perf_counter() - started) / size
    first = Dataset.objects.get(workspace=workspace, name="raw/orders.csv")
    graph = selectors.lineage_graph(user=user, dataset=first, direction="downstream")
    assert len(graph["datasets"]) == size + 1, len(graph["datasets"])
    return {
        "save_ms_per_pipeline": save * 1000,
        "graph_ms": median_seconds(lambda: selectors.lineage_graph(user=user, dataset=first, direction="downstream")) * 1000,
        "column_ms": median_seconds(lambda: selectors.lineage_graph(user=user, dataset=first, direction="downstream",
                                                                    column="amount")) * 1000,
        "impact_ms": median_seconds(lambda: selectors.impact(user=user, dataset=first, column="amount")) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 100, 400])
    args = parser.parse_args()
    os.environ["STUDIO_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-lineage-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    print(f"{'pipelines':>9} {'save/pipeline':>14} {'graph':>9} {'column':>9} {'impact':>9} {'graph per pipeline vs first':>28}")
    baseline: float | None = None
    for size in args.sizes:
        figures = measure(size)
        per_pipeline = figures["graph_ms"] / size
        baseline = baseline or per_pipeline
        print(f"{size:>9} {figures['save_ms_per_pipeline']:>11.1f} ms {figures['graph_ms']:>6.1f} ms "
              f"{figures['column_ms']:>6.1f} ms {figures['impact_ms']:>6.1f} ms {per_pipeline / baseline:>28.2f}")


if __name__ == "__main__":
    main()
