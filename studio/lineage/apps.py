from __future__ import annotations

from django.apps import AppConfig


class LineageConfig(AppConfig):
    name = "studio.lineage"
    label = "lineage"

    def ready(self) -> None:
        from studio.lineage import signals  # noqa: F401 - connects the run hooks
