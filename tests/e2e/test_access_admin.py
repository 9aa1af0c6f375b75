"""Setting up a team in the browser: a user, a member with a role, a connection whose secret never comes
back, the audit log of it all, and the editor as a viewer sees it (read-only)."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Studio, sign_in
from tests.e2e.test_editor import log_in

pytestmark = pytest.mark.e2e


def test_an_admin_sets_up_a_viewer_and_a_connection_and_the_viewer_cannot_edit(page: Page, studio: Studio) -> None:
    viewer = f"viv{uuid.uuid4().hex[:6]}"
    secret = f"sasl-{uuid.uuid4().hex}"
    log_in(page, studio)
    page.get_by_test_id("nav-admin").click()
    # An instance superuser creates an account...
    page.get_by_test_id("new-user-name").fill(viewer)
    page.get_by_test_id("new-user-password").fill("viewer-password")
    page.get_by_test_id("new-user-create").click()
    expect(page.get_by_role("status")).to_contain_text(f"Created user {viewer}")
    # ... and adds it to the demo workspace as a viewer.
    page.get_by_test_id("admin-workspace-demo").get_by_role("link", name="Members").click()
    page.get_by_test_id("member-username").fill(viewer)
    page.get_by_test_id("member-role").select_option("viewer")
    page.get_by_test_id("member-add").click()
    expect(page.get_by_test_id(f"member-{viewer}")).to_contain_text("viewer")
    page.get_by_test_id(f"member-pii-{viewer}").click()  # checked once the server has granted it
    expect(page.get_by_role("status")).to_have_text(f"{viewer} now sees PII values.")
    expect(page.get_by_test_id(f"member-pii-{viewer}")).to_be_checked()

    # A Kafka connection with SASL: the secret is typed once and never shown again.
    page.get_by_test_id("tab-connections").click()
    page.get_by_test_id("connection-kind").select_option("kafka")
    page.get_by_test_id("connection-new").click()
    name = f"events_{uuid.uuid4().hex[:6]}"
    page.get_by_test_id("connection-name").fill(name)
    page.get_by_test_id("setting-bootstrap_servers").fill("broker:9092")
    page.get_by_test_id("setting-security_protocol").select_option("SASL_SSL")
    page.get_by_test_id("connection-save").click()
    expect(page.get_by_test_id("connection-errors")).to_contain_text("needed with security_protocol SASL_SSL")
    page.get_by_test_id("setting-sasl_mechanism").select_option("PLAIN")
    page.get_by_test_id("setting-sasl_username").fill("studio")
    page.get_by_test_id("secret-sasl_password").fill(secret)
    page.get_by_test_id("connection-save").click()
    expect(page.get_by_test_id(f"secret-state-{name}-sasl_password")).to_have_text("sasl_password: set")
    page.get_by_test_id(f"connection-edit-{name}").click()
    expect(page.get_by_test_id("secret-sasl_password")).to_have_value("")
    expect(page.get_by_test_id("secret-sasl_password")).to_have_attribute("placeholder", "stored — type to replace")
    assert secret not in page.content()
    page.reload()
    assert secret not in page.content()

    # The audit log shows the permission change and the connection, filtered by action.
    page.get_by_test_id("tab-audit").click()
    expect(page.get_by_test_id("audit-event").first).to_be_visible()
    page.get_by_test_id("audit-action").select_option("permission")
    page.get_by_test_id("audit-apply").click()
    expect(page.get_by_test_id("audit-events")).to_contain_text(f'user: "{viewer}"')
    expect(page.get_by_test_id("audit-events")).not_to_contain_text("connection")
    assert secret not in page.content()

    # The viewer: the editor opens read-only.
    page.get_by_test_id("logout").click()
    sign_in(page, studio, viewer, "viewer-password")
    page.locator("[data-testid='pipeline-row'][data-pipeline-name='big_orders'] [data-testid='pipeline-open']").click()
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_test_id("save")).to_have_count(0)
    expect(page.locator("[data-testid^='palette-']")).to_have_count(0)
    expect(page.get_by_test_id("run")).to_be_disabled()
    expect(page.get_by_test_id("mode-select")).to_be_disabled()
    page.locator(".react-flow__node").first.click()
    fields = page.locator(".editor-side input, .editor-side select, .editor-side textarea")
    expect(fields.first).to_be_visible()
    for index in range(fields.count()):
        expect(fields.nth(index)).to_be_disabled()
    # Nor does the admin area let a viewer change members.
    page.get_by_test_id("nav-admin").click()
    page.get_by_test_id("admin-workspace-demo").get_by_role("link", name="Members").click()
    expect(page.get_by_test_id(f"member-{viewer}")).to_contain_text("viewer")
    expect(page.get_by_test_id("member-add")).to_have_count(0)
    expect(page.get_by_test_id("tab-audit")).to_have_count(0)
