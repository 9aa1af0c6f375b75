"""Compute every corpus case's expected outputs, independently of the compiler, and write them to
`cases/<case>/expected/<sink_id>.json`.

    .venv/bin/python tests/corpus/make_expected.py            # rewrite every expected file
    .venv/bin/python tests/corpus/make_expected.py --check    # fail if a committed file differs
    .venv/bin/python tests/corpus/make_expected.py join_full_keys sort_limit   # only these cases

Each case has a reference function below, written from the case's meaning: it reads the case's
input files with this module's own loaders (the studio's file semantics: a CSV empty field is NULL,
fields are never trimmed, JSON missing keys are NULL) and computes the rows in plain Python or with
DuckDB SQL. Nothing here imports the compiler or an engine. The studio's semantics are Spark 4
SQL's; where DuckDB or Python differ from Spark, the reference computes Spark's result explicitly
and the spot is marked `# Spark:`. The main ones:

- `/` on integers gives a double, `%` keeps the sign of the dividend (Java), integer casts truncate;
- `round` is half-up on the decimal text of a double (Spark rounds `BigDecimal(d.toString)`), not
  Python's banker's rounding of the binary value;
- decimal results have Spark's precision and scale (declared per column here) and are rounded
  half-up to that scale; DuckDB's `avg` of a decimal is a double, so averages are computed here;
- NULL sorts first ascending and last descending (DuckDB's default is NULLS LAST), so every ORDER
  BY here says NULLS FIRST/LAST explicitly;
- `regexp_extract` gives '' when nothing matches, `substring` follows Spark's position rules,
  `concat` is NULL when any argument is NULL, casting a timestamp to text drops trailing zeros of
  the fraction.

The column types written in each expected file are the Spark 4 result types of the case (checked
by the harness against what the engines write and against the front end's schema inference).
DuckDB is needed only to run this script (`pip install duckdb`), not to run the tests.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import decimal
import glob
import json
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.corpus.canonical import canonical, decimal_parts, parse_timestamp  # noqa: E402

CASES = HERE / "cases"
# Exact decimal arithmetic for decimal(38,s) values (the default context keeps 28 digits).
decimal.getcontext().prec = 200
Row = dict[str, Any]
Columns = list[tuple[str, str]]


# ---------------------------------------------------------------------------------------------
# Outputs


@dataclass
class Out:
    """The expected rows of one sink: columns as (name, Spark type) and rows as dicts or lists."""

    columns: Columns
    rows: list[Any]
    ordered: bool = False

    def document(self) -> dict[str, Any]:
        names = [n for n, _ in self.columns]
        body = []
        for row in self.rows:
            values = [row[n] for n in names] if isinstance(row, dict) else list(row)
            if isinstance(row, dict) and set(row) - set(names):
                raise ValueError(f"row has columns the output does not: {sorted(set(row) - set(names))}")
            assert len(values) == len(names), (values, names)
            body.append([_strict(v, t) for v, (_, t) in zip(values, self.columns, strict=True)])
        if not self.ordered:
            body.sort(key=lambda r: json.dumps(r, sort_keys=True))
        return {
            "columns": [{"name": n, "type": t} for n, t in self.columns],
            "rows": body,
            "ordered": self.ordered,
        }


def _strict(value: Any, type_name: str) -> Any:
    """canonical(), but a reference value with more decimals than its type is a bug here."""
    parts = decimal_parts(type_name)
    if parts and value is not None:
        assert isinstance(value, Decimal), (value, type_name)
        assert value == value.quantize(Decimal(1).scaleb(-parts[1])), (value, type_name)
    if type_name in ("double", "float") and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return canonical(value, type_name)


def dump(document: dict[str, Any]) -> str:
    """Readable canonical JSON: one row per line."""
    rows = ",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in document["rows"])
    columns = ",\n".join("    " + json.dumps(c) for c in document["columns"])
    return (
        "{\n"
        f'  "columns": [\n{columns}\n  ],\n'
        f'  "ordered": {json.dumps(document["ordered"])},\n'
        f'  "rows": [\n{rows}\n  ]\n'
        "}\n"
        if document["rows"]
        else "{\n"
        f'  "columns": [\n{columns}\n  ],\n'
        f'  "ordered": {json.dumps(document["ordered"])},\n'
        '  "rows": []\n'
        "}\n"
    )


# ---------------------------------------------------------------------------------------------
# Loaders: the studio's file semantics, written here from PIPELINE_FORMAT.md.


def _value(text: str, type_name: str) -> Any:
    """A CSV field (or a JSON string for date/timestamp) as a Python value; "" is NULL."""
    if text == "":
        return None
    if type_name == "string":
        return text
    if type_name in ("int", "bigint"):
        return int(text)
    if type_name in ("double", "float"):
        return float(text)
    if type_name.startswith("decimal("):
        return _fit(Decimal(text), type_name)
    if type_name == "date":
        return dt.date.fromisoformat(text)
    if type_name == "timestamp":
        return parse_timestamp(text)
    if type_name == "boolean":
        return {"true": True, "false": False}[text.lower()]
    raise ValueError(type_name)


def _fit(value: Decimal, type_name: str) -> Decimal:
    _, scale = decimal_parts(type_name)  # type: ignore[misc]
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def schema_of(case: str, node_id: str) -> Columns:
    document = json.loads((CASES / case / "pipeline.json").read_text())
    node = next(n for n in document["nodes"] if n["id"] == node_id)
    return [(c["name"], c["type"]) for c in node["config"]["schema"]]


def read_csv(case: str, path: str, columns: Columns, header: bool = True, delimiter: str = ",") -> list[Row]:
    rows: list[Row] = []
    for name in sorted(glob.glob(str(CASES / case / path))):
        with open(name, newline="", encoding="utf-8") as handle:
            records = list(csv.reader(handle, delimiter=delimiter))
        if header and records:
            assert records[0] == [n for n, _ in columns], (name, records[0])
            records = records[1:]
        for record in records:
            assert len(record) == len(columns), (name, record)
            rows.append({n: _value(text, t) for (n, t), text in zip(columns, record, strict=True)})
    return rows


def read_json(case: str, path: str, columns: Columns) -> list[Row]:
    rows: list[Row] = []
    for name in sorted(glob.glob(str(CASES / case / path))):
        for line in Path(name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line, parse_float=Decimal)
            row: Row = {}
            for n, t in columns:
                value = record.get(n)
                if value is None:
                    row[n] = None
                elif t in ("date", "timestamp"):
                    row[n] = _value(value, t)
                elif t.startswith("decimal("):
                    row[n] = _fit(Decimal(value), t)
                elif t in ("double", "float"):
                    row[n] = float(value)
                else:
                    row[n] = value
            rows.append(row)
    return rows


def read_parquet(case: str, path: str) -> list[Row]:
    table = pq.read_table(CASES / case / path)
    rows = table.to_pylist()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                row[key] = value.astimezone(dt.UTC).replace(tzinfo=None)
    return rows


def source(case: str, node_id: str) -> list[Row]:
    """Read a csv/json source node of the case's document, with its declared schema and options."""
    document = json.loads((CASES / case / "pipeline.json").read_text())
    node = next(n for n in document["nodes"] if n["id"] == node_id)
    config = node["config"]
    columns = [(c["name"], c["type"]) for c in config["schema"]]
    if config["format"] == "csv":
        options = config.get("options", {})
        return read_csv(case, config["path"], columns, options.get("header", True), options.get("delimiter", ","))
    assert config["format"] == "json"
    return read_json(case, config["path"], columns)


# ---------------------------------------------------------------------------------------------
# DuckDB, for the set operations (filters with three-valued logic, joins, grouping).

_DUCK_TYPES = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "double": "DOUBLE", "float": "FLOAT",
               "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP"}  # fmt: skip


def duck(**tables: tuple[Columns, list[Row]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, (columns, rows) in tables.items():
        ddl = ", ".join(f'"{n}" {_DUCK_TYPES.get(t, t.upper())}' for n, t in columns)
        con.execute(f'CREATE TABLE "{name}" ({ddl})')
        if rows:
            marks = ", ".join("?" for _ in columns)
            con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', [[r[n] for n, _ in columns] for r in rows])
    return con


def query(con: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


# ---------------------------------------------------------------------------------------------
# Spark's scalar semantics, in Python.


def nulls(*values: Any) -> bool:
    return any(v is None for v in values)


def spark_round(value: Any, places: int = 0) -> Any:
    """Half-up (away from zero). Spark: a double is rounded as BigDecimal(Double.toString(d))."""
    if value is None:
        return None
    if isinstance(value, float):
        rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return float(rounded) + 0.0  # + 0.0: no negative zero, as BigDecimal.toDouble
    if isinstance(value, Decimal):
        if places >= 0:
            return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return value.scaleb(places).quantize(Decimal(1), rounding=ROUND_HALF_UP).scaleb(-places)
    if isinstance(value, int):
        if places >= 0:
            return value
        return int(Decimal(value).scaleb(places).quantize(Decimal(1), rounding=ROUND_HALF_UP).scaleb(-places))
    raise TypeError(value)


def decimal_scale(value: Decimal | None, scale: int) -> Decimal | None:
    """A decimal operation's result at Spark's result scale, rounded half-up."""
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def java_mod(a: int, b: int) -> int:
    # Spark: the remainder has the sign of the dividend (Python's % has the sign of the divisor).
    return int(math.fmod(a, b))


def spark_substring(text: str | None, pos: int, length: int | None = None) -> str | None:
    """Spark's UTF8String.substringSQL: 1-based; a negative position counts from the end; the window
    [start, start + length) is clipped to the string, so it may be empty."""
    if text is None:
        return None
    n = len(text)
    start = pos - 1 if pos > 0 else (n + pos if pos < 0 else 0)
    end = n if length is None else start + length
    start = max(start, 0)
    if start >= end:
        return ""
    return text[start:min(end, n)]


def spark_regexp_extract(text: str | None, pattern: str, group: int = 1) -> str | None:
    import re

    if text is None:
        return None
    match = re.search(pattern, text)
    if match is None:
        return ""  # Spark: no match gives the empty string, not NULL
    return match.group(group) or ""


def spark_concat(*parts: str | None) -> str | None:
    return None if nulls(*parts) else "".join(parts)  # type: ignore[arg-type]


def spark_trim(text: str | None) -> str | None:
    return None if text is None else text.strip(" ")  # Spark: only the space character


def spark_timestamp_text(value: dt.datetime | None) -> str | None:
    """CAST(timestamp AS string) in Spark: the fraction without trailing zeros."""
    if value is None:
        return None
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text


def date_trunc(unit: str, value: dt.datetime | dt.date | None) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if unit == "year":
        return dt.datetime(value.year, 1, 1)
    if unit == "quarter":
        return dt.datetime(value.year, 3 * ((value.month - 1) // 3) + 1, 1)
    if unit == "month":
        return dt.datetime(value.year, value.month, 1)
    if unit == "week":  # Spark: weeks start on Monday
        monday = value.date() - dt.timedelta(days=value.weekday())
        return dt.datetime(monday.year, monday.month, monday.day)
    if unit == "day":
        return dt.datetime(value.year, value.month, value.day)
    if unit == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    raise ValueError(unit)


def as_date(value: dt.datetime | dt.date | None) -> dt.date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def datediff(end: Any, start: Any) -> int | None:
    if nulls(end, start):
        return None
    return (as_date(end) - as_date(start)).days  # type: ignore[operator]


def date_add(value: Any, days: int) -> dt.date | None:
    return None if value is None else as_date(value) + dt.timedelta(days=days)  # type: ignore[operator]


def sort_rows(rows: list[Row], order: list[tuple[str, str, str | None]]) -> list[Row]:
    result = list(rows)
    for column, direction, nulls_position in reversed(order):
        present = [r for r in result if r[column] is not None]
        missing = [r for r in result if r[column] is None]
        present.sort(key=lambda r: r[column], reverse=direction == "desc")
        position = nulls_position or ("first" if direction == "asc" else "last")
        result = missing + present if position == "first" else present + missing
    return result


def group(rows: Iterable[Row], keys: list[str]) -> dict[tuple[Any, ...], list[Row]]:
    """Group rows by key values; NULL keys are equal to each other (SQL GROUP BY)."""
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    return groups


def agg_sum(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def agg_avg_decimal(values: list[Decimal | None], scale: int) -> Decimal | None:
    # Spark: avg(decimal(p,s)) is decimal(p+4, s+4), the exact quotient rounded half-up.
    present = [v for v in values if v is not None]
    if not present:
        return None
    return decimal_scale(sum(present) / Decimal(len(present)), scale)


def agg_avg_double(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return float(sum(present)) / len(present) if present else None


def agg_min(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def agg_max(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def count_distinct(values: list[Any]) -> int:
    return len({v for v in values if v is not None})


EPOCH = dt.datetime(1970, 1, 1)


def floor_time(value: dt.datetime, step: dt.timedelta) -> dt.datetime:
    """Windows are aligned to the epoch in UTC (Spark's window(), Flink's TUMBLE/HOP)."""
    micros = (value - EPOCH) // dt.timedelta(microseconds=1)
    size = step // dt.timedelta(microseconds=1)
    return EPOCH + dt.timedelta(microseconds=micros - micros % size)


# ---------------------------------------------------------------------------------------------
# References, one per case.

REFERENCES: dict[str, Callable[[str], dict[str, Out]]] = {}


def reference(function: Callable[[str], dict[str, Out]]) -> Callable[[str], dict[str, Out]]:
    REFERENCES[function.__name__] = function
    return function


# Sources -----------------------------------------------------------------------------------


@reference
def csv_header_nulls_whitespace(case: str) -> dict[str, Out]:
    columns = schema_of(case, "people")
    return {"people_out": Out(columns, source(case, "people"))}


@reference
def csv_no_header_semicolon(case: str) -> dict[str, Out]:
    rows = source(case, "items")
    return {"items_csv": Out([("label", "string"), ("sku", "int"), ("shipped", "date"), ("qty", "int")], rows)}


@reference
def csv_tab_delimiter_json_sink(case: str) -> dict[str, Out]:
    return {"readings_json": Out(schema_of(case, "readings"), source(case, "readings"))}


@reference
def json_source_nulls(case: str) -> dict[str, Out]:
    rows = [r for r in source(case, "events") if r["kind"] is not None]
    return {"events_out": Out(schema_of(case, "events"), rows)}


@reference
def parquet_source_typed(case: str) -> dict[str, Out]:
    rows = read_parquet(case, "input/stock.parquet")
    for r in rows:
        # Spark: decimal(10,2) * bigint (as decimal(20,0)) is decimal(31,2), exact here.
        r["total"] = None if nulls(r["price"], r["qty"]) else r["price"] * r["qty"]
        r["half"] = None if r["ratio"] is None else r["ratio"] / 2
    columns = schema_of(case, "stock") + [("total", "decimal(31,2)"), ("half", "double")]
    return {"stock_csv": Out(columns, rows)}


@reference
def parquet_no_schema(case: str) -> dict[str, Out]:
    rows = [r for r in read_parquet(case, "input/metrics.parquet") if r["v"] is not None and r["v"] > 1]
    for r in rows:
        r["x"] = r["v"] * 2
    return {"metrics_out": Out([("k", "string"), ("v", "bigint"), ("w", "double"), ("x", "bigint")], rows)}


@reference
def csv_glob_multiple_files(case: str) -> dict[str, Out]:
    # Only *.csv files match; notes.txt in the same folder is not read.
    return {"all_orders": Out(schema_of(case, "orders"), source(case, "orders"))}


# Select ------------------------------------------------------------------------------------


def _spark_bool(text: str | None) -> bool | None:
    if text is None:
        return None
    return {"true": True, "t": True, "yes": True, "y": True, "1": True,
            "false": False, "f": False, "no": False, "n": False, "0": False}[text.strip().lower()]  # fmt: skip


@reference
def select_alias_cast(case: str) -> dict[str, Out]:
    out = []
    for r in source(case, "raw"):
        out.append({
            "id": r["id"],
            "n": None if r["s_int"] is None else int(r["s_int"]),
            "d": None if r["s_date"] is None else dt.date.fromisoformat(r["s_date"]),
            # Spark: decimal to a smaller scale rounds half-up; to an integer truncates toward zero.
            "price2": decimal_scale(r["price"], 2),
            "price_int": None if r["price"] is None else int(r["price"]),
            "ratio_long": None if r["ratio"] is None else math.trunc(r["ratio"]),
            # Spark: double to decimal goes through the double's shortest decimal text, then half-up.
            "ratio_dec": None if r["ratio"] is None else decimal_scale(Decimal(repr(r["ratio"])), 1),
            "qty_text": None if r["qty"] is None else str(r["qty"]),
            "qty_double": None if r["qty"] is None else float(r["qty"]),
            "at_day": as_date(r["at"]),
            "at_text": spark_timestamp_text(r["at"]),
            "flag": _spark_bool(r["flag_text"]),
        })
    columns = [("id", "int"), ("n", "int"), ("d", "date"), ("price2", "decimal(10,2)"), ("price_int", "int"),
               ("ratio_long", "bigint"), ("ratio_dec", "decimal(6,1)"), ("qty_text", "string"),
               ("qty_double", "double"), ("at_day", "date"), ("at_text", "string"), ("flag", "boolean")]  # fmt: skip
    return {"typed_out": Out(columns, out)}


@reference
def select_swap_names(case: str) -> dict[str, Out]:
    out = []
    for r in source(case, "pairs"):
        a, b = r["b"], r["a"]
        out.append({"a": a, "b": b, "s": spark_concat(a, "-", None if b is None else str(b))})
    return {"swapped_csv": Out([("a", "string"), ("b", "int"), ("s", "string")], out)}


# Filter ------------------------------------------------------------------------------------
# DuckDB evaluates AND/OR/NOT, IN, BETWEEN, LIKE and CASE with SQL's three-valued logic, as Spark
# does; a row is kept only when the condition is TRUE.


def _filtered(case: str, node_id: str, table: str, condition: str) -> list[Row]:
    columns = schema_of(case, node_id)
    con = duck(**{table: (columns, source(case, node_id))})
    return query(con, f'SELECT * FROM "{table}" WHERE {condition}')


@reference
def filter_three_valued_logic(case: str) -> dict[str, Out]:
    rows = _filtered(case, "facts", "facts", "(a > 1 AND b < 5) OR NOT flag")
    return {"kept_out": Out(schema_of(case, "facts"), rows)}


@reference
def filter_in_between_like(case: str) -> dict[str, Out]:
    columns = schema_of(case, "products")
    return {
        "in_list_out": Out(columns, _filtered(
            case, "products", "products", "category IN ('tools', 'garden') AND id NOT IN (2, 3)")),
        "in_range_out": Out(columns, _filtered(
            case, "products", "products",
            "price BETWEEN 10 AND 20.50 OR added BETWEEN DATE '2026-01-05' AND DATE '2026-01-10'")),
        "like_name_out": Out(columns, _filtered(
            case, "products", "products", "name LIKE 'S_o%' OR (name NOT LIKE '%o%' AND name LIKE '%_')")),
    }


@reference
def filter_is_null_case(case: str) -> dict[str, Out]:
    rows = _filtered(
        case, "accounts", "accounts",
        "CASE WHEN status IS NULL THEN amount > 100 WHEN status = 'vip' THEN true "
        "ELSE amount IS NOT NULL AND amount > 50 END",
    )
    return {"chosen_out": Out(schema_of(case, "accounts"), rows)}


# Derive ------------------------------------------------------------------------------------


@reference
def derive_arithmetic(case: str) -> dict[str, Out]:
    out = []
    for r in source(case, "nums"):
        a, b, big, d, x = r["a"], r["b"], r["big"], r["d"], r["x"]
        out.append({
            **r,
            "int_div": None if nulls(a, b) else a / b,  # Spark: int / int is a double
            "int_mod": None if nulls(a, b) else java_mod(a, b),
            "sum_ab": None if nulls(a, b) else a + b,
            "big_plus": None if nulls(big, a) else big + a,
            "neg": None if a is None else -a,
            "dec_mul": None if nulls(d, a) else d * a,  # decimal(21,2)
            # Spark: decimal(10,2) / int -> decimal(21,13), the quotient rounded half-up.
            "dec_div": None if nulls(d, b) else decimal_scale(d / Decimal(b), 13),
            "dec_plus_x": None if nulls(d, x) else float(d) + x,  # decimal with double -> double
            "dec_lit": None if d is None else d * Decimal("1.5"),  # decimal(13,3)
            "dec_sub": None if d is None else d - Decimal("0.005"),  # decimal(12,3)
            "x_div": None if x is None else x / 4,
            "mixed": None if nulls(a, x) else a * x,
            "paren": None if nulls(a, b, big) else (a + b) * 2 - big,
        })
    columns = schema_of(case, "nums") + [
        ("int_div", "double"), ("int_mod", "int"), ("sum_ab", "int"), ("big_plus", "bigint"), ("neg", "int"),
        ("dec_mul", "decimal(21,2)"), ("dec_div", "decimal(21,13)"), ("dec_plus_x", "double"),
        ("dec_lit", "decimal(13,3)"), ("dec_sub", "decimal(12,3)"), ("x_div", "double"), ("mixed", "double"),
        ("paren", "bigint"),
    ]  # fmt: skip
    return {"calc_out": Out(columns, out)}


@reference
def derive_rounding(case: str) -> dict[str, Out]:
    out = []
    for r in source(case, "vals"):
        x, d, n = r["x"], r["d"], r["n"]
        out.append({
            **r,
            "r0": spark_round(x),
            "r2": spark_round(x, 2),  # Spark: round(1.005, 2) = 1.01 and round(2.675, 2) = 2.68
            "rneg": spark_round(n, -1),
            "rd": spark_round(d, 2),
            "rd0": spark_round(d, 0),
            "fl": None if x is None else math.floor(x),
            "ce": None if x is None else math.ceil(x),
            "fld": None if d is None else d.to_integral_value(rounding="ROUND_FLOOR"),
            "ced": None if d is None else d.to_integral_value(rounding="ROUND_CEILING"),
            "ab": None if x is None else abs(x),
            "abd": None if d is None else abs(d),
            "abn": None if n is None else abs(n),
            "rdiv": None if n is None else spark_round(n / 4, 1),
        })
    columns = schema_of(case, "vals") + [
        ("r0", "double"), ("r2", "double"), ("rneg", "int"), ("rd", "decimal(10,2)"), ("rd0", "decimal(8,0)"),
        ("fl", "bigint"), ("ce", "bigint"), ("fld", "decimal(8,0)"), ("ced", "decimal(8,0)"), ("ab", "double"),
        ("abd", "decimal(10,3)"), ("abn", "int"), ("rdiv", "double"),
    ]  # fmt: skip
    return {"rounded_out": Out(columns, out)}


@reference
def derive_strings(case: str) -> dict[str, Out]:
    out = []
    for r in source(case, "texts"):
        s, t, code = r["s"], r["t"], r["code"]
        trimmed = spark_trim(s)
        out.append({
            **r,
            "lo": None if s is None else s.lower(),
            "up": None if s is None else s.upper(),
            "tr": trimmed,
            "len_s": None if s is None else len(s),  # characters, not bytes
            "cat": spark_concat(s, "|", t),
            "cat_safe": spark_concat(s if s is not None else "", "-", t if t is not None else "?"),
            "piped": spark_concat(t, "!"),
            "sub1": spark_substring(s, 2, 3),
            "sub_neg": spark_substring(t, -3, 2),
            "sub_tail": spark_substring(s, 3),
            "rx": spark_regexp_extract(code, "([A-Z]+)-([0-9]+)", 2),
            "rx0": spark_regexp_extract(code, "[0-9]+", 0),
            "rx_default": spark_regexp_extract(code, "-([a-z]+)$"),
            "ulen": None if trimmed is None else len(trimmed.upper()),
        })
    columns = schema_of(case, "texts") + [(c, "string") for c in ("lo", "up", "tr")] + [("len_s", "int")] + [
        (c, "string") for c in ("cat", "cat_safe", "piped", "sub1", "sub_neg", "sub_tail", "rx", "rx0", "rx_default")
    ] + [("ulen", "int")]
    return {"strs_out": Out(columns, out)}


@reference
def derive_dates(case: str) -> dict[str, Out]:
    out = []
    for r in source(case, "days"):
        d, ts = r["d"], r["ts"]
        d1 = None if r["d_text"] is None else dt.datetime.strptime(r["d_text"], "%d/%m/%Y").date()
        t1 = None if r["ts_text"] is None else dt.datetime.strptime(r["ts_text"], "%Y-%m-%d %H:%M")
        out.append({
            **r,
            "d1": d1,
            "t1": t1,
            "d2": as_date(ts),
            "t2": None if d is None else dt.datetime(d.year, d.month, d.day),
            "tr_month": date_trunc("month", ts),
            "tr_year": date_trunc("year", d),
            "tr_hour": date_trunc("hour", ts),
            "tr_week": date_trunc("week", ts),
            "tr_quarter": date_trunc("quarter", ts),
            "y": None if ts is None else ts.year,
            "m": None if d is None else d.month,
            "dd": None if d is None else d.day,
            "h": None if ts is None else ts.hour,
            "since_new_year": datediff(d, dt.date(2026, 1, 1)),
            "ts_vs_text": datediff(ts, d1),
            "plus30": date_add(d, 30),
            "minus1": date_add(d, -1),
            "ts_plus": date_add(ts, 1),
            "ts_as_date": as_date(ts),
            "d_as_ts": None if d is None else dt.datetime(d.year, d.month, d.day),
            "d_as_text": None if d is None else d.isoformat(),
            # The corpus runs long after 2020: both are always true (and never NULL).
            "today_ok": True,
            "now_ok": True,
        })
    columns = schema_of(case, "days") + [
        ("d1", "date"), ("t1", "timestamp"), ("d2", "date"), ("t2", "timestamp"), ("tr_month", "timestamp"),
        ("tr_year", "timestamp"), ("tr_hour", "timestamp"), ("tr_week", "timestamp"), ("tr_quarter", "timestamp"),
        ("y", "int"), ("m", "int"), ("dd", "int"), ("h", "int"), ("since_new_year", "int"), ("ts_vs_text", "int"),
        ("plus30", "date"), ("minus1", "date"), ("ts_plus", "date"), ("ts_as_date", "date"),
        ("d_as_ts", "timestamp"), ("d_as_text", "string"), ("today_ok", "boolean"), ("now_ok", "boolean"),
    ]  # fmt: skip
    return {"dated_out": Out(columns, out)}


@reference
def derive_chained(case: str) -> dict[str, Out]:
    out = []
    for r in source(case, "orders"):
        qty, price = r["qty"], r["unit_price"]
        gross = None if nulls(qty, price) else qty * price  # decimal(19,2)
        disc = r["discount_pct"] if r["discount_pct"] is not None else 0
        # Spark: decimal(19,2) * int -> decimal(30,2); / 100 -> decimal(34,6), rounded half-up.
        net = None if gross is None else decimal_scale(gross * (100 - disc) / Decimal(100), 6)
        net_rounded = spark_round(net, 2)
        status = (r["status"] if r["status"] is not None else "new").upper()
        big = None if net_rounded is None else net_rounded > 100
        label = status + "!" if big is True else status.lower()  # CASE: NULL is not true -> ELSE
        qty2 = None if qty is None else qty * 2
        out.append({
            "id": r["id"], "qty": qty2, "unit_price": price, "discount_pct": r["discount_pct"], "status": status,
            "gross": gross, "disc": disc, "net": net, "net_rounded": net_rounded, "big": big, "label": label,
            "qty_check": qty2, "gross_again": None if nulls(qty2, price) else qty2 * price,
        })  # fmt: skip
    columns = schema_of(case, "orders") + [
        ("gross", "decimal(19,2)"), ("disc", "int"), ("net", "decimal(34,6)"), ("net_rounded", "decimal(31,2)"),
        ("big", "boolean"), ("label", "string"), ("qty_check", "int"), ("gross_again", "decimal(19,2)"),
    ]
    return {"priced_out": Out(columns, out)}


@reference
def derive_null_functions(case: str) -> dict[str, Out]:
    out = []
    for r in source(case, "rows"):
        a, b, c, s, t = r["a"], r["b"], r["c"], r["s"], r["t"]
        out.append({
            **r,
            "co1": a if a is not None else b,
            "co2": c if c is not None else (None if a is None else Decimal(a).quantize(Decimal("0.01"))),
            "co3": s if s is not None else (t if t is not None else "none"),
            "ni": None if a is None or a == 0 else a,
            "ni_s": None if s is None or s == "" else s,
            "typed_null": None,
            "cw": None if a is None or a == 0 else ("pos" if a > 0 else "neg"),
            "cs": {"x": 1, "y": 2}.get(s, 0) if s is not None else 0,
            "s_null": s is None,
            "a_set": a is not None,
            "a_is_5": a == 5,  # <=> is never NULL
        })
    columns = schema_of(case, "rows") + [
        ("co1", "bigint"), ("co2", "decimal(12,2)"), ("co3", "string"), ("ni", "int"), ("ni_s", "string"),
        ("typed_null", "int"), ("cw", "string"), ("cs", "int"), ("s_null", "boolean"), ("a_set", "boolean"),
        ("a_is_5", "boolean"),
    ]  # fmt: skip
    return {"nulls_out": Out(columns, out)}


# Parameters --------------------------------------------------------------------------------


@reference
def parameters_path_and_condition(case: str) -> dict[str, Out]:
    # Defaults: region 'eu' (so input/eu/ is read), min_qty 2, since 2026-01-02, rate 1.5,
    # vip_only false, cutoff 2026-01-03 12:00:00, big 10000000000.
    columns = schema_of(case, "orders")
    con = duck(orders=(columns, read_csv(case, "input/eu/orders.csv", columns)))
    rows = query(con, "SELECT * FROM orders WHERE qty >= 2 AND order_date >= DATE '2026-01-02' AND (NOT false OR vip)")
    cutoff = dt.datetime(2026, 1, 3, 12)
    for r in rows:
        r["weighted"] = r["qty"] * 1.5
        r["late"] = None if r["placed_at"] is None else r["placed_at"] > cutoff
        r["tag"] = f"eu-{r['id']}"
        r["huge"] = 10000000000 + r["qty"]
    columns += [("weighted", "double"), ("late", "boolean"), ("tag", "string"), ("huge", "bigint")]
    return {"scored_out": Out(columns, rows)}


@reference
def parameters_override(case: str) -> dict[str, Out]:
    # parameters.json: country 'fr', run_date 2026-01-03, who "it's ${run_date}" (a literal text).
    run = dt.date(2026, 1, 3)
    who = "it's ${run_date}"
    columns = schema_of(case, "notes")
    rows = read_csv(case, "input/fr/2026-01-03.csv", columns)
    kept = [r for r in rows if r["day"] == run and r["note"] is not None and r["note"] != who]
    for r in kept:
        r["who"] = who
        r["run"] = run
    return {"today_out": Out(columns + [("who", "string"), ("run", "date")], kept)}


# Joins -------------------------------------------------------------------------------------
# Output column order (SQL USING): keys that have the same name on both sides, once; then the
# other left columns; then the other right columns. DuckDB joins never match NULL keys, as Spark.


def _tables(case: str, *node_ids: str) -> duckdb.DuckDBPyConnection:
    return duck(**{n: (schema_of(case, n), source(case, n)) for n in node_ids})


@reference
def join_inner(case: str) -> dict[str, Out]:
    con = _tables(case, "orders", "customers")
    rows = query(con, "SELECT o.customer_id, o.order_id, o.amount, c.name, c.tier "
                      "FROM orders o JOIN customers c ON o.customer_id = c.customer_id")
    columns = [("customer_id", "int"), ("order_id", "int"), ("amount", "decimal(10,2)"), ("name", "string"),
               ("tier", "string")]  # fmt: skip
    return {"matched_out": Out(columns, rows)}


@reference
def join_left(case: str) -> dict[str, Out]:
    con = _tables(case, "customers", "orders")
    rows = query(con, "SELECT c.customer_id, c.name, c.city, o.order_id, o.amount "
                      "FROM customers c LEFT JOIN orders o ON c.customer_id = o.customer_id")
    columns = [("customer_id", "int"), ("name", "string"), ("city", "string"), ("order_id", "int"),
               ("amount", "decimal(10,2)")]  # fmt: skip
    return {"with_orders_out": Out(columns, rows)}


@reference
def join_right(case: str) -> dict[str, Out]:
    con = _tables(case, "orders", "customers")
    # The shared key of a right join is the right side's.
    rows = query(con, "SELECT c.customer_id, o.order_id, o.amount, c.name "
                      "FROM orders o RIGHT JOIN customers c ON o.customer_id = c.customer_id")
    columns = [("customer_id", "int"), ("order_id", "int"), ("amount", "decimal(10,2)"), ("name", "string")]
    return {"all_customers_out": Out(columns, rows)}


@reference
def join_full_keys(case: str) -> dict[str, Out]:
    con = _tables(case, "a", "b")
    rows = query(con, "SELECT coalesce(a.k, b.k) AS k, a.left_val, b.right_val FROM a FULL JOIN b ON a.k = b.k")
    return {"both_out": Out([("k", "int"), ("left_val", "string"), ("right_val", "string")], rows)}


@reference
def join_semi(case: str) -> dict[str, Out]:
    con = _tables(case, "customers", "orders")
    rows = query(con, "SELECT * FROM customers c WHERE EXISTS "
                      "(SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id)")
    return {"buyers_out": Out(schema_of(case, "customers"), rows)}


@reference
def join_anti(case: str) -> dict[str, Out]:
    con = _tables(case, "customers", "orders")
    # NOT EXISTS: a left row with a NULL key has no match, so it is kept.
    rows = query(con, "SELECT * FROM customers c WHERE NOT EXISTS "
                      "(SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id)")
    return {"idle_out": Out(schema_of(case, "customers"), rows)}


@reference
def join_right_suffix(case: str) -> dict[str, Out]:
    con = _tables(case, "employees", "depts")
    rows = query(con, "SELECT e.emp_id, e.name, e.dept_id, e.updated, d.id, d.name AS name_dept, "
                      "d.updated AS updated_dept, d.budget "
                      "FROM employees e LEFT JOIN depts d ON e.dept_id = d.id")
    columns = [("emp_id", "int"), ("name", "string"), ("dept_id", "int"), ("updated", "date"), ("id", "int"),
               ("name_dept", "string"), ("updated_dept", "date"), ("budget", "decimal(10,2)")]  # fmt: skip
    return {"staffed_out": Out(columns, rows)}


@reference
def join_condition(case: str) -> dict[str, Out]:
    con = _tables(case, "orders", "limits")
    select = "SELECT o.customer_id, o.order_id, o.amount, o.order_date, l.min_amount, l.since FROM orders o "
    columns = [("customer_id", "int"), ("order_id", "int"), ("amount", "decimal(10,2)"), ("order_date", "date"),
               ("min_amount", "decimal(10,2)"), ("since", "date")]  # fmt: skip
    big = query(con, select + "JOIN limits l ON o.customer_id = l.customer_id AND o.amount >= l.min_amount")
    # The condition is part of ON: with a left join, a failing condition keeps the left row.
    recent = query(con, select + "LEFT JOIN limits l ON o.customer_id = l.customer_id AND o.order_date >= l.since")
    return {"big_orders_out": Out(columns, big), "recent_out": Out(columns, recent)}


@reference
def join_multi_key(case: str) -> dict[str, Out]:
    con = _tables(case, "sales", "targets")
    rows = query(con, "SELECT s.store, s.day, s.units, t.sale_day, t.target, s.units >= t.target AS met "
                      "FROM sales s JOIN targets t ON s.store = t.store AND s.day = t.sale_day")
    columns = [("store", "string"), ("day", "date"), ("units", "int"), ("sale_day", "date"), ("target", "int"),
               ("met", "boolean")]  # fmt: skip
    return {"scored_out": Out(columns, rows)}


# Aggregate ---------------------------------------------------------------------------------


@reference
def aggregate_grouped(case: str) -> dict[str, Out]:
    out = []
    for (region,), rows in group(source(case, "sales"), ["region"]).items():

        def col(name: str, rows: list[Row] = rows) -> list[Any]:
            return [r[name] for r in rows]

        out.append({
            "region": region,
            "n": len(rows),
            "n_amount": sum(1 for v in col("amount") if v is not None),
            "products": count_distinct(col("product")),
            "qty_sum": agg_sum(col("qty")),
            "amount_sum": agg_sum(col("amount")),
            "amount_avg": agg_avg_decimal(col("amount"), 6),
            "qty_avg": agg_avg_double(col("qty")),
            "price_max": agg_max(col("price")),
            "first_day": agg_min(col("sold_on")),
            "last_product": agg_max(col("product")),
        })
    columns = [("region", "string"), ("n", "bigint"), ("n_amount", "bigint"), ("products", "bigint"),
               ("qty_sum", "bigint"), ("amount_sum", "decimal(20,2)"), ("amount_avg", "decimal(14,6)"),
               ("qty_avg", "double"), ("price_max", "double"), ("first_day", "date"),
               ("last_product", "string")]  # fmt: skip
    return {"by_region_out": Out(columns, out)}


@reference
def aggregate_global(case: str) -> dict[str, Out]:
    rows = source(case, "events")

    def col(name: str) -> list[Any]:
        return [r[name] for r in rows]

    row = {
        "n": len(rows),
        "n_score": sum(1 for v in col("score") if v is not None),
        "distinct_scores": count_distinct(col("score")),
        "total": agg_sum(col("amount")),
        "mean": agg_avg_decimal(col("amount"), 6),
        "score_sum": agg_sum(col("score")),
        "score_avg": agg_avg_double(col("score")),
        "first_ts": agg_min(col("ts")),
        "last_ts": agg_max(col("ts")),
        "min_name": agg_min(col("name")),
        "max_amount": agg_max(col("amount")),
    }
    columns = [("n", "bigint"), ("n_score", "bigint"), ("distinct_scores", "bigint"), ("total", "decimal(20,2)"),
               ("mean", "decimal(14,6)"), ("score_sum", "bigint"), ("score_avg", "double"), ("first_ts", "timestamp"),
               ("last_ts", "timestamp"), ("min_name", "string"), ("max_amount", "decimal(10,2)")]  # fmt: skip
    return {"totals_out": Out(columns, [row])}


@reference
def aggregate_empty_input(case: str) -> dict[str, Out]:
    assert source(case, "nothing") == []
    overall = [("n", "bigint"), ("total", "decimal(18,2)"), ("mean_qty", "double"), ("hi", "decimal(8,2)"),
               ("regions", "bigint")]  # fmt: skip
    per_region = [("region", "string"), ("n", "bigint"), ("total", "decimal(18,2)"), ("mean_qty", "double")]
    # SQL: a global aggregation always has one row (count 0, other aggregates NULL); a grouped one
    # over no rows has no groups.
    return {
        "overall_out": Out(overall, [{"n": 0, "total": None, "mean_qty": None, "hi": None, "regions": 0}]),
        "per_region_out": Out(per_region, []),
    }


@reference
def decimals_precise_scale(case: str) -> dict[str, Out]:
    rows = source(case, "amounts")
    out = []
    for r in rows:
        a, b, c = r["a"], r["b"], r["c"]
        out.append({
            **r,
            "s": None if nulls(a, b) else a + b,  # decimal(21,10), exact
            # Spark: decimal(20,10) * decimal(20,10) would be decimal(41,20); capped at 38 digits
            # the scale drops to 17, rounded half-up.
            "p": None if nulls(a, b) else decimal_scale(a * b, 17),
            # Spark: decimal(20,10) / decimal(5,2) -> decimal(28,16), rounded half-up.
            "q": None if nulls(a, c) else decimal_scale(a / c, 16),
            "cc": None if c is None else c * c * c,  # decimal(17,6), exact
            "as_double": None if a is None else float(a),
        })
    columns = schema_of(case, "amounts") + [("s", "decimal(21,10)"), ("p", "decimal(38,17)"),
                                             ("q", "decimal(28,16)"), ("cc", "decimal(17,6)"), ("as_double", "double")]
    sums = {
        "total_a": agg_sum([r["a"] for r in out]),  # decimal(30,10)
        "avg_c": agg_avg_decimal([r["c"] for r in out], 6),  # decimal(9,6)
        "sum_p": agg_sum([r["p"] for r in out]),  # decimal(38,17)
        "distinct_c": count_distinct([r["c"] for r in out]),  # 0.1 and 0.10 are one value
    }
    sums_columns = [("total_a", "decimal(30,10)"), ("avg_c", "decimal(9,6)"), ("sum_p", "decimal(38,17)"),
                    ("distinct_c", "bigint")]  # fmt: skip
    return {"exact_out": Out(columns, out), "sums_out": Out(sums_columns, [sums])}


# Window aggregate --------------------------------------------------------------------------


def _windows_of(ts: dt.datetime, size: dt.timedelta, slide: dt.timedelta) -> list[tuple[dt.datetime, dt.datetime]]:
    """Every [start, start + size) window with start a multiple of slide that contains ts."""
    start = floor_time(ts, slide)
    windows = []
    while start + size > ts:
        windows.append((start, start + size))
        start -= slide
    return windows


@reference
def window_tumbling(case: str) -> dict[str, Out]:
    buckets: dict[tuple[Any, ...], list[Row]] = {}
    for r in source(case, "clicks"):
        start = floor_time(r["ts"], dt.timedelta(hours=1))
        buckets.setdefault((start, start + dt.timedelta(hours=1), r["user"]), []).append(r)
    out = [
        {"window_start": s, "window_end": e, "user": u, "n": len(rows),
         "total": agg_sum([r["amount"] for r in rows]), "clicks": agg_sum([r["clicks"] for r in rows]),
         "last_ts": agg_max([r["ts"] for r in rows])}
        for (s, e, u), rows in buckets.items()
    ]  # fmt: skip
    columns = [("window_start", "timestamp"), ("window_end", "timestamp"), ("user", "string"), ("n", "bigint"),
               ("total", "decimal(18,2)"), ("clicks", "bigint"), ("last_ts", "timestamp")]  # fmt: skip
    return {"hourly_out": Out(columns, out)}


@reference
def window_hopping(case: str) -> dict[str, Out]:
    buckets: dict[tuple[Any, ...], list[Row]] = {}
    for r in source(case, "views"):
        for start, end in _windows_of(r["ts"], dt.timedelta(minutes=10), dt.timedelta(minutes=5)):
            buckets.setdefault((start, end, r["page"]), []).append(r)
    out = [
        {"window_start": s, "window_end": e, "page": p, "n": len(rows), "total_ms": agg_sum([r["ms"] for r in rows]),
         "avg_ms": agg_avg_double([r["ms"] for r in rows]), "first_ts": agg_min([r["ts"] for r in rows])}
        for (s, e, p), rows in buckets.items()
    ]  # fmt: skip
    columns = [("window_start", "timestamp"), ("window_end", "timestamp"), ("page", "string"), ("n", "bigint"),
               ("total_ms", "bigint"), ("avg_ms", "double"), ("first_ts", "timestamp")]  # fmt: skip
    return {"sliding_out": Out(columns, out)}


def sessions(rows: list[Row], keys: list[str], time_column: str, gap: dt.timedelta) -> list[tuple[Any, ...]]:
    """(start, end, key values, rows) per session: rows closer than `gap` to the previous one join
    its session; a session ends `gap` after its last row."""
    result = []
    for key, members in group(rows, keys).items():
        members = sorted(members, key=lambda r: r[time_column])
        current: list[Row] = []
        for row in members:
            if current and row[time_column] >= current[-1][time_column] + gap:
                result.append((current[0][time_column], current[-1][time_column] + gap, key, current))
                current = []
            current.append(row)
        if current:
            result.append((current[0][time_column], current[-1][time_column] + gap, key, current))
    return result


@reference
def window_session(case: str) -> dict[str, Out]:
    out = [
        {"window_start": s, "window_end": e, "user": key[0], "n": len(rows),
         "total": agg_sum([r["value"] for r in rows]), "last_value": agg_max([r["value"] for r in rows])}
        for s, e, key, rows in sessions(source(case, "actions"), ["user"], "ts", dt.timedelta(minutes=10))
    ]  # fmt: skip
    columns = [("window_start", "timestamp"), ("window_end", "timestamp"), ("user", "string"), ("n", "bigint"),
               ("total", "bigint"), ("last_value", "int")]  # fmt: skip
    return {"sessions_out": Out(columns, out)}


# Deduplicate -------------------------------------------------------------------------------


def deduplicate(rows: list[Row], keys: list[str], order_by: str | None, direction: str, keep: str) -> list[Row]:
    result = []
    for members in group(rows, keys).values():
        ordered = sort_rows(members, [(order_by, direction, None)]) if order_by else members
        result.append(ordered[0] if keep == "first" else ordered[-1])
    return result


@reference
def dedup_keep_first(case: str) -> dict[str, Out]:
    rows = deduplicate(source(case, "updates"), ["customer_id"], "updated_at", "asc", "first")
    return {"earliest_out": Out(schema_of(case, "updates"), rows)}


@reference
def dedup_keep_last(case: str) -> dict[str, Out]:
    rows = source(case, "prices")
    columns = schema_of(case, "prices")
    return {
        "last_asc_out": Out(columns, deduplicate(rows, ["sku", "store"], "version", "asc", "last")),
        "first_desc_out": Out(columns, deduplicate(rows, ["sku", "store"], "version", "desc", "first")),
    }


@reference
def dedup_exact_duplicates(case: str) -> dict[str, Out]:
    rows = source(case, "logs")
    assert all(len({tuple(r.values()) for r in g}) == 1 for g in group(rows, ["host", "code"]).values())
    return {"unique_logs_out": Out(schema_of(case, "logs"), deduplicate(rows, ["host", "code"], None, "asc", "first"))}


# Union -------------------------------------------------------------------------------------


@reference
def union_by_name(case: str) -> dict[str, Out]:
    rows = source(case, "a") + source(case, "b")  # UNION ALL: duplicates stay
    return {"stacked_out": Out(schema_of(case, "a"), rows)}


@reference
def union_by_position(case: str) -> dict[str, Out]:
    names = [n for n, _ in schema_of(case, "a")]
    rows = source(case, "a") + [dict(zip(names, r.values(), strict=True)) for r in source(case, "b")]
    return {"stacked_out": Out(schema_of(case, "a"), rows)}


@reference
def union_allow_missing(case: str) -> dict[str, Out]:
    columns: Columns = []
    for node_id in ("p", "q", "r"):
        columns += [c for c in schema_of(case, node_id) if c[0] not in {n for n, _ in columns}]
    rows = [{n: r.get(n) for n, _ in columns} for node_id in ("p", "q", "r") for r in source(case, node_id)]
    return {"merged_out": Out(columns, rows)}


# Sort and limit ----------------------------------------------------------------------------


@reference
def sort_multi_key_nulls(case: str) -> dict[str, Out]:
    order = [("team", "asc", "last"), ("score", "desc", "first"), ("joined", "asc", None), ("name", "asc", None)]
    rows = sort_rows(source(case, "players"), order)
    return {"ranked_out": Out(schema_of(case, "players"), rows, ordered=True)}


@reference
def sort_default_nulls(case: str) -> dict[str, Out]:
    rows = source(case, "vals")
    columns = schema_of(case, "vals")
    return {
        "up_out": Out(columns, sort_rows(rows, [("v", "asc", None), ("id", "asc", None)]), ordered=True),
        "down_out": Out(columns, sort_rows(rows, [("v", "desc", None), ("w", "asc", None)]), ordered=True),
    }


@reference
def sort_limit(case: str) -> dict[str, Out]:
    rows = sort_rows(source(case, "scores"), [("points", "desc", None), ("id", "asc", None)])
    columns = schema_of(case, "scores")
    return {
        "top3_out": Out(columns, rows[:3], ordered=True),
        "none_out": Out(columns, [], ordered=True),
        "all_rows_out": Out(columns, rows[:100], ordered=True),
    }


# transform.sql -----------------------------------------------------------------------------


@reference
def sql_two_inputs(case: str) -> dict[str, Out]:
    con = _tables(case, "orders", "customers")
    # The same query runs on DuckDB: join, WHERE (NULL status is dropped), GROUP BY. Only the
    # result types differ (DuckDB widens sums to decimal(38,2)); the declared types are Spark's.
    rows = query(con, "SELECT c.country, count(*) AS orders, sum(o.amount) AS revenue, max(o.amount) AS biggest "
                      "FROM orders o JOIN customers c ON o.customer_id = c.customer_id "
                      "WHERE o.status <> 'cancelled' GROUP BY c.country")
    columns = [("country", "string"), ("orders", "bigint"), ("revenue", "decimal(20,2)"),
               ("biggest", "decimal(10,2)")]  # fmt: skip
    return {"by_country_out": Out(columns, rows)}


@reference
def sql_cte_case(case: str) -> dict[str, Out]:
    con = _tables(case, "events")
    rows = query(con, "WITH t AS (SELECT id, CASE WHEN ms < 100 THEN 'fast' WHEN ms < 1000 THEN 'ok' ELSE 'slow' "
                      "END AS bucket, ms, ts FROM events WHERE kind IN ('page', 'api')) "
                      "SELECT bucket, count(*) AS n, min(ts) AS first_ts, avg(ms) AS avg_ms FROM t GROUP BY bucket")
    columns = [("bucket", "string"), ("n", "bigint"), ("first_ts", "timestamp"), ("avg_ms", "double")]
    return {"buckets_out": Out(columns, rows)}


# Quality -----------------------------------------------------------------------------------

Rule = tuple[str, Callable[[Row], bool | None], str]


def quality(rows: list[Row], rules: list[Rule]) -> tuple[list[Row], list[Row]]:
    """(out, rejected). A rule passes only when its expression is TRUE (NULL fails). A row failing
    a quarantine rule goes to rejected with every rule it failed, in rule order; otherwise a row
    failing a drop rule is dropped; warn never removes a row. No corpus row fails a 'fail' rule."""
    out, rejected = [], []
    for row in rows:
        failed = [(name, action) for name, check, action in rules if check(row) is not True]
        actions = {action for _, action in failed}
        assert "fail" not in actions
        if "quarantine" in actions:
            rejected.append({**row, "_failed_rules": [name for name, _ in failed]})
        elif "drop" not in actions:
            out.append(row)
    return out, rejected


def _gt(value: Any, bound: Any) -> bool | None:
    return None if value is None else value > bound


@reference
def quality_rules(case: str) -> dict[str, Out]:
    rules: list[Rule] = [
        ("amount_positive", lambda r: _gt(r["amount"], 0), "quarantine"),
        ("email_present", lambda r: r["email"] is not None, "drop"),
        ("country_known", lambda r: None if r["country"] is None else r["country"] in ("FR", "DE", "US"), "warn"),
        ("has_id", lambda r: r["id"] is not None, "fail"),
    ]
    out, rejected = quality(source(case, "customers"), rules)
    columns = schema_of(case, "customers")
    rejected_columns = columns + [("_failed_rules", "array<string>")]
    return {
        "valid_out": Out(columns, out),
        "rejected_out": Out(rejected_columns, rejected),
        "rejected_json": Out(rejected_columns, rejected),
    }


# Sinks, empty inputs, time -----------------------------------------------------------------


@reference
def sink_formats(case: str) -> dict[str, Out]:
    rows = source(case, "mixed")
    for r in rows:
        r["big_plus"] = None if r["big"] is None else r["big"] + 1
        r["amount_x3"] = None if r["amount"] is None else r["amount"] * 3  # decimal(12,2)
    columns = schema_of(case, "mixed") + [("big_plus", "bigint"), ("amount_x3", "decimal(12,2)")]
    return {name: Out(columns, rows) for name in ("all_parquet", "all_csv", "all_json")}


@reference
def empty_input_file(case: str) -> dict[str, Out]:
    assert source(case, "blank_csv") == [] and source(case, "blank_json") == []
    csv_columns = schema_of(case, "blank_csv") + [("twice", "decimal(10,2)")]
    return {
        "empty_csv": Out(csv_columns, []),
        "empty_parquet": Out(csv_columns, []),
        "empty_json": Out(schema_of(case, "blank_json"), []),
    }


@reference
def timestamps_midnight_utc(case: str) -> dict[str, Out]:
    low, high = dt.datetime(2025, 12, 31, 23, 59, 59, 999000), dt.datetime(2026, 1, 2, 0, 15)
    kept = [r for r in source(case, "events") if low <= r["ts"] <= high and r["ts"] != dt.datetime(2026, 1, 1, 12)]
    parts = [
        {**r, "day": r["ts"].date(), "day_start": date_trunc("day", r["ts"]), "hr": r["ts"].hour,
         "next_day": date_add(r["ts"], 1), "days_since": datediff(r["ts"], dt.date(2025, 12, 31)),
         "text": spark_timestamp_text(r["ts"])}
        for r in kept
    ]  # fmt: skip
    days: dict[dt.datetime, list[Row]] = {}
    for r in kept:
        days.setdefault(floor_time(r["ts"], dt.timedelta(days=1)), []).append(r)
    daily = [
        {"window_start": s, "window_end": s + dt.timedelta(days=1), "n": len(rows),
         "first_ts": agg_min([r["ts"] for r in rows]), "last_ts": agg_max([r["ts"] for r in rows])}
        for s, rows in days.items()
    ]  # fmt: skip
    parts_columns = schema_of(case, "events") + [("day", "date"), ("day_start", "timestamp"), ("hr", "int"),
                                                 ("next_day", "date"), ("days_since", "int"), ("text", "string")]
    daily_columns = [("window_start", "timestamp"), ("window_end", "timestamp"), ("n", "bigint"),
                     ("first_ts", "timestamp"), ("last_ts", "timestamp")]  # fmt: skip
    return {"parts_out": Out(parts_columns, parts), "daily_out": Out(daily_columns, daily)}


# Realistic pipelines -----------------------------------------------------------------------


@reference
def orders_enrichment(case: str) -> dict[str, Out]:
    customers = {c["customer_id"]: c for c in source(case, "customers")}
    enriched = []
    for o in source(case, "orders"):
        c = customers.get(o["customer_id"]) if o["customer_id"] is not None else None  # left join
        discount = o["discount"] if o["discount"] is not None else Decimal(0)
        # Spark: amount * (1 - coalesce(discount, 0)) is decimal(24,4), exact; round(.., 2) is
        # decimal(23,2).
        net = spark_round(o["amount"] * (1 - discount), 2)
        enriched.append({**o, "name": c and c["name"], "country": c and c["country"],
                         "net": net, "order_month": date_trunc("month", o["placed_at"])})
    paid = [r for r in enriched if r["status"] == "paid"]
    monthly = [
        {"country": country, "order_month": month, "orders": len(rows), "revenue": agg_sum([r["net"] for r in rows]),
         "customers": count_distinct([r["customer_id"] for r in rows])}
        for (country, month), rows in group(paid, ["country", "order_month"]).items()
    ]  # fmt: skip
    monthly = sort_rows(monthly, [("country", "asc", None), ("order_month", "asc", None)])
    report = [{"order_id": r["order_id"], "name": r["name"], "country": r["country"], "net": r["net"],
               "month": r["order_month"]} for r in paid]  # fmt: skip
    return {
        "monthly_out": Out([("country", "string"), ("order_month", "timestamp"), ("orders", "bigint"),
                            ("revenue", "decimal(33,2)"), ("customers", "bigint")], monthly, ordered=True),
        "enriched_csv": Out([("order_id", "bigint"), ("name", "string"), ("country", "string"),
                             ("net", "decimal(23,2)"), ("month", "timestamp")], report),
    }


@reference
def clickstream_sessions(case: str) -> dict[str, Out]:
    rules: list[Rule] = [
        ("known_user", lambda r: r["user"] is not None, "drop"),
        ("sane_ms", lambda r: r["ms"] is None or r["ms"] >= 0, "quarantine"),
    ]
    out, rejected = quality(source(case, "events"), rules)
    once = deduplicate(out, ["event_id"], "ts", "asc", "first")
    rows = [
        {"window_start": s, "window_end": e, "user": key[0], "events": len(members),
         "total_ms": agg_sum([r["ms"] for r in members]), "kinds": count_distinct([r["kind"] for r in members])}
        for s, e, key, members in sessions(once, ["user"], "ts", dt.timedelta(minutes=30))
    ]  # fmt: skip
    columns = schema_of(case, "events")
    return {
        "sessions_out": Out([("window_start", "timestamp"), ("window_end", "timestamp"), ("user", "string"),
                             ("events", "bigint"), ("total_ms", "bigint"), ("kinds", "bigint")], rows),
        "bad_events": Out(columns + [("_failed_rules", "array<string>")], rejected),
    }


@reference
def reserved_names(case: str) -> dict[str, Out]:
    out = []
    for r in source(case, "class"):
        if not (r["order"] is None or r["order"] > 10):
            continue
        out.append({"table": r["user"], "from": r["from"].upper(), "date": r["date"],
                    "total": None if r["value"] is None else r["value"] * 2, "when": date_add(r["date"], 1),
                    "group": r["group"]})  # fmt: skip
    columns = [("table", "string"), ("from", "string"), ("date", "date"), ("total", "double"), ("when", "date"),
               ("group", "string")]  # fmt: skip
    return {"os": Out(columns, out)}


@reference
def fan_out_union(case: str) -> dict[str, Out]:
    rows = source(case, "readings")
    tagged = [{**r, "sign": "pos"} for r in rows if r["v"] is not None and r["v"] > 0] + [
        {**r, "sign": "non-pos"} for r in rows if r["v"] is not None and r["v"] <= 0
    ]
    summary = [
        {"sign": sign, "n": len(g), "total": agg_sum([r["v"] for r in g]),
         "kinds": count_distinct([r["kind"] for r in g])}
        for (sign,), g in group(tagged, ["sign"]).items()
    ]  # fmt: skip
    return {
        "raw_copy": Out(schema_of(case, "readings"), rows),
        "summary_out": Out([("sign", "string"), ("n", "bigint"), ("total", "bigint"), ("kinds", "bigint")], summary),
    }


# Column pruning (Flink batch jobs carry only the columns read downstream) ------------------
# These references know nothing of pruning: they compute each case from its meaning. The inputs
# carry columns nothing reads (some NULL), so a back end that drops or mixes up columns fails.


@reference
def prune_tpch_q3(case: str) -> dict[str, Out]:
    customers = {c["c_custkey"]: c for c in source(case, "customers")
                 if c["c_MktSegment"] == "BUILDING" and c["c_custkey"] is not None}  # fmt: skip
    cutoff = dt.date(1995, 3, 15)
    orders = {o["o_orderkey"]: o for o in source(case, "orders")
              if o["o_OrderDate"] is not None and o["o_OrderDate"] < cutoff
              and o["o_custkey"] in customers}  # fmt: skip
    priced = []
    for line in source(case, "lines"):
        if line["l_shipdate"] is None or not line["l_shipdate"] > cutoff or line["l_orderkey"] not in orders:
            continue
        order = orders[line["l_orderkey"]]
        # Spark: decimal(12,2) * (1 - decimal(4,2)) is decimal(18,4), exact (1 is decimal(1,0)).
        revenue = None if nulls(line["l_extendedprice"], line["l_discount"]) else (
            line["l_extendedprice"] * (1 - line["l_discount"]))  # fmt: skip
        priced.append({"l_orderkey": line["l_orderkey"], "o_OrderDate": order["o_OrderDate"],
                       "o_shippriority": order["o_shippriority"], "revenue": revenue})  # fmt: skip
    keys = ["l_orderkey", "o_OrderDate", "o_shippriority"]
    rows = [
        {**dict(zip(keys, key, strict=True)), "revenue": agg_sum([r["revenue"] for r in members]),
         "lines": len(members)}
        for key, members in group(priced, keys).items()
    ]  # fmt: skip
    columns = [("l_orderkey", "int"), ("o_OrderDate", "date"), ("o_shippriority", "int"),
               ("revenue", "decimal(28,4)"), ("lines", "bigint")]  # fmt: skip
    return {"q3_out": Out(columns, rows)}


@reference
def prune_semi_anti(case: str) -> dict[str, Out]:
    paid = {o["customer_id"] for o in source(case, "orders") if o["status"] == "paid" and o["customer_id"] is not None}
    customers = source(case, "customers")
    # Semi: each customer once, however many paid orders; anti: the rest, NULL keys included.
    buyers = [c for c in customers if c["customer_id"] is not None and c["customer_id"] in paid]
    idle = [c for c in customers if c["customer_id"] is None or c["customer_id"] not in paid]
    by_tier = [{"tier": tier, "customers": len(g), "credit": agg_sum([c["credit"] for c in g])}
               for (tier,), g in group(buyers, ["tier"]).items()]  # fmt: skip
    by_city = [{"city": city, "customers": len(g), "ids": len([c for c in g if c["customer_id"] is not None])}
               for (city,), g in group(idle, ["city"]).items()]  # fmt: skip
    return {
        "buyers_out": Out([("tier", "string"), ("customers", "bigint"), ("credit", "decimal(20,2)")], by_tier),
        "idle_out": Out([("city", "string"), ("customers", "bigint"), ("ids", "bigint")], by_city),
    }


@reference
def prune_fan_out_needs(case: str) -> dict[str, Out]:
    events = source(case, "events")
    scaled = []
    for e in events:
        if e["qty"] is None or not e["qty"] >= 2:
            continue
        # Spark: decimal(10,2) * int is decimal(21,2), exact.
        amount = None if nulls(e["amount"], e["qty"]) else e["amount"] * e["qty"]
        scaled.append({"kind": e["kind"] if e["kind"] is not None else "unknown", "amount": amount})
    per_kind = [{"kind": kind, "total": agg_sum([r["amount"] for r in g]), "events": len(g),
                 "top": agg_max([r["amount"] for r in g])}
                for (kind,), g in group(scaled, ["kind"]).items()]  # fmt: skip
    pairs = [{"user": user, "active_day": day} for user, day in group(events, ["user", "day"])]
    return {
        "per_kind_out": Out([("kind", "string"), ("total", "decimal(31,2)"), ("events", "bigint"),
                             ("top", "decimal(21,2)")], per_kind),
        "pairs_out": Out([("user", "string"), ("active_day", "date")], pairs),
    }


@reference
def prune_dedup_full_join(case: str) -> dict[str, Out]:
    # keep first by version descending: the highest version; NULL versions sort last, so lose.
    latest = deduplicate(source(case, "prices"), ["sku", "store"], "version", "desc", "first")
    per_sku = [{"sku": sku, "stores": len(g), "total": agg_sum([r["price"] for r in g]),
                "newest": agg_max([r["version"] for r in g])}
               for (sku,), g in group(latest, ["sku"]).items()]  # fmt: skip
    con = _tables(case, "budget", "actual")
    joined = query(con, "SELECT coalesce(CAST(b.k AS BIGINT), a.k) AS k, a.amount AS amount_r "
                        "FROM budget b FULL JOIN actual a ON b.k = a.k")  # fmt: skip
    per_k = [{"k": k, "actual": agg_sum([r["amount_r"] for r in g]), "rows": len(g),
              "matched": len([r for r in g if r["amount_r"] is not None])}
             for (k,), g in group(joined, ["k"]).items()]  # fmt: skip
    return {
        "per_sku_out": Out([("sku", "string"), ("stores", "bigint"), ("total", "decimal(18,2)"),
                            ("newest", "int")], per_sku),
        "per_k_out": Out([("k", "bigint"), ("actual", "decimal(20,2)"), ("rows", "bigint"),
                          ("matched", "bigint")], per_k),
    }


@reference
def prune_join_count_only(case: str) -> dict[str, Out]:
    codes = [d["code"] for d in source(case, "depts") if d["code"] is not None]
    placed = sum(codes.count(s["dept_code"]) for s in source(case, "staff") if s["dept_code"] is not None)
    return {"headcount_out": Out([("placed", "bigint")], [{"placed": placed}])}


# ---------------------------------------------------------------------------------------------


def sinks_of(case: str) -> list[str]:
    document = json.loads((CASES / case / "pipeline.json").read_text())
    return [n["id"] for n in document["nodes"] if n["type"].startswith("sink.")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="only these cases (default: all)")
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args()
    folders = sorted(p.name for p in CASES.iterdir() if (p / "pipeline.json").exists())
    missing = sorted(set(folders) - set(REFERENCES))
    unknown = sorted(set(REFERENCES) - set(folders))
    if missing or unknown:
        print(f"cases without a reference: {missing}; references without a case: {unknown}", file=sys.stderr)
        return 1
    stale = []
    for case in args.cases or folders:
        outputs = REFERENCES[case](case)
        if sorted(outputs) != sorted(sinks_of(case)):
            print(f"{case}: reference outputs {sorted(outputs)} != sinks {sorted(sinks_of(case))}", file=sys.stderr)
            return 1
        for sink_id, out in outputs.items():
            path = CASES / case / "expected" / f"{sink_id}.json"
            text = dump(out.document())
            if args.check:
                if not path.exists() or path.read_text(encoding="utf-8") != text:
                    stale.append(str(path.relative_to(HERE)))
            else:
                path.parent.mkdir(exist_ok=True)
                path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run make_expected.py):\n  " + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
