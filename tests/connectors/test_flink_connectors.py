"""A batch pipeline with Kafka and Iceberg nodes, compiled for Flink and run from .venv-flink as the
runner runs it: the Kafka bridge drains the topic before Flink starts, and once the job succeeded
the committer and the publisher deliver its staged rows."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compiler import compile_pipeline

pytestmark = [pytest.mark.flink, pytest.mark.kafka, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
FLINK_PYTHON = REPO / ".venv-flink" / "bin" / "python"
SCHEMA = [{"name": "id", "type": "bigint", "nullable": False}, {"name": "name", "type": "string"},
          {"name": "amount", "type": "decimal(10,2)"}, {"name": "at", "type": "timestamp"}]  # fmt: skip


def _edge(a: str, b: str) -> dict:
    return {"from": {"node": a, "port": "out"}, "to": {"node": b, "port": "in"}}


def _consume(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes | None, bytes]]:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    received: list[tuple[bytes | None, bytes]] = []
    deadline = time.monotonic() + 60
    try:
        while len(received) < expected and time.monotonic() < deadline:
            received += [(m.key(), m.value()) for m in consumer.consume(500, timeout=1) if not m.error()]
        received += [(m.key(), m.value()) for m in consumer.consume(500, timeout=2) if not m.error()]
    finally:
        consumer.close()
    return received


def _run_job(document: dict, tmp_path: Path, job_env: dict[str, str]) -> tuple[Path, subprocess.CompletedProcess]:
    """Compile `document` for Flink and run it from .venv-flink as the runner does; its data folder
    and its finished process (which must have succeeded)."""
    job = tmp_path / "job.py"
    job.write_text(compile_pipeline(document, engine="flink").code)
    data = tmp_path / "data"
    data.mkdir()
    env = {**job_env, "STUDIO_CONNECTOR_PYTHON": sys.executable, "PYFLINK_CLIENT_EXECUTABLE": str(FLINK_PYTHON)}
    result = subprocess.run([str(FLINK_PYTHON), str(job)], cwd=data, env=env, capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return data, result


@pytest.mark.skipif(not FLINK_PYTHON.exists(), reason="the Flink virtual environment (.venv-flink) is not set up")
def test_flink_batch_job_moves_kafka_rows_into_iceberg_and_kafka(tmp_path, bootstrap, topic, job_env, lakehouse):
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(1000):
        value = {"id": i, "name": f"n{i}", "amount": f"{i}.25", "at": f"2026-01-01T10:{i % 60:02d}:00Z"}
        producer.produce(topic, key=str(i).encode(), value=json.dumps(value).encode())
    producer.produce(topic, value=b'{"id": null, "name": "no id"}')
    assert producer.flush(30) == 0
    document = {
        "format": "studio.pipeline/v1", "name": "flink lakehouse", "mode": "batch",
        "nodes": [
            {"id": "orders", "type": "source.kafka",
             "config": {"topic": topic, "schema": SCHEMA, "starting_offsets": "earliest"}},
            {"id": "even", "type": "transform.filter", "config": {"condition": "id % 2 = 0"}},
            {"id": "lake", "type": "sink.iceberg",
             "config": {"table": "flink.orders", "mode": "append",
                        "partition_by": [{"column": "at", "transform": "hour"}]}},
            {"id": "feed", "type": "sink.kafka", "config": {"topic": f"{topic}-even", "key_columns": ["id"]}},
        ],
        "edges": [_edge("orders", "even"), _edge("even", "lake"), _edge("even", "feed")],
    }  # fmt: skip
    data, result = _run_job(document, tmp_path, job_env)
    metrics = [json.loads(line.split(" ", 1)[1]) for line in result.stdout.splitlines()
               if line.startswith("STUDIO_METRIC ")]  # fmt: skip
    assert {"node": "orders", "port": "out", "rows": 1000} in metrics
    assert {"node": "lake", "port": "in", "rows": 500} in metrics

    table = lakehouse.table("flink.orders")
    assert [f.name for f in table.spec().fields] == ["at_hour"]
    rows = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == list(range(0, 1000, 2))
    assert str(rows[1]["amount"]) == "2.25" and rows[1]["at"].isoformat() == "2026-01-01T10:02:00"

    sent = _consume(bootstrap, f"{topic}-even", 500)
    assert len(sent) == 500
    key, value = next((k, json.loads(v)) for k, v in sent if json.loads(v)["id"] == 2)
    assert key == b'{"id":2}'
    assert value == {"id": 2, "name": "n2", "amount": 2.25, "at": "2026-01-01 10:02:00.000"}

    letters = [json.loads(line) for path in (data / "dead_letter" / "flink_lakehouse" / "orders").rglob("*.jsonl")
               for line in path.read_text().splitlines()]  # fmt: skip
    assert [letter["error"] for letter in letters] == ["column 'id' is NOT NULL but the record has no value for it"]


# Values that the landing files must carry exactly: the NULL literal as a string, empty strings,
# quotes, delimiters, line breaks, non-ASCII text, the string mark itself, and NULL in every type.
TRICKY_STRINGS = ["\\N", "", 'say "hi", ok', "line1\nline2", "crlf\r\nend", "ünï 😀", "~tilde", " spaced ", None]
EVERY_TYPE = [{"name": "id", "type": "bigint", "nullable": False}, {"name": "text", "type": "string"},
              {"name": "small", "type": "int"}, {"name": "ratio", "type": "double"}, {"name": "flag", "type": "boolean"},
              {"name": "day", "type": "date"}, {"name": "at", "type": "timestamp"},
              {"name": "amount", "type": "decimal(10,2)"}, {"name": "blob", "type": "binary"}]  # fmt: skip


@pytest.mark.skipif(not FLINK_PYTHON.exists(), reason="the Flink virtual environment (.venv-flink) is not set up")
def test_flink_reads_every_landed_value_exactly(tmp_path, bootstrap, topic, job_env):
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    expected = []
    for i, text in enumerate(TRICKY_STRINGS):
        full = i % 2 == 0
        value = {"id": i, "text": text, "small": -i if full else None, "ratio": i / 4 if full else None,
                 "flag": full or None, "day": "2026-02-03" if full else None,
                 "at": f"2026-01-01T10:00:0{i}.125Z" if full else None,
                 "amount": f"-{i}.05" if full else None,
                 "blob": base64.b64encode(f"{text},\n".encode()).decode() if full else None}  # fmt: skip
        producer.produce(topic, value=json.dumps(value).encode())
        row = {**value, "at": f"2026-01-01 10:00:0{i}.125" if full else None, "amount": -float(f"{i}.05") if full else None}
        expected.append({k: v for k, v in row.items() if v is not None})  # JSON files leave NULL fields out
    assert producer.flush(30) == 0
    document = {
        "format": "studio.pipeline/v1", "name": "landing values", "mode": "batch",
        "nodes": [
            {"id": "rows", "type": "source.kafka",
             "config": {"topic": topic, "schema": EVERY_TYPE, "starting_offsets": "earliest"}},
            {"id": "out", "type": "sink.file", "config": {"path": "out", "format": "json"}},
        ],
        "edges": [_edge("rows", "out")],
    }  # fmt: skip
    data, result = _run_job(document, tmp_path, job_env)
    written = [json.loads(line) for path in sorted((data / "out").rglob("*")) if path.is_file() and
               not path.name.startswith((".", "_")) for line in path.read_text().splitlines() if line.strip()]  # fmt: skip
    assert sorted(written, key=lambda r: r["id"]) == expected
