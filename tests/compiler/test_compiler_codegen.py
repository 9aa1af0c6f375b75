"""Generated code: snapshot files per representative pipeline, plus the properties every program has.

Snapshots live in tests/compiler/snapshots/<case>.py and are compared exactly. After an intended
change to the generated code, rewrite them with `UPDATE_SNAPSHOTS=1` and review the diff.
"""

from __future__ import annotations

import ast
import copy
import io
import os
import subprocess
import sys
import tokenize
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

import compiler
from compiler import CompileError, compile_pipeline
from compiler.backends import BACKENDS
from compiler.capabilities import CAPABILITIES
from compiler.nodes import NODE_SPECS
from tests.snapshots import assert_snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"
REPO = Path(__file__).resolve().parents[2]


def _edge(a: str, b: str) -> dict[str, Any]:
    return {"from": {"node": a, "port": "out"}, "to": {"node": b, "port": "in"}}


def orders_daily(base: dict[str, Any]) -> dict[str, Any]:
    """CSV -> filter with parameters -> derive -> select with casts -> parquet; parameter in the path."""
    document = copy.deepcopy(base)
    document["nodes"][0]["config"]["path"] = "data/orders/${run_date}/*.csv"
    document["nodes"][1]["config"]["condition"] = "amount > ${min_amount} AND order_date <= ${run_date}"
    document["nodes"][2:2] = [
        {
            "id": "enriched",
            "type": "transform.derive",
            "label": "Totals",
            "config": {
                "columns": [
                    {"name": "total", "expression": "round(amount * 1.2, 2)"},
                    {"name": "band", "expression": "CASE WHEN total >= 1000 THEN 'large' ELSE 'normal' END"},
                ]
            },
        },
        {
            "id": "slim",
            "type": "transform.select",
            "config": {
                "columns": [
                    {"name": "order_id"},
                    {"name": "customer", "alias": "client"},
                    {"name": "total", "type": "double"},
                    {"name": "band"},
                ]
            },
        },
    ]
    ids = ["orders", "big", "enriched", "slim", "out"]
    document["edges"] = [_edge(a, b) for a, b in pairwise(ids)]
    return document


def json_to_csv(base: dict[str, Any]) -> dict[str, Any]:
    """JSON source -> filter on text and timestamps -> partitioned CSV sink (appending)."""
    return {
        "format": "studio.pipeline/v1",
        "name": "events to csv",
        "parameters": [{"name": "since", "type": "timestamp", "default": "2026-01-01 00:00:00"}],
        "nodes": [
            {
                "id": "events",
                "type": "source.file",
                "config": {
                    "path": "landing/events/*.json",
                    "format": "json",
                    "schema": [
                        {"name": "kind", "type": "string"},
                        {"name": "at", "type": "timestamp"},
                        {"name": "payload", "type": "string"},
                        {"name": "day", "type": "date"},
                    ],
                },
            },
            {
                "id": "recent",
                "type": "transform.filter",
                "label": "Recent clicks",
                "config": {"condition": "kind IN ('click', 'view') AND at >= ${since} AND payload IS NOT NULL"},
            },
            {
                "id": "to_csv",
                "type": "sink.file",
                "config": {"path": "curated/events", "format": "csv", "mode": "append", "partition_by": ["day"]},
            },
        ],
        "edges": [_edge("events", "recent"), _edge("recent", "to_csv")],
    }


def reserved_names(base: dict[str, Any]) -> dict[str, Any]:
    """Parquet without schema; node ids that are Python keywords or names the program uses; a
    semicolon-delimited CSV without header; one source feeding two branches."""
    return {
        "format": "studio.pipeline/v1",
        "name": "reserved",
        "nodes": [
            {"id": "spark", "type": "source.file", "config": {"path": "in/data.parquet", "format": "parquet"}},
            {"id": "if", "type": "transform.derive", "config": {"columns": [{"name": "x", "expression": "a + 1"}]}},
            {"id": "node_if", "type": "sink.file", "config": {"path": "out/a", "format": "json"}},
            {
                "id": "os",
                "type": "source.file",
                "config": {
                    "path": "in/plain.txt",
                    "format": "csv",
                    "options": {"header": False, "delimiter": ";"},
                    "schema": [{"name": "a", "type": "int"}],
                },
            },
            {"id": "build", "type": "sink.file", "config": {"path": "out/b", "format": "parquet"}},
            {"id": "main", "type": "sink.file", "config": {"path": "out/c", "format": "parquet"}},
        ],
        "edges": [_edge("spark", "if"), _edge("if", "node_if"), _edge("os", "build"), _edge("os", "main")],
    }


def hostile_text(base: dict[str, Any]) -> dict[str, Any]:
    """User text with quotes, backslashes, newlines and comment markers in every place text can go."""
    document = copy.deepcopy(base)
    document["name"] = 'evil """ name\\'
    document["parameters"].append({"name": "who", "type": "string", "default": "O'Brien\" \\ \n--"})
    document["nodes"][0]["label"] = 'Raw\nimport os; os.system(\'rm -rf /\') # """ \r\u2028\x00end'
    document["nodes"][0]["config"]["path"] = 'data/it\'s "quoted"\\n/*.csv'
    document["nodes"][1]["config"]["condition"] = (
        'customer = ${who} OR customer = \'x\\\'); __import__("os") --\' OR customer = "a /* b"'
    )
    document["nodes"][2]["config"]["path"] = "out/\"); print('pwned'); (\""
    return document


CUSTOMERS_SOURCE = {
    "id": "customers",
    "type": "source.file",
    "config": {
        "path": "data/customers.csv",
        "format": "csv",
        "schema": [{"name": "customer", "type": "string"}, {"name": "region", "type": "string"}],
    },
}


def joins_and_aggregates(base: dict[str, Any]) -> dict[str, Any]:
    """A left join with an extra condition, an aggregation per region and time windows per day."""
    document = copy.deepcopy(base)
    document["nodes"][2:] = [
        CUSTOMERS_SOURCE,
        {
            "id": "enriched",
            "type": "transform.join",
            "label": "Orders with their region",
            "config": {
                "how": "left",
                "on": [{"left": "customer", "right": "customer"}],
                "condition": "region <> 'test' AND left.amount > 0",
            },
        },
        {
            "id": "per_region",
            "type": "transform.aggregate",
            "config": {
                "group_by": ["region"],
                "aggregations": [
                    {"name": "orders", "function": "count"},
                    {"name": "customers", "function": "count_distinct", "column": "customer"},
                    {"name": "total", "function": "sum", "column": "amount"},
                    {"name": "average", "function": "avg", "column": "amount"},
                ],
            },
        },
        {
            "id": "daily",
            "type": "transform.window_aggregate",
            "config": {
                "time_column": "order_date",
                "window": {"type": "hopping", "size": "2 days", "slide": "1 day"},
                "group_by": ["region"],
                "aggregations": [{"name": "biggest", "function": "max", "column": "amount"}],
            },
        },
        {"id": "regions_out", "type": "sink.file", "config": {"path": "out/regions", "format": "parquet"}},
        {"id": "daily_out", "type": "sink.file", "config": {"path": "out/daily", "format": "json"}},
    ]
    document["edges"] = [
        _edge("orders", "big"),
        {"from": {"node": "big", "port": "out"}, "to": {"node": "enriched", "port": "left"}},
        {"from": {"node": "customers", "port": "out"}, "to": {"node": "enriched", "port": "right"}},
        _edge("enriched", "per_region"),
        _edge("enriched", "daily"),
        _edge("per_region", "regions_out"),
        _edge("daily", "daily_out"),
    ]
    return document


def dedup_union_sort_limit(base: dict[str, Any]) -> dict[str, Any]:
    """The latest order per customer from two sources (union by name, missing columns NULL), the
    ten biggest first."""
    document = copy.deepcopy(base)
    document["nodes"][1:] = [
        {
            "id": "archive",
            "type": "source.file",
            "config": {
                "path": "data/archive.parquet",
                "format": "parquet",
                "schema": [{"name": "order_id", "type": "int"}, {"name": "customer", "type": "string"}],
            },
        },
        {"id": "all_orders", "type": "transform.union", "config": {"allow_missing": True}},
        {
            "id": "latest",
            "type": "transform.deduplicate",
            "config": {"keys": ["customer"], "order_by": {"column": "order_date"}, "keep": "last"},
        },
        {
            "id": "biggest",
            "type": "transform.sort",
            "config": {"order": [{"column": "amount", "direction": "desc"}, {"column": "customer", "nulls": "last"}]},
        },
        {"id": "top", "type": "transform.limit", "config": {"n": 10}},
        {"id": "out", "type": "sink.file", "config": {"path": "out/top", "format": "csv"}},
    ]
    document["edges"] = [
        _edge("orders", "all_orders"),
        _edge("archive", "all_orders"),
        _edge("all_orders", "latest"),
        _edge("latest", "biggest"),
        _edge("biggest", "top"),
        _edge("top", "out"),
    ]
    return document


def sql_quality_alerts(base: dict[str, Any]) -> dict[str, Any]:
    """A SQL query over two inputs, quality rules with every on_fail, rejected rows to their own
    files, and an alert per large order."""
    document = copy.deepcopy(base)
    document["nodes"][1:] = [
        CUSTOMERS_SOURCE,
        {
            "id": "by_region",
            "type": "transform.sql",
            "config": {
                "query": "SELECT o.order_id, o.amount, c.region, '{not a field}' AS note FROM orders o "
                "JOIN customers c ON o.customer = c.customer WHERE o.order_date <= ${run_date}"
            },
        },
        {
            "id": "checked",
            "type": "transform.quality",
            "config": {
                "rules": [
                    {"name": "has_region", "expression": "region IS NOT NULL", "on_fail": "quarantine"},
                    {"name": "positive", "expression": "amount > 0", "on_fail": "drop"},
                    {"name": "plausible", "expression": "amount < 1000000", "on_fail": "fail"},
                    {"name": "round_sum", "expression": "amount = round(amount, 0)", "on_fail": "warn"},
                ]
            },
        },
        {"id": "good", "type": "sink.file", "config": {"path": "out/good", "format": "parquet"}},
        {"id": "quarantine", "type": "sink.file", "config": {"path": "out/quarantine", "format": "json"}},
        {
            "id": "large",
            "type": "sink.alert",
            "config": {"condition": "amount > 10000", "message": "Order {order_id}: {amount} in {region}"},
        },
    ]
    document["edges"] = [
        _edge("orders", "by_region"),
        _edge("customers", "by_region"),
        _edge("by_region", "checked"),
        _edge("checked", "good"),
        {"from": {"node": "checked", "port": "rejected"}, "to": {"node": "quarantine", "port": "in"}},
        _edge("checked", "large"),
    ]
    return document


def streaming_files(base: dict[str, Any]) -> dict[str, Any]:
    """A watched folder -> row-by-row SQL -> quality (fail stops the stream) -> 1-minute windows with a
    watermark -> files, plus alerts; checkpoints and triggers come from the runner's environment."""
    return {
        "format": "studio.pipeline/v1",
        "name": "clicks per minute",
        "mode": "streaming",
        "nodes": [
            {
                "id": "clicks",
                "type": "source.file",
                "config": {
                    "path": "landing/clicks/*.json",
                    "format": "json",
                    "streaming": True,
                    "schema": [
                        {"name": "user_id", "type": "bigint"},
                        {"name": "page", "type": "string"},
                        {"name": "at", "type": "timestamp"},
                    ],
                },
            },
            {"id": "pages", "type": "transform.sql", "config": {"query": "SELECT * FROM clicks WHERE page <> ''"}},
            {
                "id": "checked",
                "type": "transform.quality",
                "config": {"rules": [{"name": "has_time", "expression": "at IS NOT NULL", "on_fail": "fail"}]},
            },
            {
                "id": "per_minute",
                "type": "transform.window_aggregate",
                "config": {
                    "time_column": "at",
                    "window": {"type": "tumbling", "size": "1 minute"},
                    "watermark": "30 seconds",
                    "group_by": ["page"],
                    "aggregations": [{"name": "views", "function": "count"}],
                },
            },
            {"id": "out", "type": "sink.file", "config": {"path": "curated/per_minute", "format": "parquet"}},
            {
                "id": "home_alert",
                "type": "sink.alert",
                "config": {"condition": "page = '/'", "message": "{user_id} is home", "severity": "info"},
            },
        ],
        "edges": [
            _edge("clicks", "pages"),
            _edge("pages", "checked"),
            _edge("checked", "per_minute"),
            _edge("per_minute", "out"),
            _edge("checked", "home_alert"),
        ],
    }


CASES = {
    "orders_daily": orders_daily,
    "json_to_csv": json_to_csv,
    "reserved_names": reserved_names,
    "hostile_text": hostile_text,
    "joins_and_aggregates": joins_and_aggregates,
    "dedup_union_sort_limit": dedup_union_sort_limit,
    "sql_quality_alerts": sql_quality_alerts,
    "streaming_files": streaming_files,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_code_matches_snapshot(orders_document: dict[str, Any], case: str) -> None:
    job = compile_pipeline(CASES[case](orders_document), engine="spark")
    ast.parse(job.code)
    assert_snapshot(SNAPSHOTS, case, job.code)


def test_output_is_deterministic_and_ignores_key_order_and_positions(orders_document: dict[str, Any]) -> None:
    document = orders_daily(orders_document)
    shuffled = copy.deepcopy(document)
    shuffled["nodes"][0] = dict(reversed(list(shuffled["nodes"][0].items())))
    shuffled["nodes"][0]["config"] = dict(reversed(list(shuffled["nodes"][0]["config"].items())))
    shuffled["nodes"][0]["position"] = {"x": 999, "y": -1}
    assert compile_pipeline(document).code == compile_pipeline(document).code == compile_pipeline(shuffled).code


def test_compiled_job_carries_resolved_parameters(orders_document: dict[str, Any]) -> None:
    job = compile_pipeline(orders_daily(orders_document), parameters={"run_date": "2026-03-04"})
    assert job.engine == "spark"
    assert job.parameters == {"run_date": "2026-03-04", "min_amount": 100}
    assert '.load(os.path.abspath("data/orders/2026-03-04/*.csv"))' in job.code
    assert "DATE '2026-03-04'" in job.code
    assert "Parameters: run_date=2026-03-04, min_amount=100." in job.code


def test_compile_error_carries_the_validation_result(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][1]["config"]["condition"] = "nope > 1"
    with pytest.raises(CompileError) as raised:
        compile_pipeline(orders_document)
    assert not raised.value.result.valid
    assert raised.value.result.errors[0].path == "$.nodes[1].config.condition"
    assert "column 'nope' does not exist" in str(raised.value)


def test_unsupported_node_types_fail_compilation_loudly_with_reasons(orders_document: dict[str, Any]) -> None:
    """An Iceberg source runs on Spark but not on Flink: compiling for Flink says so for that node."""
    orders_document["nodes"][0] = {"id": "orders", "type": "source.iceberg", "config": {"table": "raw.orders"}}
    compile_pipeline(orders_document, engine="spark")
    with pytest.raises(CompileError) as raised:
        compile_pipeline(orders_document, engine="flink")
    [error] = raised.value.result.errors
    assert (error.node, error.path) == ("orders", "$.nodes[0].type")
    assert error.message.startswith("Node 'orders': ") and "flink" in error.message


def test_capability_table_and_visitors_agree() -> None:
    """Every (type, engine) declared supported has a visitor; no visitor exists for an unsupported type."""
    for engine, backend in BACKENDS.items():
        for node_type, spec in NODE_SPECS.items():
            supported = any(CAPABILITIES[(node_type, engine, mode)].supported for mode in ("batch", "streaming"))
            assert hasattr(backend, spec.visitor) == supported, (engine, node_type)
    assert set(BACKENDS) <= set(compiler.ENGINES)


def test_comments_never_span_lines(orders_document: dict[str, Any]) -> None:
    """The only comments in build() are one header per node; label text never leaks onto a code line."""
    document = hostile_text(orders_document)
    code = compile_pipeline(document).code
    build = code[code.index("def build(") : code.index("def main(")]
    comments = [
        token.string
        for token in tokenize.generate_tokens(io.StringIO(build).readline)
        if token.type == tokenize.COMMENT
    ]
    assert comments == [
        '# orders: Raw\\nimport os; os.system(\'rm -rf /\') # """ \\r\\u2028\\x00end (source.file)',
        "# big: (transform.filter)",
        "# out: (sink.file)",
    ]


def test_public_api() -> None:
    assert compiler.ENGINES == ("spark", "flink")
    assert set(compiler.__all__) == {
        "ENGINES",
        "CompileError",
        "CompiledJob",
        "Diagnostic",
        "Field",
        "ValidationResult",
        "check_shape",
        "compile_pipeline",
        "validate",
    }
    diagnostic = compiler.Diagnostic("error", "n", "$.nodes[0]", "m")
    assert diagnostic.to_dict() == {"severity": "error", "node": "n", "path": "$.nodes[0]", "message": "m"}
    assert compiler.Field("a", "int").to_dict() == {"name": "a", "type": "int", "nullable": True}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"format": "studio.pipeline/v1", "nodes": [], "edges": []}, []),
        ({"format": "studio.pipeline/v1", "nodes": [{"junk": True}], "edges": [], "name": 5}, []),
        ({"format": "studio.pipeline/v1", "nodes": {}, "edges": []}, ["$.nodes"]),
        ({"nodes": [], "edges": "x"}, ["$.format", "$.edges"]),
        ([], ["$"]),
    ],
)
def test_check_shape_is_only_structural(document: object, expected: list[str]) -> None:
    assert [d.path for d in compiler.check_shape(document)] == expected


def test_compiler_imports_nothing_from_the_web_app() -> None:
    script = (
        "import sys, compiler; compiler.validate({}); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'studio', 'runners', 'rest_framework'}); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
