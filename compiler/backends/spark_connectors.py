"""Kafka and Iceberg nodes for the Spark back end: the `studio-kafka` and `studio-iceberg` data sources.

The connectors are Python data sources in `runners/connectors` (no JAR): a generated job imports
`register_data_sources` from there and registers both formats on its session before defining the
DataFrames. The runner puts the repository on the job's PYTHONPATH and tells the connectors where
Kafka, the Iceberg catalog and the warehouse are (environment only; nothing secret is generated).

Every option value is a string literal written by `py_str` (lists as JSON text), so user text never
becomes code. SparkBackend mixes this class in; the methods use its helpers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from compiler.backends.base import py_str
from compiler.document import Node
from compiler.types import schema_ddl

if TYPE_CHECKING:
    from compiler.backends.spark import SparkBackend

__all__ = ["CONNECTOR_NAMES", "SparkConnectors"]

# Module-level names a job with connector nodes defines; node ids must not shadow them.
CONNECTOR_NAMES = frozenset({"register_data_sources", "MAX_RECORDS_PER_BATCH", "_records_per_batch"})
# Kafka records per micro-batch unless $STUDIO_KAFKA_MAX_RECORDS_PER_BATCH says otherwise.
MAX_RECORDS_PER_BATCH = 100_000

_HELPER_RECORDS = '''

def _records_per_batch() -> int:
    """Kafka records per micro-batch: at most $STUDIO_KAFKA_MAX_RECORDS_PER_BATCH (default
    MAX_RECORDS_PER_BATCH); no cap (0) with the availableNow trigger, which Spark runs over a Python
    data source as one micro-batch: a cap would end a one-off run after its first batch."""
    if "availableNow" in _trigger():
        return 0
    return int(os.environ.get("STUDIO_KAFKA_MAX_RECORDS_PER_BATCH") or MAX_RECORDS_PER_BATCH)
'''


def _json_text(value: object) -> str:
    """A list or record option as compact JSON text in a string literal."""
    return py_str(json.dumps(value, separators=(", ", ": "), ensure_ascii=False))


def _connection(config: dict[str, object]) -> list[tuple[str, str]]:
    """The option naming the environment variable the runner fills with a stored connection (its
    settings and secrets, as JSON): the job names the variable, never a value."""
    name = config.get("connection")
    return [("connectionVariable", py_str(f"STUDIO_CONNECTION_{str(name).upper()}"))] if name else []


def _options(pairs: Sequence[tuple[str, str]]) -> str:
    """`.options(key=<python expression>, ...)`; keys are fixed option names, values are rendered."""
    return f".options({', '.join(f'{key}={value}' for key, value in pairs)})"


class SparkConnectors:
    """`visit_source_kafka`, `visit_source_iceberg`, `visit_sink_kafka`, `visit_sink_iceberg`."""

    uses_connectors = False
    uses_kafka_stream = False

    # Hooks SparkBackend.generate() calls -----------------------------------------------------
    def connector_imports(self) -> list[str]:
        return ["", "from runners.connectors import register_data_sources"] if self.uses_connectors else []

    def connector_constants(self) -> list[str]:
        """Constants next to PROCESSING_TIME (streaming jobs only)."""
        return [f"MAX_RECORDS_PER_BATCH = {MAX_RECORDS_PER_BATCH:_}"] if self.uses_kafka_stream else []

    def connector_helpers(self) -> str:
        return _HELPER_RECORDS if self.uses_kafka_stream else ""

    def connector_setup(self) -> list[str]:
        """First statements of build(): the data sources are registered on the running session."""
        return ["    register_data_sources(spark)"] if self.uses_connectors else []

    # Sources ----------------------------------------------------------------------------------
    def visit_source_kafka(self: SparkBackend, node: Node) -> list[str]:
        from compiler.backends.spark import _folder

        self.uses_connectors = True
        config = self.config(node)
        streaming = self.analysis.streaming(node.id)
        fields = self._schema(node.id)
        assert fields is not None  # a Kafka source always declares its columns
        dead_letter = f"os.path.abspath({py_str(f'dead_letter/{_folder(self.pipeline.name)}/{node.id}')})"
        calls = [
            _options([
                ("topic", py_str(self.text(node, "topic"))),
                ("format", py_str(str(config["format"]))),
                ("startingOffsets", py_str(str(config["starting_offsets"]))),
                *_connection(config),
            ]),
            _options([("deadLetterPath", dead_letter)]),
        ]
        if streaming:
            self.uses_kafka_stream = True
            # `node`: the source prints its lag per micro-batch under this node's id (the lag chart).
            calls.append(_options([("maxRecordsPerBatch", "_records_per_batch()"), ("node", py_str(node.id))]))
        calls += [f".schema({py_str(schema_ddl(fields))})", ".load()"]
        if streaming and config.get("watermark"):
            calls.append(f".withWatermark({py_str(str(config['event_time']))}, {py_str(str(config['watermark']))})")
        head = f"spark.{'readStream' if streaming else 'read'}.format(\"studio-kafka\")"
        return [self._header(node), *self._assign(self.var(node.id), head, calls), self._counted(node)]

    def visit_source_iceberg(self: SparkBackend, node: Node) -> list[str]:
        self.uses_connectors = True
        config = self.config(node)
        streaming = self.analysis.streaming(node.id)
        options = [("table", py_str(self.text(node, "table"))), *_connection(config)]
        if config.get("snapshot_id") is not None:
            options.append(("snapshotId", py_str(str(config["snapshot_id"]))))
        if config.get("as_of"):
            options.append(("asOf", py_str(str(config["as_of"]))))
        head = f"spark.{'readStream' if streaming else 'read'}.format(\"studio-iceberg\")"
        calls = [_options(options), ".load()"]
        return [self._header(node), *self._assign(self.var(node.id), head, calls), self._counted(node)]

    # Sinks ------------------------------------------------------------------------------------
    def visit_sink_kafka(self: SparkBackend, node: Node) -> list[str]:
        self.uses_connectors = True
        config = self.config(node)
        options = [("topic", py_str(self.text(node, "topic"))), *_connection(config)]
        if config.get("key_columns"):
            options.append(("keyColumns", _json_text(config["key_columns"])))
        return self._connector_sink(node, "studio-kafka", [_options(options)])

    def visit_sink_iceberg(self: SparkBackend, node: Node) -> list[str]:
        self.uses_connectors = True
        config = self.config(node)
        options = [("table", py_str(self.text(node, "table"))), ("mode", py_str(str(config["mode"]))),
                   *_connection(config)]
        if config["mode"] == "upsert":
            options.append(("keys", _json_text(config["keys"])))
        calls = [_options(options)]
        layout = []
        if config.get("partition_by"):
            layout.append(("partitionBy", _json_text(config["partition_by"])))
        if config.get("create_if_missing") is False:
            layout.append(("createIfMissing", "False"))
        if layout:
            calls.append(_options(layout))
        return self._connector_sink(node, "studio-iceberg", calls)

    def _connector_sink(self: SparkBackend, node: Node, data_source: str, calls: list[str]) -> list[str]:
        """A batch write (`mode("append")`: the sink's own `mode` option says what happens to the
        table) or, for a stream, a query with its checkpoint and trigger."""
        var = self.var(node.id)
        lines = [self._header(node), f"    {var} = metrics.rows({self.input_var(node)}, {py_str(node.id)}, \"in\")"]
        if self.analysis.streaming(node.id):
            calls = [*calls, f'.option("checkpointLocation", _checkpoint({py_str(node.id)}))', ".trigger(**_trigger())",
                     ".start()"]
            return lines + self._statement("queries.append(", f"{var}.writeStream.format({py_str(data_source)})", calls, ")")
        calls = [*calls, '.mode("append")', ".save()"]
        return lines + self._written(node, self._statement("", f"{var}.write.format({py_str(data_source)})", calls, ""))
