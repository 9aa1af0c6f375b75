"""A real studio for the browser tests: `manage.py studio_up` on a free port and a fresh state folder,
and headless Chromium (Debian's, driven by Playwright)."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import APIResponse, Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT = 120


@dataclass(frozen=True)
class Studio:
    url: str
    var_dir: Path

    @property
    def data_dir(self) -> Path:
        return self.var_dir / "data"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    var_dir = tmp_path_factory.mktemp("studio-var")
    port = _free_port()
    env = {**os.environ, "STUDIO_VAR_DIR": str(var_dir), "STUDIO_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    log_path = var_dir / "studio_up.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "manage.py", "studio_up"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    url = None
    while time.monotonic() < deadline and url is None:
        if process.poll() is not None:
            raise RuntimeError("studio_up exited early:\n" + log_path.read_text())
        match = re.search(r"running at (http://\S+)", log_path.read_text())
        url = match.group(1) if match else None
        time.sleep(0.3)
    if url is None:
        os.killpg(process.pid, signal.SIGKILL)
        raise RuntimeError("studio_up did not come up:\n" + log_path.read_text())
    try:
        yield Studio(url=url, var_dir=var_dir)
    finally:
        # Ctrl-C, as a person would: the supervisor stops its children.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, studio: Studio, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.screenshot(path=str(tmp_path / "last.png"))
    context.close()
    assert not errors, f"the page raised: {errors}"


def sign_in(page: Page, studio: Studio, username: str, password: str) -> None:
    """Open the studio signed out and sign in as `username`."""
    page.goto(studio.url)
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("logout")).to_be_visible()


def call_api(page: Page, studio: Studio, method: str, path: str, body: object = None) -> APIResponse:
    """The studio's REST API with the page's session, as the browser calls it (CSRF header included)."""
    token = next((c["value"] for c in page.context.cookies() if c["name"] == "csrftoken"), "")
    return page.request.fetch(
        studio.url.rstrip("/") + path, method=method, headers={"X-CSRFToken": token, "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body),
    )
