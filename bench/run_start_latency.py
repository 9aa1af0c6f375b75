"""Added latency of starting a run through the studio, against spark-submit of the same job directly.

Runner path: the API call that starts a run (in this process, through the real view, service and
broker) -> a real Celery worker process (as `studio_up` starts it) claims it, compiles the version,
writes the job and starts it -> Spark runs its first task. Direct path: `spark-submit job.py` of the
code the studio generated for that run, with the same environment. For both, "first task" is the
launch time of the first task in Spark's event log, so both clocks stop at the same event.

Runs alternate (studio, direct, studio, ...) after one warm-up of each, so both see the same machine
load. Prints each pair, the medians, and the added latency (median of the pairwise differences);
target: under 1 s. Also prints where the studio's time goes (API -> claimed -> job started): on a
busy machine the engine's own start varies by seconds from one run to the next, so the studio's
share before the engine starts is the steadier figure.

    .venv/bin/python bench/run_start_latency.py [--runs 5] [--broker redis://127.0.0.1:6379/5]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOCUMENT = {
    "format": "studio.pipeline/v1", "name": "latency_probe", "mode": "batch",
    "nodes": [
        {"id": "orders", "type": "source.file",
         "config": {"path": "in/orders.csv", "format": "csv", "options": {"header": True},
                    "schema": [{"name": "order_id", "type": "bigint"}, {"name": "amount", "type": "decimal(12,2)"}]}},
        {"id": "big", "type": "transform.filter", "config": {"condition": "amount > 100"}},
        {"id": "out", "type": "sink.file", "config": {"path": "out/big", "format": "parquet", "mode": "overwrite"}},
    ],
    "edges": [{"from": {"node": "orders", "port": "out"}, "to": {"node": "big", "port": "in"}},
              {"from": {"node": "big", "port": "out"}, "to": {"node": "out", "port": "in"}}],
}


def first_task_launch(events: Path, known: set[Path], timeout: float = 300) -> float:
    """The launch time (epoch seconds) of the first task in the one new event log in `events`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [f for f in events.iterdir() if f not in known and not f.name.endswith(".inprogress")]
        if new:
            known.update(new)
            launches = []
            for line in new[0].read_text().splitlines():
                event = json.loads(line)
                if event.get("Event") == "SparkListenerTaskStart":
                    launches.append(event["Task Info"]["Launch Time"])
            if not launches:
                raise RuntimeError(f"{new[0]} has no task")
            return min(launches) / 1000
        time.sleep(0.1)
    raise RuntimeError("No Spark event log appeared; did the job run?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="measured pairs (after one warm-up pair)")
    parser.add_argument("--broker", default="", help="Celery broker URL (default: the embedded filesystem broker)")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="studio-latency-"))
    data, events, conf = var / "data", var / "spark-events", var / "spark-conf"
    for folder in (data / "in", events, conf):
        folder.mkdir(parents=True)
    (data / "in" / "orders.csv").write_text("order_id,amount\n1,50.00\n2,150.50\n3,\n4,100.01\n")
    # Both paths log Spark's events where this script reads the first task's launch time.
    (conf / "spark-defaults.conf").write_text("\n".join([
        "spark.eventLog.enabled true", "spark.eventLog.rolling.enabled false", "spark.eventLog.compress false",
        f"spark.eventLog.dir {events.as_uri()}", ""]))
    os.environ.update({"STUDIO_VAR_DIR": str(var), "STUDIO_DATA_DIR": str(data), "SPARK_CONF_DIR": str(conf),
                       "DJANGO_SETTINGS_MODULE": "studio.settings"})
    for name in ("DATABASE_URL", "SPARK_MASTER"):
        os.environ.pop(name, None)
    if args.broker:
        os.environ["CELERY_BROKER_URL"] = args.broker

    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from runners.engines import job_spec
    from studio.access.models import Role
    from studio.access.services import membership_set, workspace_create
    from studio.runs.models import Run, RunEvent

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="bench", password="bench-password")
    membership_set(workspace=workspace_create(slug="bench", name="Bench"), user=user, role=Role.OPERATOR)
    client = APIClient()
    client.force_authenticate(user)
    pipeline = client.post("/api/pipelines/", {"workspace": "bench", "name": "latency_probe", "document": DOCUMENT},
                           format="json").json()["id"]

    log = (var / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "runners.celery", "worker", "-Q", "celery", "--pool", "threads",
         "--concurrency", "4", "--loglevel", "WARNING"],
        cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    known: set[Path] = set()

    def through_studio() -> tuple[float, dict[str, float], str]:
        started = time.time()
        run_id = client.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
        launched = first_task_launch(events, known)
        deadline = time.monotonic() + 300
        while (run := Run.objects.get(pk=run_id)).status not in ("succeeded", "failed", "cancelled", "lost"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"run {run_id} is still {run.status}")
            time.sleep(0.1)
        if run.status != "succeeded":
            raise RuntimeError(f"run {run_id} {run.status}: {run.error}")
        running = RunEvent.objects.get(run_id=run_id, to_status="running").at.timestamp()
        steps = {"API -> claimed by the worker": run.started_at.timestamp() - started,
                 "claimed -> job process started": running - run.started_at.timestamp(),
                 "job process started -> first task": launched - running}
        return launched - started, steps, run.code

    def direct(code: str) -> float:
        job = var / "direct" / "job.py"
        job.parent.mkdir(exist_ok=True)
        job.write_text(code)
        env = {**os.environ, **job_spec(engine="spark", code=code, run_key="direct").env}
        env.pop("PYSPARK_SUBMIT_ARGS")  # read only when Python starts the JVM; spark-submit takes --conf
        started = time.time()
        subprocess.run([str(ROOT / ".venv" / "bin" / "spark-submit"), "--conf", "spark.ui.showConsoleProgress=false",
                        str(job)], cwd=data, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return first_task_launch(events, known) - started

    try:
        print(f"Warming up (worker started, broker {os.environ.get('CELERY_BROKER_URL', 'filesystem://')}) ...",
              flush=True)
        _, _, code = through_studio()
        direct(code)
        pairs: list[tuple[float, float]] = []
        breakdown: dict[str, list[float]] = {}
        print(f"{'pair':>4}  {'studio: API -> first task':>26}  {'spark-submit -> first task':>27}  {'added':>7}")
        for index in range(1, args.runs + 1):
            studio, steps, code = through_studio()
            baseline = direct(code)
            pairs.append((studio, baseline))
            for step, seconds in steps.items():
                breakdown.setdefault(step, []).append(seconds)
            print(f"{index:>4}  {studio:>24.3f} s  {baseline:>25.3f} s  {studio - baseline:>+6.3f} s", flush=True)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, 9)
    studio_median = statistics.median(p[0] for p in pairs)
    direct_median = statistics.median(p[1] for p in pairs)
    added = statistics.median(p[0] - p[1] for p in pairs)
    print(f"\nmedian: studio {studio_median:.3f} s, spark-submit {direct_median:.3f} s, "
          f"ratio {studio_median / direct_median:.2f}")
    print(f"added latency (median of the pairwise differences): {added:+.3f} s "
          f"(target < 1 s: {'met' if added < 1 else 'NOT met'})")
    print("where the studio's time goes (medians):")
    for step, values in breakdown.items():
        print(f"  {step:<36} {statistics.median(values):.3f} s")
    own = [a + b for a, b in zip(*list(breakdown.values())[:2])]
    print(f"the studio's own share, before the engine starts (API -> job process started): "
          f"median {statistics.median(own):.3f} s, max {max(own):.3f} s")
    shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
