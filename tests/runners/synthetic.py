"""Synthetic jobs: small Python programs that stand in for generated Spark jobs in runner tests.

`fake_python(folder)` writes an "interpreter" that ignores the generated job it is given and runs
`synthetic_job.py` from its working directory (the data folder) instead, so a test drives the whole
runner (worker, supervision, metrics, reaper) with a job that takes a second instead of a JVM.
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["SYNTHETIC_JOB", "fake_python", "write_job"]

SYNTHETIC_JOB = "synthetic_job.py"


def fake_python(folder: Path) -> str:
    """An executable that runs `synthetic_job.py` from the current directory with the real Python."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fake-python"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" {SYNTHETIC_JOB} "$@"\n')
    path.chmod(0o755)
    return str(path)


def write_job(data_dir: Path, code: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / SYNTHETIC_JOB).write_text(code)
