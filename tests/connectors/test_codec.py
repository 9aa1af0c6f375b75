"""Decoding Kafka values (json, debezium-json) and encoding rows as JSON."""
from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

import pyarrow as pa
import pytest

from runners.connectors.codec import Decoder, JsonEncoder
from runners.connectors.columns import parse_schema, with_cdc_columns

FIELDS = parse_schema(
    [
        {"name": "id", "type": "bigint", "nullable": False},
        {"name": "qty", "type": "int"},
        {"name": "name", "type": "string"},
        {"name": "price", "type": "decimal(10,2)"},
        {"name": "ratio", "type": "double"},
        {"name": "ok", "type": "boolean"},
        {"name": "day", "type": "date"},
        {"name": "at", "type": "timestamp"},
    ]
)


def _careful(decoder: Decoder) -> Decoder:
    """The same decoder with the Arrow fast path switched off: the per-record reference."""
    decoder._fast_schemas = []
    return decoder


def _random_record(rng: random.Random, i: int) -> dict:
    return {
        "id": i,
        "qty": rng.choice([None, rng.randrange(-(2**31), 2**31)]),
        "name": rng.choice([None, "", "plain", "ünïcode ✓", 'quote " and \\ backslash']),
        "price": rng.choice([None, f"{rng.randrange(10**7)}.{rng.randrange(100):02d}", rng.randrange(1000)]),
        "ratio": rng.choice([None, rng.random() * 1e6, -3, 0.1]),
        "ok": rng.choice([None, True, False]),
        "day": rng.choice([None, "2026-02-28", "1999-12-31"]),
        "at": rng.choice([None, "2026-01-01 10:00:00", "2026-01-01T10:00:00.123456", "2026-03-01T23:30:00+02:00"]),
    }


@pytest.mark.parametrize("epoch", [False, True], ids=["times as text", "epoch milliseconds and days"])
def test_arrow_fast_path_agrees_with_the_per_record_reference(epoch: bool):
    rng = random.Random(5)
    records = [_random_record(rng, i) for i in range(3000)]
    if epoch:  # as Debezium sends io.debezium.time.Timestamp and io.debezium.time.Date
        for record in records:
            record["at"] = rng.choice([None, rng.randrange(-10**12, 4 * 10**12)])
            record["day"] = rng.choice([None, rng.randrange(-20_000, 60_000)])
    values = [json.dumps(record).encode() for record in records]
    assert Decoder(FIELDS, "json")._fast(values) is not None  # Arrow parses all of it
    fast = Decoder(FIELDS, "json").decode(values)
    reference = _careful(Decoder(FIELDS, "json")).decode(values)
    assert fast.failures == reference.failures == []
    assert fast.batch.to_pylist() == reference.batch.to_pylist()
    assert fast.batch.num_rows == 3000


def test_values_are_converted_to_the_column_types():
    value = {"id": 1, "qty": 2, "name": "a", "price": "12.50", "ratio": 1, "ok": True, "day": "2026-01-02",
             "at": "2026-01-01T10:00:00Z", "unknown": {"nested": [1]}}
    row = Decoder(FIELDS, "json").decode([json.dumps(value).encode()]).batch.to_pylist()[0]
    assert row == {"id": 1, "qty": 2, "name": "a", "price": Decimal("12.50"), "ratio": 1.0, "ok": True,
                   "day": dt.date(2026, 1, 2), "at": dt.datetime(2026, 1, 1, 10)}
    # Debezium's integer encodings: days since the epoch, milliseconds since the epoch.
    numeric = {"id": 2, "day": 20455, "at": 1767261600000}
    row = Decoder(FIELDS, "json").decode([json.dumps(numeric).encode()]).batch.to_pylist()[0]
    assert row["day"] == dt.date(2026, 1, 2) and row["at"] == dt.datetime(2026, 1, 1, 10)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "not an object"),
        (b'{"id": "seven"}', "'id'"),
        (b'{"id": 1.5}', "'id'"),
        (b'{"id": 1, "qty": 3000000000}', "out of range"),
        (b'{"id": 1, "price": "1.234"}', "decimal places"),
        (b'{"id": 1, "name": 5}', "'name'"),
        (b'{"name": "no id"}', "NOT NULL"),
        (None, "no value"),
    ],
)
def test_malformed_records_are_reported_with_their_position(value, reason):
    good = b'{"id": 1}'
    result = Decoder(FIELDS, "json").decode([good, value, good])
    assert [index for index, _ in result.failures] == [1]
    assert reason in result.failures[0][1]
    assert result.batch.num_rows == 2


def test_debezium_with_and_without_envelope_deletes_and_tombstones():
    fields = with_cdc_columns(parse_schema([{"name": "id", "type": "bigint"}, {"name": "name", "type": "string"}]))
    create = {"before": None, "after": {"id": 1, "name": "a"}, "op": "c", "ts_ms": 1000, "source": {"x": 1}}
    update = {"schema": {"type": "struct"}, "payload": {"before": {"id": 1, "name": "a"}, "after": {"id": 1, "name": "b"},
                                                        "op": "u", "ts_ms": 2000}}
    delete = {"payload": {"before": {"id": 1, "name": "b"}, "after": None, "op": "d", "ts_ms": 3000}}
    snapshot = {"before": None, "after": {"id": 2, "name": "r"}, "op": "r", "ts_ms": 500}
    values = [json.dumps(e).encode() for e in (create, update, delete)] + [None, json.dumps(snapshot).encode()]
    for decoder in (Decoder(fields, "debezium-json"), _careful(Decoder(fields, "debezium-json"))):
        result = decoder.decode(values)
        assert result.failures == []
        assert result.tombstones == 1
        assert result.batch.to_pylist() == [
            {"id": 1, "name": "a", "_op": "c", "_ts": dt.datetime(1970, 1, 1, 0, 0, 1)},
            {"id": 1, "name": "b", "_op": "u", "_ts": dt.datetime(1970, 1, 1, 0, 0, 2)},
            {"id": 1, "name": "b", "_op": "d", "_ts": dt.datetime(1970, 1, 1, 0, 0, 3)},
            {"id": 2, "name": "r", "_op": "r", "_ts": dt.datetime(1970, 1, 1, 0, 0, 0, 500000)},
        ]


def test_debezium_events_without_a_usable_image_are_malformed():
    fields = with_cdc_columns(parse_schema([{"name": "id", "type": "bigint"}]))
    values = [
        json.dumps({"op": "t", "ts_ms": 1}).encode(),  # truncate: no row
        json.dumps({"before": None, "after": None, "op": "d", "ts_ms": 1}).encode(),  # delete without before
        json.dumps({"before": None, "after": {"id": 3}, "op": "c", "ts_ms": 1}).encode(),
    ]
    result = Decoder(fields, "debezium-json").decode(values)
    assert [i for i, _ in result.failures] == [0, 1]
    assert result.batch.column("id").to_pylist() == [3]


def test_encoder_writes_the_studio_json_forms_and_round_trips():
    batch = pa.RecordBatch.from_pylist(
        [
            {"id": 1, "qty": 2, "name": 'é "q"', "price": Decimal("12.50"), "ratio": 0.5, "ok": True,
             "day": dt.date(2026, 1, 2), "at": dt.datetime(2026, 1, 1, 10, 0, 0, 123000)},
            {"id": 2, "qty": None, "name": None, "price": None, "ratio": float("nan"), "ok": None, "day": None,
             "at": dt.datetime(2026, 1, 1, 10, 0, 0, 123456)},
        ],
        schema=pa.schema([pa.field(f.name, f.arrow_type) for f in FIELDS]),
    )
    lines = JsonEncoder().encode(batch)
    first = json.loads(lines[0])
    assert first["price"] == 12.5 and b'"price":12.50' in lines[0]
    assert first["at"] == "2026-01-01 10:00:00.123" and first["day"] == "2026-01-02"
    assert json.loads(lines[1])["at"] == "2026-01-01 10:00:00.123456"
    assert json.loads(lines[1])["ratio"] is None
    decoded = Decoder(FIELDS, "json").decode(lines).batch.to_pylist()
    assert decoded[0] == batch.to_pylist()[0]
    assert JsonEncoder(["id", "name"]).encode(batch)[0] == '{"id":1,"name":"é \\"q\\""}'.encode()
