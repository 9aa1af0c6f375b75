"""The Flink side of the corpus: compile the selected cases, run them all in one driver process
(tests/corpus/flink_driver.py, from .venv-flink), and hand each test its case's outcome."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.corpus.harness import Case, copy_case

__all__ = ["FLINK_CASE_TIMEOUT", "JVM_TIME_ZONE", "FlinkRun"]

REPO = Path(__file__).resolve().parents[2]
FLINK_PYTHON = Path(os.environ.get("CORPUS_FLINK_PYTHON", REPO / ".venv-flink" / "bin" / "python"))
FLINK_DRIVER = Path(__file__).resolve().parent / "flink_driver.py"
# A case that runs this long without finishing is taken as hung: the driver is stopped, the case
# fails with that reason and the cases after it fail as not run. No limit on the whole run, so a
# slow machine is slow rather than red.
FLINK_CASE_TIMEOUT = float(os.environ.get("CORPUS_FLINK_CASE_TIMEOUT", "600"))
FLINK_PARALLELISM = int(os.environ.get("CORPUS_FLINK_PARALLELISM", "2"))
# Not UTC, and not a whole-hour offset: any reliance on the JVM's zone shifts values visibly.
JVM_TIME_ZONE = os.environ.get("CORPUS_JVM_TIME_ZONE", "Asia/Kolkata")


@dataclass
class FlinkRun:
    """Compiles the selected cases for Flink, writes each job into a copy of its case folder and runs
    them all in one driver process; results are read per case."""

    root: Path
    cases: dict[str, Case]
    compile_errors: dict[str, str] = field(default_factory=dict)
    folders: dict[str, Path] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    order: list[str] = field(default_factory=list)
    results: dict[str, dict[str, Any]] | None = None
    hung: str | None = None

    @property
    def results_path(self) -> Path:
        return self.root / "results.json"

    @property
    def log_path(self) -> Path:
        return self.root / "driver.log"

    def start(self) -> None:
        from compiler import CompileError, compile_pipeline

        manifest = []
        for name, case in self.cases.items():
            try:
                job = compile_pipeline(
                    case.document, engine="flink", parameters=case.parameters, data_dir=str(case.folder)
                )
            except CompileError as error:
                self.compile_errors[name] = "\n".join(
                    f"{d.path}: {d.message}" for d in error.result.errors
                ) or str(error)
                continue
            folder = copy_case(case, self.root / name)
            (folder / "job.py").write_text(job.code, encoding="utf-8")
            self.folders[name] = folder
            manifest.append({"name": name, "dir": str(folder), "job": "job.py"})
        if not manifest:
            return
        manifest_path = self.root / "manifest.json"
        manifest_path.write_text(json.dumps({"parallelism": FLINK_PARALLELISM, "cases": manifest}, indent=2))
        self.order = [entry["name"] for entry in manifest]
        env = dict(os.environ)
        if JVM_TIME_ZONE:
            env["TZ"] = JVM_TIME_ZONE
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(FLINK_PYTHON), str(FLINK_DRIVER), str(manifest_path), str(self.results_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.root,
                start_new_session=True,  # its own process group: stopping it also stops its JVM
            )

    def _read_results(self) -> dict[str, dict[str, Any]]:
        # The driver replaces the file atomically after every case.
        return json.loads(self.results_path.read_text()) if self.results_path.exists() else {}

    def _finish(self) -> None:
        """Wait for the driver; stop it when one case runs longer than FLINK_CASE_TIMEOUT."""
        if self.results is not None:
            return
        if self.process is not None:
            done, progressed = -1, time.monotonic()
            while self.process.poll() is None:
                count = len(self._read_results())
                if count != done:
                    done, progressed = count, time.monotonic()
                elif time.monotonic() - progressed > FLINK_CASE_TIMEOUT:
                    self._kill()
                    self.hung = self.order[count] if count < len(self.order) else None
                    break
                time.sleep(0.5)
        self.results = self._read_results()

    def _log_tail(self, lines: int = 15) -> str:
        if not self.log_path.exists():
            return "(no driver log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def result(self, name: str) -> tuple[Path | None, str | None]:
        """(the case's working folder, None) when its job ran, else (None, why it did not)."""
        if name in self.compile_errors:
            return None, f"the flink back end did not compile the pipeline:\n{self.compile_errors[name]}"
        self._finish()
        assert self.results is not None
        outcome = self.results.get(name)
        if outcome is None:
            if self.hung == name:
                return None, (f"the flink job did not finish within {FLINK_CASE_TIMEOUT:.0f} s "
                              f"(CORPUS_FLINK_CASE_TIMEOUT); the driver was stopped. Driver log ({self.log_path}):\n"
                              f"{self._log_tail()}")  # fmt: skip
            if self.hung is not None:
                return None, f"not run: the flink driver was stopped because case '{self.hung}' hung"
            code = self.process.returncode if self.process is not None else None
            return None, (f"the flink driver exited (code {code}) before reporting this case. Driver log "
                          f"({self.log_path}):\n{self._log_tail()}")  # fmt: skip
        if not outcome["ok"]:
            return None, f"the flink job failed:\n{outcome['error']}"
        return self.folders[name], None

    def _kill(self) -> None:
        """Stop the driver and the JVM it started (the driver's own process group)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        self._kill()
