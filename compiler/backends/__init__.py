"""Back ends, one per engine, over the shared front end. Flink's back end is future work: the
capability table declares every node unsupported on flink, so nothing reaches a missing back end."""

from __future__ import annotations

from collections.abc import Mapping

from compiler.backends.base import Backend
from compiler.backends.spark import SparkBackend

__all__ = ["BACKENDS", "Backend", "SparkBackend"]

BACKENDS: Mapping[str, type[Backend]] = {"spark": SparkBackend}
