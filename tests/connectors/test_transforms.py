"""The Arrow partition transforms agree with pyiceberg's own per-value transforms (the spec)."""
from __future__ import annotations

import random
from decimal import Decimal

import pyarrow as pa
import pytest
from pyiceberg.transforms import BucketTransform, DayTransform, HourTransform, MonthTransform, YearTransform
from pyiceberg.types import DateType, DecimalType, IntegerType, LongType, StringType, TimestampType

from runners.connectors.transforms import bucket_array, time_transform_array

rng = random.Random(3)
LONGS = [rng.randrange(-(2**63), 2**63) for _ in range(3000)] + [0, -1, 2**63 - 1, None]
INTS = [rng.randrange(-(2**31), 2**31) for _ in range(1000)] + [None]
MICROS = [rng.randrange(-2 * 10**15, 4 * 10**15) for _ in range(3000)] + [0, -1, None]
DAYS = [rng.randrange(-40000, 40000) for _ in range(2000)] + [0, -1, None]
STRINGS = ["", "abc", "ünïcode", None] + [str(rng.random()) for _ in range(200)]
DECIMALS = [Decimal(rng.randrange(-(10**9), 10**9)).scaleb(-2) for _ in range(300)] + [None]


@pytest.mark.parametrize("buckets", [1, 4, 16, 1000])
def test_bucket_matches_the_spec(buckets):
    transform = BucketTransform(buckets)
    cases = [
        (pa.array(LONGS, pa.int64()), LongType(), LONGS),
        (pa.array(INTS, pa.int32()), IntegerType(), INTS),
        (pa.array(MICROS, pa.int64()).cast(pa.timestamp("us")), TimestampType(), MICROS),
        (pa.array(DAYS, pa.int32()).cast(pa.date32()), DateType(), DAYS),
        (pa.array(STRINGS), StringType(), STRINGS),
        (pa.array(DECIMALS, pa.decimal128(12, 2)), DecimalType(12, 2), DECIMALS),
    ]
    for array, kind, values in cases:
        assert bucket_array(array, buckets).to_pylist() == [transform.transform(kind)(v) for v in values], kind


def test_time_transforms_match_the_spec():
    stamps = pa.array(MICROS, pa.int64()).cast(pa.timestamp("us"))
    dates = pa.array(DAYS, pa.int32()).cast(pa.date32())
    for transform, unit in ((YearTransform(), "year"), (MonthTransform(), "month"), (DayTransform(), "day"),
                            (HourTransform(), "hour")):
        assert time_transform_array(stamps, unit).to_pylist() == [transform.transform(TimestampType())(v) for v in MICROS]
        if unit != "hour":
            assert time_transform_array(dates, unit).to_pylist() == [transform.transform(DateType())(v) for v in DAYS]
