"""The Celery app that executes runs: `celery -A runners.celery worker`."""
from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_shutting_down

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["runners"])


@worker_shutting_down.connect
def _stop_running_jobs(**_: Any) -> None:
    from runners.execute import worker_stopping

    worker_stopping.set()
