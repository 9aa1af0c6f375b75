"""Spark SQL expressions: parse with sqlglot, allow only the format's supported set, resolve columns
against the upstream schema, infer result types, turn `${name}` into typed literals, and emit SQL
text per dialect from the syntax tree (never by pasting the user's text).

Function calls are parsed verbatim (`StudioSpark` keeps every call as a named call) because
sqlglot's Spark dialect rewrites some calls on the way in and drops arguments on the way out
(for example the format of `to_date(s, 'yyyy-MM-dd')`); the studio's semantics are Spark's own.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.tokens import Token, TokenType

from compiler.diagnostics import did_you_mean, list_names, quote
from compiler.parameters import PARAMETER_NAME, ParameterValue
from compiler.types import COLUMN_NAME, INTEGRAL, MAX_DECIMAL_PRECISION, Field, decimal_parts, is_numeric, parse_type

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "SUPPORTED_FUNCTIONS",
    "Analysed",
    "StudioSpark",
    "aggregate_result",
    "analyse_condition",
    "analyse_expression",
    "can_cast",
    "clear_cache",
    "common_type",
    "to_sql",
]

MAX_DEPTH = 64
MAX_TOKENS = 5000
MAX_ERRORS_PER_EXPRESSION = 10

SUPPORTED_FUNCTIONS = (
    "abs", "round", "floor", "ceil", "lower", "upper", "trim", "length", "concat", "substring",
    "regexp_extract", "to_date", "to_timestamp", "date_trunc", "year", "month", "day", "hour",
    "datediff", "date_add", "current_date", "current_timestamp", "coalesce", "nullif",
)  # fmt: skip
# The functions of transform.aggregate; inside transform.sql queries they are written count(*),
# count(x), count(DISTINCT x), sum(x), avg(x), min(x) and max(x).
AGGREGATE_FUNCTIONS = ("count", "count_distinct", "sum", "avg", "min", "max")
_SQL_AGGREGATES = frozenset({"count", "sum", "avg", "min", "max"})
_ALTERNATIVES = {
    "ceiling": "ceil", "substr": "substring", "ifnull": "coalesce", "nvl": "coalesce", "ucase": "upper",
    "lcase": "lower", "len": "length", "char_length": "length", "character_length": "length",
    "dayofmonth": "day", "if": "CASE WHEN ... THEN ... ELSE ... END", "iff": "CASE WHEN ... THEN ... ELSE ... END",
    "date_sub": "date_add with a negative number of days", "now": "current_timestamp",
    "getdate": "current_timestamp", "date_diff": "datediff", "dateadd": "date_add", "try_cast": "CAST",
    "extract": "year, month, day or hour",
}  # fmt: skip
_DATE_TRUNC_UNITS = frozenset(
    {"year", "yyyy", "yy", "quarter", "month", "mon", "mm", "week", "day", "dd", "hour", "minute", "second",
     "millisecond", "microsecond"}
)  # fmt: skip
_PARAMETER_COLUMN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]{0,62})\}")


class TypedLiteral(exp.Expression):
    """`DATE '2026-01-02'` or `TIMESTAMP '...'`: how date and timestamp parameters are emitted."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "kind": True}


class StudioSpark(Spark):
    """Spark SQL that keeps function calls exactly as written and can print typed literals."""

    class Parser(Spark.Parser):
        FUNCTIONS: ClassVar[dict[str, Callable[..., exp.Expression]]] = {}

    class Generator(Spark.Generator):
        TRANSFORMS: ClassVar[dict[type[exp.Expression], Callable[..., str]]] = {
            **Spark.Generator.TRANSFORMS,
            TypedLiteral: lambda self, e: f"{e.args['kind']} {self.sql(e, 'this')}",
        }

        def literal_sql(self, expression: exp.Literal) -> str:
            # Spark substitutes ${...} in SQL text before parsing it (spark.sql.variable.substitute),
            # even inside string literals: '${env:HOME}' would become a home directory. `\{` reads
            # back as `{`, so the value is unchanged and no substitution can match.
            return super().literal_sql(expression).replace("${", "$\\{")

        def not_sql(self, expression: exp.Not) -> str:
            # `x IS NOT NULL` reads better than the equivalent `NOT x IS NULL`.
            inner = expression.this
            if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
                return f"{self.sql(inner, 'this')} IS NOT NULL"
            return super().not_sql(expression)


# Settings only: each tokenize() and parser() call makes a tokenizer or parser of its own.
_DIALECT = StudioSpark()


@dataclass(frozen=True)
class Typed:
    """An expression's inferred type; `digits` is set for integer literals (Spark widens them exactly)."""

    type: str
    nullable: bool
    digits: int | None = None


@dataclass
class Analysed:
    """A checked expression: its tree (parameters already typed literals), result type when known,
    and the columns it reads. Analyses are cached and shared (see `_Memo`): treat them, and the
    tree, as read-only (copy the tree to build on it)."""

    tree: exp.Expression
    type: str | None
    nullable: bool
    columns: tuple[str, ...]
    # Join conditions: (side, column) for each column read, sides being "left" and "right".
    qualified: tuple[tuple[str, str], ...] = ()
    _emitted: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def sql(self, dialect: str = "spark") -> str:
        if dialect not in self._emitted:
            self._emitted[dialect] = to_sql(self.tree, dialect)
        return self._emitted[dialect]


def to_sql(tree: exp.Expression, dialect: str = "spark", schema: Sequence[Field] = ()) -> str:
    """Emit a checked tree as SQL text for an engine; identifiers are always quoted. Flink's SQL
    depends on operand types (compiler/flink_sql.py), so it needs the columns the tree reads."""
    if dialect == "flink":
        from compiler.flink_sql import ExpressionEmitter

        return ExpressionEmitter(schema).emit(tree)
    if dialect != "spark":
        raise ValueError(f"no SQL emitter for dialect {dialect!r}")
    return tree.sql(dialect=StudioSpark, identify=True, comments=False)


class _Failed(Exception):
    """Stops checking one expression after its errors were recorded."""


def _scan(text: str, errors: list[str]) -> tuple[list[Token], list[tuple[int, int, str]]] | None:
    """Tokenize once, check length and nesting, and find the `${name}` references: returns the
    tokens with each reference turned into one quoted identifier `${name}` (a name no column can
    have, so the parser sees an ordinary operand wherever it appears), and each reference's
    (start, end, name) in the text."""
    try:
        tokens = _DIALECT.tokenize(text)
    except (TokenError, SqlglotError, ValueError) as error:
        errors.append(f"the text could not be read as Spark SQL ({_first_line(error)}); check quotes and brackets.")
        return None
    if len(tokens) > MAX_TOKENS:
        errors.append(f"the expression is too long ({len(tokens)} tokens; at most {MAX_TOKENS}).")
        return None
    depth = 0
    for token in tokens:
        if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
            if depth > MAX_DEPTH:
                errors.append(f"the expression is nested too deeply (more than {MAX_DEPTH} brackets).")
                return None
        elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
    scanned: list[Token] = []
    references: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.token_type == TokenType.PARAMETER:
            window = tokens[i : i + 4]
            start = token.start
            end = window[-1].end + 1 if len(window) == 4 else start + 1
            name = window[2].text if len(window) == 4 else ""
            if (
                len(window) == 4
                and window[1].token_type == TokenType.L_BRACE
                and window[3].token_type == TokenType.R_BRACE
                and PARAMETER_NAME.fullmatch(name)
                and text[start:end] == "${" + name + "}"
            ):
                comments = [c for t in window for c in t.comments]
                scanned.append(
                    Token(TokenType.IDENTIFIER, "${" + name + "}", token.line, token.col, start, end - 1, comments)
                )
                references.append((start, end, name))
                i += 4
                continue
            near = text[start : start + 20]
            errors.append(f"{quote(near)} is not a valid parameter reference; write parameters as ${{name}}.")
            return None
        scanned.append(token)
        i += 1
    return scanned, references


def _tokens_and_rewrite(text: str, errors: list[str]) -> str | None:
    """The text with each `${name}` reference written as the quoted identifier `${name}` (see _scan)."""
    found = _scan(text, errors)
    if found is None:
        return None
    pieces: list[str] = []
    cursor = 0
    for start, end, name in found[1]:
        pieces += [text[cursor:start], f"`${{{name}}}`"]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _first_line(error: Exception) -> str:
    if isinstance(error, ParseError) and error.errors:
        detail = error.errors[0]
        description = str(detail.get("description", "syntax error"))
        if "Required keyword" in description or "<class" in description:
            description = "it looks incomplete"
        near = str(detail.get("highlight") or "").strip()
        return f"{description.rstrip('.')}" + (f" near {quote(near, 30)}" if near else "")
    return str(error).splitlines()[0][:120] if str(error) else type(error).__name__


def _parse(text: str, errors: list[str]) -> exp.Expression | None:
    found = _scan(text, errors)
    if found is None:
        return None
    try:
        # The scanned tokens are parsed as they are: the text is tokenized once.
        trees = _DIALECT.parser().parse(found[0], text)
    except (ParseError, TokenError, SqlglotError, ValueError) as error:
        errors.append(f"the expression is not valid Spark SQL: {_first_line(error)}.")
        return None
    trees = [t for t in trees if t is not None]
    if not trees:
        errors.append("the expression is empty; write a Spark SQL expression.")
        return None
    if len(trees) > 1 or isinstance(trees[0], exp.Block):
        errors.append("write a single expression (remove the ';').")
        return None
    return trees[0]


# ---------------------------------------------------------------------------------------------
# The supported set, checked on the tree before any typing, so it is enforced even when the
# upstream schema is unknown.

_OPERATORS: Mapping[type[exp.Expression], str] = {
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%", exp.DPipe: "||",
    exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=",
    exp.NullSafeEQ: "<=>", exp.And: "AND", exp.Or: "OR",
}  # fmt: skip
_ALLOWED_LEAVES = (exp.Literal, exp.Boolean, exp.Null, exp.Identifier, exp.DataType, exp.DataTypeParam)
_ALLOWED = (
    *_OPERATORS, *_ALLOWED_LEAVES, exp.Paren, exp.Neg, exp.Not, exp.Is, exp.In, exp.Between, exp.Like,
    exp.Case, exp.Cast, exp.TryCast, exp.Column, exp.Anonymous, exp.Substring, exp.Trim, exp.Ceil,
    exp.Floor, exp.Concat, exp.CurrentDate, exp.CurrentTimestamp, exp.If, TypedLiteral,
)  # fmt: skip
_UNSUPPORTED_HINTS: Mapping[type[exp.Expression], str] = {
    exp.Star: "'*' is not allowed in an expression",
    exp.Subquery: "subqueries are not supported",
    exp.Select: "subqueries are not supported",
    exp.Exists: "subqueries (EXISTS) are not supported",
    exp.Window: "window functions (OVER ...) are not supported here",
    exp.Alias: "aliases (AS) are not allowed here; the column name is set in the node's config",
    exp.Interval: "INTERVAL values are not supported; use date_add for days",
    exp.IntDiv: "the DIV operator is not supported; use floor(a / b)",
    exp.Escape: "LIKE ... ESCAPE is not supported",
    exp.Any: "ANY/SOME is not supported; use IN (...)",
    exp.All: "ALL is not supported",
    exp.Lambda: "lambda functions are not supported",
    exp.Bracket: "indexing with [...] is not supported",
    exp.Dot: "qualified names (a.b) are not supported; write just the column name",
    exp.Placeholder: "placeholders like ? are not supported; use ${name} parameters",
    exp.BitwiseAnd: "the operator '&' is not supported",
    exp.BitwiseOr: "the operator '|' is not supported",
    exp.BitwiseXor: "the operator '^' is not supported",
    exp.BitwiseNot: "the operator '~' is not supported",
    exp.BitwiseLeftShift: "the operator '<<' is not supported",
    exp.BitwiseRightShift: "the operator '>>' is not supported",
    exp.RegexpLike: "RLIKE is not supported; use LIKE or regexp_extract",
    exp.ILike: "ILIKE is not supported; use lower(x) LIKE '...'",
    exp.HexString: "hexadecimal and binary literals are not supported",
    exp.JSONExtract: "the '->' operator is not supported",
    exp.Var: "bare words are not values; quote text as 'text' or use a column name",
}  # fmt: skip


def _snippet(node: exp.Expression, limit: int = 40) -> str:
    """A node's SQL for a message, quoted and shortened; never fails."""
    try:
        text = node.sql(dialect=StudioSpark, comments=False)
    except (SqlglotError, ValueError, TypeError, KeyError, AttributeError):
        text = type(node).__name__
    return quote(text, limit)


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return type(node).__name__.lower()


@dataclass(frozen=True)
class _Rules:
    """Where an expression sits widens the supported set a little: join conditions may qualify
    columns with `left.`/`right.`, and SQL queries may qualify them with table names and aliases
    and use the aggregate functions."""

    qualifiers: frozenset[str] = frozenset()
    any_qualifier: bool = False
    aggregates: bool = False

    def allows(self, qualifier: str) -> bool:
        return self.any_qualifier or qualifier in self.qualifiers


_EXPRESSION = _Rules()
_JOIN_CONDITION = _Rules(qualifiers=frozenset({"left", "right"}))


def _check_supported(tree: exp.Expression, errors: list[str], rules: _Rules = _EXPRESSION) -> None:
    """Report every construct outside the supported set; an unsupported node's insides are not reported again."""
    stack = [tree]
    while stack and len(errors) < MAX_ERRORS_PER_EXPRESSION:
        node = stack.pop()
        before = len(errors)
        _check_node(node, errors, rules)
        if len(errors) == before:
            stack.extend(reversed(list(node.iter_expressions())))


def _is_aggregate(node: exp.Expression) -> bool:
    return isinstance(node, exp.Anonymous) and _function_name(node) in _SQL_AGGREGATES


def _check_node(node: exp.Expression, errors: list[str], rules: _Rules = _EXPRESSION) -> None:
    if rules.aggregates and _is_aggregate(node):
        _check_aggregate_call(node, errors)
    elif rules.aggregates and isinstance(node, (exp.Star, exp.Distinct)) and _is_aggregate(node.parent):
        pass  # count(*) and count(DISTINCT x), checked with their call
    elif isinstance(node, exp.If) and not (isinstance(node.parent, exp.Case) and node.arg_key == "ifs"):
        errors.append(_unsupported_function("if"))
    elif isinstance(node, exp.Anonymous):
        name = _function_name(node)
        if name not in SUPPORTED_FUNCTIONS:
            errors.append(_unsupported_function(name, rules.aggregates))
    elif isinstance(node, exp.TryCast) and node.args.get("safe"):
        errors.append(_unsupported_function("try_cast"))
    elif isinstance(node, (exp.Cast, exp.TryCast)) and any(node.args.get(k) for k in ("format", "action", "default")):
        errors.append("CAST ... FORMAT/DEFAULT is not supported; write CAST(x AS type).")
    elif isinstance(node, exp.Column) and not (
        COLUMN_NAME.fullmatch(node.name) or _PARAMETER_COLUMN.fullmatch(node.name) or isinstance(node.this, exp.Star)
    ):
        errors.append(
            f"{quote(node.name)} is not a valid column name (letters, digits and _, starting with a letter or _)."
        )
    elif isinstance(node, exp.Column) and (node.args.get("table") or node.args.get("db")):
        if node.args.get("db") or not rules.allows(node.table):
            if rules.qualifiers and not rules.any_qualifier:
                errors.append(
                    f"{_snippet(node)}: in a join condition, qualify columns only with left. or right., "
                    f"e.g. left.{node.name}."
                )
            else:
                errors.append(
                    f"qualified column names like {_snippet(node)} are not supported; write just {quote(node.name)}."
                )
    elif isinstance(node, exp.Is) and not isinstance(node.expression, exp.Null):
        errors.append("only IS NULL and IS NOT NULL are supported after IS; compare with = instead.")
    elif isinstance(node, exp.In) and (node.args.get("query") or node.args.get("unnest") or node.args.get("field")):
        errors.append("IN needs a list of values, like x IN (1, 2, 3); subqueries are not supported.")
    elif isinstance(node, (exp.Ceil, exp.Floor)) and any(node.args.get(k) for k in ("decimals", "to")):
        errors.append(f"{_function_name(node)} takes one argument; use round(x, d) to keep decimals.")
    elif isinstance(node, exp.Identifier) and not isinstance(node.parent, (exp.Column, exp.DataType)):
        errors.append(f"{quote(node.name)} cannot be used here.")
    elif isinstance(node, (exp.DataType, exp.DataTypeParam)) and not isinstance(
        node.parent, (exp.Cast, exp.TryCast, exp.DataType)
    ):
        errors.append(f"{_snippet(node)} cannot be used here.")
    elif not isinstance(node, _ALLOWED):
        if isinstance(node, exp.Func) and type(node) not in _UNSUPPORTED_HINTS:
            errors.append(_unsupported_function(_function_name(node)))
        else:
            hint = _UNSUPPORTED_HINTS.get(type(node))
            snippet = _snippet(node, 40)
            errors.append(f"{hint} ({snippet})." if hint else f"{snippet} is not supported in an expression.")


def _unsupported_function(name: str, in_query: bool = False) -> str:
    alternative = _ALTERNATIVES.get(name)
    if name in _SQL_AGGREGATES and not in_query:
        alternative = "transform.aggregate (or a transform.sql query)"
    if name == "count_distinct" and in_query:
        alternative = "count(DISTINCT x)"
    supported = ", ".join((*SUPPORTED_FUNCTIONS, *sorted(_SQL_AGGREGATES))) if in_query else ", ".join(SUPPORTED_FUNCTIONS)
    hint = f"; use {alternative} instead" if alternative else f" (supported: {supported})"
    return f"function '{name}' is not supported{hint}."


def _check_aggregate_call(node: exp.Expression, errors: list[str]) -> None:
    name = _function_name(node)
    args = node.expressions
    star = len(args) == 1 and isinstance(args[0], exp.Star)
    distinct = len(args) == 1 and isinstance(args[0], exp.Distinct)
    if star and name != "count":
        errors.append(f"{name}(*) is not supported; only count(*) counts rows.")
    elif distinct and (name != "count" or len(args[0].expressions) != 1):
        errors.append("DISTINCT inside an aggregation is supported only as count(DISTINCT x) with one column.")
    elif len(args) != 1:
        errors.append(f"{name}() takes 1 argument, not {len(args)}.")


# ---------------------------------------------------------------------------------------------
# Parameters become typed literals before typing and emission.


def _parameter_literal(value: ParameterValue) -> exp.Expression:
    if value.type == "string":
        return exp.Literal.string(str(value.value))
    if value.type == "boolean":
        return exp.Boolean(this=bool(value.value))
    if value.type in ("date", "timestamp"):
        return TypedLiteral(this=exp.Literal.string(str(value.value)), kind=value.type.upper())
    if value.type == "int" and isinstance(value.value, int) and value.value >= 0:
        return exp.Literal.number(value.value)
    number = repr(value.value) if isinstance(value.value, float) else str(value.value)
    return exp.Cast(this=exp.Literal.number(number), to=exp.DataType.build(value.type.upper()))


def _bind_parameters(
    tree: exp.Expression, parameters: Mapping[str, ParameterValue], errors: list[str]
) -> exp.Expression:
    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table:
            match = _PARAMETER_COLUMN.fullmatch(node.name)
            if match:
                name = match.group(1)
                if name not in parameters:
                    hint = did_you_mean(name, parameters)
                    declared = list_names(parameters) if parameters else "none are declared"
                    suggestion = f" Did you mean '${{{hint}}}'?" if hint else ""
                    errors.append(
                        f"parameter '${{{name}}}' is not declared.{suggestion} Declared parameters: {declared}."
                    )
                    return node
                return _parameter_literal(parameters[name])
        return node

    # The tree was just parsed and belongs to the caller: binding in place saves copying it.
    return tree.transform(replace, copy=False)


# ---------------------------------------------------------------------------------------------
# Typing, following Spark 4 SQL's rules for the supported set.

_GROUPS = {"int": "number", "bigint": "number", "float": "number", "double": "number", "string": "string",
           "boolean": "boolean", "date": "datetime", "timestamp": "datetime", "binary": "binary"}  # fmt: skip


def _group(type_name: str) -> str:
    if type_name.startswith("decimal("):
        return "number"
    return _GROUPS.get(type_name, type_name)


def _adjust_decimal(precision: int, scale: int) -> str:
    """Spark's DecimalType.adjustPrecisionScale (precision loss allowed, the default)."""
    if precision <= MAX_DECIMAL_PRECISION:
        return f"decimal({precision},{scale})"
    integral = precision - scale
    scale = max(MAX_DECIMAL_PRECISION - integral, min(scale, 6))
    return f"decimal({MAX_DECIMAL_PRECISION},{scale})"


def _as_decimal(t: Typed) -> tuple[int, int] | None:
    parts = decimal_parts(t.type)
    if parts:
        return parts
    if t.digits is not None:
        return max(t.digits, 1), 0
    return {"int": (10, 0), "bigint": (20, 0)}.get(t.type)


def _bounded(precision: int, scale: int) -> str:
    return f"decimal({min(precision, MAX_DECIMAL_PRECISION)},{min(scale, MAX_DECIMAL_PRECISION)})"


def _wider(a: str, b: str) -> str | None:
    """The common type of two types (CASE branches, COALESCE arguments), or None if there is none."""
    if a == b:
        return a
    if a == "null":
        return b
    if b == "null":
        return a
    if _group(a) == "number" and _group(b) == "number":
        if "double" in (a, b):
            return "double"
        if "float" in (a, b):
            return "double" if a.startswith("decimal") or b.startswith("decimal") else "float"
        da, db = _as_decimal(Typed(a, False)), _as_decimal(Typed(b, False))
        if a.startswith("decimal") or b.startswith("decimal"):
            assert da is not None and db is not None
            scale = max(da[1], db[1])
            return _bounded(max(da[0] - da[1], db[0] - db[1]) + scale, scale)
        return "bigint"
    if {a, b} == {"date", "timestamp"}:
        return "timestamp"
    return None


def _comparable(a: str, b: str) -> bool:
    if "null" in (a, b) or a == b:
        return True
    ga, gb = _group(a), _group(b)
    if ga == gb:
        return True
    # Spark casts text to the other side's type (e.g. order_date >= '2026-01-01').
    return "string" in (ga, gb) and "binary" not in (ga, gb)


def can_cast(source: str, target: str) -> bool:
    """Whether CAST(source AS target) is allowed (Spark's rules, restricted to the format's types)."""
    if source in ("null", target) or "string" in (source, target):
        return True
    gs, gt = _group(source), _group(target)
    if gs == gt:
        return True
    allowed = {("number", "boolean"), ("boolean", "number"), ("number", "datetime"), ("datetime", "number")}
    if (gs, gt) in allowed:
        return not ((source == "date" and gt == "number") or (target == "date" and gs == "number"))
    return False


class _Typer:
    """Infers a Typed for each supported node; records sentences for the errors it finds.

    Columns are looked up in `schema`; subclasses resolve them in other scopes (both sides of a
    join, the tables of a query) by overriding `resolve`. With `aggregates`, count/sum/avg/min/max
    are typed too (transform.sql); `reads` lists every column read and whether inside one.
    """

    def __init__(self, schema: Sequence[Field], errors: list[str], aggregates: bool = False) -> None:
        self.columns = {f.name: f for f in schema}
        self.errors = errors
        self.used: list[str] = []
        self.aggregates = aggregates
        self.aggregate_depth = 0
        self.reads: list[tuple[exp.Column, object, bool]] = []

    def fail(self, message: str) -> _Failed:
        self.errors.append(message)
        return _Failed()

    def resolve(self, node: exp.Column) -> tuple[Field, object]:
        """The column's field and a key naming where it comes from; raises _Failed after reporting."""
        name = node.name
        if node.table:
            raise _Failed()  # a qualified name outside a join or query: already reported
        field = self.columns.get(name)
        if field is None:
            hint = did_you_mean(name, self.columns)
            suggestion = f"; did you mean '{hint}'?" if hint else "."
            raise self.fail(
                f"column {quote(name)} does not exist in the input{suggestion} Available: {list_names(self.columns)}."
            )
        return field, name

    def type_of(self, node: exp.Expression) -> Typed:
        method = getattr(self, f"_t_{type(node).__name__.lower()}", None)
        if self.aggregates and _is_aggregate(node):
            return self._aggregate(node)
        if isinstance(node, exp.Anonymous) and _function_name(node) not in _FUNCTION_RULES:
            # Unsupported call (already reported): still check its arguments' columns.
            self.all_of(node.expressions)
            raise _Failed()
        if method is None:
            raise _Failed()  # outside the supported set: already reported by _check_supported
        result: Typed = method(node)
        return result

    def all_of(self, nodes: Sequence[exp.Expression]) -> list[Typed]:
        """Type several operands, reporting errors in each before giving up."""
        results: list[Typed | None] = []
        for node in nodes:
            try:
                results.append(self.type_of(node))
            except _Failed:
                results.append(None)
        if any(r is None for r in results):
            raise _Failed()
        return [r for r in results if r is not None]

    # Leaves -------------------------------------------------------------------------------
    def _t_column(self, node: exp.Column) -> Typed:
        name = node.name
        if _PARAMETER_COLUMN.fullmatch(name) or not COLUMN_NAME.fullmatch(name):
            raise _Failed()  # an undeclared parameter or an invalid name: already reported
        field, key = self.resolve(node)
        if name not in self.used:
            self.used.append(name)
        self.reads.append((node, key, self.aggregate_depth > 0))
        return Typed(field.type, field.nullable)

    def _aggregate(self, node: exp.Expression) -> Typed:
        name = _function_name(node)
        if self.aggregate_depth:
            raise self.fail(f"aggregations cannot be nested ({_snippet(node, 40)}); compute the inner one first.")
        argument = node.expressions[0]
        function = name
        if isinstance(argument, exp.Star):
            return Typed("bigint", False)
        if isinstance(argument, exp.Distinct):
            argument = argument.expressions[0]
            function = "count_distinct"
        self.aggregate_depth += 1
        try:
            typed = self.type_of(argument)
        finally:
            self.aggregate_depth -= 1
        result = aggregate_result(function, typed.type)
        if isinstance(result, str):
            raise self.fail(f"{name}() {result} ({_snippet(argument, 40)} is {typed.type}).")
        return result

    def _t_literal(self, node: exp.Literal) -> Typed:
        if node.is_string:
            return Typed("string", False)
        text = str(node.this)
        if re.fullmatch(r"[0-9]+", text):
            value = int(text)
            if value < 2**31:
                return Typed("int", False, len(text.lstrip("0")) or 1)
            if value < 2**63:
                return Typed("bigint", False, len(text.lstrip("0")) or 1)
            if len(text.lstrip("0")) <= MAX_DECIMAL_PRECISION:
                return Typed(f"decimal({len(text.lstrip('0'))},0)", False)
            raise self.fail(f"the number {quote(text, 50)} is too large (at most {MAX_DECIMAL_PRECISION} digits).")
        if re.search(r"[eE]", text):
            return Typed("double", False)
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise self.fail(f"{quote(text)} is not a number.") from None
        _, digits, exponent = number.as_tuple()
        assert isinstance(exponent, int)
        scale = max(-exponent, 0)
        precision = max(len(digits), scale)
        if precision > MAX_DECIMAL_PRECISION:
            raise self.fail(f"the number {quote(text, 50)} has more than {MAX_DECIMAL_PRECISION} digits.")
        return Typed(f"decimal({precision},{scale})", False)

    def _t_boolean(self, node: exp.Boolean) -> Typed:
        return Typed("boolean", False)

    def _t_null(self, node: exp.Null) -> Typed:
        return Typed("null", True)

    def _t_typedliteral(self, node: TypedLiteral) -> Typed:
        return Typed(str(node.args["kind"]).lower(), False)

    def _t_paren(self, node: exp.Paren) -> Typed:
        return self.type_of(node.this)

    def _t_currentdate(self, node: exp.Expression) -> Typed:
        return Typed("date", False)

    def _t_currenttimestamp(self, node: exp.Expression) -> Typed:
        return Typed("timestamp", False)

    # Operators ----------------------------------------------------------------------------
    def _t_neg(self, node: exp.Neg) -> Typed:
        inner = self.type_of(node.this)
        if inner.type != "null" and not is_numeric(inner.type):
            raise self.fail(f"'-' needs a number, but {_snippet(node.this, 40)} is {inner.type}.")
        return inner

    def _arithmetic(self, node: exp.Binary) -> Typed:
        left, right = self.all_of([node.this, node.expression])
        op = _OPERATORS[type(node)]
        nullable = left.nullable or right.nullable or isinstance(node, (exp.Div, exp.Mod))
        if isinstance(node, (exp.Add, exp.Sub)) and left.type == "date" and right.type in INTEGRAL | {"null"}:
            return Typed("date", nullable)
        if isinstance(node, exp.Add) and right.type == "date" and left.type in INTEGRAL:
            return Typed("date", nullable)
        for side, typed in (("left", left), ("right", right)):
            if typed.type != "null" and not is_numeric(typed.type):
                operand = node.this if side == "left" else node.expression
                raise self.fail(
                    f"'{op}' needs numbers, but {_snippet(operand, 40)} is {typed.type}; "
                    "CAST it to a number first" + (" or use concat() for text." if typed.type == "string" else ".")
                )
        if "null" in (left.type, right.type):
            other = right if left.type == "null" else left
            kind = "double" if isinstance(node, exp.Div) and other.type in INTEGRAL else other.type
            return Typed("int" if kind == "null" else kind, True)
        return Typed(self._numeric_result(node, left, right), nullable)

    def _numeric_result(self, node: exp.Expression, left: Typed, right: Typed) -> str:
        types = (left.type, right.type)
        if "double" in types:
            return "double"
        if "float" in types:
            return "double" if any(t.startswith("decimal") for t in types) or isinstance(node, exp.Div) else "float"
        if not any(t.startswith("decimal") for t in types):
            if isinstance(node, exp.Div):
                return "double"
            return "bigint" if "bigint" in types else "int"
        dl, dr = _as_decimal(left), _as_decimal(right)
        assert dl is not None and dr is not None
        (p1, s1), (p2, s2) = dl, dr
        if isinstance(node, (exp.Add, exp.Sub)):
            scale = max(s1, s2)
            return _adjust_decimal(max(p1 - s1, p2 - s2) + scale + 1, scale)
        if isinstance(node, exp.Mul):
            return _adjust_decimal(p1 + p2 + 1, s1 + s2)
        if isinstance(node, exp.Div):
            scale = max(6, s1 + p2 + 1)
            return _adjust_decimal(p1 - s1 + s2 + scale, scale)
        scale = max(s1, s2)
        return _adjust_decimal(min(p1 - s1, p2 - s2) + scale, scale)

    _t_add = _t_sub = _t_mul = _t_div = _t_mod = _arithmetic

    def _t_dpipe(self, node: exp.DPipe) -> Typed:
        parts = self.all_of([node.this, node.expression])
        self._require_text("'||'", [node.this, node.expression], parts)
        return Typed("string", any(p.nullable for p in parts))

    def _comparison(self, node: exp.Binary) -> Typed:
        left, right = self.all_of([node.this, node.expression])
        if not _comparable(left.type, right.type):
            raise self.fail(
                f"cannot compare {_snippet(node.this, 40)} ({left.type}) with "
                f"{_snippet(node.expression, 40)} ({right.type}); CAST one side first."
            )
        nullable = False if isinstance(node, exp.NullSafeEQ) else left.nullable or right.nullable
        return Typed("boolean", nullable)

    _t_eq = _t_neq = _t_gt = _t_gte = _t_lt = _t_lte = _t_nullsafeeq = _comparison

    def _logical(self, node: exp.Binary) -> Typed:
        parts = self.all_of([node.this, node.expression])
        self._require_boolean(_OPERATORS[type(node)], [node.this, node.expression], parts)
        return Typed("boolean", any(p.nullable for p in parts))

    _t_and = _t_or = _logical

    def _t_not(self, node: exp.Not) -> Typed:
        inner = self.type_of(node.this)
        self._require_boolean("NOT", [node.this], [inner])
        return Typed("boolean", inner.nullable)

    def _t_is(self, node: exp.Is) -> Typed:
        self.type_of(node.this)
        return Typed("boolean", False)

    def _t_in(self, node: exp.In) -> Typed:
        value, *items = self.all_of([node.this, *node.expressions])
        for item_node, item in zip(node.expressions, items, strict=True):
            if not _comparable(value.type, item.type):
                raise self.fail(
                    f"IN list value {_snippet(item_node, 40)} ({item.type}) cannot be compared "
                    f"with {_snippet(node.this, 40)} ({value.type})."
                )
        return Typed("boolean", value.nullable or any(i.nullable for i in items))

    def _t_between(self, node: exp.Between) -> Typed:
        value, low, high = self.all_of([node.this, node.args["low"], node.args["high"]])
        for bound in (low, high):
            if not _comparable(value.type, bound.type):
                raise self.fail(f"BETWEEN compares {value.type} with {bound.type}; CAST the bounds to {value.type}.")
        return Typed("boolean", value.nullable or low.nullable or high.nullable)

    def _t_like(self, node: exp.Like) -> Typed:
        parts = self.all_of([node.this, node.expression])
        self._require_text("LIKE", [node.this, node.expression], parts)
        return Typed("boolean", any(p.nullable for p in parts))

    def _t_case(self, node: exp.Case) -> Typed:
        subject = self.type_of(node.this) if node.this is not None else None
        results: list[tuple[exp.Expression, Typed]] = []
        ok = True
        for branch in node.args.get("ifs") or []:
            try:
                condition = self.type_of(branch.this)
                if subject is None:
                    self._require_boolean("WHEN", [branch.this], [condition])
                elif not _comparable(subject.type, condition.type):
                    raise self.fail(f"CASE compares {subject.type} with {condition.type} in a WHEN; make them match.")
                results.append((branch.args["true"], self.type_of(branch.args["true"])))
            except _Failed:
                ok = False
        default = node.args.get("default")
        if default is not None:
            try:
                results.append((default, self.type_of(default)))
            except _Failed:
                ok = False
        if not ok:
            raise _Failed()
        return self._common("CASE", results, nullable=default is None or any(t.nullable for _, t in results))

    def _common(self, what: str, parts: Sequence[tuple[exp.Expression, Typed]], nullable: bool) -> Typed:
        result = "null"
        for part_node, typed in parts:
            wider = _wider(result, typed.type)
            if wider is None:
                raise self.fail(
                    f"{what} mixes {result} and {typed.type} (at {_snippet(part_node, 40)}); "
                    "CAST the values to one type."
                )
            result = wider
        return Typed(result, nullable)

    def _cast(self, node: exp.Cast) -> Typed:
        source = self.type_of(node.this)
        target_text = node.args["to"].sql(dialect=StudioSpark).lower()
        target, reason = parse_type(target_text)
        if target is None:
            raise self.fail(f"CAST target: {reason}.")
        if not can_cast(source.type, target):
            raise self.fail(f"cannot CAST {source.type} to {target}.")
        nullable = source.nullable or (source.type == "string" and target != "string")
        return Typed(target, nullable)

    _t_cast = _t_trycast = _cast

    # Functions ----------------------------------------------------------------------------
    def _t_anonymous(self, node: exp.Anonymous) -> Typed:
        name = _function_name(node)
        rule = _FUNCTION_RULES[name]
        low, high = rule.arity
        count = len(node.expressions)
        if not low <= count <= high:
            expected = str(low) if low == high else f"{low} to {high}" if high < 99 else f"at least {low}"
            raise self.fail(f"{name}() takes {expected} argument{'s' if expected != '1' else ''}, not {count}.")
        args = self.all_of(node.expressions)
        return rule.infer(self, name, node.expressions, args)

    def _t_substring(self, node: exp.Substring) -> Typed:
        parts = [node.this, node.args.get("start"), node.args.get("length")]
        present = [p for p in parts if p is not None]
        args = self.all_of(present)
        self._require_text("substring", [node.this], args[:1])
        for part, typed in zip(present[1:], args[1:], strict=True):
            self._require_integral("substring", part, typed)
        return Typed("string", any(a.nullable for a in args))

    def _t_trim(self, node: exp.Trim) -> Typed:
        present = [p for p in (node.this, node.expression) if p is not None]
        args = self.all_of(present)
        self._require_text("trim", present, args)
        return Typed("string", any(a.nullable for a in args))

    def _rounding(self, node: exp.Expression) -> Typed:
        name = _function_name(node)
        value = self.type_of(node.this)
        self._require_number(name, node.this, value)
        parts = decimal_parts(value.type)
        if parts:
            precision, scale = parts
            return Typed(
                f"decimal({min(precision - scale + 1, MAX_DECIMAL_PRECISION)},0)" if scale else value.type,
                value.nullable,
            )
        return Typed("bigint" if value.type != "null" else "null", value.nullable)

    _t_ceil = _t_floor = _rounding

    def _t_concat(self, node: exp.Concat) -> Typed:
        args = self.all_of(node.expressions)
        self._require_text("concat", node.expressions, args)
        return Typed("string", any(a.nullable for a in args))

    # Argument checks ----------------------------------------------------------------------
    def _require(
        self,
        what: str,
        nodes: Sequence[exp.Expression],
        types: Sequence[Typed],
        accepted: Callable[[str], bool],
        expected: str,
        hint: str,
    ) -> None:
        for arg_node, typed in zip(nodes, types, strict=False):
            if typed.type != "null" and not accepted(typed.type):
                raise self.fail(f"{what} expects {expected}, but {_snippet(arg_node, 40)} is {typed.type}{hint}.")

    def _require_text(self, what: str, nodes: Sequence[exp.Expression], types: Sequence[Typed]) -> None:
        self._require(what, nodes, types, lambda t: t == "string", "text", "; use CAST(x AS string)")

    def _require_boolean(self, what: str, nodes: Sequence[exp.Expression], types: Sequence[Typed]) -> None:
        self._require(
            what,
            nodes,
            types,
            lambda t: t == "boolean",
            "a true/false condition",
            "; compare it with something, e.g. x > 0",
        )

    def _require_number(self, what: str, node: exp.Expression, typed: Typed) -> None:
        self._require(what, [node], [typed], is_numeric, "a number", "; CAST it to a number first")

    def _require_integral(self, what: str, node: exp.Expression, typed: Typed) -> None:
        self._require(what, [node], [typed], lambda t: t in INTEGRAL, "a whole number", "")

    def _require_datetime(self, what: str, node: exp.Expression, typed: Typed, allow_text: bool = False) -> None:
        accepted = ("date", "timestamp", "string") if allow_text else ("date", "timestamp")
        hint = "" if allow_text else "; convert text with to_date() or to_timestamp()"
        self._require(what, [node], [typed], lambda t: t in accepted, "a date or timestamp", hint)


def aggregate_result(function: str, column_type: str | None) -> Typed | str:
    """The result of an aggregation over a column type (Spark 4's rules), or what it needs instead.

    count/count_distinct -> bigint; sum of int/bigint -> bigint, of float/double -> double, of
    decimal(p,s) -> decimal(min(38,p+10),s); avg of numbers -> double, of decimal(p,s) ->
    decimal(min(38,p+4),min(38,s+4)); min/max keep the type. Only counts are never NULL.
    """
    if function in ("count", "count_distinct"):
        return Typed("bigint", False)
    if column_type is None:
        return "needs a column"
    if function in ("min", "max"):
        if column_type == "null":
            return "needs a typed value; CAST(NULL AS <type>)"
        return Typed(column_type, True)
    parts = decimal_parts(column_type)
    if function == "sum":
        if column_type in INTEGRAL:
            return Typed("bigint", True)
        if column_type in ("float", "double"):
            return Typed("double", True)
        if parts:
            return Typed(f"decimal({min(MAX_DECIMAL_PRECISION, parts[0] + 10)},{parts[1]})", True)
        return "needs a number"
    if function == "avg":
        if column_type in INTEGRAL or column_type in ("float", "double"):
            return Typed("double", True)
        if parts:
            precision = min(MAX_DECIMAL_PRECISION, parts[0] + 4)
            return Typed(f"decimal({precision},{min(MAX_DECIMAL_PRECISION, parts[1] + 4)})", True)
        return "needs a number"
    return f"is not an aggregation ({', '.join(AGGREGATE_FUNCTIONS)})"


def common_type(a: str, b: str) -> str | None:
    """The type two values widen to (union inputs, CASE branches), or None when they do not mix."""
    return _wider(a, b)


@dataclass(frozen=True)
class _FunctionRule:
    arity: tuple[int, int]
    infer: Callable[[_Typer, str, list[exp.Expression], list[Typed]], Typed]


def _any_null(args: Sequence[Typed]) -> bool:
    return any(a.nullable for a in args)


def _f_abs(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
    t._require_number(name, nodes[0], args[0])
    return Typed(args[0].type, args[0].nullable)


def _f_round(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
    t._require_number(name, nodes[0], args[0])
    places = 0
    if len(nodes) == 2:
        digits = nodes[1].this if isinstance(nodes[1], exp.Neg) else nodes[1]
        if not (isinstance(digits, exp.Literal) and not digits.is_string and str(digits.this).isdigit()):
            raise t.fail("round() needs a whole number of decimal places written as a literal, e.g. round(x, 2).")
        places = int(str(digits.this)) * (-1 if isinstance(nodes[1], exp.Neg) else 1)
        if abs(places) > MAX_DECIMAL_PRECISION:
            raise t.fail(f"round() places must be between -{MAX_DECIMAL_PRECISION} and {MAX_DECIMAL_PRECISION}.")
    parts = decimal_parts(args[0].type)
    if not parts:
        return Typed(args[0].type, args[0].nullable)
    precision, scale = parts
    integral = precision - scale + 1
    if places < 0:
        return Typed(f"decimal({min(max(integral, -places + 1), MAX_DECIMAL_PRECISION)},0)", args[0].nullable)
    new_scale = min(scale, places)
    return Typed(f"decimal({min(integral + new_scale, MAX_DECIMAL_PRECISION)},{new_scale})", args[0].nullable)


def _f_text(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
    t._require_text(name, nodes, args)
    return Typed("string", _any_null(args))


def _f_length(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
    t._require(name, nodes, args, lambda x: x in ("string", "binary"), "text", "; use CAST(x AS string)")
    return Typed("int", _any_null(args))


def _f_regexp_extract(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
    t._require_text(name, nodes[:2], args[:2])
    if len(nodes) == 3:
        t._require_integral(name, nodes[2], args[2])
    return Typed("string", _any_null(args))


def _parse_time(result: str) -> Callable[[_Typer, str, list[exp.Expression], list[Typed]], Typed]:
    def infer(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
        t._require_datetime(name, nodes[0], args[0], allow_text=True)
        if len(nodes) == 2 and not (isinstance(nodes[1], exp.Literal) and nodes[1].is_string):
            raise t.fail(f"the format of {name}() must be written as text, e.g. 'yyyy-MM-dd'.")
        return Typed(result, True)

    return infer


def _f_date_trunc(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
    unit = nodes[0]
    if not (isinstance(unit, exp.Literal) and unit.is_string and str(unit.this).lower() in _DATE_TRUNC_UNITS):
        raise t.fail(
            "date_trunc() needs a unit written as text first, one of "
            "'year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second', e.g. date_trunc('month', ts)."
        )
    t._require_datetime(name, nodes[1], args[1], allow_text=True)
    return Typed("timestamp", _any_null(args))


def _f_part(name_type: str) -> Callable[[_Typer, str, list[exp.Expression], list[Typed]], Typed]:
    def infer(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
        t._require_datetime(name, nodes[0], args[0])
        return Typed(name_type, _any_null(args))

    return infer


def _f_datediff(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
    for node, typed in zip(nodes, args, strict=True):
        t._require_datetime(name, node, typed)
    return Typed("int", _any_null(args))


def _f_date_add(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
    t._require_datetime(name, nodes[0], args[0])
    t._require(name, nodes[1:], args[1:], lambda x: x == "int", "a whole number of days (int)", "; use CAST(x AS int)")
    return Typed("date", _any_null(args))


def _f_now(result: str) -> Callable[[_Typer, str, list[exp.Expression], list[Typed]], Typed]:
    return lambda t, name, nodes, args: Typed(result, False)


def _f_coalesce(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
    common = t._common("coalesce", list(zip(nodes, args, strict=True)), nullable=all(a.nullable for a in args))
    return common


def _f_nullif(t: _Typer, name: str, nodes: list[exp.Expression], args: list[Typed]) -> Typed:
    if not _comparable(args[0].type, args[1].type):
        raise t.fail(f"nullif() compares {args[0].type} with {args[1].type}; CAST one side first.")
    return Typed(args[0].type, True)


_MANY = 255
_FUNCTION_RULES: Mapping[str, _FunctionRule] = {
    "abs": _FunctionRule((1, 1), _f_abs),
    "round": _FunctionRule((1, 2), _f_round),
    "lower": _FunctionRule((1, 1), _f_text),
    "upper": _FunctionRule((1, 1), _f_text),
    "length": _FunctionRule((1, 1), _f_length),
    "concat": _FunctionRule((1, _MANY), _f_text),
    "regexp_extract": _FunctionRule((2, 3), _f_regexp_extract),
    "to_date": _FunctionRule((1, 2), _parse_time("date")),
    "to_timestamp": _FunctionRule((1, 2), _parse_time("timestamp")),
    "date_trunc": _FunctionRule((2, 2), _f_date_trunc),
    "year": _FunctionRule((1, 1), _f_part("int")),
    "month": _FunctionRule((1, 1), _f_part("int")),
    "day": _FunctionRule((1, 1), _f_part("int")),
    "hour": _FunctionRule((1, 1), _f_part("int")),
    "datediff": _FunctionRule((2, 2), _f_datediff),
    "date_add": _FunctionRule((2, 2), _f_date_add),
    "current_date": _FunctionRule((0, 0), _f_now("date")),
    "current_timestamp": _FunctionRule((0, 0), _f_now("timestamp")),
    "coalesce": _FunctionRule((1, _MANY), _f_coalesce),
    "nullif": _FunctionRule((2, 2), _f_nullif),
}
# Calls the parser turns into their own node types (CEIL(x), TRIM(BOTH ...), SUBSTRING(x FROM ...)).
_CLASS_FUNCTIONS = {exp.Ceil: "ceil", exp.Floor: "floor", exp.Trim: "trim", exp.Substring: "substring"}
assert set(_FUNCTION_RULES) | set(_CLASS_FUNCTIONS.values()) == set(SUPPORTED_FUNCTIONS)


# ---------------------------------------------------------------------------------------------


_Result = tuple["Analysed | None", list[str]]


class _Memo:
    """The analyses of recent expressions, by everything an analysis depends on: the text, the
    columns it is checked against and the parameter values. Validating while a person draws, then
    compiling for each engine, checks the same expressions again and again; parsing is most of the
    cost. Bounded (least recently used go first) and safe to share between threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._results: OrderedDict[object, tuple[Analysed | None, tuple[str, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object, compute: Callable[[], _Result]) -> _Result:
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
        if found is None:
            analysed, errors = compute()
            found = (analysed, tuple(errors))
            with self._lock:
                self._results[key] = found
                while len(self._results) > self.size:
                    self._results.popitem(last=False)
        return found[0], list(found[1])

    def clear(self) -> None:
        with self._lock:
            self._results.clear()


# Enough for every expression of a 5,000-node pipeline; an entry takes about 4 KB.
_MEMO = _Memo(8192)


def clear_cache() -> None:
    """Forget cached analyses (benchmarks measure from cold)."""
    _MEMO.clear()


def _parameters_key(parameters: Mapping[str, ParameterValue]) -> tuple[tuple[str, str, str], ...]:
    # repr tells apart values that compare equal but are written differently (1 and 1.0, 0.0 and -0.0).
    return tuple(sorted((name, value.type, repr(value.value)) for name, value in parameters.items()))


def analyse_expression(
    text: str,
    *,
    schema: Sequence[Field] | None,
    parameters: Mapping[str, ParameterValue],
) -> tuple[Analysed | None, list[str]]:
    """Check one expression. Returns (analysed or None, error sentences to prefix with the node).

    With `schema=None` (upstream unknown) only syntax, the supported set and parameters are checked.
    """
    key = ("expression", text, None if schema is None else tuple(schema), _parameters_key(parameters))
    return _MEMO.get(key, lambda: _analyse_expression(text, schema, parameters))


def _analyse_expression(
    text: str, schema: Sequence[Field] | None, parameters: Mapping[str, ParameterValue]
) -> tuple[Analysed | None, list[str]]:
    errors: list[str] = []
    try:
        tree = _parse(text, errors)
        if tree is None:
            return None, errors
        _check_supported(tree, errors)
        bound = _bind_parameters(tree, parameters, errors)
        if schema is None:
            if errors:
                return None, errors
            columns = tuple(dict.fromkeys(c.name for c in bound.find_all(exp.Column)))
            return Analysed(bound, None, True, columns), errors
        # Typing runs even after the checks above found problems, so unknown columns are reported
        # together with unsupported functions; the typer stays silent about what was reported.
        typer = _Typer(schema, errors)
        try:
            typed = typer.type_of(bound)
        except _Failed:
            return None, errors[:MAX_ERRORS_PER_EXPRESSION]
        if errors:
            return None, errors[:MAX_ERRORS_PER_EXPRESSION]
        return Analysed(bound, typed.type, typed.nullable, tuple(typer.used)), errors
    except RecursionError:
        return None, [f"the expression is nested too deeply; simplify it (at most {MAX_DEPTH} levels)."]


class _SidesTyper(_Typer):
    """Resolves `left.x`, `right.x` and unqualified names that exist on one side only."""

    def __init__(self, sides: Mapping[str, Sequence[Field]], errors: list[str]) -> None:
        super().__init__([], errors)
        self.sides = {side: {f.name: f for f in fields} for side, fields in sides.items()}

    def resolve(self, node: exp.Column) -> tuple[Field, object]:
        name = node.name
        if node.table and node.table not in self.sides:
            raise _Failed()  # a qualifier other than left/right: already reported
        candidates = [node.table] if node.table else [s for s, columns in self.sides.items() if name in columns]
        if len(candidates) > 1:
            raise self.fail(f"column {quote(name)} is on both sides; write left.{name} or right.{name}.")
        if not candidates or name not in self.sides.get(candidates[0], {}):
            where = f"the {node.table} input" if node.table else "either input"
            pool = self.sides.get(node.table, {}) if node.table else {n: 0 for c in self.sides.values() for n in c}
            hint = did_you_mean(name, pool)
            suggestion = f"; did you mean '{hint}'?" if hint else "."
            raise self.fail(f"column {quote(name)} does not exist in {where}{suggestion} Available: {list_names(pool)}.")
        side = candidates[0]
        return self.sides[side][name], (side, name)


def analyse_condition(
    text: str,
    *,
    sides: Mapping[str, Sequence[Field] | None],
    parameters: Mapping[str, ParameterValue],
) -> tuple[Analysed | None, list[str]]:
    """Check a join's extra condition, which sees both inputs: columns are written `left.x` and
    `right.x`, or unqualified when the name exists on one side only. The tree comes back with every
    column qualified, so the emitted SQL is unambiguous."""
    frozen = tuple((side, None if schema is None else tuple(schema)) for side, schema in sides.items())
    key = ("condition", text, frozen, _parameters_key(parameters))
    return _MEMO.get(key, lambda: _analyse_condition(text, sides, parameters))


def _analyse_condition(
    text: str, sides: Mapping[str, Sequence[Field] | None], parameters: Mapping[str, ParameterValue]
) -> tuple[Analysed | None, list[str]]:
    errors: list[str] = []
    try:
        tree = _parse(text, errors)
        if tree is None:
            return None, errors
        _check_supported(tree, errors, _JOIN_CONDITION)
        bound = _bind_parameters(tree, parameters, errors)
        known = {side: schema for side, schema in sides.items() if schema is not None}
        if len(known) < len(sides):
            if errors:
                return None, errors
            qualified = tuple(dict.fromkeys((c.table, c.name) for c in bound.find_all(exp.Column) if c.table))
            columns = tuple(dict.fromkeys(c.name for c in bound.find_all(exp.Column)))
            return Analysed(bound, None, True, columns, qualified), errors
        typer = _SidesTyper(known, errors)
        try:
            typed = typer.type_of(bound)
        except _Failed:
            return None, errors[:MAX_ERRORS_PER_EXPRESSION]
        if errors:
            return None, errors[:MAX_ERRORS_PER_EXPRESSION]
        pairs: list[tuple[str, str]] = []
        for column, key, _ in typer.reads:
            side, name = key  # type: ignore[misc]
            column.set("table", exp.to_identifier(side))
            if (side, name) not in pairs:
                pairs.append((side, name))
        return Analysed(bound, typed.type, typed.nullable, tuple(typer.used), tuple(pairs)), errors
    except RecursionError:
        return None, [f"the expression is nested too deeply; simplify it (at most {MAX_DEPTH} levels)."]
