"""Generated Flink jobs run for real: every case below is compiled, written to its own folder and
run by ONE `.venv-flink` process (tests/compiler/flink_driver.py: one JVM, one batch and one
streaming TableEnvironment shared by all jobs, as a long-lived runner would). Outputs are read
back with pyarrow, csv and json in the main venv, never through the compiler.

The expected values are Spark 4's (the studio's semantics), worked out by hand and marked where
Flink on its own would give something else.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compiler import compile_pipeline

pytestmark = pytest.mark.flink

REPO = Path(__file__).resolve().parents[2]
FLINK_PYTHON = REPO / ".venv-flink" / "bin" / "python"
DRIVER = Path(__file__).resolve().parent / "flink_driver.py"
T = dt.datetime


@dataclass
class Case:
    document: dict[str, Any]
    files: dict[str, str | bytes | Callable[[Path], None]]
    parameters: dict[str, object] | None = None
    folder: str = ""  # share a working folder with an earlier case (append, overwrite)
    stop_after: float | None = None


CASES: dict[str, Case] = {}


def case(name: str, document: dict[str, Any], files: dict[str, Any] | None = None, **options: Any) -> None:
    CASES[name] = Case(document, files or {}, **options)


def pipeline(name: str, nodes: list[dict[str, Any]], edges: list[tuple[str, str]], mode: str = "batch") -> dict[str, Any]:
    """A document; edges as ("a", "b") or ("a:port", "b:port")."""

    def end(text: str, default: str) -> dict[str, str]:
        node, _, port = text.partition(":")
        return {"node": node, "port": port or default}

    return {
        "format": "studio.pipeline/v1",
        "name": name,
        "mode": mode,
        "nodes": nodes,
        "edges": [{"from": end(a, "out"), "to": end(b, "in")} for a, b in edges],
    }


def csv_source(node_id: str, path: str, schema: list[tuple[str, str]], **config: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "source.file",
        "config": {"path": path, "format": "csv", "schema": [{"name": n, "type": t} for n, t in schema], **config},
    }


def sink(node_id: str, path: str, file_format: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "sink.file", "config": {"path": path, "format": file_format, **config}}


# ---------------------------------------------------------------------------------------------
# The cases


VALUES_CSV = (
    "id,a,b,d,m,s,ts,day,flag\n"
    "1,7,2,2.25,1.25,hello,2026-05-17 10:11:12.25,2026-05-17,true\n"
    "2,-7,3,0.125,-1.25,a\U0001f600b,2026-01-01T00:00:00,2026-01-01,false\n"
)
VALUES_SCHEMA = [
    ("id", "int"), ("a", "int"), ("b", "int"), ("d", "double"), ("m", "decimal(5,2)"), ("s", "string"),
    ("ts", "timestamp"), ("day", "date"), ("flag", "boolean"),
]  # fmt: skip
EXPRESSIONS = {
    "int_div": "a / b",
    "int_mod": "a % b",
    "round_2": "round(d, 2)",
    "round_1": "round(d, 1)",
    "round_dec": "round(m, 1)",
    "sub_neg": "substring(s, -3, 2)",
    "len": "length(s)",
    "rx_none": "regexp_extract(s, '([0-9]+)', 1)",
    "rx_group": "regexp_extract(s, 'h(el)', 1)",
    "week": "date_trunc('week', ts)",
    "month": "date_trunc('mm', day)",
    "diff": "datediff(day, date_add(day, -3))",
    "plus": "day + 1",
    "ts_text": "CAST(ts AS string)",
    "flag_text": "CAST(flag AS string)",
    "secs": "CAST(ts AS bigint)",
    "cat_null": "concat(s, CAST(NULL AS string))",
    "like_": "s LIKE 'h%o'",
    "like_escape": "concat(s, '%') LIKE 'hello\\\\%'",
    "up": "upper(s)",
    "trimmed": "trim(concat(' ', s, ' '))",
    "parsed_date": "to_date('17/05/2026', 'dd/MM/yyyy')",
    "parsed_ts": "to_timestamp(concat(CAST(day AS string), ' 08:30'), 'yyyy-MM-dd HH:mm')",
    "hr": "hour(ts)",
    "sign": "CASE WHEN a > 0 THEN 'pos' WHEN a < 0 THEN 'neg' END",
    "coal": "coalesce(CAST(NULL AS int), a, 0)",
    "null_if": "nullif(a, 7)",
    "dec_mul": "m * 2",
    "dec_div": "m / 3",
    "btw": "a BETWEEN 0 AND 10",
    "in_list": "b IN (2, 5)",
    "null_safe": "a <=> 7",
}
case(
    "semantics",
    pipeline(
        "semantics",
        [
            csv_source("vals", "input/values.csv", VALUES_SCHEMA),
            {
                "id": "calc",
                "type": "transform.derive",
                "config": {"columns": [{"name": k, "expression": v} for k, v in EXPRESSIONS.items()]},
            },
            {
                "id": "stats",
                "type": "transform.aggregate",
                "config": {
                    "aggregations": [
                        {"name": "n", "function": "count"},
                        {"name": "avg_a", "function": "avg", "column": "a"},
                        {"name": "sum_b", "function": "sum", "column": "b"},
                        {"name": "avg_m", "function": "avg", "column": "m"},
                        {"name": "sum_m", "function": "sum", "column": "m"},
                        {"name": "kinds", "function": "count_distinct", "column": "s"},
                        {"name": "last_day", "function": "max", "column": "day"},
                    ]
                },
            },
            {
                "id": "days",
                "type": "transform.window_aggregate",
                "config": {
                    "time_column": "day",
                    "window": {"type": "tumbling", "size": "1 day"},
                    "aggregations": [{"name": "n", "function": "count"}],
                },
            },
            sink("calc_out", "out/calc", "parquet"),
            sink("stats_out", "out/stats", "parquet"),
            sink("days_out", "out/days", "parquet"),
        ],
        [
            ("vals", "calc"), ("calc", "calc_out"), ("vals", "stats"), ("stats", "stats_out"), ("vals", "days"),
            ("days", "days_out"),
        ],
    ),
    {"input/values.csv": VALUES_CSV},
)

SALES_CSV = (
    "id,region,amount,at,note\n"
    "1,north,10.50,2026-01-01 10:00:00,plain\n"
    '2,south,,2026-01-01 11:30:00.250,"has, comma"\n'
    '3,,7.25,,"say ""hi"""\n'
    "4,north,0.10,2026-01-02 00:00:00, padded \n"
)
SALES = csv_source(
    "sales",
    "input/sales.csv",
    [("id", "int"), ("region", "string"), ("amount", "decimal(10,2)"), ("at", "timestamp"), ("note", "string")],
)
case(
    "sinks",
    pipeline(
        "sinks",
        [
            SALES,
            sink("as_csv", "out/csv", "csv"),
            sink("as_json", "out/json", "json"),
            sink("by_region", "out/by_region", "parquet", partition_by=["region"]),
        ],
        [("sales", "as_csv"), ("sales", "as_json"), ("sales", "by_region")],
    ),
    {"input/sales.csv": SALES_CSV},
)
APPEND = pipeline(
    "append",
    [SALES, {"id": "few", "type": "transform.filter", "config": {"condition": "id <= 2"}}, sink("log", "out/log", "json", mode="append")],
    [("sales", "few"), ("few", "log")],
)
case("append_first", APPEND, {"input/sales.csv": SALES_CSV})
case("append_second", APPEND, folder="append_first")
OVERWRITE = pipeline(
    "overwrite", [SALES, sink("log", "out/log", "json", mode="overwrite")], [("sales", "log")]
)
case("overwrite_after_append", OVERWRITE, folder="append_first")

case(
    "quality_fail",
    pipeline(
        "quality_fail",
        [
            SALES,
            {
                "id": "checks",
                "type": "transform.quality",
                "config": {
                    "rules": [
                        {"name": "has_amount", "expression": "amount IS NOT NULL", "on_fail": "warn"},
                        {"name": "known_region", "expression": "region IS NOT NULL", "on_fail": "fail"},
                    ]
                },
            },
            sink("good", "out/good", "csv"),
        ],
        [("sales", "checks"), ("checks", "good")],
    ),
    {"input/sales.csv": SALES_CSV},
)
case(
    "quality_alert",
    pipeline(
        "quality_alert",
        [
            SALES,
            {
                "id": "checks",
                "type": "transform.quality",
                "config": {
                    "rules": [
                        {"name": "has_amount", "expression": "amount IS NOT NULL", "on_fail": "drop"},
                        {"name": "known_region", "expression": "region IS NOT NULL", "on_fail": "quarantine"},
                        {"name": "small", "expression": "amount < 10", "on_fail": "warn"},
                    ]
                },
            },
            sink("good", "out/good", "json"),
            sink("bad", "out/bad", "parquet"),
            {
                "id": "big",
                "type": "sink.alert",
                "config": {"condition": "amount > 5", "message": "Sale {id} in {region}: {amount} {{EUR}}", "severity": "info"},
            },
        ],
        [("sales", "checks"), ("checks:out", "good"), ("checks:rejected", "bad"), ("checks:out", "big")],
    ),
    {"input/sales.csv": SALES_CSV},
)
case(
    "divide_by_zero",
    pipeline(
        "divide_by_zero",
        [
            csv_source("nums", "input/nums.csv", [("x", "double"), ("y", "double")]),
            {"id": "ratio", "type": "transform.derive", "config": {"columns": [{"name": "r", "expression": "x / y"}]}},
            sink("ratios", "out/ratios", "json"),
        ],
        [("nums", "ratio"), ("ratio", "ratios")],
    ),
    {"input/nums.csv": "x,y\n1.0,2.0\n,0\n3.0,0.0\n"},
)
case(
    "header_mismatch",
    pipeline(
        "header_mismatch",
        [csv_source("rows", "input/rows.csv", [("id", "int"), ("name", "string")]), sink("copy", "out/copy", "json")],
        [("rows", "copy")],
    ),
    {"input/rows.csv": "id,label\n1,a\n"},
)
case(
    "globs",
    pipeline(
        "globs",
        [
            csv_source("parts", "input/d*/part-{a,b}.csv", [("id", "int")], options={"header": False}),
            sink("ids", "out/ids", "csv"),
        ],
        [("parts", "ids")],
    ),
    {
        "input/d1/part-a.csv": "1\n2\n",
        "input/d2/part-b.csv": "3\n",
        "input/d2/part-c.csv": "99\n",
        "input/d3/.part-a.csv": "98\n",
        "input/other/part-a.csv": "97\n",
    },
)


def _write_parquet(folder: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "price": pa.array([Decimal("1.50"), None, Decimal("0.0000001")], pa.decimal128(12, 7)),
            "at": pa.array([T(2026, 1, 1, 10, 0, 0, 123456), None, T(1969, 12, 31, 23, 59, 59)], pa.timestamp("us", tz="UTC")),
            "day": pa.array([dt.date(2026, 1, 1), None, dt.date(2000, 2, 29)], pa.date32()),
            "ratio": pa.array([0.1, float("nan"), None], pa.float64()),
            "text": pa.array(["line\nbreak", "", None], pa.string()),
            "raw": pa.array([b"\x00\xff", None, b""], pa.binary()),
            "ok": pa.array([True, False, None], pa.bool_()),
        }
    )
    (folder / "input").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "input" / "typed.parquet")


PARQUET_SCHEMA = [
    ("id", "bigint"), ("price", "decimal(12,7)"), ("at", "timestamp"), ("day", "date"), ("ratio", "double"),
    ("text", "string"), ("raw", "binary"), ("ok", "boolean"),
]  # fmt: skip
case(
    "parquet_round_trip",
    pipeline(
        "parquet_round_trip",
        [
            {
                "id": "typed",
                "type": "source.file",
                "config": {
                    "path": "input/*.parquet",
                    "format": "parquet",
                    "schema": [{"name": n, "type": t} for n, t in PARQUET_SCHEMA],
                },
            },
            sink("copy", "out/copy", "parquet"),
        ],
        [("typed", "copy")],
    ),
    {"input": _write_parquet},
)
case(
    "joins",
    pipeline(
        "joins",
        [
            csv_source("orders", "input/orders.csv", [("oid", "int"), ("cid", "int"), ("amount", "int")]),
            csv_source("limits", "input/limits.csv", [("cid", "int"), ("cap", "int")]),
            {
                "id": "within",
                "type": "transform.join",
                "config": {"how": "semi", "on": [{"left": "cid", "right": "cid"}], "condition": "amount <= cap"},
            },
            {
                "id": "over",
                "type": "transform.join",
                "config": {"how": "anti", "on": [{"left": "cid", "right": "cid"}], "condition": "amount <= cap"},
            },
            {
                "id": "report",
                "type": "transform.sql",
                "config": {
                    "query": "SELECT o.cid, count(*) AS n, sum(o.amount) AS total, avg(o.amount) AS mean "
                    "FROM orders o LEFT SEMI JOIN limits l ON o.cid = l.cid GROUP BY o.cid ORDER BY total DESC"
                },
            },
            sink("within_out", "out/within", "json"),
            sink("over_out", "out/over", "json"),
            sink("report_out", "out/report", "csv"),
        ],
        [
            ("orders", "within:left"), ("limits", "within:right"), ("orders", "over:left"), ("limits", "over:right"),
            ("orders", "report"), ("limits", "report"), ("within", "within_out"), ("over", "over_out"),
            ("report", "report_out"),
        ],
    ),
    {
        "input/orders.csv": "oid,cid,amount\n1,1,5\n2,1,50\n3,2,5\n4,,5\n5,3,1\n5,3,1\n",
        "input/limits.csv": "cid,cap\n1,10\n1,20\n2,1\n",
    },
)
STREAM_SOURCE = csv_source(
    "clicks",
    "input/clicks",
    [("user", "string"), ("at", "timestamp"), ("n", "int")],
    streaming=True,
)
case(
    "streaming",
    pipeline(
        "streaming",
        [
            STREAM_SOURCE,
            {"id": "real", "type": "transform.filter", "config": {"condition": "n > 0"}},
            {"id": "tagged", "type": "transform.derive", "config": {"columns": [{"name": "twice", "expression": "n * 2"}]}},
            {
                "id": "per_minute",
                "type": "transform.window_aggregate",
                "config": {
                    "time_column": "at",
                    "window": {"type": "tumbling", "size": "1 minute"},
                    "watermark": "5 seconds",
                    "group_by": ["user"],
                    "aggregations": [{"name": "clicks", "function": "sum", "column": "n"}],
                },
            },
            sink("rows_out", "out/rows", "json"),
            sink("windows_out", "out/windows", "json"),
        ],
        [("clicks", "real"), ("real", "tagged"), ("tagged", "rows_out"), ("real", "per_minute"), ("per_minute", "windows_out")],
        mode="streaming",
    ),
    {
        "input/clicks/a.csv": "user,at,n\nann,2026-01-01 10:00:05,1\nbob,2026-01-01 10:00:30,2\nann,2026-01-01 10:00:59.5,0\n",
        # A later file moves the watermark past the first minute, so its window is written.
        "input/clicks/b.csv": "user,at,n\nann,2026-01-01 10:01:10,3\nbob,2026-01-01 10:05:00,1\n",
    },
    stop_after=25,
)


# ---------------------------------------------------------------------------------------------
# Running them: one driver process for all


@dataclass
class Result:
    folder: Path
    ok: bool
    error: str
    stdout: str
    code: str
    seconds: float = 0.0
    metrics: list[dict[str, Any]] = field(default_factory=list)

    def metric_lines(self, prefix: str) -> list[dict[str, Any]]:
        return [json.loads(line[len(prefix) + 1 :]) for line in self.stdout.splitlines() if line.startswith(prefix + " ")]


@pytest.fixture(scope="module")
def flink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Result]]:
    root = tmp_path_factory.mktemp("flink-jobs")
    manifest: dict[str, dict[str, Any]] = {}
    codes: dict[str, str] = {}
    folders: dict[str, Path] = {}
    for name, spec in CASES.items():
        folder = folders[spec.folder] if spec.folder else root / name
        folders[name] = folder
        folder.mkdir(parents=True, exist_ok=True)
        for path, content in spec.files.items():
            target = folder / path
            if callable(content):
                content(folder)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        job = compile_pipeline(spec.document, engine="flink", parameters=spec.parameters)
        codes[name] = job.code
        job_file = root / f"{name}.py"
        job_file.write_text(job.code, encoding="utf-8")
        streaming = spec.document.get("mode") == "streaming"
        manifest[name] = {"job_file": str(job_file), "workdir": str(folder), "streaming": streaming,
                          "stop_after": spec.stop_after}  # fmt: skip
    (root / "manifest.json").write_text(json.dumps({"cases": manifest}, indent=2), encoding="utf-8")
    env = {**os.environ, "TZ": "Asia/Kolkata"}  # results must not depend on the machine's zone
    completed = subprocess.run(
        [str(FLINK_PYTHON), str(DRIVER), str(root / "manifest.json"), str(root / "results.json")],
        cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert (root / "results.json").exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    reported = json.loads((root / "results.json").read_text(encoding="utf-8"))
    yield {
        name: Result(folders[name], r["ok"], r["error"], r["stdout"], codes[name], r["seconds"])
        for name, r in reported.items()
    }


def ran(flink: dict[str, Result], name: str) -> Result:
    result = flink[name]
    assert result.ok, f"the {name} job failed:\n{result.error}"
    return result


def parquet_rows(folder: Path) -> list[dict[str, Any]]:
    files = sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))
    rows = []
    for path in files:
        for row in pq.read_table(path, partitioning=None).to_pylist():
            rows.append({k: v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for k, v in row.items()})
    return rows


def json_rows(folder: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")):
            continue
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return rows


def csv_files(folder: Path) -> list[list[list[str]]]:
    return [
        list(csv.reader(path.open(newline="", encoding="utf-8")))
        for path in sorted(folder.iterdir())
        if not path.name.startswith((".", "_"))
    ]


# ---------------------------------------------------------------------------------------------
# The checks


def test_expressions_follow_spark_semantics(flink: dict[str, Result]) -> None:
    result = ran(flink, "semantics")
    rows = sorted(parquet_rows(result.folder / "out/calc"), key=lambda r: r["id"])
    first, second = ({k: r[k] for k in EXPRESSIONS} for r in rows)
    assert first == {
        "int_div": 3.5,  # Flink alone: 3 (INT)
        "int_mod": 1,
        "round_2": 2.25,
        "round_1": 2.3,  # half-up on the double's decimal text
        "round_dec": Decimal("1.3"),
        "sub_neg": "ll",
        "len": 5,
        "rx_none": "",  # Flink alone: NULL
        "rx_group": "el",
        "week": T(2026, 5, 11),  # Monday; Flink's FLOOR(... TO WEEK) gives Sunday 2026-05-17
        "month": T(2026, 5, 1),
        "diff": 3,
        "plus": dt.date(2026, 5, 18),
        "ts_text": "2026-05-17 10:11:12.25",  # Flink alone: 2026-05-17 10:11:12.250000
        "flag_text": "true",  # Flink alone: TRUE
        "secs": int(T(2026, 5, 17, 10, 11, 12, tzinfo=dt.UTC).timestamp()),
        "cat_null": None,
        "like_": True,
        "like_escape": True,  # Spark's LIKE escapes with a backslash
        "up": "HELLO",
        "trimmed": "hello",
        "parsed_date": dt.date(2026, 5, 17),
        "parsed_ts": T(2026, 5, 17, 8, 30),
        "hr": 10,
        "sign": "pos",
        "coal": 7,
        "null_if": None,
        "dec_mul": Decimal("2.50"),
        "dec_div": Decimal("0.416667"),
        "btw": True,
        "in_list": True,
        "null_safe": True,
    }
    assert second["int_div"] == pytest.approx(-7 / 3)
    assert {k: second[k] for k in ("int_mod", "round_2", "round_1", "round_dec", "sub_neg", "len", "rx_group")} == {
        "int_mod": -1, "round_2": 0.13, "round_1": 0.1, "round_dec": Decimal("-1.3"), "sub_neg": "a\U0001f600",
        "len": 3, "rx_group": "",
    }  # fmt: skip
    assert (second["week"], second["ts_text"], second["flag_text"], second["dec_div"]) == (
        T(2025, 12, 29), "2026-01-01 00:00:00", "false", Decimal("-0.416667")
    )
    schema = pq.read_schema(next((result.folder / "out/calc").glob("*.parquet")))
    assert {f.name: str(f.type) for f in schema if f.name in ("int_div", "round_dec", "dec_mul", "dec_div", "secs")} == {
        "int_div": "double", "round_dec": "decimal128(5, 1)", "dec_mul": "decimal128(7, 2)",
        "dec_div": "decimal128(9, 6)", "secs": "int64",
    }  # fmt: skip
    assert parquet_rows(result.folder / "out/stats") == [
        {"n": 2, "avg_a": 0.0, "sum_b": 5, "avg_m": Decimal("0.000000"), "sum_m": Decimal("0.00"), "kinds": 2,
         "last_day": dt.date(2026, 5, 17)}
    ]  # fmt: skip
    # Windows over a date column (batch): the date's midnight.
    assert sorted((r["window_start"], r["window_end"], r["n"]) for r in parquet_rows(result.folder / "out/days")) == [
        (T(2026, 1, 1), T(2026, 1, 2), 1),
        (T(2026, 5, 17), T(2026, 5, 18), 1),
    ]
    stats = pq.read_schema(next((result.folder / "out/stats").glob("*.parquet")))
    assert [str(f.type) for f in stats] == ["int64", "double", "int64", "decimal128(9, 6)", "decimal128(15, 2)",
                                            "int64", "date32[day]"]  # fmt: skip


def test_sinks_write_what_spark_writes(flink: dict[str, Result]) -> None:
    result = ran(flink, "sinks")
    files = [rows for rows in csv_files(result.folder / "out/csv") if rows]
    assert all(rows[0] == ["id", "region", "amount", "at", "note"] for rows in files)  # a header per file
    assert sorted(row for rows in files for row in rows[1:]) == [
        ["1", "north", "10.50", "2026-01-01 10:00:00.000", "plain"],
        ["2", "south", "", "2026-01-01 11:30:00.250", "has, comma"],
        ["3", "", "7.25", "", 'say "hi"'],
        ["4", "north", "0.10", "2026-01-02 00:00:00.000", " padded "],
    ]
    assert all(p.suffix == ".csv" for p in (result.folder / "out/csv").iterdir())
    assert sorted(json_rows(result.folder / "out/json"), key=lambda r: r["id"])[:3] == [
        {"id": 1, "region": "north", "amount": 10.5, "at": "2026-01-01 10:00:00.000", "note": "plain"},
        {"id": 2, "region": "south", "at": "2026-01-01 11:30:00.250", "note": "has, comma"},  # NULLs left out
        {"id": 3, "amount": 7.25, "note": 'say "hi"'},
    ]
    partitions = sorted(p.name for p in (result.folder / "out/by_region").iterdir())
    assert partitions == ["region=__HIVE_DEFAULT_PARTITION__", "region=north", "region=south"]
    north = pq.read_table(next((result.folder / "out/by_region/region=north").glob("*.parquet")))
    assert north.column_names == ["id", "amount", "at", "note"]
    assert sorted(north.column("id").to_pylist()) == [1, 4]
    assert not [p for p in (result.folder / "out").iterdir() if p.name.startswith(".")], "staging left behind"


def test_append_adds_files_and_overwrite_replaces_them(flink: dict[str, Result]) -> None:
    for name in ("append_first", "append_second", "overwrite_after_append"):
        ran(flink, name)
    # Each run counted its rows: 2, 2, then 4 after the overwrite.
    assert [r["rows"] for r in flink["append_second"].metric_lines("STUDIO_METRIC") if r.get("node") == "log"] == [2]
    assert sorted(r["id"] for r in json_rows(flink["append_first"].folder / "out/log")) == [1, 2, 3, 4]


def test_quality_fail_rule_stops_the_run_before_anything_is_written(flink: dict[str, Result]) -> None:
    result = flink["quality_fail"]
    assert not result.ok
    assert "QualityCheckError: Node 'checks': rule 'known_region' failed for 1 row (on_fail: fail)" in result.error
    assert not (result.folder / "out/good").exists()
    metrics = result.metric_lines("STUDIO_METRIC")
    assert {"node": "checks", "rule": "has_amount", "passed": 3, "failed": 1} in metrics
    assert {"node": "checks", "rule": "known_region", "passed": 3, "failed": 1} in metrics


def test_quality_outputs_metrics_and_alerts(flink: dict[str, Result]) -> None:
    result = ran(flink, "quality_alert")
    assert sorted(r["id"] for r in json_rows(result.folder / "out/good")) == [1, 4]
    assert parquet_rows(result.folder / "out/bad") == [
        {"id": 3, "region": None, "amount": Decimal("7.25"), "at": None, "note": 'say "hi"', "_failed_rules": ["known_region"]}
    ]
    metrics = result.metric_lines("STUDIO_METRIC")
    for expected in (
        {"node": "sales", "port": "out", "rows": 4},
        {"node": "checks", "port": "out", "rows": 2},
        {"node": "checks", "port": "rejected", "rows": 1},
        {"node": "checks", "rule": "small", "passed": 2, "failed": 2},
        {"node": "good", "port": "in", "rows": 2},
    ):
        assert expected in metrics
    assert result.metric_lines("STUDIO_ALERT") == [
        {"node": "big", "severity": "info", "message": "Sale 1 in north: 10.50 {EUR}"}
    ]


def test_division_by_zero_fails_the_job_as_in_spark_ansi(flink: dict[str, Result]) -> None:
    result = flink["divide_by_zero"]
    assert not result.ok
    assert "DIVIDE_BY_ZERO" in result.error
    assert not (result.folder / "out/ratios").exists()


def test_a_csv_header_that_does_not_match_the_schema_fails(flink: dict[str, Result]) -> None:
    result = flink["header_mismatch"]
    assert not result.ok
    assert "['id', 'label']" in result.error and "['id', 'name']" in result.error


def test_globs_read_matching_files_only(flink: dict[str, Result]) -> None:
    result = ran(flink, "globs")
    files = csv_files(result.folder / "out/ids")
    assert all(rows[0] == ["id"] for rows in files if rows)  # every part file has the header
    assert sorted(int(row[0]) for rows in files for row in rows[1:]) == [1, 2, 3]


def test_parquet_round_trip_keeps_every_type(flink: dict[str, Result]) -> None:
    result = ran(flink, "parquet_round_trip")
    table = pq.read_table(next((result.folder / "out/copy").glob("*.parquet")))
    assert [str(f.type) for f in table.schema] == [
        "int64", "decimal128(12, 7)", "timestamp[us, tz=UTC]", "date32[day]", "double", "string", "binary", "bool",
    ]  # fmt: skip
    rows = sorted(parquet_rows(result.folder / "out/copy"), key=lambda r: r["id"])
    assert rows[0] == {"id": 1, "price": Decimal("1.5000000"), "at": T(2026, 1, 1, 10, 0, 0, 123456),
                       "day": dt.date(2026, 1, 1), "ratio": 0.1, "text": "line\nbreak", "raw": b"\x00\xff",
                       "ok": True}  # fmt: skip
    assert rows[1]["text"] == "" and rows[1]["price"] is None and rows[1]["ratio"] != rows[1]["ratio"]  # NaN
    assert rows[2] == {"id": 3, "price": Decimal("0.0000001"), "at": T(1969, 12, 31, 23, 59, 59),
                       "day": dt.date(2000, 2, 29), "ratio": None, "text": None, "raw": b"", "ok": None}  # fmt: skip


def test_semi_anti_joins_with_conditions_and_sql(flink: dict[str, Result]) -> None:
    result = ran(flink, "joins")
    assert sorted(r["oid"] for r in json_rows(result.folder / "out/within")) == [1]
    # Anti join: no limit within the cap, NULL keys and customers without limits stay (duplicates too).
    assert sorted(r["oid"] for r in json_rows(result.folder / "out/over")) == [2, 3, 4, 5, 5]
    [report] = csv_files(result.folder / "out/report")
    assert report == [["cid", "n", "total", "mean"], ["1", "2", "55", "27.5"], ["2", "1", "5", "5.0"]]


def test_streaming_file_source_filter_derive_and_windows(flink: dict[str, Result]) -> None:
    result = ran(flink, "streaming")
    rows = sorted((r["user"], r["at"], r["twice"]) for r in json_rows(result.folder / "out/rows"))
    assert rows == [
        ("ann", "2026-01-01 10:00:05.000", 2),
        ("ann", "2026-01-01 10:01:10.000", 6),
        ("bob", "2026-01-01 10:00:30.000", 4),
        ("bob", "2026-01-01 10:05:00.000", 2),
    ]
    windows = sorted((r["window_start"], r["user"], r["clicks"]) for r in json_rows(result.folder / "out/windows"))
    # Windows up to the watermark (10:05:00 - 5 s) are written; the last minute is still open.
    assert windows == [
        ("2026-01-01 10:00:00.000", "ann", 1),
        ("2026-01-01 10:00:00.000", "bob", 2),
        ("2026-01-01 10:01:00.000", "ann", 3),
    ]
    # Rows per node port, counted per window of processing time while the job ran (header lines
    # are not rows); batches added up as the run page does.
    per_batch = {(m["node"], m["port"], m["batch"]): m["rows"] for m in result.metric_lines("STUDIO_METRIC")}
    totals: dict[tuple[str, str], int] = {}
    for (node, port, _), rows in per_batch.items():
        totals[(node, port)] = totals.get((node, port), 0) + rows
    assert totals == {("clicks", "out"): 5, ("real", "out"): 4, ("tagged", "out"): 4, ("rows_out", "in"): 4,
                      ("per_minute", "out"): 3, ("windows_out", "in"): 3}  # fmt: skip


def test_jobs_with_the_same_names_share_one_environment(flink: dict[str, Result]) -> None:
    """Same pipeline names and node ids in several jobs never collide in the shared environment."""
    assert flink["append_first"].ok and flink["append_second"].ok
    assert "def build(t_env: TableEnvironment) -> None:" in flink["sinks"].code
