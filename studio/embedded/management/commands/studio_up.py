"""Start the whole studio on its embedded default and supervise it until Ctrl-C.

Migrates, seeds the demo, then starts the dev Kafka broker, a Celery worker for runs, a control
worker with Celery beat embedded (the run reaper and the schedule dispatcher) and the ASGI server
(HTTP, websockets and the built editor) as child processes, and prints the URL and the login. The dev
broker keeps topics in memory only, so each time it starts the demo's order change events are put on
it again (not with --no-seed, and never on a real Kafka named by KAFKA_BOOTSTRAP_SERVERS). A
worker that dies is started again (its runs are settled by the reaper and retried per pipeline);
the studio stops on Ctrl-C, when the web server or the broker dies, or when a worker keeps dying.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from studio.embedded.demo import CDC_TOPIC, produce_demo_changes
from studio.embedded.management.commands.seed_demo import admin_credentials

READY_TIMEOUT_SECONDS = 60
# A worker that dies is restarted, unless it died this many times within RESTART_WINDOW_SECONDS.
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 300
RESTARTABLE = ("worker", "scheduler")


class Command(BaseCommand):
    help = "Start the studio (web server, workers, Celery beat, dev Kafka broker) on its embedded default."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("STUDIO_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("STUDIO_PORT", "8000")))
        parser.add_argument("--no-seed", action="store_true", help="Do not create the demo workspace.")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        _check_port_free(host, port)
        call_command("migrate", interactive=False, verbosity=0)
        if not options["no_seed"]:
            call_command("seed_demo")
        logs = settings.VAR_DIR / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            if not settings.KAFKA_BOOTSTRAP_SERVERS:
                # A file left behind by a broker that was killed names a dead address: wait for the new one.
                settings.KAFKA_DEV_BROKER_FILE.unlink(missing_ok=True)
                children["kafka"] = _start(logs, "kafka", ["-m", "runners.devbroker", str(settings.KAFKA_DEV_BROKER_FILE)])
            commands = _worker_commands()
            for name in RESTARTABLE:
                children[name] = _start(logs, name, commands[name])
            children["web"] = _start(logs, "web", [
                "-m", "uvicorn", "studio.asgi:application", "--host", host, "--port", str(port),
                "--ws", "websockets", "--log-level", "warning",
            ])
            if "kafka" in children and not options["no_seed"]:
                self.put_demo_changes(children["kafka"], settings.KAFKA_DEV_BROKER_FILE, lambda: stopping)
            url = f"http://{host}:{port}/"
            _wait_ready(url + "api/auth/csrf/", children, logs, lambda: stopping)
            username, password = admin_credentials()
            self.stdout.write(self.style.SUCCESS(
                f"\nThe studio is running at {url}\nLog in as '{username}' with password '{password}'.\n"
                f"Data folder: {settings.STUDIO_DATA_DIR}\nLogs: {logs}\nPress Ctrl-C to stop.\n"
            ))
            deaths: dict[str, list[float]] = {name: [] for name in RESTARTABLE}
            while not stopping:
                for name, child in list(children.items()):
                    if child.poll() is None:
                        continue
                    message = f"The {name} process stopped (exit code {child.returncode})."
                    if name not in RESTARTABLE:
                        raise CommandError(message + "\n" + _tail(logs / f"{name}.log"))
                    now = time.monotonic()
                    deaths[name] = [t for t in deaths[name] if now - t < RESTART_WINDOW_SECONDS] + [now]
                    if len(deaths[name]) > MAX_RESTARTS:
                        raise CommandError(f"{message} It stopped {len(deaths[name])} times in "
                                           f"{RESTART_WINDOW_SECONDS // 60} minutes.\n" + _tail(logs / f"{name}.log"))
                    self.stderr.write(f"{message} Starting it again; its runs are settled by the reaper.")
                    _kill_group(child)  # e.g. the beat process the control worker forked
                    children[name] = _start(logs, name, commands[name])
                time.sleep(0.5)
            self.stdout.write("Stopping the studio...")
        finally:
            _stop_all(children)

    def put_demo_changes(self, broker: subprocess.Popen[bytes], address_file: Path,
                         stopping: Callable[[], bool]) -> None:
        """Put the demo's change events on the dev broker once it is up. The demo is a convenience:
        whatever goes wrong here is a warning, and the studio runs on without the events."""
        try:
            bootstrap = _wait_for_address(address_file, broker, stopping)
            if bootstrap is None:
                return
            count = produce_demo_changes(bootstrap)
        except Exception as error:  # noqa: BLE001 -- any failure: the studio itself is fine
            self.stderr.write(self.style.WARNING(
                f"Warning: the demo change events were not put on Kafka topic {CDC_TOPIC}: {error}. The demo "
                "pipeline orders_cdc_to_lakehouse has nothing to read until the studio is started again."
            ))
            return
        self.stdout.write(f"Put {count} demo change events on Kafka topic {CDC_TOPIC}.")


def _wait_for_address(address_file: Path, broker: subprocess.Popen[bytes], stopping: Callable[[], bool]) -> str | None:
    """The dev broker's address once it has written its file (atomically), or None after Ctrl-C."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not stopping():
        if address_file.exists():
            return address_file.read_text().strip()
        if broker.poll() is not None:
            raise RuntimeError(f"the dev broker stopped (exit code {broker.returncode}) before it wrote its address")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the dev broker did not write its address to {address_file} within "
                               f"{READY_TIMEOUT_SECONDS} s")
        time.sleep(0.1)
    return None


def _worker_commands() -> dict[str, list[str]]:
    """Runs on the default queue, four at once; the reaper and schedules on the control queue, with
    beat embedded (one beat per studio: the embedded stack is one machine)."""
    pid = os.getpid()
    return {
        "worker": [
            "-m", "celery", "-A", "runners.celery", "worker", "-Q", "celery", "--pool", "threads",
            "--concurrency", "4", "--loglevel", "INFO", "--hostname", f"studio-{pid}@%h",
        ],
        "scheduler": [
            "-m", "celery", "-A", "runners.celery", "worker", "-Q", settings.CONTROL_QUEUE, "--pool", "solo",
            "-B", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME, "--loglevel", "INFO",
            "--hostname", f"studio-control-{pid}@%h",
        ],
    }


def _check_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise CommandError(f"Port {port} on {host} is in use; set STUDIO_PORT to a free port.") from None


def _start(logs: Path, name: str, args: list[str]) -> subprocess.Popen[bytes]:
    log = (logs / f"{name}.log").open("ab")
    # Own process group: Ctrl-C reaches only this supervisor, which then stops children in order.
    return subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True, env=os.environ.copy())


def _wait_ready(url: str, children: dict[str, subprocess.Popen[bytes]], logs: Path, stopping: Any) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and not stopping():
        for name, child in children.items():
            if child.poll() is not None:
                raise CommandError(f"The {name} process failed to start.\n" + _tail(logs / f"{name}.log"))
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    if not stopping():
        raise CommandError(f"The web server did not answer at {url} within {READY_TIMEOUT_SECONDS} s.\n" + _tail(logs / "web.log"))


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "Last lines of " + str(path) + ":\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    """Kill what is left of a dead child's process group (jobs run in sessions of their own)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    # The web server first (no new runs), then the workers, then the broker the jobs may use.
    for name in ("web", "scheduler", "worker", "kafka"):
        child = children.get(name)
        if child is not None and child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
