"""The catalog: datasets registered when a pipeline version is saved, searched, curated, looked at
(schema, rows, Iceberg snapshots) with PII masked, and kept to each user's workspaces."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.utils import timezone as django_timezone
from rest_framework.test import APIClient

from studio.access.models import Membership, Role
from studio.catalog.identity import IdentityError, dataset_key
from studio.catalog.models import Dataset
from studio.runs import services as runs
from studio.runs.models import RunStatus
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


def iceberg_catalog(settings: Any) -> Any:
    """The studio's Iceberg catalog as the `data_dir` fixture points it, created empty."""
    from pyiceberg.catalog.sql import SqlCatalog

    Path(settings.ICEBERG_CATALOG_URI[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    Path(settings.ICEBERG_WAREHOUSE[len("file://"):]).mkdir(parents=True, exist_ok=True)
    return SqlCatalog("studio", uri=settings.ICEBERG_CATALOG_URI, warehouse=settings.ICEBERG_WAREHOUSE)


def start_run(api: APIClient, pipeline: int) -> int:
    """A run of the pipeline, moved to running through the run services as its worker would."""
    run_id = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    runs.run_claim(run_id=run_id)
    runs.run_job_started(run_id=run_id, job_pid=1)
    return run_id


def customers_with_pii_email(api: APIClient, data_dir: Path) -> int:
    """The landing customers, catalogued with `email` classified PII by otto (the `api` client's
    operator, given the PII permission for it); the dataset's id."""
    write_customers(data_dir)
    save(api, customers_pipeline())
    pk = by_uri(api, "file:landing/customers")["id"]
    Membership.objects.filter(user__username="otto").update(can_view_pii=True)
    response = api.patch(f"/api/catalog/datasets/{pk}/", {"columns": [{"name": "email", "classification": "pii"}]},
                         format="json")
    assert response.status_code == 200, response.json()
    return pk


def make_superuser(username: str) -> Any:
    user = make_user(username)
    user.is_superuser = True
    user.save()
    return user


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
    pk = customers_with_pii_email(api, data_dir)
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
    root = make_superuser("root")
    assert client_for(root).get(f"/api/catalog/datasets/{pk}/rows/").json()["masked"] == []
    # Data that is not there yet is a sentence, not a 500.
    sink = by_uri(api, "file:curated/customers")["id"]
    missing = contract(api.get(f"/api/catalog/datasets/{sink}/rows/"), "get", route)
    assert "Nothing is at 'curated/customers' yet" in missing["detail"]


def test_file_previews_mask_pii_for_members_without_the_permission(
    api: APIClient, data_dir: Path, viewer: Any, contract: Contract
) -> None:
    customers_with_pii_email(api, data_dir)

    def preview(client: APIClient, path: str, file_format: str = "parquet") -> dict[str, Any]:
        return contract(client.post("/api/files/schema/", {"path": path, "format": file_format}, format="json"),
                        "post", "/api/files/schema/")

    # The editor's preview of a file the catalog holds follows the dataset's page: a member with the
    # PII permission sees the values, one without it sees them masked, whatever path names the file.
    seen = preview(api, "landing/customers/*.parquet")
    assert seen["masked"] == [] and [r["email"] for r in seen["sample"]] == ["a@x.org", "b@x.org"]
    for path in ("landing/customers/*.parquet", "landing/customers", "landing/customers/part-1.parquet"):
        hidden = preview(client_for(viewer), path)
        assert hidden["masked"] == ["email"], path
        assert {r["email"] for r in hidden["sample"]} == {"***"} and all(r["id"] for r in hidden["sample"]), path
    assert preview(client_for(make_superuser("root")), "landing/customers")["masked"] == []
    # Another file in the dataset's folder, whose header spells the column otherwise (Spark reads it).
    (data_dir / "landing" / "customers" / "export.csv").write_text("ID,EMAIL\n9,z@x.org\n")
    assert preview(client_for(viewer), "landing/customers/*.csv", "csv")["sample"] == [{"ID": 9, "EMAIL": "***"}]
    # A file the catalog holds in no dataset of the viewer's workspace has nothing classified.
    (data_dir / "elsewhere").mkdir()
    pq.write_table(pa.table({"email": ["c@x.org"]}), data_dir / "elsewhere" / "people.parquet")
    assert preview(client_for(viewer), "elsewhere/people.parquet")["sample"] == [{"email": "c@x.org"}]


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
    catalog = iceberg_catalog(settings)
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

    settings.OPENLINEAGE_TRANSPORT = "off"
    document = filter_pipeline(name="publish")
    document["nodes"][2] = {"id": "out", "type": "sink.kafka", "config": {"topic": "big_orders", "format": "json"}}
    pk = save(api, document)

    def run(rows: int) -> dict[str, Any]:
        run_id = start_run(api, pk)
        runs.run_record_metrics(run_id=run_id, metrics=[NodeMetric("out", "in", rows)])
        runs.run_transition(run_id=run_id, to_status=RunStatus.SUCCEEDED, reason="done")
        return api.get(f"/api/runs/{run_id}/").json()

    first = run(5)
    topic = by_uri(api, "kafka:big_orders")
    assert topic["row_count"] == 5 and topic["last_updated_at"] == first["finished_at"]
    assert topic["schema_source"] == "written" and [c["name"] for c in topic["schema"]] == ["order_id", "amount"]
    run(3)
    assert by_uri(api, "kafka:big_orders")["row_count"] == 8


# --- Iceberg tables that runs write -----------------------------------------------------------------

LAKE_TABLE = "sales.big_orders"


def lake_rows(*ids: int) -> pa.Table:
    return pa.table({"order_id": pa.array(ids, pa.int64()),
                     "amount": pa.array([Decimal(f"{100 + i}.50") for i in ids], pa.decimal128(12, 2))})


@pytest.fixture
def lake(api: APIClient, data_dir: Path, settings: Any) -> dict[str, Any]:
    """The Iceberg table `sales.big_orders` (empty) and a saved pipeline that writes it."""
    settings.OPENLINEAGE_TRANSPORT = "off"
    catalog = iceberg_catalog(settings)
    catalog.create_namespace("sales")
    table = catalog.create_table(LAKE_TABLE, schema=lake_rows(1).schema)
    document = filter_pipeline(name="big_orders_to_lake")
    document["nodes"][2] = {"id": "out", "type": "sink.iceberg", "config": {"table": LAKE_TABLE, "mode": "append"}}
    return {"table": table, "pipeline": save(api, document)}


def snapshot_ids(table: Any) -> list[str]:
    """The table's snapshot ids as the catalog lists them: newest first, as text."""
    table.refresh()
    return [str(s.snapshot_id) for s in sorted(table.snapshots(), key=lambda s: s.timestamp_ms, reverse=True)]


def committed_at(table: Any) -> datetime:
    return datetime.fromtimestamp(table.current_snapshot().timestamp_ms / 1000, tz=timezone.utc)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_run_that_writes_an_iceberg_table_refreshes_it_when_it_finishes(
    api: APIClient, lake: dict[str, Any], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    table = lake["table"]
    before = by_uri(api, f"iceberg:{LAKE_TABLE}")
    assert before["row_count"] is None and before["snapshots"] == [] and before["last_updated_at"] is None
    with django_capture_on_commit_callbacks(execute=True):
        run_id = start_run(api, lake["pipeline"])
    # What the job commits (no Spark here: pyiceberg commits as the job's driver does).
    table.append(lake_rows(1, 2))
    table.append(lake_rows(3))
    with django_capture_on_commit_callbacks(execute=True):
        assert runs.run_transition(run_id=run_id, to_status=RunStatus.SUCCEEDED, reason="done")
    finished = api.get(f"/api/runs/{run_id}/").json()
    after = by_uri(api, f"iceberg:{LAKE_TABLE}")
    assert after["row_count"] == 3 and after["refresh_error"] == ""
    assert [s["snapshot_id"] for s in after["snapshots"]] == snapshot_ids(table)
    assert after["snapshots"][0]["summary"]["total-records"] == "3"
    assert after["schema_source"] == "observed"
    # Its last update is when the run that wrote it finished (after the table's last commit).
    assert when(after["last_updated_at"]) == when(finished["finished_at"]) >= committed_at(table)
    assert when(after["refreshed_at"]) >= when(finished["finished_at"])


def test_the_outputs_of_a_running_run_are_looked_at_again_at_most_once_per_interval(
    api: APIClient, lake: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    from runners.celery import app
    from runners.tasks import refresh_running_datasets
    from studio.lineage.services import running_outputs_refresh

    # Beat sends it to the control queue, with the reaper and the schedule dispatcher.
    tick = settings.CELERY_BEAT_SCHEDULE["refresh-running-datasets"]
    assert tick["task"] == refresh_running_datasets.name == "runners.refresh_running_datasets"
    assert tick["task"] in app.tasks and tick["options"]["queue"] == settings.CONTROL_QUEUE
    settings.STUDIO_CATALOG_RUNNING_REFRESH_SECONDS = 60
    table = lake["table"]
    pk = by_uri(api, f"iceberg:{LAKE_TABLE}")["id"]
    with django_capture_on_commit_callbacks(execute=True):
        run_id = start_run(api, lake["pipeline"])
    assert api.get(f"/api/runs/{run_id}/").json()["status"] == "running"

    # A long-running (streaming) run commits micro-batches and does not finish.
    table.append(lake_rows(1, 2))
    assert running_outputs_refresh() == [pk]
    first = by_uri(api, f"iceberg:{LAKE_TABLE}")
    assert first["row_count"] == 2 and [s["snapshot_id"] for s in first["snapshots"]] == snapshot_ids(table)
    assert when(first["last_updated_at"]) == committed_at(table)
    # The next commit is not looked at within the interval...
    table.append(lake_rows(3))
    assert running_outputs_refresh() == []
    assert by_uri(api, f"iceberg:{LAKE_TABLE}")["row_count"] == 2
    # ... but once it has passed.
    later = django_timezone.now() + timedelta(seconds=61)
    assert running_outputs_refresh(now=later) == [pk]
    second = by_uri(api, f"iceberg:{LAKE_TABLE}")
    assert second["row_count"] == 3 and len(second["snapshots"]) == 2
    assert [s["snapshot_id"] for s in second["snapshots"]] == snapshot_ids(table)
    assert when(second["last_updated_at"]) == committed_at(table) > when(first["last_updated_at"])
    # A finished run's outputs are refreshed when it finishes, not by the periodic look.
    with django_capture_on_commit_callbacks(execute=True):
        runs.run_transition(run_id=run_id, to_status=RunStatus.SUCCEEDED, reason="done")
    table.append(lake_rows(4))
    assert running_outputs_refresh(now=later + timedelta(hours=1)) == []
    assert by_uri(api, f"iceberg:{LAKE_TABLE}")["row_count"] == 3
