"""Retrying Iceberg catalog operations that lose a race: commit conflicts and a busy catalog database.

pyiceberg's SQL catalog commits by compare-and-swap on the metadata location and raises
`CommitFailedException` when another writer got there first; it does not retry by itself (0.12).
SQLite also answers "database is locked" while another process holds its write lock.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["is_transient", "retry_transient"]

T = TypeVar("T")
log = logging.getLogger("studio.connectors")

MAX_ATTEMPTS = 30
FIRST_DELAY = 0.05
MAX_DELAY = 2.0


def is_transient(error: BaseException) -> bool:
    """A commit conflict, or a catalog database that is busy or raced on creating its tables."""
    from pyiceberg.exceptions import CommitFailedException

    if isinstance(error, CommitFailedException):
        return True
    try:
        from sqlalchemy.exc import IntegrityError, OperationalError
    except ImportError:  # pragma: no cover - SQLAlchemy ships with pyiceberg[sql-sqlite]
        return False
    if isinstance(error, OperationalError):
        text = str(error).lower()
        return "locked" in text or "busy" in text or "already exists" in text
    # Two processes creating the catalog's own tables at once.
    return isinstance(error, IntegrityError) and "iceberg" in str(error).lower()


def retry_transient(action: Callable[[], T], *, what: str, attempts: int = MAX_ATTEMPTS) -> T:
    """Run `action` until it succeeds, retrying transient failures with jittered exponential backoff.

    `action` must redo everything that depends on the table's state (reload, re-check, rebuild the
    transaction), because the state it raced against has changed.
    """
    delay = FIRST_DELAY
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as error:  # noqa: BLE001 - filtered by is_transient
            if attempt == attempts or not is_transient(error):
                raise
            log.info("retrying %s after a conflict (attempt %d): %s", what, attempt, error)
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, MAX_DELAY)
    raise AssertionError("unreachable")
