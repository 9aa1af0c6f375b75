"""The Flink-side Kafka bridge: drain to a landing folder and publish an outbox, exactly once
across SIGKILLs."""
from __future__ import annotations

import csv
import json
import random
import re
import sys
import time
from pathlib import Path

import pytest

from tests.connectors.processes import Job, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SCHEMA = json.dumps([{"name": "id", "type": "bigint", "nullable": False}, {"name": "text", "type": "string"}])
LANDED = re.compile(r".+\+(\d+)\+(\d{20})\+(\d{20})\.csv")


def _produce(bootstrap: str, topic: str, values: list[bytes | None]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for i, value in enumerate(values):
        while True:
            try:
                producer.produce(topic, key=str(i % 97).encode(), value=value)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0


def _high_watermarks(bootstrap: str, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "marks"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    finally:
        consumer.close()


def test_drain_lands_every_offset_exactly_once_across_sigkills(tmp_path, bootstrap, topic, job_env):
    count = 60_000
    values = [json.dumps({"id": i, "text": f"row {i}"}).encode() for i in range(count)]
    bad = {1234: b"{broken", 40_001: b"\xff\x00binary"}
    for index, value in bad.items():
        values[index] = value
    _produce(bootstrap, topic, values)
    landing = tmp_path / "landing"
    argv = [sys.executable, "-m", "runners.connectors.kafka_bridge", "drain", "--topic", topic, "--schema", SCHEMA,
            "--landing", str(landing), "--dead-letter", str(tmp_path / "dead"), "--max-records-per-file", "1500",
            "--max-file-seconds", "0.2"]
    bridge = Job(argv, env=job_env, cwd=tmp_path, log=tmp_path / "bridge.log")
    rng = random.Random(1)

    def landed() -> list[Path]:
        return [p for p in landing.glob("*.csv")] if landing.exists() else []

    total = sum(_high_watermarks(bootstrap, topic).values())

    def drained() -> bool:
        spans = [LANDED.fullmatch(p.name).groups() for p in landed()]  # type: ignore[union-attr]
        return sum(int(end) - int(start) for _, start, end in spans) == total

    for _ in range(5):
        bridge.start()
        before = len(landed())
        wait_until(lambda: len(landed()) > before or drained() or not bridge.running, timeout=120,
                   what="a landed file")  # fmt: skip
        time.sleep(rng.uniform(0, 0.5))
        bridge.kill()
    final = Job(argv + ["--until-caught-up"], env=job_env, cwd=tmp_path, log=tmp_path / "bridge.log")
    final.start()
    assert final.wait(120) == 0, final.tail()

    ranges: dict[int, list[tuple[int, int]]] = {}
    ids = []
    for path in landed():
        partition, start, end = (int(g) for g in LANDED.fullmatch(path.name).groups())  # type: ignore[union-attr]
        ranges.setdefault(partition, []).append((start, end))
        rows = list(csv.reader(path.read_text().splitlines()))  # id, "~row <id>": see LandingCsvEncoder
        assert all(text == f"~row {i}" for i, text in rows)
        ids += [int(i) for i, _ in rows]
    for partition, high in _high_watermarks(bootstrap, topic).items():
        spans = sorted(ranges.get(partition, []))
        assert spans[0][0] == 0 and spans[-1][1] == high, f"partition {partition} not fully drained"
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), f"gap or overlap in partition {partition}"
    assert sorted(ids) == sorted(set(range(count)) - set(bad))
    dead = [json.loads(line) for p in (tmp_path / "dead").rglob("*.jsonl") for line in p.read_text().splitlines()]
    assert sorted((d["value"], d["value_encoding"]) for d in dead) == sorted(
        [("{broken", "utf-8"), ("/wBiaW5hcnk=", "base64")]
    )
    assert not list((landing / "_inflight").glob("*.tmp"))


def _consume_all(bootstrap: str, topic: str) -> list[bytes]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.time()}",
                         "isolation.level": "read_uncommitted", "enable.partition.eof": True})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        values, finished = [], set()
        deadline = time.monotonic() + 60
        while len(finished) < len(partitions) and time.monotonic() < deadline:
            for message in consumer.consume(1000, timeout=1):
                if message.error():
                    finished.add(message.partition())
                else:
                    values.append(message.value())
        return values
    finally:
        consumer.close()


def test_publish_delivers_each_outbox_line_exactly_once_across_sigkills(tmp_path, bootstrap, topic, job_env):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    expected = []
    for f in range(30):
        lines = [json.dumps({"id": f * 1000 + i, "text": f"file {f}"}) for i in range(1000)]
        (outbox / f"part-x-0-{f}").write_text("\n".join(lines) + "\n")
        expected += lines
    (outbox / ".part-x-0-30.inprogress").write_text('{"id": -1}\n')  # Flink has not committed it
    argv = [sys.executable, "-m", "runners.connectors.kafka_bridge", "publish", "--outbox", str(outbox),
            "--topic", topic, "--key-columns", '["id"]', "--lines-per-flush", "300"]
    follower = Job(argv, env=job_env, cwd=tmp_path, log=tmp_path / "publish.log")
    rng = random.Random(2)

    def published() -> int:
        folder = outbox / "_published"
        return len(list(folder.iterdir())) if folder.exists() else 0

    for _ in range(5):
        follower.start()
        before = published()
        wait_until(lambda: published() > before or published() == 30 or not follower.running, timeout=60,
                   what="a published file")
        time.sleep(rng.uniform(0, 0.4))
        follower.kill()
    final = Job(argv + ["--until-idle", "1"], env=job_env, cwd=tmp_path, log=tmp_path / "publish.log")
    final.start()
    assert final.wait(120) == 0, final.tail()

    received = [v.decode() for v in _consume_all(bootstrap, topic)]
    assert len(received) == len(expected), "lines lost or duplicated"
    assert sorted(received) == sorted(expected)
    assert published() == 30 and (outbox / ".part-x-0-30.inprogress").exists()


def test_publish_repairs_a_crash_between_delivery_and_its_barrier(tmp_path, kafka_broker, bootstrap, topic):
    """Lines delivered after the last recorded barrier are found in the topic and not sent again."""
    from runners.connectors.kafka_bridge import Publisher

    outbox = tmp_path / "outbox"
    outbox.mkdir()
    lines = [json.dumps({"id": i}) for i in range(1000)]
    (outbox / "part-0").write_text("\n".join(lines) + "\n")
    crashed = Publisher(outbox=outbox, topic=topic, lines_per_flush=400)
    saves = []
    real_save = Publisher._save_state

    def crash_on_second_barrier(self, file, barrier, done):  # type: ignore[no-untyped-def]
        saves.append(barrier)
        if barrier == 800:
            raise SystemExit("killed after delivering lines 400-799, before recording it")
        return real_save(self, file, barrier, done)

    Publisher._save_state = crash_on_second_barrier  # type: ignore[method-assign]
    try:
        with pytest.raises(SystemExit):
            crashed.run(until_idle=0)
    finally:
        Publisher._save_state = real_save  # type: ignore[method-assign]
    assert len(_consume_all(bootstrap, topic)) == 800  # 400 behind the barrier, 400 after it
    recovered = Publisher(outbox=outbox, topic=topic, lines_per_flush=400)
    stats = recovered.run(until_idle=0)
    assert stats["repaired"] == 400 and stats["lines"] == 200
    received = sorted(v.decode() for v in _consume_all(bootstrap, topic))
    assert received == sorted(lines)
