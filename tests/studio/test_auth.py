"""Logging in with a session or a token, and what an anonymous caller gets."""
from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient


def test_login_with_wrong_password_says_so(editor: Any) -> None:
    response = APIClient().post("/api/auth/login/", {"username": "edith", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": ["Invalid username or password."]} or response.json()["detail"]


def test_session_login_needs_csrf_for_writes(editor: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    csrf = client.get("/api/auth/csrf/").json()["csrfToken"]
    response = client.post("/api/auth/login/", {"username": "edith", "password": "pw-edith"},
                           format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200
    assert response.json()["username"] == "edith"
    assert [w["slug"] for w in response.json()["workspaces"]] == ["team"]
    # After login the session rotates the CSRF token: a write without the header is refused.
    refused = client.post("/api/pipelines/", {"workspace": "team", "name": "x"}, format="json")
    assert refused.status_code == 403
    token = client.cookies["csrftoken"].value
    allowed = client.post("/api/pipelines/", {"workspace": "team", "name": "x"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert allowed.status_code == 201


def test_token_for_scripts(editor: Any) -> None:
    token = APIClient().post("/api/auth/token/", {"username": "edith", "password": "pw-edith"}, format="json").json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/auth/me/").json()["username"] == "edith"


def test_anonymous_gets_401_as_json(db: Any) -> None:
    response = APIClient().get("/api/pipelines/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_unknown_api_path_is_json_404(api: APIClient) -> None:
    response = api.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No API endpoint at /api/no-such-thing/."}


def test_openapi_schema_describes_the_api(api: APIClient) -> None:
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"] if response["Content-Type"].endswith("json") else response.content.decode()
    for path in ("/api/pipelines/", "/api/pipelines/{id}/versions/", "/api/validate/", "/api/runs/{id}/log/"):
        assert path in paths
