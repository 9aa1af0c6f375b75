"""The websocket a run page listens on: status changes, new log lines and node metrics, pushed live."""
from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from rest_framework.utils.encoders import JSONEncoder

from studio.runs.events import run_data, run_group
from studio.runs.models import Run

__all__ = ["RunConsumer"]

CLOSE_NOT_FOUND = 4404


class RunConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.run_id = int(self.scope["url_route"]["kwargs"]["pk"])
        snapshot = await self._snapshot()
        if snapshot is None:
            # Unknown and forbidden runs look the same, as in the REST API.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.channel_layer.group_add(run_group(self.run_id), self.channel_name)
        await self.accept()
        await self.send_json({"type": "run.status", "run": snapshot})

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(run_group(self.run_id), self.channel_name)

    async def run_status(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def run_log(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def run_metrics(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return json.dumps(content, cls=JSONEncoder)

    @database_sync_to_async
    def _snapshot(self) -> dict[str, Any] | None:
        user = self.scope.get("user")
        run = (
            Run.objects.restrict(user, "view")
            .select_related("pipeline__workspace", "version", "created_by")
            .filter(pk=self.run_id)
            .first()
        )
        return None if run is None else json.loads(json.dumps(run_data(run), cls=JSONEncoder))
