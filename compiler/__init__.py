"""Pipeline compiler: `studio.pipeline/v1` documents -> validated, typed graph -> engine code.

Pure Python: nothing here imports Django, `studio` or `runners`. See README.md for the map.
"""

from __future__ import annotations

from compiler.api import CompiledJob, check_shape, compile_pipeline, validate
from compiler.capabilities import ENGINES
from compiler.diagnostics import CompileError, Diagnostic, ValidationResult
from compiler.types import Field

__all__ = [
    "ENGINES",
    "CompileError",
    "CompiledJob",
    "Diagnostic",
    "Field",
    "ValidationResult",
    "check_shape",
    "compile_pipeline",
    "validate",
]
