"""Schema inference, semantic checks and lineage for every node type of the palette, and the Spark
back end's declared limits in streaming mode. No engine runs here."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from compiler import ValidationResult, validate

ORDERS = [
    {"name": "order_id", "type": "bigint", "nullable": False},
    {"name": "customer", "type": "string"},
    {"name": "amount", "type": "decimal(12,2)"},
    {"name": "qty", "type": "int"},
    {"name": "price", "type": "double"},
    {"name": "placed_at", "type": "timestamp"},
    {"name": "day", "type": "date"},
]
CUSTOMERS = [
    {"name": "customer", "type": "string", "nullable": False},
    {"name": "region", "type": "string", "nullable": False},
    {"name": "qty", "type": "bigint"},
]


def source(node_id: str, schema: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    config = {"path": f"in/{node_id}/*.csv", "format": "csv", "schema": copy.deepcopy(schema), **extra}
    return {"id": node_id, "type": "source.file", "config": config}


def edge(a: str, b: str, to_port: str = "in", from_port: str = "out") -> dict[str, Any]:
    return {"from": {"node": a, "port": from_port}, "to": {"node": b, "port": to_port}}


def document(step: dict[str, Any], inputs: dict[str, list[str]] | None = None, **extra: Any) -> dict[str, Any]:
    """orders (and customers) -> step -> out (a parquet sink), unless the step is a sink itself."""
    inputs = inputs or {"in": ["orders"]}
    nodes = [source("orders", ORDERS), source("customers", CUSTOMERS)]
    edges = [edge(name, step["id"], port) for port, names in inputs.items() for name in names]
    used = {name for names in inputs.values() for name in names}
    nodes = [n for n in nodes if n["id"] in used] + [step]
    if not step["type"].startswith("sink."):
        nodes.append({"id": "out", "type": "sink.file", "config": {"path": "out", "format": "parquet"}})
        edges.append(edge(step["id"], "out"))
    return {"format": "studio.pipeline/v1", "name": "palette", "nodes": nodes, "edges": edges, **extra}


def node(node_id: str, node_type: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "config": config}


def columns(result: ValidationResult, node_id: str, port: str = "out") -> list[tuple[str, str, bool]]:
    assert result.valid, result.errors
    return [(f.name, f.type, f.nullable) for f in result.schemas[node_id][port]]


def errors(doc: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    return {d.path: d.message for d in validate(doc, **kwargs).errors}


def lineage(result: ValidationResult, node_id: str, port: str = "out") -> dict[str, list[tuple[str, str, str]]]:
    assert result.lineage is not None
    return {
        column: [(d.node, d.column, d.how) for d in deps]
        for column, deps in result.lineage.columns[node_id][port].items()
    }


# Joins ------------------------------------------------------------------------------------------

JOIN_INPUTS = {"left": ["orders"], "right": ["customers"]}


def join(how: str, **config: Any) -> dict[str, Any]:
    return document(node("j", "transform.join", how=how, on=[{"left": "customer", "right": "customer"}], **config),
                    JOIN_INPUTS)  # fmt: skip


@pytest.mark.parametrize(
    ("how", "key_nullable", "left_nullable", "right_nullable"),
    [("inner", True, False, False), ("left", True, False, True), ("right", False, True, False),
     ("full", True, True, True)],
)  # fmt: skip
def test_join_outputs_keys_once_then_left_then_right(
    how: str, key_nullable: bool, left_nullable: bool, right_nullable: bool
) -> None:
    found = columns(validate(join(how, right_suffix="_c")), "j")
    assert [c[0] for c in found] == ["customer", "order_id", "amount", "qty", "price", "placed_at", "day", "region",
                                     "qty_c"]  # fmt: skip
    assert found[0] == ("customer", "string", key_nullable)
    assert found[1] == ("order_id", "bigint", left_nullable)
    assert found[-2] == ("region", "string", right_nullable)
    assert found[-1] == ("qty_c", "bigint", True)


@pytest.mark.parametrize("how", ["semi", "anti"])
def test_semi_and_anti_joins_give_the_left_columns(how: str) -> None:
    result = validate(join(how, condition="right.region <> 'x'"))
    assert [c[0] for c in columns(result, "j")] == [c["name"] for c in ORDERS]
    assert lineage(result, "j")["amount"] == [("orders", "amount", "identity")]


def test_join_keys_with_different_names_are_both_kept() -> None:
    doc = document(node("j", "transform.join", how="inner", right_suffix="_c",
                        on=[{"left": "qty", "right": "qty"}, {"left": "customer", "right": "region"}]),
                   JOIN_INPUTS)  # fmt: skip
    found = columns(validate(doc), "j")
    # qty is int on the left and bigint on the right: an inner join keeps the left key's type.
    assert found[0] == ("qty", "int", True)
    assert [c[0] for c in found] == ["qty", "order_id", "customer", "amount", "price", "placed_at", "day",
                                     "customer_c", "region"]  # fmt: skip


def test_name_clashes_need_a_right_suffix() -> None:
    found = errors(join("inner"))
    assert list(found) == ["$.nodes[2].config"]
    assert "both inputs have the column qty; set 'right_suffix'" in found["$.nodes[2].config"]
    assert validate(join("inner", right_suffix="_r")).valid


def test_a_suffix_that_still_clashes_is_an_error() -> None:
    doc = join("inner", right_suffix="_x")
    doc["nodes"][0]["config"]["schema"] = [*ORDERS, {"name": "qty_x", "type": "int"}]
    found = errors(doc)
    assert "renaming the right input's 'qty' to 'qty_x' still clashes" in found["$.nodes[2].config.right_suffix"]


def test_join_key_errors() -> None:
    doc = document(node("j", "transform.join", how="left", on=[{"left": "custmer", "right": "customer"},
                                                               {"left": "placed_at", "right": "region"}]),
                   JOIN_INPUTS)  # fmt: skip
    found = errors(doc)
    assert "key 'custmer' does not exist in the left input; did you mean 'customer'?" in found[
        "$.nodes[2].config.on[0].left"
    ]
    assert "'placed_at' (timestamp) cannot be compared with 'region' (string)" in found["$.nodes[2].config.on[1]"]


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        ("qty > 1", "column 'qty' is on both sides; write left.qty or right.qty"),
        ("o.amount > 1", "qualify columns only with left. or right."),
        ("left.region = 'x'", "column 'region' does not exist in the left input"),
        ("amount + 1", "must be true or false"),
        ("sqrt(amount) > 1", "function 'sqrt' is not supported"),
    ],
)
def test_join_condition_errors(condition: str, fragment: str) -> None:
    found = errors(join("inner", right_suffix="_c", condition=condition))
    assert fragment in found["$.nodes[2].config.condition"]


def test_join_lineage() -> None:
    result = validate(join("full", right_suffix="_c", condition="left.amount > 1 AND region <> 'x'"))
    found = lineage(result, "j")
    assert found["customer"] == [("customers", "customer", "join_key"), ("orders", "customer", "join_key")]
    assert found["qty_c"] == [("customers", "qty", "identity")]
    assert result.lineage is not None
    assert [(d.node, d.column, d.how) for d in result.lineage.rows["j"]] == [
        ("customers", "customer", "join_key"), ("customers", "region", "filter"),
        ("orders", "amount", "filter"), ("orders", "customer", "join_key"),
    ]  # fmt: skip


# Aggregations -------------------------------------------------------------------------------------


def test_aggregate_types_follow_spark() -> None:
    aggregations = [
        {"name": "n", "function": "count"},
        {"name": "n_qty", "function": "count", "column": "qty"},
        {"name": "customers", "function": "count_distinct", "column": "customer"},
        {"name": "qty_sum", "function": "sum", "column": "qty"},
        {"name": "id_sum", "function": "sum", "column": "order_id"},
        {"name": "amount_sum", "function": "sum", "column": "amount"},
        {"name": "price_sum", "function": "sum", "column": "price"},
        {"name": "qty_avg", "function": "avg", "column": "qty"},
        {"name": "amount_avg", "function": "avg", "column": "amount"},
        {"name": "first_day", "function": "min", "column": "day"},
        {"name": "last_at", "function": "max", "column": "placed_at"},
        {"name": "top_customer", "function": "max", "column": "customer"},
    ]
    result = validate(document(node("agg", "transform.aggregate", group_by=["customer", "day"],
                                    aggregations=aggregations)))  # fmt: skip
    assert columns(result, "agg") == [
        ("customer", "string", True), ("day", "date", True), ("n", "bigint", False), ("n_qty", "bigint", False),
        ("customers", "bigint", False), ("qty_sum", "bigint", True), ("id_sum", "bigint", True),
        ("amount_sum", "decimal(22,2)", True), ("price_sum", "double", True), ("qty_avg", "double", True),
        ("amount_avg", "decimal(16,6)", True), ("first_day", "date", True), ("last_at", "timestamp", True),
        ("top_customer", "string", True),
    ]  # fmt: skip
    found = lineage(result, "agg")
    assert found["customer"] == [("orders", "customer", "identity")]
    assert found["amount_sum"] == [("orders", "amount", "aggregation")]
    assert found["n"] == []


def test_decimal_results_are_capped_at_38_digits() -> None:
    doc = document(node("agg", "transform.aggregate", aggregations=[
        {"name": "s", "function": "sum", "column": "amount"}, {"name": "a", "function": "avg", "column": "amount"}]))
    doc["nodes"][0]["config"]["schema"][2]["type"] = "decimal(36,36)"
    assert columns(validate(doc), "agg") == [("s", "decimal(38,36)", True), ("a", "decimal(38,38)", True)]


def test_aggregation_errors() -> None:
    doc = document(node("agg", "transform.aggregate", group_by=["customr"], aggregations=[
        {"name": "s", "function": "sum", "column": "customer"},
        {"name": "a", "function": "avg", "column": "day"},
        {"name": "m", "function": "max", "column": "nope"},
    ]))  # fmt: skip
    found = errors(doc)
    assert "did you mean 'customer'?" in found["$.nodes[1].config.group_by[0]"]
    assert "sum of 'customer' needs a number, but it is string" in found["$.nodes[1].config.aggregations[0].function"]
    assert "avg of 'day' needs a number, but it is date" in found["$.nodes[1].config.aggregations[1].function"]
    assert "column 'nope' does not exist" in found["$.nodes[1].config.aggregations[2].column"]


def test_aggregation_names_may_not_clash_with_group_columns() -> None:
    doc = document(node("agg", "transform.aggregate", group_by=["customer"],
                        aggregations=[{"name": "Customer", "function": "count"}]))  # fmt: skip
    assert "twice (as 'customer' and 'Customer'" in errors(doc)["$.nodes[1].config.aggregations"]


def window(**config: Any) -> dict[str, Any]:
    base = {"time_column": "placed_at", "window": {"type": "tumbling", "size": "1 hour"},
            "aggregations": [{"name": "n", "function": "count"}]}  # fmt: skip
    return node("w", "transform.window_aggregate", **{**base, **config})


def test_window_aggregate_output() -> None:
    result = validate(document(window(group_by=["customer"], watermark="5 minutes")))
    assert columns(result, "w") == [("window_start", "timestamp", False), ("window_end", "timestamp", False),
                                    ("customer", "string", True), ("n", "bigint", False)]  # fmt: skip
    assert lineage(result, "w")["window_start"] == [("orders", "placed_at", "expression")]


@pytest.mark.parametrize(
    ("config", "path", "fragment"),
    [
        ({"time_column": "customer"}, "time_column", "windows need a timestamp or a date"),
        ({"window": {"type": "hopping", "size": "1 minute", "slide": "2 minutes"}}, "window.slide",
         "the slide (2 minutes) is longer than the window (1 minute)"),
        ({"aggregations": [{"name": "window_end", "function": "count"}]}, "aggregations", "'window_end' twice"),
    ],
)  # fmt: skip
def test_window_aggregate_errors(config: dict[str, Any], path: str, fragment: str) -> None:
    assert fragment in errors(document(window(**config)))[f"$.nodes[1].config.{path}"]


# Streams --------------------------------------------------------------------------------------------


def streaming(step: dict[str, Any], inputs: dict[str, list[str]] | None = None) -> dict[str, Any]:
    doc = document(step, inputs, mode="streaming")
    for n in doc["nodes"]:
        if n["id"] == "orders":
            n["config"]["streaming"] = True
    return doc


def test_streaming_windows_need_a_watermark() -> None:
    found = errors(streaming(window()))
    assert "set 'watermark'" in found["$.nodes[1].config.watermark"]
    assert validate(streaming(window(watermark="10 seconds")), engine="spark").valid


def test_streaming_deduplication_needs_a_watermark_upstream() -> None:
    found = errors(streaming(node("d", "transform.deduplicate", keys=["order_id"])))
    assert "needs a watermark upstream" in found["$.nodes[1].config.keys"]


@pytest.mark.parametrize(
    ("step", "inputs", "path", "fragment"),
    [
        (node("agg", "transform.aggregate", aggregations=[{"name": "n", "function": "count"}]), None,
         "group_by", "use transform.window_aggregate"),
        (node("j", "transform.join", how="right", right_suffix="_c", on=[{"left": "customer", "right": "customer"}]),
         JOIN_INPUTS, "how", "with the stream on the left it supports inner, left, semi, anti joins"),
        (node("u", "transform.union", allow_missing=True), {"in": ["orders", "customers"]}, "by_name",
         "cannot union a stream with batch inputs (customers)"),
        (node("q", "transform.sql", query="SELECT customer, count(*) AS n FROM orders GROUP BY customer"), None,
         "query", "this one uses aggregations"),
    ],
)  # fmt: skip
def test_spark_declares_what_it_cannot_stream(
    step: dict[str, Any], inputs: dict[str, list[str]] | None, path: str, fragment: str
) -> None:
    doc = streaming(step, inputs)
    assert validate(doc).valid
    found = errors(doc, engine="spark")
    assert fragment in found[f"$.nodes[{len(doc['nodes']) - 2}].config.{path}"]


def test_a_join_of_two_streams_must_be_inner_on_spark() -> None:
    doc = streaming(node("j", "transform.join", how="left", right_suffix="_c",
                         on=[{"left": "customer", "right": "customer"}]), JOIN_INPUTS)  # fmt: skip
    doc["nodes"][1]["config"]["streaming"] = True
    assert "between two streams" in errors(doc, engine="spark")["$.nodes[2].config.how"]
    doc["nodes"][2]["config"]["how"] = "inner"
    assert validate(doc, engine="spark").valid


def test_streaming_sinks_append_and_sources_need_a_schema() -> None:
    doc = streaming(node("f", "transform.filter", condition="qty > 1"))
    doc["nodes"][-1]["config"]["mode"] = "overwrite"
    assert "set mode to 'append'" in errors(doc, engine="spark")["$.nodes[2].config.mode"]
    del doc["nodes"][-1]["config"]["mode"]
    doc["nodes"][0]["config"] = {"path": "in/", "format": "parquet", "streaming": True}
    assert "needs a 'schema'" in errors(doc, engine="spark")["$.nodes[0].config.schema"]


def test_sort_and_limit_are_batch_only() -> None:
    for step in (node("s", "transform.sort", order=[{"column": "qty"}]), node("l", "transform.limit", n=1)):
        found = errors(streaming(step), engine="spark")
        assert "works only in batch pipelines" in found["$.nodes[1].type"]


# Deduplicate, union, sort, limit ---------------------------------------------------------------------


def test_deduplicate_sort_and_limit_keep_their_input_columns() -> None:
    for step in (
        node("s", "transform.deduplicate", keys=["customer"], order_by={"column": "placed_at", "direction": "desc"}),
        node("s", "transform.sort", order=[{"column": "amount", "direction": "desc", "nulls": "first"}]),
        node("s", "transform.limit", n=5),
    ):
        result = validate(document(step))
        assert [c[0] for c in columns(result, "s")] == [c["name"] for c in ORDERS]
        assert lineage(result, "s")["qty"] == [("orders", "qty", "identity")]


def test_deduplicate_and_sort_columns_must_exist() -> None:
    found = errors(document(node("d", "transform.deduplicate", keys=["custmer"], order_by={"column": "at"})))
    assert "did you mean 'customer'?" in found["$.nodes[1].config.keys[0]"]
    assert "'at' does not exist" in found["$.nodes[1].config.order_by.column"]
    found = errors(document(node("s", "transform.sort", order=[{"column": "Qty"}])))
    assert "did you mean 'qty'?" in found["$.nodes[1].config.order[0].column"]


def test_keep_last_without_an_order_warns() -> None:
    [warning] = validate(document(node("d", "transform.deduplicate", keys=["customer"], keep="last"))).warnings
    assert warning.path == "$.nodes[1].config.keep"


def test_union_by_name_widens_types_and_fills_missing_columns() -> None:
    result = validate(document(node("u", "transform.union", allow_missing=True), {"in": ["orders", "customers"]}))
    found = columns(result, "u")
    assert found[:4] == [("order_id", "bigint", True), ("customer", "string", True), ("amount", "decimal(12,2)", True),
                         ("qty", "bigint", True)]  # fmt: skip
    assert found[-1] == ("region", "string", True)
    assert lineage(result, "u")["qty"] == [("customers", "qty", "identity"), ("orders", "qty", "identity")]


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({}, "the column 'order_id' is missing from input customers"),
        ({"by_name": False}, "every input needs the same number of columns"),
        ({"by_name": False, "allow_missing": True}, "allow_missing matches columns by name"),
    ],
)
def test_union_mismatches(config: dict[str, Any], fragment: str) -> None:
    found = validate(document(node("u", "transform.union", **config), {"in": ["orders", "customers"]})).errors
    assert any(fragment in d.message for d in found), found


def test_union_types_must_be_compatible() -> None:
    doc = document(node("u", "transform.union", allow_missing=True), {"in": ["orders", "customers"]})
    doc["nodes"][1]["config"]["schema"][2]["type"] = "date"
    found = errors(doc)
    assert "the column 'qty' is int in 'orders' but date in 'customers'" in found["$.nodes[2]"]


# SQL -----------------------------------------------------------------------------------------------


def sql(query: str, inputs: tuple[str, ...] = ("orders", "customers")) -> dict[str, Any]:
    return document(node("q", "transform.sql", query=query), {"in": list(inputs)})


def test_sql_output_columns_and_lineage() -> None:
    result = validate(sql(
        "WITH big AS (SELECT * FROM orders WHERE amount > 10) "
        "SELECT c.region, count(*) AS n, sum(b.amount) AS total, max(b.day) AS last_day, upper(c.region) AS r "
        "FROM big b LEFT JOIN customers c ON b.customer = c.customer GROUP BY c.region HAVING count(*) > 1"
    ))  # fmt: skip
    assert columns(result, "q") == [("region", "string", True), ("n", "bigint", False),
                                    ("total", "decimal(22,2)", True), ("last_day", "date", True),
                                    ("r", "string", True)]  # fmt: skip
    found = lineage(result, "q")
    assert found["region"] == [("customers", "region", "identity")]
    assert found["total"] == [("orders", "amount", "aggregation")]
    assert found["r"] == [("customers", "region", "expression")]
    assert result.lineage is not None
    assert [(d.node, d.column, d.how) for d in result.lineage.rows["q"]] == [
        ("customers", "customer", "join_key"), ("orders", "amount", "filter"), ("orders", "customer", "join_key")]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("SELECT * FROM secrets", "reads table 'secrets', which is not one of its inputs"),
        ("SELECT amount FROM orders o JOIN customrs c ON o.customer = c.customer", "Did you mean 'customers'?"),
        ("SELECT amount, nope FROM orders", "column 'nope' does not exist"),
        ("SELECT qty FROM orders JOIN customers USING (customer)", "column 'qty' is ambiguous"),
        ("SELECT sqrt(amount) AS s FROM orders", "function 'sqrt' is not supported"),
        ("SELECT customer, amount FROM orders GROUP BY customer", "'amount' must be in GROUP BY"),
        ("SELECT amount * 2 FROM orders", "give 'amount * 2' a name"),
        ("SELECT * FROM orders JOIN customers ON orders.customer = customers.customer", "column 'customer' twice"),
        ("SELECT customer FROM orders WHERE count(*) > 1", "aggregations are not allowed in WHERE"),
        ("SELECT sum(customer) AS s FROM orders", "sum() needs a number"),
        ("DELETE FROM orders", "write a single SELECT query"),
    ],
)
def test_sql_errors(query: str, fragment: str) -> None:
    found = errors(sql(query))
    assert fragment in found["$.nodes[2].config.query"], found


def test_sql_reading_one_node_twice_is_an_error() -> None:
    doc = sql("SELECT * FROM orders", ("orders",))
    doc["nodes"][0] = node("orders", "transform.quality", rules=[{"name": "r", "expression": "true", "on_fail": "warn"}])
    doc["nodes"].insert(0, source("raw", ORDERS))
    doc["edges"] = [edge("raw", "orders"), edge("orders", "q"), edge("orders", "q", from_port="rejected"),
                    edge("q", "out")]  # fmt: skip
    assert "'orders' is connected twice" in errors(doc)["$.nodes[2].config.query"]


def test_sql_over_an_unknown_input_checks_what_it_can() -> None:
    doc = sql("SELECT anything FROM orders", ("orders",))
    doc["nodes"][0]["config"] = {"path": "in/x.parquet", "format": "parquet"}
    result = validate(doc)
    assert result.valid and "q" not in result.schemas
    doc["nodes"][1]["config"]["query"] = "SELECT sqrt(x) AS y FROM nope"
    assert len(errors(doc)["$.nodes[1].config.query"]) > 0


# Quality, alerts, sinks ------------------------------------------------------------------------------


def test_quality_outputs_and_lineage() -> None:
    rules = [{"name": "positive", "expression": "amount > 0", "on_fail": "drop"},
             {"name": "known", "expression": "customer IS NOT NULL", "on_fail": "warn"}]  # fmt: skip
    result = validate(document(node("chk", "transform.quality", rules=rules)))
    assert columns(result, "chk") == [(c["name"], c["type"], c.get("nullable", True)) for c in ORDERS]
    assert columns(result, "chk", "rejected")[-1] == ("_failed_rules", "array<string>", False)
    assert lineage(result, "chk", "rejected")["_failed_rules"] == [
        ("orders", "amount", "expression"), ("orders", "customer", "expression")]
    assert result.lineage is not None
    assert [(d.column, d.how) for d in result.lineage.rows["chk"]] == [("amount", "filter")]


def test_quality_errors() -> None:
    doc = document(node("chk", "transform.quality", rules=[{"name": "r", "expression": "amount", "on_fail": "fail"}]))
    assert "rule 'r' must be true or false" in errors(doc)["$.nodes[1].config.rules[0].expression"]
    doc["nodes"][0]["config"]["schema"] = [*ORDERS, {"name": "_failed_rules", "type": "string"}]
    doc["nodes"][1]["config"]["rules"][0]["expression"] = "amount > 0"
    assert "already has a column '_failed_rules'" in errors(doc)["$.nodes[1]"]


def test_rejected_rows_cannot_be_written_as_csv() -> None:
    doc = document(node("chk", "transform.quality", rules=[{"name": "r", "expression": "qty > 0", "on_fail": "quarantine"}]))
    doc["nodes"][-1]["config"]["format"] = "csv"
    doc["edges"][-1]["from"]["port"] = "rejected"
    assert "csv files cannot hold the array<string> column '_failed_rules'" in errors(doc)["$.nodes[2].config.format"]


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ("Order {order_id} of {custmer}", "the message's field 'custmer' does not exist in the input; did you mean"),
        ("Broken {order_id", "write {{ or }} for a literal brace"),
        ("Odd { order_id }", "is not a column field"),
        ("Fine {{literal}} {order_id}", None),
    ],
)
def test_alert_placeholders_name_input_columns(message: str, fragment: str | None) -> None:
    found = errors(document(node("alert", "sink.alert", message=message, condition="amount > 1")))
    if fragment is None:
        assert found == {}
    else:
        assert fragment in found["$.nodes[1].config.message"]


def test_kafka_sources_infer_their_schema_and_debezium_columns() -> None:
    schema = [{"name": "id", "type": "bigint"}, {"name": "seen", "type": "timestamp"}]
    kafka = {"id": "cdc", "type": "source.kafka",
             "config": {"topic": "db.orders", "format": "debezium-json", "schema": schema, "event_time": "seen",
                        "watermark": "5 seconds"}}  # fmt: skip
    doc = {"format": "studio.pipeline/v1", "name": "k", "nodes": [kafka, {"id": "out", "type": "sink.iceberg",
           "config": {"table": "lake.orders", "mode": "upsert", "keys": ["id"],
                      "partition_by": [{"column": "seen", "transform": "day"}]}}],
           "edges": [edge("cdc", "out")]}  # fmt: skip
    result = validate(doc)
    assert columns(result, "cdc") == [("id", "bigint", True), ("seen", "timestamp", True), ("_op", "string", False),
                                      ("_ts", "timestamp", True)]  # fmt: skip
    assert errors(doc, engine="spark") == {}  # the studio's Spark connectors run Kafka and Iceberg
    assert result.lineage is not None
    assert result.to_dict()["lineage"]["datasets"] == {
        "inputs": [{"node": "cdc", "dataset": "kafka:db.orders"}],
        "outputs": [{"node": "out", "dataset": "iceberg:lake.orders", "columns": {
            "id": [{"dataset": "kafka:db.orders", "column": "id", "how": "identity"}],
            "seen": [{"dataset": "kafka:db.orders", "column": "seen", "how": "identity"}],
            "_op": [{"dataset": "kafka:db.orders", "column": "_op", "how": "identity"}],
            "_ts": [{"dataset": "kafka:db.orders", "column": "_ts", "how": "identity"}]}}],
    }  # fmt: skip
    kafka["config"]["event_time"] = "id"
    doc["nodes"][1]["config"]["partition_by"][0]["column"] = "id"
    found = errors(doc)
    assert "must be a timestamp column" in found["$.nodes[0].config.event_time"]


def test_iceberg_sink_partition_transforms_check_types() -> None:
    doc = document(node("lake", "sink.iceberg", table="lake.orders", partition_by=[{"column": "customer",
                                                                                     "transform": "month"}]))
    assert "needs a date or timestamp column" in errors(doc)["$.nodes[1].config.partition_by[0].transform"]


# Lineage as a whole ------------------------------------------------------------------------------------


def test_lineage_is_json_deterministic_and_traces_datasets() -> None:
    doc = {
        "format": "studio.pipeline/v1",
        "name": "lineage",
        "parameters": [{"name": "day", "type": "date", "default": "2026-01-01"}],
        "nodes": [
            source("orders", ORDERS),
            {"id": "big", "type": "transform.filter", "config": {"condition": "amount > 100"}},
            {"id": "calc", "type": "transform.derive", "config": {"columns": [
                {"name": "total", "expression": "amount * qty"}, {"name": "twice", "expression": "total * 2"},
                {"name": "who", "expression": "customer"}]}},
            {"id": "per_who", "type": "transform.aggregate", "config": {"group_by": ["who"], "aggregations": [
                {"name": "sum_twice", "function": "sum", "column": "twice"}]}},
            {"id": "out", "type": "sink.file", "config": {"path": "out/${day}", "format": "parquet"}},
        ],
        "edges": [edge("orders", "big"), edge("big", "calc"), edge("calc", "per_who"), edge("per_who", "out")],
    }  # fmt: skip
    first = validate(doc, parameters={"day": "2026-02-03"}).to_dict()["lineage"]
    shuffled = copy.deepcopy(doc)
    shuffled["nodes"][2]["position"] = {"x": 1, "y": 2}
    assert json.dumps(first) == json.dumps(validate(shuffled, parameters={"day": "2026-02-03"}).to_dict()["lineage"])
    assert first["columns"]["calc"]["out"]["twice"] == [
        {"node": "big", "port": "out", "column": "amount", "how": "expression"},
        {"node": "big", "port": "out", "column": "qty", "how": "expression"},
    ]
    assert first["columns"]["calc"]["out"]["who"] == [
        {"node": "big", "port": "out", "column": "customer", "how": "identity"}]
    assert first["rows"] == {"big": [{"node": "orders", "port": "out", "column": "amount", "how": "filter"}]}
    assert first["datasets"]["inputs"] == [{"node": "orders", "dataset": "file:in/orders/*.csv"}]
    [output] = first["datasets"]["outputs"]
    assert output["dataset"] == "file:out/2026-02-03"
    assert output["columns"] == {
        "who": [{"dataset": "file:in/orders/*.csv", "column": "customer", "how": "identity"}],
        "sum_twice": [{"dataset": "file:in/orders/*.csv", "column": "amount", "how": "aggregation"},
                      {"dataset": "file:in/orders/*.csv", "column": "qty", "how": "aggregation"}],
    }  # fmt: skip


def test_an_invalid_document_still_has_lineage_for_what_checked() -> None:
    doc = document(node("f", "transform.filter", condition="nope > 1"))
    data = validate(doc).to_dict()
    assert data["valid"] is False
    assert set(data["lineage"]["columns"]) == {"orders"}
    assert validate("not a document").to_dict()["lineage"] == {
        "columns": {}, "rows": {}, "datasets": {"inputs": [], "outputs": []}}


def test_sql_is_emitted_with_input_placeholders_and_escaped_braces() -> None:
    from compiler.parameters import ParameterValue
    from compiler.sql import analyse_sql
    from compiler.types import Field

    query, problems = analyse_sql(
        "SELECT o.id, '{x} ${y}' AS t FROM orders o WHERE o.day <= ${run} UNION ALL SELECT id, 'z' AS t FROM orders",
        inputs={"orders": [Field("id", "bigint"), Field("day", "date")]},
        parameters={"run": ParameterValue("run", "date", "2026-01-02")},
    )
    assert problems == [] and query is not None
    assert query.sql({"orders": "frame"}) == (
        "SELECT `o`.`id`, '{{x}} $\\{{y}}' AS `t` FROM {frame} AS `o` WHERE `o`.`day` <= DATE '2026-01-02' "
        "UNION ALL SELECT `id`, 'z' AS `t` FROM {frame} AS `orders`"
    )
    assert query.tables == ("orders",)
    assert query.features == frozenset({"set_operation"})
    plain, _ = analyse_sql("SELECT '{x}' AS t", inputs={}, parameters={})
    assert plain is not None and plain.sql({}) == "SELECT '{x}' AS `t`"
