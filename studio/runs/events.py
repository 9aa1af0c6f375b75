"""Run events pushed to the browsers watching a run, over the Channels layer; and the JSON shapes of
runs shared by the REST answers and the websocket."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from channels.layers import get_channel_layer
from rest_framework.utils.encoders import JSONEncoder

from studio.runs import selectors
from studio.runs.models import Run, RunEvent, RunLogLine

__all__ = [
    "alert_data", "event_data", "log_line_data", "publish_alerts", "publish_heartbeat", "publish_log",
    "publish_metrics", "publish_progress", "publish_status", "run_data", "run_detail_data", "run_group",
]

logger = logging.getLogger(__name__)

# A send that takes longer is given up (and logged): a run never waits on its watchers.
PUBLISH_TIMEOUT_SECONDS = 5.0
# At most one `run.heartbeat` per run this often: a heartbeat's only news is its time, and a worker
# configured to heartbeat every fraction of a second should not flood the browsers.
HEARTBEAT_PUBLISH_SECONDS = 2.0


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def run_data(run: Run, *, code: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": run.id,
        "pipeline": run.pipeline_id,
        "pipeline_name": run.pipeline.name,
        "workspace": run.pipeline.workspace.slug,
        "version": run.version.number,
        "engine": run.engine,
        "parameters": run.parameters,
        "status": run.status,
        "trigger": run.trigger,
        "schedule": run.schedule_id,
        "attempt": run.attempt,
        "retry_of": run.retry_of_id,
        "deployment": run.deployment_id,
        "created_by": run.created_by.get_username() if run.created_by else None,
        "created_at": run.created_at,
        "not_before": run.not_before,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": run.duration_seconds,
        "error": run.error,
    }
    if code:
        data["code"] = run.code
    return data


def event_data(event: RunEvent) -> dict[str, Any]:
    return {"from_status": event.from_status, "to_status": event.to_status, "at": event.at, "reason": event.reason}


def run_detail_data(run: Run) -> dict[str, Any]:
    """A run with its code, its transitions, who owns it, its retry and its nodes' metrics."""
    retried_by = Run.objects.filter(retry_of=run).values_list("id", flat=True).first()
    return run_data(run, code=True) | {
        "retried_by": retried_by,
        "worker_host": run.worker_host,
        "worker_pid": run.worker_pid,
        "job_pid": run.job_pid,
        "heartbeat_at": run.heartbeat_at,
        "events": [event_data(event) for event in selectors.run_events(run=run)],
        "nodes": selectors.run_nodes(run=run),
    }


def log_line_data(line: RunLogLine) -> dict[str, Any]:
    return {"seq": line.seq, "ts": line.ts.isoformat(), "level": line.level, "text": line.text}


def _plain(value: Any) -> Any:
    # Datetimes become ISO strings, as in the REST answers, so the layer carries plain JSON.
    return json.loads(json.dumps(value, cls=JSONEncoder))


class _Publisher:
    """Sends events from sync code on one event loop per process, kept in a daemon thread.

    channels-redis keeps its connections per event loop; `async_to_sync` would run each send on a
    new loop, opening a connection every time (about 20 ms per event here, see
    bench/websocket_latency.py), where a loop that stays reuses them (well under 1 ms).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A forked child (Celery's prefork pool) has the loop but not its thread: start another.
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="run-events", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def send(self, group: str, message: dict[str, Any]) -> None:
        loop = self._running_loop()
        sending = asyncio.run_coroutine_threadsafe(get_channel_layer().group_send(group, message), loop)
        sending.result(timeout=PUBLISH_TIMEOUT_SECONDS)


_publisher = _Publisher()


def _publish(run_id: int, message: dict[str, Any]) -> None:
    # A browser missing one push is not a failure of the run: it re-reads state on reconnect.
    try:
        _publisher.send(run_group(run_id), message)
    except Exception:  # noqa: BLE001 - the channel layer is best effort by design
        logger.warning("Could not publish an event for run %s", run_id, exc_info=True)


def publish_status(run: Run, *, event: RunEvent | None = None) -> None:
    # The nodes go along because their status follows the run's (pending, running, then the end).
    message: dict[str, Any] = {
        "type": "run.status", "run": _plain(run_data(run)), "nodes": _plain(selectors.run_nodes(run=run)),
    }
    if event is not None:
        message["event"] = _plain(event_data(event))
    _publish(run.id, message)


def publish_log(run_id: int, lines: list[RunLogLine]) -> None:
    if lines:
        _publish(run_id, {"type": "run.log", "lines": [log_line_data(line) for line in lines]})


class _Throttle:
    """Lets one event per key through every `seconds`; remembers only keys seen within that time, so
    a long-lived worker's table stays the size of the runs it supervises."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def allow(self, key: int) -> bool:
        now = time.monotonic()
        with self._lock:
            self._last = {k: at for k, at in self._last.items() if now - at < self.seconds}
            if key in self._last:
                return False
            self._last[key] = now
            return True


_heartbeats = _Throttle(HEARTBEAT_PUBLISH_SECONDS)


def publish_heartbeat(run_id: int, *, at: datetime) -> None:
    """Tell the browsers watching a run that its worker is alive (`run.heartbeat`, with the time it
    recorded), throttled per run to one every HEARTBEAT_PUBLISH_SECONDS."""
    if _heartbeats.allow(run_id):
        _publish(run_id, {"type": "run.heartbeat", "heartbeat_at": _plain(at)})


def publish_metrics(run: Run) -> None:
    # `status` is the run's status the nodes were computed with, so a browser can tell a snapshot
    # that was overtaken by a later status change from a current one.
    _publish(run.id, {"type": "run.metrics", "status": run.status, "nodes": _plain(selectors.run_nodes(run=run))})


def publish_progress(run_id: int, *, tasks_done: int, tasks_total: int, stage: int | None) -> None:
    """How far a batch job has got, as its engine counts it (`run.progress`: tasks done out of the
    tasks of the stages started so far): pushed live only, the run page's progress bar while it runs."""
    _publish(run_id, {"type": "run.progress", "tasks_done": tasks_done, "tasks_total": tasks_total, "stage": stage})


def alert_data(*, node: str, severity: str, message: str, at: datetime, seq: int | None = None) -> dict[str, Any]:
    """An alert a `sink.alert` node raised (a `STUDIO_ALERT` line of the job), as `run.alert` carries
    it; with its number in the run (`seq`) when known, so a browser can tell two equal alerts apart."""
    data: dict[str, Any] = {"node": node, "severity": severity, "message": message, "at": at}
    if seq is not None:
        data["seq"] = seq
    return data


def publish_alerts(run_id: int, alerts: Sequence[dict[str, Any]]) -> None:
    """Push alerts (shaped by `alert_data`) to the browsers watching the run, as `run.alert`."""
    if alerts:
        _publish(run_id, {"type": "run.alert", "alerts": _plain(list(alerts))})
