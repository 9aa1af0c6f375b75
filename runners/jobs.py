"""Launch a generated job as a process of its own and supervise it.

Shared by the Celery runner and the `run_pipeline` command, so a headless run and a run from the
browser execute the same way.
"""
from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["JobResult", "JobSpec", "run_job"]

# How long a job gets to stop after SIGTERM before its process group is killed.
STOP_GRACE_SECONDS = 5.0
FLUSH_SECONDS = 0.2
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit)\b.*)$")


@dataclass(frozen=True)
class JobSpec:
    code: str
    workdir: Path  # where the job file is written
    data_dir: Path  # the job's working directory: relative paths in the pipeline resolve here
    python: str  # the interpreter that runs the job (the main venv for Spark, .venv-flink for Flink)
    env: dict[str, str]


@dataclass(frozen=True)
class JobResult:
    returncode: int
    cancelled: bool
    error: str  # "" on success; otherwise the job's own last exception line where there is one

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and not self.cancelled


def _reader(stream: object, lines: queue.Queue[str | None]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        lines.put(line)
    lines.put(None)


def _error_from(tail: list[str], returncode: int) -> str:
    for line in reversed(tail):
        match = _EXCEPTION_LINE.match(line.strip())
        if match:
            return match.group(1)
    if returncode < 0:
        return f"The job was killed by signal {signal.Signals(-returncode).name}."
    return f"The job exited with code {returncode}."


def run_job(
    spec: JobSpec,
    *,
    on_lines: Callable[[list[str]], None],
    should_cancel: Callable[[], bool] = lambda: False,
    timeout: float | None = None,
) -> JobResult:
    """Run the job to its end, passing its output lines on in batches; stop it when asked."""
    spec.workdir.mkdir(parents=True, exist_ok=True)
    spec.data_dir.mkdir(parents=True, exist_ok=True)
    job_file = spec.workdir / "job.py"
    job_file.write_text(spec.code)
    env = {**os.environ, **spec.env, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [spec.python, str(job_file)],
        cwd=spec.data_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group, so a cancel reaches the JVM too
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    started = time.monotonic()
    tail: list[str] = []
    cancelled = False
    stop_deadline: float | None = None
    done = False
    while not done:
        batch: list[str] = []
        deadline = time.monotonic() + FLUSH_SECONDS
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                done = True
                break
            batch.append(line.rstrip("\n"))
        if batch:
            on_lines(batch)
            tail = (tail + batch)[-50:]
        timed_out = timeout is not None and time.monotonic() - started > timeout
        if stop_deadline is None and (should_cancel() or timed_out):
            cancelled = True
            if timed_out:
                on_lines([f"The run took longer than its timeout of {timeout:.0f} s; stopping it."])
            _signal_group(process, signal.SIGTERM)
            stop_deadline = time.monotonic() + STOP_GRACE_SECONDS
        if stop_deadline is not None and time.monotonic() > stop_deadline:
            # Kill the whole group even if the job's own process has gone: a JVM it started may
            # still hold the output pipe open.
            _signal_group(process, signal.SIGKILL)
            stop_deadline = float("inf")
    returncode = process.wait()
    error = "" if returncode == 0 and not cancelled else _error_from(tail, returncode)
    return JobResult(returncode=returncode, cancelled=cancelled, error=error)


def _signal_group(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
