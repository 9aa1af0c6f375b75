"""The embedded Kafka broker: librdkafka's mock cluster, in a process of its own.

`python -m runners.devbroker FILE` starts it, writes its bootstrap address to FILE, and serves until
SIGTERM or SIGINT. Other processes (the studio, jobs, tests) read the address from FILE. It keeps
messages in memory only: for development and tests, not production.
"""
from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from confluent_kafka.admin import AdminClient

__all__ = ["start_mock_cluster"]


def start_mock_cluster() -> tuple[AdminClient, str]:
    """Start a mock cluster in this process; returns the client that owns it and its address."""
    admin = AdminClient({"test.mock.num.brokers": "1"})
    brokers = admin.list_topics(timeout=10).brokers.values()
    return admin, ",".join(f"{broker.host}:{broker.port}" for broker in brokers)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m runners.devbroker ADDRESS_FILE", file=sys.stderr)
        return 2
    address_file = Path(argv[0])
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    admin, bootstrap = start_mock_cluster()
    address_file.parent.mkdir(parents=True, exist_ok=True)
    partial = address_file.with_suffix(".tmp")
    partial.write_text(bootstrap)
    partial.replace(address_file)
    print(f"Kafka dev broker listening on {bootstrap}", flush=True)
    try:
        stop.wait()
    finally:
        address_file.unlink(missing_ok=True)
        del admin
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
