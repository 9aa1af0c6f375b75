"""Fixtures for the connector tests: one dev Kafka broker per session, temporary Iceberg catalogs.

Tests that run Spark in-process use the test session's one SparkSession (tests/conftest.py), whose
Python workers inherit the environment of the JVM, fixed when it started: they share its catalog
and give each test its own namespace. Tests that run jobs as subprocesses get a catalog of their
own per test.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lakehouse import Lakehouse

REPO = Path(__file__).resolve().parents[2]


def _with_repo_on_path(env: dict[str, str]) -> dict[str, str]:
    paths = [str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


@pytest.fixture(scope="session")
def kafka_broker(kafka_address_file: Path) -> Iterator[str]:
    """The dev broker (runners/devbroker.py) in its own process; yields its address file (the one the
    test session's Spark workers were told about, tests/conftest.py)."""
    folder = kafka_address_file.parent
    address_file = kafka_address_file
    log = open(folder / "broker.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "runners.devbroker", str(address_file)],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=_with_repo_on_path(dict(os.environ)),
    )
    deadline = time.monotonic() + 30
    while not address_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the dev broker did not start: {(folder / 'broker.log').read_text()}")
        time.sleep(0.05)
    previous = os.environ.get("STUDIO_KAFKA_BOOTSTRAP_FILE")
    os.environ["STUDIO_KAFKA_BOOTSTRAP_FILE"] = str(address_file)
    os.environ.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    try:
        yield str(address_file)
    finally:
        if previous is None:
            os.environ.pop("STUDIO_KAFKA_BOOTSTRAP_FILE", None)
        else:
            os.environ["STUDIO_KAFKA_BOOTSTRAP_FILE"] = previous
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def bootstrap(kafka_broker: str) -> str:
    return Path(kafka_broker).read_text().strip()


@pytest.fixture
def topic() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def lakehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lakehouse:
    """A catalog + warehouse of this test's own (for in-process pyiceberg code and subprocesses)."""
    house = Lakehouse(tmp_path / "lakehouse")
    for key, value in house.env().items():
        monkeypatch.setenv(key, value)
    return house


@pytest.fixture
def job_env(kafka_broker: str, lakehouse: Lakehouse) -> dict[str, str]:
    """The environment a job subprocess gets from the runner: broker, catalog, interpreters, path."""
    env = _with_repo_on_path(dict(os.environ))
    env.update(lakehouse.env())
    env["STUDIO_KAFKA_BOOTSTRAP_FILE"] = kafka_broker
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    return env


@pytest.fixture(scope="module")
def module_lakehouse(spark_lakehouse: Lakehouse) -> Iterator[Lakehouse]:
    """The test session's Spark lakehouse (tests/conftest.py), exported for this module's in-process
    pyiceberg code; each test gives its tables a namespace of its own."""
    saved = {key: os.environ.get(key) for key in spark_lakehouse.env()}
    spark_lakehouse.export()
    try:
        yield spark_lakehouse
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def namespace() -> str:
    return f"ns_{uuid.uuid4().hex[:10]}"
