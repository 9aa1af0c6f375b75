"""Launch a generated job as a process of its own and supervise it.

Shared by the Celery runner and the `run_pipeline` command, so a headless run and a run from the
browser execute the same way. Pure Python: no Django here.
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
from dataclasses import dataclass, field
from pathlib import Path

from runners.output import LogLine, Output, parse_line

__all__ = ["STOP_GRACE_SECONDS", "JobResult", "JobSpec", "kill_job_processes", "run_job"]

# How long a job gets to stop after SIGTERM before its process group is killed. Short enough that a
# cancel settles within 5 s; a Spark driver's shutdown hooks need about a second.
STOP_GRACE_SECONDS = 3.0
FLUSH_SECONDS = 0.2
# After the job's own process exits, how long its children may keep the output pipe open.
EXIT_DRAIN_SECONDS = 2.0
TAIL_LINES = 10  # lines of output quoted in a failed run's error
_SEARCH_LINES = 50  # lines searched for the job's own exception
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit)\b.*)$")


@dataclass(frozen=True)
class JobSpec:
    code: str
    workdir: Path  # where the job file is written
    data_dir: Path  # the job's working directory: relative paths in the pipeline resolve here
    python: str  # the interpreter that runs the job (the main venv for Spark, .venv-flink for Flink)
    env: dict[str, str]
    # How it is stopped (cancel, timeout, a stopping worker): SIGTERM to its whole process group,
    # then SIGKILL after `stop_grace` seconds. A job that stops gracefully by itself (a streaming
    # job finishing its micro-batch) gets SIGTERM on its own process only, so the JVM it started
    # lives on until the job has stopped it.
    graceful_stop: bool = False
    stop_grace: float = STOP_GRACE_SECONDS


@dataclass(frozen=True)
class JobResult:
    returncode: int
    cancelled: bool  # stopped because `should_cancel` said so
    error: str  # "" on success; otherwise why it failed, then the last lines of its output
    timed_out: bool = False  # stopped because it ran longer than its timeout
    tail: tuple[str, ...] = field(default=())

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and not self.cancelled and not self.timed_out


def _reader(stream: object, lines: queue.Queue[str | None]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        lines.put(line)
    lines.put(None)


def _error_from(tail: list[str], returncode: int, timeout: float | None, timed_out: bool) -> str:
    if timed_out:
        headline = f"The run timed out after {timeout:g} s and was stopped."
    elif returncode < 0:
        headline = f"The job was killed by signal {signal.Signals(-returncode).name}."
    else:
        found = (m.group(1) for line in reversed(tail) if (m := _EXCEPTION_LINE.match(line.strip())))
        headline = next(found, f"The job exited with code {returncode}.")
    if not tail:
        return headline + " It printed nothing."
    return headline + "\n\nLast lines of its output:\n" + "\n".join(tail[-TAIL_LINES:])


def run_job(
    spec: JobSpec,
    *,
    on_output: Callable[[list[Output]], None],
    should_cancel: Callable[[], bool] = lambda: False,
    timeout: float | None = None,
    on_start: Callable[[int], None] | None = None,
    before_stop: Callable[[], None] | None = None,
) -> JobResult:
    """Run the job to its end, passing its output on in batches; stop it when asked or timed out.

    The job runs in a process group of its own (its pid is the group id, passed to `on_start`), so
    stopping it reaches a JVM it started too. `should_cancel` is called several times a second for
    as long as the job runs (also while it stops). `before_stop` runs first when the job is stopped,
    in a thread of its own (e.g. to cancel the job on a cluster through the cluster's API).
    """
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
    try:
        return _supervise(process, spec, on_output=on_output, should_cancel=should_cancel, timeout=timeout,
                          on_start=on_start, before_stop=before_stop)
    finally:
        # Whatever happened in here (a callback raising included), no process of the job outlives it.
        if process.poll() is None:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _supervise(
    process: subprocess.Popen[str],
    spec: JobSpec,
    *,
    on_output: Callable[[list[Output]], None],
    should_cancel: Callable[[], bool],
    timeout: float | None,
    on_start: Callable[[int], None] | None,
    before_stop: Callable[[], None] | None,
) -> JobResult:
    if on_start is not None:
        on_start(process.pid)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    started = time.monotonic()
    tail: list[str] = []
    cancelled = timed_out = False
    stop_deadline: float | None = None
    stopper: threading.Thread | None = None
    stop_by = 0.0  # when the job must have stopped (it is killed then)
    stop_problems: list[str] = []  # from the thread that stops the job, logged from here
    exited_at: float | None = None
    done = False
    while not done:
        batch: list[Output] = []
        deadline = time.monotonic() + FLUSH_SECONDS
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                done = True
                break
            batch.append(parse_line(line))
        if batch:
            on_output(batch)
            tail = (tail + [item.text for item in batch if isinstance(item, LogLine)])[-_SEARCH_LINES:]
        asked_to_stop = should_cancel()  # called every time round: it may heartbeat too
        if stop_deadline is None:
            if timeout is not None and time.monotonic() - started > timeout:
                timed_out = True
                on_output([LogLine(f"The run took longer than its timeout of {timeout:g} s; stopping it.", "error")])
            elif asked_to_stop:
                cancelled = True
            if cancelled or timed_out:
                stop_deadline = stop_by = time.monotonic() + spec.stop_grace
                stopper = threading.Thread(target=_stop, args=(process, spec, before_stop, stop_problems), daemon=True)
                stopper.start()
        if stop_problems:
            on_output([LogLine(stop_problems.pop(0), "warning")])
        if stop_deadline is not None and time.monotonic() > stop_deadline:
            # Kill the whole group even if the job's own process has gone: a JVM it started may
            # still hold the output pipe open.
            _signal_group(process, signal.SIGKILL)
            stop_deadline = float("inf")
        if exited_at is None and process.poll() is not None:
            exited_at = time.monotonic()
            if stop_deadline is not None and not spec.graceful_stop:
                # Stopped, and its own process has gone: what it started has nothing left to finish.
                # A JVM that is still starting holds SIGTERM back until it is up, seconds later.
                _signal_group(process, signal.SIGKILL)
        if not done and exited_at is not None and time.monotonic() - exited_at > EXIT_DRAIN_SECONDS:
            # The job's process is gone but something it started holds the pipe: stop that too.
            _signal_group(process, signal.SIGKILL)
            if time.monotonic() - exited_at > EXIT_DRAIN_SECONDS * 2:
                break  # a descendant that left the group keeps the pipe; stop reading it
    returncode = process.wait()
    if stopper is not None:
        # What stops the job through its engine (a savepoint, a cancel on a cluster) may still be
        # at work after the job's own process has gone: the run is settled once it is done.
        stopper.join(timeout=max(0.0, stop_by - time.monotonic()))
        if stop_problems:
            on_output([LogLine(problem, "warning") for problem in stop_problems])
    if returncode == 0 and not cancelled and not timed_out:
        error = ""
    else:
        error = _error_from(tail, returncode, timeout, timed_out)
    return JobResult(returncode=returncode, cancelled=cancelled, error=error, timed_out=timed_out,
                     tail=tuple(tail[-TAIL_LINES:]))


def _stop(
    process: subprocess.Popen[str],
    spec: JobSpec,
    before_stop: Callable[[], None] | None,
    problems: list[str],
) -> None:
    if before_stop is not None:
        try:
            before_stop()
        except Exception as error:  # noqa: BLE001 - the signals below still stop the job here
            problems.append(f"Could not stop the job through its engine: {error}")
    if not spec.graceful_stop:
        _signal_group(process, signal.SIGTERM)
    elif process.poll() is None:
        process.send_signal(signal.SIGTERM)


def _signal_group(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_job_processes(pgid: int, *, marker: str) -> int:
    """SIGKILL the processes of a job's group that carry `marker` (`NAME=value`) in their environment.

    Used by the reaper for a job whose worker died: the environment check makes sure a group id
    reused by an unrelated program since is left alone. Returns how many processes were killed.
    """
    needle = b"\0" + marker.encode() + b"\0"
    killed = 0
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # Fields after the command name (which may contain spaces) in parentheses: state, ppid, pgrp.
            pgrp = int(stat.rsplit(")", 1)[1].split()[2])
            if pgrp != pgid or needle not in b"\0" + (entry / "environ").read_bytes():
                continue
            os.kill(int(entry.name), signal.SIGKILL)
            killed += 1
        except (OSError, IndexError, ValueError):
            continue  # gone in the meantime, or not ours to read
    return killed
