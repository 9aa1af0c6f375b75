"""Schema propagation: what the editor shows as each node's output columns."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from compiler import Field, validate


def columns(document: dict[str, Any], node: str, port: str = "out") -> list[tuple[str, str, bool]]:
    result = validate(document)
    return [(f.name, f.type, f.nullable) for f in result.schemas[node][port]]


def chain(document: dict[str, Any], *steps: dict[str, Any]) -> dict[str, Any]:
    """orders -> big (filter) -> steps... -> out."""
    document["nodes"][2:2] = list(steps)
    ids = ["orders", "big", *[s["id"] for s in steps], "out"]
    document["edges"] = [
        {"from": {"node": a, "port": "out"}, "to": {"node": b, "port": "in"}} for a, b in pairwise(ids)
    ]
    return document


SOURCE = [
    ("order_id", "bigint", False),
    ("amount", "decimal(12,2)", True),
    ("order_date", "date", True),
    ("customer", "string", True),
]


def test_source_and_filter_keep_the_declared_columns(orders_document: dict[str, Any]) -> None:
    assert columns(orders_document, "orders") == SOURCE
    assert columns(orders_document, "big") == SOURCE


def test_sinks_have_no_output_ports(orders_document: dict[str, Any]) -> None:
    assert validate(orders_document).schemas["out"] == {}


def test_select_keeps_listed_columns_in_order_with_alias_and_cast(orders_document: dict[str, Any]) -> None:
    chain(
        orders_document,
        {
            "id": "slim",
            "type": "transform.select",
            "config": {
                "columns": [
                    {"name": "customer"},
                    {"name": "amount", "alias": "amount_eur", "type": "double"},
                    {"name": "order_id", "type": "string"},
                ]
            },
        },
    )
    assert columns(orders_document, "slim") == [
        ("customer", "string", True),
        ("amount_eur", "double", True),
        ("order_id", "string", False),
    ]


def test_select_reports_missing_columns_and_bad_casts(orders_document: dict[str, Any]) -> None:
    chain(
        orders_document,
        {
            "id": "slim",
            "type": "transform.select",
            "config": {
                "columns": [
                    {"name": "custmer"},
                    {"name": "order_date", "type": "int"},
                    {"name": "amount", "alias": "customer"},
                    {"name": "customer"},
                ]
            },
        },
    )
    result = validate(orders_document)
    found = {d.path: d.message for d in result.errors}
    assert "did you mean 'customer'?" in found["$.nodes[2].config.columns[0].name"]
    assert "cannot be cast to int" in found["$.nodes[2].config.columns[1].type"]
    assert "slim" not in result.schemas
    assert "big" in result.schemas


def test_select_output_names_must_be_unique(orders_document: dict[str, Any]) -> None:
    chain(
        orders_document,
        {
            "id": "slim",
            "type": "transform.select",
            "config": {
                "columns": [
                    {"name": "amount", "alias": "Customer"},
                    {"name": "customer"},
                ]
            },
        },
    )
    [error] = validate(orders_document).errors
    assert error.path == "$.nodes[2].config.columns"
    assert "Spark ignores case" in error.message


def test_derive_adds_and_replaces_and_sees_earlier_entries(orders_document: dict[str, Any]) -> None:
    chain(
        orders_document,
        {
            "id": "calc",
            "type": "transform.derive",
            "config": {
                "columns": [
                    {"name": "total", "expression": "amount * 2"},
                    {"name": "customer", "expression": "upper(customer)"},
                    {"name": "band", "expression": "CASE WHEN total > 1000 THEN 'large' ELSE 'small' END"},
                    {"name": "order_year", "expression": "year(order_date)"},
                ]
            },
        },
    )
    assert columns(orders_document, "calc") == [
        *SOURCE[:3],
        ("customer", "string", True),
        ("total", "decimal(14,2)", True),
        ("band", "string", False),
        ("order_year", "int", True),
    ]


def test_derive_errors(orders_document: dict[str, Any]) -> None:
    chain(
        orders_document,
        {
            "id": "calc",
            "type": "transform.derive",
            "config": {
                "columns": [
                    {"name": "Amount", "expression": "amount + 1"},
                    {"name": "nothing", "expression": "NULL"},
                    {"name": "later", "expression": "missing + 1"},
                    {"name": "uses_later", "expression": "later * 2"},
                ]
            },
        },
    )
    found = {d.path: d.message for d in validate(orders_document).errors}
    assert "differs only in case from the existing column 'amount'" in found["$.nodes[2].config.columns[0].name"]
    assert "CAST(NULL AS <type>)" in found["$.nodes[2].config.columns[1].expression"]
    assert "in 'later', column 'missing' does not exist" in found["$.nodes[2].config.columns[2].expression"]
    # 'uses_later' depends on the broken entry: not reported as a second, misleading error.
    assert "$.nodes[2].config.columns[3].expression" not in found


def test_filter_condition_must_be_boolean(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][1]["config"]["condition"] = "amount + 1"
    [error] = validate(orders_document).errors
    assert "must be true or false for each row, but it gives decimal(13,2)" in error.message


def test_schemas_survive_errors_elsewhere(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][2]["config"]["format"] = "avro"
    result = validate(orders_document)
    assert not result.valid
    assert set(result.schemas) == {"orders", "big"}


def test_parquet_without_schema_skips_column_checks_with_warnings(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][0]["config"] = {"path": "data/orders.parquet", "format": "parquet"}
    orders_document["nodes"][1]["config"]["condition"] = "no_such_column > 1"
    result = validate(orders_document, engine="spark")
    assert result.valid
    assert result.schemas == {}
    assert [(w.node, w.path) for w in result.warnings] == [
        ("orders", "$.nodes[0].config.schema"),
        ("big", "$.nodes[1]"),
    ]
    assert "from 'orders': parquet files without a schema" in result.warnings[1].message


def test_parquet_with_schema_is_checked(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][0]["config"] = {
        "path": "data/orders.parquet",
        "format": "parquet",
        "schema": [{"name": "amount", "type": "double"}],
    }
    assert validate(orders_document).schemas["big"]["out"] == [Field("amount", "double", True)]


def test_an_iceberg_source_has_unknown_columns_and_downstream_checks_are_skipped(
    orders_document: dict[str, Any],
) -> None:
    orders_document["nodes"][0] = {"id": "orders", "type": "source.iceberg", "config": {"table": "raw.orders"}}
    orders_document["nodes"][1]["config"]["condition"] = "no_such_column > 1"
    result = validate(orders_document)
    assert result.valid
    assert result.schemas == {}
    assert [(w.node, w.path) for w in result.warnings] == [("orders", "$.nodes[0]"), ("big", "$.nodes[1]")]
    assert "columns of an Iceberg table are read from its catalog" in result.warnings[0].message
    assert "from 'orders': an Iceberg table's columns are known only when the job runs" in result.warnings[1].message


def test_partition_columns_must_exist(orders_document: dict[str, Any]) -> None:
    orders_document["nodes"][2]["config"]["partition_by"] = ["order_dat"]
    [error] = validate(orders_document).errors
    assert error.path == "$.nodes[2].config.partition_by[0]"
    assert "did you mean 'order_date'?" in error.message


def test_to_dict_is_json_shaped(orders_document: dict[str, Any]) -> None:
    data = validate(orders_document).to_dict()
    assert data["valid"] is True
    assert data["schemas"]["orders"]["out"][0] == {"name": "order_id", "type": "bigint", "nullable": False}
