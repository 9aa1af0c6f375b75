"""Generated code for Kafka and Iceberg nodes: snapshot files per case (tests/connectors/snapshots,
rewritten with UPDATE_SNAPSHOTS=1), hostile text, and the validation rules of the connector nodes.

The generated jobs are run for real by the other tests of this folder (run_pipeline, the kill tests).
"""
from __future__ import annotations

import ast
import copy
import os
from pathlib import Path
from typing import Any

import pytest

from compiler import CompileError, compile_pipeline, validate
from tests.snapshots import assert_snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"
SCHEMA = [
    {"name": "id", "type": "bigint", "nullable": False},
    {"name": "amount", "type": "decimal(12,2)"},
    {"name": "updated", "type": "timestamp"},
]


def edge(a: str, b: str) -> dict[str, Any]:
    return {"from": {"node": a, "port": "out"}, "to": {"node": b, "port": "in"}}


def cdc_streaming() -> dict[str, Any]:
    """Debezium topic -> filter -> Iceberg upsert (partitioned) and a Kafka topic, streaming."""
    return {
        "format": "studio.pipeline/v1",
        "name": "orders cdc",
        "mode": "streaming",
        "parameters": [{"name": "env", "type": "string", "default": "prod"}],
        "nodes": [
            {"id": "changes", "type": "source.kafka", "label": "Orders CDC",
             "config": {"topic": "${env}.shop.orders", "format": "debezium-json", "schema": SCHEMA,
                        "starting_offsets": "earliest", "event_time": "updated", "watermark": "1 minute"}},
            {"id": "valid", "type": "transform.filter", "config": {"condition": "amount >= 0 OR _op = 'd'"}},
            {"id": "lake", "type": "sink.iceberg", "label": "Current orders",
             "config": {"table": "${env}_lake.orders", "mode": "upsert", "keys": ["id"],
                        "partition_by": [{"column": "updated", "transform": "day"},
                                         {"column": "id", "transform": "bucket[16]"}]}},
            {"id": "feed", "type": "sink.kafka", "config": {"topic": "orders.valid", "key_columns": ["id"]}},
        ],
        "edges": [edge("changes", "valid"), edge("valid", "lake"), edge("valid", "feed")],
    }  # fmt: skip


def batch_lakehouse() -> dict[str, Any]:
    """Batch: a Kafka topic read to its end appended to a table; a table as of a time, overwritten."""
    return {
        "format": "studio.pipeline/v1",
        "name": "lakehouse batch",
        "mode": "batch",
        "nodes": [
            {"id": "clicks", "type": "source.kafka",
             "config": {"topic": "clicks", "schema": SCHEMA, "starting_offsets": "earliest"}},
            {"id": "landing", "type": "sink.iceberg",
             "config": {"table": "raw.clicks", "mode": "append", "create_if_missing": False}},
            {"id": "history", "type": "source.iceberg",
             "config": {"table": "lake.orders", "as_of": "2026-01-01 00:00:00"}},
            {"id": "scaled", "type": "transform.derive",
             "config": {"columns": [{"name": "cents", "expression": "amount * 100"}]}},
            {"id": "snapshot", "type": "sink.iceberg", "config": {"table": "mart.orders", "mode": "overwrite"}},
            {"id": "out", "type": "sink.kafka", "config": {"topic": "orders.history"}},
        ],
        "edges": [edge("clicks", "landing"), edge("history", "scaled"), edge("scaled", "snapshot"),
                  edge("history", "out")],
    }  # fmt: skip


def flink_batch() -> dict[str, Any]:
    """The batch case without the Iceberg source (Flink needs a source's columns when compiling)."""
    document = batch_lakehouse()
    document["nodes"] = [n for n in document["nodes"] if n["id"] in ("clicks", "landing")] + [
        {"id": "big", "type": "transform.filter", "config": {"condition": "amount > 100"}},
        {"id": "out", "type": "sink.kafka", "config": {"topic": "clicks.big", "key_columns": ["id", "updated"]}},
    ]
    document["edges"] = [edge("clicks", "landing"), edge("clicks", "big"), edge("big", "out")]
    return document


CASES = {
    "spark_cdc_streaming": (cdc_streaming, "spark"),
    "spark_lakehouse_batch": (batch_lakehouse, "spark"),
    "flink_cdc_streaming": (cdc_streaming, "flink"),
    "flink_lakehouse_batch": (flink_batch, "flink"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_code_matches_snapshot(case: str) -> None:
    make, engine = CASES[case]
    job = compile_pipeline(make(), engine=engine)
    ast.parse(job.code)
    assert_snapshot(SNAPSHOTS, case, job.code)


@pytest.mark.parametrize("engine", ["spark", "flink"])
def test_hostile_topic_and_labels_stay_inside_string_literals(engine: str) -> None:
    hostile = 'x"); import os; os.system("boom") #\'\n\\'
    document = cdc_streaming()
    document["nodes"][0]["config"]["topic"] = hostile
    document["nodes"][3]["config"]["topic"] = hostile + "${env}"
    document["nodes"][1]["label"] = hostile
    code = compile_pipeline(document, engine=engine).code
    tree = ast.parse(code)
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert hostile in strings and hostile + "prod" in strings
    calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert "system" not in calls


def test_parameters_reach_topics_and_tables() -> None:
    code = compile_pipeline(cdc_streaming(), engine="spark", parameters={"env": "test"}).code
    assert 'topic="test.shop.orders"' in code and 'table="test_lake.orders"' in code


def test_a_stored_connection_is_named_by_its_variable_never_by_its_values() -> None:
    document = cdc_streaming()
    document["nodes"][0]["config"]["connection"] = "warehouse_kafka"
    document["nodes"][3]["config"]["connection"] = "warehouse_kafka"
    spark = compile_pipeline(document, engine="spark").code
    assert spark.count('connectionVariable="STUDIO_CONNECTION_WAREHOUSE_KAFKA"') == 2
    flink = compile_pipeline(document, engine="flink").code
    assert flink.count('connection_variable="STUDIO_CONNECTION_WAREHOUSE_KAFKA"') == 2
    document["nodes"][0]["config"]["connection"] = "warehouse-kafka"
    for engine in ("spark", "flink"):
        [error] = validate(document, engine=engine).errors
        assert error.path == "$.nodes[0].config.connection" and "lower-case" in error.message


def test_an_iceberg_source_compiles_for_spark_only() -> None:
    document = batch_lakehouse()
    compile_pipeline(document, engine="spark")
    with pytest.raises(CompileError) as raised:
        compile_pipeline(document, engine="flink")
    [error] = raised.value.result.errors
    assert error.node == "history" and "Iceberg table's columns are known only when the job runs" in error.message


def test_time_travel_is_batch_only() -> None:
    document = copy.deepcopy(batch_lakehouse())
    document["mode"] = "streaming"
    history = document["nodes"][2]["config"]
    history.update(streaming=True)
    errors = validate(document, engine="spark").errors
    assert any(e.path == "$.nodes[2].config.as_of" for e in errors)
