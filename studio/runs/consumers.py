"""The websocket a run page listens on: status changes, new log lines, node metrics, a batch job's
progress, alerts and the worker's heartbeats, pushed live; only to a user who may see the run,
checked when they connect and again while they watch."""
from __future__ import annotations

import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from rest_framework.utils.encoders import JSONEncoder

from studio.runs import selectors
from studio.runs.events import run_data, run_group
from studio.runs.models import Run

__all__ = ["RunConsumer"]

CLOSE_NOT_FOUND = 4404


class RunConsumer(AsyncJsonWebsocketConsumer):
    # A user removed from the run's workspace while watching stops receiving within this many
    # seconds of their removal (at the next push after it); checking on every push would cost a
    # query per log line.
    access_recheck_seconds: float = 5.0

    async def connect(self) -> None:
        self.run_id = int(self.scope["url_route"]["kwargs"]["pk"])
        self.closed = False
        snapshot = await self._snapshot()
        if snapshot is None:
            # Unknown and forbidden runs look the same, as in the REST API.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.checked_at = time.monotonic()
        await self.channel_layer.group_add(run_group(self.run_id), self.channel_name)
        await self.accept()
        await self.send_json({"type": "run.status", **snapshot})

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(run_group(self.run_id), self.channel_name)

    async def run_status(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def run_log(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def run_metrics(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def run_alert(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def run_heartbeat(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def run_progress(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def _forward(self, event: dict[str, Any]) -> None:
        if self.closed:
            return
        if time.monotonic() - self.checked_at >= self.access_recheck_seconds:
            if not await self._visible():
                self.closed = True
                await self.channel_layer.group_discard(run_group(self.run_id), self.channel_name)
                await self.close(code=CLOSE_NOT_FOUND)
                return
            self.checked_at = time.monotonic()
        await self.send_json(event)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return json.dumps(content, cls=JSONEncoder)

    def _visible_runs(self) -> Any:
        return Run.objects.restrict(self.scope.get("user"), "view").filter(pk=self.run_id)

    @database_sync_to_async
    def _visible(self) -> bool:
        return self._visible_runs().exists()

    @database_sync_to_async
    def _snapshot(self) -> dict[str, Any] | None:
        """The run and its nodes, as `run.status` carries them; None when the user may not see it."""
        run = self._visible_runs().select_related("pipeline__workspace", "version", "created_by").first()
        if run is None:
            return None
        snapshot = {"run": run_data(run), "nodes": selectors.run_nodes(run=run)}
        return json.loads(json.dumps(snapshot, cls=JSONEncoder))
