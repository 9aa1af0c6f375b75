"""Write the corpus's binary input files (parquet), deterministically.

Text inputs (csv, json lines) are written by hand in each case's `input/` folder; parquet cannot
be, so its rows live here. Re-running this script rewrites the same files byte for byte (pyarrow,
no compression, no created_by differences within one pyarrow version); the files are committed,
and the tests only read them.

    .venv/bin/python tests/corpus/make_inputs.py

Timestamps are stored as Spark stores them: microseconds, adjusted to UTC (`timestamp[us, tz=UTC]`),
so the values are the same whatever time zone reads them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CASES = Path(__file__).resolve().parent / "cases"
UTC = dt.UTC


def _write(case: str, name: str, table: pa.Table) -> None:
    path = CASES / case / "input" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="none", version="2.6")


def stock() -> pa.Table:
    schema = pa.schema(
        [
            ("id", pa.int32()),
            ("code", pa.string()),
            ("price", pa.decimal128(10, 2)),
            ("ratio", pa.float64()),
            ("qty", pa.int64()),
            ("day", pa.date32()),
            ("at", pa.timestamp("us", tz="UTC")),
            ("flag", pa.bool_()),
        ]
    )
    rows = [
        (1, "A-1", Decimal("12.34"), 0.5, 3, dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, 10, tzinfo=UTC), True),
        (2, "B 2 ", Decimal("0.01"), -1.0, 100, dt.date(2024, 2, 29),
         dt.datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC), False),
        (3, None, None, None, None, None, None, None),
        (4, "C,3", Decimal("99999999.99"), 3.0, 0, dt.date(2026, 12, 31),
         dt.datetime(2026, 12, 31, 0, 0, 0, 1000, tzinfo=UTC), True),
    ]
    return pa.Table.from_pylist([dict(zip(schema.names, row, strict=True)) for row in rows], schema=schema)


def metrics() -> pa.Table:
    schema = pa.schema([("k", pa.string()), ("v", pa.int64()), ("w", pa.float64())])
    rows = [("a", 1, 0.5), ("b", 2, 1.5), ("c", None, 2.5), ("d", 5, None), (None, 3, 3.5)]
    return pa.Table.from_pylist([dict(zip(schema.names, row, strict=True)) for row in rows], schema=schema)


def main() -> None:
    _write("parquet_source_typed", "stock.parquet", stock())
    _write("parquet_no_schema", "metrics.parquet", metrics())


if __name__ == "__main__":
    main()
