"""Generated PyFlink job vs hand-written Flink SQL on TPC-H-like Q1 and Q3 (see tpch_data.py), batch mode.

For each query the studio's pipeline document (CSV sources) is compiled with
`compiler.compile_pipeline(engine="flink")` and the generated job file is run the way the runner
runs it (job_timing.py: `runners.engines.job_spec` + `runners.jobs.run_job`, the .venv-flink
interpreter, a local mini-cluster). The baseline is the TPC-H query text as a person writes it in
Flink SQL, over typed CSV tables, in a PyFlink job file run the same way with the same
configuration. Repetitions alternate (ABBA); afterwards both results are compared (numbers by
value: the studio gives Spark's decimal scales, Flink SQL its own).

Prints, per query, the median wall and CPU time of each job and the ratio generated / SQL, also net
of starting and stopping Flink (an empty job, measured in the same run). Flink reads CSV here (no
Parquet format in the pip package); 5,000,000 lineitem rows take a few minutes a job on two cores.

    .venv/bin/python bench/flink_generated_vs_sql.py [--rows 5000000] [--repeat 2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import compiler  # noqa: E402
import job_timing  # noqa: E402
import tpch_data  # noqa: E402

HEAD = '''import json
import os

from pyflink.common import Configuration
from pyflink.table import EnvironmentSettings, TableEnvironment

# The configuration the generated main() gives its TableEnvironment.
config = Configuration()
config.set_string("table.local-time-zone", "UTC")
for key, value in json.loads(os.environ.get("STUDIO_FLINK_CONFIG") or "{}").items():
    config.set_string(key, value)
t_env = TableEnvironment.create(EnvironmentSettings.new_instance().in_batch_mode().with_configuration(config).build())
'''

Q1 = """
INSERT INTO q1_result
SELECT
    l_returnflag,
    l_linestatus,
    SUM(l_quantity) AS sum_qty,
    SUM(l_extendedprice) AS sum_base_price,
    SUM(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
    SUM(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
    AVG(l_quantity) AS avg_qty,
    AVG(l_extendedprice) AS avg_price,
    AVG(l_discount) AS avg_disc,
    COUNT(*) AS count_order
FROM lineitem
WHERE l_shipdate <= DATE '1998-09-02'
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus
"""

Q3 = """
INSERT INTO q3_result
SELECT
    l_orderkey,
    SUM(l_extendedprice * (1 - l_discount)) AS revenue,
    o_orderdate,
    o_shippriority
FROM customer, orders, lineitem
WHERE c_mktsegment = 'BUILDING'
    AND c_custkey = o_custkey
    AND l_orderkey = o_orderkey
    AND o_orderdate < DATE '1995-03-15'
    AND l_shipdate > DATE '1995-03-15'
GROUP BY l_orderkey, o_orderdate, o_shippriority
ORDER BY revenue DESC, o_orderdate
LIMIT 10
"""

RESULTS = {
    "q1": [("l_returnflag", "STRING"), ("l_linestatus", "STRING"), ("sum_qty", "DECIMAL(38, 2)"),
           ("sum_base_price", "DECIMAL(38, 2)"), ("sum_disc_price", "DECIMAL(38, 4)"),
           ("sum_charge", "DECIMAL(38, 6)"), ("avg_qty", "DECIMAL(38, 6)"), ("avg_price", "DECIMAL(38, 6)"),
           ("avg_disc", "DECIMAL(38, 6)"), ("count_order", "BIGINT")],
    "q3": [("l_orderkey", "BIGINT"), ("revenue", "DECIMAL(38, 4)"), ("o_orderdate", "DATE"),
           ("o_shippriority", "INT")],
}  # fmt: skip
# The studio's result columns in the hand-written result's order (Q3 as TPC-H lists them).
STUDIO_ORDER = {"q1": list(range(10)), "q3": [0, 3, 1, 2]}

STARTUP = HEAD + """
t_env.execute_sql("SELECT 1").collect().close()
"""


def flink_type(studio_type: str) -> str:
    if studio_type.startswith("decimal("):
        precision, scale = studio_type[8:-1].split(",")
        return f"DECIMAL({precision}, {scale})"
    return {"bigint": "BIGINT", "int": "INT", "string": "STRING", "date": "DATE"}[studio_type]


def table(name: str, columns: list[tuple[str, str]], path: Path) -> str:
    fields = ",\n".join(f"    {column} {kind}" for column, kind in columns)
    return (f"CREATE TEMPORARY TABLE {name} (\n{fields}\n) WITH "
            f"('connector' = 'filesystem', 'path' = '{path}', 'format' = 'csv')")


def handwritten(query: str, data_dir: Path) -> str:
    tables = ["lineitem"] if query == "q1" else ["customer", "orders", "lineitem"]
    statements = [
        *(table(t, [(c, flink_type(k)) for c, k in tpch_data.SCHEMAS[t]], data_dir / t) for t in tables),
        table(f"{query}_result", RESULTS[query], data_dir / "out" / f"sql_{query}"),
    ]
    lines = [HEAD, "import shutil", f"shutil.rmtree({str(data_dir / 'out' / f'sql_{query}')!r}, ignore_errors=True)"]
    lines += [f"t_env.execute_sql({statement!r})" for statement in statements]
    lines.append(f"t_env.execute_sql({(Q1 if query == 'q1' else Q3)!r}).wait()")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000, help="lineitem rows (orders: 1/4, customers: 1/40)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each job")
    parser.add_argument("--queries", default="q1,q3")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    started = time.perf_counter()
    data_dir = tpch_data.ensure_tables(args.rows, "csv")
    print(f"data: {data_dir} ({args.rows:,} lineitem rows; ready in {time.perf_counter() - started:.0f} s)")
    job_timing.configure(data_dir)
    documents = {"q1": tpch_data.q1_document, "q3": tpch_data.q3_document}
    jobs = {
        query: {
            "generated": compiler.compile_pipeline(documents[query]("csv", f"out/gen_{query}"), engine="flink").code,
            "flink-sql": handwritten(query, data_dir),
        }
        for query in args.queries.split(",")
    }

    def check(query: str) -> None:
        generated = job_timing.read_rows(data_dir / "out" / f"gen_{query}", header=True)
        generated = [[row[i] for i in STUDIO_ORDER[query]] for row in generated]
        written = job_timing.read_rows(data_dir / "out" / f"sql_{query}", header=False)
        if not job_timing.same_rows(sorted(generated), sorted(written)):
            raise SystemExit(f"{query}: the generated job and the Flink SQL wrote different results")

    job_timing.compare("flink", jobs, STARTUP, repeat=args.repeat, timeout=args.timeout, check=check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
