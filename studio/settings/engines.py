"""Where the data lives and which engines run it: Kafka, Iceberg, Spark and Flink."""
from __future__ import annotations

import sys

from studio.settings.env import BASE_DIR, VAR_DIR, env_str

__all__ = [
    "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_DEV_BROKER_FILE", "ICEBERG_CATALOG_URI", "ICEBERG_WAREHOUSE",
    "SPARK_MASTER", "FLINK_JOBMANAGER", "STUDIO_PYTHON", "STUDIO_FLINK_PYTHON",
]

# Empty means "the embedded dev broker": its address is read from KAFKA_DEV_BROKER_FILE.
KAFKA_BOOTSTRAP_SERVERS = env_str("KAFKA_BOOTSTRAP_SERVERS", "")
KAFKA_DEV_BROKER_FILE = VAR_DIR / "kafka" / "bootstrap"
ICEBERG_CATALOG_URI = env_str("ICEBERG_CATALOG_URI", f"sqlite:///{VAR_DIR / 'iceberg' / 'catalog.sqlite3'}")
ICEBERG_WAREHOUSE = env_str("ICEBERG_WAREHOUSE", f"file://{VAR_DIR / 'warehouse'}")
SPARK_MASTER = env_str("SPARK_MASTER", "local[*]")
# Empty means a local mini-cluster per job; host:port selects a session cluster (`flink run -m`).
FLINK_JOBMANAGER = env_str("FLINK_JOBMANAGER", "")

# Interpreters that run jobs: Spark jobs (and their Python workers) use the main environment,
# Flink jobs their own (requirements-flink.txt).
STUDIO_PYTHON = env_str("STUDIO_PYTHON", sys.executable)
STUDIO_FLINK_PYTHON = env_str("STUDIO_FLINK_PYTHON", str(BASE_DIR / ".venv-flink" / "bin" / "python"))
