"""The Flink back end: a PyFlink job whose nodes are Flink SQL views, run as one statement set.

Every node becomes a temporary view named by its id (other ports: `<id>$<port>`), defined by a
Flink SQL query emitted from the checked trees (compiler/flink_sql.py) with the studio's Spark 4
semantics. Sources are filesystem tables (csv read as text and converted in SQL; parquet staged
as JSON with pyarrow); sinks are added to one statement set. The runtime support each job needs
(a database of its own per run, staged sinks committed only on success, row counts) is the module
flink_runtime.py, copied to the end of every job, so a job stays one readable, standalone file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from sqlglot import exp

from compiler.backends.base import Backend, comment_text, docstring, py_str
from compiler.backends.flink_connectors import FlinkConnectors
from compiler.backends.flink_pruning import needed_columns
from compiler.document import Node
from compiler.expressions import _SidesTyper
from compiler.flink_sql import (
    ExpressionEmitter,
    QueryEmitter,
    aggregate_sql,
    cast_value,
    check_sql,
    flink_type,
    identifier,
    parse_text,
    recording,
    string_literal,
    text_of,
)
from compiler.graph import Connection, NodeId
from compiler.parameters import as_text
from compiler.schema import message_parts
from compiler.types import Field

__all__ = ["FlinkBackend"]

LINE = 100
RUNTIME = Path(__file__).with_name("flink_runtime.py")
_RUNTIME_START = "from __future__ import annotations\n"
_INTERVAL = re.compile(r"(\d+) (millisecond|second|minute|hour|day)s?")
_ORDER_PRESERVING = ("transform.filter", "transform.select", "transform.derive")
# Staged JSON for parquet sinks carries these as text, converted exactly by pyarrow at commit.
_TEXT_FOR_PARQUET = ("date", "timestamp", "float", "double")


def _runtime_source() -> str:
    text = RUNTIME.read_text(encoding="utf-8")
    return text[text.index(_RUNTIME_START) + len(_RUNTIME_START) :].lstrip("\n")


def _sql_lines(sql: str | Sequence[str], indent: str) -> list[str]:
    """SQL as adjacent Python string literals, one clause per line and a long SELECT list one item
    per line (user text only enters through py_str)."""
    parts = [sql] if isinstance(sql, str) else list(sql)
    pieces: list[str] = []
    for part in parts:
        check_sql(part)
        if part.startswith("SELECT ") and len(part) > LINE - len(indent):
            items = _top_level_items(part[len("SELECT ") :])
            pieces.append("SELECT " + items[0] + ("," if len(items) > 1 else ""))
            pieces.extend("    " + item + ("," if i < len(items) - 1 else "") for i, item in enumerate(items[1:], 1))
        else:
            pieces.append(part)
    return [f"{indent}{py_str(piece if i == 0 else ' ' + piece)}" for i, piece in enumerate(pieces)]


def _top_level_items(text: str) -> list[str]:
    """Split at commas outside brackets, string literals and quoted names."""
    items, depth, start, quote = [], 0, 0, ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'`":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    items.append(text[start:].strip())
    return items


def _sql_argument(sql: str | Sequence[str], indent: str = "            ") -> list[str]:
    """SQL as one argument of a call: the string literals, then a comma."""
    lines = _sql_lines(sql, indent)
    lines[-1] += ","
    return lines


def _interval(text: str) -> str:
    """'10 seconds' -> INTERVAL '10' SECOND (the front end normalised the text)."""
    match = _INTERVAL.fullmatch(text)
    assert match is not None, text
    return f"INTERVAL '{int(match.group(1))}' {match.group(2).upper()}"


def _interval_ms(text: str) -> int:
    match = _INTERVAL.fullmatch(text)
    assert match is not None, text
    unit = {"millisecond": 1, "second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}
    return int(match.group(1)) * unit[match.group(2)]


def _columns(fields: Sequence[Field]) -> str:
    return ", ".join(identifier(f.name) for f in fields)


class FlinkBackend(FlinkConnectors, Backend):
    """Generates a module with `build(t_env)` (works on a shared TableEnvironment) and `main()`."""

    engine = "flink"
    dialect = "flink"

    def __init__(self, analysis: object) -> None:
        super().__init__(analysis)  # type: ignore[arg-type]
        self.streaming = self.pipeline.mode == "streaming"
        # For each (node, port): the ORDER BY that orders its rows (after a sort), or None.
        self.orderings: dict[tuple[str, str], list[str] | None] = {}
        # For each (node, port): a view with the same number of rows and no ORDER BY in its plan
        # (Flink's planner fails to count a sorted query), and a LIMIT's cap; None: not counted.
        self.counters: dict[tuple[str, str], tuple[str, int | None] | None] = {}
        # Streaming: per source, the column a window's watermark is on (and the delay); per node
        # port, the event-time columns carried next to its own columns (`<column>$time`); per
        # window node, the event-time column it uses.
        self.hidden: dict[tuple[str, str], list[str]] = {}
        self.window_times: dict[str, str] = {}
        self.watermarks = self._watermarked_columns()
        # Batch: the columns each port's consumers read (compiler/backends/flink_pruning.py), and the
        # columns of each view that carries fewer than its node's schema because of that.
        self.needed = {} if self.streaming else needed_columns(analysis)
        self.pruned: dict[tuple[str, str], list[Field]] = {}

    # The module ---------------------------------------------------------------------------
    def generate(self) -> str:
        parameters = ", ".join(f"{v.name}={as_text(v)}" for v in self.analysis.parameters.values()) or "none"
        summary = (
            f"Pipeline {self.pipeline.name!r}, generated by Pipeline Studio for Flink "
            f"({self.pipeline.mode}). Parameters: {parameters}."
        )
        mode = "in_streaming_mode" if self.streaming else "in_batch_mode"
        stop = ", stop_after: float | None = None" if self.streaming else ""
        stop_doc = (
            " It runs until cancelled, or for `stop_after` seconds."
            if self.streaming
            else " Sinks are committed when it succeeds."
        )
        run_args = f"{py_str(self.pipeline.name)}, streaming=True, stop_after=stop_after" if self.streaming else py_str(
            self.pipeline.name
        )
        lines = [
            docstring(summary),
            "from __future__ import annotations",
            "",
            "import json",
            "import os",
            "",
            "from pyflink.common import Configuration",
            "from pyflink.table import EnvironmentSettings, TableEnvironment",
            "",
            "",
            f"def build(t_env: TableEnvironment{stop}) -> None:",
            f'    """Define the pipeline on `t_env` and run it as one Flink job.{stop_doc}"""',
            f"    with {self.run_statement(run_args)} as run:",
            *self.visit_all(),
            "        run.execute()",
            "",
            "",
            "def main() -> None:",
            "    config = Configuration()",
            '    config.set_string("table.local-time-zone", "UTC")',
            '    jobmanager = os.environ.get("FLINK_JOBMANAGER", "")',
            "    if jobmanager:  # host:port of a session cluster; empty: a local mini-cluster",
            '        host, _, port = jobmanager.rpartition(":")',
            '        config.set_string("execution.target", "remote")',
            '        config.set_string("rest.address", host)',
            '        config.set_string("rest.port", port)',
            "    # Set by the studio's runner: the job's name, its checkpoints, the state it starts from.",
            '    for key, value in json.loads(os.environ.get("STUDIO_FLINK_CONFIG") or "{}").items():',
            "        config.set_string(key, value)",
            f"    settings = EnvironmentSettings.new_instance().{mode}().with_configuration(config).build()",
            "    t_env = TableEnvironment.create(settings)",
            '    t_env.get_config().set("table.local-time-zone", "UTC")',
            "    build(t_env)",
            "",
            "",
            "# " + "-" * 97,
            "# Runtime support: the same in every Flink job this version of the studio generates.",
            "",
            _runtime_source().rstrip("\n"),
            *self.connector_runtime(),
            "",
            "",
            'if __name__ == "__main__":',
            "    main()",
            "",
        ]
        return "\n".join(lines)

    def _header(self, node: Node) -> str:
        label = comment_text(node.label.strip())
        return f"        # {node.id}: {label + ' ' if label else ''}({node.type})"

    # Graph helpers ------------------------------------------------------------------------
    def inputs(self, node: Node, port: str = "in") -> list[Connection]:
        assert self.analysis.graph is not None
        return [c for c in self.analysis.graph.inputs(NodeId(node.id)) if c.target_port == port]

    @staticmethod
    def view_name(node_id: str, port: str = "out") -> str:
        """Node ids cannot contain '$', so `<id>$<port>` never collides with a node's own view."""
        return node_id if port == "out" else f"{node_id}${port}"

    def input_view(self, node: Node, port: str = "in") -> str:
        connection = self.inputs(node, port)[0]
        return self.view_name(connection.source, connection.source_port)

    def schema(self, node_id: str, port: str = "out") -> list[Field]:
        return list(self.analysis.result.schemas[node_id][port])

    def input_schema(self, node: Node, port: str = "in") -> list[Field]:
        """The columns the input view carries: the upstream schema, or the part of it that is read."""
        connection = self.inputs(node, port)[0]
        key = (connection.source, connection.source_port)
        return list(self.pruned[key]) if key in self.pruned else self.schema(*key)

    def kept(self, node_id: str, fields: Sequence[Field], port: str = "out") -> list[Field]:
        """The fields a view must carry for its consumers (at least one: a view needs a column)."""
        needed = self.needed.get((node_id, port))
        if needed is None:
            return list(fields)
        kept = [f for f in fields if f.name.lower() in needed]
        kept = kept or list(fields[:1])
        if len(kept) < len(fields):
            self.pruned[(node_id, port)] = kept
        return kept

    def pass_through(self, node: Node, port: str = "in", fields: Sequence[Field] | None = None) -> None:
        """The view carries its input's columns (or `fields` made from them): pruned if they were."""
        connection = self.inputs(node, port)[0]
        if (connection.source, connection.source_port) in self.pruned:
            self.pruned[(node.id, "out")] = list(self.input_schema(node, port) if fields is None else fields)

    def input_counter(self, node: Node, port: str = "in") -> tuple[str, int | None] | None:
        connection = self.inputs(node, port)[0]
        key = (connection.source, connection.source_port)
        return self.counters.get(key, (self.view_name(*key), None))

    def input_ordering(self, node: Node, port: str = "in") -> list[str] | None:
        connection = self.inputs(node, port)[0]
        return self.orderings.get((connection.source, connection.source_port))

    def tree(self, node: Node, *keys: str | int) -> exp.Expression:
        return self.analysis.expressions[self._path(node, keys)].tree

    def expression(self, node: Node, schema: Sequence[Field], *keys: str | int, as_type: str | None = None) -> str:
        return ExpressionEmitter(schema).emit(self.tree(node, *keys), as_type=as_type)

    def view(self, node: Node, sql: Sequence[str], port: str = "out") -> list[str]:
        """`run.view(...)` for one output port; its rows are counted through `self.counters`."""
        counter = self.counters.setdefault((node.id, port), (self.view_name(node.id, port), None))
        count = "" if counter is not None else "-"
        if counter is not None and counter != (self.view_name(node.id, port), None):
            view, cap = counter
            rows = "COUNT(*)" if cap is None else f"LEAST(COUNT(*), CAST({cap} AS BIGINT))"
            count = f"SELECT {rows} FROM {identifier(view)}"
        return [
            "        run.view(",
            f"            {py_str(self.view_name(node.id, port))},",
            *_sql_argument(sql),
            f"            node={py_str(node.id)},",
            *([f"            port={py_str(port)},"] if port != "out" else []),
            *([f"            count={py_str(check_sql(count))},"] if count else []),
            "        )",
        ]

    # Sources ------------------------------------------------------------------------------
    def visit_source_file(self, node: Node) -> list[str]:
        config = self.config(node)
        file_format = str(config["format"])
        path = self.text(node, "path")
        fields = self.schema(node.id)
        table = f"{node.id}$files"
        watermark = self.watermarks.get(node.id)
        lines = [self._header(node)]
        if file_format == "csv":
            csv = config["options"]
            assert isinstance(csv, dict)
            physical = [(f.name, "STRING") for f in fields]
            options = {"field-delimiter": str(csv["delimiter"]), "null-literal": "", "ignore-parse-errors": "false"}
            header = bool(csv["header"])
            if header and not self.streaming:
                names = ", ".join(py_str(f.name) for f in fields)
                lines.append(f"        run.check_csv_header({py_str(path)}, {py_str(str(csv['delimiter']))}, [{names}])")
        elif file_format == "json":
            physical = [(f.name, "STRING" if f.type == "timestamp" else flink_type(f.type)) for f in fields]
            options = {"fail-on-missing-field": "false", "ignore-parse-errors": "false"}
            header = False
        else:
            staged = [(f.name, f.type, _staged_parquet_type(f.type)) for f in fields]
            physical = [(name, flink) for name, _, flink in staged]
            options = {}
            header = False
        computed: list[tuple[str, str]] = []
        rowtime = None
        if watermark is not None:
            column = watermark[0]
            rowtime = f"{column}$time"
            guard = _header_guard(fields) if header else None
            value = parse_text(identifier(column), "timestamp") if dict(physical)[column] == "STRING" else identifier(column)
            if guard:
                value = f"CASE WHEN {guard} THEN CAST(NULL AS TIMESTAMP(6)) ELSE {value} END"
            # Flink's event-time column cannot be NULL: rows without a time (and header lines) get
            # 1970-01-01, so windows drop them as late, as Spark drops rows without a time.
            computed.append((rowtime, f"CAST(COALESCE({value}, TIMESTAMP '1970-01-01 00:00:00') AS TIMESTAMP(3))"))
            self.hidden[(node.id, "out")] = [rowtime]
        if file_format == "parquet":
            columns = ", ".join(f"({py_str(n)}, {py_str(t)}, {py_str(s)})" for n, t, s in staged)
            lines.append(f"        run.parquet({py_str(table)}, {py_str(path)}, [{columns}])")
        else:
            lines.extend(self._files_call(table, path, file_format, physical, options, computed, rowtime, watermark))
        selected = []
        kept = {f.name for f in self.kept(node.id, fields)}
        for f, (name, physical_type) in zip(fields, physical, strict=True):
            if name not in kept:
                continue  # read by nothing downstream: left to the file scan to skip
            value = identifier(name)
            if physical_type == "STRING" and f.type != "string":
                value = parse_text(value, f.type)
                if header:
                    # Flink may evaluate a projection before the WHERE that drops header lines.
                    value = f"CASE WHEN `$header` THEN CAST(NULL AS {flink_type(f.type)}) ELSE {value} END"
            elif file_format == "parquet" and physical_type != flink_type(f.type):
                value = f"CAST({value} AS {flink_type(f.type)})"
            selected.append(f"{value} AS {identifier(name)}" if value != identifier(name) else value)
        if rowtime is not None:
            selected.append(identifier(rowtime))  # the event time, carried next to the columns
        source = identifier(table)
        if header:
            source = f"(SELECT *, {_header_guard(fields)} AS `$header` FROM {source})"
        sql = [f"SELECT {', '.join(selected)}", f"FROM {source}"]
        if header:
            sql.append("WHERE NOT `$header`")
        self.orderings[(node.id, "out")] = None
        return lines + self.view(node, sql)

    def _files_call(
        self,
        table: str,
        path: str,
        file_format: str,
        physical: list[tuple[str, str]],
        options: dict[str, str],
        computed: list[tuple[str, str]],
        rowtime: str | None,
        watermark: tuple[str, str] | None,
    ) -> list[str]:
        lines = [
            "        run.files(",
            f"            {py_str(table)},",
            f"            {py_str(path)},",
            f"            {py_str(file_format)},",
            "            [",
            *[f"                ({py_str(name)}, {py_str(kind)})," for name, kind in physical],
            "            ],",
            "            {" + ", ".join(f"{py_str(k)}: {py_str(v)}" for k, v in options.items()) + "},",
        ]
        if computed:
            lines.append("            computed=[")
            for name, expression in computed:
                check_sql(expression)
                lines.append(f"                ({py_str(name)}, {py_str(expression)}),")
            lines.append("            ],")
        if rowtime is not None and watermark is not None:
            delay = f"{identifier(rowtime)} - {_interval(watermark[1])}"
            lines.append(f"            watermark=({py_str(rowtime)}, {py_str(delay)}),")
        lines.append("        )")
        return lines

    # Transforms ---------------------------------------------------------------------------
    def visit_filter(self, node: Node) -> list[str]:
        schema = self.input_schema(node)
        condition = self.expression(node, schema, "condition")
        self._keep_ordering(node)
        self.pass_through(node)
        return [self._header(node), *self.view(node, [f"SELECT * FROM {identifier(self.input_view(node))}", f"WHERE {condition}"])]

    def visit_select(self, node: Node) -> list[str]:
        schema = {f.name: f for f in self.input_schema(node)}
        columns = self.config(node)["columns"]
        assert isinstance(columns, list)
        items = []
        renamed: dict[str, str] = {}
        for entry in columns:
            source = schema[entry["name"]]
            target = entry.get("type") or source.type
            name = entry.get("alias") or source.name
            value = cast_value(identifier(source.name), source.type, target)
            items.append(value if value == identifier(name) else f"{value} AS {identifier(name)}")
            if target == source.type:
                renamed[source.name] = name
        hidden = self.input_hidden(node)
        self.hidden[(node.id, "out")] = hidden
        items += [identifier(h) for h in hidden]
        ordering = self.input_ordering(node)
        sql = [f"SELECT {', '.join(items)}", f"FROM {identifier(self.input_view(node))}"]
        if ordering is not None:
            kept = _rename_ordering(ordering, renamed)
            if kept is None and ordering:
                # A sort key is dropped here: order this view itself; sinks keep its order.
                sql.append(f"ORDER BY {', '.join(ordering)}")
                self.counters[(node.id, "out")] = self.input_counter(node)
                kept = []
            self.orderings[(node.id, "out")] = kept
        return [self._header(node), *self.view(node, sql)]

    def visit_derive(self, node: Node) -> list[str]:
        """Entries apply in order and may use earlier ones: an entry that reads (or redefines) a
        column defined at the current level starts a new, outer SELECT."""
        base = self.input_schema(node)
        current = list(base)
        columns = self.config(node)["columns"]
        assert isinstance(columns, list)
        levels: list[tuple[list[Field], dict[str, str]]] = []
        level: dict[str, str] = {}
        replaced: set[str] = set()
        for i, entry in enumerate(columns):
            name = str(entry["name"])
            analysed = self.analysis.expressions[self._path(node, ("columns", i, "expression"))]
            if level and (name in level or any(c in level for c in analysed.columns)):
                levels.append((base, level))
                base, level = list(current), {}
            level[name] = ExpressionEmitter(base).emit(analysed.tree, as_type=analysed.type)
            field = Field(name, str(analysed.type), analysed.nullable)
            position = next((k for k, f in enumerate(current) if f.name == name), None)
            if position is None:
                current.append(field)
            else:
                current[position] = field
                replaced.add(name)
        levels.append((base, level))
        self.pass_through(node, fields=current)
        hidden = self.input_hidden(node)
        self.hidden[(node.id, "out")] = hidden
        source = identifier(self.input_view(node))
        for fields, defined in levels[:-1]:
            source = f"({_select_level(fields, defined, hidden)} FROM {source})"
        ordering = self.input_ordering(node)
        self.orderings[(node.id, "out")] = None if ordering is None else _drop_ordering(ordering, replaced)
        return [self._header(node), *self.view(node, [_select_level(*levels[-1], hidden), f"FROM {source}"])]

    def visit_join(self, node: Node) -> list[str]:
        """Output columns follow the front end's layout (SQL USING order); the extra condition is
        part of ON. Semi and anti joins are EXISTS / NOT EXISTS over the right input."""
        config = self.config(node)
        how = str(config["how"])
        left_schema = self.input_schema(node, "left")
        left_view, right_view = self.input_view(node, "left"), self.input_view(node, "right")
        pairs = [(str(p["left"]), str(p["right"])) for p in config["on"]]  # type: ignore[union-attr]
        on = [f"`l`.{identifier(a)} = `r`.{identifier(b)}" for a, b in pairs]
        if config.get("condition"):
            on.append(f"({self._join_condition(node)})")
        self.orderings[(node.id, "out")] = None
        source = f"{identifier(left_view)} AS `l`"
        if how in ("semi", "anti"):
            self.pass_through(node, "left")
            return [self._header(node), *self.view(node, _semi_join(how, left_schema, left_view, right_view, pairs, on))]
        output = {f.name: f for f in self.kept(node.id, self.schema(node.id))}
        items = []
        for name, side, column in self.analysis.joins[node.id]:
            if name not in output:
                continue  # read by nothing downstream
            if side == "key" and how == "full":
                value = f"CAST(COALESCE(`l`.{identifier(column)}, `r`.{identifier(column)}) AS {flink_type(output[name].type)})"
            elif side == "key":
                value = f"{'`r`' if how == 'right' else '`l`'}.{identifier(column)}"
            else:
                value = f"{'`l`' if side == 'left' else '`r`'}.{identifier(column)}"
            items.append(value if value.endswith(f".{identifier(name)}") else f"{value} AS {identifier(name)}")
        kind = {"inner": "JOIN", "left": "LEFT JOIN", "right": "RIGHT JOIN", "full": "FULL JOIN"}[how]
        sql = [
            f"SELECT {', '.join(items)}",
            f"FROM {source}",
            f"{kind} {identifier(right_view)} AS `r` ON {' AND '.join(on)}",
        ]
        return [self._header(node), *self.view(node, sql)]

    def _join_condition(self, node: Node) -> str:
        """The extra condition; the front end qualified every column with left. or right."""
        sides = {"left": self.input_schema(node, "left"), "right": self.input_schema(node, "right")}
        typer = recording(_SidesTyper)(sides, [])
        tree = self.tree(node, "condition")
        typer.type_of(tree)
        return ExpressionEmitter(typer=typer, qualifiers={"left": "l", "right": "r"}).emit(tree)

    def visit_aggregate(self, node: Node) -> list[str]:
        config = self.config(node)
        schema = self.input_schema(node)
        group_by = [str(c) for c in config["group_by"]]  # type: ignore[union-attr]
        output = self.schema(node.id)
        items = [identifier(c) for c in group_by]
        for aggregation, field in zip(config["aggregations"], output[len(group_by) :], strict=True):  # type: ignore[arg-type]
            items.append(f"{_aggregate(aggregation, schema, field)} AS {identifier(field.name)}")
        sql = [f"SELECT {', '.join(items)}", f"FROM {identifier(self.input_view(node))}"]
        if group_by:
            sql.append(f"GROUP BY {', '.join(identifier(c) for c in group_by)}")
        self.orderings[(node.id, "out")] = None
        return [self._header(node), *self.view(node, sql)]

    def visit_window_aggregate(self, node: Node) -> list[str]:
        config = self.config(node)
        schema = self.input_schema(node)
        window = config["window"]
        assert isinstance(window, dict)
        time_column = str(config["time_column"])
        group_by = [str(c) for c in config["group_by"]]  # type: ignore[union-attr]
        output = self.schema(node.id)
        aggregations = [
            f"{_aggregate(a, schema, f)} AS {identifier(f.name)}"
            for a, f in zip(config["aggregations"], output[2 + len(group_by) :], strict=True)  # type: ignore[arg-type]
        ]
        source = identifier(self.input_view(node))
        keys = [identifier(c) for c in group_by]
        bounds = ["CAST(`window_start` AS TIMESTAMP(6)) AS `window_start`", "CAST(`window_end` AS TIMESTAMP(6)) AS `window_end`"]
        self.orderings[(node.id, "out")] = None
        lines = [self._header(node)]
        if next(f.type for f in schema if f.name == time_column) == "date":
            # Windows over a date (batch only): its midnight, as Spark casts it.
            timed = f"{node.id}$timed"
            items = [
                f"CAST({identifier(f.name)} AS TIMESTAMP(6)) AS {identifier(f.name)}" if f.name == time_column
                else identifier(f.name)
                for f in schema
            ]  # fmt: skip
            sql = [f"SELECT {', '.join(items)}", f"FROM {source}"]
            lines += ["        run.view(", f"            {py_str(timed)},", *_sql_argument(sql), "        )"]
            source = identifier(timed)
        if window["type"] == "session" and not self.streaming:
            gap = str(window["gap"])
            return lines + self.view(node, _batch_sessions(source, time_column, keys, aggregations, gap))
        descriptor = f"DESCRIPTOR({identifier(self.window_times.get(node.id, time_column))})"
        if window["type"] == "tumbling":
            tvf = f"TUMBLE(TABLE {source}, {descriptor}, {_interval(str(window['size']))})"
        elif window["type"] == "hopping":
            tvf = f"HOP(TABLE {source}, {descriptor}, {_interval(str(window['slide']))}, {_interval(str(window['size']))})"
        else:
            partition = f" PARTITION BY {', '.join(keys)}" if keys else ""
            tvf = f"SESSION(TABLE {source}{partition}, {descriptor}, {_interval(str(window['gap']))})"
        sql = [
            f"SELECT {', '.join(bounds + keys + aggregations)}",
            f"FROM TABLE({tvf})",
            f"GROUP BY {', '.join(['`window_start`', '`window_end`', *keys])}",
        ]
        return lines + self.view(node, sql)

    def visit_deduplicate(self, node: Node) -> list[str]:
        config = self.config(node)
        schema = self.input_schema(node)
        keys = ", ".join(identifier(str(k)) for k in config["keys"])  # type: ignore[union-attr]
        order_by = config.get("order_by")
        keep_last = config.get("keep") == "last"
        if isinstance(order_by, dict):
            ascending = (order_by.get("direction", "asc") == "asc") != keep_last
            order = _order_item(str(order_by["column"]), "asc" if ascending else "desc", None)
        else:
            # No order: any row of each key is a correct answer, as in Spark's dropDuplicates.
            order = f"{identifier(str(config['keys'][0]))} ASC"  # type: ignore[index]
        numbered = (
            f"SELECT *, ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {order}) AS `$row` "
            f"FROM {identifier(self.input_view(node))}"
        )
        sql = [f"SELECT {_columns(schema)}", f"FROM ({numbered})", "WHERE `$row` = 1"]
        self.pass_through(node)
        self.orderings[(node.id, "out")] = None
        return [self._header(node), *self.view(node, sql)]

    def visit_union(self, node: Node) -> list[str]:
        config = self.config(node)
        output = self.schema(node.id)
        parts = []
        for connection in self.inputs(node):
            fields = {f.name.lower(): f for f in self.schema(connection.source, connection.source_port)}
            ordered = list(fields.values())
            items = []
            for index, f in enumerate(output):
                if config.get("by_name", True):
                    source = fields.get(f.name.lower())
                else:
                    source = ordered[index] if index < len(ordered) else None
                if source is None:
                    items.append(f"CAST(NULL AS {flink_type(f.type)}) AS {identifier(f.name)}")
                else:
                    value = cast_value(identifier(source.name), source.type, f.type)
                    items.append(value if value == identifier(f.name) else f"{value} AS {identifier(f.name)}")
            view = self.view_name(connection.source, connection.source_port)
            parts.append(f"SELECT {', '.join(items)} FROM {identifier(view)}")
        sql = [parts[0], *[f"UNION ALL {p}" for p in parts[1:]]]
        self.orderings[(node.id, "out")] = None
        return [self._header(node), *self.view(node, sql)]

    def visit_sort(self, node: Node) -> list[str]:
        order = self.config(node)["order"]
        assert isinstance(order, list)
        items = [_order_item(str(o["column"]), str(o.get("direction") or "asc"), o.get("nulls")) for o in order]
        # The view is not ordered itself: the ORDER BY is written where order matters (a sink, a
        # limit), through the order-keeping nodes in between (filter, select, derive, quality).
        self.orderings[(node.id, "out")] = items
        self.counters[(node.id, "out")] = self.input_counter(node)
        return [self._header(node), *self.view(node, [f"SELECT * FROM {identifier(self.input_view(node))}"])]

    def visit_limit(self, node: Node) -> list[str]:
        n = int(self.config(node)["n"])  # type: ignore[arg-type]
        ordering = self.input_ordering(node)
        sql = [f"SELECT * FROM {identifier(self.input_view(node))}"]
        if ordering:
            # Flink does not keep a view's ORDER BY under a LIMIT in another query: repeat it.
            sql.append(f"ORDER BY {', '.join(ordering)}")
        sql.append(f"LIMIT {n}")
        self.pass_through(node)
        self.orderings[(node.id, "out")] = ordering
        counter = self.input_counter(node)
        if counter is not None:
            self.counters[(node.id, "out")] = (counter[0], n if counter[1] is None else min(n, counter[1]))
        return [self._header(node), *self.view(node, sql)]

    def visit_sql(self, node: Node) -> list[str]:
        """The query re-emitted for Flink; its inputs are the views of the upstream ports, under
        the upstream node ids the query names them by."""
        query = self.analysis.queries[self._path(node, ("query",))]
        inputs = {c.source: self.schema(c.source, c.source_port) for c in self.inputs(node)}
        tables = {c.source: self.view_name(c.source, c.source_port) for c in self.inputs(node)}
        sql = QueryEmitter(query, inputs, tables).emit()
        top = query.tree.this if isinstance(query.tree, exp.Subquery) else query.tree
        ordered = isinstance(top, exp.Select) and top.args.get("order") is not None
        # Ordered output: the sink keeps the order (one writer) but cannot repeat the ORDER BY.
        self.orderings[(node.id, "out")] = [] if ordered else None
        if ordered:
            self.counters[(node.id, "out")] = None  # a sorted query cannot be counted cheaply
        return [self._header(node), *self.view(node, [sql])]

    def visit_quality(self, node: Node) -> list[str]:
        """A rule passes only when its expression is TRUE. `out`: rows passing every drop,
        quarantine and fail rule; `rejected`: rows failing a quarantine rule, with `_failed_rules`
        (every rule the row failed, in rule order)."""
        rules = self.config(node)["rules"]
        assert isinstance(rules, list)
        schema = self.input_schema(node)
        checked = f"{node.id}$checked"
        flags = [identifier(f"$rule{i}") for i in range(len(rules))]
        passes = [
            f"COALESCE({self.expression(node, schema, 'rules', i, 'expression')}, FALSE) AS {flags[i]}"
            for i in range(len(rules))
        ]
        lines = [
            self._header(node),
            "        run.view(",
            f"            {py_str(checked)},",
            *_sql_argument([f"SELECT *, {', '.join(passes)}", f"FROM {identifier(self.input_view(node))}"]),
            "        )",
        ]
        counted = ", ".join(
            f"({py_str(str(r['name']))}, {py_str(f'$rule{i}')}, {py_str(str(r['on_fail']))})" for i, r in enumerate(rules)
        )
        lines.append(f"        run.quality({py_str(node.id)}, {py_str(checked)}, [{counted}])")
        columns = _columns(schema)
        keep = [flags[i] for i, r in enumerate(rules) if r["on_fail"] in ("drop", "quarantine", "fail")]
        out_sql = [f"SELECT {columns}", f"FROM {identifier(checked)}"]
        if keep:
            out_sql.append(f"WHERE {' AND '.join(keep)}")
        lines += self.view(node, out_sql)
        failed = ", ".join(
            f"CASE WHEN {flags[i]} THEN '' ELSE {string_literal(str(r['name']))} END" for i, r in enumerate(rules)
        )
        quarantined = [f"NOT {flags[i]}" for i, r in enumerate(rules) if r["on_fail"] == "quarantine"]
        rejected_sql = [
            f"SELECT {columns}, ARRAY_REMOVE(ARRAY[{failed}], '') AS `_failed_rules`",
            f"FROM {identifier(checked)}",
            f"WHERE {' OR '.join(quarantined) if quarantined else 'FALSE'}",
        ]
        lines += self.view(node, rejected_sql, port="rejected")
        self.orderings[(node.id, "out")] = self.input_ordering(node)
        self.orderings[(node.id, "rejected")] = self.input_ordering(node)
        return lines

    # Sinks --------------------------------------------------------------------------------
    def visit_sink_file(self, node: Node) -> list[str]:
        config = self.config(node)
        file_format = str(config["format"])
        fields = self.input_schema(node)
        partition_by = [str(c) for c in config.get("partition_by") or []]  # type: ignore[union-attr]
        items, columns = [], []
        for f in fields:
            value, kind = identifier(f.name), flink_type(f.type)
            if f.name in partition_by:
                # Folder names hold the value as Spark prints it (CAST to string).
                value, kind = cast_value(value, f.type, "string"), "STRING"
            elif file_format in ("csv", "json") and f.type == "timestamp":
                value, kind = text_of(value, "timestamp"), "STRING"
            elif file_format == "csv" and f.type.startswith("decimal"):
                value, kind = text_of(value, f.type), "STRING"  # keeps the scale: 1.50, not 1.5
            elif file_format == "parquet" and (f.type in _TEXT_FOR_PARQUET or f.type.startswith("decimal")):
                value = text_of(value, f.type, "yyyy-MM-dd HH:mm:ss.SSSSSS")
                kind = "STRING"
            items.append(value if value == identifier(f.name) else f"{value} AS {identifier(f.name)}")
            columns.append((f.name, kind, f.type, f.nullable))
        sql = [f"SELECT {', '.join(items)}", f"FROM {identifier(self.input_view(node))}"]
        ordering = self.input_ordering(node)
        if ordering:
            sql.append(f"ORDER BY {', '.join(ordering)}")
        lines = [
            self._header(node),
            "        run.write(",
            f"            {py_str(node.id)},",
            f"            {py_str(self._count_sql(self.input_counter(node)))},",
            *_sql_argument(sql),
            f"            path={py_str(self.text(node, 'path'))},",
            f"            file_format={py_str(file_format)},",
            f"            mode={py_str(str(config['mode']))},",
            f"            partition_by=[{', '.join(py_str(c) for c in partition_by)}],",
            "            columns=[",
            *[
                f"                ({py_str(n)}, {py_str(k)}, {py_str(t)}, {nullable}),"
                for n, k, t, nullable in columns
            ],
            "            ],",
        ]
        if ordering is not None:
            lines.append("            ordered=True,")
        lines.append("        )")
        return lines

    def visit_sink_alert(self, node: Node) -> list[str]:
        """One alert per arriving row: `{column}` fields as Spark prints them (NULL as 'NULL')."""
        config = self.config(node)
        schema = {f.name: f for f in self.input_schema(node)}
        parts = []
        for text, is_column in message_parts(str(config["message"])):
            if is_column:
                field = schema[text]
                parts.append(f"COALESCE({cast_value(identifier(text), field.type, 'string')}, 'NULL')")
            else:
                parts.append(string_literal(text))
        message = f"CONCAT({', '.join(parts)})" if len(parts) > 1 else (parts[0] if parts else "''")
        sql = [f"SELECT {message} AS `message`", f"FROM {identifier(self.input_view(node))}"]
        if config.get("condition"):
            sql.append(f"WHERE {self.expression(node, list(schema.values()), 'condition')}")
        return [
            self._header(node),
            "        run.alert(",
            f"            {py_str(node.id)},",
            *_sql_argument(sql),
            f"            {py_str(str(config['severity']))},",
            "        )",
        ]

    # Streaming ----------------------------------------------------------------------------
    def _watermarked_columns(self) -> dict[str, tuple[str, str]]:
        """In streaming mode, the source column each window_aggregate's time column comes from
        (through filter/select/derive), with the watermark delay: Flink declares watermarks on
        the source table."""
        found: dict[str, tuple[str, str]] = {}
        if self.pipeline.mode != "streaming" or self.analysis.graph is None:
            return found
        for node_id in self.analysis.order:
            node = self.analysis.node(node_id)
            if node.type != "transform.window_aggregate":
                continue
            config = self.config(node)
            traced = self._trace_column(node, str(config["time_column"]))
            if traced is not None:
                delay = str(config.get("watermark") or "0 seconds")
                found[traced[0]] = (traced[1], delay)
                self.window_times[node.id] = f"{traced[1]}$time"
        return found

    def _trace_column(self, node: Node, column: str) -> tuple[str, str] | None:
        current, name = self.inputs(node)[0].source, column
        while True:
            upstream = self.analysis.node(current)
            if upstream.type in ("source.file", "source.kafka"):
                return upstream.id, name
            if upstream.type == "transform.select":
                columns = self.config(upstream)["columns"]
                assert isinstance(columns, list)
                entry = next(e for e in columns if (e.get("alias") or e["name"]) == name)
                name = str(entry["name"])
            elif upstream.type == "transform.derive":
                columns = self.config(upstream)["columns"]
                assert isinstance(columns, list)
                if any(e["name"] == name for e in columns):
                    return None
            elif upstream.type != "transform.filter":
                return None
            current = self.inputs(upstream)[0].source

    @staticmethod
    def _count_sql(counter: tuple[str, int | None] | None) -> str:
        if counter is None:
            return ""
        view, cap = counter
        rows = "COUNT(*)" if cap is None else f"LEAST(COUNT(*), CAST({cap} AS BIGINT))"
        return check_sql(f"SELECT {rows} FROM {identifier(view)}")

    def _keep_ordering(self, node: Node) -> None:
        self.orderings[(node.id, "out")] = self.input_ordering(node)
        self.hidden[(node.id, "out")] = self.input_hidden(node)

    def input_hidden(self, node: Node, port: str = "in") -> list[str]:
        connection = self.inputs(node, port)[0]
        return self.hidden.get((connection.source, connection.source_port), [])


# SQL pieces ---------------------------------------------------------------------------------------


def _staged_parquet_type(type_name: str) -> str:
    """How a parquet column travels through the staged JSON (see StudioRun.parquet)."""
    if type_name in ("string", "date", "timestamp") or type_name.startswith("decimal"):
        return "STRING"
    return flink_type(type_name)


def _semi_join(
    how: str, left: Sequence[Field], left_view: str, right_view: str, pairs: list[tuple[str, str]], on: list[str]
) -> list[str]:
    """Semi and anti joins as plain joins (Flink fails to decorrelate EXISTS subqueries when the
    plan is shared by several sinks): against the distinct right keys, or, with an extra
    condition, against the numbers of the left rows that have a match."""
    columns = ", ".join(f"`l`.{identifier(f.name)}" for f in left)
    if len(on) == len(pairs):
        keys = ", ".join(f"{identifier(b)}" for _, b in pairs)
        matched = f"(SELECT DISTINCT {keys}, TRUE AS `$match` FROM {identifier(right_view)}) AS `r`"
        join = "JOIN" if how == "semi" else "LEFT JOIN"
        sql = [f"SELECT {columns}", f"FROM {identifier(left_view)} AS `l`", f"{join} {matched} ON {' AND '.join(on)}"]
        if how == "anti":
            sql.append("WHERE `r`.`$match` IS NULL")
        return sql
    orderable = next((f.name for f in left if f.type not in ("binary", "array<string>")), left[0].name)
    numbered = (
        f"(SELECT *, ROW_NUMBER() OVER (ORDER BY {identifier(orderable)}) AS `$row` "
        f"FROM {identifier(left_view)})"
    )
    matched = (
        f"(SELECT DISTINCT `l`.`$row` FROM {numbered} AS `l` JOIN {identifier(right_view)} AS `r` "
        f"ON {' AND '.join(on)}) AS `m`"
    )
    join = "JOIN" if how == "semi" else "LEFT JOIN"
    sql = [f"SELECT {columns}", f"FROM {numbered} AS `l`", f"{join} {matched} ON `l`.`$row` = `m`.`$row`"]
    if how == "anti":
        sql.append("WHERE `m`.`$row` IS NULL")
    return sql


def _header_guard(fields: Sequence[Field]) -> str:
    """True for a CSV header line: every field equals its column name (ignoring case)."""
    checks = " AND ".join(f"LOWER({identifier(f.name)}) = {string_literal(f.name.lower())}" for f in fields)
    return f"COALESCE({checks}, FALSE)"


def _select_level(fields: Sequence[Field], level: dict[str, str], hidden: Sequence[str] = ()) -> str:
    items = []
    for f in fields:
        if f.name in level:
            items.append(f"{level[f.name]} AS {identifier(f.name)}")
        else:
            items.append(identifier(f.name))
    for name, sql in level.items():
        if all(f.name != name for f in fields):
            items.append(f"{sql} AS {identifier(name)}")
    items += [identifier(h) for h in hidden]
    return f"SELECT {', '.join(items)}"


def _order_item(column: str, direction: str, nulls: object) -> str:
    """Spark's default: NULLs first ascending, last descending; always written out for Flink."""
    if nulls not in ("first", "last"):
        nulls = "first" if direction == "asc" else "last"
    return f"{identifier(column)} {direction.upper()} NULLS {str(nulls).upper()}"


def _rename_ordering(ordering: list[str], renamed: dict[str, str]) -> list[str] | None:
    result = []
    for item in ordering:
        column = item.split("`")[1]
        if column not in renamed:
            return None
        result.append(item.replace(identifier(column), identifier(renamed[column]), 1))
    return result


def _drop_ordering(ordering: list[str], replaced: set[str]) -> list[str] | None:
    return None if any(item.split("`")[1] in replaced for item in ordering) else ordering


def _aggregate(aggregation: dict[str, object], schema: Sequence[Field], output: Field) -> str:
    """One aggregation of transform.aggregate / window_aggregate, with Spark's result type."""
    column = aggregation.get("column")
    if column is None:
        return "COUNT(*)"
    source = next(f for f in schema if f.name == column)
    return aggregate_sql(str(aggregation["function"]), identifier(source.name), source.type, output.type)


def _batch_sessions(source: str, time_column: str, keys: list[str], aggregations: list[str], gap: str) -> list[str]:
    """Session windows in batch mode (Flink's batch SESSION windows are not supported): a row
    starts a new session when it comes `gap` or more after the previous row of its group, as in
    Spark's session_window; a session ends `gap` after its last row."""
    ts = identifier(time_column)
    partition = f"PARTITION BY {', '.join(keys)} " if keys else ""
    gap_ms = _interval_ms(gap)
    millis = f"(UNIX_TIMESTAMP(DATE_FORMAT({ts}, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT({ts}, 'SSS') AS BIGINT))"
    starts = (
        f"SELECT *, CASE WHEN LAG({millis}) OVER ({partition}ORDER BY {ts}) > {millis} - {gap_ms} "
        f"THEN 0 ELSE 1 END AS `$starts` FROM {source} WHERE {ts} IS NOT NULL"
    )
    numbered = f"SELECT *, SUM(`$starts`) OVER ({partition}ORDER BY {ts} ROWS UNBOUNDED PRECEDING) AS `$session` FROM ({starts})"
    bounds = [
        f"MIN({ts}) AS `window_start`",
        f"TIMESTAMPADD(MILLISECOND, {gap_ms}, MAX({ts})) AS `window_end`",
    ]
    return [
        f"SELECT {', '.join(bounds + keys + aggregations)}",
        f"FROM ({numbered})",
        f"GROUP BY {', '.join([*keys, '`$session`'])}",
    ]
