"""Celery: a broker that needs no server by default (kombu's filesystem transport), Redis or
RabbitMQ via CELERY_BROKER_URL. The database, not Celery's result backend, holds run state.

Runs go to the default queue (`celery`), consumed by the run workers. The reaper, the schedule
dispatcher and the catalog's look at running runs' outputs go to the `control` queue, consumed by a
worker of their own, so they keep their beat when every run slot is busy; Celery beat sends them.
"""
from __future__ import annotations

from studio.settings.env import VAR_DIR, env_str

__all__ = [
    "CELERY_BROKER_URL", "CELERY_BROKER_TRANSPORT", "CELERY_BROKER_TRANSPORT_OPTIONS", "CELERY_TASK_ACKS_LATE",
    "CELERY_WORKER_PREFETCH_MULTIPLIER", "CELERY_TASK_IGNORE_RESULT", "CELERY_TASK_ALWAYS_EAGER",
    "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP", "CELERY_TASK_REJECT_ON_WORKER_LOST",
    "CELERY_TASK_ROUTES", "CELERY_BEAT_SCHEDULE", "CELERY_BEAT_SCHEDULE_FILENAME", "CONTROL_QUEUE",
    "STUDIO_RUN_HEARTBEAT_SECONDS", "STUDIO_RUN_LOST_AFTER_SECONDS", "STUDIO_REAPER_INTERVAL_SECONDS",
    "STUDIO_SCHEDULER_TICK_SECONDS", "STUDIO_RUN_REDISPATCH_SECONDS", "STUDIO_DEPLOYMENT_STOP_GRACE_SECONDS",
    "STUDIO_WEBHOOK_MAX_ATTEMPTS", "STUDIO_WEBHOOK_BACKOFF_SECONDS", "STUDIO_WEBHOOK_TIMEOUT_SECONDS",
    "STUDIO_CATALOG_RUNNING_REFRESH_SECONDS",
]


def _seconds(name: str, default: float) -> float:
    value = float(env_str(name, str(default)))
    if value <= 0:
        raise ValueError(f"{name} must be a number of seconds above 0, not {value}.")
    return value


CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT: str | None = None  # None: the transport the URL's scheme names
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport, with messages published by a rename (runners/broker.py): its own
    # can hand a worker a half-written message, which kills the worker.
    CELERY_BROKER_TRANSPORT = "runners.broker:Transport"
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
        # Workers look for new messages this often (kombu's default is 1 s): a run is claimed about
        # 0.05 s after the API call on average. Safe now that a message file is whole when it appears.
        "polling_interval": 0.1,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Liveness of runs. A worker heartbeats each run it supervises; the reaper, every
# STUDIO_REAPER_INTERVAL_SECONDS, marks a run lost once its heartbeat is older than
# STUDIO_RUN_LOST_AFTER_SECONDS (sooner when its worker's process is seen dead on the same host),
# so a dead worker's run is settled within LOST_AFTER + INTERVAL (60 s by default).
STUDIO_RUN_HEARTBEAT_SECONDS = _seconds("STUDIO_RUN_HEARTBEAT_SECONDS", 5)
STUDIO_RUN_LOST_AFTER_SECONDS = _seconds("STUDIO_RUN_LOST_AFTER_SECONDS", 45)
STUDIO_REAPER_INTERVAL_SECONDS = _seconds("STUDIO_REAPER_INTERVAL_SECONDS", 15)
# How often due schedules are looked for (cron has minute precision).
STUDIO_SCHEDULER_TICK_SECONDS = _seconds("STUDIO_SCHEDULER_TICK_SECONDS", 10)
# A queued run whose task message has not started it this long after it was due is sent again
# (the claim makes a duplicate harmless); covers messages lost with a killed worker.
STUDIO_RUN_REDISPATCH_SECONDS = _seconds("STUDIO_RUN_REDISPATCH_SECONDS", 300)
# How long a streaming deployment's job may take to finish its current micro-batch (or its
# savepoint) when it is stopped, before its processes are killed (its checkpoint is still kept).
STUDIO_DEPLOYMENT_STOP_GRACE_SECONDS = _seconds("STUDIO_DEPLOYMENT_STOP_GRACE_SECONDS", 60)
# Alert webhooks: attempts per delivery, the wait before the 2nd attempt (doubled at each further
# one), and how long one POST may take. Deliveries go to the control queue.
STUDIO_WEBHOOK_MAX_ATTEMPTS = int(env_str("STUDIO_WEBHOOK_MAX_ATTEMPTS", "5"))
if STUDIO_WEBHOOK_MAX_ATTEMPTS < 1:
    raise ValueError(f"STUDIO_WEBHOOK_MAX_ATTEMPTS must be at least 1, not {STUDIO_WEBHOOK_MAX_ATTEMPTS}.")
STUDIO_WEBHOOK_BACKOFF_SECONDS = _seconds("STUDIO_WEBHOOK_BACKOFF_SECONDS", 10)
STUDIO_WEBHOOK_TIMEOUT_SECONDS = _seconds("STUDIO_WEBHOOK_TIMEOUT_SECONDS", 5)
# A run's output datasets are refreshed in the catalog when it finishes; while it runs (a streaming
# deployment may run for weeks) the catalog looks again at the file locations and Iceberg tables it
# writes, each at most once per this many seconds.
STUDIO_CATALOG_RUNNING_REFRESH_SECONDS = _seconds("STUDIO_CATALOG_RUNNING_REFRESH_SECONDS", 60)
_CATALOG_REFRESH_TICK = min(STUDIO_CATALOG_RUNNING_REFRESH_SECONDS, STUDIO_REAPER_INTERVAL_SECONDS)

CONTROL_QUEUE = "control"
CELERY_TASK_ROUTES = {
    "runners.reap_runs": {"queue": CONTROL_QUEUE},
    "runners.dispatch_schedules": {"queue": CONTROL_QUEUE},
    "runners.deliver_alert": {"queue": CONTROL_QUEUE},
    "runners.refresh_running_datasets": {"queue": CONTROL_QUEUE},
}
# Ticks expire after one interval: if the control worker was down, stale ticks are not replayed.
CELERY_BEAT_SCHEDULE = {
    "reap-runs": {
        "task": "runners.reap_runs", "schedule": STUDIO_REAPER_INTERVAL_SECONDS,
        "options": {"queue": CONTROL_QUEUE, "expires": STUDIO_REAPER_INTERVAL_SECONDS},
    },
    "dispatch-schedules": {
        "task": "runners.dispatch_schedules", "schedule": STUDIO_SCHEDULER_TICK_SECONDS,
        "options": {"queue": CONTROL_QUEUE, "expires": STUDIO_SCHEDULER_TICK_SECONDS},
    },
    "refresh-running-datasets": {
        "task": "runners.refresh_running_datasets", "schedule": _CATALOG_REFRESH_TICK,
        "options": {"queue": CONTROL_QUEUE, "expires": _CATALOG_REFRESH_TICK},
    },
}
(VAR_DIR / "celery").mkdir(parents=True, exist_ok=True)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
