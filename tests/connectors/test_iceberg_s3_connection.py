"""Iceberg tables in an S3 warehouse reached through a stored S3 connection, against a local
S3-compatible server (moto's, on loopback) that accepts only the connection's keys.

The job's side of a connection: the runner exports STUDIO_CONNECTION_<NAME> (studio/connections) and
the generated code names it in option `connectionVariable`; the catalog, the table's FileIO and the
`studio-iceberg` data source's executor code read the keys, endpoint and region from it. These tests
drive that code without a JVM (the data source's writer and reader are called as Spark calls them);
tests/studio/test_connections_run.py runs a real Spark job through the studio.
"""
from __future__ import annotations

import datetime as dt
import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from runners.connectors import iceberg_tables as tables
from runners.connectors.columns import parse_schema
from runners.connectors.config import (
    CONNECTION_OPTION,
    ConfigError,
    catalog_properties,
    load_catalog,
    s3_connection_properties,
)
from tests.s3server import S3Server, unique_name

VARIABLE = "STUDIO_CONNECTION_LAKE"
OPTIONS = {CONNECTION_OPTION: VARIABLE}
FIELDS = parse_schema([{"name": "id", "type": "bigint", "nullable": False}, {"name": "name", "type": "string"},
                       {"name": "at", "type": "timestamp"}])  # fmt: skip


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture
def warehouse(s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite catalog whose warehouse is a folder of the S3 server's bucket; no AWS_* settings, so
    the connection is the only way in."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    folder = unique_name("warehouse")
    monkeypatch.setenv("ICEBERG_CATALOG_URI", f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    monkeypatch.setenv("ICEBERG_WAREHOUSE", f"s3://{s3.bucket}/{folder}")
    monkeypatch.setenv(VARIABLE, json.dumps(s3.connection()))
    return folder


def _rows(n: int, start: int = 0) -> pa.Table:
    return pa.table({
        "id": pa.array(range(start, start + n), pa.int64()),
        "name": pa.array([f"n{i}" for i in range(start, start + n)], pa.string()),
        "at": pa.array([dt.datetime(2026, 1, 1) + dt.timedelta(hours=i) for i in range(start, start + n)],
                       pa.timestamp("us")),
    })  # fmt: skip


def test_the_connection_fields_map_to_pyiceberg_s3_properties(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://elsewhere:9000")
    monkeypatch.setenv("ICEBERG_CATALOG_URI", "sqlite:////tmp/unused.sqlite3")
    monkeypatch.setenv("ICEBERG_WAREHOUSE", "s3://lake/w")
    monkeypatch.setenv(VARIABLE, json.dumps(s3.connection(session_token="token-1")))
    assert s3_connection_properties(OPTIONS) == {
        "s3.access-key-id": s3.access_key_id, "s3.secret-access-key": s3.secret_access_key,
        "s3.session-token": "token-1", "s3.endpoint": s3.endpoint, "s3.region": "us-east-1",
        "s3.force-virtual-addressing": "false",
    }  # fmt: skip
    # The connection replaces the AWS_* settings whole; without one they apply as before.
    with_connection = catalog_properties(OPTIONS)
    assert with_connection["s3.access-key-id"] == s3.access_key_id and with_connection["s3.endpoint"] == s3.endpoint
    assert catalog_properties()["s3.access-key-id"] == "from-the-environment"
    # AWS itself: no endpoint, so buckets keep virtual-host addressing.
    monkeypatch.setenv(VARIABLE, json.dumps({"kind": "s3", "access_key_id": "a", "secret_access_key": "b"}))
    assert s3_connection_properties(OPTIONS) == {"s3.access-key-id": "a", "s3.secret-access-key": "b"}


def test_tables_are_written_and_read_in_the_bucket_with_the_connections_keys(s3: S3Server, warehouse: str) -> None:
    catalog = load_catalog(options=OPTIONS)
    table = tables.ensure_table("shop.orders", FIELDS, partition_by=[("at", "day")], catalog=catalog)
    assert table.location().startswith(f"s3://{s3.bucket}/{warehouse}/")
    # What executors do: write data files against the table's metadata, then the driver commits.
    static = tables.load_static_table(table.metadata_location, OPTIONS)
    files = tables.write_data_files(static, _rows(50))
    spec = tables.TableWrite(table="shop.orders", mode="append", query_id="q1", batch_id=0)
    assert tables.commit(spec, data_files=files, catalog=catalog).committed
    upsert = tables.TableWrite(table="shop.orders", mode="upsert", keys=["id"], query_id="q2", batch_id=0)
    changes = _rows(2, start=49).append_column("_op", pa.array(["u", "c"], pa.string()))
    assert tables.commit(upsert, changes=changes, catalog=catalog).committed

    read = catalog.load_table("shop.orders").scan().to_arrow()
    assert sorted(read.column("id").to_pylist()) == list(range(51))
    stored = s3.keys(f"{warehouse}/shop/orders/")
    assert any(k.endswith(".parquet") and "/data/at_day=" in k for k in stored)
    assert any(k.endswith(".metadata.json") for k in stored)


def test_the_spark_data_source_reads_and_writes_through_the_connection(s3: S3Server, warehouse: str) -> None:
    """The `studio-iceberg` writer and reader as Spark drives them (driver: plan, commit; executors:
    write and read files), and what Spark would ship to executors holds the variable's name only."""
    from pyspark import cloudpickle
    from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

    from runners.connectors.columns import arrow_schema, fields_from_spark
    from runners.connectors.spark_iceberg import IcebergBatchReader, IcebergBatchWriter, StudioIcebergDataSource

    schema = StructType([StructField("id", LongType(), False), StructField("name", StringType()),
                         StructField("at", TimestampType())])  # fmt: skip
    options = {"table": "shop.events", "mode": "append", CONNECTION_OPTION: VARIABLE}
    writer = IcebergBatchWriter(options, schema, overwrite=False)
    shipped = cloudpickle.dumps(writer)
    message = pickle.loads(shipped).write(iter(_rows(20).to_batches()))  # on an "executor"
    writer.commit([message])

    source = StudioIcebergDataSource(options)
    assert source.schema() == "`id` BIGINT NOT NULL, `name` STRING, `at` TIMESTAMP"
    reader = IcebergBatchReader(options, schema)
    partitions = reader.partitions()
    shipped_partitions = cloudpickle.dumps((reader, partitions))
    for blob in (shipped, shipped_partitions):
        assert s3.secret_access_key.encode() not in blob and s3.access_key_id.encode() not in blob
        assert VARIABLE.encode() in blob
    target = arrow_schema(fields_from_spark(schema))
    rows = [row for p in pickle.loads(shipped_partitions)[1] for batch in reader.read(p)
            for row in batch.to_pylist()]  # fmt: skip
    assert sorted(r["id"] for r in rows) == list(range(20))
    assert target.names == ["id", "name", "at"]
    assert any(k.endswith(".parquet") for k in s3.keys(f"{warehouse}/shop/events/data/"))


def test_wrong_keys_are_refused_by_the_store(s3: S3Server, warehouse: str, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog(options=OPTIONS)
    tables.ensure_table("shop.refused", FIELDS, catalog=catalog)
    wrong = "not-the-secret-" + s3.secret_access_key[:4]
    monkeypatch.setenv(VARIABLE, json.dumps(s3.connection(secret_access_key=wrong)))
    with pytest.raises(OSError, match="ACCESS_DENIED|AccessDenied|SignatureDoesNotMatch|403") as error:
        load_catalog(options=OPTIONS).load_table("shop.refused").scan().to_arrow()
    assert wrong not in str(error.value)


def test_a_connection_of_another_kind_or_bucket_is_refused_with_a_sentence(
    s3: S3Server, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runners.connectors.spark_iceberg import StudioIcebergDataSource

    monkeypatch.setenv(VARIABLE, json.dumps({"kind": "kafka", "bootstrap_servers": "localhost:9092",
                                             "sasl_password": "kafka-secret-1"}))  # fmt: skip
    with pytest.raises(ConfigError, match="STUDIO_CONNECTION_LAKE is a kafka connection, not an S3") as error:
        load_catalog(options=OPTIONS)
    assert "kafka-secret-1" not in str(error.value)
    monkeypatch.delenv(VARIABLE)
    with pytest.raises(ConfigError, match="STUDIO_CONNECTION_LAKE is not set"):
        load_catalog(options=OPTIONS)

    monkeypatch.setenv(VARIABLE, json.dumps(s3.connection()))
    tables.ensure_table("shop.elsewhere", FIELDS, catalog=load_catalog(options=OPTIONS))
    monkeypatch.setenv(VARIABLE, json.dumps(s3.connection(bucket="other-bucket")))
    with pytest.raises(ConfigError, match="outside bucket 'other-bucket'"):
        StudioIcebergDataSource({"table": "shop.elsewhere", CONNECTION_OPTION: VARIABLE}).schema()
