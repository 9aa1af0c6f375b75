"""Pipelines and versions through the REST API: scoping, roles, optimistic concurrency."""
from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from studio.pipelines.models import PipelineVersion
from tests.studio.conftest import client_for
from tests.studio.documents import filter_pipeline


def create(api: APIClient, name: str = "big_orders", **extra: Any) -> dict[str, Any]:
    response = api.post("/api/pipelines/", {"workspace": "team", "name": name, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def save(api: APIClient, pipeline_id: int, document: Any, base: int | None) -> Any:
    return api.post(f"/api/pipelines/{pipeline_id}/versions/", {"document": document, "base_version": base}, format="json")


def test_create_list_and_fetch(api: APIClient) -> None:
    created = create(api, document=filter_pipeline())
    assert created["latest_version"] == 1
    assert created["document"]["name"] == "big_orders"
    listed = api.get("/api/pipelines/?workspace=team").json()
    assert [p["name"] for p in listed] == ["big_orders"]
    assert listed[0]["last_run"] is None
    assert api.get(f"/api/pipelines/{created['id']}/").json()["document"] == filter_pipeline()


def test_duplicate_name_is_a_field_error(api: APIClient) -> None:
    create(api)
    response = api.post("/api/pipelines/", {"workspace": "team", "name": "big_orders"}, format="json")
    assert response.status_code == 400
    assert "already has a pipeline named 'big_orders'" in response.json()["name"][0]


def test_other_workspaces_objects_answer_404(api: APIClient, outsider: Any) -> None:
    pipeline = create(api, document=filter_pipeline())
    other = client_for(outsider)
    assert other.get("/api/pipelines/").json() == []
    for url in (f"/api/pipelines/{pipeline['id']}/", f"/api/pipelines/{pipeline['id']}/versions/",
                f"/api/pipelines/{pipeline['id']}/versions/1/"):
        assert other.get(url).status_code == 404
    assert other.delete(f"/api/pipelines/{pipeline['id']}/").status_code == 404
    assert other.post("/api/pipelines/", {"workspace": "team", "name": "sneaky"}, format="json").status_code == 404


def test_viewer_reads_but_cannot_change(api: APIClient, viewer: Any) -> None:
    pipeline = create(api, document=filter_pipeline())
    reader = client_for(viewer)
    assert reader.get(f"/api/pipelines/{pipeline['id']}/").status_code == 200
    refused = save(reader, pipeline["id"], filter_pipeline(), base=1)
    assert refused.status_code == 403
    assert "cannot change" in refused.json()["detail"]
    assert reader.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").status_code == 403


def test_saving_on_a_stale_version_is_a_conflict_and_overwrites_nothing(api: APIClient, editor: Any) -> None:
    pipeline = create(api, document=filter_pipeline())
    first = save(api, pipeline["id"], filter_pipeline(description="mine"), base=1)
    assert first.status_code == 201 and first.json()["number"] == 2
    stale = save(client_for(editor), pipeline["id"], filter_pipeline(description="theirs"), base=1)
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert PipelineVersion.objects.filter(pipeline_id=pipeline["id"]).count() == 2
    assert api.get(f"/api/pipelines/{pipeline['id']}/").json()["document"]["description"] == "mine"


def test_first_save_needs_null_base(api: APIClient) -> None:
    pipeline = create(api)
    assert save(api, pipeline["id"], filter_pipeline(), base=3).status_code == 409
    assert save(api, pipeline["id"], filter_pipeline(), base=None).status_code == 201


def test_an_invalid_draft_is_saved_but_marked_invalid(api: APIClient) -> None:
    pipeline = create(api)
    draft = filter_pipeline()
    draft["nodes"][1]["config"]["condition"] = "amout > 1"
    response = save(api, pipeline["id"], draft, base=None)
    assert response.status_code == 201
    body = response.json()
    assert body["valid"] is False
    assert any(e["node"] == "big" and e["path"].startswith("$.nodes[1].config.condition") for e in body["validation"]["errors"])
    assert api.get(f"/api/pipelines/{pipeline['id']}/versions/").json()[0]["valid"] is False


def test_something_that_is_not_a_pipeline_document_is_refused(api: APIClient) -> None:
    pipeline = create(api)
    response = save(api, pipeline["id"], ["not", "a", "document"], base=None)
    assert response.status_code == 400
    assert response.json()["errors"]
    assert api.get(f"/api/pipelines/{pipeline['id']}/versions/").json() == []


def test_versions_are_listed_newest_first_and_immutable(api: APIClient) -> None:
    pipeline = create(api, document=filter_pipeline())
    save(api, pipeline["id"], filter_pipeline(description="second"), base=1)
    versions = api.get(f"/api/pipelines/{pipeline['id']}/versions/").json()
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["author"] == "otto"
    assert api.get(f"/api/pipelines/{pipeline['id']}/versions/9/").status_code == 404
    version = PipelineVersion.objects.get(pipeline_id=pipeline["id"], number=1)
    version.message = "rewritten"
    try:
        version.save()
    except ValueError as error:
        assert "immutable" in str(error)
    else:
        raise AssertionError("a saved version could be changed")


def test_validate_reports_every_error_with_node_and_path(api: APIClient) -> None:
    draft = filter_pipeline()
    draft["nodes"][1]["config"]["condition"] = "nosuchfunc(amount) > 1"
    draft["nodes"][2]["config"]["format"] = "xlsx"
    body = api.post("/api/validate/", {"document": draft, "engine": "spark"}, format="json").json()
    assert body["valid"] is False
    nodes = {e["node"] for e in body["errors"]}
    assert {"big", "out"} <= nodes
    assert all(e["path"].startswith("$.") and e["message"] for e in body["errors"])
    assert [f["name"] for f in body["schemas"]["orders"]["out"]] == ["order_id", "amount"]


def test_compile_returns_code_or_errors(api: APIClient) -> None:
    ok = api.post("/api/compile/", {"document": filter_pipeline(), "engine": "spark"}, format="json")
    assert ok.status_code == 200
    assert "def build(spark" in ok.json()["code"]
    broken = filter_pipeline(nodes=[])
    bad = api.post("/api/compile/", {"document": broken, "engine": "spark"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["valid"] is False


def test_garbage_input_never_500s(api: APIClient) -> None:
    for body in ({"document": "x"}, {"document": {"format": 3}}, {"document": {"nodes": {"a": 1}}},
                 {"document": filter_pipeline(), "engine": "nope"}, {}):
        for url in ("/api/validate/", "/api/compile/"):
            response = api.post(url, body, format="json")
            assert response.status_code in (200, 400), (url, body, response.status_code)
    raw = api.generic("POST", "/api/validate/", "{not json", content_type="application/json")
    assert raw.status_code == 400
