"""Cron schedules: expressions, the API (restricted like runs), and the dispatcher that fires them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from studio.runs import services
from studio.runs.cron import CronError, parse_cron
from studio.runs.models import Run, Schedule
from tests.studio.conftest import client_for
from tests.studio.documents import filter_pipeline

UTC = dt_timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("expression, after, expected", [
    ("*/15 * * * *", "2026-03-01 10:07:30", "2026-03-01 10:15"),
    ("0 6 * * 1-5", "2026-03-06 06:00", "2026-03-09 06:00"),  # Friday 06:00 -> Monday
    ("30 2 1 * *", "2026-01-31 23:00", "2026-02-01 02:30"),
    ("0 0 29 feb *", "2026-03-01 00:00", "2028-02-29 00:00"),
    ("0 12 13 * fri", "2026-02-01 00:00", "2026-02-06 12:00"),  # both day fields: either matches
    ("@hourly", "2026-03-01 10:59:59", "2026-03-01 11:00"),
    ("0 0 * * 7", "2026-03-02 00:00", "2026-03-08 00:00"),  # 7 is Sunday
    ("5,10-12/2 * * * *", "2026-03-01 10:10", "2026-03-01 10:12"),
])
def test_cron_next_fire_times(expression: str, after: str, expected: str) -> None:
    assert parse_cron(expression).next_after(at(after)) == at(expected)


@pytest.mark.parametrize("expression, message", [
    ("* * * *", 'A cron expression has 5 fields (minute hour day-of-month month day-of-week), '
                'e.g. "0 6 * * 1-5"; "* * * *" has 4.'),
    ("61 * * * *", "The minute field: 61 is out of range 0-59."),
    ("0 24 * * *", "The hour field: 24 is out of range 0-23."),
    ("0 0 * * funday", 'The day-of-week field: "funday" is not a number or a name like sun.'),
    ("*/0 * * * *", 'The minute field: the step in "*/0" must be a whole number of at least 1.'),
    ("0 0 10-2 * *", 'The day-of-month field: the range "10-2" runs backwards; write it low-high.'),
    ("0 0 30 2 *", '"0 0 30 2 *" never fires (no such date, e.g. 30 February).'),
    ("@often", 'Unknown shorthand "@often"; use one of @annually, @daily, @hourly, @midnight, @monthly, '
               '@weekly, @yearly.'),
])
def test_a_bad_cron_expression_is_refused_with_a_sentence(expression: str, message: str) -> None:
    with pytest.raises(CronError) as error:
        parse_cron(expression)
    assert str(error.value) == message


def _pipeline(api: APIClient) -> int:
    return api.post("/api/pipelines/", {"workspace": "team", "name": "nightly", "document": filter_pipeline()},
                    format="json").json()["id"]


@pytest.mark.django_db
def test_schedules_are_managed_through_the_api_with_run_level_access(
    api: APIClient, editor: Any, viewer: Any, outsider: Any
) -> None:
    pipeline = _pipeline(api)
    bad = api.post(f"/api/pipelines/{pipeline}/schedules/", {"cron": "0 25 * * *"}, format="json")
    assert bad.status_code == 400 and bad.json() == {"cron": ["The hour field: 25 is out of range 0-23."]}
    unknown = api.post(f"/api/pipelines/{pipeline}/schedules/", {"cron": "@daily", "parameters": {"nope": 1}},
                       format="json")
    assert unknown.status_code == 400 and unknown.json()["valid"] is False
    assert any("nope" in e["message"] for e in unknown.json()["errors"])
    assert client_for(editor).post(f"/api/pipelines/{pipeline}/schedules/", {"cron": "@daily"},
                                   format="json").status_code == 403  # editing is not running
    created = api.post(f"/api/pipelines/{pipeline}/schedules/",
                       {"cron": " 0  6 * * 1-5 ", "parameters": {"min_amount": "120"}}, format="json")
    assert created.status_code == 201, created.json()
    schedule = created.json()
    assert (schedule["cron"], schedule["timezone"], schedule["engine"], schedule["enabled"]) == (
        "0 6 * * 1-5", "UTC", "spark", True)
    assert parse_cron("0 6 * * 1-5").next_after(timezone.now()) == datetime.fromisoformat(
        schedule["next_fire_at"].replace("Z", "+00:00"))
    assert schedule["created_by"] == "otto" and schedule["last_run"] is None

    assert [s["id"] for s in client_for(viewer).get(f"/api/pipelines/{pipeline}/schedules/").json()] == [schedule["id"]]
    assert client_for(viewer).get(f"/api/schedules/{schedule['id']}/").status_code == 200
    assert client_for(viewer).patch(f"/api/schedules/{schedule['id']}/", {"enabled": False},
                                    format="json").status_code == 403
    for url in (f"/api/pipelines/{pipeline}/schedules/", f"/api/schedules/{schedule['id']}/"):
        assert client_for(outsider).get(url).status_code == 404

    paused = api.patch(f"/api/schedules/{schedule['id']}/", {"enabled": False}, format="json").json()
    assert paused["enabled"] is False and paused["next_fire_at"] is None
    resumed = api.patch(f"/api/schedules/{schedule['id']}/", {"enabled": True, "cron": "@hourly"}, format="json").json()
    assert resumed["cron"] == "@hourly" and resumed["next_fire_at"]
    assert api.patch(f"/api/schedules/{schedule['id']}/", {"cron": "nope"}, format="json").status_code == 400
    assert api.delete(f"/api/schedules/{schedule['id']}/").status_code == 204
    assert api.get(f"/api/schedules/{schedule['id']}/").status_code == 404


@pytest.mark.django_db
def test_a_due_schedule_starts_one_run_like_the_manual_api_does(api: APIClient, operator: Any) -> None:
    pipeline = _pipeline(api)
    schedule_id = api.post(f"/api/pipelines/{pipeline}/schedules/",
                           {"cron": "*/5 * * * *", "parameters": {"min_amount": "120"}}, format="json").json()["id"]
    now = timezone.now()
    assert services.schedules_fire_due(now=now) == []  # not due yet
    Schedule.objects.filter(pk=schedule_id).update(next_fire_at=now - timedelta(minutes=12))  # missed a few
    fired = services.schedules_fire_due(now=now)
    assert len(fired) == 1
    assert services.schedules_fire_due(now=now) == []  # a second tick (or a redelivered one) fires nothing
    run = api.get(f"/api/runs/{fired[0]}/").json()
    assert (run["status"], run["trigger"], run["schedule"], run["parameters"], run["created_by"]) == (
        "queued", "schedule", schedule_id, {"min_amount": "120"}, "otto")
    assert run["events"][0]["reason"] == f"Started by schedule {schedule_id} (*/5 * * * * UTC)."
    schedule = api.get(f"/api/schedules/{schedule_id}/").json()
    assert schedule["last_run"] == fired[0] and schedule["last_error"] == ""
    assert datetime.fromisoformat(schedule["next_fire_at"].replace("Z", "+00:00")) == parse_cron(
        "*/5 * * * *").next_after(now)


@pytest.mark.django_db
def test_a_schedule_that_cannot_start_a_run_says_why(api: APIClient) -> None:
    pipeline = _pipeline(api)
    api.patch(f"/api/pipelines/{pipeline}/", {"allow_concurrent_runs": False}, format="json")
    active = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    schedule_id = api.post(f"/api/pipelines/{pipeline}/schedules/", {"cron": "@daily"}, format="json").json()["id"]
    Schedule.objects.filter(pk=schedule_id).update(next_fire_at=timezone.now() - timedelta(seconds=1))
    assert services.schedules_fire_due() == []
    schedule = api.get(f"/api/schedules/{schedule_id}/").json()
    assert f"run {active} is still queued" in schedule["last_error"]
    assert schedule["last_fired_at"] and Run.objects.filter(pipeline_id=pipeline).count() == 1
