"""A Flink session cluster's REST API, as far as the runner needs it: find a run's job by its name,
cancel it, and stop it with a savepoint. Pure Python (urllib; no Django)."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

__all__ = ["TERMINAL", "FlinkCluster", "FlinkError", "job_name"]

TERMINAL = frozenset({"FINISHED", "FAILED", "CANCELED", "SUSPENDED"})


class FlinkError(RuntimeError):
    """The cluster refused a request or could not do what was asked; the message says why."""


def job_name(run_key: str) -> str:
    """The name a run's Flink job is submitted under (`pipeline.name`), to find it on the cluster."""
    return f"studio-run-{run_key}"


class FlinkCluster:
    """The REST endpoint of a session cluster's JobManager, e.g. `127.0.0.1:8081`."""

    def __init__(self, address: str, *, timeout: float = 10.0) -> None:
        self.base = address if address.startswith(("http://", "https://")) else f"http://{address}"
        self.timeout = timeout

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base.rstrip("/") + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode() or "null"
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise FlinkError(f"{method} {path} answered {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            raise FlinkError(f"Flink's REST API at {self.base} is not reachable ({error}).") from None
        return json.loads(text)

    def overview(self) -> list[dict[str, Any]]:
        """Every job the cluster knows: {"jid", "name", "state", "start-time", ...}."""
        return list(self._request("GET", "/jobs/overview").get("jobs", []))

    def find_job(self, name: str, *, active_only: bool = True) -> str | None:
        """The id of the newest job with this name (only one still running, unless told otherwise)."""
        jobs = [j for j in self.overview()
                if j.get("name") == name and (not active_only or j.get("state") not in TERMINAL)]
        if not jobs:
            return None
        return str(max(jobs, key=lambda j: j.get("start-time", 0))["jid"])

    def state(self, job_id: str) -> str:
        return str(self._request("GET", f"/jobs/{job_id}")["state"])

    def cancel(self, job_id: str) -> None:
        self._request("PATCH", f"/jobs/{job_id}?mode=cancel")

    def stop_with_savepoint(self, job_id: str, directory: str, *, timeout: float) -> str:
        """Take a savepoint into `directory` and stop the job once it is complete (sources are not
        drained: the job resumes from the savepoint as if it had never stopped). Returns the
        savepoint's location."""
        trigger = self._request("POST", f"/jobs/{job_id}/stop", {"targetDirectory": directory, "drain": False})
        request_id = trigger["request-id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self._request("GET", f"/jobs/{job_id}/savepoints/{request_id}")
            if answer.get("status", {}).get("id") == "COMPLETED":
                operation = answer.get("operation") or {}
                if "location" in operation:
                    return str(operation["location"])
                cause = (operation.get("failure-cause") or {}).get("stack-trace", "no reason given")
                raise FlinkError("The savepoint failed: " + cause.strip().splitlines()[0])
            time.sleep(0.5)
        raise FlinkError(f"The savepoint of job {job_id} did not complete within {timeout:g} s.")

    def wait_for_state(self, job_id: str, states: set[str] | frozenset[str], *, timeout: float,
                       interval: float = 0.3) -> str:
        """Poll the job's state every `interval` seconds until it is one of `states` or `timeout`
        passes; the last state seen."""
        deadline = time.monotonic() + timeout
        state = self.state(job_id)
        while state not in states and time.monotonic() < deadline:
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            state = self.state(job_id)
        return state
