"""Setting up a team: workspaces, users and members with roles, through the API, as people would."""
from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from studio.access.models import ACTIONS, Membership, Role, role_allows
from tests.studio.conftest import client_for, make_user
from tests.studio.documents import filter_pipeline


def login(username: str, password: str) -> APIClient:
    """A browser-like client: session login with the CSRF header on writes."""
    client = APIClient(enforce_csrf_checks=True)
    client.get("/api/auth/csrf/")
    response = client.post("/api/auth/login/", {"username": username, "password": password}, format="json",
                           HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 200, response.json()
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    return client


def test_roles_are_cumulative() -> None:
    assert ACTIONS["view"] == ("viewer", "editor", "operator", "admin")
    assert ACTIONS["change"] == ("editor", "operator", "admin")
    assert ACTIONS["run"] == ("operator", "admin")
    assert ACTIONS["admin"] == ("admin",)
    assert role_allows("operator", "change") and not role_allows("editor", "run") and not role_allows(None, "view")


def test_a_superuser_sets_up_a_team_and_each_role_can_do_what_it_should(db: Any) -> None:
    root = make_user("root")
    root.is_superuser = True
    root.save()
    boss = login("root", "pw-root")
    workspace = boss.post("/api/workspaces/", {"slug": "analytics", "name": "Analytics"}, format="json")
    assert workspace.status_code == 201 and workspace.json()["role"] == "admin"
    ws = workspace.json()["id"]
    for name in ("vic", "eve", "oli", "ann"):
        created = boss.post("/api/users/", {"username": name, "password": f"{name}-long-password"}, format="json")
        assert created.status_code == 201 and created.json()["is_superuser"] is False
    members = [("vic", "viewer"), ("eve", "editor"), ("oli", "operator"), ("ann", "admin")]
    for name, role in members:
        added = boss.post(f"/api/workspaces/{ws}/members/", {"username": name, "role": role}, format="json")
        assert added.status_code == 201 and added.json()["role"] == role
    listed = boss.get(f"/api/workspaces/{ws}/members/").json()
    assert [(m["username"], m["role"]) for m in listed] == sorted(members)

    clients = {name: login(name, f"{name}-long-password") for name, _ in members}
    assert clients["vic"].get("/api/auth/me/").json()["workspaces"] == [
        {"id": ws, "slug": "analytics", "name": "Analytics", "role": "viewer"}]
    # The editor creates and saves; the viewer may read but not save.
    pipeline = clients["eve"].post("/api/pipelines/", {"workspace": "analytics", "name": "p",
                                                       "document": filter_pipeline()}, format="json")
    assert pipeline.status_code == 201
    pk = pipeline.json()["id"]
    assert clients["vic"].get(f"/api/pipelines/{pk}/").status_code == 200
    refused = clients["vic"].post(f"/api/pipelines/{pk}/versions/", {"document": filter_pipeline(), "base_version": 1},
                                  format="json")
    assert refused.status_code == 403 and "editor role or above" in refused.json()["detail"]
    # Only operators run; only admins manage members.
    assert clients["eve"].post(f"/api/pipelines/{pk}/runs/", {}, format="json").status_code == 403
    assert clients["oli"].post(f"/api/pipelines/{pk}/runs/", {}, format="json").status_code == 201
    assert clients["oli"].post(f"/api/workspaces/{ws}/members/", {"username": "root", "role": "viewer"},
                               format="json").status_code == 403
    promoted = clients["ann"].patch(f"/api/workspaces/{ws}/members/{_id('eve')}/", {"role": "operator"}, format="json")
    assert promoted.status_code == 200 and promoted.json()["role"] == "operator"
    assert clients["eve"].post(f"/api/pipelines/{pk}/runs/", {}, format="json").status_code == 201
    # A workspace admin looks users up but cannot create accounts or workspaces.
    assert [u["username"] for u in clients["ann"].get("/api/users/?q=o").json()] == ["oli", "root"]
    assert clients["ann"].post("/api/users/", {"username": "x", "password": "x-long-password"},
                               format="json").status_code == 403
    assert clients["ann"].post("/api/workspaces/", {"slug": "x", "name": "X"}, format="json").status_code == 403
    assert clients["vic"].get("/api/users/").status_code == 403


def _id(username: str) -> int:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username).id


def test_member_changes_are_checked(workspace: Any) -> None:
    admin = make_user("ada", workspace, Role.ADMIN)
    viewer = make_user("vera", workspace, Role.VIEWER)
    make_user("nora")
    api = client_for(admin)
    ws = workspace.id
    unknown = api.post(f"/api/workspaces/{ws}/members/", {"username": "ghost", "role": "viewer"}, format="json")
    assert unknown.status_code == 400 and "no user named 'ghost'" in unknown.json()["username"][0]
    twice = api.post(f"/api/workspaces/{ws}/members/", {"username": "vera", "role": "editor"}, format="json")
    assert twice.status_code == 400 and "already a member" in twice.json()["username"][0]
    bad_role = api.post(f"/api/workspaces/{ws}/members/", {"username": "nora", "role": "owner"}, format="json")
    assert bad_role.status_code == 400 and "role" in bad_role.json()
    assert api.patch(f"/api/workspaces/{ws}/members/{_id('nora')}/", {"role": "viewer"},
                     format="json").status_code == 404
    # The PII permission (unmasked PII columns in the catalog) is granted per member, by admins.
    granted = api.patch(f"/api/workspaces/{ws}/members/{viewer.id}/", {"can_view_pii": True}, format="json")
    assert granted.status_code == 200 and granted.json() == {
        "user_id": viewer.id, "username": "vera", "role": "viewer", "can_view_pii": True}
    assert Membership.objects.get(user=viewer).can_view_pii is True
    assert client_for(viewer).patch(f"/api/workspaces/{ws}/members/{viewer.id}/", {"can_view_pii": False},
                                    format="json").status_code == 403
    # The last admin can be neither demoted nor removed; with a second admin both work.
    for response in (api.patch(f"/api/workspaces/{ws}/members/{admin.id}/", {"role": "editor"}, format="json"),
                     api.delete(f"/api/workspaces/{ws}/members/{admin.id}/")):
        assert response.status_code == 409 and "last admin" in response.json()["detail"]
    assert api.patch(f"/api/workspaces/{ws}/members/{viewer.id}/", {"role": "admin"}, format="json").status_code == 200
    assert api.patch(f"/api/workspaces/{ws}/members/{admin.id}/", {"role": "editor"}, format="json").status_code == 200
    assert Membership.objects.get(user=admin).role == "editor"
    # The demoted admin has lost admin rights at once.
    assert api.delete(f"/api/workspaces/{ws}/members/{viewer.id}/").status_code == 403
    assert client_for(viewer).delete(f"/api/workspaces/{ws}/members/{admin.id}/").status_code == 204
    assert not Membership.objects.filter(user=admin).exists()
    assert api.get(f"/api/workspaces/{ws}/").status_code == 404  # no longer a member: the workspace is gone for them


def test_users_are_created_with_checked_names_and_passwords(db: Any) -> None:
    root = make_user("root")
    root.is_superuser = True
    root.save()
    api = client_for(root)
    assert api.post("/api/users/", {"username": "a b", "password": "long-enough-pw"}, format="json").status_code == 400
    short = api.post("/api/users/", {"username": "ab", "password": "short"}, format="json")
    assert short.status_code == 400 and "password" in short.json()
    taken = api.post("/api/users/", {"username": "root", "password": "long-enough-pw"}, format="json")
    assert taken.status_code == 400 and "taken" in taken.json()["username"][0]
    made = api.post("/api/users/", {"username": "su", "password": "long-enough-pw", "is_superuser": True},
                    format="json")
    assert made.status_code == 201 and made.json()["is_superuser"] is True
    assert "password" not in made.json()
    duplicate_ws = api.post("/api/workspaces/", {"slug": "dup", "name": "D"}, format="json")
    assert duplicate_ws.status_code == 201
    again = api.post("/api/workspaces/", {"slug": "dup", "name": "D"}, format="json")
    assert again.status_code == 400 and "already exists" in again.json()["slug"][0]
