"""Shared fixtures: users, workspaces and API clients for the studio's tests."""
from __future__ import annotations

import os
import sys
from typing import Any

import pytest

# Spark's Python workers must run the test interpreter, or they import nothing from the venv.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
