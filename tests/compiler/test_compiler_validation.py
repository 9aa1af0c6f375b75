"""Validation of whole documents: paths and messages of the errors a person sees in the editor."""

from __future__ import annotations

from typing import Any

import pytest

from compiler import ENGINES, Diagnostic, validate


def errors(document: object, **kwargs: Any) -> list[Diagnostic]:
    return validate(document, **kwargs).errors


def paths(document: object, **kwargs: Any) -> list[str]:
    return [d.path for d in errors(document, **kwargs)]


def only_error(document: object, **kwargs: Any) -> Diagnostic:
    found = errors(document, **kwargs)
    assert len(found) == 1, [d.message for d in found]
    return found[0]


def add_edge(
    document: dict[str, Any], source: str, target: str, source_port: str = "out", target_port: str = "in"
) -> None:
    document["edges"].append(
        {"from": {"node": source, "port": source_port}, "to": {"node": target, "port": target_port}}
    )


def test_the_canonical_document_is_valid(orders_document: dict[str, Any]) -> None:
    result = validate(orders_document, engine="spark")
    assert result.valid, result.errors
    assert result.warnings == []


# Document structure --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "path", "fragment"),
    [
        ([], "$", "must be a JSON object"),
        ("text", "$", "must be a JSON object"),
        ({"format": "studio.pipeline/v2", "name": "x", "nodes": [], "edges": []}, "$.format", "studio.pipeline/v1"),
        ({"format": "studio.pipeline/v1", "name": "x", "nodes": {}, "edges": []}, "$.nodes", "must be a list"),
    ],
)
def test_structural_errors_point_at_the_document(document: object, path: str, fragment: str) -> None:
    found = errors(document)
    assert any(d.path == path and fragment in d.message for d in found), found


def test_unknown_keys_are_errors_with_their_path(orders_document: dict[str, Any]) -> None:
    orders_document["colour"] = "blue"
    orders_document["nodes"][0]["config"]["fromat"] = "csv"
    orders_document["nodes"][0]["config"]["options"]["headers"] = True
    orders_document["nodes"][1]["colour"] = "red"
    orders_document["edges"][0]["weight"] = 1
    orders_document["parameters"][0]["help"] = "?"
    found = {d.path: d for d in errors(orders_document)}
    assert set(found) == {
        "$.colour",
        "$.nodes[0].config.fromat",
        "$.nodes[0].config.options.headers",
        "$.nodes[1].colour",
        "$.edges[0].weight",
        "$.parameters[0].help",
    }
    assert "Did you mean 'format'?" in found["$.nodes[0].config.fromat"].message
    assert found["$.nodes[0].config.fromat"].node == "orders"
    assert "Did you mean 'header'?" in found["$.nodes[0].config.options.headers"].message


def test_odd_keys_get_bracketed_paths(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][1]["config"]["a 'b'"] = 1
    assert paths(orders_document) == ["$.nodes[1].config[\"a 'b'\"]"]


def test_unknown_node_type_suggests_the_closest(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][1]["type"] = "transform.filtre"
    error = only_error(orders_document)
    assert error.path == "$.nodes[1].type"
    assert error.node == "big"
    assert "unknown type 'transform.filtre'" in error.message
    assert "Did you mean 'transform.filter'?" in error.message


@pytest.mark.parametrize("bad_id", ["Orders", "1orders", "orders-raw", "", "a" * 64, 7])
def test_invalid_node_ids(orders_document: dict[str, Any], bad_id: object) -> None:
    orders_document["nodes"][2]["id"] = bad_id
    orders_document["edges"].pop()
    found = errors(orders_document)
    assert any(d.path == "$.nodes[2].id" and "is not valid" in d.message for d in found), found


def test_duplicate_node_ids(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"].append(dict(orders_document["nodes"][1]))
    error = only_error(orders_document)
    assert error.path == "$.nodes[3].id"
    assert "used by more than one node" in error.message


def test_config_value_types_and_required_keys(orders_document: dict[str, Any]) -> None:
    config = orders_document["nodes"][0]["config"]
    del config["path"]
    config["format"] = "xml"
    config["streaming"] = "no"
    config["schema"][1]["type"] = "decimal(40,2)"
    config["schema"][2]["name"] = "order date"
    orders_document["nodes"][2]["config"]["mode"] = "replace"
    found = {d.path: d.message for d in errors(orders_document)}
    assert "'path' is required for source.file" in found["$.nodes[0].config.path"]
    assert "must be one of 'csv', 'json', 'parquet', not 'xml'" in found["$.nodes[0].config.format"]
    assert "'streaming' must be true or false, not a string" in found["$.nodes[0].config.streaming"]
    assert "precision must be between 1 and 38" in found["$.nodes[0].config.schema[1].type"]
    assert "not a valid column name" in found["$.nodes[0].config.schema[2].name"]
    assert "must be one of 'overwrite', 'append'" in found["$.nodes[2].config.mode"]


def test_csv_and_json_sources_need_a_schema(orders_document: dict[str, Any]) -> None:
    del orders_document["nodes"][0]["config"]["schema"]
    error = only_error(orders_document)
    assert error.path == "$.nodes[0].config.schema"
    assert "required for csv and json files" in error.message


def test_schema_columns_may_not_differ_only_in_case(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][0]["config"]["schema"].append({"name": "Amount", "type": "int"})
    error = only_error(orders_document)
    assert error.path == "$.nodes[0].config.schema[4].name"
    assert "Spark ignores case" in error.message


def test_type_aliases_get_a_hint(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][0]["config"]["schema"][0]["type"] = "long"
    error = only_error(orders_document)
    assert "use 'bigint'" in error.message


def test_all_errors_are_reported_at_once(orders_document: dict[str, Any]) -> None:
    orders_document["extra"] = True
    orders_document["nodes"][0]["config"]["format"] = "xml"
    orders_document["nodes"][1]["config"]["condition"] = "sqrt(amount) > 1"
    orders_document["nodes"][2]["config"]["path"] = "out/${nope}"
    orders_document["edges"].append({"from": {"node": "ghost", "port": "out"}, "to": {"node": "out", "port": "in"}})
    assert paths(orders_document) == [
        "$.extra",
        "$.nodes[0].config.format",
        "$.edges[2].from.node",
        "$.nodes[2].config.path",
        "$.nodes[1].config.condition",
    ]


# Graph ---------------------------------------------------------------------------------------


def test_cycles_name_their_path(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"].insert(2, {"id": "again", "type": "transform.filter", "config": {"condition": "true"}})
    orders_document["nodes"][1]["type"] = "transform.union"
    orders_document["nodes"][1]["config"] = {}
    add_edge(orders_document, "big", "again")
    add_edge(orders_document, "again", "big")
    found = [d for d in errors(orders_document) if "cycle" in d.message]
    assert len(found) == 1
    assert "big -> again -> big" in found[0].message
    assert found[0].path == "$.edges[3]"


def test_a_self_loop_is_a_cycle(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][1]["type"] = "transform.union"
    orders_document["nodes"][1]["config"] = {}
    add_edge(orders_document, "big", "big")
    error = only_error(orders_document)
    assert "cycle: big -> big" in error.message


def test_dangling_edges(orders_document: dict[str, Any]) -> None:
    add_edge(orders_document, "ordrs", "out")
    add_edge(orders_document, "big", "out", source_port="rejected")
    found = {d.path: d.message for d in errors(orders_document)}
    assert "node 'ordrs', which does not exist. Did you mean 'orders'?" in found["$.edges[2].from.node"]
    assert "has no output port 'rejected'; its output ports are: out" in found["$.edges[3].from.port"]


def test_sources_take_no_input_and_sinks_feed_nothing(orders_document: dict[str, Any]) -> None:
    add_edge(orders_document, "out", "orders")
    found = {d.path: d.message for d in errors(orders_document)}
    assert "a sink's output cannot feed other nodes" in found["$.edges[2].from.port"]
    assert "a source cannot receive edges" in found["$.edges[2].to.port"]


def test_single_input_ports_take_one_edge(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"].append(
        {"id": "more", "type": "source.file", "config": orders_document["nodes"][0]["config"]}
    )
    add_edge(orders_document, "more", "big")
    error = only_error(orders_document)
    assert error.path == "$.edges[2]"
    assert "takes one edge on its 'in' input, but 2 are connected" in error.message


def test_join_needs_left_and_right(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][1] = {
        "id": "big",
        "type": "transform.join",
        "config": {"how": "inner", "on": [{"left": "order_id", "right": "order_id"}]},
    }
    orders_document["edges"][0]["to"]["port"] = "left"
    error = only_error(orders_document)
    assert error.path == "$.nodes[1]"
    assert "nothing connected to its 'right' input" in error.message


def test_union_accepts_several_inputs(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"].append(
        {"id": "more", "type": "source.file", "config": orders_document["nodes"][0]["config"]}
    )
    orders_document["nodes"][1] = {"id": "big", "type": "transform.union", "config": {}}
    add_edge(orders_document, "more", "big")
    assert validate(orders_document).valid


def test_nodes_that_reach_no_sink(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"].append({"id": "stray", "type": "transform.filter", "config": {"condition": "true"}})
    add_edge(orders_document, "orders", "stray")
    error = only_error(orders_document)
    assert (error.path, error.node) == ("$.nodes[3]", "stray")
    assert "does not lead to any sink" in error.message


def test_a_pipeline_without_a_sink(orders_document: dict[str, Any]) -> None:
    del orders_document["nodes"][2]
    del orders_document["edges"][1]
    error = only_error(orders_document)
    assert error.path == "$.nodes"
    assert "no sink" in error.message


def test_an_empty_pipeline_is_not_valid(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"], orders_document["edges"] = [], []
    assert "no nodes" in only_error(orders_document).message


# Parameters ----------------------------------------------------------------------------------


def test_unknown_parameter_in_an_expression(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][1]["config"]["condition"] = "order_date = ${run_dat}"
    error = only_error(orders_document)
    assert error.path == "$.nodes[1].config.condition"
    assert "parameter '${run_dat}' is not declared. Did you mean '${run_date}'?" in error.message


def test_unknown_parameter_in_a_path(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][2]["config"]["path"] = "out/${day}/big"
    error = only_error(orders_document)
    assert error.path == "$.nodes[2].config.path"
    assert "'${day}', which is not declared" in error.message


def test_malformed_parameter_references(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][2]["config"]["path"] = "out/${run_date"
    orders_document["nodes"][1]["config"]["condition"] = "amount > $min_amount"
    found = {d.path: d.message for d in errors(orders_document)}
    assert "without a matching '}'" in found["$.nodes[2].config.path"]
    assert "write parameters as ${name}" in found["$.nodes[1].config.condition"]


@pytest.mark.parametrize(
    ("declaration", "fragment"),
    [
        ({"name": "d", "type": "date", "default": "2026-02-30"}, "is not a real date"),
        ({"name": "n", "type": "int", "default": 2**31}, "whole number between"),
        ({"name": "n", "type": "int", "default": True}, "whole number between"),
        ({"name": "x", "type": "double", "default": "many"}, "finite number"),
        ({"name": "t", "type": "timestamp", "default": "2026-01-01T00:00:00Z"}, "no time zone"),
        ({"name": "b", "type": "boolean", "default": "yes"}, "true or false"),
        ({"name": "s", "type": "string", "default": 5}, "must be text"),
    ],
)
def test_parameter_defaults_must_match_their_type(
    orders_document: dict[str, Any], declaration: dict[str, Any], fragment: str
) -> None:
    orders_document["parameters"].append(declaration)
    error = only_error(orders_document)
    assert error.path == "$.parameters[2].default"
    assert fragment in error.message


def test_parameter_declarations(orders_document: dict[str, Any]) -> None:
    orders_document["parameters"] += [
        {"name": "run_date", "type": "date", "default": "2026-01-01"},
        {"name": "bad-name", "type": "string", "default": ""},
        {"name": "f", "type": "float", "default": 1.0},
        {"name": "nodefault", "type": "string"},
    ]
    found = {d.path: d.message for d in errors(orders_document)}
    assert "declared twice" in found["$.parameters[2].name"]
    assert "is not valid" in found["$.parameters[3].name"]
    assert "Did you mean 'double'?" in found["$.parameters[4].type"]
    assert "needs a 'default'" in found["$.parameters[5].default"]


def test_run_parameter_overrides(orders_document: dict[str, Any]) -> None:
    result = validate(orders_document, parameters={"run_date": "2026-02-31", "min_amount": "12.5", "min_amt": 3})
    found = {d.path: d.message for d in result.errors}
    assert set(found) == {"parameters.run_date", "parameters.min_amount", "$.parameters"}
    assert "is not a real date" in found["parameters.run_date"]
    assert "whole number" in found["parameters.min_amount"]
    assert (
        "Run parameter 'min_amt' is not declared by the pipeline. Did you mean 'min_amount'?" in found["$.parameters"]
    )


def test_run_parameters_accept_command_line_text(orders_document: dict[str, Any]) -> None:
    assert validate(orders_document, parameters={"run_date": "2026-01-02", "min_amount": "7"}).valid
    assert validate(orders_document, parameters={"min_amount": 7}).valid
    assert paths(orders_document, parameters=["min_amount"]) == ["parameters"]


# Expressions ---------------------------------------------------------------------------------


def test_unknown_column_with_suggestion(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][1]["config"]["condition"] = "amout > 100"
    error = only_error(orders_document)
    assert error.path == "$.nodes[1].config.condition"
    assert error.message == (
        "Node 'big': column 'amout' does not exist in the input; did you mean 'amount'? "
        "Available: order_id, amount, order_date, customer."
    )


def test_columns_match_case_exactly(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][1]["config"]["condition"] = "Amount > 100"
    assert "did you mean 'amount'?" in only_error(orders_document).message


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        ("sqrt(amount) > 1", "function 'sqrt' is not supported"),
        ("nvl(amount, 0) > 1", "function 'nvl' is not supported; use coalesce instead"),
        ("sum(amount) > 1", "function 'sum' is not supported"),
        ("amount > (SELECT 1)", "subqueries are not supported"),
        ("amount > 1; DROP TABLE x", "single expression"),
        ("amount >", "not valid Spark SQL"),
        ("amount", "must be true or false for each row, but it gives decimal(12,2)"),
        ("customer > order_date AND order_date = 1", "cannot compare 'order_date' (date) with '1' (int)"),
        ("concat(customer, order_id) = 'x'", "concat expects text, but 'order_id' is bigint"),
    ],
)
def test_expression_errors(orders_document: dict[str, Any], condition: str, fragment: str) -> None:
    orders_document["nodes"][1]["config"]["condition"] = condition
    error = only_error(orders_document)
    assert error.path == "$.nodes[1].config.condition"
    assert error.node == "big"
    assert fragment in error.message


def test_expression_errors_are_reported_together(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][1]["config"]["condition"] = "sqrt(amout) > ${nope}"
    messages = [d.message for d in errors(orders_document)]
    assert len(messages) == 3
    assert any("'sqrt'" in m for m in messages)
    assert any("'${nope}'" in m for m in messages)
    assert any("'amout'" in m for m in messages)


def test_expressions_are_checked_in_nodes_without_a_back_end_yet(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"].insert(
        2,
        {
            "id": "alert",
            "type": "sink.alert",
            "config": {"condition": "amount > pow(2, 3)", "message": "Order {order_id}"},
        },
    )
    add_edge(orders_document, "big", "alert")
    error = only_error(orders_document)
    assert error.path == "$.nodes[2].config.condition"
    assert "'pow'" in error.message


# Modes and engines ---------------------------------------------------------------------------


def test_capability_errors_for_node_types_without_a_back_end(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][0] = {"id": "orders", "type": "source.iceberg", "config": {"table": "raw.orders"}}
    assert validate(orders_document).valid
    assert validate(orders_document, engine="spark").valid
    error = only_error(orders_document, engine="flink")
    assert (error.path, error.node) == ("$.nodes[0].type", "orders")
    assert error.message.startswith("Node 'orders': source.iceberg is not supported by the flink back end: ")


def test_every_engine_answers_for_every_node_type_and_mode() -> None:
    """The capability table covers every (type, engine, mode); an unsupported pair has a reason."""
    from compiler.capabilities import CAPABILITIES
    from compiler.document import MODES
    from compiler.nodes import NODE_SPECS

    for node_type in NODE_SPECS:
        for engine in ENGINES:
            for mode in MODES:
                found = CAPABILITIES[(node_type, engine, mode)]
                assert found.supported or node_type in found.reason, (node_type, engine, mode)


def test_unknown_engine(orders_document: dict[str, Any]) -> None:
    error = only_error(orders_document, engine="beam")
    assert error.path == "engine"
    assert "choose one of: spark, flink" in error.message


def test_streaming_mode(orders_document: dict[str, Any]) -> None:
    orders_document["mode"] = "streaming"
    found = {d.path: d.message for d in errors(orders_document, engine="spark")}
    assert set(found) == {"$.mode"}
    assert "needs at least one streaming source" in found["$.mode"]


def test_batch_only_nodes_in_streaming_pipelines(orders_document: dict[str, Any]) -> None:
    orders_document["mode"] = "streaming"
    orders_document["nodes"][0]["config"]["streaming"] = True
    orders_document["nodes"][1] = {"id": "big", "type": "transform.sort", "config": {"order": [{"column": "amount"}]}}
    error = only_error(orders_document)
    assert error.path == "$.nodes[1].type"
    assert "works only in batch pipelines" in error.message


def test_streaming_source_in_a_batch_pipeline(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][0]["config"]["streaming"] = True
    error = only_error(orders_document)
    assert error.path == "$.nodes[0].config.streaming"


# Every node type of the format is checked structurally -----------------------------------------

VALID_CONFIGS: dict[str, dict[str, Any]] = {
    "transform.select": {"columns": [{"name": "amount", "alias": "a", "type": "double"}]},
    "transform.filter": {"condition": "amount > 1"},
    "transform.derive": {"columns": [{"name": "x", "expression": "amount * 2"}]},
    "transform.aggregate": {"group_by": ["customer"], "aggregations": [{"name": "n", "function": "count"}]},
    "transform.window_aggregate": {
        "time_column": "order_date",
        "window": {"type": "hopping", "size": "10 minutes", "slide": "1 minute"},
        "watermark": "10 seconds",
        "aggregations": [{"name": "total", "function": "sum", "column": "amount"}],
    },
    "transform.deduplicate": {
        "keys": ["order_id"],
        "order_by": {"column": "order_date", "direction": "desc"},
        "keep": "last",
    },
    "transform.union": {"by_name": True, "allow_missing": False},
    "transform.sort": {"order": [{"column": "amount", "direction": "desc", "nulls": "last"}]},
    "transform.limit": {"n": 10},
    "transform.sql": {"query": "SELECT order_id FROM upstream WHERE amount > ${min_amount}"},
    "transform.quality": {"rules": [{"name": "positive", "expression": "amount > 0", "on_fail": "quarantine"}]},
    "sink.iceberg": {
        "table": "curated.orders",
        "mode": "upsert",
        "keys": ["order_id"],
        "partition_by": [
            {"column": "order_date", "transform": "month"},
            {"column": "order_id", "transform": "bucket[16]"},
        ],
    },
    "sink.file": {"path": "out/x", "format": "csv", "mode": "append", "partition_by": ["customer"]},
    "sink.kafka": {"topic": "orders-${run_date}", "key_columns": ["order_id"]},
    "sink.alert": {"condition": "amount > 1000", "message": "Order {order_id} is large", "severity": "critical"},
}
INVALID_CONFIGS: dict[str, tuple[dict[str, Any], str]] = {
    "transform.select": ({"columns": []}, "$.nodes[1].config.columns"),
    "transform.derive": (
        {"columns": [{"name": "x", "expression": "1"}, {"name": "X", "expression": "2"}]},
        "$.nodes[1].config.columns[1].name",
    ),
    "transform.aggregate": (
        {"aggregations": [{"name": "s", "function": "sum"}]},
        "$.nodes[1].config.aggregations[0].column",
    ),
    "transform.window_aggregate": (
        {
            "time_column": "t",
            "window": {"type": "session", "size": "1 minute"},
            "aggregations": [{"name": "n", "function": "count"}],
        },
        "$.nodes[1].config.window.gap",
    ),
    "transform.deduplicate": ({"keys": ["a", "a"]}, "$.nodes[1].config.keys[1]"),
    "transform.sort": ({"order": [{"column": "a", "nulls": "middle"}]}, "$.nodes[1].config.order[0].nulls"),
    "transform.limit": ({"n": -1}, "$.nodes[1].config.n"),
    "transform.sql": ({"query": "DROP TABLE upstream"}, "$.nodes[1].config.query"),
    "transform.quality": (
        {"rules": [{"name": "r", "expression": "amount > 0", "on_fail": "ignore"}]},
        "$.nodes[1].config.rules[0].on_fail",
    ),
    "transform.union": ({"by_name": "yes"}, "$.nodes[1].config.by_name"),
    "transform.filter": ({"condition": ""}, "$.nodes[1].config.condition"),
    "sink.iceberg": ({"table": "orders", "mode": "append"}, "$.nodes[1].config.table"),
    "sink.file": ({"path": "x", "format": "avro"}, "$.nodes[1].config.format"),
    "sink.kafka": ({"topic": "t", "format": "avro"}, "$.nodes[1].config.format"),
    "sink.alert": ({"message": "x", "severity": "fatal"}, "$.nodes[1].config.severity"),
}


def _single_node_document(orders_document: dict[str, Any], node_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """orders -> <node> [-> out], with the node named 'upstream'-reading for transform.sql."""
    node = {"id": "upstream" if node_type == "transform.sql" else "step", "type": node_type, "config": config}
    document = orders_document
    document["nodes"][1] = node
    document["edges"][0]["to"]["node"] = node["id"]
    if node_type.startswith("sink."):
        document["nodes"].pop()
        document["edges"].pop()
    else:
        document["edges"][1]["from"]["node"] = node["id"]
    if node_type == "transform.sql":
        document["nodes"][0]["id"] = "upstream_src"
        document["edges"][0]["from"]["node"] = "upstream_src"
        config["query"] = config["query"].replace("FROM upstream", "FROM upstream_src")
    return document


@pytest.mark.parametrize("node_type", sorted(VALID_CONFIGS))
def test_valid_configs_of_every_type(orders_document: dict[str, Any], node_type: str) -> None:
    document = _single_node_document(orders_document, node_type, VALID_CONFIGS[node_type])
    result = validate(document)
    assert result.valid, result.errors


@pytest.mark.parametrize("node_type", sorted(INVALID_CONFIGS))
def test_invalid_configs_of_every_type(orders_document: dict[str, Any], node_type: str) -> None:
    config, path = INVALID_CONFIGS[node_type]
    document = _single_node_document(orders_document, node_type, config)
    assert path in paths(document)


def test_sources_of_every_type_are_checked(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][0] = {
        "id": "orders",
        "type": "source.kafka",
        "config": {
            "topic": "orders",
            "format": "debezium-json",
            "schema": [{"name": "amount", "type": "double"}],
            "streaming": False,
            "watermark": "10 secs",
        },
    }
    orders_document["nodes"].append(
        {
            "id": "lake",
            "type": "source.iceberg",
            "config": {"table": "raw.orders", "snapshot_id": 1, "as_of": "2026-01-01 00:00:00"},
        }
    )
    orders_document["nodes"].append({"id": "lake_sink", "type": "sink.file", "config": {"path": "x", "format": "json"}})
    add_edge(orders_document, "lake", "lake_sink")
    found = paths(orders_document)
    assert "$.nodes[0].config.watermark" in found
    assert "$.nodes[3].config.as_of" in found


def test_transform_sql_reads_only_its_inputs(orders_document: dict[str, Any]) -> None:
    document = _single_node_document(orders_document, "transform.sql", {"query": "SELECT * FROM upstream JOIN secrets"})
    error = only_error(document)
    assert "reads table 'secrets', which is not one of its inputs" in error.message


# Stored connections on Iceberg nodes ----------------------------------------------------------


def _iceberg_copy(**configs: dict[str, Any]) -> dict[str, Any]:
    """source.iceberg -> sink.iceberg, each config extended by `configs[node id]`."""
    return {
        "format": "studio.pipeline/v1", "name": "lake_copy", "mode": "batch",
        "nodes": [
            {"id": "orders", "type": "source.iceberg", "config": {"table": "shop.orders", **configs.get("orders", {})}},
            {"id": "copy", "type": "sink.iceberg", "config": {"table": "shop.copy", **configs.get("copy", {})}},
        ],
        "edges": [{"from": {"node": "orders", "port": "out"}, "to": {"node": "copy", "port": "in"}}],
    }  # fmt: skip


WORKSPACE_CONNECTIONS = {"lake": "s3", "archive": "s3", "events_kafka": "kafka", "warehouse_db": "postgres"}


def test_iceberg_nodes_take_an_s3_connection_and_the_job_names_only_its_variable() -> None:
    from compiler import compile_pipeline

    document = _iceberg_copy(orders={"connection": "lake"}, copy={"connection": "archive"})
    assert validate(document, engine="spark", connections=WORKSPACE_CONNECTIONS).valid
    assert validate(document, engine="spark").valid  # the command line: names are checked when a run resolves them
    code = compile_pipeline(document, engine="spark", connections=WORKSPACE_CONNECTIONS).code
    assert 'options(table="shop.orders", connectionVariable="STUDIO_CONNECTION_LAKE")' in code
    assert 'options(table="shop.copy", mode="append", connectionVariable="STUDIO_CONNECTION_ARCHIVE")' in code
    # Without the key the job is exactly what it was.
    plain = compile_pipeline(_iceberg_copy(), engine="spark").code
    assert "connectionVariable" not in plain


def test_an_unknown_connection_on_an_iceberg_node_names_the_node_and_its_path() -> None:
    found = only_error(_iceberg_copy(copy={"connection": "lakee"}), connections=WORKSPACE_CONNECTIONS)
    assert (found.node, found.path) == ("copy", "$.nodes[1].config.connection")
    assert "Node 'copy': there is no connection 'lakee' in this workspace. Did you mean 'lake'?" in found.message
    assert "needs an S3 connection (S3 connections here: archive, lake)" in found.message
    none = only_error(_iceberg_copy(orders={"connection": "lake"}), connections={})
    assert (none.node, none.path) == ("orders", "$.nodes[0].config.connection")
    assert "It needs an S3 connection (the workspace has none yet); an admin can add one under Connections." \
        in none.message


@pytest.mark.parametrize(("name", "kind"), [("events_kafka", "a Kafka"), ("warehouse_db", "a PostgreSQL")])
def test_a_connection_of_another_kind_on_an_iceberg_node_is_an_error(name: str, kind: str) -> None:
    found = only_error(_iceberg_copy(orders={"connection": name}), engine="spark", connections=WORKSPACE_CONNECTIONS)
    assert (found.node, found.path) == ("orders", "$.nodes[0].config.connection")
    assert found.message == (
        f"Node 'orders': connection '{name}' is {kind} connection, but a source.iceberg node needs an S3 "
        "connection (S3 connections here: archive, lake)."
    )


def test_kafka_nodes_need_a_kafka_connection_too() -> None:
    document = {
        "format": "studio.pipeline/v1", "name": "events", "mode": "batch",
        "nodes": [
            {"id": "events", "type": "source.kafka",
             "config": {"connection": "lake", "topic": "t", "streaming": False, "schema": [{"name": "id", "type": "bigint"}]}},
            {"id": "copy", "type": "sink.iceberg", "config": {"table": "shop.events", "connection": "lake"}},
        ],
        "edges": [{"from": {"node": "events", "port": "out"}, "to": {"node": "copy", "port": "in"}}],
    }  # fmt: skip
    found = only_error(document, connections=WORKSPACE_CONNECTIONS)
    assert (found.node, found.path) == ("events", "$.nodes[0].config.connection")
    assert "is an S3 connection, but a source.kafka node needs a Kafka connection (Kafka connections here: " \
           "events_kafka)" in found.message


def test_an_iceberg_connection_name_is_checked_and_flink_refuses_it() -> None:
    bad = only_error(_iceberg_copy(copy={"connection": "Lake!"}), engine="spark")
    assert bad.path == "$.nodes[1].config.connection" and "lower-case letters" in bad.message
    wrong_type = errors(_iceberg_copy(copy={"connection": 7}))
    assert [d.path for d in wrong_type] == ["$.nodes[1].config.connection"]
    flink = only_error(_iceberg_copy(copy={"connection": "lake"}) | {"nodes": [
        {"id": "orders", "type": "source.file", "config": {"path": "in/*.csv", "format": "csv",
                                                            "schema": [{"name": "id", "type": "bigint"}]}},
        {"id": "copy", "type": "sink.iceberg", "config": {"table": "shop.copy", "connection": "lake"}},
    ]}, engine="flink", connections=WORKSPACE_CONNECTIONS)  # fmt: skip
    assert flink.path == "$.nodes[1].config.connection"
    assert "cannot use a stored connection yet; remove 'connection', or use the spark back end" in flink.message
