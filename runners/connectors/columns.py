"""Column schemas as the pipeline document writes them, and their Arrow, Spark and Iceberg forms.

A schema is a list of `{"name", "type", "nullable"}` with the studio's Spark-SQL type names
(`string`, `boolean`, `int`, `bigint`, `float`, `double`, `decimal(p,s)`, `date`, `timestamp`,
`binary`). `timestamp` has no time zone: values are UTC wall-clock times, microsecond precision.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

__all__ = [
    "CDC_COLUMNS",
    "Field",
    "arrow_schema",
    "conform",
    "fields_from_arrow",
    "fields_from_iceberg",
    "fields_from_spark",
    "parse_schema",
    "spark_ddl",
]

# What `debezium-json` adds to the row image: the change kind and the change time (`ts_ms`).
CDC_COLUMNS: tuple[tuple[str, str], ...] = (("_op", "string"), ("_ts", "timestamp"))

_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")
_SIMPLE: dict[str, pa.DataType] = {
    "string": pa.string(),
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "binary": pa.binary(),
}
_SPARK_ALIASES = {
    "timestamp_ntz": "timestamp",
    "smallint": "int",
    "tinyint": "int",
    "byte": "int",
    "short": "int",
    "integer": "int",
    "long": "bigint",
    "bool": "boolean",
    "real": "float",
}


@dataclass(frozen=True)
class Field:
    """One column: a studio type name and whether it may be NULL."""

    name: str
    type: str
    nullable: bool = True

    @property
    def arrow_type(self) -> pa.DataType:
        return arrow_type(self.type)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "nullable": self.nullable}


def normalise_type(name: str) -> str:
    text = name.strip().lower()
    text = _SPARK_ALIASES.get(text, text)
    match = _DECIMAL.fullmatch(text)
    if match:
        return f"decimal({int(match.group(1))},{int(match.group(2))})"
    if text == "decimal":
        return "decimal(10,0)"
    if text not in _SIMPLE:
        raise ValueError(f"Unsupported column type '{name}'.")
    return text


def arrow_type(name: str) -> pa.DataType:
    text = normalise_type(name)
    match = _DECIMAL.fullmatch(text)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    return _SIMPLE[text]


def parse_schema(value: Any) -> list[Field]:
    """A schema from JSON text, a list of dicts, a list of Fields, or a Spark StructType."""
    if isinstance(value, str):
        value = json.loads(value)
    if hasattr(value, "fields") and not isinstance(value, (list, tuple)):
        return fields_from_spark(value)
    fields: list[Field] = []
    for item in value:
        if isinstance(item, Field):
            fields.append(item)
        else:
            fields.append(Field(str(item["name"]), normalise_type(str(item["type"])), bool(item.get("nullable", True))))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValueError(f"Column names repeat in the schema: {names}.")
    return fields


def with_cdc_columns(fields: Sequence[Field]) -> list[Field]:
    """The node schema of a `debezium-json` source: the row image, then `_op` and `_ts`."""
    present = {f.name for f in fields}
    # `_op` is never NULL (every change event has one); `_ts` is NULL when the event has no ts_ms.
    return list(fields) + [Field(name, kind, name != "_op") for name, kind in CDC_COLUMNS if name not in present]


def arrow_schema(fields: Iterable[Field]) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.arrow_type, nullable=f.nullable) for f in fields])


def spark_ddl(fields: Iterable[Field]) -> str:
    """A Spark DDL schema string, every name quoted."""
    parts = []
    for f in fields:
        name = f.name.replace("`", "``")
        parts.append(f"`{name}` {f.type.upper()}{'' if f.nullable else ' NOT NULL'}")
    return ", ".join(parts)


def fields_from_spark(struct: Any) -> list[Field]:
    fields = []
    for spark_field in struct.fields:
        fields.append(Field(spark_field.name, normalise_type(spark_field.dataType.simpleString()), spark_field.nullable))
    return fields


def _name_of_arrow(kind: pa.DataType) -> str:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return "string"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_int8(kind) or pa.types.is_int16(kind) or pa.types.is_int32(kind):
        return "int"
    if pa.types.is_int64(kind):
        return "bigint"
    if pa.types.is_float32(kind):
        return "float"
    if pa.types.is_float64(kind):
        return "double"
    if pa.types.is_decimal(kind):
        return f"decimal({kind.precision},{kind.scale})"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_timestamp(kind):
        return "timestamp"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return "binary"
    raise ValueError(f"Unsupported Arrow type {kind}.")


def fields_from_arrow(schema: pa.Schema) -> list[Field]:
    return [Field(f.name, _name_of_arrow(f.type), f.nullable) for f in schema]


def fields_from_iceberg(schema: Any) -> list[Field]:
    """Studio fields for an Iceberg schema; `timestamptz` reads as UTC `timestamp`, `uuid` as string."""
    from pyiceberg.types import (
        BinaryType, BooleanType, DateType, DecimalType, DoubleType, FixedType, FloatType, IntegerType,
        LongType, StringType, TimestampType, TimestamptzType, UUIDType,
    )

    mapping = [
        (StringType, "string"), (UUIDType, "string"), (BooleanType, "boolean"), (IntegerType, "int"),
        (LongType, "bigint"), (FloatType, "float"), (DoubleType, "double"), (DateType, "date"),
        (TimestampType, "timestamp"), (TimestamptzType, "timestamp"), (BinaryType, "binary"), (FixedType, "binary"),
    ]
    fields = []
    for column in schema.fields:
        kind = column.field_type
        if isinstance(kind, DecimalType):
            name = f"decimal({kind.precision},{kind.scale})"
        else:
            name = next((n for cls, n in mapping if isinstance(kind, cls)), "")
            if not name:
                raise ValueError(f"Column '{column.name}' has type {kind}, which the studio cannot read yet.")
        fields.append(Field(column.name, name, not column.required))
    return fields


def _cast_column(column: pa.Array | pa.ChunkedArray, target: pa.DataType, name: str) -> pa.Array | pa.ChunkedArray:
    source = column.type
    if source == target:
        return column
    if pa.types.is_timestamp(source) and pa.types.is_timestamp(target):
        if source.tz is not None and target.tz is None:
            # Spark hands timestamps over as UTC instants; the studio's timestamps are UTC wall-clock.
            column = column.cast(pa.timestamp(source.unit, tz="UTC")).cast(pa.timestamp(source.unit))
        return column.cast(target)
    if pa.types.is_dictionary(source):
        column = column.cast(source.value_type)
    try:
        return column.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise ValueError(f"Column '{name}' of type {source} cannot be stored as {target}: {error}") from None


def conform(data: pa.Table | pa.RecordBatch, schema: pa.Schema, *, fill_missing: bool = True) -> pa.Table:
    """`data` with exactly `schema`'s columns, by name and in order: cast safely, missing ones NULL."""
    table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
    columns = []
    for field in schema:
        index = table.schema.get_field_index(field.name)
        if index < 0:
            if not fill_missing:
                raise ValueError(f"Column '{field.name}' is missing.")
            columns.append(pa.nulls(table.num_rows, field.type))
            continue
        columns.append(_cast_column(table.column(index), field.type, field.name))
    result = pa.Table.from_arrays(columns, schema=schema.remove_metadata())
    return result


def drop_timezone(data: pa.Table) -> pa.Table:
    """Turn tz-aware timestamps (how Spark hands them over) into UTC wall-clock timestamps."""
    for i, field in enumerate(data.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            data = data.set_column(i, pa.field(field.name, pa.timestamp(field.type.unit), field.nullable),
                                   _cast_column(data.column(i), pa.timestamp(field.type.unit), field.name))
    return data


def null_count_violations(table: pa.Table, schema: pa.Schema) -> list[str]:
    """Names of non-nullable columns that hold NULLs."""
    return [f.name for f in schema if not f.nullable and table.column(f.name).null_count]



def arrow_batches(items: Iterable[Any], schema: pa.Schema, rows_per_batch: int = 10_000) -> Iterable[pa.RecordBatch]:
    """Arrow batches from what a Spark writer receives: RecordBatches as they are, Rows grouped."""
    pending: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, pa.RecordBatch):
            if pending:
                yield pa.RecordBatch.from_pylist(pending, schema=schema)
                pending = []
            yield item
            continue
        pending.append(item.asDict() if hasattr(item, "asDict") else dict(item))
        if len(pending) >= rows_per_batch:
            yield pa.RecordBatch.from_pylist(pending, schema=schema)
            pending = []
    if pending:
        yield pa.RecordBatch.from_pylist(pending, schema=schema)
