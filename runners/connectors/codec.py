"""Kafka values to Arrow rows (`json`, `debezium-json`) and Arrow rows to JSON values.

Decoding rules (both formats):
- a value must be one JSON object; fields are matched to columns by exact name, unknown fields are
  ignored, missing fields are NULL;
- `string` takes JSON strings, `boolean` true/false, `int`/`bigint` integers in range, `float`/`double`
  numbers, `decimal(p,s)` numbers or numeric strings that fit without rounding, `date` "yyyy-MM-dd"
  or an integer number of days since 1970-01-01 (Debezium's `io.debezium.time.Date`), `timestamp`
  ISO-8601 text ("2026-01-01 10:00:00[.ffffff]", "T" separator, an offset or "Z" is converted to
  UTC) or an integer number of milliseconds since the epoch, `binary` base64 text;
- anything else (not JSON, not an object, a value that does not fit its column, NULL in a NOT NULL
  column) makes the record malformed: it is returned as a failure for the dead-letter file, never
  dropped silently and never fatal.

`debezium-json` reads the change event with or without the `{"schema", "payload"}` envelope: the row
is the `after` image, or the `before` image for deletes (`op` = "d"), plus `_op` (c/u/d/r) and `_ts`
(the event's `ts_ms`). Tombstones (NULL values that follow deletes for log compaction) carry no
change and are skipped, and counted.

Clean batches are parsed by Arrow's JSON reader in C++; a batch with any record Arrow refuses is
decoded record by record in Python with the same rules, which isolates the malformed ones.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from runners.connectors.columns import Field, arrow_schema

__all__ = ["FORMATS", "LANDING_NULL", "LANDING_STRING_MARK", "DecodeResult", "Decoder", "JsonEncoder", "LandingCsvEncoder"]

FORMATS = ("json", "debezium-json")
DEBEZIUM_OPS = ("c", "u", "d", "r")
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_DATE = dt.date(1970, 1, 1)
_INT_RANGES = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}


@dataclass
class DecodeResult:
    """Decoded rows, plus the input positions that were malformed (with why) or tombstones."""

    batch: pa.RecordBatch
    failures: list[tuple[int, str]] = field(default_factory=list)
    tombstones: int = 0


class RecordError(ValueError):
    """One record that does not fit the schema."""


class Decoder:
    """Decodes Kafka values into a RecordBatch with the columns of `output`.

    `output` is the node's schema as the query asks for it; with `debezium-json` its `_op` and `_ts`
    columns (when present) are filled from the change event and the other columns from the row image.
    """

    def __init__(self, output: Sequence[Field], fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"Unknown Kafka value format '{fmt}' (expected one of {', '.join(FORMATS)}).")
        self.format = fmt
        self.output = list(output)
        self.output_schema = arrow_schema(self.output)
        cdc = fmt == "debezium-json"
        self.image = [f for f in self.output if not (cdc and f.name in ("_op", "_ts"))]
        self._converters = {f.name: _converter(f) for f in self.image}
        # Arrow parses a column as one JSON type: times as text (ISO-8601) or, as Debezium's
        # io.debezium.time.Timestamp / Date send them, as epoch milliseconds / days. Both are tried.
        epoch = any(f.type in ("timestamp", "date") for f in self.image)
        self._fast_schemas = (
            [self._arrow_parse_schema(epoch=False)] + ([self._arrow_parse_schema(epoch=True)] if epoch else [])
            if all(_fast_type(f) for f in self.image) else []
        )  # fmt: skip

    # -- fast path ---------------------------------------------------------------------------------

    def _arrow_parse_schema(self, *, epoch: bool) -> pa.Schema:
        image = pa.struct([pa.field(f.name, _fast_type(f, epoch=epoch)) for f in self.image])
        if self.format == "json":
            return pa.schema(list(image))
        envelope = pa.struct([("before", image), ("after", image), ("op", pa.string()), ("ts_ms", pa.int64())])
        return pa.schema(
            [("payload", envelope), ("before", image), ("after", image), ("op", pa.string()), ("ts_ms", pa.int64())]
        )

    def _fast(self, values: Sequence[bytes]) -> pa.RecordBatch | None:
        """All records parsed by Arrow, or None when any record needs the careful path."""
        if not self._fast_schemas or not values:
            return None
        data = b"\n".join(values)
        # Arrow reads newline-delimited JSON: every value must be one line starting with "{".
        # Counting in the joined buffer checks that in C instead of per value in Python.
        lines = len(values) - 1
        if data[:1] != b"{" or data.count(b"\n") != lines or data.count(b"\n{") != lines or b"\r" in data:
            return None
        table = None
        for schema in self._fast_schemas:
            try:
                table = pa_json.read_json(
                    io.BytesIO(data),
                    read_options=pa_json.ReadOptions(block_size=max(1 << 20, len(data) + 1024), use_threads=False),
                    parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
                )
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                continue
        if table is None or table.num_rows != len(values):
            return None
        try:
            table = table.combine_chunks()
            if self.format == "json":
                image = {name: table.column(name) for name in table.column_names}
                extra: dict[str, pa.Array] = {}
            else:
                image, extra = self._fast_debezium(table)
                if image is None:
                    return None
            columns = []
            for f in self.output:
                if f.name in extra:
                    column = extra[f.name]
                else:
                    column = image[f.name]
                    if f.type == "date":
                        column = column.cast(pa.date32())
                    elif f.type == "timestamp" and pa.types.is_integer(column.type):  # epoch milliseconds
                        column = pc.multiply_checked(column, 1000).cast(pa.timestamp("us"))
                if not f.nullable and column.null_count:
                    return None
                columns.append(column.cast(f.arrow_type))
            return pa.RecordBatch.from_arrays([_one_chunk(c) for c in columns], schema=self.output_schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, UnicodeDecodeError):
            return None

    def _fast_debezium(self, table: pa.Table) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        payload = _one_chunk(table.column("payload"))
        enveloped = payload.is_valid()

        def pick(name: str) -> pa.Array:
            return pc.if_else(enveloped, payload.field(name), _one_chunk(table.column(name)))

        op = pick("op")
        if op.null_count or not pc.all(pc.is_in(op, pa.array(DEBEZIUM_OPS))).as_py():
            return None, {}
        is_delete = pc.equal(op, "d")
        image = pc.if_else(is_delete, pick("before"), pick("after"))
        if image.null_count:
            return None, {}
        columns = {f.name: image.field(f.name) for f in self.image}
        ts = pick("ts_ms")
        extra = {
            "_op": op,
            "_ts": pc.multiply(ts, 1000).cast(pa.timestamp("us")) if len(ts) else pa.array([], pa.timestamp("us")),
        }
        return columns, extra

    # -- careful path ------------------------------------------------------------------------------

    def _record(self, value: bytes | None) -> dict[str, Any] | None:
        """One decoded row, None for a tombstone, or RecordError."""
        if value is None:
            if self.format == "debezium-json":
                return None
            raise RecordError("the message has no value")
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RecordError(f"the value is not UTF-8 text: {error}") from None
        try:
            document = json.loads(text, parse_float=Decimal)
        except ValueError as error:
            raise RecordError(f"the value is not JSON: {error}") from None
        if not isinstance(document, dict):
            raise RecordError(f"the value is a JSON {type(document).__name__}, not an object")
        row: dict[str, Any] = {}
        if self.format == "debezium-json":
            event = document.get("payload") if isinstance(document.get("payload"), dict) else document
            op = event.get("op")
            if op not in DEBEZIUM_OPS:
                raise RecordError(f"the change event's op is {op!r}, not one of c, u, d, r")
            image = event.get("before" if op == "d" else "after")
            if not isinstance(image, dict):
                which = "before" if op == "d" else "after"
                raise RecordError(f"the change event (op '{op}') has no '{which}' row image")
            ts_ms = event.get("ts_ms")
            if ts_ms is not None and (isinstance(ts_ms, bool) or not isinstance(ts_ms, int)):
                raise RecordError(f"ts_ms is {ts_ms!r}, not an integer")
            row["_op"] = op
            row["_ts"] = None if ts_ms is None else _EPOCH + dt.timedelta(milliseconds=ts_ms)
            document = image
        for f in self.image:
            raw = document.get(f.name)
            try:
                value_out = None if raw is None else self._converters[f.name](raw)
            except (RecordError, ValueError, TypeError, OverflowError, InvalidOperation, binascii.Error) as error:
                raise RecordError(f"column '{f.name}' ({f.type}): {error}") from None
            if value_out is None and not f.nullable:
                raise RecordError(f"column '{f.name}' is NOT NULL but the record has no value for it")
            row[f.name] = value_out
        return row

    def decode(self, values: Sequence[bytes | None]) -> DecodeResult:
        present = [v for v in values if v is not None]
        if self.format == "debezium-json" or len(present) == len(values):
            fast = self._fast(present)
            if fast is not None:
                return DecodeResult(fast, [], len(values) - len(present))
        rows: list[dict[str, Any]] = []
        failures: list[tuple[int, str]] = []
        tombstones = 0
        for index, value in enumerate(values):
            try:
                row = self._record(value)
            except RecordError as error:
                failures.append((index, str(error)))
                continue
            if row is None:
                tombstones += 1
            else:
                rows.append(row)
        columns = [pa.array([row[f.name] for row in rows], type=f.arrow_type) for f in self.output]
        batch = pa.RecordBatch.from_arrays(columns, schema=self.output_schema)
        return DecodeResult(batch, failures, tombstones)


def _one_chunk(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _fast_type(f: Field, *, epoch: bool = False) -> pa.DataType | None:
    """The type Arrow's JSON reader parses a column as, or None when only the careful path can.
    Arrow reads timestamps from text only and dates from numbers (days) only: `epoch` reads
    timestamps as epoch milliseconds and dates as days, else timestamps as text and dates as text
    (cast afterwards)."""
    if f.type == "binary":
        return None
    if f.type == "date":
        return pa.date32() if epoch else pa.string()
    if f.type == "timestamp" and epoch:
        return pa.int64()
    return f.arrow_type


def _converter(f: Field) -> Callable[[Any], Any]:
    kind = f.type
    if kind == "string":
        return _expect(str)
    if kind == "boolean":
        return _expect(bool)
    if kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]

        def integer(value: Any) -> int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise RecordError(f"{value!r} is not an integer")
            if not low <= value <= high:
                raise RecordError(f"{value} is out of range")
            return value

        return integer
    if kind in ("float", "double"):

        def number(value: Any) -> float:
            if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
                raise RecordError(f"{value!r} is not a number")
            return float(value)

        return number
    if kind.startswith("decimal"):
        arrow = f.arrow_type
        quantum = Decimal(1).scaleb(-arrow.scale)

        def decimal(value: Any) -> Decimal:
            if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
                raise RecordError(f"{value!r} is not a decimal number")
            number = Decimal(value) if not isinstance(value, Decimal) else value
            if not number.is_finite():
                raise RecordError(f"{value!r} is not a finite number")
            exact = number.quantize(quantum)
            if exact != number:
                raise RecordError(f"{value} has more than {arrow.scale} decimal places")
            if len(exact.as_tuple().digits) > arrow.precision and exact != 0:
                raise RecordError(f"{value} has more than {arrow.precision} digits")
            return exact

        return decimal
    if kind == "date":

        def date(value: Any) -> dt.date:
            if isinstance(value, str):
                return dt.date.fromisoformat(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return _EPOCH_DATE + dt.timedelta(days=value)
            raise RecordError(f"{value!r} is not a date")

        return date
    if kind == "timestamp":

        def timestamp(value: Any) -> dt.datetime:
            if isinstance(value, str):
                parsed = dt.datetime.fromisoformat(value)
                if parsed.tzinfo is not None:
                    parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
                return parsed
            if isinstance(value, int) and not isinstance(value, bool):
                return _EPOCH + dt.timedelta(milliseconds=value)
            raise RecordError(f"{value!r} is not a timestamp")

        return timestamp
    if kind == "binary":

        def binary(value: Any) -> bytes:
            if not isinstance(value, str):
                raise RecordError(f"{value!r} is not base64 text")
            return base64.b64decode(value, validate=True)

        return binary
    raise ValueError(f"Unsupported column type {kind}")


def _expect(kind: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise RecordError(f"{value!r} is not a {kind.__name__}")
        return value

    return check


# -- encoding ----------------------------------------------------------------------------------------


class JsonEncoder:
    """Arrow rows as compact JSON objects, one bytes value per row (UTF-8).

    Timestamps are written "yyyy-MM-dd HH:mm:ss.SSS" (".SSSSSS" when there are microseconds) as
    the studio writes JSON everywhere, dates "yyyy-MM-dd", decimals as exact JSON
    numbers, binary as base64, NaN and infinities as null.
    """

    def __init__(self, columns: Sequence[str] | None = None) -> None:
        self.columns = list(columns) if columns is not None else None

    def encode(self, data: pa.Table | pa.RecordBatch) -> list[bytes]:
        names = self.columns if self.columns is not None else list(data.schema.names)
        if data.num_rows == 0:
            return []
        fragments = []
        for position, name in enumerate(names):
            prefix = ("{" if position == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":"
            values = _json_fragments(data.column(name))
            fragments.append([prefix + v for v in values])
        return [("".join(parts) + "}").encode("utf-8") for parts in zip(*fragments)]


# The Flink landing files (see LandingCsvEncoder): NULL, and the mark before every string value.
LANDING_NULL = "\\N"
LANDING_STRING_MARK = "~"


class LandingCsvEncoder:
    """Arrow rows as the CSV lines of a Flink landing file, one bytes value per row (UTF-8).

    Why CSV and not JSON lines: Flink 2.2 reads JSON files through `DeserializationSchemaAdapter`,
    whose reader, once restored from a checkpoint in the middle of a file, counts its position from
    zero again. A second checkpoint taken before the file is finished then records too few rows
    read, and the next restore reads some rows twice. Its CSV reader (`StreamFormatAdapter`) keeps
    the restored count, so a landing folder read as CSV is read exactly once across restores.

    The lines are what Flink's `csv` format reads back exactly, with `csv.null-literal` set to
    LANDING_NULL: NULL is written as that literal; a string is quoted and starts with
    LANDING_STRING_MARK, so no string can be taken for NULL (the reading view drops the mark);
    numbers and booleans as text; dates, timestamps and binary (base64) as the JSON encoder writes
    them, without the quotes; NaN and infinities as NULL, as in JSON.
    """

    def __init__(self, fields: Sequence[Field]) -> None:
        self.fields = list(fields)

    def encode(self, data: pa.Table | pa.RecordBatch) -> list[bytes]:
        if data.num_rows == 0:
            return []
        columns = [_csv_fields(data.column(f.name), f.type) for f in self.fields]
        return [",".join(values).encode("utf-8") for values in zip(*columns)]


def _csv_quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _csv_fields(column: pa.Array | pa.ChunkedArray, studio_type: str) -> list[str]:
    if studio_type == "string":
        return [LANDING_NULL if v is None else _csv_quoted(LANDING_STRING_MARK + v) for v in _one_chunk(column).to_pylist()]
    out = []
    for fragment in _json_fragments(column):
        if fragment == "null":
            out.append(LANDING_NULL)
        elif fragment.startswith('"'):
            out.append(fragment[1:-1])  # a date, timestamp or base64 text: nothing to escape
        else:
            out.append(fragment)  # a number or a boolean
    return out


def _json_fragments(column: pa.Array | pa.ChunkedArray) -> list[str]:
    column = _one_chunk(column)
    kind = column.type
    if pa.types.is_boolean(kind):
        return ["null" if v is None else ("true" if v else "false") for v in column.to_pylist()]
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        text = column.cast(pa.string())
        return ["null" if v is None else v for v in text.to_pylist()]
    if pa.types.is_floating(kind):
        out = []
        for v in column.to_pylist():
            if v is None or v != v or v in (float("inf"), float("-inf")):
                out.append("null")
            else:
                out.append(repr(float(v)))
        return out
    if pa.types.is_date(kind):
        return ["null" if v is None else f'"{v.isoformat()}"' for v in column.to_pylist()]
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            column = column.cast(pa.timestamp(kind.unit, tz="UTC")).cast(pa.timestamp(kind.unit))
        micros = column.cast(pa.timestamp("us")).cast(pa.int64()).to_pylist()
        return ["null" if v is None else f'"{_timestamp_text(v)}"' for v in micros]
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return ["null" if v is None else f'"{base64.b64encode(v).decode("ascii")}"' for v in column.to_pylist()]
    if pa.types.is_dictionary(kind):
        return _json_fragments(column.cast(kind.value_type))
    return ["null" if v is None else json.dumps(v, ensure_ascii=False) for v in column.to_pylist()]


def _timestamp_text(micros: int) -> str:
    """As the studio writes timestamps to JSON (`yyyy-MM-dd HH:mm:ss.SSS`), with all six digits when
    there are microseconds, so nothing is lost."""
    moment = _EPOCH + dt.timedelta(microseconds=micros)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    fraction = moment.microsecond
    if fraction % 1000 == 0:
        return f"{text}.{fraction // 1000:03d}"
    return f"{text}.{fraction:06d}"
