"""A streaming pipeline deployed from its runs page: it starts and runs on Spark, stops keeping its state,
refuses an upgrade its state cannot serve (the reasons shown in words) and takes it with fresh state,
and is deleted."""
from __future__ import annotations

import json
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Studio, call_api
from tests.e2e.test_editor import log_in
from tests.studio.test_run_deployments import stream_document

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.slow]


def test_deploy_stop_upgrade_with_fresh_state_and_delete(page: Page, studio: Studio) -> None:
    name = f"clicks_{uuid.uuid4().hex[:6]}"
    landing = studio.data_dir / "landing" / name
    landing.mkdir(parents=True)
    (landing / "a.json").write_text("".join(json.dumps({"user_id": u, "page": p}) + "\n"
                                            for u, p in [(1, "home"), (2, "skip"), (3, "cart")]))
    log_in(page, studio)
    created = call_api(page, studio, "POST", "/api/pipelines/", {
        "workspace": "demo", "name": name, "document": stream_document(name, folder=f"landing/{name}", sink=f"curated/{name}"),
    })
    assert created.status == 201, created.text()
    pipeline = created.json()["id"]

    page.goto(f"{studio.url.rstrip('/')}/pipelines/{pipeline}/runs")
    panel = page.get_by_test_id("deployments")
    expect(panel).to_contain_text("Not deployed.")
    page.get_by_test_id("deploy-engine").select_option("spark")
    page.get_by_test_id("deploy").click()
    deployment = panel.get_by_test_id("deployment")
    expect(deployment).to_have_count(1)
    expect(deployment.get_by_test_id("deployment-version")).to_have_text("v1 on spark")
    expect(deployment.get_by_test_id("deployment-state")).to_contain_text("state generation 1")
    # It runs (the panel follows it without a reload), with its run listed.
    status = deployment.get_by_test_id("deployment-status")
    expect(status).to_have_attribute("data-status", "running", timeout=180_000)
    expect(deployment.get_by_test_id("deployment-run")).to_have_count(1)
    expect(deployment.get_by_test_id("deployment-start")).to_be_disabled()

    # Stop: it finishes its micro-batch and keeps its state.
    deployment.get_by_test_id("deployment-stop").click()
    expect(status).to_have_attribute("data-status", re.compile("stopping|stopped"))
    expect(status).to_have_attribute("data-status", "stopped", timeout=120_000)
    expect(deployment.get_by_test_id("deployment-run")).to_contain_text("cancelled")
    expect(deployment.get_by_test_id("deployment-start")).to_be_enabled()

    # Version 2 reads another folder: the state cannot serve it, and the panel says why.
    moved = stream_document(name, folder=f"landing/{name}_v2", sink=f"curated/{name}_v2")
    saved = call_api(page, studio, "POST", f"/api/pipelines/{pipeline}/versions/", {"document": moved, "base_version": 1})
    assert saved.status == 201, saved.text()
    page.reload()
    expect(deployment.get_by_test_id("deployment-upgrade-version")).to_have_value("2")
    deployment.get_by_test_id("deployment-upgrade").click()
    problem = deployment.get_by_test_id("deployment-problem")
    expect(problem).to_contain_text("Version 2 cannot start from the state version 1 left")
    expect(problem.get_by_test_id("deployment-problems")).to_contain_text("Source 'clicks' changed")
    expect(deployment.get_by_test_id("deployment-version")).to_have_text("v1 on spark")
    # With fresh state it takes the version (stopped, it runs it when started).
    problem.get_by_test_id("deployment-reset-upgrade").click()
    expect(problem).to_have_count(0)
    expect(deployment.get_by_test_id("deployment-version")).to_have_text("v2 on spark")
    expect(deployment.get_by_test_id("deployment-state")).to_contain_text("state generation 2")
    expect(status).to_have_attribute("data-status", "stopped")

    page.once("dialog", lambda dialog: dialog.accept())
    deployment.get_by_test_id("deployment-delete").click()
    expect(deployment).to_have_count(0)
    expect(panel).to_contain_text("Not deployed.")
