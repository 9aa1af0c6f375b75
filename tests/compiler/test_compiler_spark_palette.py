"""The whole palette on real Spark: joins, aggregations, windows, deduplication, unions, sorting,
limits, SQL, quality rules, alerts, metrics lines, and a streaming file -> file pipeline.

Each test runs one generated job over small files (several nodes and sinks per job, to keep the
suite fast) and reads the results back with pyarrow, never through the compiler. Inferred schemas
are compared with what Spark wrote, so inference and the engine cannot drift apart silently.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compiler import validate

pytestmark = pytest.mark.spark

T = dt.datetime
D = Decimal

ORDERS_CSV = (
    "order_id,customer,amount,qty,placed_at\n"
    "1,alice,10.50,1,2026-01-01 10:00:00\n"
    "2,bob,20.00,2,2026-01-01 10:00:30\n"
    "3,alice,,3,2026-01-01 10:01:10\n"
    "4,carol,5.25,,2026-01-01 10:02:00\n"
    "5,,7.00,1,2026-01-01 10:09:00\n"
    "6,alice,10.50,1,\n"
)
ORDERS_SCHEMA = [
    {"name": "order_id", "type": "bigint", "nullable": False},
    {"name": "customer", "type": "string"},
    {"name": "amount", "type": "decimal(12,2)"},
    {"name": "qty", "type": "int"},
    {"name": "placed_at", "type": "timestamp"},
]
CUSTOMERS_CSV = "customer,region,order_id\nalice,north,100\nbob,south,200\ndave,east,300\n"
CUSTOMERS_SCHEMA = [
    {"name": "customer", "type": "string"},
    {"name": "region", "type": "string"},
    {"name": "order_id", "type": "int"},
]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def source(node_id: str, path: str, schema: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "source.file", "config": {"path": path, "format": "csv", "schema": schema, **extra}}


def sink(node_id: str, path: str, file_format: str = "parquet", **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "sink.file", "config": {"path": path, "format": file_format, **extra}}


def edge(a: str, b: str, to_port: str = "in", from_port: str = "out") -> dict[str, Any]:
    return {"from": {"node": a, "port": from_port}, "to": {"node": b, "port": to_port}}


def pipeline(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"format": "studio.pipeline/v1", "name": "palette", "nodes": nodes, "edges": edges, **extra}


def read(folder: Path) -> pa.Table:
    table = pq.read_table(folder)
    columns = [c.cast(pa.timestamp("us")) if pa.types.is_timestamp(c.type) else c for c in table.columns]
    return pa.table(columns, names=table.column_names)


def rows(folder: Path, *order: str) -> list[dict[str, Any]]:
    found = read(folder).to_pylist()
    return sorted(found, key=lambda r: tuple((r[k] is not None, r[k]) for k in order)) if order else found


def spark_type(t: pa.DataType) -> str:
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_list(t):
        return f"array<{spark_type(t.value_type)}>"
    names = {pa.int32(): "int", pa.int64(): "bigint", pa.float64(): "double", pa.string(): "string",
             pa.date32(): "date", pa.bool_(): "boolean"}  # fmt: skip
    return names[t]


def assert_written_as_inferred(document: dict[str, Any], node: str, folder: Path) -> None:
    """The parquet files hold exactly the columns and types validation promised for `node`."""
    inferred = [(f.name, f.type) for f in validate(document).schemas[node]["out"]]
    written = pq.read_schema(next(folder.glob("*.parquet")))
    assert [(f.name, spark_type(f.type)) for f in written] == inferred


def metrics(output: str) -> list[dict[str, Any]]:
    prefix = "STUDIO_METRIC "
    return [json.loads(line[len(prefix) :]) for line in output.splitlines() if line.startswith(prefix)]


def test_joins_of_every_kind(run_job: Any, tmp_path: Path) -> None:
    write(tmp_path / "in/orders.csv", ORDERS_CSV)
    write(tmp_path / "in/customers.csv", CUSTOMERS_CSV)
    kinds = {
        "inner_join": {"how": "inner", "right_suffix": "_c", "condition": "left.amount > 6 OR region = 'south'"},
        "left_join": {"how": "left", "right_suffix": "_c"},
        "full_join": {"how": "full", "right_suffix": "_c"},
        "semi_join": {"how": "semi"},
        "anti_join": {"how": "anti"},
    }
    nodes = [source("orders", "in/orders.csv", ORDERS_SCHEMA), source("customers", "in/customers.csv", CUSTOMERS_SCHEMA)]
    edges = []
    for name, config in kinds.items():
        nodes.append({"id": name, "type": "transform.join",
                      "config": {"on": [{"left": "customer", "right": "customer"}], **config}})  # fmt: skip
        nodes.append(sink(f"{name}_out", f"out/{name}"))
        edges += [edge("orders", name, "left"), edge("customers", name, "right"), edge(name, f"{name}_out")]
    document = pipeline(nodes, edges)
    run_job(document)

    assert validate(document).schemas["inner_join"]["out"][0].name == "customer"
    for name in ("inner_join", "left_join", "full_join"):
        assert_written_as_inferred(document, name, tmp_path / f"out/{name}")
    picked = [(r["order_id"], r["customer"], r["region"], r["order_id_c"]) for r in rows(tmp_path / "out/inner_join", "order_id")]
    assert picked == [(1, "alice", "north", 100), (2, "bob", "south", 200), (6, "alice", "north", 100)]
    left = [(r["order_id"], r["customer"], r["region"]) for r in rows(tmp_path / "out/left_join", "order_id")]
    assert left == [(1, "alice", "north"), (2, "bob", "south"), (3, "alice", "north"), (4, "carol", None),
                    (5, None, None), (6, "alice", "north")]  # fmt: skip
    full = [(r["customer"], r["order_id"], r["region"]) for r in rows(tmp_path / "out/full_join", "customer", "order_id")]
    # NULL keys never match: order 5 (no customer) stays on its own; dave has no orders.
    assert full == [(None, 5, None), ("alice", 1, "north"), ("alice", 3, "north"), ("alice", 6, "north"),
                    ("bob", 2, "south"), ("carol", 4, None), ("dave", None, "east")]  # fmt: skip
    semi = rows(tmp_path / "out/semi_join", "order_id")
    assert [r["order_id"] for r in semi] == [1, 2, 3, 6]
    assert list(semi[0]) == [s["name"] for s in ORDERS_SCHEMA]
    assert [r["order_id"] for r in rows(tmp_path / "out/anti_join", "order_id")] == [4, 5]


def test_aggregations_and_windows(run_job: Any, tmp_path: Path) -> None:
    write(tmp_path / "in/orders.csv", ORDERS_CSV)
    aggregations = [
        {"name": "orders", "function": "count"},
        {"name": "with_qty", "function": "count", "column": "qty"},
        {"name": "customers", "function": "count_distinct", "column": "customer"},
        {"name": "amount_sum", "function": "sum", "column": "amount"},
        {"name": "qty_sum", "function": "sum", "column": "qty"},
        {"name": "amount_avg", "function": "avg", "column": "amount"},
        {"name": "qty_avg", "function": "avg", "column": "qty"},
        {"name": "first_at", "function": "min", "column": "placed_at"},
        {"name": "last_customer", "function": "max", "column": "customer"},
    ]
    windowed = [{"name": "orders", "function": "count"}, {"name": "amount", "function": "sum", "column": "amount"}]
    nodes = [
        source("orders", "in/orders.csv", ORDERS_SCHEMA),
        {"id": "by_customer", "type": "transform.aggregate",
         "config": {"group_by": ["customer"], "aggregations": aggregations}},
        {"id": "overall", "type": "transform.aggregate", "config": {"aggregations": aggregations}},
        {"id": "tumbling", "type": "transform.window_aggregate",
         "config": {"time_column": "placed_at", "window": {"type": "tumbling", "size": "5 minutes"},
                    "aggregations": windowed}},
        {"id": "hopping", "type": "transform.window_aggregate",
         "config": {"time_column": "placed_at", "window": {"type": "hopping", "size": "2 minutes", "slide": "1 minute"},
                    "group_by": ["customer"], "aggregations": windowed}},
        {"id": "sessions", "type": "transform.window_aggregate",
         "config": {"time_column": "placed_at", "window": {"type": "session", "gap": "1 minute"},
                    "aggregations": windowed}},
    ]  # fmt: skip
    edges = []
    for node in nodes[1:]:
        nodes.append(sink(f"{node['id']}_out", f"out/{node['id']}"))
        edges += [edge("orders", node["id"]), edge(node["id"], f"{node['id']}_out")]
    document = pipeline(nodes, edges)
    run_job(document)

    for name in ("by_customer", "overall", "tumbling", "hopping", "sessions"):
        assert_written_as_inferred(document, name, tmp_path / f"out/{name}")
    by_customer = {r["customer"]: r for r in rows(tmp_path / "out/by_customer")}
    assert by_customer["alice"] == {
        "customer": "alice", "orders": 3, "with_qty": 3, "customers": 1, "amount_sum": D("21.00"), "qty_sum": 5,
        "amount_avg": D("10.500000"), "qty_avg": 5 / 3, "first_at": T(2026, 1, 1, 10), "last_customer": "alice",
    }  # fmt: skip
    assert by_customer[None]["customers"] == 0
    [overall] = rows(tmp_path / "out/overall")
    assert (overall["orders"], overall["with_qty"], overall["customers"], overall["amount_sum"]) == (6, 5, 3, D("53.25"))
    # Rows without a time belong to no window.
    tumbling = [(r["window_start"], r["window_end"], r["orders"], r["amount"]) for r in rows(tmp_path / "out/tumbling", "window_start")]
    assert tumbling == [(T(2026, 1, 1, 10), T(2026, 1, 1, 10, 5), 4, D("35.75")),
                        (T(2026, 1, 1, 10, 5), T(2026, 1, 1, 10, 10), 1, D("7.00"))]  # fmt: skip
    hopping = [(r["window_start"].minute, r["customer"], r["orders"]) for r in rows(tmp_path / "out/hopping", "window_start", "customer")]
    assert hopping == [(59, "alice", 1), (59, "bob", 1), (0, "alice", 2), (0, "bob", 1), (1, "alice", 1),
                       (1, "carol", 1), (2, "carol", 1), (8, None, 1), (9, None, 1)]  # fmt: skip
    sessions = [(r["window_start"], r["window_end"], r["orders"]) for r in rows(tmp_path / "out/sessions", "window_start")]
    assert sessions == [(T(2026, 1, 1, 10), T(2026, 1, 1, 10, 3), 4), (T(2026, 1, 1, 10, 9), T(2026, 1, 1, 10, 10), 1)]


def test_deduplicate_union_sort_and_limit(run_job: Any, tmp_path: Path) -> None:
    write(tmp_path / "in/orders.csv", ORDERS_CSV)
    write(tmp_path / "in/customers.csv", CUSTOMERS_CSV)
    nodes = [
        source("orders", "in/orders.csv", ORDERS_SCHEMA),
        source("customers", "in/customers.csv", CUSTOMERS_SCHEMA),
        {"id": "first_order", "type": "transform.deduplicate",
         "config": {"keys": ["customer"], "order_by": {"column": "placed_at"}, "keep": "first"}},
        {"id": "last_order", "type": "transform.deduplicate",
         "config": {"keys": ["customer"], "order_by": {"column": "placed_at"}, "keep": "last"}},
        {"id": "everyone", "type": "transform.union", "config": {"allow_missing": True}},
        {"id": "ordered", "type": "transform.sort",
         "config": {"order": [{"column": "amount", "direction": "desc", "nulls": "first"}, {"column": "order_id"}]}},
        {"id": "top", "type": "transform.limit", "config": {"n": 3}},
        sink("first_out", "out/first"),
        sink("last_out", "out/last"),
        sink("everyone_out", "out/everyone", "json"),
        sink("top_out", "out/top", "csv"),
    ]  # fmt: skip
    edges = [
        edge("orders", "first_order"), edge("orders", "last_order"), edge("first_order", "first_out"),
        edge("last_order", "last_out"), edge("orders", "everyone"), edge("customers", "everyone"),
        edge("everyone", "everyone_out"), edge("orders", "ordered"), edge("ordered", "top"), edge("top", "top_out"),
    ]  # fmt: skip
    document = pipeline(nodes, edges)
    run_job(document)

    # NULL sorts first ascending: alice's order 6 (no time) is her first and order 3 her last.
    assert {r["customer"]: r["order_id"] for r in rows(tmp_path / "out/first")} == {
        "alice": 6, "bob": 2, "carol": 4, None: 5}  # fmt: skip
    assert {r["customer"]: r["order_id"] for r in rows(tmp_path / "out/last")} == {
        "alice": 3, "bob": 2, "carol": 4, None: 5}  # fmt: skip
    schema = [(f.name, f.type) for f in validate(document).schemas["everyone"]["out"]]
    assert schema == [("order_id", "bigint"), ("customer", "string"), ("amount", "decimal(12,2)"), ("qty", "int"),
                      ("placed_at", "timestamp"), ("region", "string")]  # fmt: skip
    written = [json.loads(line) for f in sorted((tmp_path / "out/everyone").glob("*.json")) for line in f.read_text().splitlines()]
    assert len(written) == 9
    assert {"order_id": 100, "customer": "alice", "region": "north"} in written
    [part] = [p for p in sorted((tmp_path / "out/top").glob("*.csv")) if p.read_text().count("\n") > 1]
    assert [line.split(",")[0] for line in part.read_text().splitlines()] == ["order_id", "3", "2", "1"]


def test_sql_quality_alerts_and_metrics(run_job: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "in/orders.csv", ORDERS_CSV)
    write(tmp_path / "in/customers.csv", CUSTOMERS_CSV)
    query = """
        WITH known AS (SELECT o.customer, o.amount, c.region FROM orders o JOIN customers c USING (customer))
        SELECT region, count(*) AS orders, sum(amount) AS total, '{braces} ${run}' AS note
        FROM known WHERE amount > ${min_amount} GROUP BY region HAVING count(*) >= 1 ORDER BY total DESC
    """
    rules = [
        {"name": "has_amount", "expression": "amount IS NOT NULL", "on_fail": "quarantine"},
        {"name": "has_customer", "expression": "customer IS NOT NULL", "on_fail": "drop"},
        {"name": "small", "expression": "amount < 15", "on_fail": "warn"},
    ]
    nodes = [
        source("orders", "in/orders.csv", ORDERS_SCHEMA),
        source("customers", "in/customers.csv", CUSTOMERS_SCHEMA),
        {"id": "per_region", "type": "transform.sql", "config": {"query": query}},
        {"id": "checked", "type": "transform.quality", "config": {"rules": rules}},
        {"id": "alarm", "type": "sink.alert",
         "config": {"condition": "amount >= 20", "message": "Order {order_id} of {customer}: {{{amount}}}",
                    "severity": "critical"}},
        sink("region_out", "out/region"),
        sink("good_out", "out/good"),
        sink("rejected_out", "out/rejected"),
    ]  # fmt: skip
    edges = [
        edge("orders", "per_region"), edge("customers", "per_region"), edge("per_region", "region_out"),
        edge("orders", "checked"), edge("checked", "good_out"), edge("checked", "rejected_out", from_port="rejected"),
        edge("checked", "alarm"),
    ]  # fmt: skip
    document = pipeline(nodes, edges, parameters=[{"name": "min_amount", "type": "double", "default": 6}])
    capsys.readouterr()
    run_job(document)
    output = capsys.readouterr().out

    assert_written_as_inferred(document, "per_region", tmp_path / "out/region")
    assert [(r["region"], r["orders"], r["total"], r["note"]) for r in rows(tmp_path / "out/region")] == [
        ("north", 2, D("21.00"), "{braces} ${run}"), ("south", 1, D("20.00"), "{braces} ${run}")]  # fmt: skip
    assert [r["order_id"] for r in rows(tmp_path / "out/good", "order_id")] == [1, 2, 4, 6]
    rejected = rows(tmp_path / "out/rejected")
    assert [(r["order_id"], r["_failed_rules"]) for r in rejected] == [(3, ["has_amount", "small"])]
    assert_written_as_inferred(document, "checked", tmp_path / "out/good")
    alerts = [json.loads(line.split(" ", 1)[1]) for line in output.splitlines() if line.startswith("STUDIO_ALERT ")]
    assert alerts == [{"node": "alarm", "severity": "critical", "message": "Order 2 of bob: {20.00}"}]
    reported = metrics(output)
    # Each sink's input line carries its write's duration; the counts are compared without it.
    sinks = {"region_out", "good_out", "rejected_out", "alarm"}
    assert all(m["duration_ms"] >= 0 for m in reported if m["node"] in sinks)
    found = [{k: v for k, v in m.items() if k != "duration_ms"} for m in reported]
    assert {"node": "orders", "port": "out", "rows": 6} in found
    assert {"node": "checked", "port": "out", "rows": 4} in found
    assert {"node": "checked", "port": "rejected", "rows": 1} in found
    assert {"node": "per_region", "port": "out", "rows": 2} in found
    assert {"node": "region_out", "port": "in", "rows": 2} in found
    assert {"node": "alarm", "port": "in", "rows": 4} in found
    assert [m for m in found if "rule" in m] == [
        {"node": "checked", "rule": "has_amount", "passed": 5, "failed": 1},
        {"node": "checked", "rule": "has_customer", "passed": 5, "failed": 1},
        {"node": "checked", "rule": "small", "passed": 4, "failed": 2},
    ]
    assert all(set(m) in ({"node", "port", "rows"}, {"node", "rule", "passed", "failed"}) for m in found)
    assert {m["node"] for m in reported if "duration_ms" in m} == sinks


def test_a_failing_quality_rule_stops_the_job_before_anything_is_written(
    run_job: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "in/orders.csv", ORDERS_CSV)
    rules = [
        {"name": "has_customer", "expression": "customer IS NOT NULL", "on_fail": "warn"},
        {"name": "has_qty", "expression": "qty IS NOT NULL AND qty > 0", "on_fail": "fail"},
    ]
    nodes = [
        source("orders", "in/orders.csv", ORDERS_SCHEMA),
        sink("raw_out", "out/raw"),
        {"id": "checked", "type": "transform.quality", "config": {"rules": rules}},
        sink("good_out", "out/good"),
    ]
    document = pipeline(nodes, [edge("orders", "raw_out"), edge("orders", "checked"), edge("checked", "good_out")])
    with pytest.raises(Exception, match=r"Node 'checked': rule 'has_qty' failed for 1 row \(on_fail: fail\)"):
        run_job(document)
    assert not (tmp_path / "out").exists()
    assert metrics(capsys.readouterr().out) == [
        {"node": "checked", "rule": "has_customer", "passed": 5, "failed": 1},
        {"node": "checked", "rule": "has_qty", "passed": 5, "failed": 1},
    ]


def test_streaming_files_to_files_with_available_now(
    run_job: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A watched folder -> SQL -> quality -> windows with a watermark -> files, and a join with a
    static lookup file; run twice, as the runner does with STUDIO_STREAMING_TRIGGER=available_now:
    the second run reads only the new file and the checkpoint carries the open window across."""
    monkeypatch.setenv("STUDIO_STREAMING_TRIGGER", "available_now")
    monkeypatch.setenv("STUDIO_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    header = "id,kind,at,value\n"
    write(tmp_path / "landing/a.csv", header + "1,click,2026-01-01 10:00:10,5\n2,view,2026-01-01 10:00:50,\n"
          "3,click,2026-01-01 10:01:20,-1\n4,click,2026-01-01 10:05:00,2\n")  # fmt: skip
    write(tmp_path / "lookup/kinds.csv", "kind,label\nCLICK,Click\n")
    schema = [{"name": "id", "type": "bigint"}, {"name": "kind", "type": "string"}, {"name": "at", "type": "timestamp"},
              {"name": "value", "type": "int"}]  # fmt: skip
    nodes = [
        source("events", "landing/*.csv", schema, streaming=True),
        source("kinds", "lookup/kinds.csv", [{"name": "kind", "type": "string"}, {"name": "label", "type": "string"}]),
        {"id": "labelled", "type": "transform.join", "config": {"how": "left", "on": [{"left": "kind", "right": "kind"}]}},
        {"id": "clean", "type": "transform.sql",
         "config": {"query": "SELECT id, upper(kind) AS kind, at, value FROM events WHERE value IS NOT NULL"}},
        {"id": "checked", "type": "transform.quality",
         "config": {"rules": [{"name": "positive", "expression": "value > 0", "on_fail": "drop"}]}},
        {"id": "per_minute", "type": "transform.window_aggregate",
         "config": {"time_column": "at", "window": {"type": "tumbling", "size": "1 minute"}, "watermark": "1 minute",
                    "group_by": ["kind"], "aggregations": [{"name": "n", "function": "count"},
                                                           {"name": "total", "function": "sum", "column": "value"}]}},
        sink("raw_out", "out/raw", "json"),
        sink("windows_out", "out/windows"),
    ]  # fmt: skip
    edges = [edge("events", "clean"), edge("clean", "checked"), edge("checked", "labelled", "left"),
             edge("kinds", "labelled", "right"), edge("labelled", "raw_out"), edge("checked", "per_minute"),
             edge("per_minute", "windows_out")]  # fmt: skip
    document = pipeline(nodes, edges, mode="streaming")
    assert validate(document, engine="spark").valid

    code = run_job(document)
    assert "readStream" in code and "_checkpoint(" in code and "dropDuplicates" not in code
    first = metrics(capsys.readouterr().out)
    assert {"node": "events", "port": "out", "rows": 4} in first
    assert {"node": "checked", "port": "out", "rows": 2} in first
    assert {"node": "raw_out", "port": "in", "rows": 2} in first
    assert {"node": "checked", "rule": "positive", "passed": 2, "failed": 1} in first

    write(tmp_path / "landing/b.csv", header + "5,click,2026-01-01 10:07:30,3\n")
    run_job(document)
    second = metrics(capsys.readouterr().out)
    assert {"node": "events", "port": "out", "rows": 1} in second
    raw = [json.loads(line) for f in sorted((tmp_path / "out/raw").glob("*.json")) for line in f.read_text().splitlines()]
    assert sorted((r["id"], r["kind"], r["label"]) for r in raw) == [(1, "CLICK", "Click"), (4, "CLICK", "Click"),
                                                                     (5, "CLICK", "Click")]  # fmt: skip
    windows = [(r["window_start"], r["kind"], r["n"], r["total"]) for r in rows(tmp_path / "out/windows", "window_start")]
    # The 10:07 window stays open: the watermark (latest time - 1 minute) has not passed its end.
    assert windows == [(T(2026, 1, 1, 10, 0), "CLICK", 1, 5), (T(2026, 1, 1, 10, 5), "CLICK", 1, 2)]
    assert (tmp_path / "checkpoints/raw_out").is_dir() and (tmp_path / "checkpoints/windows_out").is_dir()


def test_each_sink_reports_its_metrics_as_it_finishes_and_the_job_its_progress(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two sinks: the first one's metrics (with its write's duration) are printed before the second
    one starts writing, the source feeding both after the second; and `_Progress`, as `main()` runs
    it, prints tasks done out of tasks started from Spark's status tracker, complete at the end."""
    from pyspark.sql.readwriter import DataFrameWriter

    from compiler import compile_pipeline

    write(tmp_path / "in/orders.csv", ORDERS_CSV)
    nodes = [
        source("orders", "in/orders.csv", ORDERS_SCHEMA),
        {"id": "big", "type": "transform.filter", "config": {"condition": "amount > 10"}},
        sink("big_out", "out/big"),
        {"id": "by_customer", "type": "transform.aggregate",
         "config": {"group_by": ["customer"], "aggregations": [{"function": "count", "name": "orders"}]}},
        sink("all_out", "out/all"),
    ]  # fmt: skip
    edges = [edge("orders", "big"), edge("big", "big_out"), edge("orders", "by_customer"), edge("by_customer", "all_out")]
    namespace: dict[str, Any] = {"__name__": "generated_job"}
    exec(compile(compile_pipeline(pipeline(nodes, edges), engine="spark").code, "<generated job>", "exec"), namespace)
    save = DataFrameWriter.save

    def marked_save(writer: Any, path: str | None = None, *args: Any, **kwargs: Any) -> None:
        print(f"WRITING {Path(str(path)).name}", flush=True)
        save(writer, path, *args, **kwargs)

    monkeypatch.setattr(DataFrameWriter, "save", marked_save)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    progress = namespace["_Progress"](spark)  # as main() does
    try:
        namespace["build"](spark)
    finally:
        progress.stop()
    lines = capsys.readouterr().out.splitlines()

    def at(predicate: Any) -> int:
        return next(i for i, line in enumerate(lines) if predicate(line))

    def metric_at(node: str) -> int:
        return at(lambda line: line.startswith("STUDIO_METRIC ") and json.loads(line.split(" ", 1)[1])["node"] == node)

    writes = {name: at(lambda line, name=name: line == f"WRITING {name}") for name in ("big", "all")}
    first, second = [metric_at(n) for n in ("big", "big_out")], [metric_at(n) for n in ("orders", "by_customer", "all_out")]
    assert writes["big"] < min(first) and max(first) < writes["all"] < min(second)
    found = metrics("\n".join(lines))
    durations = {m["node"]: m["duration_ms"] for m in found if "duration_ms" in m}
    assert set(durations) == {"big_out", "all_out"} and all(d >= 0 for d in durations.values())
    assert [{k: v for k, v in m.items() if k != "duration_ms"} for m in found if m["node"] in ("big_out", "all_out")] == [
        {"node": "big_out", "port": "in", "rows": 3}, {"node": "all_out", "port": "in", "rows": 4}]
    progress_lines = [json.loads(line.split(" ", 1)[1]) for line in lines if line.startswith("STUDIO_PROGRESS ")]
    assert progress_lines and all(0 <= p["tasks_done"] <= p["tasks_total"] for p in progress_lines)
    last = progress_lines[-1]
    assert last["tasks_total"] > 0 and last["tasks_done"] == last["tasks_total"] and last["stage"] is None
    assert lines[-1].startswith("STUDIO_PROGRESS ")  # the final count comes after everything the job did
