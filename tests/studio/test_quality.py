"""Quality: a real Spark run of a pipeline with transform.quality rules, its pass/fail counts per rule,
the quarantined rows browsable through the catalog (PII masked), and each dataset's quality history."""
from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from runners.execute import execute_run
from studio.access.models import Membership
from tests.studio.conftest import client_for
from tests.studio.test_openapi import Contract, contract, schema  # noqa: F401 - fixtures
from tests.studio.test_openlineage import spec_errors

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.spark]

CASE = Path(__file__).resolve().parent.parent / "corpus" / "cases" / "quality_rules"


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.STUDIO_DATA_DIR = tmp_path / "data"
    settings.STUDIO_RUNS_DIR = tmp_path / "runs"
    settings.OPENLINEAGE_TRANSPORT = "file"
    settings.OPENLINEAGE_FILE = str(tmp_path / "openlineage" / "events.jsonl")
    shutil.copytree(CASE / "input", tmp_path / "data" / "input")
    return tmp_path / "data"


def rule_counts_by_hand(path: Path) -> dict[str, tuple[int, int]]:
    """(passed, failed) per rule of the case, evaluated in plain Python (NULL fails a rule)."""
    rows = list(csv.DictReader(path.open()))
    checks = {
        "amount_positive": lambda r: r["amount"] != "" and Decimal(r["amount"]) > 0,
        "email_present": lambda r: r["email"] != "",
        "country_known": lambda r: r["country"] in ("FR", "DE", "US"),
        "has_id": lambda r: r["id"] != "",
    }
    return {name: (sum(map(check, rows)), sum(not check(r) for r in rows)) for name, check in checks.items()}


def run_case(api: APIClient) -> tuple[int, int]:
    document = json.loads((CASE / "pipeline.json").read_text())
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": "quality", "document": document},
                        format="json").json()["id"]
    run_id = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    execute_run(run_id)
    run = api.get(f"/api/runs/{run_id}/").json()
    assert run["status"] == "succeeded", run["error"]
    return pipeline, run_id


def test_rule_counts_quarantine_and_quality_history_of_a_real_run(
    api: APIClient, data_dir: Path, viewer: Any, contract: Contract
) -> None:
    _, run_id = run_case(api)
    quality = contract(api.get(f"/api/runs/{run_id}/quality/"), "get", "/api/runs/{id}/quality/")
    assert [q["node"] for q in quality] == ["checked"]
    counted = {r["rule"]: (r["passed"], r["failed"]) for r in quality[0]["rules"]}
    assert counted == rule_counts_by_hand(data_dir / "input" / "customers.csv")
    assert {r["rule"]: r["on_fail"] for r in quality[0]["rules"]} == {
        "amount_positive": "quarantine", "email_present": "drop", "country_known": "warn", "has_id": "fail"}
    assert sorted(q["uri"] for q in quality[0]["quarantine"]) == ["file:output/rejected_json", "file:output/rejected_out"]

    # The quarantined rows, from where the sink wrote them.
    rejected = next(q for q in quality[0]["quarantine"] if q["uri"] == "file:output/rejected_out")
    page = contract(api.get(f"/api/catalog/datasets/{rejected['id']}/rows/"), "get", "/api/catalog/datasets/{id}/rows/")
    expected = json.loads((CASE / "expected" / "rejected_out.json").read_text())["rows"]
    as_rows = {(r["id"], r["email"], r["amount"], r["country"], tuple(r["_failed_rules"])) for r in page["rows"]}
    assert as_rows == {(i, e, a, c, tuple(f)) for i, e, a, c, f in expected}
    detail = api.get(f"/api/catalog/datasets/{rejected['id']}/").json()
    assert [(q["name"], q["node"]) for q in detail["quarantine_of"]] == [("quality", "checked")]
    # Masked for a viewer once email is PII.
    Membership.objects.filter(user__username="otto").update(can_view_pii=True)
    api.patch(f"/api/catalog/datasets/{rejected['id']}/", {"columns": [{"name": "email", "classification": "pii"}]},
              format="json")
    masked = client_for(viewer).get(f"/api/catalog/datasets/{rejected['id']}/rows/").json()
    assert masked["masked"] == ["email"] and {r["email"] for r in masked["rows"]} == {"***"}

    # The dataset's quality history: this run, with the rules upstream of the sink that wrote it.
    valid = next(d for d in api.get("/api/catalog/datasets/?q=valid_out").json())
    history = contract(api.get(f"/api/catalog/datasets/{valid['id']}/quality/"), "get",
                       "/api/catalog/datasets/{id}/quality/")
    assert [h["run"] for h in history] == [run_id]
    assert history[0]["node"] == "valid_out" and history[0]["status"] == "succeeded" and history[0]["rows"] == 3
    assert {(r["node"], r["rule"]): (r["passed"], r["failed"]) for r in history[0]["rules"]} == {
        ("checked", rule): counts for rule, counts in rule_counts_by_hand(data_dir / "input" / "customers.csv").items()}

    # The catalog learnt from the run: what it wrote, its schema and when.
    run = api.get(f"/api/runs/{run_id}/").json()
    valid = api.get(f"/api/catalog/datasets/{valid['id']}/").json()
    assert valid["row_count"] == 3 and valid["schema_source"] == "observed"
    assert valid["last_updated_at"] is not None and valid["last_updated_at"] >= run["started_at"]
    assert [(c["name"], c["type"]) for c in valid["schema"]] == [
        ("id", "int"), ("email", "string"), ("amount", "decimal(8,2)"), ("country", "string")]
    as_json = next(d for d in api.get("/api/catalog/datasets/?q=rejected_json").json())
    as_json = api.get(f"/api/catalog/datasets/{as_json['id']}/").json()
    # JSON files carry no exact types: the compiler's schema of what the sink wrote stands.
    assert as_json["schema_source"] == "written" and as_json["row_count"] == 4
    assert [c["name"] for c in as_json["schema"]][-1] == "_failed_rules"
    source = next(d for d in api.get("/api/catalog/datasets/?q=customers").json())
    assert source["row_count"] == 8  # read and counted once, after the first run that used it

    # The worker sent START and COMPLETE, valid OpenLineage events.
    events = api.get(f"/api/runs/{run_id}/openlineage/").json()
    assert [e["event_type"] for e in events] == ["START", "COMPLETE"] and all(e["error"] == "" for e in events)
    for event in events:
        assert spec_errors(event["event"]) == []
    outputs = {Path(o["name"]).name: o for o in events[1]["event"]["outputs"]}
    assert outputs["valid_out"]["outputFacets"]["outputStatistics"]["rowCount"] == 3
    failed_rules = outputs["rejected_out"]["facets"]["columnLineage"]["fields"]["_failed_rules"]["inputFields"]
    assert sorted(f["field"] for f in failed_rules) == ["amount", "country", "email", "id"]

    # Per-run lineage counts rows through each source and sink.
    lineage = api.get(f"/api/runs/{run_id}/lineage/").json()
    assert {d["node"]: d["rows"] for d in lineage["datasets"]} == {
        "customers": 8, "valid_out": 3, "rejected_out": 4, "rejected_json": 4}


def test_a_second_run_adds_to_the_quality_history(api: APIClient, data_dir: Path) -> None:
    pipeline, first = run_case(api)
    # New data: every amount positive now.
    (data_dir / "input" / "customers.csv").write_text("id,email,amount,country\n1,a@x.com,1.00,FR\n")
    second = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    execute_run(second)
    valid = next(d for d in api.get("/api/catalog/datasets/?q=valid_out").json())
    history = api.get(f"/api/catalog/datasets/{valid['id']}/quality/").json()
    assert [h["run"] for h in history] == [second, first]
    assert {r["rule"]: (r["passed"], r["failed"]) for r in history[0]["rules"]} == {
        "amount_positive": (1, 0), "email_present": (1, 0), "country_known": (1, 0), "has_id": (1, 0)}
    assert api.get(f"/api/catalog/datasets/{valid['id']}/quality/?limit=1").json()[0]["run"] == second
    assert api.get(f"/api/catalog/datasets/{valid['id']}/").json()["row_count"] == 1
