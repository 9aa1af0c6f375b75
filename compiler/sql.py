"""transform.sql: one SELECT query over the node's inputs, checked like every other expression.

The inputs are tables named by their upstream node ids. The studio's SQL is a subset of Spark SQL
that every engine can run with the same result:

- `WITH` (not recursive), `SELECT [DISTINCT]`, `FROM` inputs, CTEs and aliased subqueries,
  `[INNER|LEFT|RIGHT|FULL] JOIN ... ON/USING`, `CROSS JOIN`, `LEFT SEMI/ANTI JOIN ... ON`,
  `WHERE`, `GROUP BY`, `HAVING`, `ORDER BY`, `LIMIT n`, and `UNION [ALL]`/`INTERSECT`/`EXCEPT`;
- columns may be qualified by a table name or alias (`o.amount`);
- the expression functions of the format, plus the aggregations count(*), count(x),
  count(DISTINCT x), sum, avg, min and max;
- every output column needs a valid name: a column reference keeps its name, anything else needs
  `AS name`; `*` and `t.*` expand to the visible columns (a USING key once, first).

The query's output columns and types follow the same typing as expressions, and its lineage
records which input columns each output column reads and which decide its rows.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError

from compiler.diagnostics import did_you_mean, list_names, quote
from compiler.expressions import (
    MAX_DEPTH,
    MAX_ERRORS_PER_EXPRESSION,
    StudioSpark,
    Typed,
    _bind_parameters,
    _check_supported,
    _Failed,
    _first_line,
    _is_aggregate,
    _Rules,
    _snippet,
    _tokens_and_rewrite,
    _Typer,
    common_type,
)
from compiler.lineage import strongest
from compiler.parameters import ParameterValue
from compiler.types import COLUMN_NAME, Field

__all__ = ["Query", "analyse_sql"]

_QUERY = _Rules(any_qualifier=True, aggregates=True)
_NAME = COLUMN_NAME
Origin = tuple[str, str, str]  # (input table, column, how)
_SELECT_KEYS = frozenset({"expressions", "distinct", "from", "from_", "joins", "where", "group", "having", "order",
                          "limit", "with", "with_"})  # fmt: skip


@dataclass(frozen=True)
class Query:
    """A checked query: its tree, output columns (None when an input's columns are unknown),
    lineage per output column and for its rows, the inputs it reads, and the features it uses
    (`aggregation`, `distinct`, `order`, `limit`, `join`, `set_operation`) for engine rules."""

    tree: exp.Expression
    fields: list[Field] | None
    columns: dict[str, list[Origin]]
    rows: list[Origin]
    tables: tuple[str, ...]
    features: frozenset[str]

    def sql(self, placeholders: Mapping[str, str]) -> str:
        """Spark SQL with each input table written `{placeholder}` (for `spark.sql(text, **frames)`)
        and every other brace doubled, so the text is a format string with exactly those fields."""
        tree = self.tree.copy()
        if not self.tables:
            return tree.sql(dialect=StudioSpark, identify=True, comments=False)
        for table in list(tree.find_all(exp.Table)):
            if table.args.get("studio_input"):
                alias = table.alias or table.name
                table.set("this", _Placeholder(this=placeholders[table.name]))
                table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        text = tree.sql(dialect=_FormatSpark, identify=True, comments=False)
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        if not fields <= set(placeholders.values()):
            raise ValueError(f"unexpected format fields in generated SQL: {sorted(fields)}")
        return text


class _Placeholder(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class _FormatSpark(StudioSpark):
    class Generator(StudioSpark.Generator):
        TRANSFORMS: ClassVar[dict[type[exp.Expression], object]] = {  # type: ignore[assignment]
            **StudioSpark.Generator.TRANSFORMS,
            _Placeholder: lambda self, e: "{" + str(e.this) + "}",
        }

        def literal_sql(self, expression: exp.Literal) -> str:
            return super().literal_sql(expression).replace("{", "{{").replace("}", "}}")


@dataclass(eq=False)
class _Column:
    """A column visible in a scope; identity (not equality) tells two columns apart."""

    name: str
    field: Field
    origins: tuple[Origin, ...]


@dataclass
class _Relation:
    alias: str | None
    columns: list[_Column]


@dataclass
class _Scope:
    relations: list[_Relation] = field(default_factory=list)
    # Unqualified names: every column once, USING keys merged (and first), in `*` order.
    visible: list[_Column] = field(default_factory=list)
    outputs: dict[str, _Column] = field(default_factory=dict)  # ORDER BY may use output names


class _Error(Exception):
    """Stops the analysis of a query after its errors were recorded."""


class _ScopeTyper(_Typer):
    def __init__(self, scope: _Scope, errors: list[str], aggregates: bool) -> None:
        super().__init__([], errors, aggregates=aggregates)
        self.scope = scope

    def resolve(self, node: exp.Column) -> tuple[Field, object]:
        try:
            column = _lookup(self.scope, node, self.errors)
        except _Error:
            raise _Failed() from None
        return column.field, column


def _lookup(scope: _Scope, node: exp.Column, errors: list[str] | None = None) -> _Column:
    """The column a reference means; reports (into `errors`, or raises with the message) otherwise."""
    name, qualifier = node.name, node.table
    if qualifier:
        relations = [r for r in scope.relations if r.alias == qualifier]
        if not relations:
            aliases = [r.alias for r in scope.relations if r.alias]
            hint = did_you_mean(qualifier, aliases)
            suggestion = f"; did you mean '{hint}'?" if hint else "."
            raise _report(
                errors, f"{_snippet(node)} uses {quote(qualifier)}, which is not a table or alias of this SELECT"
                f"{suggestion} Tables here: {list_names(aliases)}."
            )
        found = [c for c in relations[0].columns if c.name == name]
        pool = [c.name for c in relations[0].columns]
        where = f"table {quote(qualifier)}"
    else:
        output = scope.outputs.get(name)
        found = [c for c in scope.visible if c.name == name]
        if output is not None and not found:
            return output
        pool = [c.name for c in scope.visible]
        where = "the tables of this SELECT"
        if len(found) > 1:
            owners = [r.alias for r in scope.relations if r.alias and any(c.name == name for c in r.columns)]
            example = f"{owners[0]}.{name}" if owners else name
            raise _report(errors, f"column {quote(name)} is ambiguous (it is in {list_names(owners)}); write e.g. {example}.")
    if not found:
        hint = did_you_mean(name, pool)
        suggestion = f"; did you mean '{hint}'?" if hint else "."
        raise _report(errors, f"column {quote(name)} does not exist in {where}{suggestion} Available: {list_names(pool)}.")
    return found[0]


def _report(errors: list[str] | None, message: str) -> _Error:
    if errors is not None:
        errors.append(message)
    return _Error(message)


class _Analyser:
    def __init__(self, inputs: Mapping[str, Sequence[Field] | None], errors: list[str]) -> None:
        self.inputs = inputs
        self.errors = errors
        self.rows: list[Origin] = []
        self.tables: list[str] = []
        self.features: set[str] = set()

    def fail(self, message: str) -> _Error:
        self.errors.append(message)
        return _Error(message)

    # Queries ------------------------------------------------------------------------------
    def query(self, node: exp.Expression, ctes: Mapping[str, list[_Column]]) -> list[_Column]:
        ctes = self.with_clause(node, ctes)
        if isinstance(node, exp.Subquery):
            return self.query(node.this, ctes)
        if isinstance(node, (exp.Union, exp.Intersect, exp.Except)):
            return self.set_operation(node, ctes)
        if isinstance(node, exp.Select):
            return self.select(node, ctes)
        raise self.fail(f"{_snippet(node)} is not supported; write a SELECT query.")

    def with_clause(self, node: exp.Expression, ctes: Mapping[str, list[_Column]]) -> Mapping[str, list[_Column]]:
        with_ = node.args.get("with_") or node.args.get("with")
        if not with_:
            return ctes
        if with_.args.get("recursive"):
            raise self.fail("WITH RECURSIVE is not supported.")
        defined = dict(ctes)
        for cte in with_.expressions:
            name = cte.alias
            if not _NAME.fullmatch(name or "") or cte.args["alias"].columns:
                raise self.fail(f"name each WITH query with a plain name, like WITH recent AS (...), not {_snippet(cte)}.")
            defined[name] = self.query(cte.this, defined)
        return defined

    def set_operation(self, node: exp.Expression, ctes: Mapping[str, list[_Column]]) -> list[_Column]:
        self.features.add("set_operation")
        if not (isinstance(node, exp.Union) and not node.args.get("distinct")):
            self.features.add("distinct")
        for key in ("order", "limit", "offset"):
            if node.args.get(key):
                raise self.fail("ORDER BY and LIMIT after UNION/INTERSECT/EXCEPT are not supported; wrap the set "
                                "operation in a WITH query and order that.")  # fmt: skip
        left = self.query(node.this, ctes)
        right = self.query(node.expression, ctes)
        what = type(node).__name__.upper()
        if len(left) != len(right):
            raise self.fail(f"the two sides of {what} have {len(left)} and {len(right)} columns; make them match.")
        result = []
        for a, b in zip(left, right, strict=True):
            wider = common_type(a.field.type, b.field.type)
            if wider is None:
                raise self.fail(f"{what} puts {a.field.type} column '{a.name}' and {b.field.type} column '{b.name}' "
                                "in one column; CAST one of them.")  # fmt: skip
            origins = tuple(dict.fromkeys(a.origins + b.origins))
            result.append(_Column(a.name, Field(a.name, wider, a.field.nullable or b.field.nullable), origins))
        return result

    def select(self, node: exp.Select, ctes: Mapping[str, list[_Column]]) -> list[_Column]:
        for key, value in node.args.items():
            if value and key not in _SELECT_KEYS:
                raise self.fail(f"{key.upper().replace('_', ' ')} is not supported in the studio's SQL.")
        distinct = node.args.get("distinct")
        if distinct is not None:
            if distinct.args.get("on"):
                raise self.fail("DISTINCT ON is not supported; use transform.deduplicate.")
            self.features.add("distinct")
        scope = _Scope()
        from_ = node.args.get("from_") or node.args.get("from")
        if from_ is not None:
            self.add_relation(scope, from_.this, ctes)
        for join in node.args.get("joins") or []:
            self.join(scope, join, ctes)
        where = node.args.get("where")
        if where is not None:
            self.condition(scope, where.this, "WHERE", "filter")
        group = node.args.get("group")
        group_keys: list[exp.Expression] = []
        if group is not None:
            for key in ("grouping_sets", "cube", "rollup", "totals"):
                if group.args.get(key):
                    raise self.fail("GROUPING SETS, ROLLUP and CUBE are not supported; group by columns.")
            for item in group.expressions:
                if isinstance(item, exp.Literal) and not item.is_string:
                    raise self.fail(f"GROUP BY {item.this}: write the column or expression, not its position.")
                self.expression(scope, item, aggregates=False, where="GROUP BY")
                group_keys.append(item)
        aggregating = group is not None or any(
            _is_aggregate(n) for e in node.expressions for n in e.find_all(exp.Anonymous)
        )
        having = node.args.get("having")
        if having is not None:
            aggregating = True
        if aggregating:
            self.features.add("aggregation")
        outputs: list[_Column] = []
        for item in node.expressions:
            outputs.extend(self.projection(scope, item, aggregating, group_keys))
        seen: dict[str, str] = {}
        for column in outputs:
            if column.name.lower() in seen:
                raise self.fail(
                    f"the query's output would have column '{column.name}' twice; rename one with AS."
                    if seen[column.name.lower()] == column.name
                    else f"the output columns '{seen[column.name.lower()]}' and '{column.name}' differ only in case "
                    "(Spark ignores case); rename one with AS."
                )
            seen[column.name.lower()] = column.name
        if having is not None:
            self.grouped(scope, having.this, group_keys, "HAVING")
            self.condition(scope, having.this, "HAVING", "filter", aggregates=True)
        order = node.args.get("order")
        if order is not None:
            self.features.add("order")
            scope.outputs = {c.name: c for c in outputs}
            for ordered in order.expressions:
                if ordered.args.get("with_fill"):
                    raise self.fail("ORDER BY ... WITH FILL is not supported.")
                target = ordered.this
                if isinstance(target, exp.Literal) and not target.is_string:
                    raise self.fail(f"ORDER BY {target.this}: write the column, not its position.")
                if aggregating and not (isinstance(target, exp.Column) and not target.table and target.name in scope.outputs):
                    self.grouped(scope, target, group_keys, "ORDER BY")
                self.expression(scope, target, aggregates=aggregating, where="ORDER BY")
            scope.outputs = {}
        limit = node.args.get("limit")
        if limit is not None:
            self.features.add("limit")
            value = limit.expression
            if not (isinstance(value, exp.Literal) and not value.is_string and str(value.this).isdigit()):
                raise self.fail("LIMIT needs a whole number written as a literal, e.g. LIMIT 10.")
        return outputs

    # FROM and JOIN ------------------------------------------------------------------------
    def relation(self, item: exp.Expression, ctes: Mapping[str, list[_Column]]) -> _Relation:
        alias_node = item.args.get("alias")
        if alias_node is not None and alias_node.columns:
            raise self.fail(f"column aliases on a table ({_snippet(item)}) are not supported; rename in the SELECT.")
        alias = item.alias or None
        if alias is not None and not _NAME.fullmatch(alias):
            raise self.fail(f"{quote(alias)} is not a valid alias (letters, digits and _).")
        if isinstance(item, exp.Table):
            name = item.name
            if item.args.get("db") or item.args.get("catalog") or not isinstance(item.this, exp.Identifier):
                raise self.fail(f"the query reads {_snippet(item)}; read one of its inputs by name: "
                                f"{list_names(self.inputs)}.")  # fmt: skip
            if name in ctes:
                columns = [_Column(c.name, c.field, c.origins) for c in ctes[name]]
            elif name in self.inputs:
                item.set("studio_input", True)
                if name not in self.tables:
                    self.tables.append(name)
                schema = self.inputs[name]
                assert schema is not None
                columns = [_Column(f.name, f, ((name, f.name, "identity"),)) for f in schema]
            else:
                hint = did_you_mean(name, [*self.inputs, *ctes])
                suggestion = f" Did you mean '{hint}'?" if hint else ""
                raise self.fail(f"the query reads table {quote(name)}, which is not one of its inputs.{suggestion} "
                                f"Inputs: {list_names(self.inputs)}.")  # fmt: skip
            return _Relation(alias or name, columns)
        if isinstance(item, exp.Subquery):
            columns = self.query(item.this, ctes)
            return _Relation(alias, [_Column(c.name, c.field, c.origins) for c in columns])
        raise self.fail(f"{_snippet(item)} is not supported in FROM; read an input, a WITH query or a subquery.")

    def add_relation(self, scope: _Scope, item: exp.Expression, ctes: Mapping[str, list[_Column]]) -> _Relation:
        relation = self.relation(item, ctes)
        if relation.alias and any(r.alias == relation.alias for r in scope.relations):
            raise self.fail(f"{quote(relation.alias)} is used twice in FROM; give one of them another alias (AS x).")
        scope.relations.append(relation)
        scope.visible.extend(relation.columns)
        return relation

    def join(self, scope: _Scope, join: exp.Join, ctes: Mapping[str, list[_Column]]) -> None:
        self.features.add("join")
        side = (join.side or "").upper()
        kind = (join.kind or "").upper()
        if join.args.get("method") or kind not in ("", "INNER", "OUTER", "CROSS", "SEMI", "ANTI"):
            raise self.fail(f"{_snippet(join, 50)}: only INNER, LEFT, RIGHT, FULL, CROSS, LEFT SEMI and LEFT ANTI "
                            "joins are supported.")  # fmt: skip
        if kind in ("SEMI", "ANTI") and side not in ("", "LEFT"):
            raise self.fail(f"{side} {kind} JOIN is not supported; write LEFT {kind} JOIN.")
        on, using = join.args.get("on"), join.args.get("using")
        left_visible = list(scope.visible)
        relation = self.relation(join.this, ctes)
        if relation.alias and any(r.alias == relation.alias for r in scope.relations):
            raise self.fail(f"{quote(relation.alias)} is used twice in FROM; give one of them another alias (AS x).")
        if kind == "CROSS":
            if on is not None or using:
                raise self.fail("CROSS JOIN takes no ON or USING.")
        elif on is None and not using:
            raise self.fail(f"{_snippet(join, 50)} needs ON ... or USING (...); write CROSS JOIN for every pair of rows.")
        # Outer joins make the other side's columns nullable.
        if side in ("RIGHT", "FULL"):
            _make_nullable(scope)
            left_visible = list(scope.visible)
        right_columns = relation.columns
        if side in ("LEFT", "FULL") and kind not in ("SEMI", "ANTI"):
            right_columns = [_Column(c.name, _as_nullable(c.field), c.origins) for c in relation.columns]
            relation.columns = right_columns
        scope.relations.append(relation)
        scope.visible = [*scope.visible, *right_columns]
        if using:
            merged: list[_Column] = []
            for identifier in using:
                name = identifier.name
                left_matches = [c for c in left_visible if c.name == name]
                right_matches = [c for c in right_columns if c.name == name]
                if len(left_matches) != 1 or len(right_matches) != 1:
                    raise self.fail(f"USING ({name}): the column must exist once on each side of the join.")
                a, b = left_matches[0], right_matches[0]
                wider = common_type(a.field.type, b.field.type)
                if wider is None:
                    raise self.fail(f"USING ({name}) compares {a.field.type} with {b.field.type}; CAST one side first.")
                self.rows.extend(_with_how(a.origins + b.origins, "join_key"))
                if side == "FULL":
                    key = Field(name, wider, a.field.nullable and b.field.nullable)
                elif side == "RIGHT":
                    key = b.field
                else:
                    key = a.field
                origins = tuple(dict.fromkeys(_with_how(a.origins + b.origins, "join_key")))
                merged.append(_Column(name, key, origins))
                scope.visible = [c for c in scope.visible if c is not a and c is not b]
            scope.visible = [*merged, *scope.visible]
        if on is not None:
            self.condition(scope, on, "ON", "join_key")
        if kind in ("SEMI", "ANTI"):
            scope.relations.remove(relation)
            scope.visible = [c for c in scope.visible if all(c is not r for r in right_columns)]

    # Expressions --------------------------------------------------------------------------
    def expression(self, scope: _Scope, node: exp.Expression, *, aggregates: bool, where: str) -> tuple[Typed, _ScopeTyper]:
        before = len(self.errors)
        _check_supported(node, self.errors, _QUERY)
        if not aggregates:
            for call in node.find_all(exp.Anonymous):
                if _is_aggregate(call):
                    self.errors.append(f"aggregations are not allowed in {where} ({_snippet(call, 40)})"
                                       + ("; use HAVING." if where == "WHERE" else "."))  # fmt: skip
                    break
        if len(self.errors) > before:
            raise _Error()
        typer = _ScopeTyper(scope, self.errors, aggregates)
        try:
            typed = typer.type_of(node)
        except _Failed:
            raise _Error() from None
        if len(self.errors) > before:
            raise _Error()
        return typed, typer

    def condition(self, scope: _Scope, node: exp.Expression, where: str, how: str, aggregates: bool = False) -> None:
        typed, typer = self.expression(scope, node, aggregates=aggregates, where=where)
        if typed.type not in ("boolean", "null"):
            raise self.fail(f"the {where} condition must be true or false, but it gives {typed.type}.")
        for _, column, _ in typer.reads:
            assert isinstance(column, _Column)
            self.rows.extend(_with_how(column.origins, how))

    def projection(self, scope: _Scope, item: exp.Expression, aggregating: bool,
                   group_keys: Sequence[exp.Expression]) -> list[_Column]:  # fmt: skip
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
            if aggregating:
                raise self.fail("'*' cannot be used in a query with GROUP BY or aggregations; list the columns.")
            if isinstance(item, exp.Star):
                if item.args.get("except_") or item.args.get("except") or item.args.get("replace"):
                    raise self.fail("'* EXCEPT/REPLACE' is not supported; list the columns.")
                if not scope.relations:
                    raise self.fail("'*' needs a FROM clause.")
                return [_Column(c.name, c.field, c.origins) for c in scope.visible]
            relations = [r for r in scope.relations if r.alias == item.table]
            if not relations:
                raise self.fail(f"{_snippet(item)}: {quote(item.table)} is not a table or alias of this SELECT.")
            return [_Column(c.name, c.field, c.origins) for c in relations[0].columns]
        expression = item.this if isinstance(item, exp.Alias) else item
        if isinstance(item, exp.Alias):
            name = item.alias
            if not _NAME.fullmatch(name):
                raise self.fail(f"{quote(name)} is not a valid column name (letters, digits and _, starting with a "
                                "letter or _).")  # fmt: skip
        elif isinstance(item, exp.Column) and not isinstance(item.this, exp.Star):
            name = item.name
        else:
            raise self.fail(f"give {_snippet(item)} a name: {_snippet(item, 30)[1:-1]} AS some_name.")
        if aggregating:
            self.grouped(scope, expression, group_keys, "SELECT")
        typed, typer = self.expression(scope, expression, aggregates=True, where="SELECT")
        if typed.type == "null":
            raise self.fail(f"'{name}' is always NULL without a type; write CAST(NULL AS <type>).")
        bare = isinstance(expression, exp.Column)
        origins: list[Origin] = []
        for _, column, in_aggregate in typer.reads:
            assert isinstance(column, _Column)
            step = "identity" if bare else "aggregation" if in_aggregate else "expression"
            origins.extend((t, c, strongest([how, step])) for t, c, how in column.origins)
        return [_Column(name, Field(name, typed.type, typed.nullable), tuple(dict.fromkeys(origins)))]

    def grouped(self, scope: _Scope, node: exp.Expression, group_keys: Sequence[exp.Expression], where: str) -> None:
        """In an aggregating query, values outside aggregations must be grouped by."""
        texts = {_text(k) for k in group_keys}
        grouped_columns: list[_Column] = []
        for key in group_keys:
            if isinstance(key, exp.Column):
                try:
                    grouped_columns.append(_lookup(scope, key))
                except _Error:
                    pass
        stack = [node]
        while stack:
            current = stack.pop()
            if _is_aggregate(current) or _text(current) in texts:
                continue
            if isinstance(current, exp.Column) and not isinstance(current.this, exp.Star):
                try:
                    column = _lookup(scope, current)
                except _Error:
                    continue  # reported when the expression is typed
                if not any(column is g for g in grouped_columns) and not any(
                    column is o for o in scope.outputs.values()
                ):
                    raise self.fail(f"{where}: column {quote(current.sql(dialect=StudioSpark))} must be in GROUP BY "
                                    f"or inside an aggregation such as max({current.name}).")  # fmt: skip
                continue
            stack.extend(current.iter_expressions())


def _text(node: exp.Expression) -> str:
    return node.sql(dialect=StudioSpark, comments=False)


def _with_how(origins: Sequence[Origin], how: str) -> list[Origin]:
    return [(t, c, how) for t, c, _ in origins]


def _as_nullable(f: Field) -> Field:
    return Field(f.name, f.type, True)


def _make_nullable(scope: _Scope) -> None:
    """Every column seen so far becomes nullable: they are the outer side of a RIGHT or FULL join."""
    replaced: dict[int, _Column] = {}

    def nullable(column: _Column) -> _Column:
        if id(column) not in replaced:
            replaced[id(column)] = _Column(column.name, _as_nullable(column.field), column.origins)
        return replaced[id(column)]

    for relation in scope.relations:
        relation.columns = [nullable(c) for c in relation.columns]
    scope.visible = [nullable(c) for c in scope.visible]


def analyse_sql(
    text: str,
    *,
    inputs: Mapping[str, Sequence[Field] | None],
    parameters: Mapping[str, ParameterValue],
) -> tuple[Query | None, list[str]]:
    """Check a transform.sql query over `inputs` (table name -> columns, None when unknown).

    With an unknown input only the syntax, the supported set, the tables and the parameters are
    checked, and the query comes back without output columns.
    """
    errors: list[str] = []
    try:
        rewritten = _tokens_and_rewrite(text, errors)
        if rewritten is None:
            return None, errors
        try:
            trees = [t for t in StudioSpark().parse(rewritten) if t is not None]
        except (ParseError, TokenError, SqlglotError, ValueError) as error:
            return None, [f"the query is not valid Spark SQL: {_first_line(error)}."]
        if len(trees) != 1 or not isinstance(trees[0], exp.Query):
            return None, ["write a single SELECT query (no other statements, no ';')."]
        bound = _bind_parameters(trees[0], parameters, errors)
        if errors:
            return None, errors
        if any(schema is None for schema in inputs.values()):
            return _unchecked(bound, inputs, errors)
        analyser = _Analyser(inputs, errors)
        try:
            outputs = analyser.query(bound, {})
        except _Error:
            return None, errors[:MAX_ERRORS_PER_EXPRESSION] or ["the query could not be checked."]
        if errors:
            return None, errors[:MAX_ERRORS_PER_EXPRESSION]
        columns = {c.name: sorted(set(c.origins)) for c in outputs}
        query = Query(
            tree=bound,
            fields=[c.field for c in outputs],
            columns=columns,
            rows=sorted(set(analyser.rows)),
            tables=tuple(analyser.tables),
            features=frozenset(analyser.features),
        )
        return query, errors
    except RecursionError:
        return None, [f"the query is nested too deeply; simplify it (at most {MAX_DEPTH} levels)."]


def _expression_roots(tree: exp.Expression) -> list[exp.Expression]:
    """The expressions inside a query (select list, WHERE, ON, GROUP BY, HAVING, ORDER BY)."""
    roots: list[exp.Expression] = []
    for select in tree.find_all(exp.Select):
        for item in select.expressions:
            if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
                continue
            roots.append(item.this if isinstance(item, exp.Alias) else item)
        for key in ("where", "having"):
            if select.args.get(key) is not None:
                roots.append(select.args[key].this)
        if select.args.get("group") is not None:
            roots.extend(select.args["group"].expressions)
        if select.args.get("order") is not None:
            roots.extend(o.this for o in select.args["order"].expressions)
        roots.extend(j.args["on"] for j in select.args.get("joins") or [] if j.args.get("on") is not None)
    return roots


def _unchecked(
    tree: exp.Expression, inputs: Mapping[str, Sequence[Field] | None], errors: list[str]
) -> tuple[Query | None, list[str]]:
    """Column-free checks when an input's columns are not known."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    tables: list[str] = []
    for table in tree.find_all(exp.Table):
        name = table.name
        if table.args.get("db") or (name not in inputs and name not in ctes):
            hint = did_you_mean(name, list(inputs))
            suggestion = f" Did you mean '{hint}'?" if hint else ""
            errors.append(
                f"the query reads table {_snippet(table)}, which is not one of its inputs.{suggestion} "
                f"Inputs: {list_names(inputs)}."
            )
        elif name in inputs and name not in ctes:
            table.set("studio_input", True)
            if name not in tables:
                tables.append(name)
    for root in _expression_roots(tree):
        _check_supported(root, errors, _QUERY)
    if errors:
        return None, errors[:MAX_ERRORS_PER_EXPRESSION]
    features = {"join"} if tree.find(exp.Join) else set()
    if tree.find(exp.Order):
        features.add("order")
    if tree.find(exp.Limit):
        features.add("limit")
    if any(_is_aggregate(n) for n in tree.find_all(exp.Anonymous)) or tree.find(exp.Group):
        features.add("aggregation")
    if tree.find(exp.Distinct) or tree.find(exp.Intersect) or tree.find(exp.Except):
        features.add("distinct")
    if tree.find(exp.Union) or tree.find(exp.Intersect) or tree.find(exp.Except):
        features.add("set_operation")
    return Query(tree, None, {}, [], tuple(tables), frozenset(features)), errors
