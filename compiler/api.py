"""The compiler's public functions: check a draft, validate a document, compile it for an engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from compiler.backends import BACKENDS
from compiler.diagnostics import CompileError, Diagnostic, ValidationResult
from compiler.document import check_shape
from compiler.frontend import analyse

__all__ = ["CompiledJob", "check_shape", "compile_pipeline", "validate"]


@dataclass(frozen=True)
class CompiledJob:
    """Generated code for one engine, and the parameter values it was compiled with."""

    engine: str
    code: str
    parameters: dict[str, object] = field(default_factory=dict)


def validate(
    document: object,
    *,
    engine: str | None = None,
    parameters: Mapping[str, object] | None = None,
    data_dir: str | None = None,
    connections: Mapping[str, str] | None = None,
) -> ValidationResult:
    """All errors and warnings at once, plus inferred schemas. Never raises on any input.

    Without an engine only engine-independent rules apply; with one, also its capability table.
    `data_dir` is where the job's relative paths resolve; given, the columns of parquet sources
    without a schema are read from the files' footers there. `connections` (stored connection name
    -> kind, e.g. {"lake": "s3"}): given, a node's `connection` must name one of a suitable kind;
    omitted (the command line), names are not checked until a run resolves them.
    """
    return analyse(document, engine=engine, parameters=parameters, data_dir=data_dir, connections=connections).result


def compile_pipeline(
    document: object,
    *,
    engine: str = "spark",
    parameters: Mapping[str, object] | None = None,
    data_dir: str | None = None,
    connections: Mapping[str, str] | None = None,
) -> CompiledJob:
    """Generate the job for `engine`; raises CompileError (carrying the full result) when invalid."""
    analysis = analyse(document, engine=engine, parameters=parameters, data_dir=data_dir, connections=connections)
    if not analysis.result.valid:
        raise CompileError(analysis.result)
    backend = BACKENDS.get(engine)
    if backend is None:
        result = analysis.result
        result.errors.append(
            Diagnostic("error", None, "engine", f"The {engine} back end is not available in this version.")
        )
        raise CompileError(result)
    code = backend(analysis).generate()
    values = {name: value.value for name, value in analysis.parameters.items()}
    return CompiledJob(engine=engine, code=code, parameters=values)
