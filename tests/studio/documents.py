"""Pipeline documents used by the studio's tests."""
from __future__ import annotations

import copy
from typing import Any

FILTER_PIPELINE: dict[str, Any] = {
    "format": "studio.pipeline/v1",
    "name": "big_orders",
    "mode": "batch",
    "parameters": [{"name": "min_amount", "type": "double", "default": 100}],
    "nodes": [
        {"id": "orders", "type": "source.file", "label": "Orders",
         "config": {"path": "in/orders.csv", "format": "csv", "options": {"header": True},
                    "schema": [{"name": "order_id", "type": "bigint", "nullable": False},
                               {"name": "amount", "type": "decimal(12,2)"}]}},
        {"id": "big", "type": "transform.filter", "config": {"condition": "amount > ${min_amount}"}},
        {"id": "out", "type": "sink.file", "config": {"path": "out/big", "format": "parquet", "mode": "overwrite"}},
    ],
    "edges": [
        {"from": {"node": "orders", "port": "out"}, "to": {"node": "big", "port": "in"}},
        {"from": {"node": "big", "port": "out"}, "to": {"node": "out", "port": "in"}},
    ],
}

ORDERS_CSV = "order_id,amount\n1,50.00\n2,150.50\n3,\n4,100.01\n"


def filter_pipeline(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(FILTER_PIPELINE)
    document.update(changes)
    return document
