"""Iceberg writes without Spark: upsert semantics, exactly-once commits, concurrency, partitions,
schema evolution, and the committer of Flink's staged files."""
from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from runners.connectors import iceberg_tables as tables
from runners.connectors.columns import parse_schema
from runners.connectors.iceberg_commit import StagedCommitter

FIELDS = parse_schema(
    [
        {"name": "id", "type": "bigint", "nullable": False},
        {"name": "name", "type": "string"},
        {"name": "at", "type": "timestamp"},
        {"name": "_ts", "type": "timestamp"},
    ]
)


def _rows(table) -> list[dict]:  # type: ignore[no-untyped-def]
    return sorted(table.refresh().scan().to_arrow().to_pylist(), key=lambda r: r["id"])


def _ts(seconds: int) -> dt.datetime:
    return dt.datetime(2026, 1, 1) + dt.timedelta(seconds=seconds)


def _changes(rows: list[tuple]) -> pa.Table:
    ids, names, ops, stamps = zip(*rows)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": pa.array(names, pa.string()),
            "_op": pa.array(ops, pa.string()),
            "_ts": pa.array([_ts(s) if s is not None else None for s in stamps], pa.timestamp("us")),
        }
    )


def test_upsert_keeps_the_last_change_per_key_and_deletes(lakehouse):
    table = tables.ensure_table("shop.customers", FIELDS)
    spec = tables.TableWrite(table="shop.customers", mode="upsert", keys=["id"], query_id="q", batch_id=0)
    # Out of arrival order on purpose: _ts decides; equal _ts falls back to arrival order.
    tables.commit(spec, changes=_changes([(1, "late", "u", 5), (1, "early", "c", 1), (2, "x", "c", 1),
                                          (2, "y", "u", 1), (3, "gone", "c", 1), (3, None, "d", 2)]))
    assert [(r["id"], r["name"]) for r in _rows(table)] == [(1, "late"), (2, "y")]
    spec2 = tables.TableWrite(table="shop.customers", mode="upsert", keys=["id"], query_id="q", batch_id=1)
    tables.commit(spec2, changes=_changes([(2, None, "d", 9), (4, "new", "r", 9), (1, "again", "u", 9)]))
    assert [(r["id"], r["name"]) for r in _rows(table)] == [(1, "again"), (4, "new")]
    assert "_op" not in table.schema().column_names


def test_a_replayed_batch_is_committed_once(lakehouse):
    table = tables.ensure_table("shop.events", FIELDS)
    data = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", "b"]})
    for attempt in range(3):
        files = tables.write_data_files(table, data)
        result = tables.commit(tables.TableWrite("shop.events", query_id="q1", batch_id=7), data_files=files)
        assert result.committed == (attempt == 0)
    older = tables.commit(tables.TableWrite("shop.events", query_id="q1", batch_id=3),
                          data_files=tables.write_data_files(table, data))
    assert not older.committed  # batch ids of a query only grow: an older one is a replay too
    other = tables.commit(tables.TableWrite("shop.events", query_id="q2", batch_id=7),
                          data_files=tables.write_data_files(table, data))
    assert other.committed
    assert len(_rows(table)) == 4
    assert tables.last_committed_batch(table.refresh(), "q1") == 7


def _append_worker(args: tuple[str, str, int, int]) -> int:
    uri, warehouse, worker, rows = args
    os.environ["ICEBERG_CATALOG_URI"] = uri
    os.environ["ICEBERG_WAREHOUSE"] = warehouse
    from runners.connectors import iceberg_tables as t

    table = t.ensure_table("shop.concurrent", FIELDS[:2])
    total = 0
    for batch in range(3):
        ids = pa.array(range(worker * 10_000 + batch * 1000, worker * 10_000 + batch * 1000 + rows), pa.int64())
        data = pa.table({"id": ids, "name": pa.array([f"w{worker}"] * rows)})
        result = t.commit(t.TableWrite("shop.concurrent", query_id=f"w{worker}", batch_id=batch),
                          data_files=t.write_data_files(table, data))
        assert result.committed
        total += rows
    return total


@pytest.fixture
def postgres_catalog(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The catalog on PostgreSQL, as in production: a database of this test's own (127.0.0.1:5432)."""
    import psycopg

    name = f"iceberg_{uuid.uuid4().hex[:12]}"
    server = os.environ.get("STUDIO_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    uri = server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    monkeypatch.setenv("ICEBERG_CATALOG_URI", uri)
    monkeypatch.setenv("ICEBERG_WAREHOUSE", f"file://{tmp_path / 'warehouse'}")
    yield uri, f"file://{tmp_path / 'warehouse'}"
    from runners.connectors import config

    for catalog in config._catalogs.values():
        catalog.engine.dispose()
    config._catalogs.clear()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.parametrize("catalog", ["sqlite", "postgresql"])
def test_concurrent_appends_from_many_processes_all_land_exactly_once(catalog, lakehouse, request):
    uri, warehouse = lakehouse.catalog_uri, lakehouse.warehouse
    if catalog == "postgresql":
        uri, warehouse = request.getfixturevalue("postgres_catalog")
    tables.ensure_table("shop.concurrent", FIELDS[:2])
    workers = 6
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        written = pool.map(_append_worker, [(uri, warehouse, w, 500) for w in range(workers)])
    table = tables.load_catalog().load_table("shop.concurrent")
    ids = [r["id"] for r in _rows(table)]
    assert len(ids) == sum(written) == workers * 3 * 500
    assert len(set(ids)) == len(ids)
    commits = [s for s in table.snapshots() if s.summary.get("studio.query-id")]
    assert len(commits) == workers * 3


def test_partitioned_writes_land_in_their_partitions(lakehouse):
    import pyarrow.parquet as pq
    from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform, MonthTransform
    from pyiceberg.types import DateType, LongType, StringType, TimestampType

    fields = parse_schema([{"name": "id", "type": "bigint"}, {"name": "country", "type": "string"},
                           {"name": "at", "type": "timestamp"}, {"name": "on", "type": "date"}])
    partition_by = [("at", "day"), ("id", "bucket[4]"), ("country", "identity"), ("on", "month")]
    table = tables.ensure_table("shop.parts", fields, partition_by=partition_by)
    data = pa.table({
        "id": pa.array(range(400), pa.int64()),
        "country": pa.array([["de", "fr", None][i % 3] for i in range(400)]),
        "at": pa.array([_ts(i * 7919) if i % 11 else None for i in range(400)], pa.timestamp("us")),
        "on": pa.array([dt.date(2025, 1, 1) + dt.timedelta(days=i * 3) for i in range(400)], pa.date32()),
    })
    tables.commit(tables.TableWrite("shop.parts"), data_files=tables.write_data_files(table, data))
    reference = [(DayTransform(), TimestampType(), "at"), (BucketTransform(4), LongType(), "id"),
                 (IdentityTransform(), StringType(), "country"), (MonthTransform(), DateType(), "on")]

    def internal(value):  # type: ignore[no-untyped-def]
        if isinstance(value, dt.datetime):
            return (value - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
        if isinstance(value, dt.date):
            return (value - dt.date(1970, 1, 1)).days
        return value

    table = table.refresh()
    seen = 0
    for task in table.scan().plan_files():
        assert "at_day=" in task.file.file_path and "id_bucket_4=" in task.file.file_path
        for row in pq.read_table(task.file.file_path[len("file://"):]).to_pylist():
            expected = [transform.transform(kind)(internal(row[column])) for transform, kind, column in reference]
            assert list(task.file.partition) == expected
            seen += 1
    assert seen == 400
    assert table.scan(row_filter="country == 'de'").to_arrow().num_rows == len(range(0, 400, 3))


def test_new_columns_are_added_and_incompatible_types_refused(lakehouse):
    table = tables.ensure_table("shop.evolving", FIELDS[:2])
    tables.commit(tables.TableWrite("shop.evolving"),
                  data_files=tables.write_data_files(table, pa.table({"id": pa.array([1], pa.int64()), "name": ["a"]})))
    wider = parse_schema([{"name": "id", "type": "bigint"}, {"name": "name", "type": "string"},
                          {"name": "score", "type": "double"}])
    table = tables.ensure_table("shop.evolving", wider)
    assert table.schema().column_names == ["id", "name", "score"]
    data = pa.table({"id": pa.array([2], pa.int64()), "name": ["b"], "score": [0.5]})
    tables.commit(tables.TableWrite("shop.evolving"), data_files=tables.write_data_files(table, data))
    assert [(r["id"], r["score"]) for r in _rows(table)] == [(1, None), (2, 0.5)]
    narrower_int = parse_schema([{"name": "id", "type": "int"}])  # int widens into bigint: fine
    tables.ensure_table("shop.evolving", narrower_int)
    with pytest.raises(ValueError, match="'name' is bigint in the data but string"):
        tables.ensure_table("shop.evolving", parse_schema([{"name": "name", "type": "bigint"}]))


def _stage(folder: Path, name: str, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_committer_finishes_a_batch_interrupted_after_its_iceberg_commit(lakehouse, tmp_path, monkeypatch):
    staging = tmp_path / "staging"
    schema = json.dumps([f.to_dict() for f in FIELDS] + [{"name": "_op", "type": "string"}])
    _stage(staging, "part-a-0-0", [{"id": 1, "name": "a", "_op": "c", "_ts": "2026-01-01 00:00:01"},
                                   {"id": 2, "name": "b", "_op": "c", "_ts": "2026-01-01 00:00:02"}])
    _stage(staging, ".part-a-0-1.inprogress", [{"id": 9, "name": "hidden", "_op": "c"}])
    committer = StagedCommitter(staging=staging, table="shop.flink", schema=schema, mode="upsert", keys=["id"])

    calls = []
    real_retire = StagedCommitter._retire

    def crash_once(self, seq, names):  # type: ignore[no-untyped-def]
        calls.append(seq)
        if len(calls) == 1:
            raise KeyboardInterrupt("killed after the Iceberg commit")
        return real_retire(self, seq, names)

    monkeypatch.setattr(StagedCommitter, "_retire", crash_once)
    with pytest.raises(KeyboardInterrupt):
        committer.commit_pending()
    _stage(staging, "part-a-0-2", [{"id": 1, "name": None, "_op": "d", "_ts": "2026-01-01 00:00:03"},
                                   {"id": 3, "name": "c", "_op": "c", "_ts": "2026-01-01 00:00:03"}])
    outcomes = StagedCommitter(staging=staging, table="shop.flink", schema=schema, mode="upsert",
                               keys=["id"]).commit_pending()
    assert [(o.batch, o.committed) for o in outcomes] == [(0, False), (1, True)]
    assert [(r["id"], r["name"]) for r in _rows(lakehouse.table("shop.flink"))] == [(2, "b"), (3, "c")]
    assert sorted(p.name for p in staging.iterdir() if not p.name.startswith("_")) == [".part-a-0-1.inprogress"]
    assert StagedCommitter(staging=staging, table="shop.flink", schema=schema, mode="upsert",
                           keys=["id"]).commit_pending() == []


def test_committer_ignores_changes_older_than_what_a_key_already_saw(lakehouse, tmp_path):
    """Flink may stage newer landing files before older ones: `_ts` decides, deletes included."""
    staging = tmp_path / "staging"
    schema = json.dumps([f.to_dict() for f in FIELDS] + [{"name": "_op", "type": "string"}])
    committer = StagedCommitter(staging=staging, table="shop.ordered", schema=schema, mode="upsert", keys=["id"])
    _stage(staging, "part-0", [{"id": 1, "name": None, "_op": "d", "_ts": "2026-01-01 00:00:10"},
                               {"id": 2, "name": "new", "_op": "u", "_ts": "2026-01-01 00:00:10"},
                               {"id": 3, "name": "three", "_op": "c", "_ts": "2026-01-01 00:00:10"}])
    committer.commit_pending()
    _stage(staging, "part-1", [{"id": 1, "name": "stale", "_op": "u", "_ts": "2026-01-01 00:00:05"},
                               {"id": 2, "name": "stale", "_op": "u", "_ts": "2026-01-01 00:00:05"},
                               {"id": 3, "name": None, "_op": "d", "_ts": "2026-01-01 00:00:11"},
                               {"id": 4, "name": "four", "_op": "c", "_ts": "2026-01-01 00:00:01"}])
    committer.commit_pending()
    assert [(r["id"], r["name"]) for r in _rows(lakehouse.table("shop.ordered"))] == [(2, "new"), (4, "four")]
