"""The demo workspace: sample landing-zone files and two pipelines a newcomer can run at once."""
from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["DEMO_PIPELINES", "write_sample_data"]

ORDERS_FILE = "landing/orders/orders.csv"
CUSTOMERS_FILE = "landing/customers/customers.csv"
COUNTRIES = ["DE", "FR", "GB", "NL", "PL", "SE", "US"]
STATUSES = ["placed", "paid", "shipped", "delivered", "returned"]


def write_sample_data(data_dir: Path, *, orders: int = 5000, customers: int = 1000, seed: int = 7) -> list[Path]:
    """Write the demo CSV files (deterministic for a seed); existing files are left as they are."""
    rng = random.Random(seed)
    written = []
    customers_path = data_dir / CUSTOMERS_FILE
    if not customers_path.exists():
        rows = [
            [i, f"Customer {i}", f"customer{i}@example.com", rng.choice(COUNTRIES),
             (datetime(2024, 1, 1) + timedelta(days=rng.randrange(700))).strftime("%Y-%m-%d")]
            for i in range(1, customers + 1)
        ]
        _write_csv(customers_path, ["customer_id", "name", "email", "country", "signup_date"], rows)
        written.append(customers_path)
    orders_path = data_dir / ORDERS_FILE
    if not orders_path.exists():
        start = datetime(2026, 1, 1)
        rows = []
        for i in range(1, orders + 1):
            amount = Decimal(rng.randrange(100, 50000)) / 100
            placed = start + timedelta(seconds=rng.randrange(90 * 24 * 3600))
            # A few rows with an empty amount, as real exports have: an empty CSV field is NULL.
            rows.append([i, rng.randrange(1, customers + 1), "" if i % 97 == 0 else f"{amount:.2f}",
                         rng.randrange(1, 6), rng.choice(STATUSES), placed.strftime("%Y-%m-%d %H:%M:%S")])
        _write_csv(orders_path, ["order_id", "customer_id", "amount", "quantity", "status", "order_ts"], rows)
        written.append(orders_path)
    return written


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


_ORDERS_SOURCE = {
    "id": "orders",
    "type": "source.file",
    "label": "Raw orders",
    "config": {
        "path": ORDERS_FILE,
        "format": "csv",
        "options": {"header": True},
        "schema": [
            {"name": "order_id", "type": "bigint", "nullable": False},
            {"name": "customer_id", "type": "bigint"},
            {"name": "amount", "type": "decimal(12,2)"},
            {"name": "quantity", "type": "int"},
            {"name": "status", "type": "string"},
            {"name": "order_ts", "type": "timestamp"},
        ],
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
]
