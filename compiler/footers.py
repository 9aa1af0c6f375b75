"""Columns of parquet files read from their footers when a pipeline is validated or compiled.

A `source.file` of parquet files may leave out its schema. When the files are on this machine's
disk (relative paths resolve against the job's working directory, `data_dir`), the front end reads
the first file's footer and uses its columns as if declared, so the editor can check the columns
used downstream and back ends that need the columns when they compile (Flink) can compile it.
"""

from __future__ import annotations

import glob
import os
import re

from compiler.types import Field, parse_type

__all__ = ["arrow_type_name", "parquet_columns"]

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GLOB = re.compile(r"[*?\[{]")


def arrow_type_name(arrow_type: object) -> str:
    """The studio (Spark SQL) type name an Arrow type reads as (lists as `array<...>`); anything else
    reads as string."""
    import pyarrow as pa

    assert isinstance(arrow_type, pa.DataType)
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"array<{arrow_type_name(arrow_type.value_type)}>"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_int8(arrow_type) or pa.types.is_int16(arrow_type) or pa.types.is_int32(arrow_type):
        return "int"
    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_float32(arrow_type):
        return "float"
    if pa.types.is_floating(arrow_type):
        return "double"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "binary"
    return "string"


def _first_file(path: str) -> str | None:
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        pattern = os.path.join(path, "**", "*.parquet")
    elif _GLOB.search(path):
        pattern = path
    else:
        return None
    files = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    return files[0] if files else None


def parquet_columns(path: str, data_dir: str | None) -> list[Field] | None:
    """The columns of the first parquet file at `path` (a file, folder or glob), or None when the
    files are not on this disk, there are none yet, or they cannot be read."""
    if data_dir is None or _URI.match(path):
        return None
    first = _first_file(os.path.join(data_dir, path))
    if first is None:
        return None
    try:
        import pyarrow.parquet as pq

        schema = pq.read_schema(first)
    except (ImportError, OSError, ValueError):
        return None
    import pyarrow as pa

    names = [arrow_type_name(f.type) for f in schema]
    if any(parse_type(name)[0] is None or (name == "string" and not pa.types.is_string(f.type)
                                          and not pa.types.is_large_string(f.type))
           for name, f in zip(names, schema)):
        return None  # nested or other types the format cannot declare: leave the columns to the job
    return [Field(f.name, name, True) for name, f in zip(names, schema)]
