"""`manage.py run_pipeline FILE --engine spark [--param k=v]`: run a pipeline headless.

It goes through the same runner code as a run started in the browser, prints the job's output (its
node metrics as `metric ...` lines), and exits non-zero with the job's error when it fails.
"""
from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from runners.engines import job_spec
from runners.jobs import run_job
from runners.output import Alert, JobProgress, LogLine, NodeMetric, Output, QualityResult, SourceLag
from studio.pipelines.management.cli import add_document_arguments, compile_or_fail


class Command(BaseCommand):
    help = "Compile a pipeline document and run it on an engine, printing its log."

    def add_arguments(self, parser: Any) -> None:
        add_document_arguments(parser)
        parser.add_argument("--timeout", type=float, default=None, help="Stop the job after this many seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        job = compile_or_fail(options)
        spec = job_spec(engine=job.engine, code=job.code, run_key=f"cli-{time.strftime('%Y%m%dT%H%M%S')}")

        def show(output: list[Output]) -> None:
            for item in output:
                if isinstance(item, LogLine):
                    self.stdout.write(item.text)
                elif isinstance(item, NodeMetric):
                    batch = f" batch {item.batch}" if item.batch is not None else ""
                    took = f" in {item.duration_ms} ms" if item.duration_ms is not None else ""
                    self.stdout.write(f"metric {item.node}.{item.port}{batch}: {item.rows} rows{took}")
                elif isinstance(item, QualityResult):
                    self.stdout.write(f"quality {item.node}.{item.rule}: {item.passed} passed, {item.failed} failed")
                elif isinstance(item, SourceLag):
                    self.stdout.write(f"lag {item.node}: {item.lag} records behind")
                elif isinstance(item, JobProgress):
                    self.stdout.write(f"progress: {item.tasks_done} of {item.tasks_total} tasks done")
                elif isinstance(item, Alert):
                    self.stdout.write(f"ALERT [{item.severity}] {item.node}: {item.message}")

        result = run_job(spec, on_output=show, timeout=options["timeout"])
        if not result.succeeded:
            raise CommandError(f"The run failed: {result.error}")
        self.stdout.write(self.style.SUCCESS("The run succeeded."))
