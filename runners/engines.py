"""What each engine needs to run a generated job: its interpreter and environment."""
from __future__ import annotations

from django.conf import settings

from runners.jobs import JobSpec

__all__ = ["RUN_KEY_VARIABLE", "job_spec"]

# Every process of a job carries its run key in this variable: the reaper checks it before it kills
# the leftovers of a job whose worker died, so a recycled process id is never mistaken for the job.
RUN_KEY_VARIABLE = "STUDIO_RUN_KEY"


def job_spec(*, engine: str, code: str, run_key: str) -> JobSpec:
    """The job spec for one run; `run_key` names its working folder under the runs folder."""
    if engine == "spark":
        python = settings.STUDIO_PYTHON
        # Spark's Python workers must use the same interpreter, or they import nothing from the venv.
        env = {
            "PYSPARK_PYTHON": python,
            "PYSPARK_DRIVER_PYTHON": python,
            "SPARK_MASTER": settings.SPARK_MASTER,
            # The console progress bar redraws one line with carriage returns: noise in a run log.
            "PYSPARK_SUBMIT_ARGS": "--conf spark.ui.showConsoleProgress=false pyspark-shell",
        }
        if settings.SPARK_MASTER.startswith("local"):
            env["SPARK_LOCAL_IP"] = "127.0.0.1"
    elif engine == "flink":
        python = settings.STUDIO_FLINK_PYTHON
        env = {"PYFLINK_CLIENT_EXECUTABLE": python, "FLINK_JOBMANAGER": settings.FLINK_JOBMANAGER}
    else:
        raise ValueError(f"Unknown engine '{engine}'.")
    return JobSpec(
        code=code,
        workdir=settings.STUDIO_RUNS_DIR / run_key,
        data_dir=settings.STUDIO_DATA_DIR,
        python=python,
        env={**env, RUN_KEY_VARIABLE: run_key},
    )
