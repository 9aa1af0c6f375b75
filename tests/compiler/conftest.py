"""Fixtures for compiler tests: a canonical valid document, and `run_job`, which runs a generated
Spark job in the test session's one SparkSession (tests/conftest.py; started on first use, so the pure
tests never pay for it)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ORDERS_DOCUMENT: dict[str, Any] = {
    "format": "studio.pipeline/v1",
    "name": "orders_daily",
    "description": "Big orders of the day",
    "mode": "batch",
    "parameters": [
        {"name": "run_date", "type": "date", "default": "2026-01-01"},
        {"name": "min_amount", "type": "int", "default": 100},
    ],
    "nodes": [
        {
            "id": "orders",
            "type": "source.file",
            "label": "Raw orders",
            "config": {
                "path": "data/orders/*.csv",
                "format": "csv",
                "options": {"header": True},
                "schema": [
                    {"name": "order_id", "type": "bigint", "nullable": False},
                    {"name": "amount", "type": "decimal(12,2)"},
                    {"name": "order_date", "type": "date"},
                    {"name": "customer", "type": "string"},
                ],
            },
            "position": {"x": 80, "y": 120},
        },
        {"id": "big", "type": "transform.filter", "config": {"condition": "amount > ${min_amount}"}},
        {"id": "out", "type": "sink.file", "config": {"path": "out/big", "format": "parquet"}},
    ],
    "edges": [
        {"from": {"node": "orders", "port": "out"}, "to": {"node": "big", "port": "in"}},
        {"from": {"node": "big", "port": "out"}, "to": {"node": "out", "port": "in"}},
    ],
}


@pytest.fixture
def orders_document() -> dict[str, Any]:
    """source.file (csv) -> transform.filter -> sink.file (parquet); valid for spark."""
    return copy.deepcopy(ORDERS_DOCUMENT)


@pytest.fixture
def run_job(spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Compile a document for Spark and run its build(spark) with the data folder (tmp_path) as the
    working directory, as the runner does. Returns the generated code."""
    from compiler import compile_pipeline

    def run(document: dict[str, Any], parameters: dict[str, object] | None = None) -> str:
        job = compile_pipeline(document, engine="spark", parameters=parameters)
        namespace: dict[str, Any] = {"__name__": "generated_job"}
        exec(compile(job.code, "<generated job>", "exec"), namespace)
        monkeypatch.chdir(tmp_path)
        namespace["build"](spark)
        return job.code

    return run
