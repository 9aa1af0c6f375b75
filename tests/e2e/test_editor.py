"""A newcomer builds CSV -> filter -> Parquet by drag and drop, saves, runs it, and sees it succeed."""
from __future__ import annotations

import csv
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Studio

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.slow]


def log_in(page: Page, studio: Studio) -> None:
    page.goto(studio.url)
    page.get_by_test_id("login-username").fill("admin")
    page.get_by_test_id("login-password").fill("wrong")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("Invalid username or password")
    page.get_by_test_id("login-password").fill("admin")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("new-pipeline-name")).to_be_visible()


def drop(page: Page, node_type: str, x: int, y: int) -> Locator:
    """Drag a palette item onto the canvas and return the node that appeared."""
    nodes = page.locator(".react-flow__node")
    before = nodes.count()
    page.get_by_test_id(f"palette-{node_type}").drag_to(page.get_by_test_id("canvas"), target_position={"x": x, "y": y})
    expect(nodes).to_have_count(before + 1)
    node = nodes.nth(before)
    node.click()
    expect(page.get_by_test_id("node-panel")).to_be_visible()
    return node


def connect(page: Page, source: Locator, target: Locator) -> None:
    start = source.locator("[data-handleid='out']").bounding_box()
    end = target.locator("[data-handleid='in']").bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def expected_big_orders(studio: Studio, threshold: Decimal) -> list[int]:
    with (studio.data_dir / "landing/orders/orders.csv").open() as handle:
        return sorted(int(row["order_id"]) for row in csv.DictReader(handle)
                      if row["amount"] and Decimal(row["amount"]) > threshold)


def test_build_save_and_run_a_pipeline_in_the_browser(page: Page, studio: Studio) -> None:
    log_in(page, studio)
    page.get_by_test_id("new-pipeline-name").fill("e2e_big_orders")
    page.get_by_test_id("new-pipeline-create").click()
    row = page.locator("[data-testid='pipeline-row'][data-pipeline-name='e2e_big_orders']")
    if not page.get_by_test_id("canvas").is_visible():
        row.get_by_test_id("pipeline-open").click()
    expect(page.get_by_test_id("canvas")).to_be_visible()

    source = drop(page, "source.file", 150, 250)
    page.get_by_test_id("config-path").fill("landing/orders/orders.csv")
    page.get_by_test_id("config-format").select_option("csv")
    header = page.get_by_test_id("config-header")
    if not header.is_checked():
        header.check()
    page.get_by_test_id("infer-schema").click()
    expect(page.get_by_test_id("schema-row")).to_have_count(6)

    keep = drop(page, "transform.filter", 500, 250)
    page.get_by_test_id("config-condition").fill("amount > 250")

    sink = drop(page, "sink.file", 850, 250)
    page.get_by_test_id("config-path").fill("curated/e2e_big_orders")
    page.get_by_test_id("config-format").select_option("parquet")

    connect(page, source, keep)
    connect(page, keep, sink)
    expect(page.locator(".react-flow__edge")).to_have_count(2)

    # The editor validates as the user draws: with both edges in place there is nothing to fix,
    # and the filter shows the schema it passes on.
    keep.click()
    expect(page.get_by_test_id("node-schema")).to_contain_text("amount")
    expect(page.get_by_test_id("problems")).to_contain_text("No problems found.")

    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved version 1")

    page.get_by_test_id("compile").click()
    expect(page.get_by_test_id("compiled-code")).to_contain_text("def build(spark")
    page.keyboard.press("Escape")

    page.get_by_test_id("run").click()
    status = page.get_by_test_id("run-status")
    expect(status).to_have_text("running", timeout=60_000)
    expect(status).to_have_text("succeeded", timeout=180_000)
    expect(page.get_by_test_id("run-log")).to_contain_text("The job finished successfully.")

    rows = pq.read_table(studio.data_dir / "curated/e2e_big_orders").to_pylist()
    assert sorted(row["order_id"] for row in rows) == expected_big_orders(studio, Decimal(250))


def test_demo_pipelines_are_seeded_and_open(page: Page, studio: Studio) -> None:
    log_in(page, studio)
    for name in ("big_orders", "orders_enriched"):
        expect(page.locator(f"[data-testid='pipeline-row'][data-pipeline-name='{name}']")).to_be_visible()
    page.locator("[data-testid='pipeline-row'][data-pipeline-name='big_orders']").get_by_test_id("pipeline-open").click()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
