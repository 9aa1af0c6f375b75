"""Run compiled corpus jobs on Flink: one JVM, one batch TableEnvironment, every case in turn.

Runs from the Flink virtual environment (it imports only pyflink and the standard library):

    .venv-flink/bin/python tests/corpus/flink_driver.py MANIFEST.json RESULTS.json

MANIFEST: {"parallelism": 2, "cases": [{"name": "...", "dir": "/abs/case/folder", "job": "job.py"}]}
For each case the driver changes into its folder (the job's data folder, where relative paths
resolve), executes the generated module and calls its `build(t_env)`; when `build` returns
something with `wait()` (a TableResult) the driver waits for it. A failing case is recorded and
the next one runs. Temporary tables, views and functions a job registered are dropped after it, so
cases cannot see each other's names. RESULTS is rewritten after every case:
{"<case>": {"ok": bool, "error": str, "seconds": float}}.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

MAX_ERROR = 6000


def _error_text(error: BaseException, job: Path) -> str:
    """The failing line of the job, the Python exception, and the Java cause chain (no JVM stacks)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(job)]
    where = [f"  {job.name} line {f.lineno}, in {f.name}: {f.line}" for f in frames[-3:]]
    first = str(error).strip().splitlines()
    lines = [f"{type(error).__name__}: {first[0] if first else ''}"[:500], *where]
    causes: list[str] = []
    for line in "".join(traceback.format_exception(type(error), error, error.__traceback__)).splitlines():
        if line.startswith("Caused by: ") and line not in causes:
            causes.append(line)
    if causes:
        lines.append("Java cause chain (deepest last):")
        lines += [f"  {c.removeprefix('Caused by: ')[:500]}" for c in causes[-8:]]
    return "\n".join(lines)[-MAX_ERROR:]


def _clean(t_env: Any) -> None:
    """Forget what a case registered, so the next case starts from an empty namespace (best effort)."""
    for name in list(t_env.list_temporary_views()):
        with contextlib.suppress(Exception):
            t_env.drop_temporary_view(name)
    for name in list(t_env.list_temporary_tables()):
        with contextlib.suppress(Exception):
            t_env.drop_temporary_table(name)
    for name in list(t_env.list_user_defined_functions()):
        for drop in (t_env.drop_temporary_system_function, t_env.drop_temporary_function):
            with contextlib.suppress(Exception):
                drop(name)


def main() -> int:
    manifest_path, results_path = Path(sys.argv[1]), Path(sys.argv[2])
    manifest = json.loads(manifest_path.read_text())
    results: dict[str, dict[str, Any]] = {}

    def save() -> None:
        partial = results_path.with_suffix(".tmp")
        partial.write_text(json.dumps(results, indent=2))
        partial.replace(results_path)

    started = time.monotonic()
    from pyflink.table import EnvironmentSettings, TableEnvironment

    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    config = t_env.get_config()
    config.set("table.local-time-zone", "UTC")
    config.set("parallelism.default", str(manifest.get("parallelism", 2)))
    config.set("python.executable", sys.executable)
    config.set("python.client.executable", sys.executable)
    print(f"flink environment ready in {time.monotonic() - started:.1f} s", flush=True)

    for entry in manifest["cases"]:
        name = entry["name"]
        folder = Path(entry["dir"])
        began = time.monotonic()
        try:
            os.chdir(folder)
            path = folder / entry["job"]
            namespace: dict[str, Any] = {"__name__": "generated_job", "__file__": str(path)}
            exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102
            outcome = namespace["build"](t_env)
            if hasattr(outcome, "wait"):
                outcome.wait()
            results[name] = {"ok": True, "error": "", "seconds": round(time.monotonic() - began, 2)}
        except Exception as error:  # noqa: BLE001 - one failing case must not stop the others
            message = _error_text(error, folder / entry["job"])
            results[name] = {"ok": False, "error": message, "seconds": round(time.monotonic() - began, 2)}
        finally:
            _clean(t_env)
        print(f"{name}: {'ok' if results[name]['ok'] else 'FAILED'} in {results[name]['seconds']} s", flush=True)
        save()
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
