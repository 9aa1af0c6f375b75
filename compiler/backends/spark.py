"""The Spark back end: readable PySpark DataFrame code, one `visit_<kind>` per node type.

The generated module has a few small helpers at the top (row counts with DataFrame.observe, quality
rules, alerts, streaming checkpoints and triggers), then `build(spark)` and `main()`. `build` first
defines every DataFrame in topological order, then runs the checks that must pass before anything
is written (quality rules with on_fail: fail, in batch), then the sinks. In batch, each sink's write
is timed and followed by the metrics of the nodes it finishes (the nodes whose every sink has now
written); the rest are printed at the end. A batch `main()` also prints the job's progress from
Spark's status tracker (`_Progress`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlglot import exp

from compiler.backends.base import Backend, comment_text, docstring, py_str
from compiler.backends.spark_connectors import CONNECTOR_NAMES, SparkConnectors
from compiler.document import Node
from compiler.expressions import to_sql
from compiler.parameters import as_text
from compiler.schema import FAILED_RULES, WINDOW_COLUMNS, message_parts
from compiler.types import Field, schema_ddl

__all__ = ["SparkBackend"]

LINE = 100
# CSV as the format defines it: an empty field is NULL for every type, fields are never trimmed,
# timestamps are written yyyy-MM-dd HH:mm:ss[.SSS]. Reading keeps Spark's default timestamp parsing,
# which accepts that form (with or without fraction) and ISO 'T' forms.
CSV_TIMESTAMP_FORMAT = "yyyy-MM-dd HH:mm:ss[.SSS]"
# A streaming file source reads at most this many new files per micro-batch, so a folder with a
# backlog is worked through in steps of bounded size instead of one huge first batch.
MAX_FILES_PER_TRIGGER = 100
PROCESSING_TIME = "10 seconds"
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# Node types whose output has exactly the rows of their input: in batch they report its count.
_KEPT = frozenset({"transform.select", "transform.derive", "transform.sort"})
_JOIN_TYPES = {"inner": "inner", "left": "left", "right": "right", "full": "full", "semi": "left_semi",
               "anti": "left_anti"}  # fmt: skip
_AGGREGATE_CALLS = {"count": "F.count", "count_distinct": "F.count_distinct", "sum": "F.sum", "avg": "F.avg",
                    "min": "F.min", "max": "F.max"}  # fmt: skip

_HELPER_METRICS = '''
def _metric(values: dict[str, object]) -> None:
    # One write per line (newline included): the progress thread prints between them.
    print("STUDIO_METRIC " + json.dumps(values) + "\\n", end="", flush=True)


class _Metrics:
    """Rows per node port and pass/fail counts per quality rule, observed while the job runs
    (DataFrame.observe) and printed once the sinks they feed have written, one `STUDIO_METRIC {json}`
    line each."""

    def __init__(self) -> None:
        # (observation, its value holding the rows, node, port or quality rules)
        self.observed: list[tuple[str, str, str, str | list[str]]] = []
        self.observations: dict[str, Observation] = {}
        self.streamed: dict[str, dict[int, dict[str, dict]]] = {}  # query -> batch -> name -> row
        self.printed: set[int] = set()  # positions in `observed`

    # Each observation is a plan node Spark cannot fuse with its neighbours, so ports share them
    # where they can (rows_where, same_rows).
    def rows(self, df: DataFrame, node: str, port: str) -> DataFrame:
        self.observed.append((f"{node}.{port}", "rows", node, port))
        return self.observe(df, f"{node}.{port}", [F.count(F.lit(1)).alias("rows")])

    def rows_where(self, df: DataFrame, condition: Column, node: str, source: str, port: str) -> DataFrame:
        """A filter whose input feeds nothing else: one observation counts both its input's rows
        and the rows that pass."""
        self.observed += [(f"{node}.out", "input", source, port), (f"{node}.out", "rows", node, "out")]
        counts = [F.count(F.lit(1)).alias("input"), F.count(F.when(condition, 1)).alias("rows")]
        return self.observe(df, f"{node}.out", counts).where(condition)

    def same_rows(self, df: DataFrame, counted: str, node: str, port: str) -> DataFrame:
        """A port with exactly the rows of one counted already (`counted`) reports that count."""
        self.observed.append((counted, "rows", node, port))
        return df

    def rules(self, df: DataFrame, node: str, rules: list[str]) -> DataFrame:
        failed = [F.count(F.when(F.array_contains("_failed_rules", rule), 1)) for rule in rules]
        counts = [count.alias(f"failed_{i}") for i, count in enumerate(failed)]
        self.observed.append((f"{node}.rules", "rows", node, rules))
        return self.observe(df, f"{node}.rules", [F.count(F.lit(1)).alias("rows"), *counts])

    def observe(self, df: DataFrame, name: str, metrics: list[Column]) -> DataFrame:
        if df.isStreaming:
            return df.observe(name, *metrics)
        self.observations[name] = Observation(name)
        return df.observe(self.observations[name], *metrics)

    @contextlib.contextmanager
    def writing(self, sink: str, finishes: list[str]) -> Iterator[None]:
        """Time a batch sink's write, then print its metrics with the write's duration and those of
        the nodes it `finishes` (every sink they feed has now written)."""
        started = time.monotonic()
        yield
        duration_ms = round((time.monotonic() - started) * 1000)
        self.report([sink, *finishes], {sink: duration_ms})

    def report(self, nodes: list[str] | None = None, durations: dict[str, int] | None = None) -> None:
        """Print the metrics of `nodes` (of every node when None) not printed yet."""
        deadline = time.monotonic() + 2
        for position, (name, field, node, what) in enumerate(self.observed):
            if position in self.printed or (nodes is not None and node not in nodes):
                continue
            self.printed.add(position)
            values = self.values(name, deadline)
            rows = values.get(field) or 0
            if isinstance(what, str):
                duration = {"duration_ms": durations[node]} if durations and node in durations else {}
                _metric({"node": node, "port": what, "rows": rows, **duration})
                continue
            for i, rule in enumerate(what):
                failed = values.get(f"failed_{i}") or 0
                _metric({"node": node, "rule": rule, "passed": rows - failed, "failed": failed})

    def values(self, name: str, deadline: float) -> dict:
        if name not in self.observations:  # a streaming query's: summed over its micro-batches
            for batches in self.streamed.values():
                found = [metrics[name] for metrics in batches.values() if name in metrics]
                if found:
                    return {key: sum(m[key] or 0 for m in found) for key in found[0]}
            return {}
        # An observation completes just after its action. A node Spark never had to run (say, one
        # side of an inner join whose other side was empty) is never observed: it read no rows.
        future = self.observations[name]._jo.future()
        while not future.isCompleted():
            if time.monotonic() > deadline:
                return {}
            time.sleep(0.05)
        return self.observations[name].get
'''

_HELPER_PROGRESS = '''

class _Progress:
    """How far the job has got, from Spark's status tracker: a thread prints
    `STUDIO_PROGRESS {"tasks_done": N, "tasks_total": M, "stage": S}` every POLL_SECONDS when it
    changed. The tasks are those of the stages that ran or run in the Spark jobs started since it
    began (the total grows as stages start; skipped stages do not count); `stage` is the newest
    running one."""

    POLL_SECONDS = 0.5

    def __init__(self, spark: SparkSession) -> None:
        self.tracker = spark.sparkContext.statusTracker()
        self.first_job = max(self.tracker.getJobIdsForGroup(), default=-1) + 1
        self.last: dict[str, int | None] | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.poll, name="studio-progress", daemon=True)
        self.thread.start()

    def poll(self) -> None:
        while not self.stopping.wait(self.POLL_SECONDS):
            self.print(self.current())

    def stop(self) -> None:
        """Stop polling; print the final count once Spark has settled its jobs (within 2 s)."""
        self.stopping.set()
        self.thread.join()
        deadline = time.monotonic() + 2
        while self.jobs_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.print(self.current(), always=True)

    def jobs(self) -> list:
        found = (self.tracker.getJobInfo(job) for job in self.tracker.getJobIdsForGroup() if job >= self.first_job)
        return [job for job in found if job is not None]

    def jobs_running(self) -> bool:
        return any(job.status == "RUNNING" for job in self.jobs())

    def current(self) -> dict[str, int | None]:
        done = total = 0
        running = None
        for stage_id in sorted({stage for job in self.jobs() for stage in job.stageIds}):
            stage = self.tracker.getStageInfo(stage_id)
            if stage is None or not (stage.numActiveTasks or stage.numCompletedTasks or stage.numFailedTasks):
                continue  # not started yet, or skipped (its output was there already)
            total += stage.numTasks
            done += min(stage.numCompletedTasks, stage.numTasks)
            if stage.numActiveTasks:
                running = stage_id
        return {"tasks_done": done, "tasks_total": total, "stage": running}

    def print(self, progress: dict[str, int | None], always: bool = False) -> None:
        if always or progress != self.last:
            self.last = progress
            print("STUDIO_PROGRESS " + json.dumps(progress) + "\\n", end="", flush=True)
'''

_HELPER_FAIL = '''

class QualityCheckError(RuntimeError):
    """A quality rule with on_fail: fail failed; raised before anything is written."""


def _fail_on(df: DataFrame, node: str, rules: list[str], fatal: list[str]) -> None:
    """Count the rows failing each rule; raise if any row failed a rule whose on_fail is 'fail'."""
    failed = [F.count(F.when(F.array_contains("_failed_rules", rule), 1)) for rule in rules]
    rows, *counts = df.agg(F.count(F.lit(1)), *failed).first()
    failures = {rule: n for rule, n in zip(rules, counts) if rule in fatal and n}
    if failures:
        for rule, n in zip(rules, counts):
            _metric({"node": node, "rule": rule, "passed": rows - n, "failed": n})
        detail = "; ".join(
            f"rule '{r}' failed for {n} row{'s' if n != 1 else ''}" for r, n in failures.items()
        )
        raise QualityCheckError(f"Node '{node}': {detail} (on_fail: fail); nothing was written.")
'''

_HELPERS_STREAMING = '''

def _await_streams(metrics: _Metrics, queries: list[StreamingQuery]) -> None:
    """Wait for the streaming queries, printing each micro-batch's metrics as it completes. SIGTERM
    (the runner's stop) stops them gracefully: each finishes its current micro-batch, so its
    checkpoint holds everything it wrote, then stops. If one query fails, the others are stopped."""
    stop = _stop_requested()
    try:
        while any(q.isActive for q in queries):
            for query in queries:
                query.awaitTermination(1)
                _collect(metrics, query)
            if stop.is_set():
                for query in queries:
                    _stop_between_batches(query)
        for query in queries:
            query.awaitTermination()
            _collect(metrics, query)
    finally:
        for query in queries:
            if query.isActive:
                query.stop()


def _stop_requested() -> threading.Event:
    """Set by SIGTERM when the job runs as a program; build() called from another thread is
    stopped by its caller."""
    requested = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: requested.set())
    return requested


def _stop_between_batches(query: StreamingQuery) -> None:
    while query.isActive and query.status["isTriggerActive"]:
        time.sleep(0.1)
    query.stop()


def _collect(metrics: _Metrics, query: StreamingQuery) -> None:
    """Print the metrics of each micro-batch the query completed since the last call, one
    `STUDIO_METRIC` line per node port and rule with its batch id and the batch's duration."""
    batches = metrics.streamed.setdefault(str(query.id), {})
    for progress in query.recentProgress:
        observed = progress.observedMetrics or {}
        if not observed or progress.batchId in batches:
            continue  # an idle trigger (no new data), or a batch printed already
        batches[progress.batchId] = {name: row.asDict() for name, row in observed.items()}
        for name, field, node, what in metrics.observed:
            values = batches[progress.batchId].get(name)
            if values is None:
                continue
            rows = values.get(field) or 0
            batch = {"batch": progress.batchId}
            if isinstance(what, str):
                _metric({"node": node, "port": what, "rows": rows, **batch, "duration_ms": progress.batchDuration})
                continue
            for i, rule in enumerate(what):
                failed = values.get(f"failed_{i}") or 0
                _metric({"node": node, "rule": rule, "passed": rows - failed, "failed": failed, **batch})


def _checkpoint(node: str) -> str:
    """Where a streaming sink keeps its progress: $STUDIO_CHECKPOINT_DIR/<node> (the runner sets
    it), else ./_checkpoints/<pipeline>/<node>."""
    base = os.environ.get("STUDIO_CHECKPOINT_DIR") or os.path.join("_checkpoints", PIPELINE_FOLDER)
    return os.path.abspath(os.path.join(base, node))


def _trigger() -> dict[str, object]:
    """Process what has arrived and stop (STUDIO_STREAMING_TRIGGER=available_now, for tests and
    one-off runs), else run a micro-batch every PROCESSING_TIME."""
    if os.environ.get("STUDIO_STREAMING_TRIGGER") == "available_now":
        return {"availableNow": True}
    return {"processingTime": PROCESSING_TIME}
'''

_HELPER_RULES = '''

def _failed_rules(*rules: tuple[str, str]) -> Column:
    """Names of the rules a row fails, in order; a rule passes only if its expression is true."""
    checks = [F.when(~F.coalesce(F.expr(rule), F.lit(False)), F.lit(name)) for name, rule in rules]
    return F.filter(F.array(*checks), lambda name: name.isNotNull())


def _failed_any(*rules: str) -> Column:
    return F.arrays_overlap(F.col("_failed_rules"), F.array(*[F.lit(rule) for rule in rules]))
'''

_HELPER_STOP = '''

def _stop_on(df: DataFrame, node: str, *rules: str) -> DataFrame:
    """Streaming: a row failing one of these rules (on_fail: fail) stops the query before its
    micro-batch is committed, so nothing of that batch is written."""
    failed = F.array_intersect(F.col("_failed_rules"), F.array(*[F.lit(rule) for rule in rules]))
    message = F.concat(
        F.lit(f"Node '{node}': quality rule '"),
        F.array_join(failed, "', '"),
        F.lit("' failed (on_fail: fail); the micro-batch was not written."),
    )
    return df.where(F.when(F.size(failed) > 0, F.raise_error(message)).otherwise(F.lit(True)))
'''

_HELPER_ALERTS = '''

def _raise_alerts(df: DataFrame, node: str, severity: str) -> None:
    """One `STUDIO_ALERT {json}` line per row; the runner shows them live and calls the webhooks."""
    for row in df.collect():
        alert = {"node": node, "severity": severity, "message": row["message"]}
        print("STUDIO_ALERT " + json.dumps(alert) + "\\n", end="", flush=True)
'''


def _path_argument(path: str) -> str:
    """Local paths are resolved against the job's working directory (the data folder) when the job
    runs, because the JVM behind a shared, long-running session may have started elsewhere.
    Paths with a scheme (s3://, file:) are passed through as written."""
    if _URI.match(path):
        return py_str(path)
    return f"os.path.abspath({py_str(path)})"


def _kwargs(options: Sequence[tuple[str, object]]) -> list[str]:
    rendered = []
    for key, value in options:
        if isinstance(value, bool):
            rendered.append(f"{key}={value!r}")
        else:
            rendered.append(f"{key}={py_str(str(value))}")
    return rendered


def _call(method: str, args: Sequence[str], indent: str) -> list[str]:
    """`.method(a, b)` on one line when it fits, else one argument per line."""
    one = f"{indent}.{method}({', '.join(args)})"
    if len(one) <= LINE:
        return [one]
    return [f"{indent}.{method}(", *[f"{indent}    {a}," for a in args], f"{indent})"]


def _block(call: str, arguments: Sequence[str]) -> str:
    """`call(` then one argument per line, then `)`: lines for `_assign` to indent."""
    inner = [f"    {line}" for argument in arguments for line in f"{argument},".split("\n")]
    return "\n".join([f"{call}(", *inner, ")"])


def _col(name: str) -> str:
    return f"F.col({py_str(name)})"


def _folder(name: str) -> str:
    """A pipeline name as one safe path component, for the default checkpoint folder."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "pipeline"
    return cleaned[:100]


class SparkBackend(SparkConnectors, Backend):
    """Generates a module with `build(spark)` (works on a shared, running session) and `main()`."""

    engine = "spark"
    dialect = "spark"
    reserved_names = frozenset(
        {"spark", "os", "json", "signal", "threading", "time", "build", "main", "annotations", "args", "metrics",
         "queries", "F", "Column", "DataFrame", "Observation", "SparkSession", "StreamingQuery", "Window",
         "QualityCheckError", "PIPELINE_FOLDER", "PROCESSING_TIME", "contextlib", "Iterator"}
    ) | CONNECTOR_NAMES  # fmt: skip

    def generate(self) -> str:
        self.uses_window = False
        self.uses_rules = False
        self.uses_stop = False
        self.uses_alerts = False
        self.uses_fail = False
        self.checks: list[str] = []
        self.count_names: dict[tuple[str, str], str] = {}  # (node, port) -> the observation counting it
        self.folded = self._folded_filters()
        order = self.analysis.order
        transforms, sinks = [], []
        for node_id in order:
            node = self.analysis.node(node_id)
            (sinks if self.spec(node).kind == "sink" else transforms).append(node)
        self.streams = [n for n in sinks if self.analysis.streaming(n.id)]
        # Batch sink -> the nodes whose metrics are printed once it has written.
        self.finishes: dict[str, list[str]] = {} if self.streams else self._finishes(sinks)
        body = self.visit_nodes(transforms)
        if self.checks:
            body += ["    # Checks that must pass before anything is written", *self.checks]
        body += self.visit_nodes(sinks)
        if self.streams:
            body.append("    _await_streams(metrics, queries)")
        body.append("    metrics.report()")
        parameters = ", ".join(f"{v.name}={as_text(v)}" for v in self.analysis.parameters.values()) or "none"
        summary = f"Pipeline {self.pipeline.name!r}, generated by Pipeline Studio for Spark. Parameters: {parameters}."
        imports = ["import contextlib", "import json", "import os"] + (["import signal"] if self.streams else [])
        imports += ["import threading", "import time", "from collections.abc import Iterator", ""]
        names = ["Column", "DataFrame", "Observation", "SparkSession"] + (["Window"] if self.uses_window else [])
        imports += [f"from pyspark.sql import {', '.join(names)}", "from pyspark.sql import functions as F"]
        if self.streams:
            imports.append("from pyspark.sql.streaming import StreamingQuery")
        imports += self.connector_imports()
        constants: list[str] = []
        helpers = _HELPER_METRICS
        if not self.streams:
            helpers += _HELPER_PROGRESS
        if self.uses_fail:
            helpers += _HELPER_FAIL
        if self.streams:
            constants = [
                f"PIPELINE_FOLDER = {py_str(_folder(self.pipeline.name))}",
                f"PROCESSING_TIME = {py_str(PROCESSING_TIME)}",
                *self.connector_constants(),
                "",
            ]
            helpers += _HELPERS_STREAMING
        if self.uses_rules:
            helpers += _HELPER_RULES
        if self.uses_stop:
            helpers += _HELPER_STOP
        if self.uses_alerts:
            helpers += _HELPER_ALERTS
        helpers += self.connector_helpers()
        start = ["    metrics = _Metrics()"] + (["    queries: list[StreamingQuery] = []"] if self.streams else [])
        start += self.connector_setup()
        lines = [
            docstring(summary),
            "from __future__ import annotations",
            "",
            *imports,
            "",
            *constants,
            "",
            helpers.strip("\n"),
            "",
            "",
            "def build(spark: SparkSession) -> None:",
            *start,
            *body,
            "",
            "",
            "def main() -> None:",
            "    # The job expects the session time zone UTC and ANSI SQL (the studio's semantics).",
            "    spark = (",
            f"        SparkSession.builder.appName({py_str(self.pipeline.name)})",
            '        .master(os.environ.get("SPARK_MASTER", "local[*]"))',
            '        .config("spark.sql.session.timeZone", "UTC")',
            '        .config("spark.sql.ansi.enabled", "true")',
            "        .getOrCreate()",
            "    )",
            *(["    progress = _Progress(spark)"] if not self.streams else []),
            "    try:",
            "        build(spark)",
            "    finally:",
            *(["        progress.stop()"] if not self.streams else []),
            "        spark.stop()",
            "",
            "",
            'if __name__ == "__main__":',
            "    main()",
            "",
        ]
        return "\n".join(lines)

    def visit_nodes(self, nodes: Sequence[Node]) -> list[str]:
        lines: list[str] = []
        for node in nodes:
            visitor = getattr(self, self.spec(node).visitor, None)
            if visitor is None:
                raise RuntimeError(
                    f"{type(self).__name__} has no {self.spec(node).visitor}() although the capability table "
                    f"declares {node.type} supported on {self.engine}"
                )
            lines.extend(line for line in visitor(node) if line)  # "": a port counted downstream
        return lines

    def _finishes(self, sinks: Sequence[Node]) -> dict[str, list[str]]:
        """For each sink (in the order they write), the nodes whose last sink to write it is: their
        metrics are final then. Nodes that feed no sink are reported at the end."""
        assert self.analysis.graph is not None
        graph = self.analysis.graph
        position = {sink.id: i for i, sink in enumerate(sinks)}
        finishes: dict[str, list[str]] = {sink.id: [] for sink in sinks}
        for node_id in self.analysis.order:
            if node_id in position:
                continue
            reached, stack = {node_id}, [node_id]
            while stack:
                for connection in graph.outputs(stack.pop()):
                    if connection.target not in reached:
                        reached.add(connection.target)
                        stack.append(connection.target)
            last = max((position[n] for n in reached if n in position), default=None)
            if last is not None:
                finishes[sinks[last].id].append(node_id)
        return finishes

    def _written(self, node: Node, statement: list[str]) -> list[str]:
        """A batch sink's write, timed, then followed by its metrics and those of the nodes it finishes."""
        if node.id not in self.finishes:
            return statement
        finished = ", ".join(py_str(n) for n in self.finishes[node.id])
        return [f"    with metrics.writing({py_str(node.id)}, [{finished}]):", *[f"    {line}" for line in statement]]

    def _folded_filters(self) -> dict[tuple[str, str], str]:
        """Batch filters that count their input's rows too (metrics.rows_where), by input port: the
        filters whose input port feeds nothing else and has an observation of its own."""
        assert self.analysis.graph is not None
        folded: dict[tuple[str, str], str] = {}
        for node_id in self.analysis.order:
            node = self.analysis.node(node_id)
            if node.type != "transform.filter" or self.analysis.streaming(node_id):
                continue
            feeding = self.connections(node)[0]
            port = (feeding.source, feeding.source_port)
            consumers = [c for c in self.analysis.graph.outputs(feeding.source) if c.source_port == port[1]]
            producer = self.analysis.node(feeding.source).type
            if len(consumers) == 1 and producer not in _KEPT and feeding.source not in folded.values():
                folded[port] = node_id
        return folded

    def _header(self, node: Node) -> str:
        label = comment_text(node.label.strip())
        return f"    # {node.id}: {label + ' ' if label else ''}({node.type})"

    def _assign(self, target: str, head: str, calls: Sequence[str]) -> list[str]:
        """`target = head.call` on one line, or one call per line in brackets when there are several.
        The layout depends only on the program's structure, never on the length of user text."""
        single = f"    {target} = {head}{''.join(calls)}"
        if len(calls) <= 1 and "\n" not in single:
            return [single]
        lines = [f"    {target} = ("]
        for part in [head + (calls[0] if calls else ""), *calls[1:]]:
            lines.extend(f"        {line}" for line in part.split("\n"))
        return [*lines, "    )"]

    def _counted(self, node: Node, port: str = "out") -> str:
        if (node.id, port) in self.folded:
            return ""  # counted by the filter it feeds
        var = self.port_var(node.id, port)
        self.count_names[(node.id, port)] = f"{node.id}.{port}"
        return f"    {var} = metrics.rows({var}, {py_str(node.id)}, {py_str(port)})"

    def _kept(self, node: Node) -> str:
        """_counted for a node that keeps every row of its input (select, derive, sort): in batch it
        reports its input's count, so no observation sits between it and its neighbours."""
        if self.analysis.streaming(node.id):
            return self._counted(node)
        var = self.var(node.id)
        self.count_names[(node.id, "out")] = self._input_count(node)
        return f"    {var} = {self._same_rows(var, node, 'out')}"

    def _input_counted(self, node: Node) -> str:
        """A sink's input, counted: in batch, the count of the port feeding it."""
        if self.analysis.streaming(node.id):
            return f"metrics.rows({self.input_var(node)}, {py_str(node.id)}, \"in\")"
        return self._same_rows(self.input_var(node), node, "in")

    def _same_rows(self, var: str, node: Node, port: str) -> str:
        return f"metrics.same_rows({var}, {py_str(self._input_count(node))}, {py_str(node.id)}, {py_str(port)})"

    def _input_count(self, node: Node) -> str:
        feeding = self.connections(node)[0]
        key = (feeding.source, feeding.source_port)
        return self.count_names.get(key, f"{key[0]}.{key[1]}")

    def _schema(self, node_id: str, port: str = "out") -> list[Field] | None:
        return self.analysis.result.schemas.get(node_id, {}).get(port)

    def _input_schema(self, node: Node, port: str = "in") -> list[Field] | None:
        connection = self.connections(node, port)[0]
        return self._schema(connection.source, connection.source_port)

    # Sources ------------------------------------------------------------------------------
    def visit_source_file(self, node: Node) -> list[str]:
        config = self.config(node)
        file_format = str(config["format"])
        streaming = self.analysis.streaming(node.id)
        indent = "        "
        calls: list[list[str]] = []
        options: list[tuple[str, object]] = []
        if file_format == "csv":
            csv = config["options"]
            assert isinstance(csv, dict)
            options = [
                ("header", bool(csv["header"])),
                ("sep", str(csv["delimiter"])),
                ("escape", '"'),  # RFC 4180: a quote inside a quoted field is doubled, as Flink reads it
                ("nullValue", ""),
                ("ignoreLeadingWhiteSpace", False),
                ("ignoreTrailingWhiteSpace", False),
                ("mode", "FAILFAST"),
            ]
            if csv["header"]:
                # Fail on a header that does not match the schema instead of reading columns shifted.
                options.append(("enforceSchema", False))
        elif file_format == "json":
            options = [("mode", "FAILFAST")]
        if streaming:
            options.append(("maxFilesPerTrigger", MAX_FILES_PER_TRIGGER))
        if options:
            calls.append(_call("options", _kwargs(options), indent))
        schema = config.get("schema")
        if isinstance(schema, list):
            fields = [Field(str(c["name"]), str(c["type"]), bool(c["nullable"])) for c in schema]
            calls.append([f"{indent}.schema({py_str(schema_ddl(fields))})"])
        calls.append([f"{indent}.load({_path_argument(self.text(node, 'path'))})"])
        head = f"spark.{'readStream' if streaming else 'read'}.format({py_str(file_format)})"
        target = self.var(node.id)
        if len(calls) == 1:
            statement = [f"    {target} = {head}{calls[0][0].strip()}"]
        else:
            statement = [f"    {target} = (", f"{indent}{head}", *[line for call in calls for line in call], "    )"]
        return [self._header(node), *statement, self._counted(node)]

    # Row-by-row transforms ----------------------------------------------------------------
    def visit_filter(self, node: Node) -> list[str]:
        condition = py_str(self.expression_sql(node, "condition"))
        feeding = self.connections(node)[0]
        if self.folded.get((feeding.source, feeding.source_port)) == node.id:
            self.count_names[(node.id, "out")] = f"{node.id}.out"
            source = f"{py_str(feeding.source)}, {py_str(feeding.source_port)}"
            call = f"metrics.rows_where({self.input_var(node)}, F.expr({condition}), {py_str(node.id)}, {source})"
            return [self._header(node), f"    {self.var(node.id)} = {call}"]
        return [
            self._header(node),
            f"    {self.var(node.id)} = {self.input_var(node)}.where(F.expr({condition}))",
            self._counted(node),
        ]

    def visit_select(self, node: Node) -> list[str]:
        columns = self.config(node)["columns"]
        assert isinstance(columns, list)
        items = []
        for entry in columns:
            item = _col(entry["name"])
            if entry.get("type"):
                item += f".cast({py_str(entry['type'])})"
            if entry.get("alias"):
                item += f".alias({py_str(entry['alias'])})"
            items.append(item)
        return [
            self._header(node),
            f"    {self.var(node.id)} = {self.input_var(node)}.select(",
            *[f"        {item}," for item in items],
            "    )",
            self._kept(node),
        ]

    def visit_derive(self, node: Node) -> list[str]:
        columns = self.config(node)["columns"]
        assert isinstance(columns, list)
        calls = []
        for i, entry in enumerate(columns):
            expression = py_str(self.expression_sql(node, "columns", i, "expression"))
            calls.append(f".withColumn({py_str(entry['name'])}, F.expr({expression}))")
        return [self._header(node), *self._assign(self.var(node.id), self.input_var(node), calls), self._kept(node)]

    def visit_quality(self, node: Node) -> list[str]:
        self.uses_rules = True
        rules = self.config(node)["rules"]
        assert isinstance(rules, list)
        names = [str(r["name"]) for r in rules]
        by_action = {action: [str(r["name"]) for r in rules if r["on_fail"] == action]
                     for action in ("warn", "drop", "quarantine", "fail")}  # fmt: skip
        checked = self.names.derived(node.id, "all")
        pairs = [
            f"({py_str(str(r['name']))}, {py_str(self.expression_sql(node, 'rules', i, 'expression'))}),"
            for i, r in enumerate(rules)
        ]
        lines = [
            self._header(node),
            f"    {checked} = {self.input_var(node)}.withColumn(",
            f"        {py_str(FAILED_RULES)},",
            "        _failed_rules(",
            *[f"            {pair}" for pair in pairs],
            "        ),",
            "    )",
            f"    {checked} = metrics.rules({checked}, {py_str(node.id)}, [{', '.join(py_str(n) for n in names)}])",
        ]
        fatal = by_action["fail"]
        if fatal and self.analysis.streaming(node.id):
            self.uses_stop = True
            lines.append(f"    {checked} = _stop_on({checked}, {py_str(node.id)}, {', '.join(py_str(n) for n in fatal)})")
        elif fatal:
            self.uses_fail = True
            self.checks.append(
                f"    _fail_on({checked}, {py_str(node.id)}, [{', '.join(py_str(n) for n in names)}], "
                f"[{', '.join(py_str(n) for n in fatal)}])"
            )
        ports = self.used_ports(node)
        if "out" in ports:
            removing = [name for name in names if name not in by_action["warn"]]
            keep = f".where(~_failed_any({', '.join(py_str(n) for n in removing)}))" if removing else ""
            lines.append(f"    {self.var(node.id)} = {checked}{keep}.drop({py_str(FAILED_RULES)})")
            lines.append(self._counted(node, "out"))
        if "rejected" in ports:
            rejected = self.port_var(node.id, "rejected")
            quarantined = by_action["quarantine"]
            condition = f"_failed_any({', '.join(py_str(n) for n in quarantined)})" if quarantined else "F.lit(False)"
            lines.append(f"    {rejected} = {checked}.where({condition})")
            lines.append(self._counted(node, "rejected"))
        return lines

    # Joins and unions ---------------------------------------------------------------------
    def visit_join(self, node: Node) -> list[str]:
        config = self.config(node)
        how = str(config["how"])
        on = config["on"]
        assert isinstance(on, list)
        parts: list[exp.Expression] = [
            exp.EQ(
                this=exp.column(pair["left"], table="left"),
                expression=exp.column(pair["right"], table="right"),
            )
            for pair in on
        ]
        if config.get("condition"):
            parts.append(exp.Paren(this=self.analysis.expressions[self._path(node, ("condition",))].tree.copy()))
        condition = parts[0]
        for part in parts[1:]:
            condition = exp.And(this=condition, expression=part)
        left, right = self.input_var(node, "left"), self.input_var(node, "right")
        arguments = [
            f'{right}.alias("right")',
            f"on=F.expr({py_str(to_sql(condition, self.dialect))})",
            f"how={py_str(_JOIN_TYPES[how])}",
        ]
        calls = ["", _block(".join", arguments)]
        columns = self._join_columns(node, how)
        if columns:
            calls.append(_block(".select", columns))
        lines = self._assign(self.var(node.id), f'{left}.alias("left")', calls)
        return [self._header(node), *lines, self._counted(node)]

    def _join_columns(self, node: Node, how: str) -> list[str]:
        """The output columns of an inner/outer join, qualified by side; keys with the same name on
        both sides once (USING), coalesced for full joins; right columns renamed with right_suffix."""
        layout = self.analysis.joins.get(node.id)
        if how in ("semi", "anti") or layout is None:
            return []
        columns = []
        for name, side, column in layout:
            if side == "key" and how == "full":
                columns.append(f'F.coalesce(F.col("left.{name}"), F.col("right.{name}")).alias({py_str(name)})')
                continue
            if side == "key":
                side = "right" if how == "right" else "left"
            item = f'F.col("{side}.{column}")'
            columns.append(item if column == name else f"{item}.alias({py_str(name)})")
        return columns

    def visit_union(self, node: Node) -> list[str]:
        config = self.config(node)
        by_name = bool(config["by_name"])
        inputs = self.connections(node)
        output = self._schema(node.id)
        parts: list[str] = []
        for connection in inputs:
            var = self.port_var(connection.source, connection.source_port)
            schema = self._schema(connection.source, connection.source_port)
            if output is None or schema is None:
                parts.append(var)
                continue
            parts.append(self._aligned(var, schema, output, by_name))
        method = ".unionByName" if by_name else ".union"
        extra = ["allowMissingColumns=True"] if output is None and by_name and config["allow_missing"] else []
        calls = [
            _block(method, [part, *extra]) if "\n" in part else f"{method}({', '.join([part, *extra])})"
            for part in parts[1:]
        ]
        return [self._header(node), *self._assign(self.var(node.id), parts[0], calls), self._counted(node)]

    @staticmethod
    def _aligned(var: str, schema: list[Field], output: list[Field], by_name: bool) -> str:
        """An input with the union's columns in order: cast where its type is narrower, NULL where missing."""
        if [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in output]:
            return var
        by = {f.name: f for f in schema}
        items = []
        for position, target in enumerate(output):
            source = by.get(target.name) if by_name else schema[position]
            if source is None:
                items.append(f"F.lit(None).cast({py_str(target.type)}).alias({py_str(target.name)})")
                continue
            item = _col(source.name)
            if source.type != target.type:
                item += f".cast({py_str(target.type)})"
            if source.name != target.name or source.type != target.type:
                item += f".alias({py_str(target.name)})"
            items.append(item)
        return _block(f"{var}.select", items)

    # Aggregations -------------------------------------------------------------------------
    def _aggregation_calls(self, node: Node) -> list[str]:
        aggregations = self.config(node)["aggregations"]
        assert isinstance(aggregations, list)
        calls = []
        for aggregation in aggregations:
            column = aggregation.get("column")
            argument = _col(column) if column else "F.lit(1)"
            calls.append(f"{_AGGREGATE_CALLS[aggregation['function']]}({argument}).alias({py_str(aggregation['name'])})")
        return calls

    def visit_aggregate(self, node: Node) -> list[str]:
        groups = self.config(node)["group_by"] or []
        assert isinstance(groups, list)
        head = f"{self.input_var(node)}.groupBy({', '.join(py_str(g) for g in groups)})"
        aggregations = self._aggregation_calls(node)
        lines = [f"    {self.var(node.id)} = {head}.agg(", *[f"        {a}," for a in aggregations], "    )"]
        return [self._header(node), *lines, self._counted(node)]

    def visit_window_aggregate(self, node: Node) -> list[str]:
        config = self.config(node)
        time_column = str(config["time_column"])
        window = config["window"]
        assert isinstance(window, dict)
        groups = [str(g) for g in config["group_by"] or []]  # type: ignore[union-attr]
        taken = {f.name for f in self._input_schema(node) or []} | set(groups)
        bucket = "_window"
        while bucket in taken:
            bucket = "_" + bucket
        time_type = next((f.type for f in self._input_schema(node) or [] if f.name == time_column), "timestamp")
        # A date is the start of its day (UTC), as CAST(date AS timestamp) says.
        time = py_str(time_column) if time_type == "timestamp" else f'{_col(time_column)}.cast("timestamp")'
        if window["type"] == "session":
            call = f"F.session_window({time}, {py_str(str(window['gap']))})"
        elif window["type"] == "hopping":
            call = f"F.window({time}, {py_str(str(window['size']))}, {py_str(str(window['slide']))})"
        else:
            call = f"F.window({time}, {py_str(str(window['size']))})"
        calls: list[str] = []
        if self.analysis.streaming(node.id) and config.get("watermark"):
            calls.append(f".withWatermark({py_str(time_column)}, {py_str(str(config['watermark']))})")
        grouping = ", ".join([f"{call}.alias({py_str(bucket)})", *[py_str(g) for g in groups]])
        calls.append(f".groupBy({grouping})")
        calls.append("\n".join([".agg(", *[f"    {a}," for a in self._aggregation_calls(node)], ")"]))
        aggregations = config["aggregations"]
        assert isinstance(aggregations, list)
        selected = [
            f'F.col("{bucket}.start").alias({py_str(WINDOW_COLUMNS[0])})',
            f'F.col("{bucket}.end").alias({py_str(WINDOW_COLUMNS[1])})',
            *[_col(g) for g in groups],
            *[_col(str(a["name"])) for a in aggregations],
        ]
        calls.append("\n".join([".select(", *[f"    {s}," for s in selected], ")"]))
        lines = self._assign(self.var(node.id), self.input_var(node), calls)
        return [self._header(node), *lines, self._counted(node)]

    def visit_deduplicate(self, node: Node) -> list[str]:
        config = self.config(node)
        keys = [str(k) for k in config["keys"]]  # type: ignore[union-attr]
        source = self.input_var(node)
        key_list = f"[{', '.join(py_str(k) for k in keys)}]"
        order_by = config.get("order_by")
        if self.analysis.streaming(node.id):
            lines = [f"    {self.var(node.id)} = {source}.dropDuplicatesWithinWatermark({key_list})"]
        elif not isinstance(order_by, dict):
            lines = [f"    {self.var(node.id)} = {source}.dropDuplicates({key_list})"]
        else:
            self.uses_window = True
            taken = {f.name for f in self._input_schema(node) or []}
            row = "_row_number"
            while row in taken:
                row = "_" + row
            descending = (order_by["direction"] == "desc") != (config["keep"] == "last")
            # Spark's defaults: NULL first ascending, last descending; keeping the last row reverses both.
            ordering = f"{_col(str(order_by['column']))}.{'desc_nulls_last' if descending else 'asc_nulls_first'}()"
            window = f"Window.partitionBy({', '.join(py_str(k) for k in keys)}).orderBy({ordering})"
            calls = [
                _block(".withColumn", [py_str(row), f"F.row_number().over({window})"]),
                f".where({_col(row)} == 1)",
                f".drop({py_str(row)})",
            ]
            lines = self._assign(self.var(node.id), source, calls)
        return [self._header(node), *lines, self._counted(node)]

    def visit_sort(self, node: Node) -> list[str]:
        order = self.config(node)["order"]
        assert isinstance(order, list)
        items = []
        for entry in order:
            direction = str(entry["direction"])
            nulls = entry.get("nulls") or ("first" if direction == "asc" else "last")
            items.append(f"{_col(entry['column'])}.{direction}_nulls_{nulls}()")
        lines = self._assign(self.var(node.id), self.input_var(node), [f".orderBy({', '.join(items)})"])
        return [self._header(node), *lines, self._kept(node)]

    def visit_limit(self, node: Node) -> list[str]:
        n = int(self.config(node)["n"])  # type: ignore[arg-type]
        return [self._header(node), f"    {self.var(node.id)} = {self.input_var(node)}.limit({n})", self._counted(node)]

    def visit_sql(self, node: Node) -> list[str]:
        query = self.analysis.queries[self._path(node, ("query",))]
        frames: dict[str, str] = {}
        for connection in self.connections(node):
            if connection.source in query.tables:
                frames[connection.source] = self.port_var(connection.source, connection.source_port)
        text = query.sql({table: var for table, var in frames.items()})
        arguments = [py_str(text), *[f"{var}={var}" for var in frames.values()]]
        lines = [f"    {self.var(node.id)} = spark.sql(", *[f"        {a}," for a in arguments], "    )"]
        return [self._header(node), *lines, self._counted(node)]

    # Sinks --------------------------------------------------------------------------------
    def visit_sink_file(self, node: Node) -> list[str]:
        config = self.config(node)
        file_format = str(config["format"])
        streaming = self.analysis.streaming(node.id)
        options: list[tuple[str, object]] = []
        if file_format == "csv":
            options = [
                ("header", True),
                ("escape", '"'),
                ("timestampFormat", CSV_TIMESTAMP_FORMAT),
                ("ignoreLeadingWhiteSpace", False),
                ("ignoreTrailingWhiteSpace", False),
            ]
        elif file_format == "json":
            options = [("timestampFormat", CSV_TIMESTAMP_FORMAT)]
        calls: list[str] = []
        if streaming:
            calls.append('.outputMode("append")')
            options.insert(0, ("checkpointLocation", f"_checkpoint({py_str(node.id)})"))
        else:
            calls.append(f".mode({py_str(str(config['mode']))})")
        if options:
            rendered = [
                f"{key}={value}" if key == "checkpointLocation" else _kwargs([(key, value)])[0]
                for key, value in options
            ]
            one = f".options({', '.join(rendered)})"
            calls.append(one if len(one) <= LINE - 8 else _block(".options", rendered))
        partition_by = config.get("partition_by") or []
        assert isinstance(partition_by, list)
        if partition_by:
            calls.append(f".partitionBy({', '.join(py_str(c) for c in partition_by)})")
        target = _path_argument(self.text(node, "path"))
        var = self.var(node.id)
        lines = [self._header(node), f"    {var} = {self._input_counted(node)}"]
        if streaming:
            calls += [".trigger(**_trigger())", f".start({target})"]
            lines += self._statement("queries.append(", f"{var}.writeStream.format({py_str(file_format)})", calls, ")")
        else:
            calls.append(f".save({target})")
            lines += self._written(node, self._statement("", f"{var}.write.format({py_str(file_format)})", calls, ""))
        return lines

    def _statement(self, opening: str, head: str, calls: Sequence[str], closing: str) -> list[str]:
        """An expression statement (`opening head.calls closing`): one line for up to two calls, else
        bracketed with one call per line (by structure only, like _assign)."""
        single = f"    {opening}{head}{''.join(calls)}{closing}"
        if len(calls) <= 2 and "\n" not in single:
            return [single]
        lines = [f"    {opening or '('}", f"        {head}"]
        for call in calls:
            lines.extend(f"        {part}" for part in call.split("\n"))
        return [*lines, f"    {closing or ')'}"]

    def visit_sink_alert(self, node: Node) -> list[str]:
        self.uses_alerts = True
        config = self.config(node)
        parts = []
        for text, is_column in message_parts(str(config["message"])):
            if is_column:
                parts.append(f'F.coalesce({_col(text)}.cast("string"), F.lit("NULL"))')
            else:
                parts.append(f"F.lit({py_str(text)})")
        if len(parts) > 1:
            message = _block("F.concat", parts) + '.alias("message")'
        else:
            message = (parts[0] if parts else 'F.lit("")') + '.alias("message")'
        var = self.var(node.id)
        calls = [""]
        if config.get("condition"):
            calls.append(f".where(F.expr({py_str(self.expression_sql(node, 'condition'))}))")
        calls.append(_block(".select", [message]) if "\n" in message else f".select({message})")
        head = self._input_counted(node)
        lines = [self._header(node), *self._assign(var, head, calls)]
        raise_call = f"_raise_alerts({{}}, {py_str(node.id)}, {py_str(str(config['severity']))})"
        if self.analysis.streaming(node.id):
            calls = [
                f".foreachBatch(lambda batch, _: {raise_call.format('batch')})",
                f'.option("checkpointLocation", _checkpoint({py_str(node.id)}))',
                ".trigger(**_trigger())",
                ".start()",
            ]
            lines += self._statement("queries.append(", f"{var}.writeStream", calls, ")")
        else:
            lines += self._written(node, [f"    {raise_call.format(var)}"])
        return lines
