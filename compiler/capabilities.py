"""Which back end can run which node type in which mode: a declared table, never an accident.

To make a back end support a node type, add its (type, engine, mode) to `_SUPPORTED` and give the
back end its `visit_<kind>` method; a test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from compiler.document import MODES, NODE_ID
from compiler.facts import NodeFacts
from compiler.nodes import NODE_SPECS

__all__ = ["CAPABILITIES", "CONDITIONS", "ENGINES", "Support", "condition", "support"]

ENGINES: tuple[str, ...] = ("spark", "flink")


@dataclass(frozen=True)
class Support:
    """Whether an engine runs a node type in a mode; `reason` completes "Node 'x': <type> ..."."""

    supported: bool
    reason: str = ""


_SUPPORTED: frozenset[tuple[str, str, str]] = frozenset(
    {
        # Spark, batch: every node type (Kafka and Iceberg below, with the connectors).
        ("source.file", "spark", "batch"),
        ("transform.filter", "spark", "batch"),
        ("transform.select", "spark", "batch"),
        ("transform.derive", "spark", "batch"),
        ("transform.join", "spark", "batch"),
        ("transform.aggregate", "spark", "batch"),
        ("transform.window_aggregate", "spark", "batch"),
        ("transform.deduplicate", "spark", "batch"),
        ("transform.union", "spark", "batch"),
        ("transform.sort", "spark", "batch"),
        ("transform.limit", "spark", "batch"),
        ("transform.sql", "spark", "batch"),
        ("transform.quality", "spark", "batch"),
        ("sink.file", "spark", "batch"),
        ("sink.alert", "spark", "batch"),
        # Spark, streaming (Structured Streaming); the rules in CONDITIONS below narrow some of them.
        ("source.file", "spark", "streaming"),
        ("transform.filter", "spark", "streaming"),
        ("transform.select", "spark", "streaming"),
        ("transform.derive", "spark", "streaming"),
        ("transform.join", "spark", "streaming"),
        ("transform.aggregate", "spark", "streaming"),
        ("transform.window_aggregate", "spark", "streaming"),
        ("transform.deduplicate", "spark", "streaming"),
        ("transform.union", "spark", "streaming"),
        ("transform.sql", "spark", "streaming"),
        ("transform.quality", "spark", "streaming"),
        ("sink.file", "spark", "streaming"),
        ("sink.alert", "spark", "streaming"),
    }
)
# Kafka and Iceberg: Python data sources in runners/connectors (compiler/backends/spark_connectors.py
# and flink_connectors.py). Iceberg time travel is batch only (the node's own rules say so).
_CONNECTORS = ("source.kafka", "source.iceberg", "sink.kafka", "sink.iceberg")
_SUPPORTED = _SUPPORTED | {(t, "spark", mode) for t in _CONNECTORS for mode in ("batch", "streaming")}


# Declared unsupported pairs that deserve more than "not supported yet".
_REASONS: Mapping[tuple[str, str, str], str] = {
    ("transform.sort", "spark", "streaming"): (
        "transform.sort works only in batch pipelines: a stream has no last row to sort up to"
    ),
    ("transform.limit", "spark", "streaming"): (
        "transform.limit works only in batch pipelines: Spark cannot keep the first n rows of a stream across runs"
    ),
}


# Flink (compiler/backends/flink.py). Batch: every node type but source.iceberg. Streaming: file and Kafka
# sources, json file, Kafka and Iceberg sinks, row-by-row transforms and event-time windows; CONDITIONS below
# narrow some configs.
_FLINK_BATCH = (
    "source.file", "transform.filter", "transform.select", "transform.derive", "transform.join",
    "transform.aggregate", "transform.window_aggregate", "transform.deduplicate", "transform.union",
    "transform.sort", "transform.limit", "transform.sql", "transform.quality", "sink.file", "sink.alert",
)  # fmt: skip
_FLINK_STREAMING = ("source.file", "transform.filter", "transform.select", "transform.derive",
                    "transform.window_aggregate", "sink.file")  # fmt: skip
# Kafka sources and Kafka/Iceberg sinks through the connector processes (flink_connectors.py).
_FLINK_CONNECTORS = ("source.kafka", "sink.kafka", "sink.iceberg")
_SUPPORTED = _SUPPORTED | {
    (t, "flink", mode) for t in _FLINK_CONNECTORS for mode in ("batch", "streaming")
} | {(t, "flink", "batch") for t in _FLINK_BATCH} | {(t, "flink", "streaming") for t in _FLINK_STREAMING}
_REASONS = {
    **_REASONS,
    **{
        ("source.iceberg", "flink", mode): (
            "source.iceberg is not supported by the flink back end: Flink needs a source's columns when the job is "
            "generated, and an Iceberg table's columns are known only when the job runs; use the spark back end"
        )
        for mode in ("batch", "streaming")
    },
    ("transform.sort", "flink", "streaming"): (
        "transform.sort works only in batch pipelines: a stream has no last row to sort up to"
    ),
    ("transform.limit", "flink", "streaming"): "transform.limit works only in batch pipelines",
    ("transform.join", "flink", "streaming"): (
        "transform.join in streaming mode is not supported by the flink back end yet (a join of file streams "
        "keeps both sides in state forever without interval bounds); use the spark back end"
    ),
    ("transform.aggregate", "flink", "streaming"): (
        "transform.aggregate over a stream is not supported by the flink back end: file sinks can only append, "
        "so a streaming aggregation needs event-time windows; use transform.window_aggregate"
    ),
    ("transform.deduplicate", "flink", "streaming"): (
        "transform.deduplicate in streaming mode is not supported by the flink back end yet (it needs an "
        "event-time watermark, which only Kafka sources declare); use the spark back end"
    ),
    ("transform.union", "flink", "streaming"): (
        "transform.union in streaming mode is not supported by the flink back end yet; use the spark back end"
    ),
    ("transform.sql", "flink", "streaming"): (
        "transform.sql in streaming mode is not supported by the flink back end yet; use filter, select and "
        "derive, or the spark back end"
    ),
    ("transform.quality", "flink", "streaming"): (
        "transform.quality in streaming mode is not supported by the flink back end yet: its per-rule counts "
        "and on_fail 'fail' need the job's end; use the spark back end"
    ),
    ("sink.alert", "flink", "streaming"): (
        "sink.alert in streaming mode is not supported by the flink back end yet: alerts are printed when the job "
        "ends; use the spark back end"
    ),
}


def _declare(node_type: str, engine: str, mode: str) -> Support:
    if (node_type, engine, mode) in _SUPPORTED:
        return Support(True)
    if (node_type, engine, mode) in _REASONS:
        return Support(False, _REASONS[(node_type, engine, mode)])
    in_mode = " in streaming mode" if mode == "streaming" else ""
    return Support(False, f"{node_type}{in_mode} is not supported yet by the {engine} back end")


CAPABILITIES: Mapping[tuple[str, str, str], Support] = {
    (node_type, engine, mode): _declare(node_type, engine, mode)
    for node_type in NODE_SPECS
    for engine in ENGINES
    for mode in MODES
}


def support(node_type: str, engine: str, mode: str) -> Support:
    """Look up the table; pairs outside it (unknown engines or types) are unsupported."""
    return CAPABILITIES.get(
        (node_type, engine, mode), Support(False, f"{node_type} is not supported by the {engine} back end")
    )


# ---------------------------------------------------------------------------------------------
# Conditions: a supported (type, engine, mode) may still be unsupported for some configs or inputs
# (for example a join between two streams). Each rule returns None, or (config key, reason) where
# the reason completes "Node 'x': <reason>." and the key points the message at a config value.

Condition = Callable[[NodeFacts], "tuple[str, str] | None"]


def _spark_streaming_source_file(facts: NodeFacts) -> tuple[str, str] | None:
    config = facts.node.config or {}
    if facts.streaming and config.get("schema") is None:
        return "schema", (
            "a streaming file source needs a 'schema': Spark does not infer the columns of a folder it watches"
        )
    return None


def _spark_streaming_join(facts: NodeFacts) -> tuple[str, str] | None:
    left, right = facts.input("left"), facts.input("right")
    how = str((facts.node.config or {}).get("how"))
    if left is None or right is None or not (left.streaming or right.streaming):
        return None
    if left.streaming and right.streaming:
        if how != "inner":
            return "how", (
                f"a {how} join between two streams is not supported by the spark back end (only inner: outer and "
                "semi joins of two streams need watermarks and time bounds on both sides)"
            )
        return None
    allowed = ("inner", "left", "semi", "anti") if left.streaming else ("inner", "right")
    if how not in allowed:
        stream = "left" if left.streaming else "right"
        return "how", (
            f"Spark cannot run a {how} join of a stream ({stream} input) with a batch input; with the stream on the "
            f"{stream} it supports {', '.join(allowed)} joins"
        )
    return None


def _spark_streaming_aggregate(facts: NodeFacts) -> tuple[str, str] | None:
    if facts.streaming:
        return "group_by", (
            "transform.aggregate over a stream is not supported by the spark back end: files can only be appended "
            "to, so a streaming aggregation needs event-time windows; use transform.window_aggregate"
        )
    return None


def _spark_streaming_deduplicate(facts: NodeFacts) -> tuple[str, str] | None:
    config = facts.node.config or {}
    if facts.streaming and (config.get("order_by") is not None or config.get("keep") == "last"):
        key = "order_by" if config.get("order_by") is not None else "keep"
        return key, (
            "over a stream Spark keeps the first row of each key that arrives; remove 'order_by' and keep 'first'"
        )
    return None


def _spark_streaming_union(facts: NodeFacts) -> tuple[str, str] | None:
    inputs = facts.inputs.get("in") or []
    if facts.streaming and not all(i.streaming for i in inputs):
        batch = [i.node for i in inputs if not i.streaming]
        return "by_name", (
            f"Spark cannot union a stream with batch inputs ({', '.join(batch)}); make every input a stream, or "
            "join the batch data instead"
        )
    return None


_ROW_BY_ROW = {
    "aggregation": "aggregations",
    "distinct": "DISTINCT or set operations",
    "order": "ORDER BY",
    "limit": "LIMIT",
    "join": "joins",
    "set_operation": "UNION/INTERSECT/EXCEPT",
}


def _spark_streaming_sql(facts: NodeFacts) -> tuple[str, str] | None:
    if not facts.streaming or facts.query is None:
        return None
    used = [text for feature, text in _ROW_BY_ROW.items() if feature in facts.query.features]
    if used:
        return "query", (
            f"over a stream the spark back end runs only row-by-row queries (SELECT ... FROM one input WHERE ...); "
            f"this one uses {', '.join(used)}. Use transform.join, transform.window_aggregate or "
            "transform.deduplicate for those"
        )
    return None


def _spark_streaming_sink_file(facts: NodeFacts) -> tuple[str, str] | None:
    if facts.streaming and facts.node.raw_config.get("mode") == "overwrite":
        return "mode", "a streaming file sink appends each micro-batch; set mode to 'append' (or leave it out)"
    return None


def _flink_file(facts: NodeFacts) -> tuple[str, str] | None:
    config = facts.node.config or {}
    path = str(config.get("path", ""))
    if path.startswith(("s3://", "s3a://", "s3n://")):
        return "path", (
            "the flink back end cannot read or write s3:// paths here (PyFlink has no S3 file system plugin); "
            "use a local path or the spark back end"
        )
    return None


def _flink_source_file(facts: NodeFacts) -> tuple[str, str] | None:
    config = facts.node.config or {}
    if config.get("format") == "parquet" and not facts.known:
        return "schema", (
            "the flink back end needs the columns of parquet files when it compiles (it converts them to "
            "JSON for Flink, which has no parquet reader here) and no files were found to read them from; "
            "add a 'schema'"
        )
    if facts.streaming and config.get("format") == "parquet":
        return "format", (
            "the flink back end cannot watch a folder of parquet files (Flink has no parquet reader here); "
            "use csv or json files, or the spark back end"
        )
    return _flink_file(facts)


def _flink_sink_file(facts: NodeFacts) -> tuple[str, str] | None:
    config = facts.node.config or {}
    if facts.streaming and config.get("format") != "json":
        return "format", (
            "a streaming file sink on flink writes json only: csv files need a header line and parquet a "
            "conversion, both made when a batch job commits; use json, or the spark back end"
        )
    if facts.streaming and facts.node.raw_config.get("mode") == "overwrite":
        return "mode", "a streaming file sink appends as rows arrive; set mode to 'append' (or leave it out)"
    if facts.streaming and config.get("partition_by"):
        return "partition_by", "a streaming file sink on flink does not partition its files yet; remove partition_by"
    return _flink_file(facts)


def _connection_name(facts: NodeFacts) -> tuple[str, str] | None:
    """A stored connection's name (studio/connections): the job reads it from $STUDIO_CONNECTION_<NAME>."""
    name = (facts.node.config or {}).get("connection")
    if name is not None and not (isinstance(name, str) and NODE_ID.fullmatch(name)):
        return "connection", "a connection name is lower-case letters, digits and _, starting with a letter"
    return None


def _flink_iceberg_connection(facts: NodeFacts) -> tuple[str, str] | None:
    """Flink's Iceberg sink commits through the runner's committer, which uses the studio's own S3
    settings: a stored connection is refused rather than silently ignored."""
    if (facts.node.config or {}).get("connection") is not None:
        return "connection", (
            "the flink back end writes Iceberg tables with the studio's own S3 settings and cannot use a stored "
            "connection yet; remove 'connection', or use the spark back end"
        )
    return None


CONDITIONS: Mapping[tuple[str, str, str], Condition] = {
    **{(t, engine, mode): _connection_name for t in ("source.kafka", "sink.kafka", "source.iceberg", "sink.iceberg")
       for engine in ENGINES for mode in ("batch", "streaming")},  # fmt: skip
    **{("sink.iceberg", "flink", mode): _flink_iceberg_connection for mode in ("batch", "streaming")},
    ("source.file", "spark", "streaming"): _spark_streaming_source_file,
    ("transform.join", "spark", "streaming"): _spark_streaming_join,
    ("transform.aggregate", "spark", "streaming"): _spark_streaming_aggregate,
    ("transform.deduplicate", "spark", "streaming"): _spark_streaming_deduplicate,
    ("transform.union", "spark", "streaming"): _spark_streaming_union,
    ("transform.sql", "spark", "streaming"): _spark_streaming_sql,
    ("sink.file", "spark", "streaming"): _spark_streaming_sink_file,
    ("source.file", "flink", "batch"): _flink_source_file,
    ("source.file", "flink", "streaming"): _flink_source_file,
    ("sink.file", "flink", "batch"): _flink_sink_file,
    ("sink.file", "flink", "streaming"): _flink_sink_file,
}


def condition(facts: NodeFacts, engine: str) -> tuple[str, str] | None:
    """Apply the rule declared for the node's (type, engine, mode), if any."""
    rule = CONDITIONS.get((facts.node.type, engine, facts.mode))
    return rule(facts) if rule is not None else None
