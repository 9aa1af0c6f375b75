"""runners.jobs.run_job with small synthetic jobs (real processes, no Spark): output, metrics,
timeouts, a killed job, cancel reaching the whole process group, and the reaper's kill."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

from runners.jobs import JobSpec, kill_job_processes, run_job
from runners.output import LogLine, NodeMetric, Output, QualityResult
from runners.reaper import process_alive


def spec(tmp_path: Path, code: str) -> JobSpec:
    return JobSpec(code=textwrap.dedent(code), workdir=tmp_path / "run", data_dir=tmp_path / "data",
                   python=sys.executable, env={"STUDIO_RUN_KEY": "t1"})


class Collector:
    def __init__(self) -> None:
        self.items: list[Output] = []

    def __call__(self, batch: list[Output]) -> None:
        self.items.extend(batch)

    @property
    def texts(self) -> list[str]:
        return [item.text for item in self.items if isinstance(item, LogLine)]


def test_metrics_are_parsed_out_of_the_output_and_not_logged(tmp_path: Path) -> None:
    out = Collector()
    pids: list[int] = []
    result = run_job(spec(tmp_path, """
        import json
        print("reading")
        print("STUDIO_METRIC " + json.dumps({"node": "orders", "port": "out", "rows": 4, "duration_ms": 12}))
        print("STUDIO_METRIC " + json.dumps({"node": "check", "rule": "positive", "passed": 3, "failed": 1}))
        print("STUDIO_LOG " + json.dumps({"level": "warning", "message": "one row rejected"}))
        print("done")
    """), on_output=out, on_start=pids.append)
    assert result.succeeded and result.error == ""
    assert out.texts == ["reading", "one row rejected", "done"]
    assert NodeMetric(node="orders", port="out", rows=4, duration_ms=12) in out.items
    assert QualityResult(node="check", rule="positive", passed=3, failed=1) in out.items
    assert [item.level for item in out.items if isinstance(item, LogLine)] == ["info", "warning", "info"]
    assert len(pids) == 1 and not process_alive(pids[0])


def test_a_failing_job_reports_its_exception_and_last_lines(tmp_path: Path) -> None:
    result = run_job(spec(tmp_path, """
        for i in range(30):
            print(f"step {i}")
        raise ValueError("the input has no header")
    """), on_output=Collector())
    assert not result.succeeded and result.returncode == 1
    headline, _, rest = result.error.partition("\n")
    assert headline == "ValueError: the input has no header"
    assert "step 29" in rest and "step 10" not in rest  # the last lines, not the whole log


def test_a_job_killed_by_sigkill_fails_with_the_signal_and_its_last_lines(tmp_path: Path) -> None:
    pids: list[int] = []

    def kill_soon(pid: int) -> None:
        pids.append(pid)
        threading.Timer(1.0, os.kill, (pid, signal.SIGKILL)).start()

    result = run_job(spec(tmp_path, """
        import time
        print("loaded 1000 rows")
        print("writing partition 3")
        time.sleep(60)
    """), on_output=Collector(), on_start=kill_soon)
    assert result.returncode == -signal.SIGKILL and not result.cancelled
    assert result.error.startswith("The job was killed by signal SIGKILL.")
    assert "loaded 1000 rows\nwriting partition 3" in result.error


def test_a_timeout_stops_the_job_and_says_so(tmp_path: Path) -> None:
    out = Collector()
    started = time.monotonic()
    result = run_job(spec(tmp_path, "import time\nprint('working')\ntime.sleep(60)\n"), on_output=out, timeout=1)
    assert result.timed_out and not result.succeeded
    assert result.error.startswith("The run timed out after 1 s")
    assert any("longer than its timeout of 1 s" in text for text in out.texts)
    assert time.monotonic() - started < 4


def test_cancel_kills_the_whole_group_even_when_the_job_ignores_sigterm(tmp_path: Path) -> None:
    child_pid = tmp_path / "child.pid"
    cancel_at = time.monotonic() + 1.0
    result = run_job(spec(tmp_path, f"""
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                                  "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
        open({str(child_pid)!r}, "w").write(str(child.pid))
        print("started a child that ignores SIGTERM too", flush=True)
        time.sleep(60)
    """), on_output=Collector(), should_cancel=lambda: time.monotonic() > cancel_at)
    stopped_after = time.monotonic() - cancel_at
    assert result.cancelled and result.returncode == -signal.SIGKILL
    assert stopped_after < 5, stopped_after
    pid = int(child_pid.read_text())
    deadline = time.monotonic() + 2
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(pid)


def test_a_cancelled_job_whose_own_process_has_gone_has_its_group_killed_at_once(tmp_path: Path) -> None:
    # A Spark job cancelled as it starts: its Python process dies on SIGTERM, the JVM it is starting
    # holds SIGTERM back and keeps the output open. Waiting for it would eat the 5 s a cancel has.
    cancel_at = time.monotonic() + 1.0
    result = run_job(spec(tmp_path, """
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import signal, time; "
                          "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
        print("started a child that ignores SIGTERM", flush=True)
        time.sleep(60)
    """), on_output=Collector(), should_cancel=lambda: time.monotonic() > cancel_at)
    stopped_after = time.monotonic() - cancel_at
    assert result.cancelled and result.returncode == -signal.SIGTERM
    assert stopped_after < 1, stopped_after  # not the 2 s the output is given to drain, nor the grace


def test_the_reaper_kills_only_processes_carrying_the_run_key(tmp_path: Path) -> None:
    def start(key: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True,
                                env={**os.environ, "STUDIO_RUN_KEY": key})

    ours, other = start("41"), start("414")
    try:
        time.sleep(0.2)
        assert kill_job_processes(other.pid, marker="STUDIO_RUN_KEY=41") == 0  # same prefix, other run
        assert kill_job_processes(ours.pid, marker="STUDIO_RUN_KEY=41") == 1
        assert ours.wait(timeout=5) == -signal.SIGKILL
        assert other.poll() is None
    finally:
        for process in (ours, other):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_a_graceful_stop_signals_only_the_job_which_stops_its_children_itself(tmp_path: Path) -> None:
    """A streaming deployment's job: `before_stop` runs first, then SIGTERM reaches the job's own
    process only (its JVM, here a child, lives on until the job has finished its batch and stopped
    it), and supervision (heartbeats) goes on while it stops."""
    marker = tmp_path / "before-stop"
    asked = threading.Event()
    calls_after_the_stop: list[int] = []

    def should_cancel() -> bool:
        if asked.is_set():
            calls_after_the_stop.append(1)
        return asked.is_set()

    def on_start(pid: int) -> None:
        threading.Timer(1.5, asked.set).start()

    job = replace(spec(tmp_path, f"""
        import os, signal, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import signal, sys, time; "
            "signal.signal(signal.SIGTERM, lambda *_: (print('child got SIGTERM', flush=True), sys.exit(3))); "
            "time.sleep(60)"])
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(os.path.exists({str(marker)!r})))
        print("batch 0", flush=True)
        while not stop:
            time.sleep(0.05)
        print(f"stopping after the batch (before_stop ran first: {{stop[0]}})", flush=True)
        time.sleep(1)  # the rest of the micro-batch
        child.kill()
        print(f"child ended with {{child.wait()}}", flush=True)
    """), graceful_stop=True, stop_grace=20)
    out = Collector()
    result = run_job(job, on_output=out, should_cancel=should_cancel, on_start=on_start,
                     before_stop=lambda: marker.write_text("done"))
    assert result.cancelled and result.returncode == 0
    assert "stopping after the batch (before_stop ran first: True)" in out.texts
    assert "child got SIGTERM" not in out.texts and "child ended with -9" in out.texts
    assert len(calls_after_the_stop) >= 3  # still supervised (heartbeats) while it stopped
