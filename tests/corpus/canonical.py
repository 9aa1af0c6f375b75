"""Canonical values of the correctness corpus, shared by the reference generator (make_expected.py)
and the harness that reads what an engine wrote.

Canonical JSON, per Spark SQL type name of the column:

| type | canonical value |
|---|---|
| string | the text |
| boolean | true / false |
| int, bigint | a JSON integer |
| float, double | a JSON number (compared with a relative tolerance) |
| decimal(p,s) | a string with exactly s digits after the point: "12.30", "-0.50", "7" |
| date | "2026-01-02" |
| timestamp | "2026-01-02 03:04:05", plus ".SSS" when there are milliseconds, or ".SSSSSS" when there are microseconds |
| array<T> | a list of canonical T values |
| any type | null for NULL |

This module imports nothing but the standard library, so the harness, the generator and a reader
of the corpus all agree on one definition.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

__all__ = [
    "CanonicalError",
    "canonical",
    "cells_equal",
    "decimal_parts",
    "from_text",
    "parse_timestamp",
    "rows_equal",
    "timestamp_text",
]

_DECIMAL = re.compile(r"decimal\((\d+),(\d+)\)")
_ARRAY = re.compile(r"array<(.+)>")
# What the studio's CSV and JSON writers put in a timestamp field: the format's
# `yyyy-MM-dd HH:mm:ss[.SSS]`; the number of fraction digits (1 to 9) may vary, the value may not.
_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
DOUBLE_RELATIVE_TOLERANCE = 1e-9
FLOAT_RELATIVE_TOLERANCE = 1e-6  # a 32-bit float holds about 7 significant digits


class CanonicalError(ValueError):
    """A value that cannot be a value of the column's type."""


def decimal_parts(type_name: str) -> tuple[int, int] | None:
    match = _DECIMAL.fullmatch(type_name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def timestamp_text(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond == 0:
        return text
    if value.microsecond % 1000 == 0:
        return f"{text}.{value.microsecond // 1000:03d}"
    return f"{text}.{value.microsecond:06d}"


def parse_timestamp(text: str) -> dt.datetime:
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        raise CanonicalError(f"{text!r} is not a timestamp written as yyyy-MM-dd HH:mm:ss[.SSS]")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = (match.group(7) or "").ljust(9, "0")
    nanos = int(fraction)
    if nanos % 1000:
        raise CanonicalError(f"{text!r} has nanoseconds; the studio's timestamps have at most microseconds")
    return dt.datetime(year, month, day, hour, minute, second, nanos // 1000)


def _decimal(value: Any, type_name: str) -> str:
    precision, scale = decimal_parts(type_name)  # type: ignore[misc]
    if isinstance(value, float):
        raise CanonicalError(f"{value!r} is a binary float, not a {type_name} value")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as error:
        raise CanonicalError(f"{value!r} is not a number") from error
    if not number.is_finite():
        raise CanonicalError(f"{value!r} is not a finite number")
    with localcontext() as context:
        context.prec = 100  # decimal(38,s) values have more digits than the default 28
        fixed = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    if fixed != number:
        # More digits than the type's scale: the engine wrote a different value (or type); keep
        # every digit so the difference shows in the diff instead of being rounded away.
        return format(number.normalize(), "f")
    digits = len(fixed.as_tuple().digits)
    if digits > precision and fixed != 0:
        raise CanonicalError(f"{value!r} does not fit {type_name}")
    if fixed == 0:
        fixed = abs(fixed)  # no negative zero: "-0.00" is "0.00"
    return format(fixed, "f")


def canonical(value: Any, type_name: str) -> Any:
    """The canonical JSON value of a Python value (as read by pyarrow, json or parsed from CSV text)."""
    if value is None:
        return None
    if type_name == "string":
        if not isinstance(value, str):
            raise CanonicalError(f"{value!r} is not text")
        return value
    if type_name == "boolean":
        if not isinstance(value, bool):
            raise CanonicalError(f"{value!r} is not true/false")
        return value
    if type_name in ("int", "bigint"):
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or int(value) != value:
            raise CanonicalError(f"{value!r} is not a whole number")
        number = int(value)
        limit = 2**31 if type_name == "int" else 2**63
        if not -limit <= number < limit:
            raise CanonicalError(f"{value!r} does not fit {type_name}")
        return number
    if type_name in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise CanonicalError(f"{value!r} is not a number")
        return float(value)
    if decimal_parts(type_name):
        return _decimal(value, type_name)
    if type_name == "date":
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise CanonicalError(f"{value!r} is not a date")
        return value.isoformat()
    if type_name == "timestamp":
        if not isinstance(value, dt.datetime):
            raise CanonicalError(f"{value!r} is not a timestamp")
        return timestamp_text(value)
    array = _ARRAY.fullmatch(type_name)
    if array:
        if not isinstance(value, (list, tuple)):
            raise CanonicalError(f"{value!r} is not an array")
        return [canonical(item, array.group(1)) for item in value]
    raise CanonicalError(f"type {type_name!r} has no canonical form in the corpus")


def from_text(text: str, type_name: str) -> Any:
    """A value written as text (a CSV field, or a JSON string for a date/timestamp); "" is NULL."""
    if text == "":
        return None
    if type_name == "string":
        return text
    if type_name == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise CanonicalError(f"{text!r} is not true/false")
        return lowered == "true"
    if type_name in ("int", "bigint"):
        if not re.fullmatch(r"[+-]?\d+", text):
            raise CanonicalError(f"{text!r} is not a whole number")
        return canonical(int(text), type_name)
    if type_name in ("float", "double"):
        try:
            return float(text)
        except ValueError as error:
            raise CanonicalError(f"{text!r} is not a number") from error
    if decimal_parts(type_name):
        try:
            return canonical(Decimal(text), type_name)
        except InvalidOperation as error:
            raise CanonicalError(f"{text!r} is not a number") from error
    if type_name == "date":
        match = _DATE.fullmatch(text)
        if not match:
            raise CanonicalError(f"{text!r} is not a date written as yyyy-MM-dd")
        return dt.date(*(int(g) for g in match.groups())).isoformat()
    if type_name == "timestamp":
        return timestamp_text(parse_timestamp(text))
    raise CanonicalError(f"type {type_name!r} cannot be read from text")


def cells_equal(expected: Any, actual: Any, type_name: str) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if type_name in ("float", "double"):
        if not isinstance(actual, (int, float)) or isinstance(actual, bool):
            return False
        if math.isnan(expected) or math.isnan(actual):
            return math.isnan(expected) and math.isnan(actual)
        tolerance = FLOAT_RELATIVE_TOLERANCE if type_name == "float" else DOUBLE_RELATIVE_TOLERANCE
        return math.isclose(expected, actual, rel_tol=tolerance, abs_tol=0.0)
    array = _ARRAY.fullmatch(type_name)
    if array and isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            cells_equal(e, a, array.group(1)) for e, a in zip(expected, actual, strict=True)
        )
    return type(expected) is type(actual) and expected == actual


def rows_equal(expected: list[Any], actual: list[Any], types: list[str]) -> bool:
    return len(expected) == len(actual) and all(
        cells_equal(e, a, t) for e, a, t in zip(expected, actual, types, strict=True)
    )
