"""The Flink back end without a JVM: generated code (snapshots), the SQL it emits for the studio's
semantics, the capability table's Flink rows, and hostile text that must never change a program."""

from __future__ import annotations

import ast
import copy
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from compiler import CompileError, compile_pipeline, validate
from compiler.capabilities import CAPABILITIES, support
from compiler.expressions import analyse_expression
from compiler.flink_sql import ExpressionEmitter, check_sql, string_literal
from compiler.nodes import NODE_SPECS
from compiler.types import Field
from tests.compiler.test_compiler_hostile import (
    BASE,
    SETTINGS,
    _ok_text,
    clean_text,
    hostile_text,
    json_values,
    program_shape,
    with_text,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
SCHEMA = [
    Field("a", "int"), Field("b", "int"), Field("d", "double"), Field("m", "decimal(5,2)"), Field("s", "string"),
    Field("ts", "timestamp"), Field("day", "date"), Field("flag", "boolean"),
]  # fmt: skip


def flink_sql(text: str, schema: list[Field] = SCHEMA) -> str:
    analysed, errors = analyse_expression(text, schema=schema, parameters={})
    assert analysed is not None, errors
    return ExpressionEmitter(schema).emit(analysed.tree, as_type=analysed.type)


def check_snapshot(name: str, code: str) -> None:
    path = SNAPSHOTS / f"flink_{name}.py"
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(code, encoding="utf-8")
    assert code == path.read_text(encoding="utf-8"), f"{path.name} changed; rerun with UPDATE_SNAPSHOTS=1 if intended"
    ast.parse(code)


def document(nodes: list[dict[str, Any]], edges: list[tuple[str, str]], mode: str = "batch") -> dict[str, Any]:
    def end(text: str, default: str) -> dict[str, str]:
        node, _, port = text.partition(":")
        return {"node": node, "port": port or default}

    return {
        "format": "studio.pipeline/v1",
        "name": "flink_test",
        "mode": mode,
        "nodes": nodes,
        "edges": [{"from": end(a, "out"), "to": end(b, "in")} for a, b in edges],
    }


ORDERS = {
    "id": "orders",
    "type": "source.file",
    "label": "Raw orders",
    "config": {
        "path": "data/orders/*.csv",
        "format": "csv",
        "schema": [
            {"name": "order_id", "type": "bigint", "nullable": False},
            {"name": "customer", "type": "string"},
            {"name": "amount", "type": "decimal(12,2)"},
            {"name": "placed_at", "type": "timestamp"},
        ],
    },
}
CUSTOMERS = {
    "id": "customers",
    "type": "source.file",
    "config": {
        "path": "data/customers.parquet",
        "format": "parquet",
        "schema": [{"name": "customer", "type": "string"}, {"name": "region", "type": "string"}],
    },
}


# Snapshots -----------------------------------------------------------------------------------


def test_snapshot_orders_daily(orders_document: dict[str, Any]) -> None:
    check_snapshot("orders_daily", compile_pipeline(orders_document, engine="flink").code)


def test_snapshot_every_batch_node_type() -> None:
    nodes = [
        ORDERS,
        CUSTOMERS,
        {"id": "joined", "type": "transform.join",
         "config": {"how": "left", "on": [{"left": "customer", "right": "customer"}]}},
        {"id": "checked", "type": "transform.quality", "config": {"rules": [
            {"name": "positive", "expression": "amount > 0", "on_fail": "quarantine"},
            {"name": "known", "expression": "region IS NOT NULL", "on_fail": "warn"}]}},
        {"id": "unique", "type": "transform.deduplicate",
         "config": {"keys": ["order_id"], "order_by": {"column": "placed_at", "direction": "desc"}}},
        {"id": "per_region", "type": "transform.aggregate", "config": {"group_by": ["region"], "aggregations": [
            {"name": "orders", "function": "count"}, {"name": "revenue", "function": "sum", "column": "amount"},
            {"name": "mean", "function": "avg", "column": "amount"}]}},
        {"id": "hourly", "type": "transform.window_aggregate", "config": {
            "time_column": "placed_at", "window": {"type": "session", "gap": "30 minutes"},
            "aggregations": [{"name": "n", "function": "count"}]}},
        {"id": "ranked", "type": "transform.sort", "config": {"order": [{"column": "revenue", "direction": "desc"}]}},
        {"id": "top", "type": "transform.limit", "config": {"n": 3}},
        {"id": "both", "type": "transform.union", "config": {"allow_missing": True}},
        {"id": "report", "type": "transform.sql", "config": {
            "query": "SELECT region, count(*) AS n FROM per_region WHERE region LIKE 'n%' GROUP BY region"}},
        {"id": "top_out", "type": "sink.file", "config": {"path": "out/top", "format": "csv"}},
        {"id": "rejected_out", "type": "sink.file", "config": {"path": "out/rejected", "format": "json"}},
        {"id": "both_out", "type": "sink.file", "config": {"path": "out/both", "format": "parquet"}},
        {"id": "hourly_out", "type": "sink.file", "config": {"path": "out/hourly", "format": "json"}},
        {"id": "report_out", "type": "sink.file", "config": {"path": "out/report", "format": "parquet"}},
        {"id": "loud", "type": "sink.alert", "config": {"message": "Order {order_id} is large", "condition": "amount > 1000"}},
    ]  # fmt: skip
    edges = [
        ("orders", "joined:left"), ("customers", "joined:right"), ("joined", "checked"), ("checked", "unique"),
        ("unique", "per_region"), ("per_region", "ranked"), ("ranked", "top"), ("top", "top_out"),
        ("checked:rejected", "rejected_out"), ("orders", "hourly"), ("hourly", "hourly_out"),
        ("per_region", "both"), ("top", "both"), ("both", "both_out"), ("per_region", "report"),
        ("report", "report_out"), ("unique", "loud"),
    ]  # fmt: skip
    doc = document(nodes, edges)
    assert validate(doc, engine="flink").valid, validate(doc, engine="flink").errors
    check_snapshot("every_node_type", compile_pipeline(doc, engine="flink").code)


def test_snapshot_streaming_window() -> None:
    source = copy.deepcopy(ORDERS)
    source["config"]["path"] = "data/incoming"
    source["config"]["streaming"] = True
    nodes = [
        source,
        {"id": "big", "type": "transform.filter", "config": {"condition": "amount > 100"}},
        {"id": "per_minute", "type": "transform.window_aggregate", "config": {
            "time_column": "placed_at", "window": {"type": "hopping", "size": "2 minutes", "slide": "1 minute"},
            "watermark": "10 seconds", "group_by": ["customer"],
            "aggregations": [{"name": "total", "function": "sum", "column": "amount"}]}},
        {"id": "out", "type": "sink.file", "config": {"path": "out/per_minute", "format": "json"}},
    ]  # fmt: skip
    doc = document(nodes, [("orders", "big"), ("big", "per_minute"), ("per_minute", "out")], mode="streaming")
    check_snapshot("streaming_window", compile_pipeline(doc, engine="flink").code)


def test_generated_job_has_the_contracted_shape(orders_document: dict[str, Any]) -> None:
    code = compile_pipeline(orders_document, engine="flink").code
    tree = ast.parse(code)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert [a.arg for a in functions["build"].args.args] == ["t_env"]
    assert "in_batch_mode()" in code and '"table.local-time-zone", "UTC"' in code
    assert 'os.environ.get("FLINK_JOBMANAGER", "")' in code
    assert code.index("def build(") < code.index("def main(") < code.index('if __name__ == "__main__":')
    # The runtime support is the last section and imports nothing from the studio.
    assert "import compiler" not in code and "from compiler" not in code


# The SQL the studio's semantics need ---------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # Integer division is a double division in Spark, and a zero divisor fails the job.
        ("a / b", "CAST(`a` AS DOUBLE) / (CASE WHEN CAST(`b` AS DOUBLE) = 0 AND CAST(`a` AS DOUBLE) IS NOT NULL"),
        ("a % b", "MOD(`a`, `b`)"),
        ("round(d, 1)", "CAST(ROUND(`d`, 1) AS DOUBLE)"),
        ("regexp_extract(s, 'x(y)')", "COALESCE(REGEXP_EXTRACT(`s`, 'x(y)', 1), '')"),
        ("date_trunc('week', ts)", "TIMESTAMPADD(DAY, -MOD(DAYOFWEEK(`ts`) + 5, 7), FLOOR(`ts` TO DAY))"),
        ("datediff(day, ts)", "TIMESTAMPDIFF(DAY, CAST(`ts` AS DATE), `day`)"),
        ("CAST(flag AS string)", "LOWER(CAST(`flag` AS STRING))"),
        ("s LIKE 'a\\\\%'", "`s` LIKE 'a\\%' ESCAPE '\\'"),
        ("length(s)", "CHAR_LENGTH(`s`)"),
        ("m * 2", "CAST(`m` * CAST(2 AS DECIMAL(1, 0)) AS DECIMAL(7, 2))"),
        ("a <=> b", "`a` IS NOT DISTINCT FROM `b`"),
        ("day >= '2026-01-01'", "`day` >= CAST('2026-01-01' AS DATE)"),
        ("current_timestamp()", "CAST(LOCALTIMESTAMP AS TIMESTAMP(6))"),
        ("'it''s'", "CONCAT('it', 's')"),
        ("-(-a)", "-(-`a`)"),
    ],
)
def test_expression_emission(expression: str, expected: str) -> None:
    assert expected in flink_sql(expression)


def test_sort_nulls_and_types_are_written_out() -> None:
    nodes = [
        ORDERS,
        {"id": "ranked", "type": "transform.sort", "config": {"order": [
            {"column": "amount", "direction": "desc"}, {"column": "customer"},
            {"column": "placed_at", "direction": "asc", "nulls": "last"}]}},
        {"id": "out", "type": "sink.file", "config": {"path": "out", "format": "json"}},
    ]  # fmt: skip
    code = compile_pipeline(document(nodes, [("orders", "ranked"), ("ranked", "out")]), engine="flink").code
    assert "ORDER BY `amount` DESC NULLS LAST, `customer` ASC NULLS FIRST, `placed_at` ASC NULLS LAST" in code
    assert "ordered=True" in code  # one writer, so the file keeps the order


def _view_sql(code: str, name: str) -> str:
    """The SQL of the `run.view(name, ...)` call in build()."""
    for node in ast.walk(ast.parse(code)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "view"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "run"
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == name
        ):
            assert isinstance(node.args[1], ast.Constant)
            return str(node.args[1].value)
    raise AssertionError(f"no run.view({name!r}, ...) in the job")


def _outer_select(sql: str) -> str:
    """The select list of a source view: what the view carries, before its FROM (the inner query
    over the files, which also names every column to recognise a header line, is cut off)."""
    assert sql.startswith("SELECT ")
    return sql[len("SELECT ") : sql.index(" FROM ")]


def _pruning_document(mode: str) -> dict[str, Any]:
    """orders -> filter -> aggregate -> sink; order_id and placed_at are read by nothing (batch)."""
    source = copy.deepcopy(ORDERS)
    if mode == "streaming":
        source["config"].update(path="data/incoming", streaming=True)
        # Flink streams have no plain aggregate: the streaming twin groups in windows.
        total: dict[str, Any] = {"id": "totals", "type": "transform.window_aggregate", "config": {
            "time_column": "placed_at", "window": {"type": "tumbling", "size": "1 minute"}, "watermark": "10 seconds",
            "group_by": ["customer"], "aggregations": [{"name": "total", "function": "sum", "column": "amount"}]}}
    else:
        total = {"id": "totals", "type": "transform.aggregate", "config": {
            "group_by": ["customer"], "aggregations": [{"name": "total", "function": "sum", "column": "amount"}]}}
    nodes = [
        source,
        {"id": "big", "type": "transform.filter", "config": {"condition": "amount > 100"}},
        total,
        {"id": "out", "type": "sink.file", "config": {"path": "out/totals", "format": "json"}},
    ]  # fmt: skip
    return document(nodes, [("orders", "big"), ("big", "totals"), ("totals", "out")], mode=mode)


def _pruned_job(mode: str) -> tuple[Any, str, dict[str, Any]]:
    """The Flink back end after generating the pruning document's job, the job, and the document."""
    from compiler.backends.flink import FlinkBackend
    from compiler.frontend import analyse

    doc = _pruning_document(mode)
    analysis = analyse(doc, engine="flink", parameters={})
    assert analysis.result.valid, analysis.result.errors
    backend = FlinkBackend(analysis)
    return backend, backend.generate(), doc


def test_batch_source_view_converts_only_the_columns_read_downstream() -> None:
    backend, code, doc = _pruned_job("batch")
    assert code == compile_pipeline(doc, engine="flink").code
    # The filter reads amount, the aggregate customer and amount: the source view carries those,
    # in schema order, and the filter's view passes the same two on.
    assert [f.name for f in backend.pruned[("orders", "out")]] == ["customer", "amount"]
    assert [f.name for f in backend.pruned[("big", "out")]] == ["customer", "amount"]
    carried = _outer_select(_view_sql(code, "orders"))
    assert "`customer`" in carried and "CAST(`amount` AS DECIMAL(12, 2))" in carried and "AS `amount`" in carried
    assert "`order_id`" not in carried and "`placed_at`" not in carried
    assert "TIMESTAMP" not in carried  # placed_at is never parsed
    # The file table still declares every physical column (CSV fields are positional).
    assert '("order_id", "STRING")' in code and '("placed_at", "STRING")' in code
    assert "SUM(`amount`)" in _view_sql(code, "totals")


def test_streaming_source_view_carries_every_column() -> None:
    backend, code, _ = _pruned_job("streaming")
    assert backend.needed == {} and backend.pruned == {}
    carried = _outer_select(_view_sql(code, "orders"))
    for column in ("order_id", "customer", "amount", "placed_at"):
        assert f"`{column}`" in carried, column


def test_check_sql_rejects_comments_and_stray_quotes() -> None:
    assert check_sql("SELECT '--', '/*', `a``b` FROM `x`")
    for bad in ("SELECT 1 -- x", "SELECT 1 /* x */", "SELECT 'x", "SELECT 1; DROP", 'SELECT "x"'):
        with pytest.raises(ValueError):
            check_sql(bad)
    assert string_literal("it's") == "'it''s'"


def test_runtime_globs_become_a_folder_and_a_path_regex() -> None:
    from compiler.backends.flink_runtime import _split_glob

    base, regex = _split_glob("/data/in/day=*/part-{a,b}.csv")
    assert base == "/data/in"
    assert regex is not None
    assert re.fullmatch(regex, "/data/in/day=1/part-a.csv")
    assert re.fullmatch(regex, "file:/data/in/day=22/part-b.csv")
    assert not re.fullmatch(regex, "/data/in/day=1/part-c.csv")
    assert not re.fullmatch(regex, "/data/in/x/day=1/part-a.csv")
    assert _split_glob("/data/in/orders.csv") == ("/data/in/orders.csv", None)
    base, regex = _split_glob("/data/[ab]?.json")
    assert regex is not None and re.fullmatch(regex, "/data/a1.json") and not re.fullmatch(regex, "/data/c1.json")


# Capabilities --------------------------------------------------------------------------------


def test_flink_capability_rows() -> None:
    batch = {t for t in NODE_SPECS if CAPABILITIES[(t, "flink", "batch")].supported}
    streaming = {t for t in NODE_SPECS if CAPABILITIES[(t, "flink", "streaming")].supported}
    assert batch == set(NODE_SPECS) - {"source.iceberg"}
    assert streaming == {"source.file", "source.kafka", "transform.filter", "transform.select", "transform.derive",
                         "transform.window_aggregate", "sink.file", "sink.kafka", "sink.iceberg"}  # fmt: skip
    assert "columns are known only when the job runs" in support("source.iceberg", "flink", "batch").reason
    assert "batch pipelines" in support("transform.sort", "flink", "streaming").reason


def test_flink_conditions_explain_what_to_change() -> None:
    parquet = copy.deepcopy(CUSTOMERS)
    del parquet["config"]["schema"]
    doc = document([parquet, {"id": "out", "type": "sink.file", "config": {"path": "o", "format": "csv"}}], [
        ("customers", "out")])  # fmt: skip
    [error] = validate(doc, engine="flink").errors
    assert error.path == "$.nodes[0].config.schema" and "add a 'schema'" in error.message
    assert validate(doc, engine="spark").valid

    source = copy.deepcopy(ORDERS)
    source["config"].update(path="data/in", streaming=True)
    for config, key in (({"format": "csv"}, "format"), ({"format": "json", "mode": "overwrite"}, "mode")):
        sink = {"id": "out", "type": "sink.file", "config": {"path": "o", **config}}
        [error] = validate(document([source, sink], [("orders", "out")], mode="streaming"), engine="flink").errors
        assert error.path == f"$.nodes[1].config.{key}"

    remote = copy.deepcopy(ORDERS)
    remote["config"]["path"] = "s3://bucket/orders/*.csv"
    sink = {"id": "out", "type": "sink.file", "config": {"path": "o", "format": "csv"}}
    [error] = validate(document([remote, sink], [("orders", "out")]), engine="flink").errors
    assert "s3://" in error.message


# Hostile text --------------------------------------------------------------------------------


def sql_literals(code: str) -> list[str]:
    """Every SQL text build() hands to the runtime (`run.view/write/alert(...)` arguments)."""
    texts = []
    for node in ast.walk(ast.parse(code)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "run"):
            continue
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(argument, ast.Constant) and str(argument.value).startswith("SELECT "):
                texts.append(argument.value)
    return texts


def sql_skeleton(sql: str) -> str:
    """The SQL with the content of every string literal removed and spacing normalised."""
    check_sql(sql)
    return re.sub(r"\s+", " ", re.sub(r"'(?:[^']|'')*'", "''", sql))


@SETTINGS
@given(hostile_text, clean_text, clean_text.map(lambda t: "d/" + t.replace("${", "$")), clean_text, clean_text)
def test_hostile_text_never_changes_the_flink_program(label: str, name: str, path: str, value: str, literal: str) -> None:
    assume(_ok_text(name) and _ok_text(path) and _ok_text(value) and _ok_text(literal))
    hostile = compile_pipeline(with_text(label, name, path, value, literal), engine="flink").code
    benign = compile_pipeline(with_text("x", "x", "x", "x", "x"), engine="flink").code
    # The same syntax tree once text is blanked (long SQL may wrap onto more lines: that is layout).
    assert program_shape(hostile) == program_shape(benign)
    evil, plain = sql_literals(hostile), sql_literals(benign)
    assert [sql_skeleton(s) for s in evil] == [sql_skeleton(s) for s in plain]
    assert any(string_literal(literal) in s for s in evil)
    assert any(string_literal(value) in s for s in evil)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["path", "condition", "format", "mode", "options"]), json_values, max_size=3))
def test_every_document_flink_accepts_compiles_to_valid_python(changes: dict[str, Any]) -> None:
    document = copy.deepcopy(BASE)
    for key, value in changes.items():
        target = document["nodes"][0 if key in ("path", "options") else 1 if key == "condition" else 3]
        target["config"][key] = value
    try:
        job = compile_pipeline(document, engine="flink")
    except CompileError as error:
        assert not error.result.valid
    else:
        ast.parse(job.code)
        for sql in sql_literals(job.code):
            check_sql(sql)
