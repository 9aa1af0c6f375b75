"""Kafka and Iceberg nodes for the Flink back end, through the studio's connector processes.

PyFlink here has no Kafka or Iceberg connector (no JAR can be installed), so a job with such nodes
runs on `StudioConnectorRun` (flink_connector_runtime.py, copied into the job): Kafka topics are
landed in folders by the Kafka bridge as CSV and read with Flink's filesystem source (CSV, not JSON
lines: Flink 2.2's JSON file reader can read rows twice across two restores, see
runners/connectors/codec.py LandingCsvEncoder); sinks write JSON
lines that the Kafka publisher or the Iceberg committer deliver exactly once. Every user value
reaches the job as a string literal (`py_str`), and the connector processes get it as one argument
each (no shell). An Iceberg *source* is not supported: Flink needs a source's columns when the job
is generated, and an Iceberg table's are known only when it runs.

FlinkBackend mixes this class in; the methods use its helpers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.backends.base import py_str
from compiler.document import Node
from compiler.flink_sql import check_sql, flink_type, identifier, parse_text, text_of
from compiler.types import Field

if TYPE_CHECKING:
    from compiler.backends.flink import FlinkBackend

__all__ = ["CONNECTOR_TYPES", "FlinkConnectors"]

CONNECTOR_TYPES = ("source.kafka", "sink.kafka", "sink.iceberg")
RUNTIME = Path(__file__).with_name("flink_connector_runtime.py")
_RUNTIME_START = "# ---- copied into jobs below this line ----\n"
# Staged JSON carries timestamps as text (Flink's JSON format writes its own form): for Iceberg with
# every digit; for Kafka messages as the studio writes JSON everywhere (`.SSS`, as the Spark sink).
_STAGED_TIMESTAMP = {"sink.iceberg": "yyyy-MM-dd HH:mm:ss.SSSSSS", "sink.kafka": "yyyy-MM-dd HH:mm:ss.SSS"}


def _landing_column(f: Field) -> tuple[str, str]:
    """A landed column's type in the landing table and its value in the node's view. The bridge
    writes every string after a one-character mark (so no string reads as the NULL literal) and
    timestamps as text (converted as file sources convert them)."""
    column = identifier(f.name)
    if f.type == "string":
        return "STRING", f"SUBSTRING({column} FROM 2)"
    if f.type == "timestamp":
        return "STRING", parse_text(column, "timestamp")
    return flink_type(f.type), column


def _runtime_source() -> str:
    text = RUNTIME.read_text(encoding="utf-8")
    return text[text.index(_RUNTIME_START) + len(_RUNTIME_START) :].strip("\n")


def _json_text(value: object) -> str:
    return py_str(json.dumps(value, separators=(", ", ": "), ensure_ascii=False))


def _columns_argument(columns: Sequence[tuple[str, str]]) -> list[str]:
    return ["            columns=[", *[f"                ({py_str(n)}, {py_str(k)})," for n, k in columns], "            ],"]


def _connection(config: dict[str, object]) -> list[str]:
    """The environment variable the runner fills with a stored connection (settings and secrets as
    JSON, see studio/connections): the job names the variable, never a value."""
    name = config.get("connection")
    return [f"            connection_variable={py_str(f'STUDIO_CONNECTION_{str(name).upper()}')},"] if name else []


class FlinkConnectors:
    """`visit_source_kafka`, `visit_sink_kafka`, `visit_sink_iceberg`, and the run class they need."""

    # Hooks FlinkBackend.generate() calls -------------------------------------------------------
    def uses_connectors(self: FlinkBackend) -> bool:
        return any(node.type in CONNECTOR_TYPES for node in self.pipeline.nodes)

    def run_statement(self: FlinkBackend, arguments: str) -> str:
        """The run object `build` opens: a StudioConnectorRun (state folder named after the
        pipeline) when the pipeline has Kafka or Iceberg nodes."""
        if not self.uses_connectors():
            return f"StudioRun(t_env, {arguments})"
        from compiler.backends.spark import _folder

        return f"StudioConnectorRun(t_env, {arguments}, state={py_str(_folder(self.pipeline.name))})"

    def connector_runtime(self: FlinkBackend) -> list[str]:
        return ["", "", _runtime_source()] if self.uses_connectors() else []

    # Sources ----------------------------------------------------------------------------------
    def visit_source_kafka(self: FlinkBackend, node: Node) -> list[str]:
        """The topic's landing folder as a table of the bridge's CSV lines (see _landing_column),
        with the event-time column when a watermark is needed."""
        from compiler.backends.flink import _interval

        config = self.config(node)
        fields = self.schema(node.id)
        table = f"{node.id}$files"
        landing = [_landing_column(f) for f in fields]
        physical = [(f.name, kind) for f, (kind, _) in zip(fields, landing, strict=True)]
        watermark = self.watermarks.get(node.id)
        if watermark is None and self.streaming and config.get("watermark"):
            watermark = (str(config["event_time"]), str(config["watermark"]))
        image = [{"name": c["name"], "type": c["type"], "nullable": c["nullable"]} for c in config["schema"]]  # type: ignore[union-attr]
        lines = [
            self._header(node),
            "        run.kafka_source(",
            f"            {py_str(table)},",
            f"            node={py_str(node.id)},",
            f"            topic={py_str(self.text(node, 'topic'))},",
            f"            value_format={py_str(str(config['format']))},",
            f"            schema={_json_text(image)},",
            f"            starting_offsets={py_str(str(config['starting_offsets']))},",
            *_columns_argument(physical),
            *_connection(config),
        ]
        selected = [value if value == identifier(f.name) else f"{value} AS {identifier(f.name)}"
                    for f, (_, value) in zip(fields, landing, strict=True)]  # fmt: skip
        if watermark is not None:
            column, delay = watermark
            rowtime = f"{column}$time"
            value = parse_text(identifier(column), "timestamp")
            # Flink's event-time column cannot be NULL: rows without a time get 1970-01-01 (late).
            computed = check_sql(f"CAST(COALESCE({value}, TIMESTAMP '1970-01-01 00:00:00') AS TIMESTAMP(3))")
            lines += [
                f"            computed=[({py_str(rowtime)}, {py_str(computed)})],",
                f"            watermark=({py_str(rowtime)}, {py_str(check_sql(f'{identifier(rowtime)} - {_interval(delay)}'))}),",
            ]
            selected.append(identifier(rowtime))
            self.hidden[(node.id, "out")] = [rowtime]
        lines.append("        )")
        self.orderings[(node.id, "out")] = None
        return lines + self.view(node, [f"SELECT {', '.join(selected)}", f"FROM {identifier(table)}"])

    # Sinks ------------------------------------------------------------------------------------
    def _staged_rows(self: FlinkBackend, node: Node) -> tuple[list[str], list[Field], list[tuple[str, str]]]:
        """Lines for `node, count, sql,` of a connector sink, the input's fields, and the staged
        JSON columns (timestamps as text)."""
        fields = self.input_schema(node)
        items, columns = [], []
        for f in fields:
            if f.type == "timestamp":
                items.append(f"{text_of(identifier(f.name), 'timestamp', _STAGED_TIMESTAMP[node.type])} AS {identifier(f.name)}")
                columns.append((f.name, "STRING"))
            else:
                items.append(identifier(f.name))
                columns.append((f.name, flink_type(f.type)))
        sql = [f"SELECT {', '.join(items)}", f"FROM {identifier(self.input_view(node))}"]
        from compiler.backends.flink import _sql_argument

        head = [
            f"            {py_str(node.id)},",
            f"            {py_str(self._count_sql(self.input_counter(node)))},",
            *_sql_argument(sql),
        ]
        return head, fields, columns

    def visit_sink_kafka(self: FlinkBackend, node: Node) -> list[str]:
        config = self.config(node)
        head, _, columns = self._staged_rows(node)
        return [
            self._header(node),
            "        run.kafka_sink(",
            *head,
            f"            topic={py_str(self.text(node, 'topic'))},",
            f"            key_columns=[{', '.join(py_str(c) for c in config.get('key_columns') or [])}],",  # type: ignore[union-attr]
            *_columns_argument(columns),
            *_connection(config),
            "        )",
        ]

    def visit_sink_iceberg(self: FlinkBackend, node: Node) -> list[str]:
        config = self.config(node)
        head, fields, columns = self._staged_rows(node)
        keys = config.get("keys") if config["mode"] == "upsert" else []
        return [
            self._header(node),
            "        run.iceberg_sink(",
            *head,
            f"            table={py_str(self.text(node, 'table'))},",
            f"            mode={py_str(str(config['mode']))},",
            f"            keys=[{', '.join(py_str(k) for k in keys or [])}],",  # type: ignore[union-attr]
            f"            partition_by={_json_text(config.get('partition_by') or [])},",
            f"            create_if_missing={config.get('create_if_missing') is not False!r},",
            f"            schema={_json_text([f.to_dict() for f in fields])},",
            *_columns_argument(columns),
            "        )",
        ]
