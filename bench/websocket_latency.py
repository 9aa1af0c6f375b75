"""Websocket latency: from a node's status changing on the server to a browser receiving it.

For each channel layer (the embedded SQLite layer, and channels-redis on a real Redis), starts the
real ASGI server (uvicorn, as `studio_up` does) on a fresh SQLite database, opens the run's websocket
in headless Chromium as a logged-in user, and then, from this process (standing in for the Celery
worker, which is another process in production too), records a node metric N times with the same
service the runner uses (`run_record_metrics`: a database write, then `run.metrics` published on
commit). Each sample is the time from just before that call to the moment the page's `onmessage`
sees the new row count (`performance.timeOrigin + performance.now()` in the browser against
`time.time()` here: one machine, one clock). The service's own share (write + publish) is printed
next to it. Target: p95 under 250 ms for both layers.

    .venv/bin/python bench/websocket_latency.py [--samples 200] [--layers embedded,redis]
        [--redis-url redis://127.0.0.1:6379/9]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TARGET_P95_MS = 250.0
WARMUP = 10
USER, PASSWORD = "bench", "bench-password"

# Runs in the page: every run.metrics message stamps the row count of node "orders" it carries.
LISTEN = """([url]) => new Promise((resolve, reject) => {
    window.__seen = new Map();
    const socket = new WebSocket(url);
    socket.onmessage = (event) => {
        const at = performance.timeOrigin + performance.now();
        const message = JSON.parse(event.data);
        if (message.type !== "run.metrics") return;
        const orders = message.nodes.find((n) => n.node === "orders");
        if (orders && orders.rows_out !== null && !window.__seen.has(orders.rows_out)) window.__seen.set(orders.rows_out, at);
    };
    socket.onopen = () => resolve(true);
    socket.onclose = (event) => reject(new Error("websocket closed with code " + event.code));
})"""


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "p99": percentile(values, 99),
            "max": max(values), "mean": statistics.fmean(values)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the ASGI server exited:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url + "api/auth/csrf/", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the ASGI server did not answer within 60 s:\n{log.read_text()}")


def measure(layer: str, samples: int) -> dict[str, Any]:
    """One layer, in this process (its environment names the layer): set up, serve, measure."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    from runners.output import NodeMetric
    from studio.access.models import Role
    from studio.access.services import membership_set, user_create, workspace_create
    from studio.embedded.demo import DEMO_PIPELINES
    from studio.pipelines.services import pipeline_create
    from studio.runs import services

    call_command("migrate", interactive=False, verbosity=0)
    user = user_create(username=USER, password=PASSWORD)
    workspace = workspace_create(slug="bench", name="Bench")
    membership_set(workspace=workspace, user=user, role=Role.OPERATOR)
    pipeline = pipeline_create(workspace=workspace, name="big_orders", user=user, document=DEMO_PIPELINES[0])
    run = services.run_create(pipeline=pipeline, version=pipeline.versions.get(), engine="spark",
                              parameters={}, user=user)
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = Path(settings.VAR_DIR) / "uvicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "studio.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--ws", "websockets", "--log-level", "warning"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_ready(url, server, log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url + "api/auth/csrf/")
            token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
            answer = page.request.post(url + "api/auth/login/", data={"username": USER, "password": PASSWORD},
                                       headers={"X-CSRFToken": token, "Referer": url})
            if not answer.ok:
                raise SystemExit(f"could not log in: {answer.status} {answer.text()}")
            page.evaluate(LISTEN, [f"ws://127.0.0.1:{port}/ws/runs/{run.id}/"])

            def record(rows: int) -> tuple[float, float]:
                started = time.time()
                services.run_record_metrics(run_id=run.id, metrics=[NodeMetric(node="orders", port="out", rows=rows)])
                return started, time.time()

            end_to_end: list[float] = []
            in_service: list[float] = []
            # Django refuses database calls from the thread running Playwright's event loop.
            with ThreadPoolExecutor(max_workers=1) as django_thread:
                for rows in range(1, WARMUP + samples + 1):
                    time.sleep(random.uniform(0.0, 0.05))  # sample every phase of the layer's polling
                    started, published = django_thread.submit(record, rows).result()
                    page.wait_for_function("(rows) => window.__seen.has(rows)", arg=rows, timeout=10_000)
                    received = page.evaluate("(rows) => window.__seen.get(rows)", rows)
                    if rows > WARMUP:
                        end_to_end.append(received - started * 1000)
                        in_service.append((published - started) * 1000)
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return {"layer": layer, "backend": backend, "samples": samples,
            "end_to_end": summary(end_to_end), "in_service": summary(in_service)}


def run_layer(layer: str, samples: int, redis_url: str) -> dict[str, Any]:
    """Measure one layer in a child process: Django reads the layer from the environment once."""
    with tempfile.TemporaryDirectory(prefix=f"ws-latency-{layer}-") as var_dir:
        env = {key: value for key, value in os.environ.items()
               if key not in ("DATABASE_URL", "CHANNEL_LAYER_URL", "CELERY_BROKER_URL")}
        env.update({"STUDIO_VAR_DIR": var_dir, "DJANGO_SETTINGS_MODULE": "studio.settings", "PYTHONUNBUFFERED": "1"})
        if layer == "redis":
            env["CHANNEL_LAYER_URL"] = redis_url
        child = subprocess.run([sys.executable, __file__, "--child", layer, "--samples", str(samples)],
                               cwd=ROOT, env=env, capture_output=True, text=True)
        if child.returncode != 0:
            raise SystemExit(f"measuring the {layer} layer failed:\n{child.stdout}\n{child.stderr}")
        return json.loads(child.stdout.strip().splitlines()[-1])


def report(results: list[dict[str, Any]]) -> bool:
    print(f"\nWebsocket latency, node metric recorded -> browser onmessage ({results[0]['samples']} samples each, "
          f"after {WARMUP} warm-up)\n")
    header = f"{'layer':<10} {'backend':<20} {'':<12} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'mean':>8}"
    print(header)
    print("-" * len(header))
    passed = True
    for result in results:
        for kind, label in (("end_to_end", "end to end"), ("in_service", "in service")):
            s = result[kind]
            print(f"{result['layer']:<10} {result['backend']:<20} {label:<12} "
                  + " ".join(f"{s[k]:>6.1f}ms" for k in ("p50", "p95", "p99", "max", "mean")))
        ok = result["end_to_end"]["p95"] < TARGET_P95_MS
        passed &= ok
        print(f"{'':<10} {'':<20} p95 {'meets' if ok else 'MISSES'} the {TARGET_P95_MS:.0f} ms target\n")
    if len(results) == 2:
        a, b = results
        ratio = a["end_to_end"]["p50"] / b["end_to_end"]["p50"]
        print(f"p50 {a['layer']} / {b['layer']}: {ratio:.2f}x")
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--layers", default="embedded,redis", help="comma-separated: embedded, redis")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9",
                        help="channels-redis database for the redis layer (a database of its own)")
    parser.add_argument("--child", choices=["embedded", "redis"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.samples < 20:
        parser.error("--samples must be at least 20 for a p95")
    if args.child:
        print(json.dumps(measure(args.child, args.samples)))
        return 0
    layers = [layer.strip() for layer in args.layers.split(",") if layer.strip()]
    unknown = set(layers) - {"embedded", "redis"}
    if unknown:
        parser.error(f"unknown layer(s): {', '.join(sorted(unknown))}")
    results = [run_layer(layer, args.samples, args.redis_url) for layer in layers]
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
