# Runtime support for generated Flink jobs. The Flink back end copies this module, unchanged, to
# the end of every job it generates, so a job is one self-contained file (ADR 0002). It runs in the
# Flink virtual environment: Python 3.11, PyFlink and pyarrow, nothing from the studio.
from __future__ import annotations

import base64
import csv
import json
import math
import os
import re
import shutil
import threading
import time
import uuid
from typing import Any, Self

_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_GLOB = re.compile(r"[*?\[{\\]")
_PART = re.compile(r"task-(\d+)-file-(\d+)")
_EXTENSIONS = {"csv": ".csv", "json": ".json", "parquet": ".parquet"}


def _local(path: str) -> str:
    """Local paths resolve against the working directory (the data folder); URIs stay as written."""
    return path if _URI.match(path) else os.path.abspath(path)


def _glob_regex(pattern: str) -> str:
    """A Hadoop-style glob (* ? [abc] [^a] {a,b} \\c) as a regular expression over whole paths."""
    out, i, depth = [], 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith(("^", "!"))
                body = body[1:] if negate else body
                out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
                i = end
        elif ch == "{":
            out.append("(?:")
            depth += 1
        elif ch == "}" and depth:
            out.append(")")
            depth -= 1
        elif ch == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _split_glob(path: str) -> tuple[str, str | None]:
    """(folder to read, regex over absolute file paths or None). The folder is the longest leading
    part without glob characters; a matched folder includes the files below it, as in Spark."""
    path = _local(path)
    if not _GLOB.search(path):
        return path, None
    parts = path.split("/")
    fixed = next(i for i, p in enumerate(parts) if _GLOB.search(p))
    base = "/".join(parts[:fixed]) or "/"
    rest = "/".join(parts[fixed:])
    return base, "(?:file:)?" + re.escape(base.rstrip("/")) + "/" + _glob_regex(rest) + "(?:/.*)?"


def _visible(name: str) -> bool:
    return not name.startswith((".", "_"))


def _matching_files(path: str) -> list[str]:
    """The data files a source reads (hidden files and folders skipped, as Spark and Flink do)."""
    base, regex = _split_glob(path)
    if os.path.isfile(base):
        return [base]
    found = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if _visible(d))
        for name in sorted(files):
            full = os.path.join(folder, name)
            if _visible(name) and (regex is None or re.fullmatch(regex, full)):
                found.append(full)
    return found


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class StudioRun:
    """One run of a pipeline on a TableEnvironment.

    - Its views live in a database of their own, so many pipelines can share one environment; all
      of it is dropped at the end.
    - Batch sinks write to hidden staging folders; only when the whole job succeeded (and no
      quality rule with on_fail 'fail' failed) are they committed: csv files get their header,
      parquet is converted from the staged JSON with pyarrow, and the folder replaces (overwrite)
      or joins (append) the target.
    - Row counts of every node's output are computed in the same job and printed as
      `STUDIO_METRIC {"node": ..., "port": ..., "rows": N}` lines: after a batch job, and while a
      streaming job runs, per window of processing time (see _StreamCounts).
    """

    # A streaming run counts rows per tumbling window of processing time this long (seconds).
    count_window = 5

    def __init__(self, t_env: Any, pipeline: str, *, streaming: bool = False, stop_after: float | None = None) -> None:
        self.t_env = t_env
        self.pipeline = pipeline
        self.streaming = streaming
        self.stop_after = stop_after
        self.database = "studio_run_" + uuid.uuid4().hex
        self.scratch = os.path.abspath(os.path.join(".studio-flink", self.database))
        self.statements: list[tuple[Any, str]] = []
        # (node, port or "rule", rule name or "", SQL giving one BIGINT), counted in the job itself.
        self.metrics: list[tuple[str, str, str, str]] = []
        self.sinks: list[dict[str, Any]] = []
        self.rules: list[tuple[str, list[str], list[str]]] = []  # (node, rule names, rules that fail the run)
        self.alerts: list[tuple[str, str, str]] = []  # (node, severity, staged folder)
        self.counts: dict[tuple[str, str, str], int] = {}
        # Nodes whose output rows a connector process prints itself (a streaming Kafka source's
        # bridge): a streaming run does not count them again.
        self.reported_elsewhere: set[str] = set()
        self._previous: tuple[str, str] | None = None

    def stream_counts_folder(self) -> str:
        """Where a streaming run's counts sink writes. Flink's checkpoints hold the sink's open
        file by its path, so a run that restores them must find it there: the folder is kept with
        the checkpoints the runner gives the job ($STUDIO_CHECKPOINT_DIR), else it is the run's own."""
        checkpoints = os.environ.get("STUDIO_CHECKPOINT_DIR")
        return os.path.join(os.path.abspath(checkpoints), "studio-counts") if checkpoints else os.path.join(self.scratch, "metrics")

    # Set-up and clean-up ----------------------------------------------------------------------
    def __enter__(self) -> Self:
        config = self.t_env.get_config()
        config.set("table.local-time-zone", "UTC")
        if self.streaming and not config.get("execution.checkpointing.interval", ""):
            # Streaming file sinks make their files visible when a checkpoint completes.
            config.set("execution.checkpointing.interval", "10 s")
        if self.streaming and not config.get("restart-strategy.type", ""):
            # Restart after a failure a few times, then fail the run with the cause.
            config.set("restart-strategy.type", "fixed-delay")
            config.set("restart-strategy.fixed-delay.attempts", "3")
            config.set("restart-strategy.fixed-delay.delay", "10 s")
        if self.streaming and not config.get("table.exec.source.idle-timeout", ""):
            # A source reader with no new file must not hold back the watermark of the others.
            config.set("table.exec.source.idle-timeout", "5 s")
        self._previous = (self.t_env.get_current_catalog(), self.t_env.get_current_database())
        self.t_env.execute_sql(f"CREATE DATABASE `{self.database}`")
        self.t_env.use_database(self.database)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            for view in self.t_env.list_temporary_views():
                self.t_env.drop_temporary_view(f"`{view}`")
            for table in self.t_env.list_temporary_tables():
                self.t_env.drop_temporary_table(f"`{table}`")
        finally:
            assert self._previous is not None
            self.t_env.use_catalog(self._previous[0])
            self.t_env.use_database(self._previous[1])
            self.t_env.execute_sql(f"DROP DATABASE IF EXISTS `{self.database}` CASCADE")
            shutil.rmtree(self.scratch, ignore_errors=True)
            try:
                os.rmdir(os.path.dirname(self.scratch))  # the shared .studio-flink folder, once empty
            except OSError:
                pass
            for sink in self.sinks:
                if sink["staging"] != sink["target"]:  # streaming sinks write the target itself
                    shutil.rmtree(sink["staging"], ignore_errors=True)

    # Sources ----------------------------------------------------------------------------------
    def files(
        self,
        name: str,
        path: str,
        file_format: str,
        columns: list[tuple[str, str]],
        options: dict[str, str],
        *,
        computed: list[tuple[str, str]] = (),  # type: ignore[assignment]
        watermark: tuple[str, str] | None = None,
    ) -> None:
        """A filesystem table over the files of a source (a glob becomes a folder plus a regex)."""
        from pyflink.table import FormatDescriptor, Schema, TableDescriptor

        schema = Schema.new_builder()
        for column, type_sql in columns:
            schema = schema.column(column, type_sql)
        for column, expression in computed:
            schema = schema.column_by_expression(column, expression)
        if watermark is not None:
            schema = schema.watermark(*watermark)
        base, regex = _split_glob(path)
        if not self.streaming and not os.path.exists(base) and not _URI.match(path):
            raise FileNotFoundError(f"Path does not exist: {base}")
        descriptor = TableDescriptor.for_connector("filesystem").schema(schema.build()).option("path", base)
        if regex is not None:
            descriptor = descriptor.option("source.path.regex-pattern", regex)
        if self.streaming:
            descriptor = descriptor.option("source.monitor-interval", "2 s")
        fmt = FormatDescriptor.for_format(file_format)
        for key, value in options.items():
            fmt = fmt.option(key, value)
        self.t_env.create_temporary_table(f"`{name}`", descriptor.format(fmt.build()).build())

    def check_csv_header(self, path: str, delimiter: str, names: list[str]) -> None:
        """Each file's first line must name the schema's columns (case-insensitively, as Spark
        checks with enforceSchema=false), or the run fails instead of reading columns shifted."""
        expected = [n.lower() for n in names]
        for file in _matching_files(path):
            with open(file, newline="", encoding="utf-8") as handle:
                first = next(csv.reader(handle, delimiter=delimiter), None)
            if first is not None and [f.lower() for f in first] != expected:
                raise ValueError(
                    f"The CSV header of {file} is {first}, but the schema's columns are {names}; "
                    "fix the schema or the file."
                )

    def parquet(self, name: str, path: str, columns: list[tuple[str, str, str]]) -> None:
        """Flink here has no parquet reader: the files are converted batch by batch with pyarrow to
        JSON lines in a scratch folder, which Flink reads. `columns`: (name, studio type, Flink type
        of the staged JSON field)."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        files = _matching_files(path)
        if not files:
            raise FileNotFoundError(f"No parquet files match {path}")
        folder = os.path.join(self.scratch, name.replace("$", "_"))
        os.makedirs(folder, exist_ok=True)
        wanted = [c[0] for c in columns]
        for index, file in enumerate(files):
            parquet_file = pq.ParquetFile(file)
            lower = {n.lower(): n for n in parquet_file.schema_arrow.names}
            missing = [c for c in wanted if c.lower() not in lower]
            if missing:
                raise ValueError(f"The parquet file {file} has no column(s) {missing}.")
            source_names = [lower[c.lower()] for c in wanted]
            with open(os.path.join(folder, f"part-{index:05d}.json"), "w", encoding="utf-8") as out:
                for batch in parquet_file.iter_batches(batch_size=8192, columns=source_names):
                    values = [
                        _json_column(batch.column(i), studio_type, pc) for i, (_, studio_type, _) in enumerate(columns)
                    ]
                    for row in zip(*values, strict=True):
                        record = {n: v for n, v in zip(wanted, row, strict=True) if v is not None}
                        out.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        self.files(name, folder, "json", [(c[0], c[2]) for c in columns], {"fail-on-missing-field": "false"})

    # Transforms -------------------------------------------------------------------------------
    def view(self, name: str, sql: str, *, node: str | None = None, port: str = "out", count: str = "") -> None:
        """A node's output as a temporary view; with `node`, its rows are counted for the metrics
        (by the query `count` when given, since Flink's planner cannot count a sorted view; "-":
        not counted)."""
        self.t_env.create_temporary_view(f"`{name}`", self.t_env.sql_query(sql))
        if node is not None and count != "-":
            self.metrics.append((node, port, "", count or f"SELECT COUNT(*) FROM `{name}`"))

    def quality(self, node: str, view: str, rules: list[tuple[str, str, str]]) -> None:
        """Per-rule failure counts of a checked view; `rules`: (name, column holding whether the row
        passed, on_fail). Rules with on_fail 'fail' stop the run before anything is committed."""
        self.metrics.append((node, "rules", "", f"SELECT COUNT(*) FROM `{view}`"))
        for rule, column, _ in rules:
            self.metrics.append((node, "rule", rule, f"SELECT COUNT(*) FROM `{view}` WHERE NOT `{column}`"))
        self.rules.append((node, [r[0] for r in rules], [r[0] for r in rules if r[2] == "fail"]))

    def alert(self, node: str, sql: str, severity: str) -> None:
        """Alert messages (one per row of `sql`, a column `message`) are staged and printed as
        `STUDIO_ALERT {json}` lines once the job has finished."""
        from pyflink.table import FormatDescriptor, Schema, TableDescriptor

        folder = os.path.join(self.scratch, f"alerts-{len(self.alerts)}")
        schema = Schema.new_builder().column("message", "STRING").build()
        descriptor = (
            TableDescriptor.for_connector("filesystem")
            .schema(schema)
            .option("path", folder)
            .format(FormatDescriptor.for_format("json").build())
            .build()
        )
        self.statements.append((descriptor, self.t_env.sql_query(sql)))
        self.alerts.append((node, severity, folder))

    # Sinks ------------------------------------------------------------------------------------
    def write(
        self,
        node: str,
        count: str,
        sql: str,
        *,
        path: str,
        file_format: str,
        mode: str,
        partition_by: list[str],
        columns: list[tuple[str, str, str, bool]],
        ordered: bool = False,
    ) -> None:
        """Add a file sink to the job. `count` counts its rows (see view()); `sql` selects the
        columns as they are written (timestamps as text for csv/json); `columns`: (name, Flink type
        in `sql`, studio type, nullable)."""
        from pyflink.table import FormatDescriptor, Schema, TableDescriptor

        target = _local(path)
        if self.streaming:
            staging = target
        else:
            parent, leaf = os.path.split(target.rstrip("/"))
            staging = os.path.join(parent, f".{leaf}.staging-{uuid.uuid4().hex}")
        staged_format = "json" if file_format == "parquet" else file_format
        fmt = FormatDescriptor.for_format(staged_format)
        if staged_format == "csv":
            fmt = fmt.option("null-literal", "").option("write-bigdecimal-in-scientific-notation", "false")
        else:
            fmt = fmt.option("encode.ignore-null-fields", "true" if file_format == "json" else "false")
        schema = Schema.new_builder()
        for column, type_sql, _, _ in columns:
            schema = schema.column(column, type_sql)
        descriptor = (
            TableDescriptor.for_connector("filesystem")
            .schema(schema.build())
            .option("path", staging)
            .option("partition.default-name", "__HIVE_DEFAULT_PARTITION__")
            .option("sink.rolling-policy.file-size", "64MB")
        )
        if self.streaming:
            descriptor = descriptor.option("sink.rolling-policy.rollover-interval", "10 s").option(
                "sink.rolling-policy.check-interval", "1 s"
            )
        if ordered:
            descriptor = descriptor.option("sink.parallelism", "1")
        if partition_by:
            descriptor = descriptor.partitioned_by(*partition_by)
        table = self.t_env.sql_query(sql)
        self.statements.append((descriptor.format(fmt.build()).build(), table))
        if count:
            self.metrics.append((node, "in", "", count))
        self.sinks.append(
            {
                "node": node,
                "staging": staging,
                "target": target,
                "format": file_format,
                "mode": mode,
                "partition_by": partition_by,
                "columns": columns,
            }
        )

    # Running ----------------------------------------------------------------------------------
    def execute(self) -> None:
        """Run every sink (and the row counts) as one Flink job, then commit the staged output."""
        statements = self.t_env.create_statement_set()
        for descriptor, table in self.statements:
            statements.add_insert(descriptor, table, overwrite=not self.streaming)
        metrics_folder = os.path.join(self.scratch, "metrics")
        if self.streaming:
            counts = _StreamCounts(self, self.stream_counts_folder())
            counts.add_to(statements)
            result = statements.execute()
            with counts:  # prints the counts as Flink commits them, and the last ones at the end
                self._wait_streaming(result)
            return
        if self.metrics:
            statements.add_insert(self._metrics_table(metrics_folder), self._metrics_query(), overwrite=True)
        result = statements.execute()
        result.wait()
        self._read_metrics(metrics_folder)
        self._print_metrics()
        self._enforce_rules()
        for sink in self.sinks:
            _commit(sink)
        self._print_alerts()

    def _wait_streaming(self, result: Any) -> None:
        if self.stop_after is None:
            result.wait()
            return
        try:
            result.wait(int(self.stop_after * 1000))
        except Exception as error:
            if "TimeoutException" not in str(error):
                raise  # the job failed
            result.get_job_client().cancel().result()  # it ran for stop_after seconds, as asked

    def _metrics_table(self, folder: str) -> Any:
        from pyflink.table import FormatDescriptor, Schema, TableDescriptor

        schema = (
            Schema.new_builder()
            .column("node", "STRING")
            .column("port", "STRING")
            .column("what", "STRING")
            .column("n", "BIGINT")
            .build()
        )
        return (
            TableDescriptor.for_connector("filesystem")
            .schema(schema)
            .option("path", folder)
            .format(FormatDescriptor.for_format("csv").build())
            .build()
        )

    def _metrics_query(self) -> Any:
        # Each count is a derived table, not a scalar subquery: Flink's planner shares the pipeline
        # up to each counted view with the sinks and trims the columns a count does not need, where
        # a scalar subquery got a copy of the pipeline of its own (bench/flink_generated_vs_sql.py).
        parts = [
            f"SELECT {_sql_text(node)}, {_sql_text(port)}, {_sql_text(what)}, `n` FROM ({sql}) AS `counted` (`n`)"
            for node, port, what, sql in self.metrics
        ]
        return self.t_env.sql_query(" UNION ALL ".join(parts))

    def _read_metrics(self, folder: str) -> None:
        for root, _, files in os.walk(folder):
            for name in files:
                if not _visible(name):
                    continue
                with open(os.path.join(root, name), newline="", encoding="utf-8") as handle:
                    for node, port, what, n in csv.reader(handle):
                        self.counts[(node, port, what)] = int(n)

    def _print_metrics(self) -> None:
        for node, port, what, _ in self.metrics:
            if port == "rules":
                continue
            n = self.counts.get((node, port, what), 0)
            if port == "rule":
                total = self.counts.get((node, "rules", ""), 0)
                _metric({"node": node, "rule": what, "passed": total - n, "failed": n})
            else:
                _metric({"node": node, "port": port, "rows": n})

    def _enforce_rules(self) -> None:
        for node, names, fatal in self.rules:
            for rule in names:
                n = self.counts.get((node, "rule", rule), 0)
                if n and rule not in fatal:
                    print(f"Node '{node}': quality rule '{rule}' failed for {n} row{'s' if n != 1 else ''}.", flush=True)
            failures = {rule: self.counts.get((node, "rule", rule), 0) for rule in fatal}
            failures = {rule: n for rule, n in failures.items() if n}
            if failures:
                detail = "; ".join(f"rule '{r}' failed for {n} row{'s' if n != 1 else ''}" for r, n in failures.items())
                raise QualityCheckError(f"Node '{node}': {detail} (on_fail: fail); nothing was written.")

    def _print_alerts(self) -> None:
        for node, severity, folder in self.alerts:
            for root, _, files in os.walk(folder):
                for name in sorted(files):
                    if not _visible(name):
                        continue
                    with open(os.path.join(root, name), encoding="utf-8") as handle:
                        for line in handle:
                            message = json.loads(line).get("message")
                            alert = {"node": node, "severity": severity, "message": message}
                            print("STUDIO_ALERT " + json.dumps(alert), flush=True)


class QualityCheckError(RuntimeError):
    """A quality rule with on_fail: fail failed; raised before anything is committed."""


def _metric(values: dict[str, object]) -> None:
    # One write per line: a streaming run prints from a second thread.
    print("STUDIO_METRIC " + json.dumps(values) + "\n", end="", flush=True)


class _StreamCounts:
    """The row counts of a streaming run, printed while it runs.

    Flink's own per-operator counters (its REST API) cannot give them: the planner fuses the views
    of several nodes into one operator (a CSV source's header filter with the filter after it), and
    the counters start from 0 again when the job restarts from a checkpoint. So the job counts in
    SQL, as a batch job does, but per tumbling window of processing time: each distinct count
    query becomes a window aggregation over the counted view, all written by one filesystem sink
    to the run's scratch folder. The counts are state of the checkpointed job (exact: a restart
    neither loses nor repeats one), and Flink makes each file visible when a checkpoint completes.
    A thread reads every new file and prints, per node port and window, `STUDIO_METRIC {"node",
    "port", "rows", "batch", "duration_ms"}` (the Kafka bridge's shape): the window's rows, its
    number since the run started and its length. A window without rows prints nothing.
    """

    def __init__(self, run: StudioRun, folder: str) -> None:
        self.run = run
        self.folder = folder
        self.seconds = run.count_window
        self.first = int(time.time()) // self.seconds  # the window the run starts in: batch 0
        self.queries: dict[str, list[tuple[str, str]]] = {}  # count query -> the (node, port) it counts
        for node, port, _, sql in run.metrics:
            # Quality rules are not counted (not supported in streaming); a LIMIT's cap neither.
            if port in ("rules", "rule") or (port == "out" and node in run.reported_elsewhere):
                continue
            if sql.startswith("SELECT COUNT(*) FROM "):
                self.queries.setdefault(sql, []).append((node, port))
        self.ports = list(self.queries.values())
        self.rows: dict[tuple[str, str, int], int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add_to(self, statements: Any) -> None:
        """Add the counting queries and their sink to the run's statement set."""
        from pyflink.table import FormatDescriptor, Schema, TableDescriptor

        if not self.queries:
            return
        t_env = self.run.t_env
        parts = []
        for index, sql in enumerate(self.queries):
            # Names with a leading `$`: no node id (nor `<id>$<port>`) can be one.
            view = f"$counted{index}"
            rows = t_env.sql_query("SELECT PROCTIME() AS `$at` " + sql[len("SELECT COUNT(*) ") :])
            t_env.create_temporary_view(f"`{view}`", rows)
            parts.append(
                f"SELECT {index}, UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')), COUNT(*)"
                f" FROM TABLE(TUMBLE(TABLE `{view}`, DESCRIPTOR(`$at`), INTERVAL '{self.seconds}' SECOND))"
                " GROUP BY `window_start`, `window_end`"
            )
        schema = Schema.new_builder().column("query", "INT").column("start", "BIGINT").column("n", "BIGINT").build()
        sink = (
            TableDescriptor.for_connector("filesystem")
            .schema(schema)
            .option("path", self.folder)
            # Small files rolled every second; each is made visible by the next checkpoint.
            .option("sink.rolling-policy.rollover-interval", "1 s")
            .option("sink.rolling-policy.check-interval", "1 s")
            .format(FormatDescriptor.for_format("csv").build())
            .build()
        )
        statements.add_insert(sink, t_env.sql_query(" UNION ALL ".join(parts)))

    def __enter__(self) -> _StreamCounts:
        if self.queries:
            self._thread = threading.Thread(target=self._follow, name="studio-stream-counts", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._read_new_or_warn()  # what the last checkpoint made visible

    def _follow(self) -> None:
        while not self._stop.wait(1.0) and self._read_new_or_warn():
            pass

    def _read_new_or_warn(self) -> bool:
        try:
            self._read_new()
        except (OSError, ValueError) as error:  # the job goes on (or ends as it would); say why
            print(f"WARNING: the run's row counts could not be read: {error}", flush=True)
            return False
        return True

    def _read_new(self) -> None:
        names = sorted(os.listdir(self.folder)) if os.path.isdir(self.folder) else []
        found = []
        for name in names:
            if not _visible(name):
                continue  # in-progress files are hidden until a checkpoint commits them
            path = os.path.join(self.folder, name)
            with open(path, newline="", encoding="utf-8") as handle:
                found += [(int(start), int(query), int(n)) for query, start, n in csv.reader(handle)]
            os.remove(path)  # printed once: the folder may outlive the run (see stream_counts_folder)
        for start, query, n in sorted(found):
            # Windows restored from the state of an earlier run fall in batch 0, added up.
            batch = max(0, start // self.seconds - self.first)
            for node, port in self.ports[query]:
                key = (node, port, batch)
                self.rows[key] = self.rows.get(key, 0) + n
                _metric({"node": node, "port": port, "rows": self.rows[key], "batch": batch,
                         "duration_ms": self.seconds * 1000})  # fmt: skip


# Values for staged JSON -------------------------------------------------------------------------


def _json_column(array: Any, studio_type: str, pc: Any) -> list[Any]:
    """One parquet column as JSON values Flink reads back exactly (see parquet())."""
    import pyarrow as pa

    kind = array.type
    if studio_type == "timestamp":
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            array = array.cast(pa.timestamp(kind.unit, tz="UTC"))
            array = pc.local_timestamp(array)
        if pa.types.is_timestamp(kind):
            array = array.cast(pa.timestamp("us"))
            return pc.strftime(array, format="%Y-%m-%d %H:%M:%S").to_pylist()
        return array.cast(pa.string()).to_pylist()
    if studio_type in ("date", "string") or studio_type.startswith("decimal"):
        if pa.types.is_decimal(kind):
            return [None if v is None else format(v, "f") for v in array.to_pylist()]
        return array.cast(pa.string()).to_pylist()
    if studio_type in ("float", "double"):
        return [_finite(v) for v in array.to_pylist()]
    if studio_type == "binary":
        return [None if v is None else base64.b64encode(v).decode("ascii") for v in array.to_pylist()]
    return array.to_pylist()


def _finite(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


# Committing staged sinks --------------------------------------------------------------------------


def _staged_files(folder: str) -> list[tuple[str, str]]:
    """(relative folder, file) of each staged part file, in task and file order."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if _visible(d))
        for name in files:
            if _visible(name):
                found.append((os.path.relpath(root, folder), name))

    def order(item: tuple[str, str]) -> tuple[str, int, int, str]:
        match = _PART.search(item[1])
        return (item[0], int(match.group(1)), int(match.group(2)), item[1]) if match else (item[0], 0, 0, item[1])

    return sorted(found, key=order)


def _commit(sink: dict[str, Any]) -> None:
    """Turn a staged folder into the sink's output, then replace or join the target folder."""
    staging, target, file_format = sink["staging"], sink["target"], sink["format"]
    os.makedirs(staging, exist_ok=True)
    ready = staging + ".ready"
    os.makedirs(ready)
    run_id = uuid.uuid4().hex[:12]
    data_columns = [c for c in sink["columns"] if c[0] not in sink["partition_by"]]
    staged = _staged_files(staging)
    for index, (folder, name) in enumerate(staged):
        destination = os.path.join(ready, folder, f"part-{index:05d}-{run_id}{_EXTENSIONS[file_format]}")
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        source = os.path.join(staging, folder, name)
        if file_format == "csv":
            with open(destination, "w", encoding="utf-8", newline="") as out, open(source, encoding="utf-8", newline="") as data:
                out.write(",".join(c[0] for c in data_columns) + "\n")
                shutil.copyfileobj(data, out)
        elif file_format == "parquet":
            _json_to_parquet(source, destination, data_columns)
        else:
            os.rename(source, destination)
    if file_format == "parquet" and not staged:
        _json_to_parquet(None, os.path.join(ready, f"part-00000-{run_id}.parquet"), data_columns)
    shutil.rmtree(staging)
    if sink["mode"] == "overwrite" or not os.path.exists(target):
        old = staging + ".old"
        if os.path.exists(target):
            os.rename(target, old)
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        os.rename(ready, target)
        shutil.rmtree(old, ignore_errors=True)
        return
    for root, _, files in os.walk(ready):
        for name in files:
            relative = os.path.relpath(os.path.join(root, name), ready)
            os.makedirs(os.path.dirname(os.path.join(target, relative)), exist_ok=True)
            os.rename(os.path.join(root, name), os.path.join(target, relative))
    shutil.rmtree(ready)


def _arrow_type(studio_type: str) -> Any:
    import pyarrow as pa

    if studio_type.startswith("decimal("):
        precision, scale = studio_type[8:-1].split(",")
        return pa.decimal128(int(precision), int(scale))
    return {
        "string": pa.string(),
        "boolean": pa.bool_(),
        "int": pa.int32(),
        "bigint": pa.int64(),
        "float": pa.float32(),
        "double": pa.float64(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "binary": pa.binary(),
        "array<string>": pa.list_(pa.string()),
    }[studio_type]


_TEXT_STAGED = ("date", "timestamp", "float", "double", "binary")


def _json_to_parquet(source: str | None, destination: str, columns: list[tuple[str, str, str, bool]]) -> None:
    """A staged JSON-lines file (decimals, floats, dates and timestamps as text, binary as base64)
    -> one parquet file with the inferred schema. One staged file is at most the rolling size."""
    import pyarrow as pa
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field(n, _arrow_type(t), nullable) for n, _, t, nullable in columns])
    if source is None or os.path.getsize(source) == 0:
        pq.write_table(schema.empty_table(), destination)
        return
    read_schema = pa.schema(
        [
            pa.field(n, pa.string() if t in _TEXT_STAGED or t.startswith("decimal") else _arrow_type(t))
            for n, _, t, _ in columns
        ]
    )
    table = pj.read_json(
        source,
        parse_options=pj.ParseOptions(explicit_schema=read_schema, unexpected_field_behavior="error"),
    )
    arrays = []
    for field in schema:
        column = table.column(field.name)
        studio_type = next(t for n, _, t, _ in columns if n == field.name)
        if studio_type == "binary":
            values = [None if v is None else base64.b64decode(v) for v in column.to_pylist()]
            arrays.append(pa.array(values, pa.binary()))
        elif studio_type == "timestamp":
            arrays.append(column.cast(pa.timestamp("us")).cast(field.type))
        else:
            arrays.append(column.cast(field.type))
    pq.write_table(pa.table(arrays, schema=schema), destination)
