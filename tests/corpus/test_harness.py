"""The corpus harness itself: reading each output format into canonical rows, and comparing rows.
No engine; these guard the guard (a comparison that cannot fail would pass every engine)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.corpus.canonical import canonical, from_text
from tests.corpus.harness import Expected, OutputError, compare_rows, read_sink

COLUMNS = [("id", "int"), ("amount", "decimal(10,2)"), ("ratio", "double"), ("at", "timestamp"), ("label", "string")]
ROWS = [
    [1, "12.30", 0.1, "2026-01-01 00:00:00.250", "a, b"],
    [2, None, None, None, None],
]


def expected(rows: list[list[object]] = ROWS, ordered: bool = False) -> Expected:
    return Expected(COLUMNS, rows, ordered)


def test_rows_match_as_a_multiset_unless_ordered() -> None:
    assert compare_rows(expected(), list(reversed(ROWS))) is None
    diff = compare_rows(expected(ordered=True), list(reversed(ROWS)))
    assert diff is not None and "order" in diff


def test_a_diff_names_missing_and_unexpected_rows() -> None:
    produced = [ROWS[0], [3, "1.00", 2.0, None, "x"]]
    diff = compare_rows(expected(), produced)
    assert diff is not None
    assert "missing (1" in diff and '"id": 2' in diff
    assert "unexpected (1" in diff and '"id": 3' in diff


def test_duplicates_count() -> None:
    assert compare_rows(expected([ROWS[0], ROWS[0]]), [ROWS[0]]) is not None


def test_doubles_compare_with_a_relative_tolerance_and_nothing_else_does() -> None:
    close = [[1, "12.30", 0.1 * (1 + 1e-12), "2026-01-01 00:00:00.250", "a, b"], ROWS[1]]
    assert compare_rows(expected(), close) is None
    far = [[1, "12.30", 0.1 * (1 + 1e-6), "2026-01-01 00:00:00.250", "a, b"], ROWS[1]]
    assert compare_rows(expected(), far) is not None
    assert compare_rows(expected(), [[1, "12.31", 0.1, "2026-01-01 00:00:00.250", "a, b"], ROWS[1]]) is not None


def test_canonical_decimals_keep_their_scale_and_show_extra_digits() -> None:
    assert canonical(Decimal("12.3"), "decimal(10,2)") == "12.30"
    assert canonical(Decimal("-0.00"), "decimal(10,2)") == "0.00"
    assert canonical(Decimal("12.345"), "decimal(10,2)") == "12.345"  # not rounded away: a visible mismatch
    assert from_text("1E-10", "decimal(20,10)") == "0.0000000001"


def test_canonical_timestamps() -> None:
    assert canonical(dt.datetime(2026, 1, 2, 3, 4, 5), "timestamp") == "2026-01-02 03:04:05"
    assert canonical(dt.datetime(2026, 1, 2, 3, 4, 5, 120000), "timestamp") == "2026-01-02 03:04:05.120"
    assert canonical(dt.datetime(2026, 1, 2, 3, 4, 5, 1), "timestamp") == "2026-01-02 03:04:05.000001"
    assert from_text("2026-01-02 03:04:05.5", "timestamp") == "2026-01-02 03:04:05.500"
    with pytest.raises(ValueError):
        from_text("2026-01-02T03:04:05", "timestamp")


def test_parquet_is_read_with_its_types_checked(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    schema = pa.schema([("id", pa.int32()), ("amount", pa.decimal128(10, 2)), ("ratio", pa.float64()),
                        ("at", pa.timestamp("us", tz="UTC")), ("label", pa.string())])  # fmt: skip
    utc = dt.UTC
    table = pa.table(
        {"id": [1, 2], "amount": [Decimal("12.30"), None], "ratio": [0.1, None],
         "at": [dt.datetime(2026, 1, 1, 0, 0, 0, 250000, tzinfo=utc), None], "label": ["a, b", None]},
        schema=schema,
    )  # fmt: skip
    pq.write_table(table, folder / "part-00000.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000.parquet.crc").write_text("")
    assert read_sink(folder, "parquet", expected()) == ROWS

    pq.write_table(table.cast(schema.set(0, pa.field("id", pa.int64()))), folder / "part-00000.parquet")
    with pytest.raises(OutputError, match="id: bigint \\(expected int\\)"):
        read_sink(folder, "parquet", expected())


def test_csv_is_read_with_its_header_and_empty_fields_as_null(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "part-1.csv").write_text('id,amount,ratio,at,label\n1,12.30,0.1,2026-01-01 00:00:00.250,"a, b"\n')
    (folder / "part-2.csv").write_text("id,amount,ratio,at,label\n2,,,,\n")
    (folder / "part-3.csv").write_text("")
    assert read_sink(folder, "csv", expected()) == ROWS
    (folder / "part-2.csv").write_text("2,,,,\n")
    with pytest.raises(OutputError, match="header"):
        read_sink(folder, "csv", expected())


def test_json_lines_missing_keys_are_null_and_unknown_keys_fail(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "part-0").write_text(
        '{"id":1,"amount":12.3,"ratio":0.1,"at":"2026-01-01 00:00:00.25","label":"a, b"}\n{"id":2,"label":null}\n'
    )
    assert read_sink(folder, "json", expected()) == ROWS
    (folder / "part-1").write_text('{"id":3,"extra":true}\n')
    with pytest.raises(OutputError, match="unexpected keys"):
        read_sink(folder, "json", expected())


def test_a_sink_that_wrote_nothing_fails(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        read_sink(tmp_path / "missing", "parquet", expected())
