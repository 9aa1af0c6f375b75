"""Every endpoint x every role x (own workspace, other workspace) answers what the access table says.

The endpoints are discovered from the URLconf (and the websocket routes from studio.asgi): one that is
missing from ENDPOINTS below fails `test_every_endpoint_has_an_entry`, so a new endpoint cannot ship
without a decision about who may call it.

Roles: viewer < editor < operator < admin, each a member of the `team` workspace only; `nonmember` is
in no workspace; `superuser` is an instance superuser; `anonymous` is not logged in. "own" targets
objects in `team`, "other" targets the same objects in `elsewhere`. Expected answers:

- anonymous: 401 (public endpoints answer as they do for anyone);
- an object or workspace the user may not see (other workspace, non-member): 404, as if it did not exist;
- one the user sees but whose role is below the least role the endpoint needs: 403;
- otherwise the endpoint's success status. Lists answer 200 and show exactly the visible objects.

Each case runs in a transaction that is rolled back, so every case sees the same objects.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.test import APIClient

from studio.access.models import Role
from studio.access.services import membership_set, workspace_create
from studio.connections.services import connection_create
from studio.core.views import api_not_found
from studio.pipelines.services import pipeline_create
from studio.catalog.models import Dataset
from studio.lineage.services import lineage_record_run
from studio.runs.services import deployment_create, run_create, schedule_create, webhook_create
from tests.studio.conftest import client_for, make_user
from tests.studio.documents import ORDERS_CSV, filter_pipeline

ROLES = ("viewer", "editor", "operator", "admin", "nonmember", "superuser", "anonymous")
TARGETS = ("own", "other")
WORKSPACE_ROLES = [Role.VIEWER, Role.EDITOR, Role.OPERATOR, Role.ADMIN]
HTTP_METHODS = ("get", "post", "put", "patch", "delete")

# Who may call an endpoint.
PUBLIC = "public"  # anyone, even anonymous
AUTHENTICATED = "authenticated"  # anyone logged in (answers only about what they may see)
MEMBER = "member"  # a member of some workspace (the shared landing zone)
ANY_ADMIN = "any_admin"  # an admin of some workspace
SUPERUSER = "superuser"  # an instance superuser
WORKSPACE = "workspace"  # at least `least` in the workspace of the object (or the workspace named)


@dataclass(frozen=True)
class Objects:
    """The objects of one workspace that requests target."""

    workspace: Any
    pipeline: Any
    run: Any
    schedule: Any
    connection: Any
    spare: Any  # a viewer member whose role or membership admins may change
    stream: Any  # a streaming pipeline (deployments run those)
    deployment: Any
    webhook: Any
    dataset: Any  # registered in the catalog when the pipeline was saved


@dataclass(frozen=True)
class Rule:
    scope: str
    ok: int  # the answer when the caller may: a success, or 409 where the target's state refuses it
    request: Callable[[Objects], tuple[str, dict[str, Any] | None]]  # path (with query) and JSON body
    least: str | None = None  # for WORKSPACE
    listed: Callable[[Any, Objects], bool] | None = None  # lists: is the target's object in the answer?


def _body(path: str, body: dict[str, Any] | None = None) -> tuple[str, dict[str, Any] | None]:
    return path, body


def _has(extract: Callable[[Objects], int]) -> Callable[[Any, Objects], bool]:
    """For a list: whether the answer holds the target's object (by id)."""
    return lambda body, o: any(item["id"] == extract(o) for item in body)


_LOGIN = {"username": "vera", "password": "pw-vera"}
_KAFKA = {"bootstrap_servers": "broker:9092"}

# (route as in the URLconf, METHOD) -> rule.
ENDPOINTS: dict[tuple[str, str], Rule] = {
    # auth
    ("api/auth/csrf/", "GET"): Rule(PUBLIC, 200, lambda o: _body("/api/auth/csrf/")),
    ("api/auth/login/", "POST"): Rule(PUBLIC, 200, lambda o: _body("/api/auth/login/", _LOGIN)),
    ("api/auth/logout/", "POST"): Rule(PUBLIC, 204, lambda o: _body("/api/auth/logout/")),
    ("api/auth/token/", "POST"): Rule(PUBLIC, 200, lambda o: _body("/api/auth/token/", _LOGIN)),
    ("api/auth/me/", "GET"): Rule(AUTHENTICATED, 200, lambda o: _body("/api/auth/me/")),
    # workspaces, members, users
    ("api/workspaces/", "GET"): Rule(AUTHENTICATED, 200, lambda o: _body("/api/workspaces/"),
                                     listed=_has(lambda o: o.workspace.id)),
    ("api/workspaces/", "POST"): Rule(SUPERUSER, 201, lambda o: _body("/api/workspaces/", {"slug": "new", "name": "N"})),
    ("api/workspaces/<int:pk>/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/workspaces/{o.workspace.id}/"),
                                              least=Role.VIEWER),
    ("api/workspaces/<int:pk>/", "PATCH"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/workspaces/{o.workspace.id}/", {"name": "Renamed"}), least=Role.ADMIN),
    ("api/workspaces/<int:pk>/members/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/workspaces/{o.workspace.id}/members/"), least=Role.VIEWER),
    ("api/workspaces/<int:pk>/members/", "POST"): Rule(
        WORKSPACE, 201, lambda o: _body(f"/api/workspaces/{o.workspace.id}/members/",
                                        {"username": "newbie", "role": "editor"}), least=Role.ADMIN),
    ("api/workspaces/<int:pk>/members/<int:user_id>/", "PATCH"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/workspaces/{o.workspace.id}/members/{o.spare.id}/", {"role": "editor"}),
        least=Role.ADMIN),
    ("api/workspaces/<int:pk>/members/<int:user_id>/", "DELETE"): Rule(
        WORKSPACE, 204, lambda o: _body(f"/api/workspaces/{o.workspace.id}/members/{o.spare.id}/"), least=Role.ADMIN),
    ("api/users/", "GET"): Rule(ANY_ADMIN, 200, lambda o: _body("/api/users/?q=e")),
    ("api/users/", "POST"): Rule(SUPERUSER, 201, lambda o: _body("/api/users/", {"username": "fresh",
                                                                                 "password": "a-long-password"})),
    # pipelines and versions
    ("api/pipelines/", "GET"): Rule(AUTHENTICATED, 200, lambda o: _body("/api/pipelines/"),
                                    listed=_has(lambda o: o.pipeline.id)),
    ("api/pipelines/", "POST"): Rule(
        WORKSPACE, 201, lambda o: _body("/api/pipelines/", {"workspace": o.workspace.slug, "name": "new"}),
        least=Role.EDITOR),
    ("api/pipelines/<int:pk>/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/pipelines/{o.pipeline.id}/"),
                                             least=Role.VIEWER),
    ("api/pipelines/<int:pk>/", "PATCH"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/pipelines/{o.pipeline.id}/", {"description": "d"}), least=Role.EDITOR),
    ("api/pipelines/<int:pk>/", "DELETE"): Rule(WORKSPACE, 204, lambda o: _body(f"/api/pipelines/{o.pipeline.id}/"),
                                                least=Role.EDITOR),
    ("api/pipelines/<int:pk>/versions/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/pipelines/{o.pipeline.id}/versions/"), least=Role.VIEWER),
    ("api/pipelines/<int:pk>/versions/", "POST"): Rule(
        WORKSPACE, 201, lambda o: _body(f"/api/pipelines/{o.pipeline.id}/versions/",
                                        {"document": filter_pipeline(), "base_version": 1}), least=Role.EDITOR),
    ("api/pipelines/<int:pk>/versions/<int:number>/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/pipelines/{o.pipeline.id}/versions/1/"), least=Role.VIEWER),
    ("api/validate/", "POST"): Rule(AUTHENTICATED, 200, lambda o: _body("/api/validate/",
                                                                        {"document": filter_pipeline()})),
    ("api/compile/", "POST"): Rule(AUTHENTICATED, 200, lambda o: _body("/api/compile/",
                                                                       {"document": filter_pipeline()})),
    # runs and schedules
    ("api/pipelines/<int:pk>/runs/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/pipelines/{o.pipeline.id}/runs/"), least=Role.VIEWER),
    ("api/pipelines/<int:pk>/runs/", "POST"): Rule(
        WORKSPACE, 201, lambda o: _body(f"/api/pipelines/{o.pipeline.id}/runs/", {}), least=Role.OPERATOR),
    ("api/pipelines/<int:pk>/schedules/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/pipelines/{o.pipeline.id}/schedules/"), least=Role.VIEWER),
    ("api/pipelines/<int:pk>/schedules/", "POST"): Rule(
        WORKSPACE, 201, lambda o: _body(f"/api/pipelines/{o.pipeline.id}/schedules/", {"cron": "0 6 * * *"}),
        least=Role.OPERATOR),
    ("api/runs/", "GET"): Rule(AUTHENTICATED, 200, lambda o: _body("/api/runs/"), listed=_has(lambda o: o.run.id)),
    ("api/runs/<int:pk>/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/runs/{o.run.id}/"), least=Role.VIEWER),
    ("api/runs/<int:pk>/nodes/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/runs/{o.run.id}/nodes/"),
                                              least=Role.VIEWER),
    ("api/runs/<int:pk>/metrics/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/runs/{o.run.id}/metrics/"),
                                                least=Role.VIEWER),
    ("api/runs/<int:pk>/log/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/runs/{o.run.id}/log/"),
                                            least=Role.VIEWER),
    ("api/runs/<int:pk>/cancel/", "POST"): Rule(WORKSPACE, 202, lambda o: _body(f"/api/runs/{o.run.id}/cancel/"),
                                                least=Role.OPERATOR),
    ("api/schedules/<int:pk>/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/schedules/{o.schedule.id}/"),
                                             least=Role.VIEWER),
    ("api/schedules/<int:pk>/", "PATCH"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/schedules/{o.schedule.id}/", {"enabled": False}), least=Role.OPERATOR),
    ("api/schedules/<int:pk>/", "DELETE"): Rule(WORKSPACE, 204, lambda o: _body(f"/api/schedules/{o.schedule.id}/"),
                                                least=Role.OPERATOR),
    # the landing zone
    ("api/files/", "GET"): Rule(MEMBER, 200, lambda o: _body("/api/files/")),
    ("api/files/schema/", "POST"): Rule(MEMBER, 200, lambda o: _body("/api/files/schema/",
                                                                     {"path": "in/orders.csv", "format": "csv"})),
    # connections
    ("api/connections/", "GET"): Rule(AUTHENTICATED, 200, lambda o: _body("/api/connections/"),
                                      listed=_has(lambda o: o.connection.id)),
    ("api/connections/", "POST"): Rule(
        WORKSPACE, 201, lambda o: _body("/api/connections/", {"workspace": o.workspace.slug, "name": "new_kafka",
                                                              "kind": "kafka", "settings": _KAFKA}),
        least=Role.ADMIN),
    ("api/connections/kinds/", "GET"): Rule(AUTHENTICATED, 200, lambda o: _body("/api/connections/kinds/")),
    ("api/connections/<int:pk>/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/connections/{o.connection.id}/"), least=Role.VIEWER),
    ("api/connections/<int:pk>/", "PATCH"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/connections/{o.connection.id}/", {"description": "d"}),
        least=Role.ADMIN),
    ("api/connections/<int:pk>/", "DELETE"): Rule(
        WORKSPACE, 204, lambda o: _body(f"/api/connections/{o.connection.id}/"), least=Role.ADMIN),
    # the audit log
    ("api/audit/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/audit/?workspace={o.workspace.slug}"),
                                least=Role.ADMIN),
    # run progress and alerts, streaming deployments, alert webhooks
    ("api/runs/<int:pk>/progress/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/runs/{o.run.id}/progress/"),
                                                 least=Role.VIEWER),
    ("api/runs/<int:pk>/alerts/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/runs/{o.run.id}/alerts/"),
                                               least=Role.VIEWER),
    ("api/pipelines/<int:pk>/deployments/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/pipelines/{o.stream.id}/deployments/"), least=Role.VIEWER),
    ("api/pipelines/<int:pk>/deployments/", "POST"): Rule(
        WORKSPACE, 201, lambda o: _body(f"/api/pipelines/{o.stream.id}/deployments/", {}), least=Role.OPERATOR),
    ("api/deployments/", "GET"): Rule(AUTHENTICATED, 200, lambda o: _body("/api/deployments/"),
                                      listed=_has(lambda o: o.deployment.id)),
    ("api/deployments/<int:pk>/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/deployments/{o.deployment.id}/"), least=Role.VIEWER),
    ("api/deployments/<int:pk>/", "DELETE"): Rule(
        WORKSPACE, 409, lambda o: _body(f"/api/deployments/{o.deployment.id}/"), least=Role.OPERATOR),
    ("api/deployments/<int:pk>/stop/", "POST"): Rule(
        WORKSPACE, 202, lambda o: _body(f"/api/deployments/{o.deployment.id}/stop/"), least=Role.OPERATOR),
    ("api/deployments/<int:pk>/start/", "POST"): Rule(
        WORKSPACE, 409, lambda o: _body(f"/api/deployments/{o.deployment.id}/start/"), least=Role.OPERATOR),
    ("api/deployments/<int:pk>/upgrade/", "POST"): Rule(
        WORKSPACE, 202, lambda o: _body(f"/api/deployments/{o.deployment.id}/upgrade/", {}), least=Role.OPERATOR),
    ("api/deployments/<int:pk>/progress/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/deployments/{o.deployment.id}/progress/"), least=Role.VIEWER),
    ("api/webhooks/", "GET"): Rule(AUTHENTICATED, 200, lambda o: _body("/api/webhooks/"),
                                   listed=_has(lambda o: o.webhook.id)),
    ("api/webhooks/", "POST"): Rule(
        WORKSPACE, 201, lambda o: _body("/api/webhooks/", {"workspace": o.workspace.slug, "connection": "hook",
                                                           "pipeline": o.pipeline.id}),
        least=Role.OPERATOR),
    ("api/webhooks/<int:pk>/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/webhooks/{o.webhook.id}/"),
                                            least=Role.VIEWER),
    ("api/webhooks/<int:pk>/", "PATCH"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/webhooks/{o.webhook.id}/", {"enabled": False}), least=Role.OPERATOR),
    ("api/webhooks/<int:pk>/", "DELETE"): Rule(WORKSPACE, 204, lambda o: _body(f"/api/webhooks/{o.webhook.id}/"),
                                               least=Role.OPERATOR),
    # the catalog, lineage and quality
    ("api/catalog/datasets/", "GET"): Rule(AUTHENTICATED, 200, lambda o: _body("/api/catalog/datasets/"),
                                           listed=_has(lambda o: o.dataset.id)),
    ("api/catalog/datasets/<int:pk>/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/catalog/datasets/{o.dataset.id}/"), least=Role.VIEWER),
    ("api/catalog/datasets/<int:pk>/", "PATCH"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/catalog/datasets/{o.dataset.id}/", {"description": "d"}),
        least=Role.EDITOR),
    ("api/catalog/datasets/<int:pk>/rows/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/catalog/datasets/{o.dataset.id}/rows/"), least=Role.VIEWER),
    ("api/catalog/datasets/<int:pk>/refresh/", "POST"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/catalog/datasets/{o.dataset.id}/refresh/"), least=Role.EDITOR),
    ("api/catalog/datasets/<int:pk>/quality/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/catalog/datasets/{o.dataset.id}/quality/"), least=Role.VIEWER),
    ("api/lineage/datasets/<int:pk>/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/lineage/datasets/{o.dataset.id}/"), least=Role.VIEWER),
    ("api/lineage/datasets/<int:pk>/impact/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/lineage/datasets/{o.dataset.id}/impact/?column=amount"),
        least=Role.VIEWER),
    ("api/pipelines/<int:pk>/versions/<int:number>/lineage/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/pipelines/{o.pipeline.id}/versions/1/lineage/"), least=Role.VIEWER),
    ("api/runs/<int:pk>/lineage/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/runs/{o.run.id}/lineage/"),
                                                least=Role.VIEWER),
    ("api/runs/<int:pk>/quality/", "GET"): Rule(WORKSPACE, 200, lambda o: _body(f"/api/runs/{o.run.id}/quality/"),
                                                least=Role.VIEWER),
    ("api/runs/<int:pk>/openlineage/", "GET"): Rule(
        WORKSPACE, 200, lambda o: _body(f"/api/runs/{o.run.id}/openlineage/"), least=Role.VIEWER),
}

# Websocket routes (studio.asgi) -> the least role that may connect; others are closed with 4404.
WEBSOCKETS: dict[str, str] = {"ws/runs/<int:pk>/": Role.VIEWER}


def _http_routes() -> list[tuple[str, str]]:
    """(route, METHOD) for every API endpoint, except the schema, its browser and the JSON 404."""
    found: list[tuple[str, str]] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
                continue
            if not isinstance(pattern, URLPattern) or not route.startswith("api/"):
                continue
            view = getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)
            if pattern.callback is api_not_found or view in (SpectacularAPIView, SpectacularSwaggerView):
                continue
            assert view is not None, f"/{route} is not a class-based view: give it an access rule here"
            found.extend((route, method.upper()) for method in HTTP_METHODS if hasattr(view, method))

    walk(get_resolver().url_patterns, "")
    return found


def _websocket_routes() -> list[str]:
    from studio.asgi import websocket_urlpatterns

    return [str(pattern.pattern) for pattern in websocket_urlpatterns]


def test_every_endpoint_has_an_entry() -> None:
    routes = _http_routes()
    assert ("api/pipelines/<int:pk>/", "GET") in routes  # discovery works
    missing = [f"{method} /{route}" for route, method in routes if (route, method) not in ENDPOINTS]
    assert missing == [], f"endpoints without an access rule (add them to ENDPOINTS): {missing}"
    stale = [f"{method} /{route}" for route, method in ENDPOINTS if (route, method) not in routes]
    assert stale == [], f"ENDPOINTS names endpoints that do not exist: {stale}"
    assert sorted(_websocket_routes()) == sorted(WEBSOCKETS)


def expected_status(rule: Rule, role: str, target: str) -> int:
    if rule.scope == PUBLIC:
        return rule.ok
    if role == "anonymous":
        return 401
    granted = {
        AUTHENTICATED: True,
        MEMBER: role != "nonmember",
        ANY_ADMIN: role in ("admin", "superuser"),
        SUPERUSER: role == "superuser",
    }
    if rule.scope in granted:
        return rule.ok if granted[rule.scope] else 403
    if role == "superuser":
        return rule.ok
    if role == "nonmember" or target == "other":
        return 404
    assert rule.least is not None
    return rule.ok if WORKSPACE_ROLES.index(Role(role)) >= WORKSPACE_ROLES.index(Role(rule.least)) else 403


def may_see(role: str, target: str) -> bool:
    return role == "superuser" or (target == "own" and role in WORKSPACE_ROLES)


def _objects(slug: str) -> Objects:
    owner = make_user(f"owner_{slug}")
    workspace = workspace_create(slug=slug, name=slug.title())
    membership_set(workspace=workspace, user=owner, role=Role.ADMIN)
    spare = make_user(f"spare_{slug}", workspace, Role.VIEWER)
    pipeline = pipeline_create(workspace=workspace, name="orders", document=filter_pipeline(), user=owner)
    version = pipeline.versions.get(number=1)
    run = run_create(pipeline=pipeline, version=version, engine="spark", parameters={}, user=owner)
    lineage_record_run(run=run)  # as when its job starts
    schedule = schedule_create(pipeline=pipeline, cron="0 * * * *", user=owner)
    connection = connection_create(workspace=workspace, name="kafka", kind="kafka", user=owner, settings=_KAFKA)
    stream = pipeline_create(workspace=workspace, name="stream", document=_streaming(), user=owner)
    deployment = deployment_create(pipeline=stream, version=stream.versions.get(number=1), engine="spark",
                                   parameters={}, user=owner)
    hook = connection_create(workspace=workspace, name="hook", kind="webhook", user=owner,
                             settings={"url": "https://hooks.example.com/alerts"})
    webhook = webhook_create(workspace=workspace, connection=hook, user=owner)
    dataset = Dataset.objects.filter(workspace=workspace, name__contains="orders.csv").first()
    assert dataset is not None, "saving a pipeline registers its datasets in the catalog"
    return Objects(workspace, pipeline, run, schedule, connection, spare, stream, deployment, webhook, dataset)


def _streaming() -> dict[str, Any]:
    document = filter_pipeline(name="stream", mode="streaming")
    document["nodes"][0]["config"] = {**document["nodes"][0]["config"], "path": "in/stream/*.json", "format": "json",
                                      "streaming": True}
    document["nodes"][0]["config"].pop("options")
    document["nodes"][2]["config"] = {"path": "out/stream", "format": "json", "mode": "append"}
    return document


@pytest.fixture
def fast_passwords(settings: Any) -> None:
    """A cheap password hash: this module makes a dozen users per test and checks access, not hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: Any, fast_passwords: None, settings: Any, tmp_path: Path) -> dict[str, Any]:
    """Both workspaces' objects, and a client per role."""
    settings.STUDIO_DATA_DIR = tmp_path
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "orders.csv").write_text(ORDERS_CSV)
    targets = {"own": _objects("team"), "other": _objects("elsewhere")}
    make_user("newbie")
    clients: dict[str, APIClient] = {"anonymous": APIClient()}
    for role in WORKSPACE_ROLES:
        clients[str(role)] = client_for(make_user(f"as_{role}", targets["own"].workspace, role))
    clients["nonmember"] = client_for(make_user("nemo"))
    root = make_user("root")
    root.is_superuser = True
    root.save()
    clients["superuser"] = client_for(root)
    make_user("vera")  # the login endpoints' credentials
    return {"targets": targets, "clients": clients}


def _call(client: APIClient, method: str, path: str, body: dict[str, Any] | None) -> Any:
    return getattr(client, method.lower())(path, body, format="json") if body is not None \
        else getattr(client, method.lower())(path)


@pytest.mark.parametrize("route,method", sorted(ENDPOINTS), ids=[f"{m} /{r}" for r, m in sorted(ENDPOINTS)])
def test_endpoint_answers_each_role_as_declared(world: dict[str, Any], route: str, method: str) -> None:
    rule = ENDPOINTS[(route, method)]
    wrong: list[str] = []
    for role in ROLES:
        for target in TARGETS:
            objects = world["targets"][target]
            path, body = rule.request(objects)
            with transaction.atomic():
                response = _call(world["clients"][role], method, path, body)
                transaction.set_rollback(True)
            want = expected_status(rule, role, target)
            if response.status_code != want:
                wrong.append(f"{role}/{target}: {response.status_code} (expected {want}) "
                             f"{response.content[:200]!r}")
            elif want in (401, 403, 404):
                assert "detail" in response.json(), f"{role}/{target}: an error without a sentence"
            elif rule.listed is not None:
                listed = rule.listed(response.json(), objects)
                if listed != may_see(role, target):
                    wrong.append(f"{role}/{target}: the list {'shows' if listed else 'hides'} the target's object")
    assert wrong == [], f"{method} /{route}:\n" + "\n".join(wrong)


@pytest.mark.django_db(transaction=True)
def test_run_websocket_admits_only_who_may_see_the_run(fast_passwords: None, settings: Any) -> None:
    from studio.asgi import application

    targets = {"own": _objects("team"), "other": _objects("elsewhere")}
    users: dict[str, Any] = {str(role): make_user(f"ws_{role}", targets["own"].workspace, role)
                             for role in WORKSPACE_ROLES}
    users["nonmember"] = make_user("ws_nemo")
    users["superuser"] = make_user("ws_root")
    users["superuser"].is_superuser = True
    users["superuser"].save()
    least = WEBSOCKETS["ws/runs/<int:pk>/"]

    async def connect(cookie: str, run_id: int) -> tuple[bool, Any]:
        headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        communicator = WebsocketCommunicator(application, f"/ws/runs/{run_id}/", headers=headers)
        connected, code = await communicator.connect(timeout=30)
        if connected:
            message = await communicator.receive_json_from(timeout=30)
            await communicator.disconnect()
            return True, message
        return False, code

    for role in ROLES:
        cookie = ""
        if role != "anonymous":
            client = APIClient()
            client.force_login(users[role])
            cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        for target in TARGETS:
            run = targets[target].run
            connected, answer = async_to_sync(connect)(cookie, run.id)
            allowed = role == "superuser" or (
                target == "own" and role in WORKSPACE_ROLES
                and WORKSPACE_ROLES.index(Role(role)) >= WORKSPACE_ROLES.index(Role(least))
            )
            assert connected == allowed, f"{role}/{target}"
            if allowed:
                assert answer["type"] == "run.status" and answer["run"]["id"] == run.id
            else:
                assert answer == 4404, f"{role}/{target}: closed with {answer}"


def test_declared_rules_are_consistent() -> None:
    """Guards for the table itself: a workspace rule names its least role, success codes are 2xx, and
    every list open to anyone logged in says how to spot the target's object in it."""
    not_lists = {"api/auth/me/", "api/connections/kinds/"}
    for (route, method), rule in ENDPOINTS.items():
        assert 200 <= rule.ok < 300 or rule.ok == 409, route
        assert (rule.scope == WORKSPACE) == (rule.least is not None), route
        if method == "GET" and rule.scope == AUTHENTICATED and route not in not_lists:
            assert rule.listed is not None, f"{route}: a list needs `listed`"
