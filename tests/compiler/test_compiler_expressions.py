"""Expressions: the supported set, type inference, and how parameters and text are emitted."""

from __future__ import annotations

import pytest

from compiler.expressions import SUPPORTED_FUNCTIONS, analyse_expression
from compiler.parameters import ParameterValue
from compiler.types import Field

SCHEMA = [
    Field("order_id", "bigint", False),
    Field("qty", "int"),
    Field("amount", "decimal(12,2)"),
    Field("price", "double"),
    Field("customer", "string"),
    Field("order_date", "date"),
    Field("created_at", "timestamp"),
    Field("vip", "boolean"),
]
PARAMETERS = {
    "run_date": ParameterValue("run_date", "date", "2026-01-02"),
    "since": ParameterValue("since", "timestamp", "2026-01-01 10:00:00.5"),
    "who": ParameterValue("who", "string", "O'Brien \\ \n -- /* */"),
    "limit": ParameterValue("limit", "int", 5),
    "offset": ParameterValue("offset", "int", -3),
    "big": ParameterValue("big", "bigint", 9_000_000_000),
    "rate": ParameterValue("rate", "double", 0.1),
    "flag": ParameterValue("flag", "boolean", True),
}


def typed(text: str) -> tuple[str | None, bool]:
    analysed, errors = analyse_expression(text, schema=SCHEMA, parameters=PARAMETERS)
    assert analysed is not None, errors
    return analysed.type, analysed.nullable


def emitted(text: str) -> str:
    analysed, errors = analyse_expression(text, schema=SCHEMA, parameters=PARAMETERS)
    assert analysed is not None, errors
    return analysed.sql()


def error_of(text: str, schema: list[Field] | None = SCHEMA) -> str:
    analysed, errors = analyse_expression(text, schema=schema, parameters=PARAMETERS)
    assert analysed is None and errors
    return " | ".join(errors)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amount > 100", ("boolean", True)),
        ("order_id = 1", ("boolean", False)),
        ("qty + 1", ("int", True)),
        ("qty + order_id", ("bigint", True)),
        ("qty / 2", ("double", True)),
        ("amount * 2", ("decimal(14,2)", True)),
        ("amount + 1.5", ("decimal(13,2)", True)),
        ("amount / 3", ("decimal(16,6)", True)),
        ("amount * amount", ("decimal(25,4)", True)),
        ("amount + price", ("double", True)),
        ("round(amount, 1)", ("decimal(12,1)", True)),
        ("round(amount, -1)", ("decimal(11,0)", True)),
        ("floor(amount)", ("decimal(11,0)", True)),
        ("ceil(price)", ("bigint", True)),
        ("abs(qty)", ("int", True)),
        ("coalesce(amount, 0)", ("decimal(12,2)", False)),
        ("coalesce(qty, order_id)", ("bigint", False)),
        ("nullif(customer, '')", ("string", True)),
        ("CASE WHEN vip THEN 'gold' ELSE 'plain' END", ("string", False)),
        ("CASE WHEN vip THEN 1 END", ("int", True)),
        ("CASE qty WHEN 1 THEN amount ELSE price END", ("double", True)),
        ("CAST(qty AS decimal(5,1))", ("decimal(5,1)", True)),
        ("CAST(customer AS int)", ("int", True)),
        ("lower(customer) LIKE 'a%'", ("boolean", True)),
        ("upper(trim(customer))", ("string", True)),
        ("length(customer)", ("int", True)),
        ("concat(customer, '-', customer)", ("string", True)),
        ("customer || '!'", ("string", True)),
        ("substring(customer, 1, 3)", ("string", True)),
        ("regexp_extract(customer, '([a-z]+)', 1)", ("string", True)),
        ("to_date(customer, 'yyyy-MM-dd')", ("date", True)),
        ("to_timestamp(customer)", ("timestamp", True)),
        ("date_trunc('month', created_at)", ("timestamp", True)),
        ("year(order_date) + month(order_date) + day(order_date) + hour(created_at)", ("int", True)),
        ("datediff(order_date, created_at)", ("int", True)),
        ("date_add(order_date, 7)", ("date", True)),
        ("order_date + 1", ("date", True)),
        ("current_date()", ("date", False)),
        ("current_timestamp()", ("timestamp", False)),
        ("qty IS NULL", ("boolean", False)),
        ("customer IS NOT NULL AND NOT vip", ("boolean", True)),
        ("qty IN (1, 2, 3)", ("boolean", True)),
        ("amount BETWEEN 1 AND 10", ("boolean", True)),
        ("order_date >= '2026-01-01'", ("boolean", True)),
        ("order_id <=> NULL", ("boolean", False)),
        ("-qty", ("int", True)),
        ("1e3", ("double", False)),
        ("0.05", ("decimal(2,2)", False)),
        ("3000000000", ("bigint", False)),
        ("order_date = ${run_date}", ("boolean", True)),
        ("created_at < ${since}", ("boolean", True)),
        ("qty + ${limit}", ("int", True)),
        ("order_id + ${big}", ("bigint", False)),
        ("price * ${rate}", ("double", True)),
        ("vip = ${flag}", ("boolean", True)),
    ],
)
def test_inferred_types(text: str, expected: tuple[str, bool]) -> None:
    assert typed(text) == expected


@pytest.mark.parametrize(
    ("text", "sql"),
    [
        ("amount > 100", "`amount` > 100"),
        ("order_date = ${run_date}", "`order_date` = DATE '2026-01-02'"),
        ("created_at < ${since}", "`created_at` < TIMESTAMP '2026-01-01 10:00:00.5'"),
        ("customer = ${who}", r"`customer` = 'O\'Brien \\ \n -- /* */'"),
        ("qty > ${limit}", "`qty` > 5"),
        ("qty > ${offset}", "`qty` > CAST(-3 AS INT)"),
        ("order_id > ${big}", "`order_id` > CAST(9000000000 AS BIGINT)"),
        ("price > ${rate}", "`price` > CAST(0.1 AS DOUBLE)"),
        ("vip = ${flag}", "`vip` = TRUE"),
        # Spark would substitute ${...} inside literals; `\{` reads back as `{`.
        ("customer = '${who}'", "`customer` = '$\\{who}'"),
        ("amount > 1 -- and the rest", "`amount` > 1"),
        ("amount /* note */ > 1", "`amount` > 1"),
        ("to_date(customer, 'dd/MM/yyyy')", "TO_DATE(`customer`, 'dd/MM/yyyy')"),
        ("regexp_extract(customer, '(a)(b)', 2)", "REGEXP_EXTRACT(`customer`, '(a)(b)', 2)"),
        ("`order_id` = 1", "`order_id` = 1"),
    ],
)
def test_emitted_sql(text: str, sql: str) -> None:
    assert emitted(text) == sql


def test_every_supported_function_is_accepted() -> None:
    calls = {
        "abs": "abs(qty)", "round": "round(price)", "floor": "floor(price)", "ceil": "ceil(price)",
        "lower": "lower(customer)", "upper": "upper(customer)", "trim": "trim(customer)",
        "length": "length(customer)", "concat": "concat(customer)", "substring": "substring(customer, 2)",
        "regexp_extract": "regexp_extract(customer, 'a')", "to_date": "to_date(customer)",
        "to_timestamp": "to_timestamp(customer, 'yyyy')", "date_trunc": "date_trunc('day', created_at)",
        "year": "year(order_date)", "month": "month(order_date)", "day": "day(order_date)",
        "hour": "hour(created_at)", "datediff": "datediff(order_date, order_date)",
        "date_add": "date_add(order_date, 1)", "current_date": "current_date()",
        "current_timestamp": "current_timestamp()", "coalesce": "coalesce(qty, 1)", "nullif": "nullif(qty, 1)",
    }  # fmt: skip
    assert set(calls) == set(SUPPORTED_FUNCTIONS)
    for text in calls.values():
        typed(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("sqrt(price)", "function 'sqrt' is not supported"),
        ("if(vip, 1, 2)", "function 'if' is not supported; use CASE WHEN"),
        ("ifnull(qty, 0)", "use coalesce instead"),
        ("substr(customer, 1)", None),
        ("try_cast(customer AS int)", "function 'try_cast' is not supported"),
        ("extract(year FROM order_date)", "function 'extract' is not supported"),
        ("customer RLIKE 'a'", "RLIKE is not supported"),
        ("qty & 1", "'&' is not supported"),
        ("qty DIV 2", "DIV operator is not supported"),
        ("order_date + INTERVAL 1 DAY", "INTERVAL values are not supported"),
        ("count(*)", "function 'count' is not supported"),
        ("sum(qty) OVER ()", "window functions"),
        ("qty IN (SELECT 1)", "subqueries"),
        ("t.qty > 1", "qualified column names"),
        ("qty AS q", "aliases (AS) are not allowed"),
        ("vip IS TRUE", "only IS NULL and IS NOT NULL"),
        ("CAST(qty AS tinyint)", "use 'int'"),
        ("CAST(order_date AS int)", "cannot CAST date to int"),
        ("ceil(price, 2)", "ceil takes one argument"),
        ("round(price, qty)", "round() needs a whole number of decimal places"),
        ("date_trunc('fortnight', created_at)", "date_trunc() needs a unit"),
        ("year(customer)", "convert text with to_date()"),
        ("date_add(order_date, order_id)", "use CAST(x AS int)"),
        ("concat(customer, qty)", "concat expects text, but 'qty' is int"),
        ("customer + 1", "'+' needs numbers, but 'customer' is string"),
        ("vip AND qty", "AND expects a true/false condition"),
        ("order_date = 5", "cannot compare"),
        ("CASE WHEN vip THEN 'a' ELSE 1 END", "CASE mixes string and int"),
        ("substring(customer, 'a')", "substring expects a whole number"),
        ("lower(customer, customer)", "lower() takes 1 argument, not 2"),
        ("${nothing}", "parameter '${nothing}' is not declared"),
        ("@x", "not a valid parameter reference"),
        ("${ limit }", "not a valid parameter reference"),
        ("1" * 40, "too large"),
        ("(" * 80 + "1" + ")" * 80, "nested too deeply"),
        ("NOT " * 3000 + "vip", "nested too deeply"),
        ("", "empty"),
        ("qty >", "not valid Spark SQL"),
        ("'unterminated", "could not be read"),
        ("qty; qty", "single expression"),
    ],
)
def test_rejected_expressions(text: str, fragment: str | None) -> None:
    if fragment is None:
        typed(text)  # sqlglot reads substr as SUBSTRING: the same function, emitted as substring
        return
    assert fragment in error_of(text)


def test_unsupported_functions_are_errors_even_when_the_schema_is_unknown() -> None:
    assert "function 'sqrt' is not supported" in error_of("sqrt(anything) > 1", schema=None)
    analysed, errors = analyse_expression("anything > 1", schema=None, parameters=PARAMETERS)
    assert errors == [] and analysed is not None and analysed.type is None and analysed.columns == ("anything",)


def test_columns_read_are_listed() -> None:
    analysed, _ = analyse_expression("amount > qty AND amount > 1", schema=SCHEMA, parameters=PARAMETERS)
    assert analysed is not None and analysed.columns == ("amount", "qty")
