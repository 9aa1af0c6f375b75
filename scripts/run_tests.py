"""Run every test tier, independent tiers in parallel, and print one closing count.

Tiers:
- embedded:   the whole pytest suite but the browser tests, the connectors and the Flink half of the
              corpus, on the embedded defaults (SQLite file, filesystem Celery broker, SQLite channel
              layer, dev Kafka broker, Spark local).
- connectors: the Kafka and Iceberg connectors, with their kill tests (embedded defaults).
- production: the studio's API, Celery and websocket tests again on PostgreSQL and Redis.
- frontend:   the editor's unit tests (vitest).
- e2e:        the editor driven in headless Chromium against a running studio.
- corpus-flink: the compiler's correctness corpus on Flink (one Flink JVM runs every case).
Two lanes share the machine's two cores; each lane runs its tiers one after the other.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / ".test-results"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
# Settings a developer's shell may have exported that would point a tier at the wrong services.
STACK_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "CHANNEL_LAYER_URL", "KAFKA_BOOTSTRAP_SERVERS",
                   "STUDIO_VAR_DIR", "STUDIO_DATA_DIR", "SPARK_MASTER", "FLINK_JOBMANAGER")
POSTGRES_URL = os.environ.get("STUDIO_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/studio")
REDIS_URL = os.environ.get("STUDIO_TEST_REDIS_URL", "redis://127.0.0.1:6379")


@dataclass
class Tier:
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    returncode: int | None = None
    seconds: float = 0.0

    @property
    def log(self) -> Path:
        return RESULTS / f"{self.name}.log"

    @property
    def junit(self) -> Path:
        return RESULTS / f"{self.name}.xml"


def pytest_tier(name: str, args: list[str], env: dict[str, str], extra: list[str]) -> Tier:
    tier = Tier(name, [], env)
    tier.command = [PYTHON, "-m", "pytest", *args, f"--junitxml={tier.junit}", "-o", "junit_family=xunit2",
                    "-p", "no:cacheprovider", *extra]
    return tier


def tiers(extra: list[str]) -> list[list[Tier]]:
    embedded = pytest_tier("embedded",
                           ["tests", "--ignore=tests/connectors", "-m", "not e2e and not (corpus and flink)"],
                           {"STUDIO_VAR_DIR": str(RESULTS / "embedded-var")}, extra)
    # The connectors (with their two kill tests, a third of the embedded time) run in the other lane.
    connectors = pytest_tier("connectors", ["tests/connectors", "-m", "not e2e"],
                             {"STUDIO_VAR_DIR": str(RESULTS / "connectors-var")}, extra)
    # The Flink half of the corpus runs every case in one Flink JVM, one case after another: its own
    # tier, in the other lane, so it overlaps the embedded tier.
    corpus_flink = pytest_tier("corpus-flink", ["tests/corpus", "-m", "corpus and flink"],
                               {"STUDIO_VAR_DIR": str(RESULTS / "corpus-flink-var")}, extra)
    # On PostgreSQL and Redis: every studio test but the engine runs, which test the engines, not the
    # stack; the runs through the Celery worker that do depend on it (marked `stack`) are kept.
    production = pytest_tier("production", ["tests/studio", "-m", "not e2e and ((not spark and not flink) or stack)"], {
        "STUDIO_VAR_DIR": str(RESULTS / "production-var"),
        "DATABASE_URL": POSTGRES_URL,
        "CELERY_BROKER_URL": f"{REDIS_URL}/1",
        "CHANNEL_LAYER_URL": f"{REDIS_URL}/2",
    }, extra)
    e2e = pytest_tier("e2e", ["tests/e2e", "-m", "e2e"], {"STUDIO_VAR_DIR": str(RESULTS / "e2e-var")}, extra)
    frontend = Tier("frontend", ["npm", "test", "--", "--reporter=default", "--reporter=junit",
                                 f"--outputFile.junit={RESULTS / 'frontend.xml'}"], cwd=ROOT / "frontend")
    return [[embedded, e2e], [frontend, production, corpus_flink, connectors]]


def run_lane(lane: list[Tier]) -> None:
    for tier in lane:
        env = {k: v for k, v in os.environ.items() if k not in STACK_VARIABLES} | tier.env
        started = time.monotonic()
        with tier.log.open("w") as log:
            tier.returncode = subprocess.run(tier.command, cwd=tier.cwd, env=env, stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
        tier.seconds = time.monotonic() - started
        print(f"--- {tier.name}: {'passed' if tier.returncode == 0 else 'FAILED'} in {tier.seconds:.0f} s "
              f"({summary_line(tier)})", flush=True)


def counts(tier: Tier) -> tuple[int, int, int]:
    """(passed, failed, skipped) from the tier's JUnit report; a missing report counts as a failure."""
    if not tier.junit.exists():
        return 0, 1, 0
    root = ET.parse(tier.junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def summary_line(tier: Tier) -> str:
    passed, failed, skipped = counts(tier)
    return f"{passed} passed, {failed} failed, {skipped} skipped"


def main() -> int:
    shutil.rmtree(RESULTS, ignore_errors=True)
    RESULTS.mkdir()
    lanes = tiers(sys.argv[1:])
    print("Running test tiers: " + ", ".join(" -> ".join(t.name for t in lane) for lane in lanes), flush=True)
    threads = [threading.Thread(target=run_lane, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    all_tiers = [tier for lane in lanes for tier in lane]
    failed_tiers = [tier for tier in all_tiers if tier.returncode != 0]
    for tier in failed_tiers:
        print(f"\n===== {tier.name} output (tail) =====", flush=True)
        print("\n".join(tier.log.read_text(errors="replace").splitlines()[-150:]), flush=True)
    passed = sum(counts(t)[0] for t in all_tiers)
    failed = sum(counts(t)[1] for t in all_tiers)
    skipped = sum(counts(t)[2] for t in all_tiers)
    if failed_tiers and failed == 0:
        failed = len(failed_tiers)  # a tier that crashed before reporting still fails the run
    print(f"\ntotal: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return 1 if failed_tiers else 0


if __name__ == "__main__":
    sys.exit(main())
