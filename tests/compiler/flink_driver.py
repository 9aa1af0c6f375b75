"""Run many generated Flink jobs in one JVM (one PyFlink process), for the compiler's Flink tests.

Runs from the Flink virtual environment, importing only PyFlink and the standard library:

    .venv-flink/bin/python tests/compiler/flink_driver.py MANIFEST.json RESULTS.json

MANIFEST: {"cases": {"<case>": {"job_file": "/abs/job.py", "workdir": "/abs/folder",
                                "streaming": false, "stop_after": null}}}
Batch cases share one batch TableEnvironment, streaming cases one streaming TableEnvironment
(checkpoints every second, so streaming file sinks publish quickly). For each case the driver
changes into its working directory (where relative paths resolve, as the runner does), executes
the job module and calls `build(t_env)` (with `stop_after` for streaming jobs). What the job
prints (STUDIO_METRIC / STUDIO_ALERT lines) is captured per case. RESULTS, rewritten after every
case: {"<case>": {"ok": bool, "error": str, "stdout": str, "seconds": float}}.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _environment(streaming: bool) -> Any:
    from pyflink.table import EnvironmentSettings, TableEnvironment

    settings = EnvironmentSettings.in_streaming_mode() if streaming else EnvironmentSettings.in_batch_mode()
    t_env = TableEnvironment.create(settings)
    config = t_env.get_config()
    config.set("table.local-time-zone", "UTC")
    config.set("parallelism.default", "2")
    if streaming:
        config.set("execution.checkpointing.interval", "1 s")
        config.set("table.exec.source.idle-timeout", "1 s")
        config.set("restart-strategy.type", "none")
    return t_env


def _error(error: BaseException) -> str:
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    lines = [line for line in text.splitlines() if not line.startswith("\tat ")]
    causes = [line for line in lines if line.startswith("Caused by:")]
    return "\n".join(lines[-25:] + causes[-5:])[-5000:]


def main() -> int:
    manifest = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    results_path = Path(sys.argv[2]).resolve()
    results: dict[str, dict[str, Any]] = {}
    environments: dict[bool, Any] = {}
    for name, case in manifest["cases"].items():
        streaming = bool(case.get("streaming"))
        began = time.monotonic()
        captured = io.StringIO()
        try:
            if streaming not in environments:
                environments[streaming] = _environment(streaming)
            t_env = environments[streaming]
            os.chdir(case["workdir"])
            path = Path(case["job_file"])
            namespace: dict[str, Any] = {"__name__": "generated_job", "__file__": str(path)}
            exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102
            with contextlib.redirect_stdout(captured):
                if streaming:
                    namespace["build"](t_env, stop_after=case.get("stop_after") or 20)
                else:
                    namespace["build"](t_env)
            results[name] = {"ok": True, "error": ""}
        except Exception as error:  # noqa: BLE001 - a failing case is a result, not the end of the run
            results[name] = {"ok": False, "error": _error(error)}
        results[name]["stdout"] = captured.getvalue()
        results[name]["seconds"] = round(time.monotonic() - began, 2)
        print(f"{name}: {'ok' if results[name]['ok'] else 'FAILED'} in {results[name]['seconds']} s", flush=True)
        results_path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    results_path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
