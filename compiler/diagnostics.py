"""Diagnostics: what validation reports, and the small helpers that build JSON paths and messages."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from compiler.lineage import Lineage
    from compiler.types import Field

__all__ = [
    "CompileError",
    "Diagnostic",
    "Diagnostics",
    "ValidationResult",
    "describe_value",
    "did_you_mean",
    "join_path",
    "list_names",
    "quote",
]

Severity = Literal["error", "warning"]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_QUOTED = 80


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a document: where it is (node id and JSON path) and what to do about it."""

    severity: Severity
    node: str | None
    path: str
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"severity": self.severity, "node": self.node, "path": self.path, "message": self.message}


@dataclass
class ValidationResult:
    """Every error and warning found at once, plus the output schema of every node that could be
    inferred and the lineage of its columns (see compiler/lineage.py)."""

    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    schemas: dict[str, dict[str, list[Field]]] = field(default_factory=dict)
    lineage: Lineage | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, object]:
        return {
            "valid": self.valid,
            "errors": [d.to_dict() for d in self.errors],
            "warnings": [d.to_dict() for d in self.warnings],
            "schemas": {
                node: {port: [f.to_dict() for f in fields] for port, fields in ports.items()}
                for node, ports in self.schemas.items()
            },
            "lineage": self.lineage.to_dict() if self.lineage is not None else _empty_lineage(),
        }


def _empty_lineage() -> dict[str, object]:
    return {"columns": {}, "rows": {}, "datasets": {"inputs": [], "outputs": []}}


class CompileError(Exception):
    """Raised by compile_pipeline when the document is not valid for the requested engine."""

    def __init__(self, result: ValidationResult) -> None:
        self.result = result
        first = result.errors[0].message if result.errors else "the document is not valid"
        more = len(result.errors) - 1
        suffix = f" (and {more} more error{'s' if more != 1 else ''})" if more > 0 else ""
        super().__init__(f"{first}{suffix}")


class Diagnostics:
    """Collects diagnostics in discovery order; the front end never stops at the first one."""

    def __init__(self) -> None:
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self._seen: set[Diagnostic] = set()

    def error(self, path: str, message: str, node: str | None = None) -> None:
        self._add(self.errors, Diagnostic("error", node, path, message))

    def warning(self, path: str, message: str, node: str | None = None) -> None:
        self._add(self.warnings, Diagnostic("warning", node, path, message))

    def _add(self, into: list[Diagnostic], diagnostic: Diagnostic) -> None:
        # The same finding can be reached twice (e.g. one expression checked by two stages).
        if diagnostic not in self._seen:
            self._seen.add(diagnostic)
            into.append(diagnostic)

    @property
    def error_count(self) -> int:
        return len(self.errors)


def join_path(base: str, key: str | int) -> str:
    """Extend a JSONPath: `$.nodes` + 2 -> `$.nodes[2]`; keys that are not plain names use brackets."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    if _PLAIN_KEY.fullmatch(key):
        return f"{base}.{key}"
    return f"{base}[{json.dumps(key)}]"


def quote(text: str, limit: int = _MAX_QUOTED) -> str:
    """Quote user text for a message, shortened and with control characters made visible."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return f"'{shown}'"


def describe_value(value: object) -> str:
    """Name the JSON type of a value, for messages like "must be a string, not a number"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt name (case-insensitive first), or None."""
    if len(name) > 200:
        return None  # nothing sensible is that long, and difflib's cost grows with the length
    options: Sequence[str] = list(candidates)
    lowered = {c.lower(): c for c in options}
    if name.lower() in lowered and lowered[name.lower()] != name:
        return lowered[name.lower()]
    matches = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if not matches:
        matches = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        matches = [lowered[m] for m in matches]
    return matches[0] if matches else None


def list_names(names: Iterable[str], limit: int = 20) -> str:
    """Comma-separated names for a message, cut after `limit` entries."""
    items = list(names)
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f", … ({len(items) - limit} more)"
    return shown or "(none)"
