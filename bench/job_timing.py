"""Run job files the way the studio's runner does and time them side by side (the engine benchmarks).

Each job is written to a file and run by `runners.jobs.run_job` with the spec `runners.engines.
job_spec` gives it (its own process group, the runner's environment for the engine), using the
studio's settings with the job folders under var/bench and the benchmark's tables as data folder.
Wall time is measured around the run and CPU time of the whole process group (the job, its JVM,
the engine's Python workers) from /proc: on a shared machine CPU time moves far less than wall time.
"""
from __future__ import annotations

import csv
import math
import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

__all__ = ["Timing", "compare", "configure", "read_rows", "run", "same_rows"]

WORK = Path(__file__).resolve().parent.parent / "var" / "bench" / "runs"


def configure(data_dir: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    settings.STUDIO_RUNS_DIR = WORK
    settings.STUDIO_DATA_DIR = data_dir


class GroupCpu:
    """CPU seconds of a process group, from /proc every SAMPLE seconds while it runs."""

    SAMPLE = 0.2

    def __init__(self) -> None:
        self.used: dict[int, float] = {}
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, group: int) -> None:
        self._thread = threading.Thread(target=self._watch, args=(group,), daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        return sum(self.used.values())

    def _watch(self, group: int) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self._done.wait(self.SAMPLE):
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue  # gone meanwhile
                if int(fields[2]) == group:  # pgrp; utime and stime are fields 11 and 12 after it
                    self.used[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / tick


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    metrics: int  # STUDIO_METRIC lines printed


def run(engine: str, code: str, key: str, timeout: float) -> Timing:
    """Run one job file as the runner does; fails loudly with the job's last lines if it fails."""
    from runners.engines import job_spec
    from runners.jobs import run_job
    from runners.output import LogLine

    lines: list[str] = []
    metrics = 0

    def collect(batch: Sequence[object]) -> None:
        nonlocal metrics
        for item in batch:
            if isinstance(item, LogLine):
                lines.append(item.text)
            else:
                metrics += 1

    cpu = GroupCpu()
    started = time.perf_counter()
    try:
        result = run_job(job_spec(engine=engine, code=code, run_key=key), on_output=collect, timeout=timeout,
                         on_start=cpu.start)
    finally:
        used = cpu.stop()
    elapsed = time.perf_counter() - started
    if not result.succeeded:
        raise SystemExit(f"job {key} failed: {result.error}\n" + "\n".join(lines[-30:]))
    return Timing(elapsed, used, metrics)


def read_rows(folder: Path, header: bool) -> list[list[str]]:
    """The rows of the CSV files a job wrote into `folder` (hidden and marker files skipped)."""
    rows: list[list[str]] = []
    for part in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_"))):
        with part.open(newline="") as handle:
            rows.extend(list(csv.reader(handle))[1 if header else 0 :])
    return rows


def same_rows(a: list[list[str]], b: list[list[str]]) -> bool:
    """Equal row by row; numbers compare by value (engines print decimals with different scales)."""

    def same(x: str, y: str) -> bool:
        try:
            return math.isclose(float(x), float(y), rel_tol=1e-12, abs_tol=1e-6)
        except ValueError:
            return x == y

    return len(a) == len(b) and all(
        len(r) == len(s) and all(same(x, y) for x, y in zip(r, s)) for r, s in zip(a, b)
    )


def compare(
    engine: str,
    jobs: dict[str, dict[str, str]],
    startup: str,
    *,
    repeat: int,
    timeout: float,
    check: Callable[[str], None],
) -> None:
    """Time each query's jobs (`jobs[query][name]`: the generated job first, then the baseline),
    alternating ABBA, and print medians and ratios; `startup` is an empty job whose time is
    subtracted for the 'net' ratio; `check(query)` raises if the jobs' results differ."""
    starts = [run(engine, startup, "startup", timeout) for _ in range(repeat)]
    base = {"wall": statistics.median(t.wall for t in starts), "cpu": statistics.median(t.cpu for t in starts)}
    print(f"start and stop of the engine (an empty job, subtracted for 'net'): wall {base['wall']:.1f} s, "
          f"cpu {base['cpu']:.1f} s (medians of {repeat})")
    print(f"{'query':<6} {'measure':<8} {'generated':>10} {'baseline':>10} {'ratio':>7} {'net ratio':>9}")
    for query, variants in jobs.items():
        names = list(variants)
        runs: dict[str, list[Timing]] = {name: [] for name in names}
        for rep in range(repeat):
            for name in names if rep % 2 == 0 else reversed(names):
                runs[name].append(run(engine, variants[name], f"{query}-{name}", timeout))
        check(query)
        for measure in ("wall", "cpu"):
            generated, baseline = (statistics.median(getattr(t, measure) for t in runs[name]) for name in names)
            net = (generated - base[measure]) / (baseline - base[measure])
            print(f"{query:<6} {measure:<8} {generated:9.1f}s {baseline:9.1f}s {generated / baseline:7.3f} {net:9.3f}")
        for name in names:
            print(f"       {name} (wall/cpu s): " + ", ".join(f"{t.wall:.1f}/{t.cpu:.1f}" for t in runs[name]))
        print(f"       same results; the generated job printed {runs[names[0]][-1].metrics} STUDIO_METRIC lines")
