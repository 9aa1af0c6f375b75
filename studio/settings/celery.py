"""Celery: a broker that needs no server by default (kombu's filesystem transport), Redis or
RabbitMQ via CELERY_BROKER_URL. The database, not Celery's result backend, holds run state."""
from __future__ import annotations

from studio.settings.env import VAR_DIR, env_str

__all__ = [
    "CELERY_BROKER_URL", "CELERY_BROKER_TRANSPORT_OPTIONS", "CELERY_TASK_ACKS_LATE",
    "CELERY_WORKER_PREFETCH_MULTIPLIER", "CELERY_TASK_IGNORE_RESULT", "CELERY_TASK_ALWAYS_EAGER",
    "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP", "CELERY_TASK_REJECT_ON_WORKER_LOST",
]

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "celery" / "queue"
    _processed = VAR_DIR / "celery" / "processed"
    _control = VAR_DIR / "celery" / "control"
    for folder in (_queue, _processed, _control):
        folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_processed),
        "store_processed": False,
        "control_folder": str(_control),
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
