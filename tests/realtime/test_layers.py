"""SQLiteChannelLayer: the Channels interface, expiry and capacity, and delivery across processes."""
from __future__ import annotations

import asyncio
import datetime
import multiprocessing
import random
import sqlite3
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull

from studio.realtime import layers
from studio.realtime.layers import SQLiteChannelLayer

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # A folder that does not exist yet: the layer must create it.
    return tmp_path / "var" / "channels.sqlite3"


def make_layer(path: Path, **config: Any) -> SQLiteChannelLayer:
    return SQLiteChannelLayer(path=str(path), **config)


async def receive_within(layer: SQLiteChannelLayer, channel: str, seconds: float = 2.0) -> dict:
    return await asyncio.wait_for(layer.receive(channel), seconds)


async def assert_nothing_arrives(layer: SQLiteChannelLayer, channel: str) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.2)


def count_rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# The interface


def test_settings_config_builds_a_layer_with_the_documented_defaults(db_path: Path) -> None:
    layer = SQLiteChannelLayer(**{"path": str(db_path)})

    assert (layer.expiry, layer.group_expiry, layer.capacity, layer.poll_interval) == (
        60,
        86400,
        100,
        0.02,
    )
    assert layer.extensions == ["groups", "flush"]


def test_send_then_receive_round_trips_the_message(db_path: Path) -> None:
    layer = make_layer(db_path)
    message = {
        "type": "run.event",
        "run": {"id": 7, "state": "running", "progress": 0.5, "tags": ["a", "é"], "error": None},
        "bytes": b"\x00\xff",
        "ok": True,
    }

    async def main() -> None:
        channel = await layer.new_channel()
        await layer.send(channel, message)
        assert await receive_within(layer, channel) == message

    asyncio.run(main())
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_new_channel_names_are_unique_and_valid(db_path: Path) -> None:
    layer = make_layer(db_path)

    names = {asyncio.run(layer.new_channel("run")) for _ in range(50)}

    assert len(names) == 50
    for name in names:
        assert name.startswith("run.")
        assert layer.require_valid_channel_name(name)


def test_messages_come_out_in_the_order_they_were_sent(db_path: Path) -> None:
    layer = make_layer(db_path)

    async def main() -> list[int]:
        for seq in range(50):
            await layer.send("run.events", {"type": "run.event", "seq": seq})
        return [(await receive_within(layer, "run.events"))["seq"] for _ in range(50)]

    assert asyncio.run(main()) == list(range(50))


def test_group_send_reaches_members_until_they_are_discarded(db_path: Path) -> None:
    layer = make_layer(db_path)

    async def main() -> None:
        await layer.group_add("run-7", "browser.a")
        await layer.group_add("run-7", "browser.b")
        await layer.group_send("run-7", {"type": "run.event", "seq": 1})
        assert await receive_within(layer, "browser.a") == {"type": "run.event", "seq": 1}
        assert await receive_within(layer, "browser.b") == {"type": "run.event", "seq": 1}

        await layer.group_discard("run-7", "browser.a")
        await layer.group_discard("run-7", "not.a.member")
        await layer.group_send("run-7", {"type": "run.event", "seq": 2})
        assert (await receive_within(layer, "browser.b"))["seq"] == 2
        await assert_nothing_arrives(layer, "browser.a")

    asyncio.run(main())


def test_group_send_to_an_empty_group_does_nothing(db_path: Path) -> None:
    layer = make_layer(db_path)

    asyncio.run(layer.group_send("nobody-listens", {"type": "run.event"}))

    assert count_rows(db_path, "messages") == 0


def test_group_send_to_many_members_delivers_one_message_each(db_path: Path) -> None:
    layer = make_layer(db_path)
    members = [f"browser.{index}" for index in range(300)]

    async def main() -> None:
        for channel in members:
            await layer.group_add("run-8", channel)
        await layer.group_send("run-8", {"type": "run.event"})

    asyncio.run(main())
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT channel, count(*) FROM messages GROUP BY channel").fetchall()
    assert dict(rows) == dict.fromkeys(members, 1)


def test_many_waiting_receivers_each_get_their_message(db_path: Path) -> None:
    layer = make_layer(db_path)
    channels = [f"browser.{index}" for index in range(60)]

    async def main() -> list[dict]:
        for channel in channels:
            await layer.group_add("run-7", channel)
        waiting = [asyncio.create_task(receive_within(layer, channel)) for channel in channels]
        idle = asyncio.create_task(layer.receive("browser.not-in-group"))
        await asyncio.sleep(0.1)  # every receiver has polled once and now waits
        await layer.group_send("run-7", {"type": "run.event", "seq": 1})
        await layer.send("browser.0", {"type": "run.event", "seq": 2})
        received = await asyncio.gather(*waiting)
        received.append(await receive_within(layer, "browser.0"))
        assert not idle.done()
        idle.cancel()
        return received

    received = asyncio.run(main())
    assert [message["seq"] for message in received] == [1] * 60 + [2]


def test_the_watcher_finds_messages_in_every_chunk_of_waiting_channels(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A missed channel is only noticed late (after others stop waiting), so check the query.
    monkeypatch.setattr(layers, "_CHANNELS_PER_QUERY", 7)
    layer = make_layer(db_path)
    channels = [f"browser.{index}" for index in range(30)]
    with_messages = set(channels[2::3])

    async def main() -> None:
        for channel in with_messages:
            await layer.send(channel, {"type": "run.event"})

    asyncio.run(main())
    assert layer._channels_with_messages(channels) == with_messages


# Expiry


def test_expired_messages_are_not_received(db_path: Path) -> None:
    layer = make_layer(db_path, expiry=0.3)
    layer.sweep_interval = 3600  # the expired row stays in the file; receive must skip it

    async def main() -> None:
        await layer.send("run.events", {"type": "run.event", "seq": "stale"})
        await asyncio.sleep(0.4)
        await assert_nothing_arrives(layer, "run.events")
        await layer.send("run.events", {"type": "run.event", "seq": "fresh"})
        assert (await receive_within(layer, "run.events"))["seq"] == "fresh"

    asyncio.run(main())
    assert count_rows(db_path, "messages") == 1


def test_expired_messages_are_swept_from_the_file(db_path: Path) -> None:
    layer = make_layer(db_path, expiry=0.3)
    layer.sweep_interval = 0

    async def main() -> None:
        for seq in range(3):
            await layer.send("run.events", {"type": "run.event", "seq": seq})
        await asyncio.sleep(0.4)
        await layer.send("other", {"type": "run.event"})

    asyncio.run(main())
    assert count_rows(db_path, "messages") == 1


def test_group_membership_expires(db_path: Path) -> None:
    layer = make_layer(db_path, group_expiry=0.3)

    async def main() -> None:
        await layer.group_add("run-7", "browser.a")
        await asyncio.sleep(0.4)
        await layer.group_send("run-7", {"type": "run.event"})
        await assert_nothing_arrives(layer, "browser.a")

    asyncio.run(main())


def test_group_add_again_renews_the_membership(db_path: Path) -> None:
    layer = make_layer(db_path, group_expiry=0.5)

    async def main() -> None:
        await layer.group_add("run-7", "browser.a")
        await asyncio.sleep(0.3)
        await layer.group_add("run-7", "browser.a")
        await asyncio.sleep(0.3)  # past the first membership's expiry
        await layer.group_send("run-7", {"type": "run.event"})
        assert await receive_within(layer, "browser.a") == {"type": "run.event"}

    asyncio.run(main())


def test_a_channel_that_lets_a_message_expire_leaves_its_groups(db_path: Path) -> None:
    layer = make_layer(db_path, expiry=0.3)
    layer.sweep_interval = 0

    async def main() -> None:
        await layer.group_add("run-7", "browser.gone")
        await layer.group_add("run-7", "browser.alive")
        await layer.group_send("run-7", {"type": "run.event", "seq": 1})
        assert (await receive_within(layer, "browser.alive"))["seq"] == 1
        await asyncio.sleep(0.4)  # browser.gone never reads; its message expires
        await layer.group_send("run-7", {"type": "run.event", "seq": 2})
        assert (await receive_within(layer, "browser.alive"))["seq"] == 2

    asyncio.run(main())
    with sqlite3.connect(db_path) as conn:
        members = conn.execute("SELECT channel FROM group_memberships").fetchall()
    assert members == [("browser.alive",)]


# Capacity


def test_send_to_a_full_channel_raises_channel_full(db_path: Path) -> None:
    layer = make_layer(db_path, capacity=3)

    async def main() -> None:
        for seq in range(3):
            await layer.send("run.events", {"type": "run.event", "seq": seq})
        with pytest.raises(ChannelFull):
            await layer.send("run.events", {"type": "run.event", "seq": 3})
        await layer.receive("run.events")
        await layer.send("run.events", {"type": "run.event", "seq": 4})

    asyncio.run(main())


def test_channel_capacity_patterns_override_the_default(db_path: Path) -> None:
    layer = make_layer(db_path, capacity=100, channel_capacity={"tight.*": 1})

    async def main() -> None:
        await layer.send("tight.one", {"type": "x"})
        with pytest.raises(ChannelFull):
            await layer.send("tight.one", {"type": "x"})
        for _ in range(5):
            await layer.send("roomy.one", {"type": "x"})

    asyncio.run(main())


def test_group_send_skips_full_channels_silently(db_path: Path) -> None:
    layer = make_layer(db_path, capacity=2)

    async def main() -> None:
        await layer.group_add("run-7", "browser.full")
        await layer.group_add("run-7", "browser.empty")
        await layer.send("browser.full", {"type": "run.event", "seq": "a"})
        await layer.send("browser.full", {"type": "run.event", "seq": "b"})

        await layer.group_send("run-7", {"type": "run.event", "seq": "c"})

        assert (await receive_within(layer, "browser.empty"))["seq"] == "c"
        seqs = [(await receive_within(layer, "browser.full"))["seq"] for _ in range(2)]
        assert seqs == ["a", "b"]
        await assert_nothing_arrives(layer, "browser.full")

    asyncio.run(main())


# Flush and validation


def test_flush_removes_messages_and_groups(db_path: Path) -> None:
    layer = make_layer(db_path)

    async def main() -> None:
        await layer.send("run.events", {"type": "run.event"})
        await layer.group_add("run-7", "browser.a")
        await layer.flush()
        await layer.group_send("run-7", {"type": "run.event"})
        await assert_nothing_arrives(layer, "run.events")
        await assert_nothing_arrives(layer, "browser.a")

    asyncio.run(main())


def test_invalid_names_are_refused(db_path: Path) -> None:
    layer = make_layer(db_path)

    async def main() -> None:
        with pytest.raises(TypeError):
            await layer.send("bad channel!", {"type": "x"})
        with pytest.raises(TypeError):
            await layer.receive("x" * 200)
        with pytest.raises(TypeError):
            await layer.group_add("bad group", "browser.a")
        with pytest.raises(TypeError):
            await layer.group_send("bad/group", {"type": "x"})

    asyncio.run(main())


def test_unserializable_messages_are_refused_with_a_clear_type_error(db_path: Path) -> None:
    layer = make_layer(db_path)

    async def main() -> None:
        with pytest.raises(TypeError, match="Channel layer messages may only hold"):
            await layer.send("run.events", {"type": "x", "at": datetime.datetime.now()})
        await assert_nothing_arrives(layer, "run.events")

    asyncio.run(main())


def test_json_is_used_when_msgpack_is_missing(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layers, "msgpack", None)
    layer = make_layer(db_path)
    message = {"type": "run.event", "run": {"id": 7, "tags": ["a"]}, "progress": 0.5}

    async def main() -> None:
        await layer.send("run.events", message)
        assert await receive_within(layer, "run.events") == message
        with pytest.raises(TypeError, match="JSON values"):
            await layer.send("run.events", {"type": "x", "raw": b"\x00"})
        with pytest.raises(TypeError, match="JSON values"):
            await layer.send("run.events", {"type": "x", "ratio": float("nan")})

    asyncio.run(main())


def test_sync_callers_like_the_celery_worker_can_publish(db_path: Path) -> None:
    layer = make_layer(db_path)
    asyncio.run(layer.group_add("run-7", "browser.a"))

    # async_to_sync runs each call on a new event loop, as the worker's task code would.
    for seq in range(20):
        async_to_sync(layer.group_send)("run-7", {"type": "run.event", "seq": seq})

    async def main() -> list[int]:
        return [(await receive_within(layer, "browser.a"))["seq"] for _ in range(20)]

    assert asyncio.run(main()) == list(range(20))


def test_the_layer_keeps_working_after_close(db_path: Path) -> None:
    layer = make_layer(db_path)

    async def main() -> None:
        await layer.send("run.events", {"type": "run.event", "seq": 1})
        await layer.close()
        assert (await receive_within(layer, "run.events"))["seq"] == 1
        await layer.close()

    asyncio.run(main())


# Cancellation


def test_receive_is_cancellable(db_path: Path) -> None:
    layer = make_layer(db_path)

    async def main() -> None:
        task = asyncio.create_task(layer.receive("browser.a"))
        await asyncio.sleep(0.1)
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 1)
        assert time.monotonic() - started < 0.5
        # The cancelled receive left nothing polling that could swallow the next message.
        await asyncio.sleep(0.1)
        await layer.send("browser.a", {"type": "run.event"})
        assert await receive_within(layer, "browser.a") == {"type": "run.event"}

    asyncio.run(main())


def test_a_receive_cancelled_mid_claim_puts_the_message_back(db_path: Path) -> None:
    layer = make_layer(db_path)
    claimed = threading.Event()
    take_oldest = layer._take_oldest

    def slow_take_oldest(conn: sqlite3.Connection, channel: str):
        row = take_oldest(conn, channel)
        if row is not None:
            claimed.set()
            time.sleep(0.3)  # the consumer disconnects while this thread holds the message
        return row

    layer._take_oldest = slow_take_oldest  # type: ignore[method-assign]

    async def main() -> None:
        await layer.send("browser.a", {"type": "run.event", "seq": 1})
        task = asyncio.create_task(layer.receive("browser.a"))
        assert await asyncio.to_thread(claimed.wait, 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        other = make_layer(db_path)
        assert await receive_within(other, "browser.a") == {"type": "run.event", "seq": 1}

    asyncio.run(main())


# Concurrency and other processes


def test_two_receivers_never_get_the_same_message(db_path: Path) -> None:
    # Two layer instances have separate connection pools, as two processes would.
    first, second = make_layer(db_path, capacity=1000), make_layer(db_path, capacity=1000)
    got: dict[str, list[int]] = {"first": [], "second": []}

    async def drain(layer: SQLiteChannelLayer, into: list[int]) -> None:
        while True:
            into.append((await layer.receive("jobs"))["seq"])

    async def main() -> None:
        for seq in range(200):
            await first.send("jobs", {"type": "job", "seq": seq})
        tasks = [
            asyncio.create_task(drain(first, got["first"])),
            asyncio.create_task(drain(second, got["second"])),
        ]
        deadline = time.monotonic() + 10
        while len(got["first"]) + len(got["second"]) < 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # room for a duplicate to show up
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    received = got["first"] + got["second"]
    assert len(received) == 200
    assert sorted(received) == list(range(200))


def _child_group_send(path: str, group: str, count: int) -> None:
    layer = SQLiteChannelLayer(path=path, capacity=1000)

    async def main() -> None:
        for seq in range(count):
            await layer.group_send(group, {"type": "run.event", "seq": seq, "sent": time.time()})
            await asyncio.sleep(random.uniform(0.005, 0.02))

    asyncio.run(main())


def _child_receive(path: str, group: str, ready: Any, results: Any) -> None:
    layer = SQLiteChannelLayer(path=path)

    async def main() -> None:
        channel = await layer.new_channel("browser")
        await layer.group_add(group, channel)
        ready.set()
        results.put(await asyncio.wait_for(layer.receive(channel), 10))

    asyncio.run(main())


def _child_start_together(path: str, index: int, go: Any) -> None:
    go.wait(10)
    layer = SQLiteChannelLayer(path=path)

    async def main() -> None:
        await layer.group_add("started", f"worker.{index}")
        await layer.send("collect", {"type": "hello", "index": index})

    asyncio.run(main())


def _forked_child_group_send(layer: SQLiteChannelLayer) -> None:
    # Connections pooled before the fork belong to the parent and must not be reused here.
    if layer._idle:
        raise SystemExit(3)
    asyncio.run(layer.group_send("run-7", {"type": "run.event", "from": "fork"}))


def test_a_forked_child_opens_its_own_connections(db_path: Path) -> None:
    # Celery's prefork pool forks worker children from a parent that may have used the layer.
    layer = make_layer(db_path)
    asyncio.run(layer.group_add("run-7", "browser.a"))
    assert layer._idle  # the parent holds a pooled connection at fork time
    child = multiprocessing.get_context("fork").Process(
        target=_forked_child_group_send, args=(layer,)
    )
    child.start()
    child.join(15)

    assert child.exitcode == 0
    assert asyncio.run(receive_within(layer, "browser.a"))["from"] == "fork"


def test_group_send_in_another_process_reaches_a_receiver_here(db_path: Path) -> None:
    layer = make_layer(db_path)

    async def main() -> list[int]:
        await layer.group_add("run-7", "browser.a")
        child = SPAWN.Process(target=_child_group_send, args=(str(db_path), "run-7", 3))
        child.start()
        try:
            return [(await receive_within(layer, "browser.a", 15))["seq"] for _ in range(3)]
        finally:
            await asyncio.to_thread(child.join, 15)

    assert asyncio.run(main()) == [0, 1, 2]


def test_group_send_here_reaches_a_receiver_in_another_process(db_path: Path) -> None:
    layer = make_layer(db_path)
    ready, results = SPAWN.Event(), SPAWN.Queue()
    child = SPAWN.Process(target=_child_receive, args=(str(db_path), "run-7", ready, results))
    child.start()
    try:
        assert ready.wait(15)
        asyncio.run(layer.group_send("run-7", {"type": "run.event", "raw": b"\x01"}))
        assert results.get(timeout=10) == {"type": "run.event", "raw": b"\x01"}
    finally:
        child.join(15)
    assert child.exitcode == 0


def test_processes_starting_together_share_a_fresh_file(db_path: Path) -> None:
    go = SPAWN.Event()
    children = [
        SPAWN.Process(target=_child_start_together, args=(str(db_path), index, go))
        for index in range(4)
    ]
    for child in children:
        child.start()
    go.set()
    for child in children:
        child.join(20)
    assert [child.exitcode for child in children] == [0, 0, 0, 0]

    layer = make_layer(db_path)

    async def main() -> set[int]:
        return {(await receive_within(layer, "collect"))["index"] for _ in range(4)}

    assert asyncio.run(main()) == {0, 1, 2, 3}
    assert count_rows(db_path, "group_memberships") == 4


def test_cross_process_latency(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Measured, not asserted: a busy machine must not fail the suite."""
    layer = make_layer(db_path)
    count = 100

    async def main() -> list[float]:
        await layer.group_add("run-7", "browser.a")
        child = SPAWN.Process(target=_child_group_send, args=(str(db_path), "run-7", count))
        child.start()
        latencies = []
        try:
            for seq in range(count):
                message = await receive_within(layer, "browser.a", 15)
                latencies.append(time.time() - message["sent"])
                assert message["seq"] == seq
        finally:
            await asyncio.to_thread(child.join, 15)
        return latencies

    latencies = sorted(asyncio.run(main()))
    p50 = statistics.median(latencies) * 1000
    p95 = statistics.quantiles(latencies, n=100)[94] * 1000
    with capsys.disabled():
        print(
            f"\ncross-process latency over {count} messages (poll_interval "
            f"{layer.poll_interval * 1000:.0f} ms): p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
            f"max {latencies[-1] * 1000:.1f} ms"
        )
