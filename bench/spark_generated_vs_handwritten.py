"""Generated PySpark vs hand-written idiomatic PySpark on TPC-H-like Q1 and Q3 (see tpch_data.py).

For each query the studio's pipeline document is compiled with `compiler.compile_pipeline` and the
generated job file is run the way the runner runs it (job_timing.py: `runners.engines.job_spec` +
`runners.jobs.run_job`). The hand-written job does the same work with the DataFrame API as a person
would write it, in a job file run the same way, with the same session configuration as the
generated `main()` (checked). Repetitions alternate (ABBA) so drift in machine load hits both
alike; afterwards both results are compared.

Prints, per query, the median wall and CPU time of each job, the ratio generated / hand-written,
and the ratio net of starting and stopping Spark (an empty job with the same session, measured in
the same run). Target: generated within 5% of hand-written.

    .venv/bin/python bench/spark_generated_vs_handwritten.py [--rows 6000000] [--repeat 3]
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

# The session the generated main() creates (checked against the generated code in main()).
SESSION = '''
def session(name: str) -> SparkSession:
    return (
        SparkSession.builder.appName(name)
        .master(os.environ.get("SPARK_MASTER", "local[*]"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "true")
        .getOrCreate()
    )
'''

HEAD = '''import os

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
''' + SESSION

HANDWRITTEN = {
    "q1": HEAD + '''

def main() -> None:
    spark = session("tpch_q1")
    try:
        lineitem = spark.read.parquet(os.path.abspath("lineitem"))
        disc_price = F.col("l_extendedprice") * (1 - F.col("l_discount"))
        (
            lineitem.where(F.col("l_shipdate") <= F.lit("1998-09-02").cast("date"))
            .groupBy("l_returnflag", "l_linestatus")
            .agg(
                F.sum("l_quantity").alias("sum_qty"),
                F.sum("l_extendedprice").alias("sum_base_price"),
                F.sum(disc_price).alias("sum_disc_price"),
                F.sum(disc_price * (1 + F.col("l_tax"))).alias("sum_charge"),
                F.avg("l_quantity").alias("avg_qty"),
                F.avg("l_extendedprice").alias("avg_price"),
                F.avg("l_discount").alias("avg_disc"),
                F.count(F.lit(1)).alias("count_order"),
            )
            .orderBy("l_returnflag", "l_linestatus")
            .write.mode("overwrite").option("header", True).csv(os.path.abspath("out/hand_q1"))
        )
    finally:
        spark.stop()


main()
''',
    "q3": HEAD + '''

def main() -> None:
    spark = session("tpch_q3")
    try:
        customer = spark.read.parquet(os.path.abspath("customer")).where(F.col("c_mktsegment") == "BUILDING")
        orders = spark.read.parquet(os.path.abspath("orders")).where(
            F.col("o_orderdate") < F.lit("1995-03-15").cast("date")
        )
        lineitem = spark.read.parquet(os.path.abspath("lineitem")).where(
            F.col("l_shipdate") > F.lit("1995-03-15").cast("date")
        )
        (
            customer.join(orders, F.col("c_custkey") == F.col("o_custkey"))
            .join(lineitem, F.col("o_orderkey") == F.col("l_orderkey"))
            .groupBy("l_orderkey", "o_orderdate", "o_shippriority")
            .agg(F.sum(F.col("l_extendedprice") * (1 - F.col("l_discount"))).alias("revenue"))
            .orderBy(F.col("revenue").desc(), F.col("o_orderdate"))
            .limit(10)
            .write.mode("overwrite").option("header", True).csv(os.path.abspath("out/hand_q3"))
        )
    finally:
        spark.stop()


main()
''',
}

STARTUP = HEAD + '''

spark = session("startup")
spark.range(1).collect()
spark.stop()
'''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=6_000_000, help="lineitem rows (orders: 1/4, customers: 1/40)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each job")
    parser.add_argument("--queries", default="q1,q3")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    started = time.perf_counter()
    data_dir = tpch_data.ensure_tables(args.rows, "parquet")
    print(f"data: {data_dir} ({args.rows:,} lineitem rows; ready in {time.perf_counter() - started:.0f} s)")
    job_timing.configure(data_dir)
    documents = {"q1": tpch_data.q1_document, "q3": tpch_data.q3_document}
    jobs: dict[str, dict[str, str]] = {}
    for query in args.queries.split(","):
        code = compiler.compile_pipeline(documents[query]("parquet", f"out/gen_{query}"), engine="spark").code
        missing = [line.strip() for line in SESSION.splitlines() if ".config(" in line and line.strip() not in code]
        if missing:
            raise SystemExit(f"the generated session differs from the hand-written one: {missing}")
        jobs[query] = {"generated": code, "hand-written": HANDWRITTEN[query]}

    def check(query: str) -> None:
        generated = job_timing.read_rows(data_dir / "out" / f"gen_{query}", header=True)
        if generated != job_timing.read_rows(data_dir / "out" / f"hand_{query}", header=True):
            raise SystemExit(f"{query}: the generated and hand-written jobs wrote different results")

    job_timing.compare("spark", jobs, STARTUP, repeat=args.repeat, timeout=args.timeout, check=check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
