from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "studio.audit"
    label = "audit"

    def ready(self) -> None:
        from studio.audit import tracked

        tracked.connect()
