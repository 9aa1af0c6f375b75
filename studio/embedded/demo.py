"""The demo workspace: sample landing-zone files, demo pipelines a newcomer can run at once, and the
change events (Debezium CDC) of the demo orders that `studio_up` puts on the dev Kafka broker."""
from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = [
    "CDC_ORDERS", "CDC_TOPIC", "DEMO_ENGINES", "DEMO_PIPELINES", "LAKEHOUSE_ORDERS_TABLE", "demo_orders",
    "produce_demo_changes", "write_sample_data",
]

ORDERS_FILE = "landing/orders/orders.csv"
CUSTOMERS_FILE = "landing/customers/customers.csv"
COUNTRIES = ["DE", "FR", "GB", "NL", "PL", "SE", "US"]
# In lifecycle order: an order's change events walk it from the first status to its own.
STATUSES = ["placed", "paid", "shipped", "delivered", "returned"]
CDC_TOPIC = "demo.orders.cdc"
LAKEHOUSE_ORDERS_TABLE = "demo.orders"
# How many of the demo orders have change events on CDC_TOPIC (the first ones of the orders file).
CDC_ORDERS = 500
# Every CANCELLED_EVERY-th order is cancelled right after it was placed: created, then deleted.
CANCELLED_EVERY = 25
# Bounds on producing the demo events, so a broker that does not answer cannot hold up the studio.
_DELIVERY_TIMEOUT_MS = 15_000
_FLUSH_TIMEOUT_SECONDS = 30.0
_EPOCH = datetime(1970, 1, 1)


def _sample_rows(*, orders: int, customers: int, seed: int) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    """The demo's customers (CSV rows) and orders (typed), from one random sequence, customers first:
    the orders are the same whichever file is written, and an order does not depend on how many follow."""
    rng = random.Random(seed)
    customer_rows = [
        [i, f"Customer {i}", f"customer{i}@example.com", rng.choice(COUNTRIES),
         (datetime(2024, 1, 1) + timedelta(days=rng.randrange(700))).strftime("%Y-%m-%d")]
        for i in range(1, customers + 1)
    ]
    start = datetime(2026, 1, 1)
    order_rows = []
    for i in range(1, orders + 1):
        amount = Decimal(rng.randrange(100, 50000)) / 100
        placed = start + timedelta(seconds=rng.randrange(90 * 24 * 3600))
        order_rows.append({
            "order_id": i,
            "customer_id": rng.randrange(1, customers + 1),
            # A few orders without an amount, as real exports have (an empty CSV field is NULL).
            "amount": None if i % 97 == 0 else amount.quantize(Decimal("0.01")),
            "quantity": rng.randrange(1, 6),
            "status": rng.choice(STATUSES),
            "order_ts": placed,
        })
    return customer_rows, order_rows


def demo_orders(count: int = CDC_ORDERS, *, seed: int = 7) -> list[dict[str, Any]]:
    """The first `count` rows of the demo orders file, typed (amount Decimal or None, order_ts datetime)."""
    return _sample_rows(orders=count, customers=1000, seed=seed)[1]


def write_sample_data(data_dir: Path, *, orders: int = 5000, customers: int = 1000, seed: int = 7) -> list[Path]:
    """Write the demo CSV files (deterministic for a seed); existing files are left as they are."""
    customer_rows, order_rows = _sample_rows(orders=orders, customers=customers, seed=seed)
    written = []
    customers_path = data_dir / CUSTOMERS_FILE
    if not customers_path.exists():
        _write_csv(customers_path, ["customer_id", "name", "email", "country", "signup_date"], customer_rows)
        written.append(customers_path)
    orders_path = data_dir / ORDERS_FILE
    if not orders_path.exists():
        rows = [
            [o["order_id"], o["customer_id"], "" if o["amount"] is None else f"{o['amount']:.2f}", o["quantity"],
             o["status"], o["order_ts"].strftime("%Y-%m-%d %H:%M:%S")]
            for o in order_rows
        ]
        _write_csv(orders_path, ["order_id", "customer_id", "amount", "quantity", "status", "order_ts"], rows)
        written.append(orders_path)
    return written


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def produce_demo_changes(bootstrap_servers: str, *, orders: int = CDC_ORDERS, seed: int = 7) -> int:
    """Put the change events of the first `orders` demo orders on CDC_TOPIC; returns how many.

    The history is Debezium's (JSON without the schema envelope; decimals as text, timestamps as epoch
    milliseconds, no tombstones), keyed by `{"order_id": n}` so one order's events stay in order in one
    partition. Each order is created as 'placed' when it was placed, then updated one status at a time
    up to its status in the orders file; every CANCELLED_EVERY-th order is deleted instead, some time
    after it was placed. So the Iceberg table that `orders_cdc_to_lakehouse` upserts into ends up holding
    the orders file's rows, less the cancelled ones. Deterministic for a seed: a restarted studio puts
    the same events on its new (empty) dev broker.
    """
    from confluent_kafka import Producer

    failures: list[str] = []

    def on_delivery(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    producer = Producer({
        "bootstrap.servers": bootstrap_servers, "enable.idempotence": True, "linger.ms": 20,
        "message.timeout.ms": _DELIVERY_TIMEOUT_MS,
    })
    events = _change_events(demo_orders(orders, seed=seed), random.Random(seed))
    for key, value in events:
        while True:
            try:
                producer.produce(CDC_TOPIC, key=key, value=value, on_delivery=on_delivery)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.05)
        producer.poll(0)
    undelivered = producer.flush(_FLUSH_TIMEOUT_SECONDS)
    if failures or undelivered:
        reason = failures[0] if failures else f"not delivered within {_FLUSH_TIMEOUT_SECONDS:.0f} s"
        raise RuntimeError(f"{len(failures) + undelivered} of {len(events)} demo change events failed: {reason}")
    return len(events)


def _change_events(orders: list[dict[str, Any]], rng: random.Random) -> list[tuple[bytes, bytes]]:
    """Every order's history as (key, value) messages, all orders interleaved by change time."""
    timeline: list[tuple[int, int, int, bytes, bytes]] = []
    for order in orders:
        image = {**order, "status": STATUSES[0]}
        moment = order["order_ts"]
        steps: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = [("c", None, image)]
        if order["order_id"] % CANCELLED_EVERY == 0:
            steps.append(("d", image, None))
        else:
            for status in STATUSES[1 : STATUSES.index(order["status"]) + 1]:
                changed = {**image, "status": status}
                steps.append(("u", image, changed))
                image = changed
        key = json.dumps({"order_id": order["order_id"]}).encode()
        for step, (op, before, after) in enumerate(steps):
            if step:
                moment += timedelta(minutes=rng.randrange(10, 3 * 24 * 60))
            ts_ms = _epoch_ms(moment)
            event = {"before": _image_json(before), "after": _image_json(after), "op": op, "ts_ms": ts_ms}
            timeline.append((ts_ms, order["order_id"], step, key, json.dumps(event).encode()))
    timeline.sort(key=lambda entry: entry[:3])
    return [(key, value) for *_, key, value in timeline]


def _image_json(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """A row image as Debezium writes it with decimal.handling.mode=string (timestamps: epoch ms)."""
    if row is None:
        return None
    return {**row, "amount": None if row["amount"] is None else f"{row['amount']:.2f}",
            "order_ts": _epoch_ms(row["order_ts"])}


def _epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


ORDERS_SCHEMA: list[dict[str, Any]] = [
    {"name": "order_id", "type": "bigint", "nullable": False},
    {"name": "customer_id", "type": "bigint"},
    {"name": "amount", "type": "decimal(12,2)"},
    {"name": "quantity", "type": "int"},
    {"name": "status", "type": "string"},
    {"name": "order_ts", "type": "timestamp"},
]

_ORDERS_SOURCE = {
    "id": "orders",
    "type": "source.file",
    "label": "Raw orders",
    "config": {
        "path": ORDERS_FILE,
        "format": "csv",
        "options": {"header": True},
        "schema": ORDERS_SCHEMA,
    },
    "position": {"x": 60, "y": 160},
}

DEMO_PIPELINES: list[dict[str, Any]] = [
    {
        "format": "studio.pipeline/v1",
        "name": "big_orders",
        "description": "Orders over a threshold, from the landing zone to curated Parquet.",
        "mode": "batch",
        "parameters": [{"name": "min_amount", "type": "double", "default": 250}],
        "nodes": [
            _ORDERS_SOURCE,
            {"id": "big", "type": "transform.filter", "label": "Big orders",
             "config": {"condition": "amount >= ${min_amount} AND status <> 'returned'"},
             "position": {"x": 360, "y": 160}},
            {"id": "curated_big_orders", "type": "sink.file", "label": "Curated big orders",
             "config": {"path": "curated/big_orders", "format": "parquet", "mode": "overwrite"},
             "position": {"x": 660, "y": 160}},
        ],
        "edges": [
            {"from": {"node": "orders", "port": "out"}, "to": {"node": "big", "port": "in"}},
            {"from": {"node": "big", "port": "out"}, "to": {"node": "curated_big_orders", "port": "in"}},
        ],
    },
    {
        "format": "studio.pipeline/v1",
        "name": "orders_enriched",
        "description": "Derive order dates and gross amounts, keep the columns reporting needs.",
        "mode": "batch",
        "parameters": [],
        "nodes": [
            _ORDERS_SOURCE,
            {"id": "enrich", "type": "transform.derive", "label": "Dates and gross amount",
             "config": {"columns": [
                 {"name": "order_date", "expression": "to_date(order_ts)"},
                 {"name": "gross_amount", "expression": "round(amount * 1.2, 2)"},
                 {"name": "size", "expression": "CASE WHEN quantity >= 4 THEN 'bulk' ELSE 'single' END"},
             ]},
             "position": {"x": 360, "y": 160}},
            {"id": "report", "type": "transform.select", "label": "Reporting columns",
             "config": {"columns": [
                 {"name": "order_id"}, {"name": "customer_id"}, {"name": "order_date"},
                 {"name": "gross_amount", "alias": "amount_gross"}, {"name": "size"},
             ]},
             "position": {"x": 660, "y": 160}},
            {"id": "orders_report", "type": "sink.file", "label": "Orders report (CSV)",
             "config": {"path": "curated/orders_report", "format": "csv", "mode": "overwrite"},
             "position": {"x": 960, "y": 160}},
        ],
        "edges": [
            {"from": {"node": "orders", "port": "out"}, "to": {"node": "enrich", "port": "in"}},
            {"from": {"node": "enrich", "port": "out"}, "to": {"node": "report", "port": "in"}},
            {"from": {"node": "report", "port": "out"}, "to": {"node": "orders_report", "port": "in"}},
        ],
    },
    {
        "format": "studio.pipeline/v1",
        "name": "orders_cdc_to_lakehouse",
        "description": (
            f"Order changes (Debezium CDC) from the Kafka topic {CDC_TOPIC} upserted into the Iceberg table "
            f"{LAKEHOUSE_ORDERS_TABLE}: creates and updates replace an order's row, deletes remove it. Streaming: "
            "run or deploy it on Spark or Flink. The studio puts the demo's change events on the topic when it starts."
        ),
        "mode": "streaming",
        "parameters": [],
        "nodes": [
            {"id": "order_changes", "type": "source.kafka", "label": f"Order changes ({CDC_TOPIC})",
             "config": {"topic": CDC_TOPIC, "format": "debezium-json", "schema": ORDERS_SCHEMA,
                        "starting_offsets": "earliest", "streaming": True},
             "position": {"x": 60, "y": 160}},
            {"id": "enrich", "type": "transform.derive", "label": "Order date and gross amount",
             "config": {"columns": [
                 {"name": "order_date", "expression": "to_date(order_ts)"},
                 {"name": "gross_amount", "expression": "round(amount * 1.2, 2)"},
             ]},
             "position": {"x": 360, "y": 160}},
            {"id": "lakehouse_orders", "type": "sink.iceberg", "label": f"Orders ({LAKEHOUSE_ORDERS_TABLE}, upsert)",
             "config": {"table": LAKEHOUSE_ORDERS_TABLE, "mode": "upsert", "keys": ["order_id"]},
             "position": {"x": 660, "y": 160}},
        ],
        "edges": [
            {"from": {"node": "order_changes", "port": "out"}, "to": {"node": "enrich", "port": "in"}},
            {"from": {"node": "enrich", "port": "out"}, "to": {"node": "lakehouse_orders", "port": "in"}},
        ],
    },
    {
        "format": "studio.pipeline/v1",
        "name": "revenue_by_status",
        "description": (
            f"Orders and revenue per status, from the Iceberg table {LAKEHOUSE_ORDERS_TABLE} (run "
            "orders_cdc_to_lakehouse first) into the Iceberg table demo.revenue_by_status. Spark only: the "
            "Flink back end cannot read Iceberg tables."
        ),
        "mode": "batch",
        "parameters": [],
        "nodes": [
            {"id": "orders", "type": "source.iceberg", "label": f"Orders ({LAKEHOUSE_ORDERS_TABLE})",
             "config": {"table": LAKEHOUSE_ORDERS_TABLE},
             "position": {"x": 60, "y": 160}},
            {"id": "per_status", "type": "transform.aggregate", "label": "Revenue per status",
             "config": {"group_by": ["status"], "aggregations": [
                 {"name": "orders", "function": "count"},
                 {"name": "revenue", "function": "sum", "column": "amount"},
                 {"name": "gross_revenue", "function": "sum", "column": "gross_amount"},
             ]},
             "position": {"x": 360, "y": 160}},
            {"id": "revenue_by_status", "type": "sink.iceberg", "label": "Revenue by status (demo.revenue_by_status)",
             "config": {"table": "demo.revenue_by_status", "mode": "overwrite"},
             "position": {"x": 660, "y": 160}},
        ],
        "edges": [
            {"from": {"node": "orders", "port": "out"}, "to": {"node": "per_status", "port": "in"}},
            {"from": {"node": "per_status", "port": "out"}, "to": {"node": "revenue_by_status", "port": "in"}},
        ],
    },
]

# The engines each demo pipeline runs on (the document format has no engine field; runs pick one).
DEMO_ENGINES: dict[str, tuple[str, ...]] = {
    "big_orders": ("spark", "flink"),
    "orders_enriched": ("spark", "flink"),
    "orders_cdc_to_lakehouse": ("spark", "flink"),
    "revenue_by_status": ("spark",),
}
