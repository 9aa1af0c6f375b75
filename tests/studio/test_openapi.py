"""The OpenAPI schema is complete and true: it generates cleanly, covers every endpoint, and real
answers validate against it (so a typed client generated from it can be trusted)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import URLPattern, URLResolver, get_resolver, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from jsonschema import Draft202012Validator
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

from studio.core.views import api_not_found
from studio.runs import services as run_services
from studio.runs.events import log_line_data, run_data
from studio.runs.models import Run
from tests.studio.conftest import client_for, make_user
from tests.studio.documents import filter_pipeline

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


class _UndescribedView(APIView):
    """An endpoint without `@extend_schema`: generation must refuse it."""

    def get(self, request: Any) -> Response:
        return Response({"ok": True})


# A URLconf for the canary test below (passed to the command as `--urlconf tests.studio.test_openapi`).
urlpatterns = [path("api/undescribed/", _UndescribedView.as_view())]


def _generate(tmp_path: Path, **options: Any) -> dict[str, Any]:
    # Warnings are remembered across generations in one process (e.g. a test that served /api/schema/).
    GENERATOR_STATS.reset()
    out = tmp_path / "schema.json"
    call_command("spectacular", validate=True, fail_on_warn=True, format="openapi-json", file=str(out), **options)
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))


def test_schema_generates_without_warnings_and_validates(tmp_path: Path) -> None:
    generated = _generate(tmp_path)
    assert generated["info"]["title"] == "Pipeline Studio API"
    assert "/ws/runs/{id}/" in generated["info"]["description"]
    assert "run.status" in generated["info"]["description"] and "run.log" in generated["info"]["description"]


def test_an_endpoint_without_a_described_serializer_fails_generation(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="warnings"):
        _generate(tmp_path, urlconf=__name__)
    GENERATOR_STATS.reset()


def _api_routes() -> list[tuple[str, type]]:
    """(OpenAPI path, view class) for every endpoint under /api/ except the schema itself and the 404."""
    found: list[tuple[str, type]] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/"):
                view = getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)
                if pattern.callback is api_not_found or view in (SpectacularAPIView, SpectacularSwaggerView):
                    continue
                assert view is not None, f"/{route} is not a DRF view; describe it in the schema"
                # `<int:pk>` is published as `{id}` (drf-spectacular's path pk coercion).
                openapi = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m[1] == "pk" else "{" + m[1] + "}", route)
                found.append(("/" + openapi, view))

    walk(get_resolver().url_patterns, "")
    return found


def test_every_api_endpoint_and_method_has_an_operation(schema: dict[str, Any]) -> None:
    routes = _api_routes()
    assert {"/api/auth/me/", "/api/pipelines/{id}/versions/{number}/", "/api/runs/{id}/log/"} <= {r for r, _ in routes}
    missing = [
        f"{method.upper()} {route}"
        for route, view in routes
        for method in HTTP_METHODS
        if hasattr(view, method) and method not in schema["paths"].get(route, {})
    ]
    assert missing == []


def test_operations_are_named_tagged_typed_and_secured(schema: dict[str, Any]) -> None:
    operations = [(p, m, op) for p, item in schema["paths"].items() for m, op in item.items()]
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids))
    assert not any(re.search(r"_\d+$", i) for i in ids)  # no numeral suffixes from collisions
    public = {"/api/auth/login/", "/api/auth/token/", "/api/auth/csrf/"}
    for route, method, op in operations:
        assert op.get("tags"), f"{method} {route} has no tag"
        path_params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}
        assert set(path_params) == set(re.findall(r"{(\w+)}", route)), route
        assert all(p["schema"]["type"] == "integer" for p in path_params.values()), route
        success = [code for code in op["responses"] if code.startswith("2")]
        assert success, f"{method} {route} has no success response"
        for code in success:
            if code != "204":
                assert "application/json" in op["responses"][code]["content"], f"{method} {route} {code}"
        if route in public:
            assert op["security"] == [{}], route
        else:
            schemes = {name for requirement in op["security"] for name in requirement}
            assert {"tokenAuth", "cookieAuth"} <= schemes, route
            if {} not in op["security"]:
                assert "401" in op["responses"], f"{method} {route} does not describe 401"
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}
    queries = {
        ("/api/pipelines/", "get"): {"workspace"}, ("/api/runs/", "get"): {"pipeline"},
        ("/api/runs/{id}/log/", "get"): {"after", "limit"}, ("/api/files/", "get"): {"prefix"},
    }
    for (route, method), names in queries.items():
        params = schema["paths"][route][method]["parameters"]
        assert {p["name"] for p in params if p["in"] == "query"} == names


# --- real answers against the schema ------------------------------------------------------------


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: `nullable` becomes a null alternative, `$ref`s point at `$defs`, and
    objects with declared properties allow no others (an undocumented key in an answer fails)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {
        # `properties` maps names (which may be "type" or "nullable") to schemas.
        key: {name: _json_schema(s) for name, s in value.items()} if key == "properties" else _json_schema(value)
        for key, value in node.items()
    }
    if "$ref" in node:
        node["$ref"] = node["$ref"].replace("#/components/schemas/", "#/$defs/")
    if "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


class Contract:
    """Checks that an answer's status is documented for its operation and its body matches."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.defs = {name: _json_schema(s) for name, s in schema["components"]["schemas"].items()}
        self.checked: set[tuple[str, str, str]] = set()

    def __call__(self, response: Any, method: str, route: str) -> Any:
        responses = self.schema["paths"][route][method]["responses"]
        code = str(response.status_code)
        assert code in responses, f"{method.upper()} {route} answered {code}, not in the schema"
        self.checked.add((route, method, code))
        content = responses[code].get("content")
        if content is None:
            assert not response.content, f"{method.upper()} {route} {code} has an undocumented body"
            return None
        body = response.json()
        validator = Draft202012Validator({"$defs": self.defs, **_json_schema(content["application/json"]["schema"])})
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
        assert errors == [], f"{method.upper()} {route} {code}: {errors}\n{json.dumps(body, indent=1)[:2000]}"
        return body


@pytest.fixture
def contract(schema: dict[str, Any]) -> Contract:
    return Contract(schema)


def test_the_contract_check_rejects_an_undocumented_shape(contract: Contract) -> None:
    class Fake:
        status_code = 200
        content = b"{}"

        @staticmethod
        def json() -> Any:
            return {"id": 1, "username": "x", "is_superuser": False, "workspaces": [], "extra": 1}

    with pytest.raises(AssertionError, match="extra"):
        contract(Fake(), "get", "/api/auth/me/")


def test_pipeline_and_version_answers_match_the_schema(api: APIClient, contract: Contract, viewer: Any) -> None:
    created = contract(api.post("/api/pipelines/", {"workspace": "team", "name": "p", "document": filter_pipeline()},
                                format="json"), "post", "/api/pipelines/")
    pk = created["id"]
    contract(api.post("/api/pipelines/", {"workspace": "team", "name": "empty"}, format="json"),
             "post", "/api/pipelines/")
    contract(api.post("/api/pipelines/", {"workspace": "team"}, format="json"), "post", "/api/pipelines/")
    contract(api.post("/api/pipelines/", {"workspace": "team", "name": "bad", "document": [1]}, format="json"),
             "post", "/api/pipelines/")
    contract(api.get("/api/pipelines/"), "get", "/api/pipelines/")
    contract(api.get(f"/api/pipelines/{pk}/"), "get", "/api/pipelines/{id}/")
    contract(api.get("/api/pipelines/999999/"), "get", "/api/pipelines/{id}/")
    contract(api.patch(f"/api/pipelines/{pk}/", {"description": "big ones"}, format="json"),
             "patch", "/api/pipelines/{id}/")
    contract(client_for(viewer).patch(f"/api/pipelines/{pk}/", {"name": "x"}, format="json"),
             "patch", "/api/pipelines/{id}/")

    draft = filter_pipeline()
    draft["nodes"][1]["config"]["condition"] = "amout > 1"
    saved = contract(api.post(f"/api/pipelines/{pk}/versions/", {"document": draft, "base_version": 1}, format="json"),
                     "post", "/api/pipelines/{id}/versions/")
    assert saved["valid"] is False and saved["validation"]["errors"]
    conflict = contract(api.post(f"/api/pipelines/{pk}/versions/", {"document": draft, "base_version": 1},
                                 format="json"), "post", "/api/pipelines/{id}/versions/")
    assert conflict["current_version"] == 2
    contract(api.post(f"/api/pipelines/{pk}/versions/", {"document": {"nodes": 1}, "base_version": 2}, format="json"),
             "post", "/api/pipelines/{id}/versions/")
    contract(api.get(f"/api/pipelines/{pk}/versions/"), "get", "/api/pipelines/{id}/versions/")
    contract(api.get(f"/api/pipelines/{pk}/versions/1/"), "get", "/api/pipelines/{id}/versions/{number}/")
    contract(api.get(f"/api/pipelines/{pk}/versions/9/"), "get", "/api/pipelines/{id}/versions/{number}/")

    result = contract(api.post("/api/validate/", {"document": filter_pipeline()}, format="json"),
                      "post", "/api/validate/")
    assert result["valid"] is True and result["schemas"]
    contract(api.post("/api/validate/", {"document": draft, "engine": "spark"}, format="json"),
             "post", "/api/validate/")
    contract(api.post("/api/validate/", {}, format="json"), "post", "/api/validate/")
    compiled = contract(api.post("/api/compile/", {"document": filter_pipeline()}, format="json"),
                        "post", "/api/compile/")
    assert compiled["language"] == "python"
    refused = contract(api.post("/api/compile/", {"document": draft}, format="json"), "post", "/api/compile/")
    assert refused["valid"] is False
    contract(api.delete(f"/api/pipelines/{pk}/"), "delete", "/api/pipelines/{id}/")
    assert len(contract.checked) >= 15


def test_run_answers_match_the_schema(api: APIClient, contract: Contract) -> None:
    pk = api.post("/api/pipelines/", {"workspace": "team", "name": "p", "document": filter_pipeline()},
                  format="json").json()["id"]
    empty = api.post("/api/pipelines/", {"workspace": "team", "name": "empty"}, format="json").json()["id"]
    run = contract(api.post(f"/api/pipelines/{pk}/runs/", {"parameters": {"min_amount": 5}}, format="json"),
                   "post", "/api/pipelines/{id}/runs/")
    contract(api.post(f"/api/pipelines/{pk}/runs/", {"parameters": {"nope": 1}}, format="json"),
             "post", "/api/pipelines/{id}/runs/")
    contract(api.post(f"/api/pipelines/{empty}/runs/", {}, format="json"), "post", "/api/pipelines/{id}/runs/")
    contract(api.post(f"/api/pipelines/{pk}/runs/", {"engine": "beam"}, format="json"),
             "post", "/api/pipelines/{id}/runs/")
    contract(api.post(f"/api/pipelines/{pk}/runs/", {"version": 7}, format="json"), "post", "/api/pipelines/{id}/runs/")

    run_services.run_append_log(run_id=run["id"], lines=["starting", "ERROR it broke"])
    contract(api.get("/api/runs/"), "get", "/api/runs/")
    contract(api.get(f"/api/runs/?pipeline={pk}"), "get", "/api/runs/")
    contract(api.get("/api/runs/?pipeline=abc"), "get", "/api/runs/")
    contract(api.get(f"/api/runs/{run['id']}/"), "get", "/api/runs/{id}/")
    page = contract(api.get(f"/api/runs/{run['id']}/log/?after=0&limit=1"), "get", "/api/runs/{id}/log/")
    assert page["next"] == 1 and page["lines"][0]["level"] == "info"
    contract(api.get(f"/api/runs/{run['id']}/log/?limit=0"), "get", "/api/runs/{id}/log/")
    cancelled = contract(api.post(f"/api/runs/{run['id']}/cancel/"), "post", "/api/runs/{id}/cancel/")
    assert cancelled["status"] == "cancelled"
    contract(api.post(f"/api/runs/{run['id']}/cancel/"), "post", "/api/runs/{id}/cancel/")
    contract(api.get("/api/runs/999999/"), "get", "/api/runs/{id}/")


def test_auth_and_file_answers_match_the_schema(
    contract: Contract, operator: Any, settings: Any, tmp_path: Path
) -> None:
    anonymous = APIClient()
    contract(anonymous.get("/api/auth/csrf/"), "get", "/api/auth/csrf/")
    contract(anonymous.get("/api/auth/me/"), "get", "/api/auth/me/")
    contract(anonymous.get("/api/pipelines/"), "get", "/api/pipelines/")
    contract(anonymous.post("/api/auth/login/", {"username": "otto", "password": "wrong"}, format="json"),
             "post", "/api/auth/login/")
    contract(anonymous.post("/api/auth/token/", {"username": "otto"}, format="json"), "post", "/api/auth/token/")
    contract(anonymous.post("/api/auth/token/", {"username": "otto", "password": "pw-otto"}, format="json"),
             "post", "/api/auth/token/")
    me = contract(anonymous.post("/api/auth/login/", {"username": "otto", "password": "pw-otto"}, format="json"),
                  "post", "/api/auth/login/")
    assert me["workspaces"][0]["role"] == "operator"
    contract(anonymous.get("/api/auth/me/"), "get", "/api/auth/me/")
    contract(anonymous.get("/api/workspaces/"), "get", "/api/workspaces/")
    contract(anonymous.post("/api/auth/logout/"), "post", "/api/auth/logout/")

    admin = make_user("root")
    admin.is_superuser = True
    admin.save()
    contract(client_for(admin).get("/api/auth/me/"), "get", "/api/auth/me/")

    settings.STUDIO_DATA_DIR = tmp_path
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "orders.csv").write_text("order_id,amount\n1,10.5\n2,\n")
    api = client_for(operator)
    listed = contract(api.get("/api/files/?prefix=landing/"), "get", "/api/files/")
    assert [f["path"] for f in listed["files"]] == ["landing/orders.csv"]
    contract(api.get("/api/files/?prefix=../.."), "get", "/api/files/")
    inferred = contract(api.post("/api/files/schema/", {"path": "landing/*.csv", "format": "csv"}, format="json"),
                        "post", "/api/files/schema/")
    assert [c["name"] for c in inferred["schema"]] == ["order_id", "amount"]
    contract(api.post("/api/files/schema/", {"path": "landing/none.csv", "format": "csv"}, format="json"),
             "post", "/api/files/schema/")
    contract(api.post("/api/files/schema/", {"path": "landing/orders.csv", "format": "xml"}, format="json"),
             "post", "/api/files/schema/")


def test_the_websocket_messages_use_the_run_and_log_line_schemas(api: APIClient, contract: Contract) -> None:
    pk = api.post("/api/pipelines/", {"workspace": "team", "name": "p", "document": filter_pipeline()},
                  format="json").json()["id"]
    run_id = api.post(f"/api/pipelines/{pk}/runs/", {}, format="json").json()["id"]
    lines = run_services.run_append_log(run_id=run_id, lines=["hello"])
    run = Run.objects.select_related("pipeline__workspace", "version", "created_by").get(pk=run_id)
    # Encoded as the channel layer carries them (datetimes as ISO strings), see studio.runs.events.
    status = json.loads(json.dumps(run_data(run), cls=JSONEncoder))
    Draft202012Validator({"$defs": contract.defs, "$ref": "#/$defs/Run"}).validate(status)
    log = json.loads(json.dumps([log_line_data(line) for line in lines], cls=JSONEncoder))
    Draft202012Validator({"$defs": contract.defs, "type": "array", "items": {"$ref": "#/$defs/LogLine"}}).validate(log)
