"""What the pipeline commands share: reading a document file, `--param`, printing diagnostics."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

import compiler

__all__ = ["add_document_arguments", "compile_or_fail", "read_document"]


def add_document_arguments(parser: Any) -> None:
    parser.add_argument("file", help="A studio.pipeline/v1 JSON document.")
    parser.add_argument("--engine", choices=compiler.ENGINES, default="spark")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="Override a pipeline parameter; repeat for several.")


def read_document(file: str) -> Any:
    path = Path(file)
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"{file} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.") from None


def parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CommandError(f"--param takes NAME=VALUE, got '{pair}'.")
        params[name] = value
    return params


def compile_or_fail(options: dict[str, Any]) -> compiler.CompiledJob:
    """Compile the file named in the options, or fail with every error, one per line."""
    document = read_document(options["file"])
    try:
        return compiler.compile_pipeline(
            document,
            engine=options["engine"],
            parameters=parse_params(options["param"]),
            data_dir=str(settings.STUDIO_DATA_DIR),
        )
    except compiler.CompileError as error:
        lines = [f"{options['file']}: {d.path}: {d.message}" for d in error.result.errors]
        raise CommandError(f"The pipeline is not valid for {options['engine']}:\n" + "\n".join(lines)) from None
