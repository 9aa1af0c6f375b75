"""`compile_pipeline` and `run_pipeline` as a person runs them: real processes, real exit codes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.studio.documents import ORDERS_CSV, filter_pipeline

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, var_dir: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STUDIO_VAR_DIR": str(var_dir), "STUDIO_DATA_DIR": str(var_dir / "data")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def write(path: Path, document: Any) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_compile_prints_the_generated_job(tmp_path: Path) -> None:
    result = manage("compile_pipeline", write(tmp_path / "p.json", filter_pipeline()), "--engine", "spark",
                    "--param", "min_amount=7.5", var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "def build(spark" in result.stdout
    assert "7.5" in result.stdout
    checked = manage("compile_pipeline", str(tmp_path / "p.json"), "--check", var_dir=tmp_path)
    assert checked.returncode == 0 and checked.stdout == ""


def test_compile_reports_every_error_and_exits_non_zero(tmp_path: Path) -> None:
    document = filter_pipeline()
    document["nodes"][1]["config"]["condition"] = "amout > 1"
    document["nodes"][2]["config"]["format"] = "xlsx"
    result = manage("compile_pipeline", write(tmp_path / "p.json", document), var_dir=tmp_path)
    assert result.returncode != 0
    assert "$.nodes[1].config.condition" in result.stderr
    assert "$.nodes[2].config.format" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_files_and_bad_params_are_sentences(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{nope")
    broken = manage("compile_pipeline", str(tmp_path / "broken.json"), var_dir=tmp_path)
    assert broken.returncode != 0 and "is not valid JSON" in broken.stderr
    missing = manage("compile_pipeline", str(tmp_path / "missing.json"), var_dir=tmp_path)
    assert missing.returncode != 0 and "Cannot read" in missing.stderr
    bad = manage("compile_pipeline", write(tmp_path / "p.json", filter_pipeline()), "--param", "oops", var_dir=tmp_path)
    assert bad.returncode != 0 and "NAME=VALUE" in bad.stderr


@pytest.mark.spark
def test_run_pipeline_runs_on_spark_and_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "data" / "in").mkdir(parents=True)
    (tmp_path / "data" / "in" / "orders.csv").write_text(ORDERS_CSV)
    ok = manage("run_pipeline", write(tmp_path / "p.json", filter_pipeline()), "--param", "min_amount=100",
                var_dir=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "The run succeeded." in ok.stdout
    rows = pq.read_table(tmp_path / "data" / "out" / "big").to_pylist()
    assert sorted(row["order_id"] for row in rows) == [2, 4]

    document = filter_pipeline()
    document["nodes"][0]["config"]["path"] = "in/nowhere.csv"
    failed = manage("run_pipeline", write(tmp_path / "bad.json", document), var_dir=tmp_path)
    assert failed.returncode != 0
    assert "The run failed" in failed.stderr and "nowhere.csv" in failed.stderr
