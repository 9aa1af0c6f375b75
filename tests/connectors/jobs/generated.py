"""Run a generated Spark job with a shorter processing-time trigger than its 10 s default.

    python tests/connectors/jobs/generated.py JOB_FILE INTERVAL

The kill tests run the job exactly as the compiler wrote it; only the constant PROCESSING_TIME is
changed, so micro-batches follow each other quickly and a SIGKILL can land between any two.
"""
from __future__ import annotations

import runpy
import sys


def main() -> None:
    job_file, interval = sys.argv[1:3]
    job = runpy.run_path(job_file, run_name="studio_job")
    job["main"].__globals__["PROCESSING_TIME"] = interval
    job["main"]()


if __name__ == "__main__":
    main()
