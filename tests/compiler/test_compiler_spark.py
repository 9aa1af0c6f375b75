"""Generated jobs run on real Spark (local[2]) over small files; results are read back with pyarrow
and pandas, never through the compiler."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compiler import validate

pytestmark = pytest.mark.spark

T = dt.datetime


def document(nodes: list[dict[str, Any]], parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A linear pipeline through `nodes` in order."""
    return {
        "format": "studio.pipeline/v1",
        "name": "spark_test",
        "parameters": parameters or [],
        "nodes": nodes,
        "edges": [
            {"from": {"node": a["id"], "port": "out"}, "to": {"node": b["id"], "port": "in"}}
            for a, b in pairwise(nodes)
        ],
    }


def read_parquet(folder: Path) -> pa.Table:
    table = pq.read_table(folder)
    columns = [c.cast(pa.timestamp("us")) if pa.types.is_timestamp(c.type) else c for c in table.columns]
    return pa.table(columns, names=table.column_names)


def rows(folder: Path) -> list[dict[str, Any]]:
    return read_parquet(folder).to_pylist()


ORDERS_CSV = (
    "order_id,amount,customer,placed_at,order_date\n"
    "1,150.50,alice,2026-01-01 10:00:00,2026-01-01\n"
    "2,99.99,bob,2026-01-01 11:30:00.250,2026-01-01\n"
    '3,,"  carol, jr ",2026-01-01 12:00:00,2026-01-02\n'
    "4,1000.00,,,2026-01-02\n"
    '5,250.00,"",2026-01-02 09:15:00,\n'
)
ORDERS_SCHEMA = [
    {"name": "order_id", "type": "bigint", "nullable": False},
    {"name": "amount", "type": "decimal(12,2)"},
    {"name": "customer", "type": "string"},
    {"name": "placed_at", "type": "timestamp"},
    {"name": "order_date", "type": "date"},
]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_csv_to_parquet_with_parameters_nulls_decimals_and_timestamps(run_job: Any, tmp_path: Path) -> None:
    write(tmp_path / "data/2026-01-02/orders.csv", ORDERS_CSV)
    doc = document(
        [
            {
                "id": "orders",
                "type": "source.file",
                "config": {"path": "data/${run_date}/*.csv", "format": "csv", "schema": ORDERS_SCHEMA},
            },
            {
                "id": "keep",
                "type": "transform.filter",
                "config": {"condition": "amount >= ${min_amount} OR amount IS NULL"},
            },
            {
                "id": "calc",
                "type": "transform.derive",
                "config": {
                    "columns": [
                        {"name": "gross", "expression": "round(amount * 1.2, 2)"},
                        {"name": "who", "expression": "coalesce(customer, 'unknown')"},
                        {"name": "day_of", "expression": "date_trunc('day', placed_at)"},
                        {"name": "late", "expression": "order_date > ${run_date}"},
                    ]
                },
            },
            {
                "id": "slim",
                "type": "transform.select",
                "config": {
                    "columns": [
                        {"name": "order_id"},
                        {"name": "gross"},
                        {"name": "who", "alias": "customer"},
                        {"name": "placed_at"},
                        {"name": "day_of"},
                        {"name": "late"},
                        {"name": "amount", "type": "double"},
                    ]
                },
            },
            {"id": "out", "type": "sink.file", "config": {"path": "out/${run_date}", "format": "parquet"}},
        ],
        parameters=[
            {"name": "run_date", "type": "date", "default": "2026-01-01"},
            {"name": "min_amount", "type": "double", "default": 100},
        ],
    )
    run_job(doc, {"run_date": "2026-01-02", "min_amount": "100"})
    result = sorted(rows(tmp_path / "out/2026-01-02"), key=lambda r: r["order_id"])
    assert result == [
        {
            "order_id": 1,
            "gross": Decimal("180.60"),
            "customer": "alice",
            "placed_at": T(2026, 1, 1, 10),
            "day_of": T(2026, 1, 1),
            "late": False,
            "amount": 150.5,
        },
        {
            "order_id": 3,
            "gross": None,
            "customer": "  carol, jr ",
            "placed_at": T(2026, 1, 1, 12),
            "day_of": T(2026, 1, 1),
            "late": False,
            "amount": None,
        },
        {
            "order_id": 4,
            "gross": Decimal("1200.00"),
            "customer": "unknown",
            "placed_at": None,
            "day_of": None,
            "late": False,
            "amount": 1000.0,
        },
        {
            "order_id": 5,
            "gross": Decimal("300.00"),
            "customer": "unknown",
            "placed_at": T(2026, 1, 2, 9, 15),
            "day_of": T(2026, 1, 2),
            "late": None,
            "amount": 250.0,
        },
    ]


def test_inferred_schema_matches_what_spark_writes(run_job: Any, tmp_path: Path) -> None:
    write(tmp_path / "in/orders.csv", ORDERS_CSV)
    expressions = {
        "a": "amount * 2", "b": "amount / 3", "c": "amount + 1.5", "d": "round(amount, 1)",
        "e": "floor(amount)", "f": "order_id / 2", "g": "order_id + 1", "h": "length(customer)",
        "i": "year(order_date)", "j": "datediff(order_date, order_date)", "k": "date_add(order_date, 1)",
        "l": "to_date('2026-01-01')", "m": "CASE WHEN amount > 1 THEN amount ELSE 0.5 END",
        "n": "coalesce(amount, order_id)", "o": "amount * amount", "p": "ceil(order_id / 2)",
        "q": "customer IS NULL", "r": "CAST(amount AS decimal(5,1))", "s": "amount % 7",
    }  # fmt: skip
    doc = document(
        [
            {
                "id": "orders",
                "type": "source.file",
                "config": {"path": "in/*.csv", "format": "csv", "schema": ORDERS_SCHEMA},
            },
            {
                "id": "calc",
                "type": "transform.derive",
                "config": {"columns": [{"name": name, "expression": text} for name, text in expressions.items()]},
            },
            {"id": "out", "type": "sink.file", "config": {"path": "out", "format": "parquet"}},
        ]
    )
    inferred = {f.name: f.type for f in validate(doc).schemas["calc"]["out"]}
    run_job(doc)
    written = pq.read_schema(next((tmp_path / "out").glob("*.parquet")))
    names = {
        pa.int32(): "int", pa.int64(): "bigint", pa.float64(): "double", pa.string(): "string",
        pa.date32(): "date", pa.bool_(): "boolean",
    }  # fmt: skip

    def spark_type(t: pa.DataType) -> str:
        if pa.types.is_decimal(t):
            return f"decimal({t.precision},{t.scale})"
        if pa.types.is_timestamp(t):
            return "timestamp"
        return names[t]

    assert {f.name: spark_type(f.type) for f in written if f.name in expressions} == {
        name: inferred[name] for name in expressions
    }


def test_json_to_csv_writes_the_formats_csv(run_job: Any, tmp_path: Path) -> None:
    lines = [
        {"kind": "click", "at": "2026-01-01 10:00:00", "note": "  padded  ", "n": 1},
        {"kind": "click", "at": "2026-01-01 10:00:00.123", "note": "", "n": None},
        {"kind": "view", "at": "2026-01-01 11:00:00", "note": 'a,b "q"', "n": 3},
        {"kind": "skip", "at": "2026-01-01 12:00:00", "note": "x", "n": 4},
        {"kind": "click", "note": None, "n": 5},
    ]
    write(tmp_path / "landing/events.json", "\n".join(json.dumps(line) for line in lines) + "\n")
    doc = document(
        [
            {
                "id": "events",
                "type": "source.file",
                "config": {
                    "path": "landing/*.json",
                    "format": "json",
                    "schema": [
                        {"name": "kind", "type": "string"},
                        {"name": "at", "type": "timestamp"},
                        {"name": "note", "type": "string"},
                        {"name": "n", "type": "int"},
                    ],
                },
            },
            {"id": "picked", "type": "transform.filter", "config": {"condition": "kind IN ('click', 'view')"}},
            {"id": "to_csv", "type": "sink.file", "config": {"path": "curated/events", "format": "csv"}},
        ]
    )
    run_job(doc)
    [part] = sorted((tmp_path / "curated/events").glob("*.csv"))
    assert part.read_text(encoding="utf-8").splitlines() == [
        "kind,at,note,n",
        "click,2026-01-01 10:00:00.000,  padded  ,1",
        'click,2026-01-01 10:00:00.123,"",',
        'view,2026-01-01 11:00:00.000,"a,b ""q""",3',  # RFC 4180: a quote inside quotes is doubled
        "click,,,5",
    ]


def test_csv_round_trip_keeps_nulls_and_spaces(run_job: Any, tmp_path: Path) -> None:
    """What a CSV sink writes, a CSV source reads back as the same values (empty field = NULL)."""
    write(tmp_path / "in/orders.csv", ORDERS_CSV)
    first = document(
        [
            {
                "id": "orders",
                "type": "source.file",
                "config": {"path": "in/*.csv", "format": "csv", "schema": ORDERS_SCHEMA},
            },
            {"id": "out", "type": "sink.file", "config": {"path": "mid", "format": "csv"}},
        ]
    )
    second = document(
        [
            {
                "id": "again",
                "type": "source.file",
                "config": {"path": "mid/*.csv", "format": "csv", "schema": ORDERS_SCHEMA},
            },
            {"id": "out", "type": "sink.file", "config": {"path": "final", "format": "parquet"}},
        ]
    )
    run_job(first)
    run_job(second)
    result = sorted(rows(tmp_path / "final"), key=lambda r: r["order_id"])
    assert [(r["order_id"], r["amount"], r["customer"], r["placed_at"], r["order_date"]) for r in result] == [
        (1, Decimal("150.50"), "alice", T(2026, 1, 1, 10), dt.date(2026, 1, 1)),
        (2, Decimal("99.99"), "bob", T(2026, 1, 1, 11, 30, 0, 250000), dt.date(2026, 1, 1)),
        (3, None, "  carol, jr ", T(2026, 1, 1, 12), dt.date(2026, 1, 2)),
        (4, Decimal("1000.00"), None, None, dt.date(2026, 1, 2)),
        (5, Decimal("250.00"), None, T(2026, 1, 2, 9, 15), None),
    ]


def test_parquet_without_schema_and_an_empty_input(run_job: Any, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"a": pa.array([1, 2, None], pa.int64()), "b": ["x", "y", "z"]}), tmp_path / "in/t.parquet")
    write(tmp_path / "empty/orders.csv", ORDERS_CSV.splitlines()[0] + "\n")
    doc = document(
        [
            {"id": "t", "type": "source.file", "config": {"path": "in/*.parquet", "format": "parquet"}},
            {"id": "calc", "type": "transform.derive", "config": {"columns": [{"name": "c", "expression": "a * 10"}]}},
            {"id": "out", "type": "sink.file", "config": {"path": "out", "format": "json"}},
        ]
    )
    run_job(doc)
    written = [
        json.loads(line) for f in sorted((tmp_path / "out").glob("*.json")) for line in f.read_text().splitlines()
    ]
    assert sorted(written, key=lambda r: r["b"]) == [
        {"a": 1, "b": "x", "c": 10},
        {"a": 2, "b": "y", "c": 20},
        {"b": "z"},
    ]

    empty = document(
        [
            {
                "id": "orders",
                "type": "source.file",
                "config": {"path": "empty/*.csv", "format": "csv", "schema": ORDERS_SCHEMA},
            },
            {"id": "keep", "type": "transform.filter", "config": {"condition": "amount > 0"}},
            {"id": "out", "type": "sink.file", "config": {"path": "out_empty", "format": "parquet"}},
        ]
    )
    run_job(empty)
    table = read_parquet(tmp_path / "out_empty")
    assert table.num_rows == 0
    assert table.column_names == ["order_id", "amount", "customer", "placed_at", "order_date"]


HOSTILE_STRINGS = [
    "O'Brien",
    'say "hi"',
    "back\\slash",
    "\\'",
    "\\\\'",
    "line\nbreak",
    "tab\there",
    "-- comment",
    "/* open",
    "*/ close",
    "`tick`",
    "${run_date}",
    "${env:HOME}",
    "${spark.app.name}",
    "'); DROP TABLE x; --",
    "\\u0041",
    "unicode é 中 \u2028",
    "%_like",
]


def test_string_parameters_reach_spark_unchanged(run_job: Any, tmp_path: Path) -> None:
    write(tmp_path / "in/one.csv", "id\n1\n")
    parameters = [{"name": f"p{i}", "type": "string", "default": "x"} for i in range(len(HOSTILE_STRINGS))]
    doc = document(
        [
            {
                "id": "one",
                "type": "source.file",
                "config": {"path": "in/*.csv", "format": "csv", "schema": [{"name": "id", "type": "int"}]},
            },
            {
                "id": "calc",
                "type": "transform.derive",
                "config": {
                    "columns": [{"name": f"c{i}", "expression": f"${{p{i}}}"} for i in range(len(HOSTILE_STRINGS))]
                },
            },
            {"id": "keep", "type": "transform.filter", "config": {"condition": "c0 = ${p0} AND c2 = 'back\\\\slash'"}},
            {"id": "out", "type": "sink.file", "config": {"path": "out", "format": "parquet"}},
        ],
        parameters=parameters,
    )
    run_job(doc, {f"p{i}": text for i, text in enumerate(HOSTILE_STRINGS)})
    [row] = rows(tmp_path / "out")
    assert [row[f"c{i}"] for i in range(len(HOSTILE_STRINGS))] == HOSTILE_STRINGS


def test_csv_header_that_does_not_match_the_schema_fails_the_job(run_job: Any, tmp_path: Path) -> None:
    write(tmp_path / "in/swapped.csv", "amount,order_id\n1.00,1\n")
    doc = document(
        [
            {
                "id": "orders",
                "type": "source.file",
                "config": {
                    "path": "in/*.csv",
                    "format": "csv",
                    "schema": [{"name": "order_id", "type": "bigint"}, {"name": "amount", "type": "decimal(12,2)"}],
                },
            },
            {"id": "out", "type": "sink.file", "config": {"path": "out", "format": "parquet"}},
        ]
    )
    with pytest.raises(Exception, match="header does not conform to the schema"):
        run_job(doc)
