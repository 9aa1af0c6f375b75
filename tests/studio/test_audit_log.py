"""The audit log: every create, update, delete, run, cancel and permission change, who did it and
what changed; append-only; filtered in the API for the people allowed to read it."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from studio.access.models import Role
from studio.audit.context import acting_as
from studio.audit.models import AppendOnlyError, AuditEvent
from studio.connections.models import Connection
from studio.runs.services import schedules_fire_due
from tests.studio.conftest import client_for, make_user
from tests.studio.documents import filter_pipeline


@pytest.fixture
def admin(workspace: Any) -> Any:
    return make_user("ada", workspace, Role.ADMIN)


def events(**filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def test_pipeline_changes_are_recorded_with_who_and_before_after(api: APIClient, operator: Any) -> None:
    pk = api.post("/api/pipelines/", {"workspace": "team", "name": "orders", "document": filter_pipeline()},
                  format="json").json()["id"]
    api.patch(f"/api/pipelines/{pk}/", {"description": "big ones", "max_attempts": 3}, format="json")
    api.post(f"/api/pipelines/{pk}/versions/", {"document": filter_pipeline(), "base_version": 1}, format="json")
    api.patch(f"/api/pipelines/{pk}/", {"description": "big ones"}, format="json")  # no change: no event
    run = api.post(f"/api/pipelines/{pk}/runs/", {"parameters": {"min_amount": 5}}, format="json").json()
    api.post(f"/api/runs/{run['id']}/cancel/")
    api.delete(f"/api/pipelines/{pk}/")

    log = [(e.actor, e.action, e.object_type)
           for e in events(workspace="team", object_type__in=["pipeline", "pipeline_version", "run"])]
    assert log == [
        ("otto", "create", "pipeline"),
        ("otto", "create", "pipeline_version"),
        ("otto", "update", "pipeline"),  # the description (naming)
        ("otto", "update", "pipeline"),  # then max_attempts (the run policy), in the same request
        ("otto", "create", "pipeline_version"),
        ("otto", "run", "run"),
        ("otto", "cancel", "run"),
        ("otto", "delete", "pipeline"),
    ]
    naming, policy = events(action="update", object_type="pipeline")
    assert naming.object_id == str(pk) and naming.workspace_ref == operator.memberships.get().workspace_id
    assert naming.before["description"] == "" and naming.after["description"] == "big ones"
    assert (policy.before["max_attempts"], policy.after["max_attempts"]) == (1, 3)
    started = events(action="run")[0]
    assert started.after["parameters"] == {"min_amount": 5} and started.after["trigger"] == "manual"
    assert events(action="cancel")[0].after["status"] == "cancelled"
    deleted = events(action="delete")[0]
    assert deleted.before["name"] == "orders" and deleted.after is None


def test_permission_changes_are_recorded(workspace: Any, admin: Any) -> None:
    vera = make_user("vera")
    api = client_for(admin)
    api.post(f"/api/workspaces/{workspace.id}/members/", {"username": "vera", "role": "viewer"}, format="json")
    api.patch(f"/api/workspaces/{workspace.id}/members/{vera.id}/", {"role": "operator"}, format="json")
    api.delete(f"/api/workspaces/{workspace.id}/members/{vera.id}/")
    changes = [(e.actor, e.before, e.after) for e in events(action="permission", after__user="vera")] + [
        (e.actor, e.before, e.after) for e in events(action="permission", before__user="vera", after__isnull=True)]
    viewer, operator = ({"user": "vera", "role": role, "can_view_pii": False} for role in ("viewer", "operator"))
    assert changes == [("ada", None, viewer), ("ada", viewer, operator), ("ada", operator, None)]
    # Making someone an instance superuser is a permission change too (instance-wide: no workspace).
    vera.is_superuser = True
    with acting_as(admin):
        vera.save()
    [flag] = events(action="permission", object_type="user")
    assert flag.actor == "ada" and flag.workspace_ref is None and flag.after["is_superuser"] is True


def test_what_the_studio_does_by_itself_has_no_actor(api: APIClient) -> None:
    pk = api.post("/api/pipelines/", {"workspace": "team", "name": "p", "document": filter_pipeline()},
                  format="json").json()["id"]
    schedule = api.post(f"/api/pipelines/{pk}/schedules/", {"cron": "* * * * *"}, format="json").json()
    [run_id] = schedules_fire_due(now=timezone.now() + timedelta(minutes=2))
    [fired] = events(action="run")
    assert fired.actor == "" and fired.actor_ref is None and fired.object_id == str(run_id)
    assert fired.after["trigger"] == "schedule"
    assert events(action="create", object_type="schedule")[0].after["cron"] == schedule["cron"]


def test_connection_events_never_hold_secret_values(workspace: Any, admin: Any) -> None:
    api = client_for(admin)
    secret = "hunter2-but-longer"
    pk = api.post("/api/connections/", {"workspace": "team", "name": "lake", "kind": "s3",
                                        "settings": {"region": "eu-west-1"},
                                        "secrets": {"access_key_id": "AKIA-" + secret, "secret_access_key": secret}},
                  format="json").json()["id"]
    api.patch(f"/api/connections/{pk}/", {"secrets": {"secret_access_key": secret + "-rotated"}}, format="json")
    created, updated = events(object_type="connection")
    assert created.after["secrets_set"] == ["access_key_id", "secret_access_key"]
    assert updated.before["secrets_updated_at"] != updated.after["secrets_updated_at"]
    for event in (created, updated):
        assert secret not in str(event.before) and secret not in str(event.after)


def test_a_change_that_fails_leaves_no_event(api: APIClient) -> None:
    pk = api.post("/api/pipelines/", {"workspace": "team", "name": "p", "document": filter_pipeline()},
                  format="json").json()["id"]
    before = AuditEvent.objects.count()
    conflict = api.post(f"/api/pipelines/{pk}/versions/", {"document": filter_pipeline(), "base_version": None},
                        format="json")
    assert conflict.status_code == 409
    assert AuditEvent.objects.count() == before


def test_events_are_append_only(api: APIClient) -> None:
    api.post("/api/pipelines/", {"workspace": "team", "name": "p"}, format="json")
    event = AuditEvent.objects.get(object_type="pipeline")
    event.actor = "mallory"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(actor="mallory")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(object_type="pipeline").actor == "otto"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database-level guard is a PostgreSQL trigger "
                                                                 "(the production tier runs this test)")
def test_postgresql_itself_refuses_to_change_or_delete_events(api: APIClient) -> None:
    api.post("/api/pipelines/", {"workspace": "team", "name": "p"}, format="json")
    table = AuditEvent._meta.db_table
    for statement in (f"UPDATE {table} SET actor = 'mallory'", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEvent.objects.get(object_type="pipeline").actor == "otto"


def test_the_log_is_filtered_and_paged_for_admins_only(workspace: Any, other_workspace: Any, admin: Any,
                                                       operator: Any, outsider: Any) -> None:
    api = client_for(operator)
    for i in range(5):
        api.post("/api/pipelines/", {"workspace": "team", "name": f"p{i}"}, format="json")
    client_for(outsider).post("/api/pipelines/", {"workspace": "elsewhere", "name": "theirs"}, format="json")
    audit = client_for(admin)

    page = audit.get("/api/audit/?workspace=team&object_type=pipeline&limit=2").json()
    assert [e["object_repr"] for e in page["events"]] == ["team/p4", "team/p3"] and page["next"]
    rest = audit.get(f"/api/audit/?workspace=team&object_type=pipeline&before={page['next']}").json()
    assert [e["object_repr"] for e in rest["events"]] == ["team/p2", "team/p1", "team/p0"] and rest["next"] is None
    mine = audit.get("/api/audit/").json()["events"]  # every workspace where the user is admin: only team
    assert mine and all(e["workspace"] == "team" for e in mine)
    assert {e["actor"] for e in audit.get("/api/audit/?actor=otto&action=create").json()["events"]} == {"otto"}
    assert audit.get("/api/audit/?actor=nobody").json()["events"] == []
    target = mine[0]
    one = audit.get(f"/api/audit/?object_type={target['object_type']}&object_id={target['object_id']}").json()
    assert [e["id"] for e in one["events"]] == [target["id"]]
    at = AuditEvent.objects.get(pk=target["id"]).at
    since = (at - timedelta(seconds=1)).isoformat()
    until = (at + timedelta(seconds=1)).isoformat()
    window = audit.get("/api/audit/", {"since": since, "until": until}).json()["events"]
    assert target["id"] in [e["id"] for e in window]
    later = audit.get("/api/audit/", {"since": (at + timedelta(hours=1)).isoformat()}).json()["events"]
    assert later == []
    bad = audit.get("/api/audit/", {"since": until, "until": since})
    assert bad.status_code == 400 and "until" in bad.json()
    assert audit.get("/api/audit/?action=explode").status_code == 400
    # Non-admins: 403 for their workspace, 404 for others; their unfiltered log is empty.
    assert api.get("/api/audit/?workspace=team").status_code == 403
    assert audit.get("/api/audit/?workspace=elsewhere").status_code == 404
    assert api.get("/api/audit/").json()["events"] == []
    # An instance superuser sees everything, instance-wide events included.
    root = make_user("root")
    root.is_superuser = True
    root.save()
    everything = client_for(root).get("/api/audit/?limit=1000").json()["events"]
    assert {"team", "elsewhere", None} <= {e["workspace"] for e in everything}


def test_webhooks_and_catalog_curation_are_recorded(api: APIClient, workspace: Any, admin: Any) -> None:
    from studio.catalog.models import Dataset

    client_for(admin).post("/api/connections/", {"workspace": "team", "name": "pager", "kind": "webhook",
                                                 "settings": {"url": "https://hooks.example.com/a"},
                                                 "secrets": {"token": "bearer-token-value"}}, format="json")
    created = api.post("/api/webhooks/", {"workspace": "team", "connection": "pager"}, format="json")
    assert created.status_code == 201, created.json()
    [hook] = events(object_type="webhook")
    assert hook.actor == "otto" and hook.after == {"connection": "pager", "pipeline": None, "enabled": True}
    assert all("bearer-token-value" not in str(e.after) for e in events())
    # The webhook uses the connection: deleting it is refused, naming what uses it.
    pager = Connection.objects.get(name="pager")
    in_use = client_for(admin).delete(f"/api/connections/{pager.id}/")
    assert in_use.status_code == 409 and "webhook" in in_use.json()["detail"]
    api.post("/api/pipelines/", {"workspace": "team", "name": "p", "document": filter_pipeline()}, format="json")
    dataset = Dataset.objects.filter(workspace=workspace).first()
    assert dataset is not None
    client_for(admin).patch(f"/api/catalog/datasets/{dataset.id}/", {"description": "Raw orders"}, format="json")
    [curated] = events(object_type="dataset", action="update")
    assert curated.actor == "ada" and curated.after["description"] == "Raw orders"
    # Tags: each one added and each one removed is an event, with who did it.
    curator = client_for(admin)
    assert curator.patch(f"/api/catalog/datasets/{dataset.id}/", {"tags": ["gold", "crm"]},
                         format="json").status_code == 200
    added = events(object_type="dataset_tag", action="create")
    assert [(e.actor, e.workspace, e.after) for e in added] == [
        ("ada", "team", {"dataset": dataset.id, "name": "gold"}),
        ("ada", "team", {"dataset": dataset.id, "name": "crm"}),
    ]
    curator.patch(f"/api/catalog/datasets/{dataset.id}/", {"tags": ["gold", "pii-free"]}, format="json")
    [removed] = events(object_type="dataset_tag", action="delete")
    assert removed.actor == "ada" and removed.before == {"dataset": dataset.id, "name": "crm"} and removed.after is None
    assert [e.after["name"] for e in events(object_type="dataset_tag", action="create")] == ["gold", "crm", "pii-free"]
