"""Structural specs of every node type in PIPELINE_FORMAT.md: config keys, their JSON types, and ports.

A small declarative vocabulary (Text, Choice, Flag, ListOf, Record, ...) checks a node's config,
reports every problem with its JSON path, and returns the config with defaults filled in, so the
rest of the compiler can trust the types it reads. Semantic checks that need the upstream schema
(columns exist, expressions type-check) live in `schema.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from compiler.diagnostics import Diagnostics, describe_value, did_you_mean, join_path, list_names, quote
from compiler.types import COLUMN_NAME, parse_type

__all__ = [
    "CONNECTION_KINDS",
    "INVALID",
    "NODE_SPECS",
    "CheckContext",
    "ColumnName",
    "ExpressionText",
    "NodeSpec",
    "Port",
    "Record",
    "Spec",
    "Text",
    "iter_leaves",
]


class _Invalid:
    """Marker for a value that failed its check (its errors are already reported)."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = _Invalid()
_MISSING: Final = object()

INTERVAL = re.compile(r"\s*([1-9][0-9]{0,8})\s+(millisecond|second|minute|hour|day)s?\s*", re.IGNORECASE)
RULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
TABLE_NAME = re.compile(r"(?:\w|\$\{[^{}]*\})+(?:\.(?:\w|\$\{[^{}]*\})+)+", re.ASCII)
MAX_TEXT = 4096
MAX_EXPRESSION = 20_000
MAX_ITEMS = 1000


@dataclass
class CheckContext:
    """Who is being checked (for messages) and where diagnostics go."""

    node_id: str | None
    node_type: str
    diagnostics: Diagnostics
    config_path: str

    def where(self, path: str) -> str:
        """The config-relative name of a value, e.g. `columns[1].name`, for messages."""
        prefix = self.config_path + "."
        return path[len(prefix) :] if path.startswith(prefix) else path

    def error(self, path: str, message: str) -> None:
        who = f"Node '{self.node_id}'" if self.node_id else f"Node ({self.node_type})"
        self.diagnostics.error(path, f"{who}: {message}", self.node_id)


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


class Spec:
    """A checker for one JSON value; returns the normalised value or INVALID after reporting."""

    expects: str = "a value"

    def check(self, value: object, path: str, ctx: CheckContext) -> object:
        raise NotImplementedError

    def children(self, value: object, path: str) -> Iterator[tuple[Spec, object, str]]:
        """Nested (spec, value, path) triples, for walkers that look for expressions or templates."""
        return iter(())

    def _wrong_type(self, value: object, path: str, ctx: CheckContext) -> _Invalid:
        ctx.error(path, f"'{ctx.where(path)}' must be {self.expects}, not {describe_value(value)}.")
        return INVALID


@dataclass(frozen=True)
class Text(Spec):
    """A string; `template=True` marks values where `${name}` is replaced by a parameter's text."""

    what: str = "text"
    min_length: int = 1
    max_length: int = MAX_TEXT
    pattern: re.Pattern[str] | None = None
    pattern_hint: str = ""
    template: bool = False

    @property
    def expects(self) -> str:  # type: ignore[override]
        return f"a string ({self.what})"

    def check(self, value: object, path: str, ctx: CheckContext) -> object:
        if not isinstance(value, str):
            return self._wrong_type(value, path, ctx)
        where = ctx.where(path)
        if len(value.strip()) < self.min_length:
            ctx.error(path, f"'{where}' must not be empty; enter {self.what}.")
            return INVALID
        if len(value) > self.max_length:
            ctx.error(path, f"'{where}' is too long ({len(value)} characters; at most {self.max_length}).")
            return INVALID
        if _has_surrogate(value) or "\x00" in value:
            ctx.error(path, f"'{where}' contains an invalid character (a NUL or an unpaired surrogate); remove it.")
            return INVALID
        if self.pattern is not None and not self.pattern.fullmatch(value):
            ctx.error(path, f"'{where}' is {quote(value)}, which is not {self.pattern_hint}.")
            return INVALID
        return value


@dataclass(frozen=True)
class ColumnName(Text):
    what: str = "a column name"
    max_length: int = 128
    pattern: re.Pattern[str] | None = COLUMN_NAME
    pattern_hint: str = "a valid column name (a letter or _, then letters, digits or _, at most 128 characters)"


@dataclass(frozen=True)
class ExpressionText(Text):
    """A Spark SQL expression (or query, for transform.sql); parsed and type-checked by expressions.py."""

    what: str = "a Spark SQL expression"
    max_length: int = MAX_EXPRESSION
    query: bool = False


@dataclass(frozen=True)
class TypeName(Spec):
    expects: str = "a string (a type name such as 'bigint' or 'decimal(12,2)')"

    def check(self, value: object, path: str, ctx: CheckContext) -> object:
        if not isinstance(value, str):
            return self._wrong_type(value, path, ctx)
        normalised, reason = parse_type(value)
        if normalised is None:
            ctx.error(path, f"'{ctx.where(path)}': {reason}.")
            return INVALID
        return normalised


@dataclass(frozen=True)
class Choice(Spec):
    options: tuple[str, ...] = ()

    @property
    def expects(self) -> str:  # type: ignore[override]
        return "one of " + ", ".join(f"'{o}'" for o in self.options)

    def check(self, value: object, path: str, ctx: CheckContext) -> object:
        if isinstance(value, str) and value in self.options:
            return value
        if not isinstance(value, str):
            return self._wrong_type(value, path, ctx)
        hint = did_you_mean(value, self.options)
        suggestion = f" Did you mean '{hint}'?" if hint else ""
        ctx.error(path, f"'{ctx.where(path)}' must be {self.expects}, not {quote(value)}.{suggestion}")
        return INVALID


@dataclass(frozen=True)
class Flag(Spec):
    expects: str = "true or false"

    def check(self, value: object, path: str, ctx: CheckContext) -> object:
        if isinstance(value, bool):
            return value
        return self._wrong_type(value, path, ctx)


@dataclass(frozen=True)
class Integer(Spec):
    minimum: int = 0
    maximum: int = 2**31 - 1

    @property
    def expects(self) -> str:  # type: ignore[override]
        return f"a whole number between {self.minimum} and {self.maximum}"

    def check(self, value: object, path: str, ctx: CheckContext) -> object:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and self.minimum <= value <= self.maximum:
                return int(value)
            return self._wrong_type(value, path, ctx)
        if not self.minimum <= value <= self.maximum:
            shown = str(value) if len(str(value)) <= 30 else "a number with more than 30 digits"
            ctx.error(path, f"'{ctx.where(path)}' must be {self.expects}, not {shown}.")
            return INVALID
        return value


@dataclass(frozen=True)
class Interval(Text):
    what: str = "a duration such as '10 seconds'"
    max_length: int = 64
    pattern: re.Pattern[str] | None = INTERVAL
    pattern_hint: str = (
        "a duration like '10 seconds' (a number, then millisecond(s), second(s), minute(s), hour(s) or day(s))"
    )

    def check(self, value: object, path: str, ctx: CheckContext) -> object:
        checked = super().check(value, path, ctx)
        if checked is INVALID:
            return INVALID
        match = INTERVAL.fullmatch(str(checked))
        assert match is not None
        unit = match.group(2).lower()
        return f"{int(match.group(1))} {unit}{'s' if int(match.group(1)) != 1 else ''}"


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec = field(default_factory=Spec)
    min_items: int = 0
    max_items: int = MAX_ITEMS
    unique: bool = False

    @property
    def expects(self) -> str:  # type: ignore[override]
        return "a list"

    def check(self, value: object, path: str, ctx: CheckContext) -> object:
        if not isinstance(value, list):
            return self._wrong_type(value, path, ctx)
        where = ctx.where(path)
        if len(value) < self.min_items:
            ctx.error(path, f"'{where}' needs at least {self.min_items} entr{'y' if self.min_items == 1 else 'ies'}.")
            return INVALID
        if len(value) > self.max_items:
            ctx.error(path, f"'{where}' has {len(value)} entries; at most {self.max_items} are allowed.")
            return INVALID
        checked = [self.item.check(v, join_path(path, i), ctx) for i, v in enumerate(value)]
        if any(v is INVALID for v in checked):
            return INVALID
        if self.unique:
            seen: set[str] = set()
            for i, v in enumerate(checked):
                if isinstance(v, str):
                    if v.lower() in seen:
                        ctx.error(join_path(path, i), f"{quote(v)} appears more than once in '{where}'; list it once.")
                        return INVALID
                    seen.add(v.lower())
        return checked

    def children(self, value: object, path: str) -> Iterator[tuple[Spec, object, str]]:
        if isinstance(value, list):
            for i, v in enumerate(value):
                yield self.item, v, join_path(path, i)


@dataclass(frozen=True)
class Key:
    spec: Spec
    required: bool = False
    default: object = _MISSING
    help: str = ""


@dataclass(frozen=True)
class Record(Spec):
    """A JSON object with known keys; unknown keys are errors with a suggestion."""

    keys: Mapping[str, Key] = field(default_factory=dict)
    rules: tuple[Callable[[dict[str, object], str, CheckContext], bool], ...] = ()
    expects: str = "an object"

    def check(self, value: object, path: str, ctx: CheckContext) -> object:
        if not isinstance(value, dict):
            return self._wrong_type(value, path, ctx)
        ok = True
        result: dict[str, object] = {}
        for key in value:
            if not isinstance(key, str) or key not in self.keys:
                shown = key if isinstance(key, str) else str(key)
                hint = did_you_mean(shown, self.keys)
                suggestion = f" Did you mean '{hint}'?" if hint else ""
                owner = ctx.where(path) if path != ctx.config_path else "config"
                ctx.error(
                    join_path(path, shown),
                    f"{quote(shown)} is not a known key of {owner} for {ctx.node_type}.{suggestion} "
                    f"Known keys: {list_names(self.keys)}.",
                )
                ok = False
        for name, key in self.keys.items():
            key_path = join_path(path, name)
            if name in value:
                checked = key.spec.check(value[name], key_path, ctx)
                if checked is INVALID:
                    ok = False
                result[name] = checked
            elif key.required:
                owner = f"'{ctx.where(path)}'" if path != ctx.config_path else ctx.node_type
                detail = f" ({key.help})" if key.help else ""
                ctx.error(key_path, f"'{name}' is required for {owner}{detail}; add it.")
                ok = False
            elif key.default is not _MISSING:
                # A defaulted sub-record gets its own defaults filled in too.
                default = key.default
                if isinstance(default, dict):
                    result[name] = key.spec.check(dict(default), key_path, ctx)
                else:
                    result[name] = list(default) if isinstance(default, list) else default
        if not ok:
            return INVALID
        for rule in self.rules:
            if not rule(result, path, ctx):
                return INVALID
        return result

    def children(self, value: object, path: str) -> Iterator[tuple[Spec, object, str]]:
        if isinstance(value, dict):
            for name, key in self.keys.items():
                if name in value:
                    yield key.spec, value[name], join_path(path, name)


def iter_leaves(spec: Spec, value: object, path: str) -> Iterator[tuple[Spec, object, str]]:
    """Every (leaf spec, value, path) in a config, walking lists and records."""
    stack = [(spec, value, path)]
    while stack:
        current, current_value, current_path = stack.pop(0)
        nested = list(current.children(current_value, current_path))
        if nested:
            stack[0:0] = nested
        elif not isinstance(current, (ListOf, Record)):
            yield current, current_value, current_path


def _unique_names(key: str, what: str) -> Callable[[object, str, CheckContext], bool]:
    """A list rule: entries' `key` values are unique, ignoring case (Spark resolves names case-insensitively)."""

    def rule(items: object, path: str, ctx: CheckContext) -> bool:
        seen: dict[str, str] = {}
        ok = True
        assert isinstance(items, list)
        for i, item in enumerate(items):
            name = item[key] if isinstance(item, dict) else None
            if not isinstance(name, str):
                continue
            if name.lower() in seen:
                other = seen[name.lower()]
                same = "twice" if other == name else f"twice (as '{other}' and '{name}'; Spark ignores case)"
                ctx.error(join_path(join_path(path, i), key), f"{what} '{name}' is defined {same}; rename one of them.")
                ok = False
            else:
                seen[name.lower()] = name
        return ok

    return rule


@dataclass(frozen=True)
class UniqueList(ListOf):
    """A list of records whose `key` field must be unique (column names, rule names)."""

    key: str = "name"
    what: str = "Column"

    def check(self, value: object, path: str, ctx: CheckContext) -> object:
        checked = super().check(value, path, ctx)
        if checked is INVALID:
            return INVALID
        return checked if _unique_names(self.key, self.what)(checked, path, ctx) else INVALID


def _require_when(
    needed: str, condition: Callable[[dict[str, object]], bool], why: str
) -> Callable[[dict[str, object], str, CheckContext], bool]:
    def rule(config: dict[str, object], path: str, ctx: CheckContext) -> bool:
        if condition(config) and config.get(needed) is None:
            ctx.error(join_path(path, needed), f"'{needed}' is required {why}; add it.")
            return False
        return True

    return rule


def _forbid_when(
    key: str, condition: Callable[[dict[str, object]], bool], why: str
) -> Callable[[dict[str, object], str, CheckContext], bool]:
    def rule(config: dict[str, object], path: str, ctx: CheckContext) -> bool:
        if condition(config) and config.get(key) is not None:
            ctx.error(join_path(path, key), f"'{key}' cannot be used {why}; remove it.")
            return False
        return True

    return rule


SCHEMA = UniqueList(
    item=Record(
        keys={
            "name": Key(ColumnName(), required=True),
            "type": Key(TypeName(), required=True),
            "nullable": Key(Flag(), default=True),
        }
    ),
    min_items=1,
)
COLUMN_LIST = ListOf(item=ColumnName(), unique=True)
AGGREGATIONS = UniqueList(
    item=Record(
        keys={
            "name": Key(ColumnName(), required=True, help="the output column name"),
            "function": Key(Choice(options=("count", "count_distinct", "sum", "avg", "min", "max")), required=True),
            "column": Key(ColumnName()),
        },
        rules=(
            _require_when(
                "column",
                lambda c: c.get("function") != "count",
                "for every aggregation except count (omit it only for count(*))",
            ),
        ),
    ),
    min_items=1,
)


@dataclass(frozen=True)
class Port:
    """An input port; `many` lets it take several edges (union, sql)."""

    name: str
    many: bool = False


@dataclass(frozen=True)
class NodeSpec:
    """Everything structural about a node type: config, ports, and mode restrictions."""

    type: str
    summary: str
    config: Record
    inputs: tuple[Port, ...] = ()
    outputs: tuple[str, ...] = ("out",)
    batch_only: bool = False

    @property
    def kind(self) -> str:
        """'source', 'transform' or 'sink'."""
        return self.type.split(".", 1)[0]

    @property
    def visitor(self) -> str:
        """Back-end method name: source.file -> visit_source_file, transform.filter -> visit_filter."""
        name = self.type.removeprefix("transform.")
        return "visit_" + name.replace(".", "_")


# Which kinds of stored connection (studio/connections/kinds.py) each node type's `connection` may
# name. The compiler checks a name against the workspace's connections when the caller passes them
# (`validate(..., connections={name: kind})`); the job reads the connection at run time from
# $STUDIO_CONNECTION_<NAME>.
CONNECTION_KINDS: Mapping[str, tuple[str, ...]] = {
    "source.kafka": ("kafka",),
    "sink.kafka": ("kafka",),
    "source.iceberg": ("s3",),
    "sink.iceberg": ("s3",),
}
ICEBERG_CONNECTION_HELP = (
    "an S3 connection whose keys, endpoint and region the job uses to read and write the table's files "
    "(default: the studio's AWS_* settings)"
)


def _spec(
    type_: str,
    summary: str,
    keys: dict[str, Key],
    *,
    inputs: tuple[Port, ...] = (Port("in"),),
    outputs: tuple[str, ...] = ("out",),
    rules: tuple[Callable[[dict[str, object], str, CheckContext], bool], ...] = (),
    batch_only: bool = False,
) -> NodeSpec:
    return NodeSpec(type_, summary, Record(keys=keys, rules=rules), inputs, outputs, batch_only)


_SPECS = [
    _spec(
        "source.file",
        "reads files (csv, json or parquet) from a local path or s3://",
        {
            "path": Key(
                Text(what="a path or glob", template=True),
                required=True,
                help="the files to read, e.g. 'data/orders/*.csv'",
            ),
            "format": Key(Choice(options=("csv", "json", "parquet")), required=True),
            "schema": Key(SCHEMA),
            "options": Key(
                Record(
                    keys={
                        "header": Key(Flag(), default=True),
                        "delimiter": Key(
                            Text(
                                what="a single character",
                                min_length=0,
                                max_length=1,
                                pattern=re.compile(r"[^\r\n\"\\]"),
                                pattern_hint="a single character other than a quote, backslash or line break",
                            ),
                            default=",",
                        ),
                    }
                ),
                default={},
            ),
            "streaming": Key(Flag(), default=False),
        },
        rules=(
            _require_when(
                "schema",
                lambda c: c.get("format") in ("csv", "json"),
                "for csv and json files (list each column's name and type)",
            ),
        ),
        inputs=(),
    ),
    _spec(
        "source.kafka",
        "reads a Kafka topic",
        {
            "connection": Key(Text(what="the name of a stored connection")),
            "topic": Key(Text(what="a topic name", template=True), required=True),
            "format": Key(Choice(options=("json", "debezium-json")), default="json"),
            "schema": Key(SCHEMA, required=True, help="the columns of each message"),
            "starting_offsets": Key(Choice(options=("earliest", "latest")), default="latest"),
            "streaming": Key(Flag(), default=None),
            "event_time": Key(ColumnName()),
            "watermark": Key(Interval()),
        },
        rules=(_require_when("event_time", lambda c: c.get("watermark") is not None, "when 'watermark' is set"),),
        inputs=(),
    ),
    _spec(
        "source.iceberg",
        "reads an Iceberg table",
        {
            "connection": Key(Text(what="the name of a stored connection"), help=ICEBERG_CONNECTION_HELP),
            "table": Key(
                Text(
                    what="'namespace.name'",
                    template=True,
                    pattern=TABLE_NAME,
                    pattern_hint="a table name like 'namespace.name'",
                ),
                required=True,
            ),
            "snapshot_id": Key(Integer(minimum=0, maximum=2**63 - 1)),
            "as_of": Key(Text(what="a timestamp such as '2026-01-01 00:00:00'", max_length=64)),
            "streaming": Key(Flag(), default=False),
        },
        rules=(
            _forbid_when("as_of", lambda c: c.get("snapshot_id") is not None, "together with 'snapshot_id' (pick one)"),
            _forbid_when(
                "snapshot_id", lambda c: c.get("streaming") is True, "with streaming: true (time travel is batch only)"
            ),
            _forbid_when(
                "as_of", lambda c: c.get("streaming") is True, "with streaming: true (time travel is batch only)"
            ),
        ),
        inputs=(),
    ),
    _spec(
        "transform.select",
        "keeps only the listed columns, in order, optionally renamed or cast",
        {
            "columns": Key(
                ListOf(
                    item=Record(
                        keys={
                            "name": Key(ColumnName(), required=True),
                            "alias": Key(ColumnName()),
                            "type": Key(TypeName()),
                        }
                    ),
                    min_items=1,
                ),
                required=True,
                help="the columns to keep",
            )
        },
    ),
    _spec(
        "transform.filter",
        "keeps the rows where the condition is true",
        {"condition": Key(ExpressionText(), required=True, help="a Spark SQL condition such as 'amount > 100'")},
    ),
    _spec(
        "transform.derive",
        "adds or replaces columns computed from expressions",
        {
            "columns": Key(
                UniqueList(
                    item=Record(
                        keys={
                            "name": Key(ColumnName(), required=True),
                            "expression": Key(ExpressionText(), required=True),
                        }
                    ),
                    min_items=1,
                ),
                required=True,
                help="the columns to compute",
            )
        },
    ),
    _spec(
        "transform.join",
        "joins two inputs on key columns",
        {
            "how": Key(Choice(options=("inner", "left", "right", "full", "semi", "anti")), required=True),
            "on": Key(
                ListOf(
                    item=Record(
                        keys={"left": Key(ColumnName(), required=True), "right": Key(ColumnName(), required=True)}
                    ),
                    min_items=1,
                ),
                required=True,
                help="pairs of key columns",
            ),
            "condition": Key(ExpressionText()),
            "right_suffix": Key(
                Text(
                    what="a suffix such as '_right'",
                    max_length=32,
                    pattern=re.compile(r"[A-Za-z0-9_]+"),
                    pattern_hint="made of letters, digits and _",
                )
            ),
        },
        inputs=(Port("left"), Port("right")),
    ),
    _spec(
        "transform.aggregate",
        "groups rows and computes aggregations",
        {
            "group_by": Key(COLUMN_LIST, default=[]),
            "aggregations": Key(AGGREGATIONS, required=True),
        },
    ),
    _spec(
        "transform.window_aggregate",
        "aggregates rows over time windows",
        {
            "time_column": Key(ColumnName(), required=True),
            "window": Key(
                Record(
                    keys={
                        "type": Key(Choice(options=("tumbling", "hopping", "session")), required=True),
                        "size": Key(Interval()),
                        "slide": Key(Interval()),
                        "gap": Key(Interval()),
                    },
                    rules=(
                        _require_when(
                            "size",
                            lambda c: c.get("type") in ("tumbling", "hopping"),
                            "for tumbling and hopping windows",
                        ),
                        _require_when("slide", lambda c: c.get("type") == "hopping", "for hopping windows"),
                        _require_when("gap", lambda c: c.get("type") == "session", "for session windows"),
                        _forbid_when("slide", lambda c: c.get("type") != "hopping", "except with hopping windows"),
                        _forbid_when("gap", lambda c: c.get("type") != "session", "except with session windows"),
                        _forbid_when("size", lambda c: c.get("type") == "session", "with session windows (use 'gap')"),
                    ),
                ),
                required=True,
            ),
            "watermark": Key(Interval()),
            "group_by": Key(COLUMN_LIST, default=[]),
            "aggregations": Key(AGGREGATIONS, required=True),
        },
    ),
    _spec(
        "transform.deduplicate",
        "keeps one row per key",
        {
            "keys": Key(ListOf(item=ColumnName(), min_items=1, unique=True), required=True),
            "order_by": Key(
                Record(
                    keys={
                        "column": Key(ColumnName(), required=True),
                        "direction": Key(Choice(options=("asc", "desc")), default="asc"),
                    }
                )
            ),
            "keep": Key(Choice(options=("first", "last")), default="first"),
        },
    ),
    _spec(
        "transform.union",
        "stacks the rows of several inputs",
        {"by_name": Key(Flag(), default=True), "allow_missing": Key(Flag(), default=False)},
        inputs=(Port("in", many=True),),
    ),
    _spec(
        "transform.sort",
        "orders the rows",
        {
            "order": Key(
                ListOf(
                    item=Record(
                        keys={
                            "column": Key(ColumnName(), required=True),
                            "direction": Key(Choice(options=("asc", "desc")), default="asc"),
                            "nulls": Key(Choice(options=("first", "last"))),
                        }
                    ),
                    min_items=1,
                ),
                required=True,
            )
        },
        batch_only=True,
    ),
    _spec("transform.limit", "keeps the first n rows", {"n": Key(Integer(), required=True)}, batch_only=True),
    _spec(
        "transform.sql",
        "runs a Spark SQL query over its inputs (tables named by upstream node ids)",
        {"query": Key(ExpressionText(what="a Spark SQL query", query=True), required=True)},
        inputs=(Port("in", many=True),),
    ),
    _spec(
        "transform.quality",
        "checks rules on every row; failing rows are warned about, dropped, quarantined or fail the run",
        {
            "rules": Key(
                UniqueList(
                    item=Record(
                        keys={
                            "name": Key(
                                Text(
                                    what="a rule name",
                                    max_length=128,
                                    pattern=RULE_NAME,
                                    pattern_hint="a valid rule name (letters, digits and _)",
                                ),
                                required=True,
                            ),
                            "expression": Key(ExpressionText(), required=True),
                            "on_fail": Key(Choice(options=("warn", "drop", "quarantine", "fail")), required=True),
                        }
                    ),
                    min_items=1,
                    what="Rule",
                ),
                required=True,
            )
        },
        outputs=("out", "rejected"),
    ),
    _spec(
        "sink.iceberg",
        "writes an Iceberg table",
        {
            "connection": Key(Text(what="the name of a stored connection"), help=ICEBERG_CONNECTION_HELP),
            "table": Key(
                Text(
                    what="'namespace.name'",
                    template=True,
                    pattern=TABLE_NAME,
                    pattern_hint="a table name like 'namespace.name'",
                ),
                required=True,
            ),
            "mode": Key(Choice(options=("append", "overwrite", "upsert")), default="append"),
            "keys": Key(ListOf(item=ColumnName(), min_items=1, unique=True)),
            "partition_by": Key(
                ListOf(
                    item=Record(
                        keys={
                            "column": Key(ColumnName(), required=True),
                            "transform": Key(
                                Text(
                                    what="a partition transform",
                                    max_length=32,
                                    pattern=re.compile(r"identity|year|month|day|hour|bucket\[[1-9][0-9]{0,8}\]"),
                                    pattern_hint="one of identity, year, month, day, hour, bucket[N]",
                                ),
                                default="identity",
                            ),
                        }
                    )
                ),
                default=[],
            ),
            "create_if_missing": Key(Flag(), default=True),
        },
        rules=(
            _require_when(
                "keys", lambda c: c.get("mode") == "upsert", "for mode 'upsert' (the columns that identify a row)"
            ),
        ),
        outputs=(),
    ),
    _spec(
        "sink.file",
        "writes files (parquet, csv or json)",
        {
            "path": Key(
                Text(what="a folder path", template=True), required=True, help="the folder to write, e.g. 'out/orders'"
            ),
            "format": Key(Choice(options=("parquet", "csv", "json")), required=True),
            "mode": Key(Choice(options=("overwrite", "append")), default="overwrite"),
            "partition_by": Key(COLUMN_LIST, default=[]),
        },
        outputs=(),
    ),
    _spec(
        "sink.kafka",
        "writes rows to a Kafka topic as JSON",
        {
            "connection": Key(Text(what="the name of a stored connection")),
            "topic": Key(Text(what="a topic name", template=True), required=True),
            "key_columns": Key(ListOf(item=ColumnName(), unique=True), default=[]),
            "format": Key(Choice(options=("json",)), default="json"),
        },
        outputs=(),
    ),
    _spec(
        "sink.alert",
        "raises an alert for each arriving row",
        {
            "condition": Key(ExpressionText()),
            "message": Key(Text(what="a message template such as 'Order {order_id} is late'"), required=True),
            "severity": Key(Choice(options=("info", "warning", "critical")), default="warning"),
        },
        outputs=(),
    ),
]

NODE_SPECS: Mapping[str, NodeSpec] = {spec.type: spec for spec in _SPECS}
