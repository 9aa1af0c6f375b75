"""Spark SQL type names (the format's type system), schemas and column names."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ARRAY_OF_STRING",
    "COLUMN_NAME",
    "INTEGRAL",
    "NUMERIC",
    "TYPE_NAMES",
    "Field",
    "alias_hint",
    "decimal_parts",
    "is_numeric",
    "parse_type",
    "schema_ddl",
    "type_ddl",
]

COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
MAX_DECIMAL_PRECISION = 38

SIMPLE_TYPES = ("string", "boolean", "int", "bigint", "float", "double", "date", "timestamp", "binary")
TYPE_NAMES = (*SIMPLE_TYPES[:6], "decimal(p,s)", *SIMPLE_TYPES[6:])
# Only ever an output type (transform.quality's `_failed_rules`); documents cannot declare it.
ARRAY_OF_STRING = "array<string>"
INTEGRAL = frozenset({"int", "bigint"})
NUMERIC = frozenset({"int", "bigint", "float", "double"})

_DECIMAL = re.compile(r"decimal\s*(?:\(\s*(\d{1,3})\s*(?:,\s*(\d{1,3})\s*)?\))?", re.IGNORECASE)
_ALIASES = {
    "integer": "int",
    "long": "bigint",
    "short": "int",
    "smallint": "int",
    "tinyint": "int",
    "byte": "int",
    "bool": "boolean",
    "str": "string",
    "text": "string",
    "varchar": "string",
    "char": "string",
    "real": "float",
    "numeric": "decimal(p,s)",
    "number": "decimal(p,s)",
    "datetime": "timestamp",
    "timestamp_ntz": "timestamp",
    "timestamp_ltz": "timestamp",
    "bytes": "binary",
}


@dataclass(frozen=True)
class Field:
    """A column: name, Spark SQL type name (normalised, e.g. "decimal(12,2)") and nullability."""

    name: str
    type: str
    nullable: bool = True

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "type": self.type, "nullable": self.nullable}


def parse_type(text: str) -> tuple[str | None, str | None]:
    """Normalise a type name; returns (type, None) or (None, reason a person can act on)."""
    cleaned = text.strip()
    lowered = cleaned.lower()
    if lowered in SIMPLE_TYPES:
        return lowered, None
    match = _DECIMAL.fullmatch(cleaned)
    if match:
        precision = int(match.group(1)) if match.group(1) else 10
        scale = int(match.group(2)) if match.group(2) else 0
        if not 1 <= precision <= MAX_DECIMAL_PRECISION:
            return None, f"decimal precision must be between 1 and {MAX_DECIMAL_PRECISION}, not {precision}"
        if scale > precision:
            return None, f"decimal scale ({scale}) cannot be larger than its precision ({precision})"
        return f"decimal({precision},{scale})", None
    base = re.split(r"[\s(<]", lowered, maxsplit=1)[0]
    hint = _ALIASES.get(base)
    supported = ", ".join(TYPE_NAMES)
    shown = cleaned if len(cleaned) <= 40 else cleaned[:39] + "…"
    if hint:
        return None, f"'{shown}' is not a supported type; use '{hint}' (supported: {supported})"
    return None, f"'{shown}' is not a supported type (supported: {supported})"


def alias_hint(name: str) -> str | None:
    """The supported type a common alias means ("long" -> "bigint"), for suggestions."""
    return {"float": "double", **_ALIASES}.get(name.strip().lower())


def decimal_parts(type_name: str) -> tuple[int, int] | None:
    """(precision, scale) of a normalised decimal type name, else None."""
    if not type_name.startswith("decimal("):
        return None
    precision, scale = type_name[len("decimal(") : -1].split(",")
    return int(precision), int(scale)


def is_numeric(type_name: str) -> bool:
    return type_name in NUMERIC or type_name.startswith("decimal(")


def type_ddl(type_name: str) -> str:
    """Spark DDL spelling of a normalised type name: "decimal(12,2)" -> "DECIMAL(12,2)"."""
    return type_name.upper()


def schema_ddl(fields: list[Field]) -> str:
    """A Spark DDL schema string; names are validated column names, quoted with backticks anyway."""
    parts = []
    for f in fields:
        if not COLUMN_NAME.fullmatch(f.name):
            raise ValueError(f"invalid column name {f.name!r}")
        parts.append(f"`{f.name}` {type_ddl(f.type)}{'' if f.nullable else ' NOT NULL'}")
    return ", ".join(parts)
