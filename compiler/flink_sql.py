"""Flink SQL from the front end's checked Spark SQL trees, with the studio's (Spark 4) semantics.

Flink's SQL differs from Spark's in many small ways (`/` on integers, `SUM(int)`, week starts,
`regexp_extract` without a match, boolean text, timestamp text, division by zero on doubles, ...).
This module emits, for every construct of the supported set, Flink SQL that gives Spark's result;
the table "Engine semantics" in compiler/README.md lists each difference and what is emitted.

The emitter needs the type of every sub-expression, so it re-runs the front end's typer over the
tree with the node's input schema. Identifiers are always quoted with backticks (validated column
names never contain one) and text only enters as SQL string literals with quotes doubled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from sqlglot import exp

from compiler.expressions import _OPERATORS, Typed, TypedLiteral, _function_name, _Typer
from compiler.sql import Query
from compiler.types import COLUMN_NAME, INTEGRAL, Field, decimal_parts, is_numeric

__all__ = [
    "AGGREGATES",
    "ExpressionEmitter",
    "QueryEmitter",
    "aggregate_sql",
    "cast_value",
    "check_sql",
    "flink_type",
    "identifier",
    "parse_text",
    "recording",
    "string_literal",
    "text_of",
]

_SIMPLE_TYPES = {
    "string": "STRING",
    "boolean": "BOOLEAN",
    "int": "INT",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP(6)",
    "binary": "BYTES",
    "array<string>": "ARRAY<STRING>",
}
FLOATING = frozenset({"float", "double"})


def flink_type(type_name: str) -> str:
    """Flink DDL for a studio type; timestamps keep Spark's microseconds."""
    parts = decimal_parts(type_name)
    if parts:
        return f"DECIMAL({parts[0]}, {parts[1]})"
    return _SIMPLE_TYPES[type_name]


def identifier(name: str) -> str:
    """A quoted Flink identifier; names are validated column names or names this module chose."""
    if "`" in name or not name:
        raise ValueError(f"invalid identifier {name!r}")
    return f"`{name}`"


def string_literal(value: str) -> str:
    """A Flink SQL string literal: no backslash escapes in Flink, so only quotes are doubled."""
    return "'" + value.replace("'", "''") + "'"


def check_sql(sql: str) -> str:
    """A last guard on emitted SQL: outside string literals and quoted identifiers there is no
    comment, statement separator or stray quote, whatever text the document held."""
    i = 0
    while i < len(sql):
        ch = sql[i]
        if ch in "'`":
            end = sql.find(ch, i + 1)
            while end != -1 and ch == "'" and sql[end + 1 : end + 2] == "'":
                end = sql.find(ch, end + 2)
            if end == -1:
                raise ValueError(f"unbalanced {ch} in emitted SQL")
            i = end + 1
            continue
        if sql.startswith(("--", "/*", "*/"), i) or ch in ';"\\':
            raise ValueError(f"unexpected {sql[i:i + 2]!r} in emitted SQL")
        i += 1
    return sql


def _fails(message: str, detail_sql: str, target: str) -> str:
    """An expression that stops the job with `message` when it is evaluated.

    Flink SQL has no RAISE; casting text that is not a number or timestamp fails the task with the
    text in the error. The text includes a row value, so the planner cannot fold it to a constant
    and fail a job whose rows never reach this branch."""
    text = f"CONCAT({string_literal(message + ': ')}, COALESCE(CAST({detail_sql} AS STRING), 'NULL'))"
    return f"CAST({text} AS {'DOUBLE' if target not in ('timestamp', 'date') else flink_type(target)})"


# Text -> value conversions ------------------------------------------------------------------


def _timestamp_from_text(sql: str) -> str:
    """Spark accepts 'yyyy-MM-dd', 'yyyy-MM-dd HH:mm[:ss[.f]]' with ' ' or 'T'; Flink's CAST only
    the space form with seconds, so 'T' becomes ' ' and missing seconds are added."""
    text = f"REPLACE(TRIM({sql}), 'T', ' ')"
    return f"CAST(REGEXP_REPLACE({text}, '^(\\d{{4}}-\\d{{1,2}}-\\d{{1,2}} \\d{{1,2}}:\\d{{2}})$', '$1:00') AS TIMESTAMP(6))"


def parse_text(sql: str, type_name: str) -> str:
    """Text read from a CSV or JSON file -> the column's type; invalid text fails the job (as
    Spark's FAILFAST reader does). Empty fields are already NULL."""
    if type_name == "string":
        return sql
    if type_name == "timestamp":
        return _timestamp_from_text(sql)
    if type_name == "boolean":
        # Spark's CSV reader takes only true/false (any case); Flink's CAST also takes yes/no/1/0.
        lowered = f"LOWER({sql})"
        return (
            f"CASE WHEN {lowered} = 'true' THEN TRUE WHEN {lowered} = 'false' THEN FALSE "
            f"WHEN {sql} IS NULL THEN CAST(NULL AS BOOLEAN) ELSE {_fails('Not a boolean', sql, 'boolean')} = 1 END"
        )
    if type_name == "binary":
        return f"CAST({sql} AS BYTES)"
    return f"CAST({sql} AS {flink_type(type_name)})"


def text_of(sql: str, type_name: str, timestamp_format: str = "yyyy-MM-dd HH:mm:ss.SSS") -> str:
    """A value as the text Spark writes to CSV and JSON files (timestamps with milliseconds)."""
    if type_name == "timestamp":
        return f"DATE_FORMAT({sql}, {string_literal(timestamp_format)})"
    if type_name == "boolean":
        return f"LOWER(CAST({sql} AS STRING))"
    return f"CAST({sql} AS STRING)"


# CAST with Spark's rules ----------------------------------------------------------------------


def _timestamp_seconds(sql: str) -> str:
    """Whole seconds since the epoch of a TIMESTAMP (floor, as Spark's CAST to bigint)."""
    return f"UNIX_TIMESTAMP(DATE_FORMAT({sql}, 'yyyy-MM-dd HH:mm:ss'))"


def cast_value(sql: str, source: str, target: str) -> str:
    """CAST(sql AS target) with Spark 4's (ANSI) behaviour for a value of type `source`."""
    if source == target:
        return sql
    target_sql = flink_type(target)
    if source == "null":
        return f"CAST(NULL AS {target_sql})"
    if source == "string":
        if target == "timestamp":
            return _timestamp_from_text(sql)
        # Flink's CAST fails on malformed text, as Spark's ANSI CAST does.
        return f"CAST({sql} AS {target_sql})"
    if target == "string":
        if source == "boolean":
            return f"LOWER(CAST({sql} AS STRING))"
        if source == "timestamp":
            # Spark prints the fraction without trailing zeros ('10:00:00.25', '10:00:00').
            return f"REGEXP_REPLACE(DATE_FORMAT({sql}, 'yyyy-MM-dd HH:mm:ss.SSSSSS'), '\\.?0+$', '')"
        return f"CAST({sql} AS STRING)"
    if source == "timestamp" and is_numeric(target):
        if target in INTEGRAL:
            return f"CAST({_timestamp_seconds(sql)} AS {target_sql})"
        micros = f"{_timestamp_seconds(sql)} * 1000000 + CAST(DATE_FORMAT({sql}, 'SSSSSS') AS BIGINT)"
        return f"CAST(CAST({micros} AS DOUBLE) / 1000000 AS {target_sql})"
    if is_numeric(source) and target == "timestamp":
        if source in INTEGRAL:
            return f"CAST(TO_TIMESTAMP_LTZ({sql}, 0) AS TIMESTAMP(6))"
        return f"CAST(TO_TIMESTAMP_LTZ(CAST(FLOOR({sql} * 1000) AS BIGINT), 3) AS TIMESTAMP(6))"
    return f"CAST({sql} AS {target_sql})"


# The expression emitter -------------------------------------------------------------------------


def recording(base: type[_Typer]) -> type[_Typer]:
    """A typer class that also keeps the type of every node it visits (in `self.types`)."""

    class Recording(base):  # type: ignore[valid-type, misc]
        types: dict[int, Typed]

        def type_of(self, node: exp.Expression) -> Typed:
            typed = super().type_of(node)
            if "types" not in self.__dict__:
                self.types = {}
            self.types[id(node)] = typed
            return typed

    Recording.__name__ = f"Recording{base.__name__}"
    return Recording


_ATOMIC = (exp.Column, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.Anonymous, exp.Cast, exp.Case,
           exp.Substring, exp.Trim, exp.Ceil, exp.Floor, exp.Concat, exp.CurrentDate, exp.CurrentTimestamp,
           TypedLiteral)  # fmt: skip
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ)
_DATE_TRUNC = {
    "year": "YEAR", "yyyy": "YEAR", "yy": "YEAR", "quarter": "QUARTER", "month": "MONTH", "mon": "MONTH",
    "mm": "MONTH", "day": "DAY", "dd": "DAY", "hour": "HOUR", "minute": "MINUTE", "second": "SECOND",
    "millisecond": "MILLISECOND",
}  # fmt: skip


class ExpressionEmitter:
    """Emits checked expressions as Flink SQL. Types come from the front end's typer, re-run over
    `schema`, or from a recording typer that already saw the tree (join conditions, queries);
    qualified columns (`left.x`, `o.amount`) are written with `qualifiers[table]` as qualifier."""

    def __init__(
        self,
        schema: Sequence[Field] = (),
        *,
        typer: _Typer | None = None,
        qualifiers: Mapping[str, str] | None = None,
    ) -> None:
        self._typer = typer if typer is not None else recording(_Typer)(list(schema), [])
        self.qualifiers = dict(qualifiers or {})

    def emit(self, tree: exp.Expression, as_type: str | None = None) -> str:
        """The expression as Flink SQL; with `as_type`, cast to that (the inferred) type."""
        typed = self._typer.types.get(id(tree)) if "types" in self._typer.__dict__ else None
        if typed is None:
            typed = self._typer.type_of(tree)
        sql = self.sql(tree, want=as_type)
        if as_type is not None and typed.type not in (as_type, "null"):
            return cast_value(sql, typed.type, as_type)
        if as_type is not None and _needs_pinning(tree, typed.type) and not _is_cast_to(sql, flink_type(as_type)):
            return f"CAST({sql} AS {flink_type(as_type)})"
        return sql

    def type(self, node: exp.Expression) -> str:
        typed = self._typer.__dict__.get("types", {}).get(id(node))
        if typed is None:
            typed = self._typer.type_of(node)
        return typed.type

    # Dispatch -----------------------------------------------------------------------------
    def sql(self, node: exp.Expression, want: str | None = None) -> str:
        method: Callable[[exp.Expression, str | None], str] | None = getattr(
            self, f"_e_{type(node).__name__.lower()}", None
        )
        if method is None:
            raise ValueError(f"no Flink SQL for {type(node).__name__}")
        return method(node, want)

    def operand(self, node: exp.Expression, want: str | None = None) -> str:
        """A sub-expression, in brackets unless it is atomic."""
        text = self.sql(node, want)
        return text if isinstance(node, _ATOMIC) else f"({text})"

    def as_type(self, node: exp.Expression, target: str) -> str:
        """A sub-expression converted to `target` with Spark's implicit-cast rules."""
        source = self.type(node)
        if source == target:
            return self.sql(node, target)
        if source == "null":
            return f"CAST(NULL AS {flink_type(target)})"
        return cast_value(self.operand(node), source, target)

    # Leaves -------------------------------------------------------------------------------
    def _e_column(self, node: exp.Column, want: str | None) -> str:
        if not COLUMN_NAME.fullmatch(node.name):
            raise ValueError(f"invalid column name {node.name!r}")
        if node.table:
            qualifier = self.qualifiers.get(node.table, node.table)
            return f"{identifier(qualifier)}.{identifier(node.name)}"
        return identifier(node.name)

    def _e_literal(self, node: exp.Literal, want: str | None) -> str:
        if node.is_string:
            return string_literal(str(node.this))
        text = str(node.this)
        typed = self.type(node)
        if re.fullmatch(r"[0-9]+", text):
            if typed == "int":
                return text
            if typed == "bigint":
                return f"CAST({text} AS BIGINT)"
            return f"CAST({text} AS {flink_type(typed)})"
        if typed == "double":
            return f"CAST({text} AS DOUBLE)"
        if not re.fullmatch(r"[0-9]*\.?[0-9]*", text):
            raise ValueError(f"unexpected number literal {text!r}")
        return text

    def _e_boolean(self, node: exp.Boolean, want: str | None) -> str:
        return "TRUE" if node.this else "FALSE"

    def _e_null(self, node: exp.Null, want: str | None) -> str:
        return f"CAST(NULL AS {flink_type(want)})" if want and want != "null" else "NULL"

    def _e_typedliteral(self, node: TypedLiteral, want: str | None) -> str:
        value = str(node.this.this)
        if node.args["kind"] == "DATE":
            return f"DATE {string_literal(value)}"
        return f"CAST(TIMESTAMP {string_literal(value.replace('T', ' '))} AS TIMESTAMP(6))"

    def _e_paren(self, node: exp.Paren, want: str | None) -> str:
        return f"({self.sql(node.this, want)})"

    def _e_currentdate(self, node: exp.Expression, want: str | None) -> str:
        return "CURRENT_DATE"  # in the session time zone, UTC

    def _e_currenttimestamp(self, node: exp.Expression, want: str | None) -> str:
        # Flink's CURRENT_TIMESTAMP has a time zone; the studio's timestamps have none (UTC).
        return "CAST(LOCALTIMESTAMP AS TIMESTAMP(6))"

    # Operators ----------------------------------------------------------------------------
    def _e_neg(self, node: exp.Neg, want: str | None) -> str:
        return f"-{self.operand(node.this, want)}"

    def _arithmetic(self, node: exp.Binary, want: str | None) -> str:
        result = self.type(node)
        left, right = node.this, node.expression
        lt, rt = self.type(left), self.type(right)
        if result == "date":
            # date + n, n + date, date - n: Spark's date_add.
            if lt == "date":
                days = self.as_type(right, "int")
                days = f"-{_bracket(days)}" if isinstance(node, exp.Sub) else days
                return f"TIMESTAMPADD(DAY, {days}, {self.sql(left)})"
            return f"TIMESTAMPADD(DAY, {self.as_type(left, 'int')}, {self.sql(right)})"
        if isinstance(node, exp.Div):
            return self._divide(node, result)
        if isinstance(node, exp.Mod):
            return self._modulo(node, result)
        op = _OPERATORS[type(node)]
        if result.startswith("decimal"):
            a = self._decimal_operand(left, lt, result)
            b = self._decimal_operand(right, rt, result)
            return f"{a} {op} {b}"
        return f"{_bracket(self.as_type(left, result))} {op} {_bracket(self.as_type(right, result))}"

    def _decimal_operand(self, node: exp.Expression, typed: str, result: str) -> str:
        """Operands of decimal arithmetic keep their own decimal type (Flink's precision rules are
        Spark's); integers become decimals the way Spark sees them, floats and doubles stay."""
        if typed.startswith("decimal"):
            return self.operand(node)
        if typed in INTEGRAL or typed == "null":
            if typed == "null":
                return f"CAST(NULL AS {flink_type(result)})"
            if isinstance(node, exp.Literal):
                # Spark types an integer literal in decimal arithmetic by its digits, not as a
                # 10-digit decimal as Flink does; the result's precision and scale depend on it.
                digits = len(str(node.this).lstrip("0")) or 1
                return f"CAST({node.this} AS DECIMAL({digits}, 0))"
            return f"CAST({self.operand(node)} AS DECIMAL({10 if typed == 'int' else 20}, 0))"
        return self.operand(node)

    def _divide(self, node: exp.Binary, result: str) -> str:
        left, right = node.this, node.expression
        if result.startswith("decimal"):
            # Flink fails on a zero decimal divisor, as Spark's ANSI mode does.
            a = self._decimal_operand(left, self.type(left), result)
            b = self._decimal_operand(right, self.type(right), result)
            return f"{a} / {b}"
        # Integers divide as doubles in Spark; a zero divisor fails the job (Flink would give Infinity).
        a = _bracket(self.as_type(left, result))
        divisor = _bracket(self.as_type(right, result))
        return f"{a} / {divisor if _nonzero_literal(right) else self._nonzero(a, divisor)}"

    def _nonzero(self, dividend: str, divisor: str) -> str:
        """The divisor, failing the job when it is zero and the dividend is not NULL (Spark 4 ANSI:
        NULL / 0 is NULL)."""
        fail = _fails("[DIVIDE_BY_ZERO] Division by zero", divisor, "double")
        return f"(CASE WHEN {divisor} = 0 AND {dividend} IS NOT NULL THEN {fail} ELSE NULLIF({divisor}, 0) END)"

    def _modulo(self, node: exp.Binary, result: str) -> str:
        left, right = node.this, node.expression
        if result in FLOATING:
            # Flink's MOD takes only exact numbers: a - b * TRUNCATE(a / b), with Spark's zero check.
            a = _bracket(self.as_type(left, result))
            b = _bracket(self.as_type(right, result))
            divisor = b if _nonzero_literal(right) else self._nonzero(a, b)
            return f"{a} - {b} * TRUNCATE({a} / {divisor})"
        if result.startswith("decimal"):
            a = self._decimal_operand(left, self.type(left), result)
            b = self._decimal_operand(right, self.type(right), result)
            return f"MOD({a}, {b})"
        return f"MOD({self.as_type(left, result)}, {self.as_type(right, result)})"

    _e_add = _e_sub = _e_mul = _e_div = _e_mod = _arithmetic

    def _e_dpipe(self, node: exp.DPipe, want: str | None) -> str:
        return f"{self.operand(node.this, 'string')} || {self.operand(node.expression, 'string')}"

    def _comparable_pair(self, left: exp.Expression, right: exp.Expression) -> tuple[str, str]:
        """Both sides of a comparison in one type, as Spark coerces them (text to the other side)."""
        lt, rt = self.type(left), self.type(right)
        common = _comparison_type(lt, rt)
        return self._coerced(left, lt, common), self._coerced(right, rt, common)

    def _coerced(self, node: exp.Expression, typed: str, common: str) -> str:
        if typed == common or common == "null":
            return self.operand(node, common)
        if typed == "null":
            return f"CAST(NULL AS {flink_type(common)})"
        if typed.startswith("decimal") and common.startswith("decimal"):
            return self.operand(node)
        if typed in INTEGRAL and common.startswith("decimal") and not isinstance(node, exp.Literal):
            return self.operand(node)
        return _bracket(self.as_type(node, common))

    def _comparison(self, node: exp.Binary, want: str | None) -> str:
        a, b = self._comparable_pair(node.this, node.expression)
        if isinstance(node, exp.NullSafeEQ):
            return f"{a} IS NOT DISTINCT FROM {b}"
        return f"{a} {_OPERATORS[type(node)]} {b}"

    _e_eq = _e_neq = _e_gt = _e_gte = _e_lt = _e_lte = _e_nullsafeeq = _comparison

    def _logical(self, node: exp.Binary, want: str | None) -> str:
        op = _OPERATORS[type(node)]
        return f"{self.operand(node.this, 'boolean')} {op} {self.operand(node.expression, 'boolean')}"

    _e_and = _e_or = _logical

    def _e_not(self, node: exp.Not, want: str | None) -> str:
        inner = node.this
        if isinstance(inner, exp.Is):
            return f"{self.operand(inner.this)} IS NOT NULL"
        if isinstance(inner, exp.In):
            return self._in(inner, negate=True)
        if isinstance(inner, exp.Between):
            return self._between(inner, negate=True)
        return f"NOT {self.operand(inner, 'boolean')}"

    def _e_is(self, node: exp.Is, want: str | None) -> str:
        return f"{self.operand(node.this)} IS NULL"

    def _in(self, node: exp.In, negate: bool = False) -> str:
        value = node.this
        common = self.type(value)
        for item in node.expressions:
            common = _comparison_type(common, self.type(item))
        items = ", ".join(self._coerced(item, self.type(item), common) for item in node.expressions)
        return f"{self._coerced(value, self.type(value), common)} {'NOT IN' if negate else 'IN'} ({items})"

    def _e_in(self, node: exp.In, want: str | None) -> str:
        return self._in(node)

    def _between(self, node: exp.Between, negate: bool = False) -> str:
        value, low, high = node.this, node.args["low"], node.args["high"]
        vt = self.type(value)
        common = _comparison_type(_comparison_type(vt, self.type(low)), self.type(high))
        parts = [self._coerced(n, self.type(n), common) for n in (value, low, high)]
        keyword = "NOT BETWEEN" if negate else "BETWEEN"
        return f"{parts[0]} {keyword} {parts[1]} AND {parts[2]}"

    def _e_between(self, node: exp.Between, want: str | None) -> str:
        return self._between(node)

    def _e_like(self, node: exp.Like, want: str | None) -> str:
        # Spark's LIKE escapes with a backslash by default; Flink's has no escape unless told.
        keyword = "NOT LIKE" if node.args.get("negate") else "LIKE"
        return f"{self.operand(node.this, 'string')} {keyword} {self.operand(node.expression, 'string')} ESCAPE '\\'"

    def _e_case(self, node: exp.Case, want: str | None) -> str:
        result = self.type(node)
        target = want if result == "null" and want else result
        parts = ["CASE"]
        subject = node.this
        if subject is not None:
            common = self.type(subject)
            for branch in node.args.get("ifs") or []:
                common = _comparison_type(common, self.type(branch.this))
            parts.append(self._coerced(subject, self.type(subject), common))
        for branch in node.args.get("ifs") or []:
            condition = (
                self._coerced(branch.this, self.type(branch.this), common)
                if subject is not None
                else self.sql(branch.this, "boolean")
            )
            parts.append(f"WHEN {condition} THEN {self._branch(branch.args['true'], target)}")
        default = node.args.get("default")
        if default is not None:
            parts.append(f"ELSE {self._branch(default, target)}")
        parts.append("END")
        return " ".join(parts)

    def _branch(self, node: exp.Expression, target: str) -> str:
        if target == "null":
            return self.sql(node)
        return self.as_type(node, target)

    def _e_cast(self, node: exp.Cast, want: str | None) -> str:
        target = self.type(node)
        return cast_value(self.operand(node.this), self.type(node.this), target)

    _e_trycast = _e_cast

    # Functions ----------------------------------------------------------------------------
    def _e_anonymous(self, node: exp.Anonymous, want: str | None) -> str:
        name = _function_name(node)
        if name in AGGREGATES:
            return self._aggregate_call(node, name)
        method: Callable[[exp.Anonymous, list[exp.Expression], str | None], str] = getattr(self, f"_f_{name}")
        return method(node, list(node.expressions), want)

    def _aggregate_call(self, node: exp.Anonymous, name: str) -> str:
        """count/sum/avg/min/max inside a transform.sql query, with Spark's result types."""
        argument = node.expressions[0]
        if isinstance(argument, exp.Star):
            return "COUNT(*)"
        if isinstance(argument, exp.Distinct):
            return f"COUNT(DISTINCT {self.sql(argument.expressions[0])})"
        return aggregate_sql(name, self.sql(argument), self.type(argument), self.type(node))

    def _f_abs(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return f"ABS({self.sql(args[0])})"

    def _f_round(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        # Flink's ROUND is half-up on DOUBLE and DECIMAL, like Spark's; the result type is pinned.
        result = self.type(node)
        places = self.sql(args[1]) if len(args) == 2 else "0"
        return f"CAST(ROUND({self.sql(args[0])}, {places}) AS {flink_type(result)})"

    def _rounding(self, node: exp.Expression, function: str) -> str:
        result = self.type(node)
        return f"CAST({function}({self.sql(node.this)}) AS {flink_type(result)})"

    def _e_ceil(self, node: exp.Ceil, want: str | None) -> str:
        return self._rounding(node, "CEIL")

    def _e_floor(self, node: exp.Floor, want: str | None) -> str:
        return self._rounding(node, "FLOOR")

    def _f_lower(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return f"LOWER({self.sql(args[0], 'string')})"

    def _f_upper(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return f"UPPER({self.sql(args[0], 'string')})"

    def _f_length(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        if self.type(args[0]) == "binary":
            # Flink has no byte length for BYTES; the hex text is two characters per byte.
            return f"CAST(CHAR_LENGTH(HEX({self.sql(args[0])})) / 2 AS INT)"
        return f"CHAR_LENGTH({self.sql(args[0], 'string')})"

    def _f_concat(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return f"CONCAT({', '.join(self.sql(a, 'string') for a in args)})"

    def _e_concat(self, node: exp.Concat, want: str | None) -> str:
        return self._f_concat(node, list(node.expressions), want)

    def _e_substring(self, node: exp.Substring, want: str | None) -> str:
        # Flink's SUBSTRING treats 0 and negative positions as Spark does; a negative length gives ''.
        text = self.sql(node.this, "string")
        start = self.sql(node.args["start"], "int") if node.args.get("start") is not None else "1"
        length = node.args.get("length")
        if length is None:
            return f"SUBSTRING({text} FROM {start})"
        count = self.sql(length, "int")
        return f"SUBSTRING({text} FROM {start} FOR GREATEST({count}, 0))"

    def _e_trim(self, node: exp.Trim, want: str | None) -> str:
        position = str(node.args.get("position") or "BOTH").upper()
        characters = node.expression
        chars = self.sql(characters, "string") if characters is not None else "' '"
        return f"TRIM({position} {chars} FROM {self.sql(node.this, 'string')})"

    def _f_regexp_extract(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        # Spark's default group is 1 (Flink's is 0) and no match gives '' (Flink's gives NULL).
        text, pattern = self.sql(args[0], "string"), self.sql(args[1], "string")
        group = self.sql(args[2], "int") if len(args) == 3 else "1"
        extracted = f"COALESCE(REGEXP_EXTRACT({text}, {pattern}, {group}), '')"
        inputs = [text, pattern] + ([group] if len(args) == 3 else [])
        if all(_is_literal(a) for a in args):
            return extracted
        missing = " OR ".join(f"{_bracket(i)} IS NULL" for i in inputs if not _is_plain_literal(i))
        return f"CASE WHEN {missing} THEN CAST(NULL AS STRING) ELSE {extracted} END"

    def _datetime_argument(self, node: exp.Expression, target: str) -> str:
        return self.as_type(node, target)

    def _parse_with_format(self, node: exp.Expression, args: list[exp.Expression], result: str) -> str:
        source = self.type(args[0])
        if len(args) == 1 or source != "string":
            return self.as_type(args[0], result)
        text = self.sql(args[0], "string")
        pattern = _java_pattern(str(args[1].this))
        parsed = f"TO_TIMESTAMP({text}, {string_literal(pattern)})"
        # Spark 4 (ANSI) fails on text that does not match the format; Flink's TO_TIMESTAMP gives NULL.
        failed = _fails(f"[CANNOT_PARSE_TIMESTAMP] Text does not match the format {pattern}", text, result)
        value = f"CAST({parsed} AS {flink_type(result)})"
        return f"CASE WHEN {_bracket(text)} IS NOT NULL AND {parsed} IS NULL THEN {failed} ELSE {value} END"

    def _f_to_date(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return self._parse_with_format(node, args, "date")

    def _f_to_timestamp(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return self._parse_with_format(node, args, "timestamp")

    def _f_date_trunc(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        unit = str(args[0].this).lower()
        value = self._datetime_argument(args[1], "timestamp")
        if unit == "week":
            # Spark's weeks start on Monday; Flink's FLOOR(... TO WEEK) starts them on Sunday.
            day = f"FLOOR({value} TO DAY)"
            return f"TIMESTAMPADD(DAY, -MOD(DAYOFWEEK({value}) + 5, 7), {day})"
        if unit == "microsecond":
            return value
        return f"FLOOR({value} TO {_DATE_TRUNC[unit]})"

    def _part(self, args: list[exp.Expression], function: str) -> str:
        source = self.type(args[0])
        value = self.sql(args[0]) if source != "date" or function != "HOUR" else self.as_type(args[0], "timestamp")
        return f"CAST({function}({value}) AS INT)"

    def _f_year(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return self._part(args, "YEAR")

    def _f_month(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return self._part(args, "MONTH")

    def _f_day(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return self._part(args, "DAYOFMONTH")

    def _f_hour(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return self._part(args, "HOUR")

    def _f_datediff(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        end, start = (self._datetime_argument(a, "date") for a in args)
        return f"TIMESTAMPDIFF(DAY, {start}, {end})"

    def _f_date_add(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return f"TIMESTAMPADD(DAY, {self.sql(args[1], 'int')}, {self._datetime_argument(args[0], 'date')})"

    def _f_current_date(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return self._e_currentdate(node, want)

    def _f_current_timestamp(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        return self._e_currenttimestamp(node, want)

    def _f_coalesce(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        result = self.type(node)
        target = want if result == "null" and want else result
        return f"COALESCE({', '.join(self._branch(a, target) for a in args)})"

    def _f_nullif(self, node: exp.Expression, args: list[exp.Expression], want: str | None) -> str:
        a, b = self._comparable_pair(args[0], args[1])
        return f"NULLIF({a}, {b})"


AGGREGATES = frozenset({"count", "sum", "avg", "min", "max"})


def aggregate_sql(function: str, argument: str, source: str, result: str) -> str:
    """An aggregation with Spark's result type: Flink sums INT as INT, averages integers as
    integers and keeps other decimal scales, so the input or the result is cast explicitly."""
    if function == "count":
        return f"COUNT({argument})"
    if function == "count_distinct":
        return f"COUNT(DISTINCT {argument})"
    if function in ("min", "max"):
        return f"{function.upper()}({argument})"
    target = flink_type(result)
    if function == "sum":
        if source.startswith("decimal"):
            return f"CAST(SUM({argument}) AS {target})"
        return f"SUM(CAST({argument} AS {target}))"
    if source.startswith("decimal"):
        # Spark: the sum as decimal(p+10,s) divided by the count as decimal(20,0) (Spark's and
        # Flink's decimal division rules agree), then rounded half-up to decimal(p+4,s+4).
        parts = decimal_parts(source)
        assert parts is not None
        total = f"CAST(SUM({argument}) AS DECIMAL({min(parts[0] + 10, 38)}, {parts[1]}))"
        return f"CAST({total} / CAST(COUNT({argument}) AS DECIMAL(20, 0)) AS {target})"
    return f"AVG(CAST({argument} AS DOUBLE))"


# Helpers ------------------------------------------------------------------------------------------


def _bracket(sql: str) -> str:
    """Brackets around emitted SQL unless it is obviously one operand."""
    if re.fullmatch(r"`[^`]+`|[0-9.]+|'(?:[^']|'')*'|[A-Z_]+\((?:[^()']|'(?:[^']|'')*')*\)", sql):
        return sql
    if sql.startswith("(") and _balanced_outer(sql):
        return sql
    return f"({sql})"


def _balanced_outer(sql: str) -> bool:
    """Whether the opening bracket at 0 closes at the very end (ignoring brackets in strings)."""
    depth = 0
    in_string = False
    for i, ch in enumerate(sql):
        if ch == "'":
            in_string = not in_string
        elif not in_string and ch == "(":
            depth += 1
        elif not in_string and ch == ")":
            depth -= 1
            if depth == 0 and i != len(sql) - 1:
                return False
    return depth == 0


def _nonzero_literal(node: exp.Expression) -> bool:
    """A number literal other than zero (no zero check needed when dividing by it)."""
    inner = node.this if isinstance(node, (exp.Neg, exp.Paren)) else node
    if not (isinstance(inner, exp.Literal) and not inner.is_string):
        return False
    try:
        return float(str(inner.this)) != 0
    except ValueError:
        return False


def _is_literal(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) or (isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal))


def _is_plain_literal(sql: str) -> bool:
    return bool(re.fullmatch(r"-?[0-9.]+|'(?:[^']|'')*'", sql))


def _is_cast_to(sql: str, type_sql: str) -> bool:
    """Whether the SQL is one CAST(... AS type_sql) as a whole."""
    return sql.startswith("CAST(") and sql.endswith(f" AS {type_sql})") and _balanced_outer(sql[4:])


def _needs_pinning(tree: exp.Expression, type_name: str) -> bool:
    """Decimal results are cast to the inferred type, so both engines write the same precision."""
    return type_name.startswith("decimal") and not isinstance(tree, (exp.Column, exp.Cast, exp.TryCast))


def _comparison_type(a: str, b: str) -> str:
    """The type Spark compares two values in (text takes the other side's type)."""
    if a == b or b == "null":
        return a
    if a == "null":
        return b
    if a == "string":
        return b
    if b == "string":
        return a
    if {a, b} == {"date", "timestamp"}:
        return "timestamp"
    if is_numeric(a) and is_numeric(b):
        if "double" in (a, b) or "float" in (a, b):
            return "double" if "double" in (a, b) or a.startswith("decimal") or b.startswith("decimal") else "float"
        if a.startswith("decimal") or b.startswith("decimal"):
            return a if a.startswith("decimal") else b
        return "bigint"
    return a


def _java_pattern(pattern: str) -> str:
    """Spark 3+ datetime patterns are java.time patterns for every letter the studio accepts;
    Flink's TO_TIMESTAMP parses with java.time too, so the pattern passes through unchanged."""
    return pattern


# transform.sql ----------------------------------------------------------------------------------


class _KnownTypes(_Typer):
    """Types recorded while the front end's query analyser ran again over the tree."""

    def __init__(self, types: dict[int, Typed]) -> None:
        super().__init__([], [])
        self.types = types


def _record_query_types(query: Query, inputs: Mapping[str, Sequence[Field]]) -> dict[int, Typed]:
    """Run the front end's query analyser over the (already checked) tree again, keeping the type
    of every expression node, resolved in its own SELECT's scope."""
    from compiler import sql as studio_sql

    types: dict[int, Typed] = {}
    recording_scope = recording(studio_sql._ScopeTyper)

    class Analyser(studio_sql._Analyser):
        def expression(self, scope, node, *, aggregates, where):  # type: ignore[no-untyped-def]
            typer = recording_scope(scope, self.errors, aggregates)
            typer.types = types
            typed = typer.type_of(node)
            return typed, typer

    errors: list[str] = []
    Analyser(inputs, errors).query(query.tree, {})
    if errors:
        raise ValueError(f"the query no longer checks: {errors[0]}")
    return types


class QueryEmitter:
    """A checked transform.sql query as Flink SQL: inputs read from their views (`tables`), LEFT
    SEMI/ANTI joins as [NOT] EXISTS, NULL ordering written out, expressions and aggregations with
    the studio's semantics, and the output columns cast to the inferred types."""

    def __init__(self, query: Query, inputs: Mapping[str, Sequence[Field]], tables: Mapping[str, str]) -> None:
        self.query = query
        self.tables = tables
        self.types = _record_query_types(query, inputs)
        self.expressions = ExpressionEmitter(typer=_KnownTypes(self.types))
        self._subqueries = 0

    def emit(self) -> str:
        return self._query(self.query.tree, top=True)

    def _query(self, node: exp.Expression, top: bool = False) -> str:
        if isinstance(node, exp.Subquery):
            return self._query(node.this, top)
        prefix = ""
        with_ = node.args.get("with_") or node.args.get("with")
        if with_:
            ctes = [f"{identifier(cte.alias)} AS ({self._query(cte.this)})" for cte in with_.expressions]
            prefix = f"WITH {', '.join(ctes)} "
        if isinstance(node, (exp.Union, exp.Intersect, exp.Except)):
            keyword = {exp.Union: "UNION", exp.Intersect: "INTERSECT", exp.Except: "EXCEPT"}[type(node)]
            if not node.args.get("distinct"):
                keyword += " ALL"
            return f"{prefix}{self._operand(node.this)} {keyword} {self._operand(node.expression)}"
        assert isinstance(node, exp.Select), type(node)
        return prefix + self._select(node, top)

    def _operand(self, node: exp.Expression) -> str:
        return f"({self._query(node)})"

    def _select(self, node: exp.Select, top: bool) -> str:
        fields = iter(self.query.fields or []) if top else None
        items = []
        for item in node.expressions:
            items.append(self._projection(item, fields))
        parts = [f"SELECT {'DISTINCT ' if node.args.get('distinct') else ''}{', '.join(items)}"]
        from_ = node.args.get("from_") or node.args.get("from")
        if from_ is not None:
            parts.append(f"FROM {self._relation(from_.this)}")
        conditions = []
        for join in node.args.get("joins") or []:
            kind = (join.kind or "").upper()
            side = (join.side or "").upper()
            relation = self._relation(join.this)
            on = join.args.get("on")
            if kind in ("SEMI", "ANTI"):
                exists = "EXISTS" if kind == "SEMI" else "NOT EXISTS"
                conditions.append(f"{exists} (SELECT 1 FROM {relation} WHERE {self.expressions.sql(on)})")
            elif kind == "CROSS":
                parts.append(f"CROSS JOIN {relation}")
            else:
                keyword = f"{side} JOIN" if side else "JOIN"
                if on is not None:
                    parts.append(f"{keyword} {relation} ON {self.expressions.sql(on)}")
                else:
                    using = ", ".join(identifier(i.name) for i in join.args["using"])
                    parts.append(f"{keyword} {relation} USING ({using})")
        where = node.args.get("where")
        if where is not None:
            conditions.insert(0, self.expressions.operand(where.this))
        if conditions:
            parts.append(f"WHERE {' AND '.join(conditions)}")
        group = node.args.get("group")
        if group is not None:
            parts.append(f"GROUP BY {', '.join(self.expressions.sql(e) for e in group.expressions)}")
        having = node.args.get("having")
        if having is not None:
            parts.append(f"HAVING {self.expressions.sql(having.this)}")
        order = node.args.get("order")
        if order is not None:
            parts.append(f"ORDER BY {', '.join(self._ordered(o) for o in order.expressions)}")
        limit = node.args.get("limit")
        if limit is not None:
            parts.append(f"LIMIT {int(str(limit.expression.this))}")
        return " ".join(parts)

    def _projection(self, item: exp.Expression, fields: object) -> str:
        if isinstance(item, exp.Star):
            return "*"
        if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
            return f"{identifier(item.table)}.*"
        expression = item.this if isinstance(item, exp.Alias) else item
        name = item.alias if isinstance(item, exp.Alias) else item.name
        typed = self.types[id(expression)].type
        sql = self.expressions.emit(expression, as_type=typed)
        if isinstance(expression, exp.Column) and expression.name == name and sql.endswith(identifier(name)):
            return sql
        return f"{sql} AS {identifier(name)}"

    def _relation(self, item: exp.Expression) -> str:
        alias = item.alias or None
        if isinstance(item, exp.Table):
            name = item.name
            if item.args.get("studio_input"):
                return f"{identifier(self.tables[name])} AS {identifier(alias or name)}"
            return identifier(name) + (f" AS {identifier(alias)}" if alias else "")
        assert isinstance(item, exp.Subquery), type(item)
        if alias is None:
            self._subqueries += 1
            alias = f"$subquery{self._subqueries}"
        return f"({self._query(item.this)}) AS {identifier(alias)}"

    def _ordered(self, ordered: exp.Expression) -> str:
        descending = bool(ordered.args.get("desc"))
        nulls_first = ordered.args.get("nulls_first")
        if nulls_first is None:
            nulls_first = not descending  # Spark: NULLs first ascending, last descending
        direction = "DESC" if descending else "ASC"
        return f"{self.expressions.sql(ordered.this)} {direction} NULLS {'FIRST' if nulls_first else 'LAST'}"
