"""TPC-H-like tables and the two benchmark queries as studio pipelines, shared by the engine benchmarks.

The tables follow TPC-H's `lineitem`, `orders` and `customer` (same columns, studio types; 4 line
items per order, 10 orders per customer), generated with numpy from a fixed seed, so every run reads
the same rows. They are written once, as Parquet or CSV (without a header line), under
`var/bench/tpch/<format>-<lineitem rows>/<table>/` with a `_COMPLETE` marker; later runs reuse them.

- Q1 (TPC-H Q1, pricing summary): lineitem -> filter on ship date -> derive discounted price and
  charge -> aggregate 8 measures by return flag and line status -> sort -> sink.
- Q3 (TPC-H Q3, shipping priority): customer (segment BUILDING) join orders (before 1995-03-15) join
  lineitem (shipped after) -> derive revenue -> aggregate by order -> sort by revenue -> limit 10 -> sink.

Pure Python (numpy and pyarrow, present in both virtual environments); no engine is started here.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["ROOT", "SCHEMAS", "ensure_tables", "q1_document", "q3_document"]

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench" / "tpch"
CHUNK = 1_000_000  # rows generated and written at a time
MONEY = "decimal(15,2)"

SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "lineitem": [
        ("l_orderkey", "bigint"), ("l_partkey", "bigint"), ("l_suppkey", "bigint"), ("l_linenumber", "int"),
        ("l_quantity", MONEY), ("l_extendedprice", MONEY), ("l_discount", MONEY), ("l_tax", MONEY),
        ("l_returnflag", "string"), ("l_linestatus", "string"), ("l_shipdate", "date"), ("l_commitdate", "date"),
        ("l_receiptdate", "date"), ("l_shipinstruct", "string"), ("l_shipmode", "string"), ("l_comment", "string"),
    ],
    "orders": [
        ("o_orderkey", "bigint"), ("o_custkey", "bigint"), ("o_orderstatus", "string"), ("o_totalprice", MONEY),
        ("o_orderdate", "date"), ("o_orderpriority", "string"), ("o_clerk", "string"), ("o_shippriority", "int"),
        ("o_comment", "string"),
    ],
    "customer": [
        ("c_custkey", "bigint"), ("c_name", "string"), ("c_address", "string"), ("c_nationkey", "int"),
        ("c_phone", "string"), ("c_acctbal", MONEY), ("c_mktsegment", "string"), ("c_comment", "string"),
    ],
}  # fmt: skip

_WORDS = (
    "furiously quickly carefully blithely slyly express regular special final pending ironic bold even "
    "silent unusual fluffy deposits requests accounts packages instructions theodolites foxes pinto beans "
    "ideas dependencies platelets excuses asymptotes courts dolphins sleep wake haggle nag cajole boost".split()
)
_START = np.datetime64("1992-01-01", "D")
_ORDER_DAYS = 2406  # order dates 1992-01-01 .. 1998-08-02, as in TPC-H
_CURRENT_DAY = 1263  # 1995-06-17, TPC-H's "current date"


def _money(cents: np.ndarray) -> pa.Array:
    """decimal(15,2) from whole cents, exactly (the cents are the decimal's unscaled value)."""
    words = np.zeros((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents  # little-endian 128-bit integers; every amount here is positive
    return pa.Array.from_buffers(pa.decimal128(15, 2), len(cents), [None, pa.py_buffer(words.tobytes())])


def _pick(rng: np.random.Generator, choices: list[str], n: int) -> pa.Array:
    indices = pa.array(rng.integers(0, len(choices), n).astype(np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(choices)).cast(pa.string())


def _text(rng: np.random.Generator, n: int, words: int) -> pa.Array:
    """Comments of `words` random words (from a small vocabulary, like TPC-H's text grammar)."""
    vocabulary = pa.array(_WORDS)
    parts = [vocabulary.take(pa.array(rng.integers(0, len(_WORDS), n))) for _ in range(words)]
    return pc.binary_join_element_wise(*parts, " ")


def _days(offsets: np.ndarray) -> pa.Array:
    return pa.array((_START + offsets).astype("datetime64[D]"), pa.date32())


def _lineitem(rng: np.random.Generator, first: int, n: int) -> pa.Table:
    row = np.arange(first, first + n, dtype=np.int64)
    orderkey = row // 4 + 1
    order_day = _order_days(orderkey)
    quantity = rng.integers(1, 51, n)
    price = rng.integers(90_000, 200_000, n)  # cents per unit
    ship = order_day + rng.integers(1, 122, n)
    receipt = ship + rng.integers(1, 31, n)
    # As in TPC-H: a line received by 1995-06-17 (day 1263) is returned (R) or accepted (A), a later
    # one is not yet (N); a line shipped after that day is open (O), else fulfilled (F).
    flag = np.where(receipt <= _CURRENT_DAY, np.where(rng.integers(0, 2, n) == 1, "R", "A"), "N")
    return pa.table({
        "l_orderkey": orderkey,
        "l_partkey": rng.integers(1, 200_001, n),
        "l_suppkey": rng.integers(1, 10_001, n),
        "l_linenumber": (row % 4 + 1).astype(np.int32),
        "l_quantity": _money(quantity * 100),
        "l_extendedprice": _money(quantity * price),
        "l_discount": _money(rng.integers(0, 11, n)),
        "l_tax": _money(rng.integers(0, 9, n)),
        "l_returnflag": pa.array(flag),
        "l_linestatus": pa.array(np.where(ship > _CURRENT_DAY, "O", "F")),
        "l_shipdate": _days(ship),
        "l_commitdate": _days(order_day + rng.integers(30, 91, n)),
        "l_receiptdate": _days(receipt),
        "l_shipinstruct": _pick(rng, ["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"], n),
        "l_shipmode": _pick(rng, ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"], n),
        "l_comment": _text(rng, n, 4),
    })


def _order_days(orderkey: np.ndarray) -> np.ndarray:
    """An order's date from its key alone, so line items agree with their order without a lookup."""
    return (orderkey * 2_654_435_761 % 4_294_967_291) % _ORDER_DAYS


def _orders(rng: np.random.Generator, first: int, n: int, customers: int) -> pa.Table:
    key = np.arange(first + 1, first + n + 1, dtype=np.int64)
    return pa.table({
        "o_orderkey": key,
        "o_custkey": rng.integers(1, customers + 1, n),
        "o_orderstatus": _pick(rng, ["O", "F", "P"], n),
        "o_totalprice": _money(rng.integers(100_000, 50_000_000, n)),
        "o_orderdate": _days(_order_days(key)),
        "o_orderpriority": _pick(rng, ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"], n),
        "o_clerk": _pick(rng, [f"Clerk#{i:09d}" for i in range(1, 1001)], n),
        "o_shippriority": np.zeros(n, dtype=np.int32),
        "o_comment": _text(rng, n, 5),
    })


def _customer(rng: np.random.Generator, first: int, n: int) -> pa.Table:
    key = np.arange(first + 1, first + n + 1, dtype=np.int64)
    return pa.table({
        "c_custkey": key,
        "c_name": pa.array([f"Customer#{k:09d}" for k in key]),
        "c_address": _text(rng, n, 2),
        "c_nationkey": rng.integers(0, 25, n).astype(np.int32),
        "c_phone": pa.array([f"{10 + k % 25}-{k % 1000:03d}-{k % 9973:04d}" for k in key]),
        "c_acctbal": _money(rng.integers(0, 1_000_000, n)),
        "c_mktsegment": _pick(rng, ["AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY"], n),
        "c_comment": _text(rng, n, 6),
    })


def ensure_tables(lineitem_rows: int, file_format: str) -> Path:
    """The folder holding lineitem/, orders/ and customer/ in `file_format` (parquet or csv)."""
    folder = CACHE / f"{file_format}-{lineitem_rows}"
    if (folder / "_COMPLETE").exists():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    orders = lineitem_rows // 4
    customers = max(1, orders // 10)
    makers: dict[str, tuple[int, Callable[[np.random.Generator, int, int], pa.Table]]] = {
        "lineitem": (lineitem_rows, _lineitem),
        "orders": (orders, lambda rng, first, n: _orders(rng, first, n, customers)),
        "customer": (customers, _customer),
    }
    for seed, (table, (rows, make)) in enumerate(makers.items()):
        (folder / table).mkdir(parents=True)
        rng = np.random.default_rng(seed)
        for part, first in enumerate(range(0, rows, CHUNK)):
            data = make(rng, first, min(CHUNK, rows - first))
            path = folder / table / f"part-{part:05d}.{file_format}"
            if file_format == "parquet":
                pq.write_table(data, path)
            else:
                # No header line (TPC-H's files have none either); dates as yyyy-MM-dd.
                pacsv.write_csv(data, path, pacsv.WriteOptions(include_header=False))
    (folder / "_COMPLETE").write_text(f"{lineitem_rows} lineitem rows\n")
    return folder


def _source(table: str, file_format: str) -> dict[str, Any]:
    config: dict[str, Any] = {"path": table, "format": file_format,
                              "schema": [{"name": n, "type": t} for n, t in SCHEMAS[table]]}
    if file_format == "csv":
        config["options"] = {"header": False}
    return {"id": table, "type": "source.file", "config": config}


def _document(name: str, nodes: list[dict[str, Any]], edges: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "format": "studio.pipeline/v1", "name": name, "mode": "batch", "parameters": [], "nodes": nodes,
        "edges": [{"from": {"node": a, "port": "out"}, "to": {"node": b, "port": port}} for a, b, port in edges],
    }


def _sink(output: str) -> dict[str, Any]:
    return {"id": "result", "type": "sink.file", "config": {"path": output, "format": "csv", "mode": "overwrite"}}


def q1_document(file_format: str, output: str) -> dict[str, Any]:
    nodes = [
        _source("lineitem", file_format),
        {"id": "shipped", "type": "transform.filter",
         "config": {"condition": "l_shipdate <= CAST('1998-09-02' AS date)"}},
        {"id": "prices", "type": "transform.derive", "config": {"columns": [
            {"name": "disc_price", "expression": "l_extendedprice * (1 - l_discount)"},
            {"name": "charge", "expression": "l_extendedprice * (1 - l_discount) * (1 + l_tax)"},
        ]}},
        {"id": "summary", "type": "transform.aggregate", "config": {
            "group_by": ["l_returnflag", "l_linestatus"],
            "aggregations": [
                {"name": "sum_qty", "function": "sum", "column": "l_quantity"},
                {"name": "sum_base_price", "function": "sum", "column": "l_extendedprice"},
                {"name": "sum_disc_price", "function": "sum", "column": "disc_price"},
                {"name": "sum_charge", "function": "sum", "column": "charge"},
                {"name": "avg_qty", "function": "avg", "column": "l_quantity"},
                {"name": "avg_price", "function": "avg", "column": "l_extendedprice"},
                {"name": "avg_disc", "function": "avg", "column": "l_discount"},
                {"name": "count_order", "function": "count"},
            ],
        }},
        {"id": "ordered", "type": "transform.sort", "config": {"order": [
            {"column": "l_returnflag", "direction": "asc"}, {"column": "l_linestatus", "direction": "asc"}]}},
        _sink(output),
    ]
    chain = ["lineitem", "shipped", "prices", "summary", "ordered", "result"]
    return _document("tpch_q1", nodes, [(a, b, "in") for a, b in zip(chain, chain[1:])])


def q3_document(file_format: str, output: str) -> dict[str, Any]:
    nodes = [
        _source("customer", file_format),
        _source("orders", file_format),
        _source("lineitem", file_format),
        {"id": "building", "type": "transform.filter", "config": {"condition": "c_mktsegment = 'BUILDING'"}},
        {"id": "early", "type": "transform.filter",
         "config": {"condition": "o_orderdate < CAST('1995-03-15' AS date)"}},
        {"id": "late", "type": "transform.filter",
         "config": {"condition": "l_shipdate > CAST('1995-03-15' AS date)"}},
        {"id": "customer_orders", "type": "transform.join",
         "config": {"how": "inner", "on": [{"left": "c_custkey", "right": "o_custkey"}]}},
        {"id": "order_lines", "type": "transform.join",
         "config": {"how": "inner", "on": [{"left": "o_orderkey", "right": "l_orderkey"}]}},
        {"id": "revenue", "type": "transform.derive",
         "config": {"columns": [{"name": "revenue", "expression": "l_extendedprice * (1 - l_discount)"}]}},
        {"id": "per_order", "type": "transform.aggregate", "config": {
            "group_by": ["l_orderkey", "o_orderdate", "o_shippriority"],
            "aggregations": [{"name": "revenue", "function": "sum", "column": "revenue"}],
        }},
        {"id": "ranked", "type": "transform.sort", "config": {"order": [
            {"column": "revenue", "direction": "desc"}, {"column": "o_orderdate", "direction": "asc"}]}},
        {"id": "top", "type": "transform.limit", "config": {"n": 10}},
        _sink(output),
    ]
    edges = [
        ("customer", "building", "in"), ("orders", "early", "in"), ("lineitem", "late", "in"),
        ("building", "customer_orders", "left"), ("early", "customer_orders", "right"),
        ("customer_orders", "order_lines", "left"), ("late", "order_lines", "right"),
        ("order_lines", "revenue", "in"), ("revenue", "per_order", "in"), ("per_order", "ranked", "in"),
        ("ranked", "top", "in"), ("top", "result", "in"),
    ]
    return _document("tpch_q3", nodes, edges)
