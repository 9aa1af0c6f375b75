"""Iceberg partition transforms on Arrow arrays, for pyiceberg installs without `pyiceberg-core`.

pyiceberg computes `year`, `month`, `day`, `hour` and `bucket[N]` partition values of Arrow data
through the optional Rust package `pyiceberg-core`; without it every partitioned write (and every
copy-on-write delete that rewrites a partitioned file) fails. `install()` gives those transforms
vectorised Arrow/numpy implementations of the Iceberg spec (bucket = Murmur3 x86 32-bit of the
value's single-value serialisation, `(hash & Integer.MAX_VALUE) % N`). They are checked against
pyiceberg's own per-value transforms in tests/connectors/test_transforms.py. Nothing changes when
`pyiceberg-core` is installed.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["install", "bucket_array", "time_transform_array"]

_installed = False
_C1 = np.uint32(0xCC9E2D51)
_C2 = np.uint32(0x1B873593)
_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 86_400_000_000


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _murmur3_int64(values: np.ndarray) -> np.ndarray:
    """Murmur3 x86 32-bit (seed 0) of each value's 8-byte little-endian form, as uint32."""
    with np.errstate(over="ignore"):
        raw = values.astype("<i8").view("<u4").reshape(-1, 2)
        h = np.zeros(len(values), dtype=np.uint32)
        for block in (raw[:, 0].copy(), raw[:, 1].copy()):
            k = block * _C1
            k = _rotl(k, 15)
            k = k * _C2
            h ^= k
            h = _rotl(h, 13)
            h = h * np.uint32(5) + np.uint32(0xE6546B64)
        h ^= np.uint32(8)
        h ^= h >> np.uint32(16)
        h = h * np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h = h * np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
    return h


def bucket_array(array: pa.Array, num_buckets: int) -> pa.Array:
    """Iceberg `bucket[N]` of an Arrow array (ints, dates, timestamps, strings, binary, decimals)."""
    kind = array.type
    validity = array.is_valid()
    if pa.types.is_integer(kind) or pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        if pa.types.is_timestamp(kind):
            numbers = array.cast(pa.timestamp("us", tz=kind.tz)).cast(pa.int64())
        elif pa.types.is_date(kind):
            numbers = array.cast(pa.date32()).cast(pa.int32()).cast(pa.int64())
        else:
            numbers = array.cast(pa.int64())
        filled = pc.fill_null(numbers, 0).to_numpy(zero_copy_only=False)
        hashes = _murmur3_int64(filled)
        buckets = ((hashes & np.uint32(0x7FFFFFFF)) % np.uint32(num_buckets)).astype(np.int32)
        return pc.if_else(validity, pa.array(buckets, pa.int32()), pa.scalar(None, pa.int32()))
    import mmh3

    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        data = [None if v is None else v.encode("utf-8") for v in array.to_pylist()]
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        data = array.to_pylist()
    elif pa.types.is_decimal(kind):
        from pyiceberg.utils.decimal import decimal_to_bytes

        data = [None if v is None else decimal_to_bytes(v) for v in array.to_pylist()]
    else:
        raise ValueError(f"bucket[{num_buckets}] is not defined for {kind}")
    out = [None if v is None else (mmh3.hash(v) & 0x7FFFFFFF) % num_buckets for v in data]
    return pa.array(out, pa.int32())


def time_transform_array(array: pa.Array, unit: str) -> pa.Array:
    """Iceberg `year`/`month`/`day`/`hour` of dates or timestamps: units since 1970 as int32."""
    kind = array.type
    if pa.types.is_timestamp(kind):
        micros = array.cast(pa.timestamp("us", tz=kind.tz)).cast(pa.int64())
        if unit == "hour":
            return _floor_div(micros, _US_PER_HOUR)
        if unit == "day":
            return _floor_div(micros, _US_PER_DAY)
        moments = array
    elif pa.types.is_date(kind):
        if unit == "hour":
            raise ValueError("hour() is not defined for dates")
        days = array.cast(pa.date32()).cast(pa.int32())
        if unit == "day":
            return days
        moments = array.cast(pa.date32())
    else:
        raise ValueError(f"{unit}() is not defined for {kind}")
    years = pc.subtract(pc.year(moments), 1970)
    if unit == "year":
        return years.cast(pa.int32())
    months = pc.add(pc.multiply(years, 12), pc.subtract(pc.month(moments), 1))
    return months.cast(pa.int32())


def _floor_div(values: pa.Array, divisor: int) -> pa.Array:
    numbers = pc.fill_null(values, 0).to_numpy(zero_copy_only=False)
    result = pa.array(np.floor_divide(numbers, divisor).astype(np.int32), pa.int32())
    return pc.if_else(values.is_valid(), result, pa.scalar(None, pa.int32()))


def _chunked(function: Callable[[pa.Array], pa.Array]) -> Callable[[pa.Array | pa.ChunkedArray], pa.Array]:
    def apply(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        if isinstance(array, pa.ChunkedArray):
            return pa.chunked_array([function(chunk) for chunk in array.iterchunks()], type=pa.int32())
        return function(array)

    return apply


def install() -> None:
    """Give pyiceberg's transforms Arrow implementations when `pyiceberg-core` is missing."""
    global _installed
    if _installed:
        return
    try:
        import pyiceberg_core  # noqa: F401
    except ImportError:
        pass
    else:
        _installed = True
        return
    from pyiceberg import transforms

    def bucket(self, source):  # type: ignore[no-untyped-def]
        return _chunked(lambda a: bucket_array(a, self.num_buckets))

    def timed(unit: str):  # type: ignore[no-untyped-def]
        def method(self, source):  # type: ignore[no-untyped-def]
            return _chunked(lambda a: time_transform_array(a, unit))

        return method

    transforms.BucketTransform.pyarrow_transform = bucket  # type: ignore[method-assign]
    transforms.YearTransform.pyarrow_transform = timed("year")  # type: ignore[method-assign]
    transforms.MonthTransform.pyarrow_transform = timed("month")  # type: ignore[method-assign]
    transforms.DayTransform.pyarrow_transform = timed("day")  # type: ignore[method-assign]
    transforms.HourTransform.pyarrow_transform = timed("hour")  # type: ignore[method-assign]
    _installed = True

