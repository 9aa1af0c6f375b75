"""The demo's lakehouse path: the seeded Kafka -> Iceberg pipelines, and the change events `studio_up`
puts on the dev broker for them, checked against the demo orders file they describe."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

import compiler
from runners.connectors.codec import Decoder
from runners.connectors.columns import parse_schema, with_cdc_columns
from runners.connectors.kafka_io import consumer, partition_ids, read_range, watermarks
from studio.embedded.demo import (
    CDC_TOPIC, DEMO_ENGINES, DEMO_PIPELINES, ORDERS_FILE, produce_demo_changes, write_sample_data,
)
from studio.embedded.management.commands.studio_up import Command as StudioUp
from studio.pipelines.models import Pipeline

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Broker:
    process: subprocess.Popen[bytes]
    address_file: Path
    bootstrap: str


@pytest.fixture
def dev_broker(tmp_path: Path) -> Iterator[Broker]:
    """A dev broker of this test's own, so each test sees only its own events on the demo topic. (The
    session's `kafka_broker` fixture shares one broker and address file with Spark's workers, and a copy
    imported here would start a second broker writing that same file.)"""
    address_file = tmp_path / "kafka" / "bootstrap"
    log = (tmp_path / "broker.log").open("wb")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-m", "runners.devbroker", str(address_file)], cwd=REPO,
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while not address_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dev broker did not start: {(tmp_path / 'broker.log').read_text()}")
            time.sleep(0.05)
        yield Broker(process, address_file, address_file.read_text().strip())
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def demo_pipeline(name: str) -> dict[str, Any]:
    return next(document for document in DEMO_PIPELINES if document["name"] == name)


def node_of_type(document: dict[str, Any], node_type: str) -> dict[str, Any]:
    (node,) = [node for node in document["nodes"] if node["type"] == node_type]
    return node


def topic_messages(bootstrap: str) -> list[list[Any]]:
    """Every message on the demo topic, per partition in offset order."""
    client = consumer({"bootstrapServers": bootstrap})
    try:
        partitions = partition_ids(client, CDC_TOPIC)
        marks = watermarks(client, CDC_TOPIC, partitions)
        return [[m for chunk in read_range(client, CDC_TOPIC, p, *marks[p]) for m in chunk] for p in partitions]
    finally:
        client.close()


def test_demo_pipelines_are_seeded_and_valid_on_their_engines(db: Any, settings: Any, tmp_path: Path) -> None:
    settings.STUDIO_DATA_DIR = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    seeded = {p.name: p for p in Pipeline.objects.filter(workspace__slug="demo")}
    assert set(seeded) == {document["name"] for document in DEMO_PIPELINES} == set(DEMO_ENGINES)
    assert {"orders_cdc_to_lakehouse", "revenue_by_status"} <= set(seeded)
    for name, pipeline in seeded.items():
        document = pipeline.versions.get(number=pipeline.latest_version).document
        for engine in compiler.ENGINES:
            result = compiler.validate(document, engine=engine, data_dir=str(tmp_path))
            if engine in DEMO_ENGINES[name]:
                assert result.valid, (name, engine, [e.message for e in result.errors])
                assert compiler.compile_pipeline(document, engine=engine, data_dir=str(tmp_path)).code
            else:  # what the description says the pipeline does not run on really refuses it
                assert not result.valid, (name, engine)

    # The path holds together: the CDC pipeline reads the topic studio_up fills and upserts the table
    # the batch pipeline reads.
    cdc, revenue = demo_pipeline("orders_cdc_to_lakehouse"), demo_pipeline("revenue_by_status")
    source, sink = node_of_type(cdc, "source.kafka")["config"], node_of_type(cdc, "sink.iceberg")["config"]
    assert cdc["mode"] == "streaming"
    assert (source["topic"], source["format"]) == (CDC_TOPIC, "debezium-json")
    assert (sink["table"], sink["mode"], sink["keys"]) == ("demo.orders", "upsert", ["order_id"])
    assert node_of_type(revenue, "source.iceberg")["config"]["table"] == "demo.orders"


def expected_orders(data_dir: Path, count: int) -> dict[int, dict[str, Any]]:
    """What the upserted table should hold, from the demo orders file: each order as the file has it,
    except every 25th order, which was cancelled (deleted)."""
    write_sample_data(data_dir, orders=count)
    with (data_dir / ORDERS_FILE).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        int(row["order_id"]): {
            "order_id": int(row["order_id"]), "customer_id": int(row["customer_id"]),
            "amount": Decimal(row["amount"]) if row["amount"] else None, "quantity": int(row["quantity"]),
            "status": row["status"], "order_ts": datetime.strptime(row["order_ts"], "%Y-%m-%d %H:%M:%S"),
        }
        for row in rows
        if int(row["order_id"]) % 25 != 0
    }


@pytest.mark.kafka
def test_demo_change_events_replay_to_the_demo_orders(dev_broker: Broker, tmp_path: Path) -> None:
    count = produce_demo_changes(dev_broker.bootstrap, orders=300)
    partitions = topic_messages(dev_broker.bootstrap)
    assert sum(len(messages) for messages in partitions) == count

    schema = node_of_type(demo_pipeline("orders_cdc_to_lakehouse"), "source.kafka")["config"]["schema"]
    decoder = Decoder(with_cdc_columns(parse_schema(schema)), "debezium-json")
    table: dict[int, dict[str, Any]] = {}
    ops: set[str] = set()
    last_change: dict[int, datetime] = {}
    for messages in partitions:
        result = decoder.decode([m.value() for m in messages])
        assert (result.failures, result.tombstones) == ([], 0)
        for message, row in zip(messages, result.batch.to_pylist()):
            op, changed_at = row.pop("_op"), row.pop("_ts")
            key = row["order_id"]
            assert json.loads(message.key()) == {"order_id": key}
            assert changed_at > last_change.get(key, datetime.min)  # one order's changes arrive in order
            last_change[key] = changed_at
            ops.add(op)
            if op == "d":
                del table[key]
            else:
                assert (op == "c") == (key not in table)
                table[key] = row

    assert ops == {"c", "u", "d"}
    assert table == expected_orders(tmp_path, 300)
    assert len({row["status"] for row in table.values()}) == 5  # something to aggregate per status


@pytest.mark.kafka
def test_studio_up_puts_the_demo_events_on_the_dev_broker(dev_broker: Broker) -> None:
    out, err = io.StringIO(), io.StringIO()
    StudioUp(stdout=out, stderr=err).put_demo_changes(dev_broker.process, dev_broker.address_file, lambda: False)
    on_topic = sum(len(messages) for messages in topic_messages(dev_broker.bootstrap))
    assert on_topic > 0
    assert out.getvalue() == f"Put {on_topic} demo change events on Kafka topic demo.orders.cdc.\n"
    assert err.getvalue() == ""


def test_studio_up_warns_and_goes_on_when_the_broker_does_not_start(tmp_path: Path) -> None:
    broker = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    broker.wait(30)
    out, err = io.StringIO(), io.StringIO()
    StudioUp(stdout=out, stderr=err).put_demo_changes(broker, tmp_path / "never-written", lambda: False)
    assert out.getvalue() == ""
    assert "Warning: the demo change events were not put on Kafka topic demo.orders.cdc" in err.getvalue()
    assert "exit code 3" in err.getvalue()


def run_demo_pipeline(name: str, var_dir: Path, tmp_path: Path) -> str:
    """Run a demo pipeline on Spark with `manage.py run_pipeline`, as a person runs it; a streaming run
    takes what is on its topics now and stops (STUDIO_STREAMING_TRIGGER=available_now)."""
    document = tmp_path / f"{name}.json"
    document.write_text(json.dumps(demo_pipeline(name)))
    env = {**os.environ, "STUDIO_VAR_DIR": str(var_dir), "STUDIO_DATA_DIR": str(var_dir / "data"),
           "STUDIO_STREAMING_TRIGGER": "available_now"}
    for variable in ("KAFKA_BOOTSTRAP_SERVERS", "STUDIO_KAFKA_BOOTSTRAP_FILE", "ICEBERG_CATALOG_URI",
                     "ICEBERG_WAREHOUSE", "DATABASE_URL"):
        env.pop(variable, None)  # the studio's own embedded settings decide
    result = subprocess.run([sys.executable, "manage.py", "run_pipeline", str(document), "--engine", "spark"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The run succeeded." in result.stdout
    return result.stdout


@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.slow
def test_demo_lakehouse_pipelines_run_on_spark(dev_broker: Broker, tmp_path: Path) -> None:
    """The demo as a newcomer runs it: the change events on the topic, orders_cdc_to_lakehouse upserts
    them into demo.orders, revenue_by_status aggregates that table; both checked against the orders
    file."""
    from pyiceberg.catalog.sql import SqlCatalog

    var_dir = tmp_path / "var"
    (var_dir / "kafka").mkdir(parents=True)
    (var_dir / "kafka" / "bootstrap").write_text(dev_broker.bootstrap)  # where the studio finds its broker
    produce_demo_changes(dev_broker.bootstrap, orders=300)

    run_demo_pipeline("orders_cdc_to_lakehouse", var_dir, tmp_path)
    catalog = SqlCatalog("studio", uri=f"sqlite:///{var_dir / 'iceberg' / 'catalog.sqlite3'}",
                         warehouse=f"file://{var_dir / 'warehouse'}")
    expected = expected_orders(tmp_path / "expected", 300)
    rows = catalog.load_table("demo.orders").scan().to_arrow().to_pylist()
    assert {row["order_id"]: {key: row[key] for key in expected[row["order_id"]]} for row in rows} == expected
    for row in rows:
        assert row["order_date"] == row["order_ts"].date()
        if row["amount"] is None:
            assert row["gross_amount"] is None
        else:
            assert row["gross_amount"] == (row["amount"] * Decimal("1.2")).quantize(Decimal("0.01"), ROUND_HALF_UP)

    run_demo_pipeline("revenue_by_status", var_dir, tmp_path)
    per_status: dict[str, tuple[int, Decimal]] = {}
    for order in expected.values():
        count, revenue = per_status.get(order["status"], (0, Decimal(0)))
        per_status[order["status"]] = (count + 1, revenue + (order["amount"] or 0))  # sum skips NULLs
    revenue_rows = catalog.load_table("demo.revenue_by_status").scan().to_arrow().to_pylist()
    assert {row["status"]: (row["orders"], row["revenue"]) for row in revenue_rows} == per_status
