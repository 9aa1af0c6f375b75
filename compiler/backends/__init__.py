"""Back ends, one per engine, over the shared front end; the capability table (capabilities.py)
says which node types each one runs, so nothing reaches a back end that cannot emit it."""

from __future__ import annotations

from collections.abc import Mapping

from compiler.backends.base import Backend
from compiler.backends.flink import FlinkBackend
from compiler.backends.spark import SparkBackend

__all__ = ["BACKENDS", "Backend", "FlinkBackend", "SparkBackend"]

BACKENDS: Mapping[str, type[Backend]] = {"spark": SparkBackend, "flink": FlinkBackend}
