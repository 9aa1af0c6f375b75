"""A studio pipeline document, Kafka (Debezium CDC) -> transforms -> Iceberg upserts, run on Spark
through `manage.py run_pipeline` as a person runs it: the runner's environment, the generated job,
the dev broker found through its address file, the studio's Iceberg catalog and warehouse."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.changes import SCHEMA, normalise, produce_changes

pytestmark = [pytest.mark.spark, pytest.mark.kafka, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def cdc_pipeline(topic: str) -> dict[str, Any]:
    return {
        "format": "studio.pipeline/v1",
        "name": "orders cdc",
        "mode": "streaming",
        "nodes": [
            {"id": "changes", "type": "source.kafka", "label": "Orders CDC",
             "config": {"topic": topic, "format": "debezium-json", "schema": SCHEMA, "starting_offsets": "earliest"}},
            {"id": "priced", "type": "transform.derive",
             "config": {"columns": [{"name": "cents", "expression": "CAST(amount * 100 AS bigint)"}]}},
            {"id": "kept", "type": "transform.select",
             "config": {"columns": [{"name": "id"}, {"name": "name"}, {"name": "cents"}, {"name": "_op"},
                                    {"name": "_ts"}]}},
            {"id": "current", "type": "sink.iceberg", "label": "Current orders",
             "config": {"table": "shop.orders", "mode": "upsert", "keys": ["id"],
                        "partition_by": [{"column": "id", "transform": "bucket[4]"}]}},
        ],
        "edges": [
            {"from": {"node": "changes", "port": "out"}, "to": {"node": "priced", "port": "in"}},
            {"from": {"node": "priced", "port": "out"}, "to": {"node": "kept", "port": "in"}},
            {"from": {"node": "kept", "port": "out"}, "to": {"node": "current", "port": "in"}},
        ],
    }  # fmt: skip


def run_pipeline(document: Path, var_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STUDIO_VAR_DIR": str(var_dir), "STUDIO_DATA_DIR": str(var_dir / "data"),
           "STUDIO_STREAMING_TRIGGER": "available_now"}  # fmt: skip
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "STUDIO_KAFKA_BOOTSTRAP_FILE", "ICEBERG_CATALOG_URI", "ICEBERG_WAREHOUSE"):
        env.pop(name, None)  # the studio's own settings decide, as in an embedded install
    started = time.monotonic()
    result = subprocess.run([sys.executable, "manage.py", "run_pipeline", str(document), "--engine", "spark"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    print(f"run_pipeline took {time.monotonic() - started:.0f} s")
    return result


def expected_rows(final: dict[int, dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (key, row["name"], int(Decimal(row["amount"]) * 100), normalise(row)[4]) for key, row in final.items()
    )


def table_rows(var_dir: Path) -> list[tuple[Any, ...]]:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("studio", uri=f"sqlite:///{var_dir / 'iceberg' / 'catalog.sqlite3'}",
                         warehouse=f"file://{var_dir / 'warehouse'}")  # fmt: skip
    table = catalog.load_table("shop.orders")
    assert table.schema().column_names == ["id", "name", "cents", "_ts"]  # `_op` decides, it is not stored
    rows = table.scan().to_arrow().to_pylist()
    return sorted((r["id"], r["name"], r["cents"], r["_ts"]) for r in rows)


def test_kafka_cdc_to_iceberg_pipeline_through_run_pipeline(tmp_path, kafka_broker, bootstrap, topic):
    var_dir = tmp_path / "var"
    (var_dir / "kafka").mkdir(parents=True)
    shutil.copy(kafka_broker, var_dir / "kafka" / "bootstrap")  # where the studio finds its dev broker
    document = tmp_path / "cdc.json"
    document.write_text(json.dumps(cdc_pipeline(topic)))

    first = produce_changes(bootstrap, topic, 3000, 400, seed=3)
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, key=b"bad", value=b'{"op": "c", "after": {"id": "not a number"}}')
    assert producer.flush(30) == 0
    result = run_pipeline(document, var_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The run succeeded." in result.stdout
    assert "metric changes.out batch 0: 3000 rows" in result.stdout  # the malformed record is not a row
    assert table_rows(var_dir) == expected_rows(first.final)
    letters = list((var_dir / "data" / "dead_letter" / "orders_cdc" / "changes" / topic).glob("*.jsonl"))
    [letter] = [json.loads(line) for path in letters for line in path.read_text().splitlines()]
    assert letter["key"] == "bad" and "column 'id'" in letter["error"]

    # More changes later: the next run resumes from its checkpoint and applies only those.
    second = produce_changes(bootstrap, topic, 2000, 400, seed=4, after=first)
    again = run_pipeline(document, var_dir)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "metric changes.out batch 1: 2000 rows" in again.stdout
    assert table_rows(var_dir) == expected_rows(second.final)
