"""Lineage: stored per version and per run, checked against column lineage written by hand for corpus
pipelines; the graph upstream and downstream of a dataset or a column across pipelines; impact
analysis; and the access rules of every lineage endpoint."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from studio.lineage.services import lineage_record_run
from studio.runs.models import Run
from tests.studio.conftest import client_for
from tests.studio.test_openapi import Contract, contract, schema  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

CASES = Path(__file__).resolve().parent.parent / "corpus" / "cases"
ROWS = "*rows*"  # the key for row-level dependencies: columns that decide which rows are written

# Hand-written from each case's pipeline document and the rules in compiler/README.md ("Lineage"):
# output dataset -> written column -> [(input dataset, column, how)], where `how` is the strongest
# step on the way (identity < join_key < expression < aggregation); ROWS lists the columns that
# decide which rows reach the output (filters, quality rules other than warn, deduplication keys and
# order, SQL WHERE: "filter"; join keys and SQL ON: "join_key"). Columns made of no column
# (count(*), literals) have no entry.
O, C = "file:input/orders.csv", "file:input/customers.csv"
EXPECTED: dict[str, dict[str, dict[str, list[tuple[str, str, str]]]]] = {
    "join_inner": {
        "file:output/matched_out": {
            "order_id": [(O, "order_id", "identity")],
            "customer_id": [(C, "customer_id", "join_key"), (O, "customer_id", "join_key")],
            "amount": [(O, "amount", "identity")],
            "name": [(C, "name", "identity")],
            "tier": [(C, "tier", "identity")],
            ROWS: [(C, "customer_id", "join_key"), (O, "customer_id", "join_key")],
        },
    },
    "orders_enrichment": {
        "file:output/monthly_out": {
            "country": [("file:input/customers.json", "country", "identity")],
            "order_month": [(O, "placed_at", "expression")],
            "revenue": [(O, "amount", "aggregation"), (O, "discount", "aggregation")],
            "customers": [("file:input/customers.json", "customer_id", "aggregation"),
                          (O, "customer_id", "aggregation")],
            ROWS: [("file:input/customers.json", "customer_id", "join_key"), (O, "customer_id", "join_key"),
                   (O, "status", "filter")],
        },
        "file:output/enriched_csv": {
            "order_id": [(O, "order_id", "identity")],
            "name": [("file:input/customers.json", "name", "identity")],
            "country": [("file:input/customers.json", "country", "identity")],
            "net": [(O, "amount", "expression"), (O, "discount", "expression")],
            "month": [(O, "placed_at", "expression")],
            ROWS: [("file:input/customers.json", "customer_id", "join_key"), (O, "customer_id", "join_key"),
                   (O, "status", "filter")],
        },
    },
    "aggregate_grouped": {
        "file:output/by_region_out": {
            "region": [("file:input/sales.csv", "region", "identity")],
            "n_amount": [("file:input/sales.csv", "amount", "aggregation")],
            "products": [("file:input/sales.csv", "product", "aggregation")],
            "qty_sum": [("file:input/sales.csv", "qty", "aggregation")],
            "amount_sum": [("file:input/sales.csv", "amount", "aggregation")],
            "amount_avg": [("file:input/sales.csv", "amount", "aggregation")],
            "qty_avg": [("file:input/sales.csv", "qty", "aggregation")],
            "price_max": [("file:input/sales.csv", "price", "aggregation")],
            "first_day": [("file:input/sales.csv", "sold_on", "aggregation")],
            "last_product": [("file:input/sales.csv", "product", "aggregation")],
        },
    },
    "derive_chained": {
        "file:output/priced_out": {
            "id": [(O, "id", "identity")],
            "unit_price": [(O, "unit_price", "identity")],
            "discount_pct": [(O, "discount_pct", "identity")],
            "gross": [(O, "qty", "expression"), (O, "unit_price", "expression")],
            "disc": [(O, "discount_pct", "expression")],
            "net": [(O, "discount_pct", "expression"), (O, "qty", "expression"), (O, "unit_price", "expression")],
            "net_rounded": [(O, "discount_pct", "expression"), (O, "qty", "expression"),
                            (O, "unit_price", "expression")],
            # status is replaced by an expression of itself; later entries see the new value.
            "status": [(O, "status", "expression")],
            "big": [(O, "discount_pct", "expression"), (O, "qty", "expression"), (O, "unit_price", "expression")],
            "label": [(O, "discount_pct", "expression"), (O, "qty", "expression"), (O, "status", "expression"),
                      (O, "unit_price", "expression")],
            "qty": [(O, "qty", "expression")],
            "qty_check": [(O, "qty", "expression")],
            "gross_again": [(O, "qty", "expression"), (O, "unit_price", "expression")],
        },
    },
    "select_alias_cast": {
        "file:output/typed_out": {
            "id": [("file:input/values.csv", "id", "identity")],
            "n": [("file:input/values.csv", "s_int", "expression")],
            "d": [("file:input/values.csv", "s_date", "expression")],
            "price2": [("file:input/values.csv", "price", "expression")],
            "price_int": [("file:input/values.csv", "price", "expression")],
            "ratio_long": [("file:input/values.csv", "ratio", "expression")],
            "ratio_dec": [("file:input/values.csv", "ratio", "expression")],
            "qty_text": [("file:input/values.csv", "qty", "expression")],
            "qty_double": [("file:input/values.csv", "qty", "expression")],
            "at_day": [("file:input/values.csv", "at", "expression")],
            "at_text": [("file:input/values.csv", "at", "expression")],
            "flag": [("file:input/values.csv", "flag_text", "expression")],
        },
    },
    "union_by_name": {
        "file:output/stacked_out": {
            column: [("file:input/a.csv", column, "identity"), ("file:input/b.csv", column, "identity")]
            for column in ("id", "name", "amount")
        },
    },
    "sql_two_inputs": {
        "file:output/by_country_out": {
            "country": [(C, "country", "identity")],
            "revenue": [(O, "amount", "aggregation")],
            "biggest": [(O, "amount", "aggregation")],
            ROWS: [(C, "customer_id", "join_key"), (O, "customer_id", "join_key"), (O, "status", "filter")],
        },
    },
    "window_tumbling": {
        "file:output/hourly_out": {
            "window_start": [("file:input/clicks.csv", "ts", "expression")],
            "window_end": [("file:input/clicks.csv", "ts", "expression")],
            "user": [("file:input/clicks.csv", "user", "identity")],
            "total": [("file:input/clicks.csv", "amount", "aggregation")],
            "clicks": [("file:input/clicks.csv", "clicks", "aggregation")],
            "last_ts": [("file:input/clicks.csv", "ts", "aggregation")],
        },
    },
    "quality_rules": {
        **{
            out: {
                **{column: [(C, column, "identity")] for column in ("id", "email", "amount", "country")},
                # Every rule's columns make the list of failed rules, warn rules included.
                "_failed_rules": [(C, "amount", "expression"), (C, "country", "expression"),
                                  (C, "email", "expression"), (C, "id", "expression")],
                # Rules that remove rows (drop, quarantine, fail) decide the rows; warn does not.
                ROWS: [(C, "amount", "filter"), (C, "email", "filter"), (C, "id", "filter")],
            }
            for out in ("file:output/rejected_out", "file:output/rejected_json")
        },
        "file:output/valid_out": {
            **{column: [(C, column, "identity")] for column in ("id", "email", "amount", "country")},
            ROWS: [(C, "amount", "filter"), (C, "email", "filter"), (C, "id", "filter")],
        },
    },
    "dedup_keep_last": {
        out: {
            **{column: [("file:input/prices.csv", column, "identity")] for column in ("sku", "store", "version", "price")},
            ROWS: [("file:input/prices.csv", "sku", "filter"), ("file:input/prices.csv", "store", "filter"),
                   ("file:input/prices.csv", "version", "filter")],
        }
        for out in ("file:output/last_asc_out", "file:output/first_desc_out")
    },
    "join_full_keys": {
        "file:output/both_out": {
            "k": [("file:input/a.csv", "k", "join_key"), ("file:input/b.csv", "k", "join_key")],
            "left_val": [("file:input/a.csv", "left_val", "identity")],
            "right_val": [("file:input/b.csv", "right_val", "identity")],
            ROWS: [("file:input/a.csv", "k", "join_key"), ("file:input/b.csv", "k", "join_key")],
        },
    },
    "join_right_suffix": {
        "file:output/staffed_out": {
            "emp_id": [("file:input/employees.csv", "emp_id", "identity")],
            "name": [("file:input/employees.csv", "name", "identity")],
            "dept_id": [("file:input/employees.csv", "dept_id", "identity")],
            "updated": [("file:input/employees.csv", "updated", "identity")],
            "id": [("file:input/depts.csv", "id", "identity")],
            "name_dept": [("file:input/depts.csv", "name", "identity")],
            "updated_dept": [("file:input/depts.csv", "updated", "identity")],
            "budget": [("file:input/depts.csv", "budget", "identity")],
            ROWS: [("file:input/depts.csv", "id", "join_key"), ("file:input/employees.csv", "dept_id", "join_key")],
        },
    },
    "sql_cte_case": {
        "file:output/buckets_out": {
            "bucket": [("file:input/events.csv", "ms", "expression")],
            "first_ts": [("file:input/events.csv", "ts", "aggregation")],
            "avg_ms": [("file:input/events.csv", "ms", "aggregation")],
            ROWS: [("file:input/events.csv", "kind", "filter")],
        },
    },
    "fan_out_union": {
        "file:output/raw_copy": {
            column: [("file:input/readings.csv", column, "identity")] for column in ("id", "kind", "v")
        },
        "file:output/summary_out": {
            "total": [("file:input/readings.csv", "v", "aggregation")],
            "kinds": [("file:input/readings.csv", "kind", "aggregation")],
            ROWS: [("file:input/readings.csv", "v", "filter")],
        },
    },
    "parameters_path_and_condition": {
        "file:output/scored_out": {
            **{column: [("file:input/eu/orders.csv", column, "identity")]
               for column in ("id", "qty", "order_date", "placed_at", "vip")},
            "weighted": [("file:input/eu/orders.csv", "qty", "expression")],
            "late": [("file:input/eu/orders.csv", "placed_at", "expression")],
            "tag": [("file:input/eu/orders.csv", "id", "expression")],
            "huge": [("file:input/eu/orders.csv", "qty", "expression")],
            ROWS: [("file:input/eu/orders.csv", "order_date", "filter"), ("file:input/eu/orders.csv", "qty", "filter"),
                   ("file:input/eu/orders.csv", "vip", "filter")],
        },
    },
}
# Columns written that are made of no column at all (count(*), literals): in the schema, no lineage.
WITHOUT_SOURCES = {
    "orders_enrichment": {"file:output/monthly_out": {"orders"}},
    "aggregate_grouped": {"file:output/by_region_out": {"n"}},
    "sql_two_inputs": {"file:output/by_country_out": {"orders"}},
    "window_tumbling": {"file:output/hourly_out": {"n"}},
    "sql_cte_case": {"file:output/buckets_out": {"n"}},
    "fan_out_union": {"file:output/summary_out": {"sign", "n"}},
}


def save(api: APIClient, document: dict[str, Any], name: str | None = None) -> int:
    response = api.post("/api/pipelines/", {"workspace": "team", "name": name or document["name"],
                                            "document": document}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def as_expected(record: dict[str, Any]) -> dict[str, dict[str, list[tuple[str, str, str]]]]:
    """A lineage answer in the shape of EXPECTED (dataset URIs instead of ids)."""
    uri = {d["id"]: d["uri"] for d in record["datasets"]}
    found: dict[str, dict[str, list[tuple[str, str, str]]]] = {
        d["uri"]: {} for d in record["datasets"] if d["direction"] == "output"
    }
    for edge in record["columns"]:
        column = edge["target_column"] or ROWS
        found[uri[edge["target"]]].setdefault(column, []).append((uri[edge["source"]], edge["source_column"], edge["how"]))
    return {out: {column: sorted(sources) for column, sources in columns.items()} for out, columns in found.items()}


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.STUDIO_DATA_DIR = tmp_path
    return tmp_path


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_column_lineage_of_corpus_pipelines_matches_the_hand_written_expectation(
    api: APIClient, data_dir: Path, case: str, contract: Contract
) -> None:
    document = json.loads((CASES / case / "pipeline.json").read_text())
    pk = save(api, document)
    record = contract(api.get(f"/api/pipelines/{pk}/versions/1/lineage/"), "get",
                      "/api/pipelines/{id}/versions/{number}/lineage/")
    expected = {out: {column: sorted(sources) for column, sources in columns.items()}
                for out, columns in EXPECTED[case].items()}
    assert as_expected(record) == expected
    # Every written column is in the sink's schema, with or without lineage.
    for dataset in record["datasets"]:
        if dataset["direction"] == "output":
            written = {c["name"] for c in dataset["schema"]}
            with_lineage = set(expected[dataset["uri"]]) - {ROWS}
            assert written == with_lineage | WITHOUT_SOURCES.get(case, {}).get(dataset["uri"], set())


def test_quality_sinks_know_which_rows_they_receive(api: APIClient, data_dir: Path) -> None:
    pk = save(api, json.loads((CASES / "quality_rules" / "pipeline.json").read_text()))
    outputs = {d["node"]: d for d in api.get(f"/api/pipelines/{pk}/versions/1/lineage/").json()["datasets"]
               if d["direction"] == "output"}
    assert {node: (d["quality_nodes"], d["quarantine_of"]) for node, d in outputs.items()} == {
        "valid_out": (["checked"], []), "rejected_out": (["checked"], ["checked"]),
        "rejected_json": (["checked"], ["checked"]),
    }


def test_a_run_keeps_the_lineage_of_its_own_parameters(api: APIClient, data_dir: Path, contract: Contract) -> None:
    document = json.loads((CASES / "parameters_path_and_condition" / "pipeline.json").read_text())
    pk = save(api, document)
    run_id = api.post(f"/api/pipelines/{pk}/runs/", {"parameters": {"region": "us"}}, format="json").json()["id"]
    route = "/api/runs/{id}/lineage/"
    assert "no lineage yet" in contract(api.get(f"/api/runs/{run_id}/lineage/"), "get", route)["detail"]
    lineage_record_run(run=Run.objects.get(pk=run_id))
    record = contract(api.get(f"/api/runs/{run_id}/lineage/"), "get", route)
    assert record["run"] == run_id and record["parameters"] == {"region": "us"}
    inputs = [d["uri"] for d in record["datasets"] if d["direction"] == "input"]
    assert inputs == ["file:input/us/orders.csv"]
    # The save-time lineage still names the default's location; both are in the catalog.
    saved = api.get(f"/api/pipelines/{pk}/versions/1/lineage/").json()
    assert [d["uri"] for d in saved["datasets"] if d["direction"] == "input"] == ["file:input/eu/orders.csv"]
    assert {"file:input/us/orders.csv", "file:input/eu/orders.csv"} <= {
        d["uri"] for d in api.get("/api/catalog/datasets/").json()}


# --- the graph across pipelines ---------------------------------------------------------------------


def chain() -> list[dict[str, Any]]:
    """raw/orders.csv -(clean)-> clean/orders -(daily)-> marts/daily, and clean/orders -(audit)-> audit/big."""
    def file_source(node: str, path: str, fmt: str, schema: list[dict[str, str]] | None = None) -> dict[str, Any]:
        config: dict[str, Any] = {"path": path, "format": fmt}
        if schema:
            config["schema"] = schema
        return {"id": node, "type": "source.file", "config": config}

    def sink(node: str, path: str) -> dict[str, Any]:
        return {"id": node, "type": "sink.file", "config": {"path": path, "format": "parquet"}}

    def edges(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
        return [{"from": {"node": a, "port": "out"}, "to": {"node": b, "port": "in"}} for a, b in pairs]

    columns = [{"name": "order_id", "type": "bigint"}, {"name": "customer", "type": "string"},
               {"name": "amount", "type": "decimal(10,2)"}, {"name": "day", "type": "date"},
               {"name": "note", "type": "string"}]
    clean_columns = [c for c in columns if c["name"] != "note"] + [{"name": "amount_eur", "type": "decimal(13,2)"}]
    return [
        {"format": "studio.pipeline/v1", "name": "clean", "mode": "batch",
         "nodes": [file_source("raw", "raw/orders.csv", "csv", columns),
                   {"id": "valid", "type": "transform.filter", "config": {"condition": "amount IS NOT NULL"}},
                   {"id": "eur", "type": "transform.derive",
                    "config": {"columns": [{"name": "amount_eur", "expression": "amount * 1.1"}]}},
                   {"id": "keep", "type": "transform.select",
                    "config": {"columns": [{"name": c["name"]} for c in clean_columns]}},
                   sink("out", "clean/orders")],
         "edges": edges(("raw", "valid"), ("valid", "eur"), ("eur", "keep"), ("keep", "out"))},
        {"format": "studio.pipeline/v1", "name": "daily", "mode": "batch",
         "nodes": [file_source("orders", "clean/orders/*.parquet", "parquet",
                               [c for c in clean_columns if c["name"] in ("day", "amount_eur")]),
                   {"id": "per_day", "type": "transform.aggregate",
                    "config": {"group_by": ["day"], "aggregations": [
                        {"name": "revenue", "function": "sum", "column": "amount_eur"},
                        {"name": "orders", "function": "count"}]}},
                   sink("out", "marts/daily")],
         "edges": edges(("orders", "per_day"), ("per_day", "out"))},
        {"format": "studio.pipeline/v1", "name": "audit", "mode": "batch",
         "nodes": [file_source("orders", "clean/orders", "parquet", clean_columns),
                   {"id": "big", "type": "transform.filter", "config": {"condition": "amount > 1000"}},
                   {"id": "who", "type": "transform.select", "config": {"columns": [{"name": "customer"}]}},
                   sink("out", "audit/big")],
         "edges": edges(("orders", "big"), ("big", "who"), ("who", "out"))},
    ]


def ids(api: APIClient) -> dict[str, int]:
    return {d["uri"]: d["id"] for d in api.get("/api/catalog/datasets/").json()}


def test_upstream_and_downstream_of_a_dataset_across_pipelines(
    api: APIClient, data_dir: Path, contract: Contract
) -> None:
    for document in chain():
        save(api, document)
    dataset = ids(api)
    route = "/api/lineage/datasets/{id}/"
    graph = contract(api.get(f"/api/lineage/datasets/{dataset['file:clean/orders']}/"), "get", route)
    assert {d["uri"]: d["depth"] for d in graph["datasets"]} == {
        "file:raw/orders.csv": -1, "file:clean/orders": 0, "file:marts/daily": 1, "file:audit/big": 1,
    }
    assert sorted(p["name"] for p in graph["pipelines"]) == ["audit", "clean", "daily"]
    names = {p["id"]: p["name"] for p in graph["pipelines"]}
    uri = {d["id"]: d["uri"] for d in graph["datasets"]}
    assert sorted((uri[e["source"]], names[e["pipeline"]], uri[e["target"]]) for e in graph["edges"]) == [
        ("file:clean/orders", "audit", "file:audit/big"),
        ("file:clean/orders", "daily", "file:marts/daily"),
        ("file:raw/orders.csv", "clean", "file:clean/orders"),
    ]
    daily = next(e for e in graph["edges"] if names[e["pipeline"]] == "daily")
    assert daily["columns"] == [
        {"source_column": "day", "target_column": "day", "how": "identity"},
        {"source_column": "amount_eur", "target_column": "revenue", "how": "aggregation"},
    ]
    # To any depth from the start; limited depth; one direction.
    downstream = api.get(f"/api/lineage/datasets/{dataset['file:raw/orders.csv']}/?direction=downstream").json()
    assert {d["uri"]: d["depth"] for d in downstream["datasets"]} == {
        "file:raw/orders.csv": 0, "file:clean/orders": 1, "file:marts/daily": 2, "file:audit/big": 2,
    }
    one_hop = api.get(f"/api/lineage/datasets/{dataset['file:raw/orders.csv']}/?direction=downstream&depth=1").json()
    assert [d["uri"] for d in one_hop["datasets"]] == ["file:raw/orders.csv", "file:clean/orders"]
    upstream = api.get(f"/api/lineage/datasets/{dataset['file:marts/daily']}/?direction=upstream").json()
    assert {d["uri"]: d["depth"] for d in upstream["datasets"]} == {
        "file:raw/orders.csv": -2, "file:clean/orders": -1, "file:marts/daily": 0,
    }
    assert contract(api.get(f"/api/lineage/datasets/{dataset['file:raw/orders.csv']}/?direction=sideways"),
                    "get", route)["direction"]


def test_column_lineage_across_pipelines_upstream_and_downstream(api: APIClient, data_dir: Path) -> None:
    for document in chain():
        save(api, document)
    dataset = ids(api)
    name = {v: k for k, v in dataset.items()}
    revenue = api.get(f"/api/lineage/datasets/{dataset['file:marts/daily']}/?column=revenue&direction=upstream").json()
    assert sorted((name[c["dataset"]], c["column"], c["depth"]) for c in revenue["columns"]) == [
        ("file:clean/orders", "amount_eur", -1),
        ("file:marts/daily", "revenue", 0),
        ("file:raw/orders.csv", "amount", -2),  # amount_eur = amount * 1.1, and `amount IS NOT NULL` filters
    ]
    amount = api.get(f"/api/lineage/datasets/{dataset['file:raw/orders.csv']}/?column=amount&direction=downstream").json()
    assert sorted(((name[c["dataset"]], c["column"]) for c in amount["columns"]), key=lambda n: (n[0], n[1] or "")) == [
        ("file:audit/big", None),  # only decides which rows (amount > 1000): not a column of audit/big
        ("file:clean/orders", None),  # `amount IS NOT NULL`
        ("file:clean/orders", "amount"),
        ("file:clean/orders", "amount_eur"),
        ("file:marts/daily", "revenue"),
        ("file:raw/orders.csv", "amount"),
    ]
    edge_hows = {(name[e["source"]], name[e["target"]]): e["columns"] for e in amount["edges"]}
    assert edge_hows[("file:raw/orders.csv", "file:clean/orders")] == [
        {"source_column": "amount", "target_column": None, "how": "filter"},
        {"source_column": "amount", "target_column": "amount", "how": "identity"},
        {"source_column": "amount", "target_column": "amount_eur", "how": "expression"},
    ]
    # A column nothing is made from has only itself.
    note = api.get(f"/api/lineage/datasets/{dataset['file:raw/orders.csv']}/?column=note").json()
    assert [(c["column"], c["depth"]) for c in note["columns"]] == [("note", 0)] and note["edges"] == []
    assert api.get(f"/api/lineage/datasets/{dataset['file:raw/orders.csv']}/?column=not-a-name").status_code == 400


def test_the_graph_follows_the_latest_versions(api: APIClient, data_dir: Path) -> None:
    documents = chain()
    pks = {d["name"]: save(api, d) for d in documents}
    audit = documents[2]
    audit["nodes"][3]["config"]["path"] = "audit/v2"
    assert api.post(f"/api/pipelines/{pks['audit']}/versions/", {"document": audit, "base_version": 1},
                    format="json").status_code == 201
    dataset = ids(api)
    graph = api.get(f"/api/lineage/datasets/{dataset['file:clean/orders']}/?direction=downstream").json()
    assert sorted(d["uri"] for d in graph["datasets"]) == ["file:audit/v2", "file:clean/orders", "file:marts/daily"]


def test_impact_of_dropping_a_column(api: APIClient, data_dir: Path, contract: Contract) -> None:
    for document in chain():
        save(api, document)
    dataset = ids(api)
    name = {v: k for k, v in dataset.items()}
    route = "/api/lineage/datasets/{id}/impact/"
    impact = contract(api.get(f"/api/lineage/datasets/{dataset['file:raw/orders.csv']}/impact/?column=amount"),
                      "get", route)
    assert sorted((c["dataset"]["uri"], c["column"], c["depth"]) for c in impact["columns"]) == [
        ("file:clean/orders", "amount", 1), ("file:clean/orders", "amount_eur", 1), ("file:marts/daily", "revenue", 2),
    ]
    # clean computes from it; daily sums amount_eur; audit filters on the copied amount.
    assert [p["name"] for p in impact["pipelines"]] == ["audit", "clean", "daily"]
    uses = {p["name"]: {(name[u["dataset"]], u["column"], u["how"]) for u in p["uses"]} for p in impact["pipelines"]}
    # audit filters on the copied amount, and declares amount_eur in its source's schema.
    assert uses["audit"] == {("file:clean/orders", "amount", "filter"), ("file:clean/orders", "amount_eur", "read")}
    assert ("file:clean/orders", "amount_eur", "aggregation") in uses["daily"]
    assert ("file:raw/orders.csv", "amount", "filter") in uses["clean"]
    assert sorted(d["uri"] for d in impact["datasets"]) == ["file:audit/big", "file:clean/orders", "file:marts/daily"]
    # A column only one pipeline copies breaks only it, and what it writes.
    narrow = api.get(f"/api/lineage/datasets/{dataset['file:clean/orders']}/impact/?column=customer").json()
    assert [p["name"] for p in narrow["pipelines"]] == ["audit"]
    assert [d["uri"] for d in narrow["datasets"]] == ["file:audit/big"]
    # A column a pipeline only declares in its source's schema (a CSV file's columns are positional).
    declared = api.get(f"/api/lineage/datasets/{dataset['file:raw/orders.csv']}/impact/?column=note").json()
    assert declared["columns"] == []
    assert [(p["name"], [u["how"] for u in p["uses"]]) for p in declared["pipelines"]] == [("clean", ["read"])]
    # A column no pipeline uses or declares breaks nothing.
    unused = api.get(f"/api/lineage/datasets/{dataset['file:marts/daily']}/impact/?column=orders").json()
    assert unused["columns"] == [] and unused["pipelines"] == [] and unused["datasets"] == []
    assert contract(api.get(f"/api/lineage/datasets/{dataset['file:raw/orders.csv']}/impact/"), "get", route)


def test_lineage_endpoints_answer_404_outside_the_users_workspaces(
    api: APIClient, data_dir: Path, outsider: Any, viewer: Any
) -> None:
    pk = save(api, chain()[0])
    run_id = api.post(f"/api/pipelines/{pk}/runs/", {}, format="json").json()["id"]
    lineage_record_run(run=Run.objects.get(pk=run_id))
    dataset = ids(api)["file:clean/orders"]
    paths = [f"/api/lineage/datasets/{dataset}/", f"/api/lineage/datasets/{dataset}/impact/?column=amount",
             f"/api/pipelines/{pk}/versions/1/lineage/", f"/api/runs/{run_id}/lineage/",
             f"/api/runs/{run_id}/quality/", f"/api/runs/{run_id}/openlineage/"]
    for path in paths:
        assert client_for(viewer).get(path).status_code == 200, path
        assert client_for(outsider).get(path).status_code == 404, path
        assert APIClient().get(path).status_code in (401, 403), path
    assert api.get(f"/api/pipelines/{pk}/versions/7/lineage/").status_code == 404
