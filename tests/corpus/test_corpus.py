"""The compiler's correctness corpus: every case runs for real on Spark and on Flink (batch), and
each sink's rows must equal the expected rows computed independently (make_expected.py).

- `test_corpus_is_well_formed` / `test_case_validates_and_infers_expected_schema`: cheap, no engine.
- `test_case_on_engine[spark-<case>]` (marked spark) and `[flink-<case>]` (marked flink).
A case the back end cannot compile fails with the compiler's message: nothing is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import compiler
from tests.corpus.engines import FlinkRun
from tests.corpus.harness import Case, check_outputs, copy_case, load_cases

pytestmark = pytest.mark.corpus

ENGINES = ("spark", "flink")
CASES = load_cases()
TYPE = re.compile(r"string|boolean|int|bigint|float|double|date|timestamp|binary|decimal\(\d+,\d+\)|array<string>")


def _ids(case: Case) -> str:
    return case.name


def test_corpus_is_well_formed() -> None:
    """At least 44 cases; each names itself, writes every sink to output/<sink_id>, and has an
    expected file for exactly its sinks, with columns of known types."""
    assert len(CASES) >= 44
    problems = []
    for case in CASES:
        if case.document.get("name") != case.name:
            problems.append(f"{case.name}: document name {case.document.get('name')!r}")
        for sink_id in case.sink_ids:
            config = case.sink(sink_id)["config"]
            if config.get("path") != f"output/{sink_id}":
                problems.append(f"{case.name}: sink {sink_id} writes {config.get('path')!r}, not output/{sink_id}")
        if sorted(case.expected) != sorted(case.sink_ids):
            problems.append(f"{case.name}: expected files {sorted(case.expected)} != sinks {sorted(case.sink_ids)}")
        for sink_id, expected in case.expected.items():
            bad = [t for t in expected.types if not TYPE.fullmatch(t)]
            if bad:
                problems.append(f"{case.name}/{sink_id}: unknown column types {bad}")
            if any(len(row) != len(expected.columns) for row in expected.rows):
                problems.append(f"{case.name}/{sink_id}: a row's length differs from the columns'")
    assert not problems, "\n".join(problems)


def _parquet_without_schema(case: Case) -> bool:
    return any(
        n["type"] == "source.file" and n["config"].get("format") == "parquet" and "schema" not in n["config"]
        for n in case.document["nodes"]
    )


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_case_validates_and_infers_expected_schema(case: Case) -> None:
    """The document is valid without an engine, and the front end's inferred schema of each sink's
    input is the expected output's columns (names and types, in order)."""
    result = compiler.validate(case.document, parameters=case.parameters)
    assert not result.errors, "\n".join(f"{d.path}: {d.message}" for d in result.errors)
    problems = []
    for sink_id, expected in sorted(case.expected.items()):
        node, port = case.upstream(sink_id)
        fields = result.schemas.get(node, {}).get(port)
        if fields is None:
            if _parquet_without_schema(case):
                # Columns come from the files at run time; the front end must say it cannot check them.
                assert any("not known" in w.message or "parquet" in w.message for w in result.warnings)
                continue
            problems.append(f"[{sink_id}] no schema inferred for {node}.{port}")
            continue
        inferred = [(f.name, f.type) for f in fields]
        if inferred != expected.columns:
            problems.append(f"[{sink_id}] inferred {inferred}\n   expected {expected.columns}")
    assert not problems, "\n".join(problems)


def _engine_params() -> list[Any]:
    return [
        pytest.param(engine, case, id=f"{engine}-{case.name}", marks=getattr(pytest.mark, engine))
        for engine in ENGINES
        for case in CASES
    ]


@pytest.mark.parametrize(("engine", "case"), _engine_params())
def test_case_on_engine(engine: str, case: Case, request: pytest.FixtureRequest, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    if engine == "spark":
        workdir = _run_on_spark(case, request.getfixturevalue("corpus_spark"), tmp_path, monkeypatch)
    else:
        run: FlinkRun = request.getfixturevalue("flink_run")
        workdir, failure = run.result(case.name)
        if failure:
            pytest.fail(failure, pytrace=False)
        assert workdir is not None
    problems = check_outputs(case, workdir)
    if problems:
        pytest.fail(f"{engine} output of {case.name} differs from the expected rows:\n" + "\n".join(problems),
                    pytrace=False)  # fmt: skip


def _run_on_spark(case: Case, spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    job, failure = None, ""
    try:
        job = compiler.compile_pipeline(
            case.document, engine="spark", parameters=case.parameters, data_dir=str(case.folder)
        )
    except compiler.CompileError as error:
        failure = "\n".join(f"{d.path}: {d.message}" for d in error.result.errors)
    if job is None:
        pytest.fail(f"the spark back end did not compile the pipeline:\n{failure}", pytrace=False)
    workdir = copy_case(case, tmp_path / case.name)
    (workdir / "job.py").write_text(job.code, encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "generated_job"}
    exec(compile(job.code, str(workdir / "job.py"), "exec"), namespace)  # noqa: S102
    monkeypatch.chdir(workdir)
    try:
        namespace["build"](spark)
    except Exception as error:  # noqa: BLE001 - show the engine's message, not a JVM stack
        failure = f"{type(error).__name__}: " + "\n".join(str(error).strip().splitlines()[:15])
    if failure:
        pytest.fail(f"the spark job failed: {failure}", pytrace=False)
    return workdir
