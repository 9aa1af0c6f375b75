"""A run that uses a stored Kafka connection, end to end (API -> broker -> Celery worker -> Spark job ->
the dev Kafka broker), then a scan for the connection's secret in everything the studio keeps or
answers: API responses, log lines (the job's and the studio's own), the task payload, the database
export, the pipeline document and the generated code. The only way the job can reach the broker is
through the connection, so the run succeeding proves the connection was used.

The same for an S3 connection used by Iceberg nodes: a Spark job reads and writes tables whose
warehouse is a bucket of a local S3 server (moto's) that accepts only that connection's keys."""
from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish
from confluent_kafka import Producer
from django.core.management import call_command

from runners.celery import app as celery_app
from studio.access.models import Role
from studio.connections import crypto
from studio.connections.models import Connection
from tests.connectors.conftest import kafka_broker  # noqa: F401  (the dev broker, one per session)
from tests.s3server import S3Server
from tests.studio.conftest import client_for, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery, pytest.mark.spark, pytest.mark.slow]

FINISHED = {"succeeded", "failed", "cancelled", "lost"}


@pytest.fixture
def studio(kafka_broker: str, settings: Any, tmp_path: Path,  # noqa: F811
           monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A worker whose jobs know no Kafka broker except through a connection."""
    bootstrap = Path(kafka_broker).read_text().strip()
    settings.STUDIO_DATA_DIR = tmp_path / "data"
    settings.STUDIO_RUNS_DIR = tmp_path / "runs"
    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    settings.KAFKA_DEV_BROKER_FILE = tmp_path / "no-dev-broker"
    monkeypatch.delenv("STUDIO_KAFKA_BOOTSTRAP_FILE", raising=False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("STUDIO_KAFKA_CONFIG", raising=False)
    with start_worker(celery_app, pool="threads", concurrency=1, perform_ping_check=False, loglevel="WARNING"):
        yield {"bootstrap": bootstrap, "data": tmp_path / "data", "runs": tmp_path / "runs"}


def _produce(bootstrap: str, topic: str, rows: list[dict[str, Any]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for row in rows:
        producer.produce(topic, json.dumps(row).encode())
    assert producer.flush(30) == 0


def _document(topic: str) -> dict[str, Any]:
    return {
        "format": "studio.pipeline/v1", "name": "events_to_files", "mode": "batch",
        "nodes": [
            {"id": "events", "type": "source.kafka",
             "config": {"connection": "events_kafka", "topic": topic, "format": "json", "starting_offsets": "earliest",
                        "streaming": False, "schema": [{"name": "id", "type": "bigint"},
                                                       {"name": "note", "type": "string"}]}},
            {"id": "out", "type": "sink.file", "config": {"path": "out/events", "format": "json", "mode": "overwrite"}},
        ],
        "edges": [{"from": {"node": "events", "port": "out"}, "to": {"node": "out", "port": "in"}}],
    }


@pytest.mark.kafka
def test_a_run_uses_a_connection_and_its_secret_appears_nowhere(
    studio: dict[str, Any], workspace: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = f"pw-{uuid.uuid4().hex}"
    other_secret = f"key-{uuid.uuid4().hex}"
    published: list[str] = []

    def remember(body: Any = None, headers: Any = None, **kwargs: Any) -> None:
        published.append(json.dumps({"body": body, "headers": headers}, default=str))

    before_task_publish.connect(remember, weak=False)
    answers: list[str] = []
    admin = make_user("ada", workspace, Role.ADMIN)
    api = client_for(admin)

    def call(method: str, path: str, body: Any = None) -> Any:
        response = getattr(api, method)(path, body, format="json") if body is not None else getattr(api, method)(path)
        answers.append(f"{method.upper()} {path} {response.status_code} {response.content.decode()}")
        return response

    try:
        topic = f"events-{uuid.uuid4().hex[:8]}"
        _produce(studio["bootstrap"], topic, [{"id": i, "note": f"row {i}"} for i in range(1, 4)])
        created = call("post", "/api/connections/", {
            "workspace": "team", "name": "events_kafka", "kind": "kafka",
            "settings": {"bootstrap_servers": studio["bootstrap"], "security_protocol": "PLAINTEXT"},
            "secrets": {"ssl_key_password": secret},
        })
        assert created.status_code == 201, created.content
        call("post", "/api/connections/", {"workspace": "team", "name": "lake", "kind": "s3",
                                           "secrets": {"access_key_id": "AKIA1234", "secret_access_key": other_secret}})
        pipeline = call("post", "/api/pipelines/", {"workspace": "team", "name": "events", "document": _document(topic)})
        assert pipeline.status_code == 201, pipeline.content
        pk = pipeline.json()["id"]
        run_id = call("post", f"/api/pipelines/{pk}/runs/", {}).json()["id"]

        deadline = time.monotonic() + 300
        run = call("get", f"/api/runs/{run_id}/").json()
        while run["status"] not in FINISHED and time.monotonic() < deadline:
            time.sleep(0.5)
            run = api.get(f"/api/runs/{run_id}/").json()
        log = call("get", f"/api/runs/{run_id}/log/?limit=5000").json()["lines"]
        assert run["status"] == "succeeded", run["error"] + "\n" + "\n".join(line["text"] for line in log)
        rows = [json.loads(line) for f in sorted((studio["data"] / "out" / "events").glob("*.json"))
                for line in f.read_text().splitlines()]
        assert sorted(row["id"] for row in rows) == [1, 2, 3]
        assert 'connectionVariable="STUDIO_CONNECTION_EVENTS_KAFKA"' in run["code"]

        for path in (f"/api/runs/{run_id}/", f"/api/runs/{run_id}/nodes/", f"/api/runs/{run_id}/metrics/",
                     f"/api/pipelines/{pk}/", f"/api/pipelines/{pk}/versions/1/", f"/api/pipelines/{pk}/runs/",
                     "/api/runs/", "/api/connections/", f"/api/connections/{created.json()['id']}/",
                     "/api/audit/?limit=1000", "/api/pipelines/"):
            assert call("get", path).status_code == 200, path
        call("post", "/api/compile/", {"document": _document(topic)})
        export = io.StringIO()
        call_command("dumpdata", stdout=export)
        files = [p.read_text(errors="replace") for p in studio["runs"].rglob("*") if p.is_file()]
    finally:
        before_task_publish.disconnect(remember)

    assert published, "the run's task was sent through the broker"
    places = {
        "API responses": "\n".join(answers),
        "run log": "\n".join(line["text"] for line in log) + run["error"],
        "studio logs": "\n".join(record.getMessage() + str(record.exc_text or "") for record in caplog.records),
        "task payloads": "\n".join(published),
        "database export": export.getvalue(),
        "generated code and run files": run["code"] + "\n".join(files),
        "pipeline document": json.dumps(_document(topic)),
    }
    for value in (secret, other_secret, json.dumps(secret)[1:-1]):
        leaks = [place for place, text in places.items() if value in text]
        assert leaks == [], f"a secret appears in: {leaks}"
    # The scan looks where the secrets would be: they are stored, encrypted.
    stored = Connection.objects.get(name="events_kafka")
    assert crypto.decrypt(stored.secrets_ciphertext, what="it") == {"ssl_key_password": secret}
    assert stored.secrets_ciphertext in places["database export"]


# An S3 connection used by Iceberg nodes ------------------------------------------------------------

AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE")


def _lake_document() -> dict[str, Any]:
    return {
        "format": "studio.pipeline/v1", "name": "big_orders_on_s3", "mode": "batch",
        "nodes": [
            {"id": "orders", "type": "source.iceberg", "config": {"table": "shop.orders", "connection": "lake"}},
            {"id": "big", "type": "transform.filter", "config": {"condition": "amount >= 20"}},
            {"id": "out", "type": "sink.iceberg",
             "config": {"table": "shop.big_orders", "mode": "overwrite", "connection": "lake"}},
        ],
        "edges": [{"from": {"node": "orders", "port": "out"}, "to": {"node": "big", "port": "in"}},
                  {"from": {"node": "big", "port": "out"}, "to": {"node": "out", "port": "in"}}],
    }  # fmt: skip


def test_iceberg_nodes_read_and_write_an_s3_warehouse_through_a_connection_whose_secret_appears_nowhere(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workspace: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A real Spark job run by the studio's worker against a local S3 server that accepts only the
    connection's keys: the warehouse is an s3:// bucket, the job's environment has no AWS_* settings,
    so the tables can only be read and written with the keys the runner hands over."""
    import pyarrow as pa

    from runners.connectors.config import load_catalog

    caplog.set_level(logging.DEBUG)
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    published: list[str] = []

    def remember(body: Any = None, headers: Any = None, **kwargs: Any) -> None:
        published.append(json.dumps({"body": body, "headers": headers}, default=str))

    with S3Server() as s3:
        warehouse = f"s3://{s3.bucket}/warehouse"
        # The studio's own look at the table after the run goes to the local store too (with no keys,
        # it is refused there): no request leaves this machine.
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
        settings.STUDIO_DATA_DIR = tmp_path / "data"
        settings.STUDIO_RUNS_DIR = tmp_path / "runs"
        settings.ICEBERG_CATALOG_URI = f"sqlite:///{tmp_path / 'iceberg.sqlite3'}"
        settings.ICEBERG_WAREHOUSE = warehouse
        # The source table, written with the keys directly (as another team's job would have).
        monkeypatch.setenv("ICEBERG_CATALOG_URI", settings.ICEBERG_CATALOG_URI)
        monkeypatch.setenv("ICEBERG_WAREHOUSE", warehouse)
        monkeypatch.setenv("STUDIO_CONNECTION_SETUP", json.dumps(s3.connection()))
        catalog = load_catalog(options={"connectionVariable": "STUDIO_CONNECTION_SETUP"})
        catalog.create_namespace("shop")
        orders = pa.table({"order_id": pa.array([1, 2, 3, 4], pa.int64()),
                           "amount": pa.array([5.0, 20.0, 35.5, 19.99], pa.float64())})  # fmt: skip
        catalog.create_table("shop.orders", schema=orders.schema).append(orders)
        monkeypatch.delenv("STUDIO_CONNECTION_SETUP")

        secret = s3.secret_access_key
        answers: list[str] = []
        api = client_for(make_user("ada", workspace, Role.ADMIN))

        def call(method: str, path: str, body: Any = None) -> Any:
            response = (getattr(api, method)(path, body, format="json") if body is not None
                        else getattr(api, method)(path))  # fmt: skip
            answers.append(f"{method.upper()} {path} {response.status_code} {response.content.decode()}")
            return response

        before_task_publish.connect(remember, weak=False)
        try:
            with start_worker(celery_app, pool="threads", concurrency=1, perform_ping_check=False,
                              loglevel="WARNING"):  # fmt: skip
                created = call("post", "/api/connections/", {
                    "workspace": "team", "name": "lake", "kind": "s3",
                    "settings": {"endpoint_url": s3.endpoint, "region": s3.region, "bucket": s3.bucket},
                    "secrets": {"access_key_id": s3.access_key_id, "secret_access_key": secret},
                })  # fmt: skip
                assert created.status_code == 201, created.content
                checked = call("post", "/api/validate/", {"document": _lake_document(), "engine": "spark",
                                                          "workspace": "team"})  # fmt: skip
                assert checked.json()["valid"] is True, checked.json()
                pipeline = call("post", "/api/pipelines/", {"workspace": "team", "name": "lake",
                                                            "document": _lake_document()})  # fmt: skip
                assert pipeline.status_code == 201, pipeline.content
                pk = pipeline.json()["id"]
                run_id = call("post", f"/api/pipelines/{pk}/runs/", {}).json()["id"]
                deadline = time.monotonic() + 400
                run = call("get", f"/api/runs/{run_id}/").json()
                while run["status"] not in FINISHED and time.monotonic() < deadline:
                    time.sleep(0.5)
                    run = api.get(f"/api/runs/{run_id}/").json()
                log = call("get", f"/api/runs/{run_id}/log/?limit=5000").json()["lines"]
                assert run["status"] == "succeeded", run["error"] + "\n" + "\n".join(line["text"] for line in log)
                assert 'connectionVariable="STUDIO_CONNECTION_LAKE"' in run["code"]
                for path in (f"/api/runs/{run_id}/", f"/api/runs/{run_id}/nodes/", f"/api/pipelines/{pk}/",
                             f"/api/pipelines/{pk}/versions/1/", "/api/connections/",
                             f"/api/connections/{created.json()['id']}/", "/api/audit/?limit=1000", "/api/catalog/"):
                    call("get", path)
                export = io.StringIO()
                call_command("dumpdata", stdout=export)
                files = [p.read_text(errors="replace") for p in (tmp_path / "runs").rglob("*") if p.is_file()]
        finally:
            before_task_publish.disconnect(remember)

        # The job wrote the filtered rows into the bucket, readable with the connection's keys only.
        monkeypatch.setenv("STUDIO_CONNECTION_CHECK", json.dumps(s3.connection()))
        written = load_catalog(options={"connectionVariable": "STUDIO_CONNECTION_CHECK"}).load_table("shop.big_orders")
        assert sorted(written.scan().to_arrow().column("order_id").to_pylist()) == [2, 3]
        assert any(key.endswith(".parquet") for key in s3.keys("warehouse/shop/big_orders/data/"))
        monkeypatch.delenv("STUDIO_CONNECTION_CHECK")

    # The test's own S3 server and its clients (moto, boto) log the key they issue: not the studio's logs.
    harness = ("moto", "botocore", "boto3", "werkzeug", "urllib3", "s3transfer")
    studio_records = [r for r in caplog.records if not r.name.startswith(harness)]
    places = {
        "API responses": "\n".join(answers),
        "run log": "\n".join(line["text"] for line in log) + run["error"],
        "studio logs": "\n".join(record.getMessage() + str(record.exc_text or "") for record in studio_records),
        "task payloads": "\n".join(published),
        "database export": export.getvalue(),
        "generated code and run files": run["code"] + "\n".join(files),
        "pipeline document": json.dumps(_lake_document()),
    }
    for value in (secret, json.dumps(secret)[1:-1]):
        leaks = [place for place, text in places.items() if value in text]
        leaking_loggers = sorted({r.name for r in studio_records if value in r.getMessage() + str(r.exc_text or "")})
        assert leaks == [], f"the S3 secret appears in: {leaks} (loggers: {leaking_loggers})"
