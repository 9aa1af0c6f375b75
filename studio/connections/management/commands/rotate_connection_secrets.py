"""Re-encrypt every connection's secrets with the first key of STUDIO_ENCRYPTION_KEY."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from studio.connections.services import connections_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt connection secrets with the first key in STUDIO_ENCRYPTION_KEY. Put the new key first and "
        "keep the old one after it (comma-separated) while this runs; then the old key can go."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = connections_rotate()
        self.stdout.write(f"Re-encrypted the secrets of {count} connection(s).")
