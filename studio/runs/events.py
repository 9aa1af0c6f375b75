"""Run events pushed to the browsers watching a run, over the Channels layer."""
from __future__ import annotations

import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from rest_framework.utils.encoders import JSONEncoder

from studio.runs.models import Run, RunLogLine

__all__ = ["log_line_data", "publish_log", "publish_status", "run_data", "run_group"]

logger = logging.getLogger(__name__)


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
        "created_by": run.created_by.get_username() if run.created_by else None,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error": run.error,
    }
    if code:
        data["code"] = run.code
    return data


def log_line_data(line: RunLogLine) -> dict[str, Any]:
    return {"seq": line.seq, "ts": line.ts.isoformat(), "level": line.level, "text": line.text}


def _publish(run_id: int, message: dict[str, Any]) -> None:
    # A browser missing one push is not a failure of the run: it re-reads state on reconnect.
    try:
        async_to_sync(get_channel_layer().group_send)(run_group(run_id), message)
    except Exception:  # noqa: BLE001 - the channel layer is best effort by design
        logger.warning("Could not publish an event for run %s", run_id, exc_info=True)


def publish_status(run: Run) -> None:
    # Datetimes become ISO strings, as in the REST answers, so the layer carries plain JSON.
    payload = json.loads(json.dumps(run_data(run), cls=JSONEncoder))
    _publish(run.id, {"type": "run.status", "run": payload})


def publish_log(run_id: int, lines: list[RunLogLine]) -> None:
    if lines:
        _publish(run_id, {"type": "run.log", "lines": [log_line_data(line) for line in lines]})
