"""Pipeline parameters: typed values, run-time overrides, and `${name}` references in text values.

Values are normalised to JSON-friendly canonical forms (dates and timestamps as ISO text), so the
resolved parameters of a run can be stored and shown as they were used.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "PARAMETER_NAME",
    "PARAMETER_TYPES",
    "ParameterValue",
    "as_text",
    "coerce",
    "has_unclosed_reference",
    "substitute",
    "template_references",
]

PARAMETER_TYPES = ("string", "int", "bigint", "double", "boolean", "date", "timestamp")
PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
MAX_STRING = 4096

_INT_RANGES = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,20}")
_DOUBLE_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_DATE_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIMESTAMP_TEXT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
)
_TEMPLATE = re.compile(r"\$\{([^{}]*)\}")


@dataclass(frozen=True)
class ParameterValue:
    """A resolved parameter: its declared type and canonical value."""

    name: str
    type: str
    value: object


def coerce(type_name: str, value: object) -> tuple[object, str | None]:
    """Convert a JSON value or command-line text to the canonical value of a parameter type.

    Returns (value, None) or (None, reason), where the reason completes "the value ...".
    """
    if type_name == "string":
        if not isinstance(value, str):
            return None, "must be text"
        if len(value) > MAX_STRING:
            return None, f"is too long (at most {MAX_STRING} characters)"
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            return None, "contains an invalid character (a NUL or an unpaired surrogate)"
        return value, None
    if type_name in _INT_RANGES:
        return _coerce_integer(type_name, value)
    if type_name == "double":
        return _coerce_double(value)
    if type_name == "boolean":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true", None
        return None, "must be true or false"
    if type_name == "date":
        return _coerce_date(value)
    if type_name == "timestamp":
        return _coerce_timestamp(value)
    return None, f"has an unknown type '{type_name}'"


def _coerce_integer(type_name: str, value: object) -> tuple[object, str | None]:
    low, high = _INT_RANGES[type_name]
    expected = f"must be a whole number between {low} and {high}"
    number: int
    if isinstance(value, bool):
        return None, expected
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None, expected
    if not low <= number <= high:
        return None, expected
    return number, None


def _coerce_double(value: object) -> tuple[object, str | None]:
    expected = "must be a finite number"
    if isinstance(value, bool):
        return None, expected
    try:
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str) and _DOUBLE_TEXT.fullmatch(value.strip()):
            number = float(value.strip())
        else:
            return None, expected
    except OverflowError:
        return None, expected
    if not math.isfinite(number):
        return None, expected
    return number, None


def _coerce_date(value: object) -> tuple[object, str | None]:
    expected = "must be a date written yyyy-mm-dd"
    if isinstance(value, dt.datetime):
        return None, expected
    if isinstance(value, dt.date):
        return value.isoformat(), None
    if not isinstance(value, str):
        return None, expected
    match = _DATE_TEXT.fullmatch(value.strip())
    if not match:
        return None, expected
    try:
        return dt.date(*(int(g) for g in match.groups())).isoformat(), None
    except ValueError:
        return None, f"is not a real date: {value.strip()}"


def _coerce_timestamp(value: object) -> tuple[object, str | None]:
    expected = "must be a timestamp written yyyy-mm-dd hh:mm:ss[.ffffff] (no time zone)"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return None, expected
        return _timestamp_text(value), None
    if not isinstance(value, str):
        return None, expected
    match = _TIMESTAMP_TEXT.fullmatch(value.strip())
    if not match:
        return None, expected
    year, month, day, hour, minute, second, fraction = match.groups()
    micros = int((fraction or "0").ljust(6, "0"))
    try:
        parsed = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micros)
    except ValueError:
        return None, f"is not a real timestamp: {value.strip()}"
    return _timestamp_text(parsed), None


def _timestamp_text(value: dt.datetime) -> str:
    text = f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text


def as_text(parameter: ParameterValue) -> str:
    """How a value reads inside a path, topic or table name."""
    value = parameter.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def template_references(text: str) -> Iterator[tuple[str, int]]:
    """Every `${name}` in a text value, with its position; malformed names are yielded as written."""
    for match in _TEMPLATE.finditer(text):
        yield match.group(1), match.start()


def has_unclosed_reference(text: str) -> bool:
    """True when the text has a `${` that does not start a well-formed `${...}`."""
    closed = {m.start() for m in _TEMPLATE.finditer(text)}
    return any(m.start() not in closed for m in re.finditer(r"\$\{", text))


def substitute(text: str, values: dict[str, ParameterValue]) -> str:
    """Replace each `${name}` by the parameter's text; callers check references first."""
    return _TEMPLATE.sub(lambda m: as_text(values[m.group(1)]), text)
