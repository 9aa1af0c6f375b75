"""A real `celery worker` process: runs started in the API reach it through the broker, and stopping
the worker mid-run settles the run instead of leaving it running."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from tests.studio.documents import ORDERS_CSV, filter_pipeline
from tests.studio.test_run_execution import FINISHED, start_run, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery, pytest.mark.spark]
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    """The URL of the database this test uses (the test database), for the worker process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_process(settings: Any, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    data = tmp_path / "data"
    (data / "in").mkdir(parents=True)
    (data / "in" / "orders.csv").write_text(ORDERS_CSV)
    settings.STUDIO_DATA_DIR = data
    env = {**os.environ, "DATABASE_URL": _database_url(), "STUDIO_DATA_DIR": str(data),
           "STUDIO_VAR_DIR": str(django_settings.VAR_DIR), "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL}
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "runners.celery", "worker", "--pool", "threads", "--concurrency", "2",
         "--loglevel", "INFO", "--hostname", f"test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_stopping_the_worker_mid_run_fails_the_run_with_a_reason(
    api: APIClient, worker_process: subprocess.Popen[bytes]
) -> None:
    run_id = start_run(api, filter_pipeline(name="interrupted"))
    wait_for(api, run_id, {"running"} | FINISHED, timeout=120)
    os.killpg(worker_process.pid, signal.SIGTERM)  # what Ctrl-C on scripts/start does
    run = wait_for(api, run_id, FINISHED, timeout=30)
    assert run["status"] == "failed"
    assert "worker was stopped" in run["error"]
    worker_process.wait(timeout=30)
