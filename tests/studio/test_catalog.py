"""The catalog: datasets registered when a pipeline version is saved, searched, curated, looked at
(schema, rows, Iceberg snapshots) with PII masked, and kept to each user's workspaces."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rest_framework.test import APIClient

from studio.access.models import Membership, Role
from studio.catalog.identity import IdentityError, dataset_key
from studio.catalog.models import Dataset
from tests.studio.conftest import client_for, make_user
from tests.studio.documents import filter_pipeline
from tests.studio.test_openapi import Contract, contract, schema  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.STUDIO_DATA_DIR = tmp_path / "data"
    settings.ICEBERG_CATALOG_URI = f"sqlite:///{tmp_path / 'iceberg' / 'catalog.sqlite3'}"
    settings.ICEBERG_WAREHOUSE = f"file://{tmp_path / 'warehouse'}"
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


def save(api: APIClient, document: dict[str, Any], name: str | None = None) -> int:
    response = api.post("/api/pipelines/", {"workspace": "team", "name": name or document["name"],
                                            "document": document}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def customers_pipeline() -> dict[str, Any]:
    return {
        "format": "studio.pipeline/v1", "name": "customers_clean", "mode": "batch",
        "nodes": [
            {"id": "customers", "type": "source.file",
             "config": {"path": "landing/customers/*.parquet", "format": "parquet"}},
            {"id": "adults", "type": "transform.filter", "config": {"condition": "age >= 18"}},
            {"id": "out", "type": "sink.file",
             "config": {"path": "curated/customers", "format": "parquet", "mode": "overwrite"}},
        ],
        "edges": [
            {"from": {"node": "customers", "port": "out"}, "to": {"node": "adults", "port": "in"}},
            {"from": {"node": "adults", "port": "out"}, "to": {"node": "out", "port": "in"}},
        ],
    }


def write_customers(data_dir: Path) -> None:
    folder = data_dir / "landing" / "customers"
    folder.mkdir(parents=True)
    table = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "email": ["a@x.org", "b@x.org", None],
                      "age": pa.array([34, 12, 51], pa.int32())})
    pq.write_table(table.slice(0, 2), folder / "part-0.parquet")
    pq.write_table(table.slice(2), folder / "part-1.parquet")
    (folder / "_SUCCESS").write_text("")


def by_uri(api: APIClient, uri: str) -> dict[str, Any]:
    found = [d for d in api.get("/api/catalog/datasets/").json() if d["uri"] == uri]
    assert len(found) == 1, [d["uri"] for d in api.get("/api/catalog/datasets/").json()]
    return api.get(f"/api/catalog/datasets/{found[0]['id']}/").json()


# --- identity -----------------------------------------------------------------------------------


def test_dataset_names_are_normalised_to_one_key_per_location(tmp_path: Path) -> None:
    def key(ref: str, **kw: Any) -> tuple[str, str, str]:
        k = dataset_key(ref, data_dir=tmp_path, **kw)
        return k.kind, k.namespace, k.name

    assert key("file:out/big") == key("file:./out//big/") == key("file:out/big/*.parquet") \
        == key(f"file:{tmp_path}/out/big") == ("file", "local", "out/big")
    assert key("file:landing/2026-*/orders.csv") == ("file", "local", "landing")
    assert key("file:in/orders.csv") == ("file", "local", "in/orders.csv")
    assert key("file:s3://lake/raw/orders/*.json") == ("file", "s3://lake", "raw/orders")
    assert key("file:/srv/elsewhere/x.csv") == ("file", "local", "/srv/elsewhere/x.csv")
    assert key("kafka:orders") == ("kafka", "default", "orders")
    assert key("kafka:orders", connection="prod") == ("kafka", "prod", "orders")
    assert key("iceberg:sales.orders") == ("iceberg", "studio", "sales.orders")
    with pytest.raises(IdentityError, match="leaves the data folder"):
        key("file:../outside.csv")
    with pytest.raises(IdentityError, match="unknown kind"):
        key("jdbc:orders")


# --- registration on save -------------------------------------------------------------------------


def test_saving_a_version_registers_the_datasets_it_reads_and_writes(
    api: APIClient, data_dir: Path, contract: Contract
) -> None:
    save(api, filter_pipeline())
    listed = contract(api.get("/api/catalog/datasets/?workspace=team"), "get", "/api/catalog/datasets/")
    assert sorted(d["uri"] for d in listed) == ["file:in/orders.csv", "file:out/big"]
    source = by_uri(api, "file:in/orders.csv")
    assert source["format"] == "csv" and source["options"] == {"header": True}
    # The source declares its columns; the sink will write the filter's output.
    assert [(c["name"], c["type"]) for c in source["schema"]] == [("order_id", "bigint"), ("amount", "decimal(12,2)")]
    assert source["schema_source"] == "declared"
    assert [p["name"] for p in source["consumers"]] == ["big_orders"] and source["producers"] == []
    sink = contract(api.get(f"/api/catalog/datasets/{by_uri(api, 'file:out/big')['id']}/"),
                    "get", "/api/catalog/datasets/{id}/")
    assert [p["node"] for p in sink["producers"]] == ["out"]
    assert [c["name"] for c in sink["columns"]] == ["order_id", "amount"]
    # A second pipeline reading the same folder through a glob lands on the same entry.
    reader = filter_pipeline(name="reader")
    reader["nodes"][0]["config"] = {"path": "out/big/*.parquet", "format": "parquet"}
    reader["nodes"][1]["config"]["condition"] = "amount > 1"
    reader["nodes"][2]["config"]["path"] = "out/again"
    save(api, reader)
    assert Dataset.objects.filter(name="out/big").count() == 1
    again = by_uri(api, "file:out/big")
    assert [p["name"] for p in again["consumers"]] == ["reader"]
    assert [p["name"] for p in again["producers"]] == ["big_orders"]


def test_a_schema_change_on_save_is_a_new_entry_in_the_schema_history(api: APIClient, data_dir: Path) -> None:
    pk = save(api, filter_pipeline())
    changed = filter_pipeline()
    changed["nodes"][0]["config"]["schema"].append({"name": "country", "type": "string"})
    response = api.post(f"/api/pipelines/{pk}/versions/", {"document": changed, "base_version": 1}, format="json")
    assert response.status_code == 201
    source = by_uri(api, "file:in/orders.csv")
    history = source["schema_versions"]
    assert [v["number"] for v in history] == [2, 1]
    assert [c["name"] for c in history[0]["schema"]] == ["order_id", "amount", "country"]
    assert history[0]["pipeline"] == pk and history[0]["pipeline_version"] == 2
    assert [c["name"] for c in history[1]["schema"]] == ["order_id", "amount"]
    # Saving the same document again adds no entry.
    api.post(f"/api/pipelines/{pk}/versions/", {"document": changed, "base_version": 2}, format="json")
    assert len(by_uri(api, "file:in/orders.csv")["schema_versions"]) == 2


def test_a_document_with_errors_is_saved_and_catalogued_as_far_as_it_can_be(api: APIClient, data_dir: Path) -> None:
    broken = filter_pipeline()
    broken["nodes"][1]["config"]["condition"] = "amout > 1"
    save(api, broken)
    assert sorted(d["uri"] for d in api.get("/api/catalog/datasets/").json()) == ["file:in/orders.csv", "file:out/big"]


# --- search ---------------------------------------------------------------------------------------


def test_search_by_name_tag_column_and_kind(api: APIClient, data_dir: Path, editor: Any) -> None:
    write_customers(data_dir)
    save(api, filter_pipeline())
    save(api, customers_pipeline())
    customers = by_uri(api, "file:landing/customers")
    response = api.patch(f"/api/catalog/datasets/{customers['id']}/",
                         {"tags": ["gold", "crm", "gold"], "description": "Everyone who ever bought"}, format="json")
    assert response.status_code == 200 and response.json()["tags"] == ["crm", "gold"]

    def uris(query: str) -> list[str]:
        return sorted(d["uri"] for d in api.get(f"/api/catalog/datasets/?{query}").json())

    assert uris("q=customers") == ["file:curated/customers", "file:landing/customers"]
    assert uris("q=ever+bought") == ["file:landing/customers"]
    assert uris("tag=GOLD") == ["file:landing/customers"]
    assert uris("tag=gol") == []
    assert uris("column=mai") == ["file:curated/customers", "file:landing/customers"]
    assert uris("column=amount") == ["file:in/orders.csv", "file:out/big"]
    assert uris("column=amount&q=big") == ["file:out/big"]
    assert uris("kind=iceberg") == []
    assert api.get("/api/catalog/datasets/?kind=mainframe").status_code == 400


# --- curation and PII -------------------------------------------------------------------------------


def test_curation_owner_tags_and_column_classification(
    api: APIClient, data_dir: Path, editor: Any, viewer: Any, outsider: Any, contract: Contract
) -> None:
    write_customers(data_dir)
    save(api, customers_pipeline())
    pk = by_uri(api, "file:landing/customers")["id"]
    route = "/api/catalog/datasets/{id}/"
    updated = contract(api.patch(f"/api/catalog/datasets/{pk}/", {"owner": "edith", "columns": [
        {"name": "email", "description": "Contact address"}]}, format="json"), "patch", route)
    assert updated["owner"] == "edith"
    assert next(c for c in updated["columns"] if c["name"] == "email")["description"] == "Contact address"
    # Classifying needs the PII permission; without it the change is refused and nothing changes.
    refused = contract(api.patch(f"/api/catalog/datasets/{pk}/", {"columns": [
        {"name": "email", "classification": "pii"}]}, format="json"), "patch", route)
    assert "PII permission" in refused["detail"]
    Membership.objects.filter(user__username="otto").update(can_view_pii=True)
    classified = api.patch(f"/api/catalog/datasets/{pk}/", {"columns": [
        {"name": "email", "classification": "pii"}]}, format="json").json()
    assert {c["name"]: c["classification"] for c in classified["columns"]} == {"id": "", "email": "pii", "age": ""}
    # Bad input: a clear sentence naming the field.
    assert "no column 'mail'" in str(api.patch(f"/api/catalog/datasets/{pk}/", {"columns": [
        {"name": "mail", "description": "x"}]}, format="json").json())
    assert "'bad tag!'" in str(contract(api.patch(f"/api/catalog/datasets/{pk}/", {"tags": ["bad tag!"]},
                                                   format="json"), "patch", route))
    assert "not a member" in str(api.patch(f"/api/catalog/datasets/{pk}/", {"owner": "olga"}, format="json").json())
    assert api.patch(f"/api/catalog/datasets/{pk}/", {"columns": [{"name": "id", "classification": "secret"}]},
                     format="json").status_code == 400
    # Roles: a viewer reads but may not curate; another workspace's member sees nothing.
    assert contract(client_for(viewer).patch(f"/api/catalog/datasets/{pk}/", {"description": "x"}, format="json"),
                    "patch", route)["detail"].startswith("Your role")
    assert client_for(viewer).get(f"/api/catalog/datasets/{pk}/").json()["can_edit"] is False
    assert contract(client_for(outsider).get(f"/api/catalog/datasets/{pk}/"), "get", route)["detail"] == "Not found."
    assert client_for(outsider).patch(f"/api/catalog/datasets/{pk}/", {"description": "x"},
                                      format="json").status_code == 404
    assert client_for(outsider).get("/api/catalog/datasets/").json() == []


def test_rows_are_read_from_storage_with_pii_masked_for_users_without_the_permission(
    api: APIClient, data_dir: Path, viewer: Any, contract: Contract
) -> None:
    write_customers(data_dir)
    save(api, customers_pipeline())
    pk = by_uri(api, "file:landing/customers")["id"]
    Membership.objects.filter(user__username="otto").update(can_view_pii=True)
    api.patch(f"/api/catalog/datasets/{pk}/", {"columns": [{"name": "email", "classification": "pii"}]},
              format="json")
    route = "/api/catalog/datasets/{id}/rows/"
    seen = contract(api.get(f"/api/catalog/datasets/{pk}/rows/"), "get", route)
    assert seen["masked"] == [] and seen["has_more"] is False
    assert [r["email"] for r in seen["rows"]] == ["a@x.org", "b@x.org", None]
    hidden = contract(client_for(viewer).get(f"/api/catalog/datasets/{pk}/rows/"), "get", route)
    assert hidden["masked"] == ["email"]
    assert [(r["id"], r["email"], r["age"]) for r in hidden["rows"]] == [(1, "***", 34), (2, "***", 12), (3, "***", 51)]
    assert client_for(viewer).get(f"/api/catalog/datasets/{pk}/").json()["can_view_pii"] is False
    # Pages.
    page = api.get(f"/api/catalog/datasets/{pk}/rows/?offset=1&limit=1").json()
    assert [r["id"] for r in page["rows"]] == [2] and page["has_more"] is True
    assert api.get(f"/api/catalog/datasets/{pk}/rows/?offset=3").json()["rows"] == []
    assert contract(api.get(f"/api/catalog/datasets/{pk}/rows/?limit=0"), "get", route)
    # A superuser sees everything.
    root = make_user("root")
    root.is_superuser = True
    root.save()
    assert client_for(root).get(f"/api/catalog/datasets/{pk}/rows/").json()["masked"] == []
    # Data that is not there yet is a sentence, not a 500.
    sink = by_uri(api, "file:curated/customers")["id"]
    missing = contract(api.get(f"/api/catalog/datasets/{sink}/rows/"), "get", route)
    assert "Nothing is at 'curated/customers' yet" in missing["detail"]


def test_refresh_reads_parquet_footers_for_schema_and_row_count(
    api: APIClient, data_dir: Path, contract: Contract
) -> None:
    write_customers(data_dir)
    save(api, customers_pipeline())
    pk = by_uri(api, "file:landing/customers")["id"]
    refreshed = contract(api.post(f"/api/catalog/datasets/{pk}/refresh/"), "post", "/api/catalog/datasets/{id}/refresh/")
    assert refreshed["row_count"] == 3 and refreshed["refresh_error"] == ""
    assert refreshed["size_bytes"] == sum(p.stat().st_size for p in (data_dir / "landing" / "customers").glob("*.parquet"))
    assert refreshed["schema_source"] == "observed" and refreshed["last_updated_at"]
    assert [(c["name"], c["type"]) for c in refreshed["schema"]] == [("id", "bigint"), ("email", "string"),
                                                                     ("age", "int")]
    # The data changes: a column appears; the history keeps both.
    table = pa.table({"id": pa.array([4], pa.int64()), "email": ["d@x.org"], "age": pa.array([40], pa.int32()),
                      "city": ["Lyon"]})
    for part in (data_dir / "landing" / "customers").glob("*.parquet"):
        part.unlink()
    pq.write_table(table, data_dir / "landing" / "customers" / "part-2.parquet")
    again = api.post(f"/api/catalog/datasets/{pk}/refresh/").json()
    assert again["row_count"] == 1 and [c["name"] for c in again["schema"]][-1] == "city"
    assert again["schema_versions"][0]["source"] == "observed" and len(again["schema_versions"]) >= 2
    # Nothing there: the reason is kept, the answer is still the dataset.
    sink = by_uri(api, "file:curated/customers")["id"]
    empty = api.post(f"/api/catalog/datasets/{sink}/refresh/").json()
    assert "Nothing is at 'curated/customers' yet" in empty["refresh_error"]


def test_iceberg_tables_show_their_snapshots_schema_and_rows(
    api: APIClient, data_dir: Path, settings: Any, contract: Contract
) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    Path(settings.ICEBERG_CATALOG_URI[len("sqlite:///"):]).parent.mkdir(parents=True)
    Path(settings.ICEBERG_WAREHOUSE[len("file://"):]).mkdir(parents=True)
    catalog = SqlCatalog("studio", uri=settings.ICEBERG_CATALOG_URI, warehouse=settings.ICEBERG_WAREHOUSE)
    catalog.create_namespace("sales")
    first = pa.table({"order_id": pa.array([1, 2], pa.int64()), "amount": pa.array([10.5, 20.0])})
    table = catalog.create_table("sales.orders", schema=first.schema)
    table.append(first)
    table.append(pa.table({"order_id": pa.array([3], pa.int64()), "amount": pa.array([7.25])}))

    document = {
        "format": "studio.pipeline/v1", "name": "orders_export", "mode": "batch",
        "nodes": [
            {"id": "orders", "type": "source.iceberg", "config": {"table": "sales.orders"}},
            {"id": "out", "type": "sink.file", "config": {"path": "export/orders", "format": "csv"}},
        ],
        "edges": [{"from": {"node": "orders", "port": "out"}, "to": {"node": "out", "port": "in"}}],
    }
    save(api, document)
    pk = by_uri(api, "iceberg:sales.orders")["id"]
    refreshed = contract(api.post(f"/api/catalog/datasets/{pk}/refresh/"), "post", "/api/catalog/datasets/{id}/refresh/")
    assert refreshed["row_count"] == 3
    assert [(c["name"], c["type"]) for c in refreshed["schema"]] == [("order_id", "bigint"), ("amount", "double")]
    snapshots = refreshed["snapshots"]
    assert len(snapshots) == 2 and all(s["operation"] == "append" for s in snapshots)
    current = catalog.load_table("sales.orders").current_snapshot()
    assert snapshots[0]["snapshot_id"] == str(current.snapshot_id)
    assert snapshots[0]["parent_id"] == snapshots[1]["snapshot_id"]
    assert snapshots[0]["summary"]["total-records"] == "3"
    rows = contract(api.get(f"/api/catalog/datasets/{pk}/rows/?limit=2"), "get", "/api/catalog/datasets/{id}/rows/")
    assert len(rows["rows"]) == 2 and rows["has_more"] is True
    assert {r["order_id"] for r in api.get(f"/api/catalog/datasets/{pk}/rows/").json()["rows"]} == {1, 2, 3}


def test_kafka_topics_are_catalogued_but_not_browsed(api: APIClient, data_dir: Path, contract: Contract) -> None:
    document = {
        "format": "studio.pipeline/v1", "name": "clicks", "mode": "batch",
        "nodes": [
            {"id": "clicks", "type": "source.kafka",
             "config": {"topic": "clicks", "format": "json",
                        "schema": [{"name": "user_id", "type": "bigint"}, {"name": "url", "type": "string"}]}},
            {"id": "out", "type": "sink.file", "config": {"path": "clicks", "format": "json"}},
        ],
        "edges": [{"from": {"node": "clicks", "port": "out"}, "to": {"node": "out", "port": "in"}}],
    }
    save(api, document)
    topic = by_uri(api, "kafka:clicks")
    assert topic["kind"] == "kafka" and topic["namespace"] == "default" and topic["format"] == "json"
    assert [c["name"] for c in topic["schema"]] == ["user_id", "url"]
    refused = contract(api.get(f"/api/catalog/datasets/{topic['id']}/rows/"), "get", "/api/catalog/datasets/{id}/rows/")
    assert "Kafka topic" in refused["detail"]


def test_the_viewer_role_reads_the_catalog(api: APIClient, data_dir: Path, viewer: Any) -> None:
    save(api, filter_pipeline())
    reader = client_for(viewer)
    listed = reader.get("/api/catalog/datasets/").json()
    assert len(listed) == 2
    assert reader.post(f"/api/catalog/datasets/{listed[0]['id']}/refresh/").status_code == 403
    stranger = make_user("nobody")
    assert client_for(stranger).get(f"/api/catalog/datasets/{listed[0]['id']}/").status_code == 404
    assert APIClient().get("/api/catalog/datasets/").status_code in (401, 403)
    Membership.objects.filter(user=viewer).update(role=Role.EDITOR)
    assert reader.post(f"/api/catalog/datasets/{listed[0]['id']}/refresh/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_runs_that_write_a_topic_add_their_rows_to_it(api: APIClient, data_dir: Path, settings: Any) -> None:
    from runners.output import NodeMetric
    from studio.runs import services as runs
    from studio.runs.models import RunStatus

    settings.OPENLINEAGE_TRANSPORT = "off"
    document = filter_pipeline(name="publish")
    document["nodes"][2] = {"id": "out", "type": "sink.kafka", "config": {"topic": "big_orders", "format": "json"}}
    pk = save(api, document)

    def run(rows: int) -> dict[str, Any]:
        run_id = api.post(f"/api/pipelines/{pk}/runs/", {}, format="json").json()["id"]
        runs.run_claim(run_id=run_id)
        runs.run_job_started(run_id=run_id, job_pid=1)
        runs.run_record_metrics(run_id=run_id, metrics=[NodeMetric("out", "in", rows)])
        runs.run_transition(run_id=run_id, to_status=RunStatus.SUCCEEDED, reason="done")
        return api.get(f"/api/runs/{run_id}/").json()

    first = run(5)
    topic = by_uri(api, "kafka:big_orders")
    assert topic["row_count"] == 5 and topic["last_updated_at"] == first["finished_at"]
    assert topic["schema_source"] == "written" and [c["name"] for c in topic["schema"]] == ["order_id", "amount"]
    run(3)
    assert by_uri(api, "kafka:big_orders")["row_count"] == 8
