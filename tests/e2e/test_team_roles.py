"""A team set up in the browser: an admin adds an editor, an operator and a viewer to the demo workspace
(members panel); each can do what the role allows and no more; a viewer without the PII permission
sees a PII column masked; the superuser reads the instance-wide audit log of it all; alert webhooks
are bound to a webhook connection, paused and deleted."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Studio, call_api, sign_in
from tests.e2e.test_catalog_lineage import ORDERS
from tests.e2e.test_editor import drop, log_in

pytestmark = pytest.mark.e2e

PASSWORD = "team-password-1"
ROLES = ("editor", "operator", "viewer")


@pytest.fixture(scope="module")
def team(browser: Browser, studio: Studio) -> Iterator[dict[str, str]]:
    """The admin creates three accounts and adds each to the demo workspace with its role (no PII permission)."""
    names = {role: f"{role[:3]}{uuid.uuid4().hex[:6]}" for role in ROLES}
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, studio)
    page.get_by_test_id("nav-admin").click()
    for name in names.values():
        page.get_by_test_id("new-user-name").fill(name)
        page.get_by_test_id("new-user-password").fill(PASSWORD)
        page.get_by_test_id("new-user-create").click()
        expect(page.get_by_role("status")).to_contain_text(f"Created user {name}")
    page.get_by_test_id("admin-workspace-demo").get_by_role("link", name="Members").click()
    for role, name in names.items():
        page.get_by_test_id("member-username").fill(name)
        page.get_by_test_id("member-role").select_option(role)
        page.get_by_test_id("member-add").click()
        expect(page.get_by_test_id(f"member-role-{name}")).to_have_value(role)
        expect(page.get_by_test_id(f"member-pii-{name}")).not_to_be_checked()
    context.close()
    yield names


def open_pipeline_runs(page: Page, name: str) -> None:
    page.locator(f"[data-testid='pipeline-row'][data-pipeline-name='{name}']").get_by_test_id("pipeline-runs").click()
    expect(page.get_by_test_id("pipeline-runs-page")).to_be_visible()


def test_an_editor_saves_a_pipeline_but_may_not_run_it(page: Page, studio: Studio, team: dict[str, str]) -> None:
    sign_in(page, studio, team["editor"], PASSWORD)
    name = f"drafted_{uuid.uuid4().hex[:6]}"
    page.get_by_test_id("new-pipeline-name").fill(name)
    page.get_by_test_id("new-pipeline-create").click()
    row = page.locator(f"[data-testid='pipeline-row'][data-pipeline-name='{name}']")
    row.get_by_test_id("pipeline-open").click()
    expect(page.get_by_test_id("read-only")).to_have_count(0)
    drop(page, "source.file", 200, 250)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("save-status")).to_have_text("Saved version 1")
    # Running needs an operator: the button says so, and the API refuses in words.
    expect(page.get_by_test_id("run")).to_be_disabled()
    expect(page.get_by_test_id("run")).to_have_attribute("title", "Running needs the operator role in this workspace.")
    pipeline_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    refused = call_api(page, studio, "POST", f"/api/pipelines/{pipeline_id}/runs/", {"engine": "spark"})
    assert refused.status == 403
    assert "operator" in refused.json()["detail"]
    page.get_by_test_id("runs").click()
    expect(page.get_by_test_id("run-now")).to_be_disabled()
    # Nor does the admin area let an editor manage members, webhooks or read the audit log.
    page.get_by_test_id("nav-admin").click()
    page.get_by_test_id("admin-workspace-demo").get_by_role("link", name="Members").click()
    expect(page.get_by_test_id("member-add")).to_have_count(0)
    expect(page.get_by_test_id("tab-audit")).to_have_count(0)
    page.get_by_test_id("tab-webhooks").click()
    expect(page.get_by_text("Operators may add, pause and delete webhooks.")).to_be_visible()
    expect(page.get_by_test_id("webhook-add")).to_have_count(0)


@pytest.mark.spark
@pytest.mark.slow
def test_an_operator_runs_a_pipeline_and_follows_it_to_its_lineage_and_quality(
    page: Page, studio: Studio, team: dict[str, str],
) -> None:
    sign_in(page, studio, team["operator"], PASSWORD)
    open_pipeline_runs(page, "big_orders")
    page.get_by_test_id("run-now").click()
    page.get_by_test_id("run-start").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    run_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=180_000)
    # The run page leads to the lineage of what it read and wrote, and to its quality page.
    source = page.locator(f"[data-testid='run-lineage-dataset'][data-uri='{ORDERS}']")
    expect(source).to_be_visible()
    expect(page.locator("[data-testid='run-lineage-dataset'][data-uri='file:curated/big_orders']")).to_be_visible()
    page.get_by_test_id("run-quality-link").click()
    expect(page).to_have_url(re.compile(f"/runs/{run_id}/quality$"))
    expect(page.get_by_test_id("run-quality-page")).to_contain_text(f"Quality and lineage of run {run_id}")
    page.go_back()
    source.click()
    expect(page.get_by_test_id("lineage-canvas").locator(".lineage-root")).to_contain_text("landing/orders/orders.csv")
    # An operator is not an admin.
    page.get_by_test_id("nav-admin").click()
    page.get_by_test_id("admin-workspace-demo").get_by_role("link", name="Members").click()
    expect(page.get_by_test_id("member-add")).to_have_count(0)
    expect(page.get_by_test_id("tab-audit")).to_have_count(0)


def test_a_viewer_without_the_pii_permission_sees_a_pii_column_masked(
    page: Page, studio: Studio, team: dict[str, str],
) -> None:
    log_in(page, studio)
    page.get_by_test_id("nav-catalog").click()
    page.locator(f"[data-testid='catalog-row'][data-uri='{ORDERS}'] a").click()
    expect(page.get_by_test_id("dataset-name")).to_have_text("landing/orders/orders.csv")
    dataset_url = page.url
    page.get_by_test_id("classify-customer_id").select_option("pii")
    page.get_by_test_id("columns-save").click()
    expect(page.get_by_role("status")).to_have_text("Columns saved.")
    expect(page.get_by_test_id("rows-table").locator("tbody tr").first).to_be_visible()
    expect(page.get_by_test_id("masked-notice")).to_have_count(0)
    assert set(column(page, "customer_id")) != {"***"}

    page.get_by_test_id("logout").click()
    sign_in(page, studio, team["viewer"], PASSWORD)
    page.goto(dataset_url)
    expect(page.get_by_test_id("masked-notice")).to_contain_text("customer_id")
    expect(page.get_by_test_id("rows-table").locator("tbody tr").first).to_be_visible()
    assert set(column(page, "customer_id")) == {"***"}
    order_ids = column(page, "order_id")
    assert order_ids and all(value.isdigit() for value in order_ids)
    # A viewer curates nothing: no classification to change.
    expect(page.get_by_test_id("classify-customer_id")).to_have_count(0)


def column(page: Page, name: str) -> list[str]:
    """The values the rows table shows in one column."""
    return page.evaluate(
        """(name) => {
            const table = document.querySelector("[data-testid='rows-table']");
            const index = [...table.querySelectorAll("thead th")].findIndex((th) => th.textContent === name);
            return [...table.querySelectorAll("tbody tr")].map((tr) => tr.children[index].textContent);
        }""",
        name,
    )


def test_the_superuser_reads_the_instance_wide_audit_log(page: Page, studio: Studio, team: dict[str, str]) -> None:
    log_in(page, studio)
    page.get_by_test_id("nav-admin").click()
    page.get_by_test_id("instance-audit").click()
    expect(page.get_by_test_id("instance-audit-page")).to_be_visible()
    # Accounts belong to no workspace: only this log shows their creation.
    page.get_by_test_id("audit-object_type").fill("user")
    page.get_by_test_id("audit-action").select_option("create")
    page.get_by_test_id("audit-apply").click()
    created = page.get_by_test_id("audit-event").filter(has_text=f'username: "{team["viewer"]}"')
    expect(created).to_have_count(1)
    expect(created.get_by_test_id("audit-event-workspace")).to_have_text("instance")
    # The memberships, in the demo workspace, filtered by workspace.
    page.get_by_test_id("audit-object_type").fill("")
    page.get_by_test_id("audit-action").select_option("permission")
    page.get_by_test_id("audit-workspace").fill("demo")
    page.get_by_test_id("audit-apply").click()
    for role in ROLES:
        added = page.get_by_test_id("audit-event").filter(has_text=f'user: "{team[role]}"')
        expect(added).to_have_count(1)
        expect(added).to_contain_text(f'role: "{role}"')
        expect(added.get_by_test_id("audit-event-workspace")).to_have_text("demo")


def test_alert_webhooks_are_bound_to_a_connection_paused_and_deleted(page: Page, studio: Studio) -> None:
    connection = f"hook_{uuid.uuid4().hex[:6]}"
    log_in(page, studio)
    page.get_by_test_id("nav-admin").click()
    page.get_by_test_id("admin-workspace-demo").get_by_role("link", name="Connections").click()
    page.get_by_test_id("connection-kind").select_option("webhook")
    page.get_by_test_id("connection-new").click()
    page.get_by_test_id("connection-name").fill(connection)
    page.get_by_test_id("setting-url").fill("http://127.0.0.1:9/alerts")
    page.get_by_test_id("connection-save").click()
    expect(page.get_by_test_id(f"connection-{connection}")).to_be_visible()

    page.get_by_test_id("tab-webhooks").click()
    page.get_by_test_id("webhook-pipeline").select_option(label="big_orders")
    page.get_by_test_id("webhook-connection").select_option(connection)
    page.get_by_test_id("webhook-add").click()
    expect(page.get_by_role("status")).to_have_text(f"Alerts of big_orders now go to {connection}.")
    hook = page.locator(f"[data-testid='webhook'][data-connection='{connection}']")
    expect(hook).to_contain_text("http://127.0.0.1:9/alerts")
    expect(hook.get_by_test_id("webhook-enabled")).to_be_checked()
    # Paused, and still paused after a reload (the server has it).
    hook.get_by_test_id("webhook-enabled").click()
    expect(page.get_by_role("status")).to_have_text(f"Alerts to {connection} are paused.")
    page.reload()
    expect(hook.get_by_test_id("webhook-enabled")).not_to_be_checked()
    page.once("dialog", lambda dialog: dialog.accept())
    hook.get_by_test_id("webhook-delete").click()
    expect(hook).to_have_count(0)
    page.reload()
    expect(page.get_by_test_id("tab-webhooks")).to_be_visible()
    expect(hook).to_have_count(0)
