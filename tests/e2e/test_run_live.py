"""The run page follows a run live: a demo pipeline started from its runs page, its nodes seen
running and then succeeded, the rows on its edges and its worker's heartbeat, all pushed over the
websocket into the same page (never reloaded)."""
from __future__ import annotations

import csv
import re
import time
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Studio
from tests.e2e.test_editor import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.slow]

NODES = ("orders", "big", "curated_big_orders")
MIN_AMOUNT = Decimal(300)


def orders(studio: Studio) -> list[dict[str, str]]:
    with (studio.data_dir / "landing/orders/orders.csv").open() as handle:
        return list(csv.DictReader(handle))


def graph_state(page: Page) -> dict[str, str]:
    """Node statuses and edge rows read from the page at one instant (one render)."""
    return page.evaluate("""() => {
        const state = {};
        for (const el of document.querySelectorAll("[data-testid^='run-node-']")) {
            state[el.dataset.testid] = el.dataset.status;
        }
        for (const el of document.querySelectorAll("[data-testid^='edge-rows-']")) {
            state[el.dataset.testid] = el.dataset.rows;
        }
        return state;
    }""")


def wait_for_graph(page: Page, accept, timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = graph_state(page)
        if accept(state):
            return state
        page.wait_for_timeout(100)
    raise AssertionError(f"the run graph never reached the expected state; last seen: {graph_state(page)}")


def test_the_run_page_shows_node_statuses_and_edge_rows_live(page: Page, studio: Studio) -> None:
    rows = orders(studio)
    big = [r for r in rows if r["amount"] and Decimal(r["amount"]) >= MIN_AMOUNT and r["status"] != "returned"]

    log_in(page, studio)
    page.locator("[data-testid='pipeline-row'][data-pipeline-name='big_orders']").get_by_test_id("pipeline-runs").click()
    expect(page.get_by_test_id("pipeline-runs-page")).to_be_visible()
    page.get_by_test_id("run-now").click()
    page.get_by_test_id("run-param-min_amount").fill(str(MIN_AMOUNT))
    page.get_by_test_id("run-start").click()

    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    run_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_test_id("run-page")).to_be_visible()
    # Marks this document: a reload or a navigation would lose it.
    page.evaluate("window.__sameDocument = true")
    expect(page.get_by_test_id("run-connection")).to_have_text("Live")

    # While the job runs, its nodes show running and the edges have no rows yet (Spark reports the
    # rows once the job has written them).
    # React Flow draws an edge only once both its nodes are measured, so wait for the edges too.
    running = wait_for_graph(page, lambda s: s.get("run-node-orders") == "running" and "edge-rows-orders-big" in s,
                             timeout=120)
    assert running["edge-rows-orders-big"] == ""
    assert {running[f"run-node-{node}"] for node in NODES} == {"running"}
    # The worker heartbeats the run as soon as it supervises the job, then every few seconds: its
    # last sign of life shows while the run is running, and goes once the run has ended.
    heartbeat = page.get_by_test_id("run-heartbeat")
    expect(heartbeat).to_have_text(re.compile(r"^Worker alive · (just now|\d+ s ago)$"))
    expect(heartbeat).to_have_attribute("data-stale", "false")

    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=180_000)
    expect(heartbeat).to_have_count(0)
    finished = wait_for_graph(page, lambda s: s.get("edge-rows-big-curated_big_orders") not in (None, ""), timeout=30)
    assert {finished[f"run-node-{node}"] for node in NODES} == {"succeeded"}
    assert finished["edge-rows-orders-big"] == str(len(rows))
    assert finished["edge-rows-big-curated_big_orders"] == str(len(big))
    expect(page.get_by_test_id("edge-rows-big-curated_big_orders")).to_contain_text(f"{len(big):,} rows")

    progress = page.get_by_test_id("run-progress")
    expect(progress).to_have_attribute("data-done", "3")
    expect(progress).to_have_attribute("data-total", "3")
    for status in ("queued", "starting", "running", "succeeded"):
        expect(page.locator(f"[data-testid='run-event'][data-to='{status}']")).to_have_count(1)
    expect(page.get_by_test_id("run-log")).to_contain_text("The job finished successfully.")
    expect(page.get_by_test_id("run-duration")).not_to_have_text("running")
    assert page.evaluate("window.__sameDocument === true"), "the run page was reloaded"

    # The pipeline's history lists the run with its duration.
    page.get_by_role("link", name="big_orders runs").click()
    expect(page.locator(f"[data-testid='duration-chart'] rect[data-key='{run_id}']")).to_have_count(1)
    expect(page.get_by_test_id("run-row").first).to_contain_text(f"#{run_id}")
