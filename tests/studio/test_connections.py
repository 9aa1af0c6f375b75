"""Connections: kinds and validation, write-only secrets encrypted at rest, keys from the environment,
what a run gets, and who may change them."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from rest_framework.test import APIClient

from runners.output import LogLine, NodeMetric
from studio.access.models import Role
from studio.connections import crypto
from studio.connections.models import Connection
from studio.connections.services import ConnectionUnavailable, run_connections
from tests.studio.conftest import client_for, make_user
from tests.studio.documents import filter_pipeline
from tests.studio.test_authorization_matrix import ENDPOINTS, fast_passwords, world  # noqa: F401 - fixtures

SECRET = "s3cr3t-Pa$$word\"with'quotes"


@pytest.fixture
def admin(workspace: Any) -> Any:
    return make_user("ada", workspace, Role.ADMIN)


@pytest.fixture
def as_admin(admin: Any) -> APIClient:
    return client_for(admin)


def kafka_body(**changes: Any) -> dict[str, Any]:
    body = {
        "workspace": "team", "name": "secure_kafka", "kind": "kafka", "description": "The events cluster",
        "settings": {"bootstrap_servers": "broker-1:9092,broker-2:9092", "security_protocol": "SASL_SSL",
                     "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "studio"},
        "secrets": {"sasl_password": SECRET},
    }
    body.update(changes)
    return body


def kafka_document(connection: str = "secure_kafka") -> dict[str, Any]:
    return {
        "format": "studio.pipeline/v1", "name": "events_to_files", "mode": "batch",
        "nodes": [
            {"id": "events", "type": "source.kafka",
             "config": {"connection": connection, "topic": "events", "format": "json", "starting_offsets": "earliest",
                        "streaming": False, "schema": [{"name": "id", "type": "bigint"}]}},
            {"id": "out", "type": "sink.file", "config": {"path": "out/events", "format": "json", "mode": "overwrite"}},
        ],
        "edges": [{"from": {"node": "events", "port": "out"}, "to": {"node": "out", "port": "in"}}],
    }


def test_a_connection_is_created_and_its_secrets_are_only_said_to_be_set(as_admin: APIClient) -> None:
    response = as_admin.post("/api/connections/", kafka_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["settings"]["sasl_username"] == "studio" and body["kind"] == "kafka"
    assert body["secrets"] == {"sasl_password": {"set": True}, "ssl_key_password": {"set": False}}
    assert body["environment_variable"] == "STUDIO_CONNECTION_SECURE_KAFKA"
    for answer in (response, as_admin.get(f"/api/connections/{body['id']}/"), as_admin.get("/api/connections/")):
        assert SECRET not in answer.content.decode() and json.dumps(SECRET)[1:-1] not in answer.content.decode()
    stored = Connection.objects.get(pk=body["id"])
    assert SECRET not in stored.secrets_ciphertext and SECRET not in repr(stored) and SECRET not in str(stored)
    assert crypto.decrypt(stored.secrets_ciphertext, what="it") == {"sasl_password": SECRET}


def test_invalid_fields_are_named_without_echoing_secrets(as_admin: APIClient) -> None:
    cases = [
        (kafka_body(settings={"bootstrap_servers": "b:9092", "colour": "red"}), "settings.colour", "no setting 'colour'"),
        (kafka_body(settings={"bootstrap_servers": "b:9092", "sasl_password": SECRET}), "settings.sasl_password",
         "belongs in `secrets`"),
        (kafka_body(settings={}), "settings.bootstrap_servers", "need Bootstrap servers"),
        (kafka_body(secrets={}), "secrets.sasl_password", "needed with security_protocol SASL_SSL"),
        (kafka_body(settings={"bootstrap_servers": "b", "security_protocol": "TLS"}), "settings.security_protocol",
         "one of: PLAINTEXT"),
        (kafka_body(secrets={"sasl_password": 12345}), "secrets.sasl_password", "must be text"),
        (kafka_body(name="Bad Name"), "name", None),
        (kafka_body(kind="ftp"), "kind", None),
        ({"workspace": "team", "name": "db", "kind": "postgres", "settings": {"host": "h", "database": "d",
          "user": "u", "port": "5432"}}, "settings.port", "whole number"),
        ({"workspace": "team", "name": "hook", "kind": "webhook", "settings": {"url": "ftp://x"}}, "settings.url",
         "http:// or https://"),
    ]
    for body, field, sentence in cases:
        response = as_admin.post("/api/connections/", body, format="json")
        assert response.status_code == 400, (field, response.json())
        errors = response.json()
        assert field in errors, (field, errors)
        if sentence:
            assert sentence in errors[field][0], errors
        assert SECRET not in response.content.decode()
    assert Connection.objects.count() == 0


def test_secrets_are_set_replaced_and_cleared_by_patch(as_admin: APIClient) -> None:
    pk = as_admin.post("/api/connections/", kafka_body(), format="json").json()["id"]
    first = Connection.objects.get(pk=pk).secrets_updated_at
    # Settings only: the stored secret stays (and is not even decrypted).
    response = as_admin.patch(f"/api/connections/{pk}/", {"settings": {"sasl_username": "other"}}, format="json")
    assert response.status_code == 200 and response.json()["settings"]["sasl_username"] == "other"
    assert crypto.decrypt(Connection.objects.get(pk=pk).secrets_ciphertext, what="it") == {"sasl_password": SECRET}
    assert Connection.objects.get(pk=pk).secrets_updated_at == first
    # A new secret replaces the old; null clears one, which SASL then misses.
    as_admin.patch(f"/api/connections/{pk}/", {"secrets": {"ssl_key_password": "key-pass"}}, format="json")
    assert crypto.decrypt(Connection.objects.get(pk=pk).secrets_ciphertext, what="it") == {
        "sasl_password": SECRET, "ssl_key_password": "key-pass"}
    refused = as_admin.patch(f"/api/connections/{pk}/", {"secrets": {"sasl_password": None}}, format="json")
    assert refused.status_code == 400 and "secrets.sasl_password" in refused.json()
    cleared = as_admin.patch(f"/api/connections/{pk}/", {"settings": {"security_protocol": "SSL"},
                                                        "secrets": {"sasl_password": None}}, format="json")
    assert cleared.status_code == 200
    assert cleared.json()["secrets"] == {"sasl_password": {"set": False}, "ssl_key_password": {"set": True}}
    assert Connection.objects.get(pk=pk).secrets_updated_at > first


def test_viewers_see_connections_and_only_admins_change_them(workspace: Any, as_admin: APIClient) -> None:
    pk = as_admin.post("/api/connections/", kafka_body(), format="json").json()["id"]
    for role in (Role.VIEWER, Role.EDITOR, Role.OPERATOR):
        client = client_for(make_user(f"u_{role}", workspace, role))
        assert client.get(f"/api/connections/{pk}/").status_code == 200
        assert client.patch(f"/api/connections/{pk}/", {"description": "x"}, format="json").status_code == 403
        assert client.delete(f"/api/connections/{pk}/").status_code == 403
        refused = client.post("/api/connections/", kafka_body(name="mine"), format="json")
        assert refused.status_code == 403 and "admin" in refused.json()["detail"]


def test_a_connection_in_use_cannot_be_deleted_or_renamed(as_admin: APIClient, admin: Any) -> None:
    pk = as_admin.post("/api/connections/", kafka_body(), format="json").json()["id"]
    as_admin.post("/api/pipelines/", {"workspace": "team", "name": "events", "document": kafka_document()},
                  format="json")
    assert as_admin.get(f"/api/connections/{pk}/").json()["used_by"] == ["events"]
    for response in (as_admin.delete(f"/api/connections/{pk}/"),
                     as_admin.patch(f"/api/connections/{pk}/", {"name": "renamed"}, format="json")):
        assert response.status_code == 409 and "events" in response.json()["detail"]
    assert as_admin.patch(f"/api/connections/{pk}/", {"description": "still fine"}, format="json").status_code == 200


def test_no_get_endpoint_answers_a_connection_secret(world: dict[str, Any]) -> None:
    """Every GET endpoint of the authorization matrix (which fails for an endpoint without an entry, so
    a new one is scanned too), called as it is there, answers without a secret's value: as an admin
    of the workspace whose connections hold them, and as a superuser."""
    own = world["targets"]["own"]
    admin = world["clients"]["admin"]
    secret = f"s3cr3t-{uuid.uuid4().hex}\"with'quotes"
    token = f"tok-{uuid.uuid4().hex}"
    created = admin.post("/api/connections/", kafka_body(name="vault_kafka", secrets={"sasl_password": secret}),
                         format="json")
    assert created.status_code == 201, created.json()
    # The connections the matrix's routes name hold secrets too (and their changes are in the audit log).
    hook = Connection.objects.get(workspace=own.workspace, name="hook")
    for pk, secrets in ((own.connection.id, {"ssl_key_password": secret}), (hook.id, {"token": token})):
        assert admin.patch(f"/api/connections/{pk}/", {"secrets": secrets}, format="json").status_code == 200
    routes = sorted(route for route, method in ENDPOINTS if method == "GET")
    assert {"api/connections/<int:pk>/", "api/audit/", "api/runs/<int:pk>/"} <= set(routes)
    leaks: list[str] = []
    for role in ("admin", "superuser"):
        for route in routes:
            rule = ENDPOINTS[(route, "GET")]
            path, _ = rule.request(own)
            response = world["clients"][role].get(path)
            assert response.status_code == rule.ok, f"{role}: GET {path} answered {response.status_code}"
            body = response.content.decode()
            leaks.extend(f"{role}: GET {path}" for value in (secret, json.dumps(secret)[1:-1], token) if value in body)
    assert leaks == [], f"a secret appears in: {leaks}"


def test_kinds_describe_their_fields_and_which_are_secret(api: APIClient) -> None:
    kinds = {k["kind"]: k for k in api.get("/api/connections/kinds/").json()}
    assert set(kinds) == {"kafka", "s3", "postgres", "jdbc", "webhook"}
    secret = {k: {f["name"] for f in v["fields"] if f["secret"]} for k, v in kinds.items()}
    assert secret == {"kafka": {"sasl_password", "ssl_key_password"},
                      "s3": {"access_key_id", "secret_access_key", "session_token"},
                      "postgres": {"password"}, "jdbc": {"password"}, "webhook": {"token"}}


def test_a_run_gets_the_connections_its_nodes_name_and_their_secrets_are_masked(workspace: Any, admin: Any) -> None:
    from studio.connections.services import connection_create

    connection_create(workspace=workspace, user=admin, **{k: v for k, v in kafka_body().items() if k != "workspace"})
    connections = run_connections(workspace=workspace, document=kafka_document())
    assert list(connections.env) == ["STUDIO_CONNECTION_SECURE_KAFKA"]
    assert json.loads(connections.env["STUDIO_CONNECTION_SECURE_KAFKA"]) == {
        "kind": "kafka", "bootstrap_servers": "broker-1:9092,broker-2:9092", "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "studio", "sasl_password": SECRET,
    }
    assert SECRET not in repr(connections)
    printed = [LogLine(f"connecting with {SECRET}"), LogLine(f"env: {connections.env['STUDIO_CONNECTION_SECURE_KAFKA']}"),
               NodeMetric(node="events", port="out", rows=3)]
    masked = connections.mask_output(printed)
    assert all(SECRET not in item.text and json.dumps(SECRET)[1:-1] not in item.text
               for item in masked if isinstance(item, LogLine))
    assert masked[0].text == "connecting with ********" and masked[2] == printed[2]
    # No connection named: nothing to hand over. An unknown one: the run cannot start, and says why.
    assert run_connections(workspace=workspace, document=filter_pipeline()).env == {}
    with pytest.raises(ConnectionUnavailable, match="Node 'events' uses connection 'nope'.*workspace 'team'"):
        run_connections(workspace=workspace, document=kafka_document("nope"))


def test_the_key_comes_from_the_environment_and_can_be_rotated(
    workspace: Any, admin: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from studio.connections.services import connection_create

    # Without STUDIO_ENCRYPTION_KEY the key is derived from the Django secret key.
    monkeypatch.delenv(crypto.KEY_VARIABLE, raising=False)
    derived = connection_create(workspace=workspace, user=admin, name="old", kind="webhook",
                                settings={"url": "https://hooks.example.com/a"}, secrets={"token": SECRET})
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv(crypto.KEY_VARIABLE, old_key)
    explicit = connection_create(workspace=workspace, user=admin, name="new", kind="webhook",
                                 settings={"url": "https://hooks.example.com/b"}, secrets={"token": SECRET})
    assert Fernet(old_key.encode()).decrypt(explicit.secrets_ciphertext.encode())
    # The derived key still decrypts what it encrypted (moving to an explicit key loses nothing).
    assert crypto.decrypt(derived.secrets_ciphertext, what="it") == {"token": SECRET}
    # Rotation: the new key first, the old one kept until the command has re-encrypted everything.
    monkeypatch.setenv(crypto.KEY_VARIABLE, f"{new_key},{old_key}")
    call_command("rotate_connection_secrets", stdout=open("/dev/null", "w"))
    monkeypatch.setenv(crypto.KEY_VARIABLE, new_key)
    for connection in Connection.objects.all():
        assert crypto.decrypt(connection.secrets_ciphertext, what="it") == {"token": SECRET}
        assert Fernet(new_key.encode()).decrypt(connection.secrets_ciphertext.encode())
    # A key that decrypts nothing stored: runs fail with a sentence saying what to do.
    monkeypatch.setenv(crypto.KEY_VARIABLE, Fernet.generate_key().decode())
    monkeypatch.setattr("django.conf.settings.SECRET_KEY", "another-secret-key")
    document = kafka_document("new")
    with pytest.raises(ConnectionUnavailable, match="cannot be decrypted.*STUDIO_ENCRYPTION_KEY"):
        run_connections(workspace=workspace, document=document)
    monkeypatch.setenv(crypto.KEY_VARIABLE, "not-a-key")
    with pytest.raises(ImproperlyConfigured, match="key 1 is not a Fernet key"):
        crypto.encrypt({"a": "b"})


def iceberg_document(source: str | None = "lake", sink: str | None = "lake") -> dict[str, Any]:
    """An Iceberg table copied into another, each node naming a connection (or none)."""
    def config(table: str, connection: str | None) -> dict[str, Any]:
        return {"table": table, **({"connection": connection} if connection else {})}

    return {
        "format": "studio.pipeline/v1", "name": "lake_copy", "mode": "batch",
        "nodes": [{"id": "orders", "type": "source.iceberg", "config": config("shop.orders", source)},
                  {"id": "copy", "type": "sink.iceberg", "config": config("shop.copy", sink)}],
        "edges": [{"from": {"node": "orders", "port": "out"}, "to": {"node": "copy", "port": "in"}}],
    }  # fmt: skip


def s3_body(**changes: Any) -> dict[str, Any]:
    body = {"workspace": "team", "name": "lake", "kind": "s3",
            "settings": {"endpoint_url": "http://minio:9000", "region": "eu-west-1", "bucket": "lakehouse"},
            "secrets": {"access_key_id": "AKIA-STUDIO-1", "secret_access_key": SECRET}}  # fmt: skip
    body.update(changes)
    return body


def test_iceberg_nodes_name_an_s3_connection_that_the_studio_checks(as_admin: APIClient, workspace: Any) -> None:
    assert as_admin.post("/api/connections/", s3_body(), format="json").status_code == 201
    assert as_admin.post("/api/connections/", kafka_body(), format="json").status_code == 201

    def validate(document: dict[str, Any], **extra: Any) -> Any:
        return as_admin.post("/api/validate/", {"document": document, "engine": "spark", **extra}, format="json")

    assert validate(iceberg_document(), workspace="team").json()["valid"] is True
    wrong_kind = validate(iceberg_document(sink="secure_kafka"), workspace="team").json()
    assert [(e["node"], e["path"]) for e in wrong_kind["errors"]] == [("copy", "$.nodes[1].config.connection")]
    assert wrong_kind["errors"][0]["message"] == (
        "Node 'copy': connection 'secure_kafka' is a Kafka connection, but a sink.iceberg node needs an S3 "
        "connection (S3 connections here: lake).")
    unknown = validate(iceberg_document(source="lakehouse"), workspace="team").json()["errors"]
    assert [(e["node"], e["path"]) for e in unknown] == [("orders", "$.nodes[0].config.connection")]
    assert "there is no connection 'lakehouse' in this workspace" in unknown[0]["message"]
    # Without a workspace only the name's form is checked (names resolve when a run starts).
    assert validate(iceberg_document(source="lakehouse")).json()["valid"] is True
    assert validate(iceberg_document(), workspace="elsewhere").status_code == 404
    compiled = as_admin.post("/api/compile/", {"document": iceberg_document(sink="nope"), "workspace": "team"},
                             format="json")
    assert compiled.status_code == 400 and "no connection 'nope'" in json.dumps(compiled.json())

    # Saving keeps work in progress but says what is wrong; a run of it is refused before it starts.
    saved = as_admin.post("/api/pipelines/", {"workspace": "team", "name": "copy",
                                              "document": iceberg_document(sink="secure_kafka")}, format="json")
    assert saved.status_code == 201, saved.json()
    pk = saved.json()["id"]
    assert as_admin.get(f"/api/pipelines/{pk}/versions/1/").json()["valid"] is False
    refused = as_admin.post(f"/api/pipelines/{pk}/runs/", {}, format="json")
    assert refused.status_code == 400 and "is a Kafka connection" in json.dumps(refused.json())
    # The S3 connection is in use now (its source names it): it cannot be deleted from under the pipeline.
    lake = Connection.objects.get(name="lake").pk
    assert as_admin.get(f"/api/connections/{lake}/").json()["used_by"] == ["copy"]
    assert as_admin.delete(f"/api/connections/{lake}/").status_code == 409


def test_a_run_hands_iceberg_nodes_their_s3_connection_and_refuses_another_kind(workspace: Any, admin: Any) -> None:
    from studio.connections.services import connection_create

    for body in (s3_body(), kafka_body()):
        connection_create(workspace=workspace, user=admin, **{k: v for k, v in body.items() if k != "workspace"})
    connections = run_connections(workspace=workspace, document=iceberg_document())
    assert json.loads(connections.env["STUDIO_CONNECTION_LAKE"]) == {
        "kind": "s3", "endpoint_url": "http://minio:9000", "region": "eu-west-1", "bucket": "lakehouse",
        "access_key_id": "AKIA-STUDIO-1", "secret_access_key": SECRET,
    }
    assert list(connections.env) == ["STUDIO_CONNECTION_LAKE"]
    assert connections.mask(f"key AKIA-STUDIO-1 secret {SECRET}") == "key ******** secret ********"
    # A document saved before the connection changed (or written by hand) is refused at run time too.
    with pytest.raises(ConnectionUnavailable, match=(
            "Node 'copy' uses connection 'secure_kafka', which is a Kafka connection; a sink.iceberg node needs "
            "an S3 / object storage connection.")):
        run_connections(workspace=workspace, document=iceberg_document(sink="secure_kafka"))
