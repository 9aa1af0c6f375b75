from __future__ import annotations

from django.apps import AppConfig


class EmbeddedConfig(AppConfig):
    """The embedded default stack: demo data, and the command that starts everything locally."""

    name = "studio.embedded"
    label = "embedded"
