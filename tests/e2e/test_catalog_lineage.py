"""The catalog and lineage in the browser, on the demo workspace: search, a dataset's page (curation,
column classification, refresh, rows), and the lineage graph with an impact analysis."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Studio
from tests.e2e.test_editor import log_in

pytestmark = pytest.mark.e2e

ORDERS = "file:landing/orders/orders.csv"


def test_search_curate_and_browse_a_dataset(page: Page, studio: Studio) -> None:
    log_in(page, studio)
    page.get_by_test_id("nav-catalog").click()
    rows = page.get_by_test_id("catalog-row")
    # Other browser tests of the session may have saved pipelines too: look for the demo's datasets.
    for uri in (ORDERS, "file:curated/big_orders", "file:curated/orders_report"):
        expect(page.locator(f"[data-testid='catalog-row'][data-uri='{uri}']")).to_be_visible()
    # Search by column: only the report has amount_gross.
    page.get_by_test_id("catalog-column").fill("amount_gross")
    page.get_by_test_id("catalog-search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-uri", "file:curated/orders_report")
    page.get_by_test_id("catalog-column").fill("")
    page.get_by_test_id("catalog-search").click()
    expect(page.locator(f"[data-testid='catalog-row'][data-uri='{ORDERS}']")).to_be_visible()

    page.locator(f"[data-testid='catalog-row'][data-uri='{ORDERS}'] a").click()
    expect(page.get_by_test_id("dataset-name")).to_have_text("landing/orders/orders.csv")
    expect(page.get_by_test_id("dataset-consumers")).to_contain_text("big_orders")
    expect(page.get_by_test_id("dataset-consumers")).to_contain_text("orders_enriched")
    # Curation: description and tags, kept after a reload.
    page.get_by_test_id("dataset-description").fill("Raw orders from the shop")
    page.get_by_test_id("dataset-tags").fill("raw, shop")
    page.get_by_test_id("dataset-save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    page.reload()
    expect(page.get_by_test_id("dataset-description")).to_have_value("Raw orders from the shop")
    expect(page.get_by_test_id("dataset-tags")).to_have_value("raw, shop")
    # Classify a column (the admin is a superuser: PII permission).
    page.get_by_test_id("classify-customer_id").select_option("pii")
    page.get_by_test_id("columns-save").click()
    expect(page.get_by_role("status")).to_have_text("Columns saved.")
    expect(page.get_by_test_id("classify-customer_id")).to_have_value("pii")
    # Look at the data: the demo file's rows are counted and a first page shown.
    page.get_by_test_id("dataset-refresh").click()
    expect(page.get_by_test_id("dataset-rows")).to_have_text("5,000")
    expect(page.get_by_test_id("rows-table").locator("tbody tr")).to_have_count(25)
    expect(page.get_by_test_id("masked-notice")).to_have_count(0)
    # The tag search finds it now.
    page.goto(studio.url.rstrip("/") + "/catalog?tag=shop")
    expect(page.get_by_test_id("catalog-row")).to_have_count(1)


def test_lineage_graph_and_impact_analysis(page: Page, studio: Studio) -> None:
    log_in(page, studio)
    page.get_by_test_id("nav-catalog").click()
    page.locator(f"[data-testid='catalog-row'][data-uri='{ORDERS}'] a").click()
    page.get_by_test_id("dataset-lineage").click()
    canvas = page.get_by_test_id("lineage-canvas")
    expect(canvas.locator(".lineage-root")).to_contain_text("landing/orders/orders.csv")
    for name in ("curated/big_orders", "curated/orders_report"):
        expect(canvas.locator(".react-flow__node", has_text=name)).to_have_count(1)
    for pipeline in ("big_orders", "orders_enriched"):
        expect(canvas.locator(".react-flow__edge-text", has_text=re.compile(f"^{pipeline}$"))).to_have_count(1)
    # Upstream only: the raw file has nothing upstream.
    page.get_by_test_id("lineage-direction").select_option("upstream")
    expect(canvas.locator(".react-flow__node")).to_have_count(1)
    expect(canvas).to_contain_text("No pipeline reads or writes this dataset yet.")
    page.get_by_test_id("lineage-direction").select_option("both")
    # Follow one column: amount feeds orders_report.amount_gross and filters big_orders.
    page.get_by_test_id("lineage-column").select_option("amount")
    expect(canvas.locator(".react-flow__node", has_text="curated/orders_report")).to_contain_text("amount_gross")
    page.get_by_test_id("impact-button").click()
    panel = page.get_by_test_id("impact-panel")
    expect(panel.get_by_test_id("impact-pipelines")).to_contain_text("big_orders")
    expect(panel.get_by_test_id("impact-pipelines")).to_contain_text("orders_enriched")
    expect(panel.get_by_test_id("impact-datasets")).to_contain_text("file:curated/big_orders")
    expect(panel.get_by_test_id("impact-datasets")).to_contain_text("file:curated/orders_report")
