"""Real answers of the access, connections and audit endpoints validate against the OpenAPI schema."""
from __future__ import annotations

import json
from typing import Any

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from studio.access.models import Role
from tests.studio.conftest import client_for, make_user
from tests.studio.test_openapi import Contract


@pytest.fixture(scope="module")
def contract() -> Contract:
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return Contract(json.loads(OpenApiJsonRenderer().render(generated, renderer_context={})))


def test_access_connection_and_audit_answers_match_the_schema(contract: Contract, workspace: Any, viewer: Any) -> None:
    root = make_user("root")
    root.is_superuser = True
    root.save()
    admin = make_user("ada", workspace, Role.ADMIN)
    su, api, view = client_for(root), client_for(admin), client_for(viewer)
    ws = workspace.id

    contract(su.post("/api/workspaces/", {"slug": "new", "name": "New"}, format="json"), "post", "/api/workspaces/")
    contract(su.post("/api/workspaces/", {"slug": "new", "name": "New"}, format="json"), "post", "/api/workspaces/")
    contract(api.post("/api/workspaces/", {"slug": "x", "name": "X"}, format="json"), "post", "/api/workspaces/")
    contract(api.get(f"/api/workspaces/{ws}/"), "get", "/api/workspaces/{id}/")
    contract(api.patch(f"/api/workspaces/{ws}/", {"name": "Team A"}, format="json"), "patch", "/api/workspaces/{id}/")
    contract(view.patch(f"/api/workspaces/{ws}/", {"name": "No"}, format="json"), "patch", "/api/workspaces/{id}/")
    contract(su.post("/api/users/", {"username": "nat", "password": "nat-long-password"}, format="json"),
             "post", "/api/users/")
    contract(su.post("/api/users/", {"username": "nat", "password": "x"}, format="json"), "post", "/api/users/")
    contract(api.get("/api/users/?q=na"), "get", "/api/users/")
    contract(view.get("/api/users/"), "get", "/api/users/")
    added = contract(api.post(f"/api/workspaces/{ws}/members/", {"username": "nat", "role": "editor"}, format="json"),
                     "post", "/api/workspaces/{id}/members/")
    contract(api.post(f"/api/workspaces/{ws}/members/", {"username": "ghost", "role": "editor"}, format="json"),
             "post", "/api/workspaces/{id}/members/")
    contract(api.get(f"/api/workspaces/{ws}/members/"), "get", "/api/workspaces/{id}/members/")
    member = "/api/workspaces/{id}/members/{user_id}/"
    contract(api.patch(f"/api/workspaces/{ws}/members/{added['user_id']}/", {"role": "viewer"}, format="json"),
             "patch", member)
    contract(api.patch(f"/api/workspaces/{ws}/members/{admin.id}/", {"role": "viewer"}, format="json"),
             "patch", member)
    contract(api.delete(f"/api/workspaces/{ws}/members/{admin.id}/"), "delete", member)
    contract(api.delete(f"/api/workspaces/{ws}/members/{added['user_id']}/"), "delete", member)
    contract(api.delete("/api/workspaces/999/members/1/"), "delete", member)

    contract(api.get("/api/connections/kinds/"), "get", "/api/connections/kinds/")
    created = contract(api.post("/api/connections/", {
        "workspace": "team", "name": "pg", "kind": "postgres",
        "settings": {"host": "db", "database": "shop", "user": "reader", "port": 5433},
        "secrets": {"password": "a-db-password"}}, format="json"), "post", "/api/connections/")
    contract(api.post("/api/connections/", {"workspace": "team", "name": "pg", "kind": "postgres"}, format="json"),
             "post", "/api/connections/")
    contract(view.post("/api/connections/", {"workspace": "team", "name": "pg2", "kind": "jdbc",
                                             "settings": {"url": "jdbc:x"}}, format="json"), "post", "/api/connections/")
    contract(api.get("/api/connections/"), "get", "/api/connections/")
    detail = "/api/connections/{id}/"
    contract(view.get(f"/api/connections/{created['id']}/"), "get", detail)
    contract(api.patch(f"/api/connections/{created['id']}/", {"settings": {"port": None}}, format="json"),
             "patch", detail)
    contract(api.patch(f"/api/connections/{created['id']}/", {"settings": {"port": "x"}}, format="json"),
             "patch", detail)
    contract(api.delete(f"/api/connections/{created['id']}/"), "delete", detail)
    contract(api.get(f"/api/connections/{created['id']}/"), "get", detail)

    page = contract(api.get("/api/audit/?workspace=team&limit=2"), "get", "/api/audit/")
    assert len(page["events"]) == 2 and page["next"]
    contract(api.get("/api/audit/?action=nope"), "get", "/api/audit/")
    contract(view.get("/api/audit/?workspace=team"), "get", "/api/audit/")
    contract(api.get("/api/audit/?workspace=nowhere"), "get", "/api/audit/")
    assert len(contract.checked) >= 30  # distinct (route, method, status) answers checked
