"""Database: SQLite file by default, PostgreSQL (or any dj-database-url URL) via DATABASE_URL."""
from __future__ import annotations

import dj_database_url

from studio.settings.env import VAR_DIR, env_str

__all__ = ["DATABASES"]

VAR_DIR.mkdir(parents=True, exist_ok=True)
_url = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'studio.sqlite3'}")
_default = dj_database_url.parse(_url, conn_max_age=60)
if _default["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and the jobs write concurrently: WAL lets readers go on while one
    # writer commits, IMMEDIATE transactions take the write lock up front instead of failing late.
    _default["CONN_MAX_AGE"] = 0
    _default["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    _default["TEST"] = {"NAME": str(VAR_DIR / "test-studio.sqlite3")}
DATABASES = {"default": _default}
