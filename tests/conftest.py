"""Shared fixtures: users, workspaces and API clients for the studio's tests."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.engines import JVM_TIME_ZONE
from tests.lakehouse import Lakehouse

REPO = Path(__file__).resolve().parent.parent

# Spark's Python workers must run the test interpreter, or they import nothing from the venv.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


# ---------------------------------------------------------------------------------------------
# One Spark session for the whole test process (compiler, connector and corpus tests).
#
# Spark's Python workers inherit the environment the JVM started with, so where they find the repo,
# the Iceberg catalog and the dev Kafka broker is fixed here, before the JVM starts: a lakehouse of
# the session's own (tests that use it give each table a namespace of its own) and the file the dev
# broker writes its address to when a test starts it (tests/connectors/conftest.py).


@pytest.fixture(scope="session")
def spark_lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    return Lakehouse(tmp_path_factory.mktemp("spark-lakehouse"))


@pytest.fixture(scope="session")
def kafka_address_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's dev Kafka broker writes its address (it starts only when a test asks)."""
    return tmp_path_factory.mktemp("kafka") / "bootstrap"


@pytest.fixture(scope="session")
def spark(spark_lakehouse: Lakehouse, kafka_address_file: Path) -> Iterator[Any]:
    """One local SparkSession (local[2], UTC session zone, UI off, 2 shuffle partitions), with the
    studio's connector data sources registered. Its JVM's default zone is not UTC (JVM_TIME_ZONE), so
    a job that leans on the machine's zone instead of the session's fails."""
    from pyspark.sql import SparkSession

    from runners.connectors import register_data_sources

    jvm_env = spark_lakehouse.env() | {
        "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])),
        "STUDIO_KAFKA_BOOTSTRAP_FILE": str(kafka_address_file),
    }
    saved = {key: os.environ.get(key) for key in jvm_env}
    os.environ.update(jvm_env)
    try:
        session = (
            SparkSession.builder.master("local[2]")
            .appName("studio-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.extraJavaOptions", f"-Duser.timezone={JVM_TIME_ZONE}")
            .getOrCreate()
        )
    finally:
        _restore(saved)
    session.sparkContext.setLogLevel("ERROR")
    register_data_sources(session)
    yield session
    for query in session.streams.active:
        query.stop()
    session.stop()


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
