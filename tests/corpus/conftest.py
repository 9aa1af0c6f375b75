"""Engines for the correctness corpus: one SparkSession for every Spark case, and one Flink JVM
(tests/corpus/flink_driver.py, from .venv-flink) that runs every Flink case.

The Flink run starts in the background as soon as the first corpus test runs (when Flink cases are
selected), so it overlaps the Spark cases; each Flink test then waits for the run and reads its
own result. Both JVMs run with a default time zone other than UTC (CORPUS_JVM_TIME_ZONE), so a job
that leans on the machine's zone instead of the studio's UTC session zone fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.corpus.engines import FlinkRun
from tests.corpus.harness import Case, load_cases

CASES: list[Case] = load_cases()


def corpus_items(session: pytest.Session, engine: str) -> list[str]:
    """Names of the cases selected for `engine` in this run (after -k / -m deselection)."""
    names = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec and item.module.__name__.endswith("test_corpus") and callspec.params.get("engine") == engine:
            names.append(callspec.params["case"].name)
    return names


# ---------------------------------------------------------------------------------------------
# Spark


@pytest.fixture(scope="session")
def corpus_spark(spark: Any) -> Any:
    """The test session's one SparkSession (tests/conftest.py)."""
    return spark


# ---------------------------------------------------------------------------------------------
# Flink


@pytest.fixture(scope="session")
def flink_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlinkRun]:
    selected = set(corpus_items(request.session, "flink"))
    run = FlinkRun(tmp_path_factory.mktemp("flink-corpus"), {c.name: c for c in CASES if c.name in selected})
    run.start()
    yield run
    run.stop()


@pytest.fixture(scope="session", autouse=True)
def _start_flink_early(request: pytest.FixtureRequest) -> None:
    """Start the Flink run with the first corpus test, so it overlaps the Spark cases."""
    if corpus_items(request.session, "flink"):
        request.getfixturevalue("flink_run")
