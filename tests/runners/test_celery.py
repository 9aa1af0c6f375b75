"""The Celery app and its embedded broker (runners/broker.py): a message file is whole from the moment
a reader can see it, each message reaches exactly one reader, and the app is configured as ADR 0003
requires (late acks, prefetch 1, redelivery when a worker dies, the control queue)."""
from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import kombu
import pytest
from django.conf import settings
from kombu.transport import virtual

import runners.tasks  # noqa: F401 - registers the tasks whose routes are checked
from runners import broker
from runners.celery import app as celery_app

SENDERS, READERS, PER_SENDER = 2, 2, 15
# Big enough that serialising a message takes milliseconds: kombu's own sender creates the file
# before it serialises the message into it, and its readers then take the empty file.
BODY_CHARACTERS = 1_000_000


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Broker folders of the test's own. kombu keeps a filesystem transport's bindings in memory for
    the whole process, so they are reset too, or they would point at another test's folders."""
    monkeypatch.setattr(broker.Transport, "global_state", virtual.BrokerState())
    for name in ("queue", "processed", "control"):
        (tmp_path / name).mkdir()
    return tmp_path


def connection(folder: Path) -> kombu.Connection:
    queue = str(folder / "queue")
    return kombu.Connection("filesystem://", transport="runners.broker:Transport", transport_options={
        "data_folder_in": queue, "data_folder_out": queue, "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"), "store_processed": False,
    })


def test_readers_racing_senders_get_every_message_whole_and_once(folder: Path) -> None:
    filler = "x" * BODY_CHARACTERS
    received: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    sent = threading.Event()

    def send(sender: str) -> None:
        try:
            with connection(folder) as conn:
                queue = conn.SimpleQueue("runs")
                for i in range(PER_SENDER):
                    queue.put({"sender": sender, "i": i, "filler": filler})
                queue.close()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    def read() -> None:
        try:
            with connection(folder) as conn:
                queue = conn.SimpleQueue("runs")
                while True:
                    try:
                        message = queue.get_nowait()
                    except queue.Empty:
                        if sent.is_set() and queue.qsize() == 0:
                            break
                        continue  # poll as fast as possible: the race is in the gap
                    body = message.payload
                    assert body["filler"] == filler, "a message arrived cut short"
                    received.append((body["sender"], body["i"]))
                    message.ack()
                queue.close()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(READERS)]
    senders = [threading.Thread(target=send, args=(f"s{n}",)) for n in range(SENDERS)]
    for thread in readers + senders:
        thread.start()
    for thread in senders:
        thread.join(60)
    sent.set()
    for thread in readers:
        thread.join(60)
    assert not errors, errors
    expected = [(f"s{n}", i) for n in range(SENDERS) for i in range(PER_SENDER)]
    assert sorted(received) == expected  # every message, each exactly once
    assert not list((folder / "queue").iterdir())  # nothing half written left behind


def test_a_message_still_being_written_is_invisible_to_readers(folder: Path) -> None:
    with connection(folder) as conn:
        queue = conn.SimpleQueue("runs")
        queue.put({"run": 1})
        # Another message as its sender leaves it mid-write (named to sort first): half its JSON.
        partial = folder / "queue" / f"0_{uuid.uuid4()}.runs.msg{broker.PARTIAL_SUFFIX}"
        partial.write_text('{"body": "eyJydW4i')
        assert queue.qsize() == 1
        message = queue.get_nowait()
        assert message.payload == {"run": 1}
        message.ack()
        with pytest.raises(queue.Empty):
            queue.get_nowait()
        assert partial.exists()
        queue.close()


def _queue_of(task: str) -> str:
    return celery_app.amqp.router.route({}, task)["queue"].name


def test_the_celery_app_acks_late_prefetches_one_and_routes_control_tasks_to_their_queue() -> None:
    conf = celery_app.conf
    # A message is acknowledged once its run is settled, one at a time per worker process, and given
    # back to the broker when the worker running it dies: a run is never silently dropped.
    assert conf.task_acks_late is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_reject_on_worker_lost is True
    assert celery_app.tasks["runners.execute_run"].acks_late is True
    assert celery_app.tasks["runners.deliver_alert"].acks_late is True
    # Runs go to the queue the run workers consume (studio_up: `-Q celery`); everything beat sends,
    # and alert deliveries, to the control worker's queue, so they keep their beat when every run
    # slot is busy.
    assert _queue_of("runners.execute_run") == conf.task_default_queue == "celery"
    control = {name for name in celery_app.tasks if name.startswith("runners.") and name != "runners.execute_run"}
    assert {"runners.reap_runs", "runners.dispatch_schedules", "runners.deliver_alert"} <= control
    assert {name: _queue_of(name) for name in control} == dict.fromkeys(control, settings.CONTROL_QUEUE)
    for name, entry in conf.beat_schedule.items():
        assert entry["task"] in control, name
        # A tick missed while the control worker was down expires instead of piling up.
        assert entry["options"]["queue"] == settings.CONTROL_QUEUE, name
        assert 0 < entry["options"]["expires"] <= entry["schedule"], name


def test_the_embedded_broker_is_the_atomic_filesystem_transport() -> None:
    with celery_app.connection_for_write() as conn:
        transport: Any = conn.transport
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            assert isinstance(transport, broker.Transport)
            # Polls ten times a second: a run is claimed within about 0.1 s of the API call.
            assert transport.polling_interval == 0.1
        else:  # the production tier: Redis or RabbitMQ, which push messages to the workers
            assert not isinstance(transport, broker.Transport)
            assert conn.transport_cls == settings.CELERY_BROKER_URL.split("://", 1)[0]
