"""The studio's lakehouse connectors, in Python: no connector JAR is needed (or reachable).

Generated Spark jobs register the data sources and use them by name:

    from runners.connectors import StudioIcebergDataSource, StudioKafkaDataSource
    spark.dataSource.register(StudioKafkaDataSource)    # format "studio-kafka"
    spark.dataSource.register(StudioIcebergDataSource)  # format "studio-iceberg"

Flink jobs use the runner-side pieces instead: `kafka_bridge` (Kafka <-> folders, exactly once)
and `iceberg_commit` (staged files -> Iceberg, idempotently). Options and guarantees are in
README.md next to this file. Configuration comes from options and the environment only
(`KAFKA_BOOTSTRAP_SERVERS` or `STUDIO_KAFKA_BOOTSTRAP_FILE`, `ICEBERG_CATALOG_URI`,
`ICEBERG_WAREHOUSE`, `AWS_*`); nothing here imports Django or the studio.

Names are imported lazily, so `import runners.connectors` costs nothing and the Flink environment
(no pyspark, no pyiceberg) can import the modules it needs.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "StudioIcebergDataSource",
    "StudioKafkaDataSource",
    "kafka_bootstrap_servers",
    "load_catalog",
    "register_data_sources",
]

_LAZY = {
    "StudioKafkaDataSource": "runners.connectors.spark_kafka",
    "StudioIcebergDataSource": "runners.connectors.spark_iceberg",
    "load_catalog": "runners.connectors.config",
    "kafka_bootstrap_servers": "runners.connectors.config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runners.connectors' has no attribute '{name}'")
    return getattr(import_module(module), name)


# Spark hands a Python data source's writer Arrow batches of spark.sql.execution.arrow.maxRecordsPerBatch
# rows (default 10,000); at that size the exchange with the Python workers costs more than the writing.
ARROW_BATCH_ROWS = 100_000
_ARROW_BATCH_SETTING = "spark.sql.execution.arrow.maxRecordsPerBatch"


def register_data_sources(spark: Any) -> None:
    """Register `studio-kafka` and `studio-iceberg` on a Spark session, and give the session Arrow
    batches of ARROW_BATCH_ROWS rows unless it chose a size of its own."""
    spark.dataSource.register(__getattr__("StudioKafkaDataSource"))
    spark.dataSource.register(__getattr__("StudioIcebergDataSource"))
    if spark.conf.get(_ARROW_BATCH_SETTING, "10000") == "10000":
        spark.conf.set(_ARROW_BATCH_SETTING, str(ARROW_BATCH_ROWS))
