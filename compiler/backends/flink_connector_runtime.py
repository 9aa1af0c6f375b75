# Runtime support for Kafka and Iceberg nodes in generated Flink jobs. The Flink back end copies the
# part of this module below the marker line, unchanged, after flink_runtime.py into every Flink job
# that has such nodes (compiler/backends/flink_connectors.py). It runs in the Flink virtual
# environment and starts the studio's connector processes (runners/connectors) with the studio's
# own interpreter, $STUDIO_CONNECTOR_PYTHON, which the runner sets.
from __future__ import annotations

import json
import os
import shutil
from typing import Any

from compiler.backends.flink_runtime import StudioRun

# The job's copy of flink_runtime.py imports json, os, shutil and Any; anything else is imported
# where it is used.

# ---- copied into jobs below this line ----

LANDING_NULL = "\\N"  # NULL in the Kafka bridge's landing files: runners/connectors/codec.py LANDING_NULL


class StudioConnectorRun(StudioRun):
    """A StudioRun whose Kafka and Iceberg nodes go through the studio's connector processes.

    - source.kafka: `kafka_bridge drain` lands the topic in a folder as CSV, exactly once (the
      offsets are in the file names); Flink's filesystem source reads the folder. Batch: drained up to the
      topic's end before the job starts. Streaming: drained all along, the folder watched.
    - sink.kafka: Flink writes JSON lines into an outbox folder; `kafka_bridge publish` sends every
      line exactly once. Batch: after the job succeeded. Streaming: as Flink commits its files.
    - sink.iceberg: Flink writes JSON lines into a staging folder; `iceberg_commit` commits them to
      the table idempotently. Batch: in one commit after the job succeeded. Streaming: as Flink
      commits its files (on checkpoints).

    Streaming runs keep these folders and Flink's checkpoints in the pipeline's state folder
    ($STUDIO_CHECKPOINT_DIR, else ./_checkpoints/<pipeline>) and restore from the newest complete
    checkpoint, so a run restarted after a crash neither loses nor repeats a row. A connector
    process that stops stops the run. Malformed Kafka records go to ./dead_letter/<pipeline>/<node>.
    """

    def __init__(
        self, t_env: Any, pipeline: str, *, state: str, streaming: bool = False, stop_after: float | None = None
    ) -> None:
        super().__init__(t_env, pipeline, streaming=streaming, stop_after=stop_after)
        self.state = os.path.abspath(os.environ.get("STUDIO_CHECKPOINT_DIR") or os.path.join("_checkpoints", state))
        self.dead_letters = os.path.abspath(os.path.join("dead_letter", state))
        self.followers: list[tuple[str, str, list[str]]] = []  # (what, module, arguments): streaming
        self.finishers: list[tuple[str, str, list[str]]] = []  # run once the job succeeded (batch)
        self.children: list[tuple[str, Any]] = []

    # Set-up and clean-up ----------------------------------------------------------------------
    def __enter__(self) -> StudioConnectorRun:
        if self.streaming:
            config = self.t_env.get_config()
            interval = os.environ.get("STUDIO_FLINK_CHECKPOINT_INTERVAL", "")
            if interval and not config.get("execution.checkpointing.interval", ""):
                config.set("execution.checkpointing.interval", interval)
            if not config.get("execution.checkpointing.dir", ""):
                # Not a deployment whose checkpoints the runner manages: keep them with the connector
                # folders, and restore from the newest, which the folders' contents belong to.
                checkpoints = os.path.join(self.state, "flink-checkpoints")
                config.set("execution.checkpointing.dir", "file://" + checkpoints)
                config.set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
                config.set("execution.checkpointing.num-retained", "2")
                latest = _latest_checkpoint(checkpoints)
                if latest:
                    print(f"Restoring the Flink job from its checkpoint {latest}", flush=True)
                    config.set("execution.state-recovery.path", "file://" + latest)
                    config.set("execution.state-recovery.ignore-unclaimed-state", "true")
        super().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._stop_children()
        finally:
            super().__exit__(*exc_info)

    def stream_counts_folder(self) -> str:
        return os.path.join(self.state, "studio-counts")  # with the checkpoints it belongs to

    def _folder(self, node: str, kind: str) -> str:
        """A node's landing/outbox/staging folder: kept across runs when streaming, per run in batch."""
        folder = os.path.join(self.state, node, kind) if self.streaming else os.path.join(self.scratch, f"{node}-{kind}")
        os.makedirs(folder, exist_ok=True)
        return folder

    # Sources ----------------------------------------------------------------------------------
    def kafka_source(
        self,
        name: str,
        *,
        node: str,
        topic: str,
        value_format: str,
        schema: str,
        starting_offsets: str,
        columns: list[tuple[str, str]],
        computed: list[tuple[str, str]] = (),  # type: ignore[assignment]
        watermark: tuple[str, str] | None = None,
        connection_variable: str = "",
    ) -> None:
        """A filesystem table over the folder the Kafka bridge lands `topic` in (CSV lines in the
        node's columns, as runners/connectors/codec.py LandingCsvEncoder writes them). `schema`: the
        row image's columns, JSON.
        `connection_variable`: the environment variable holding a stored connection, if any."""
        landing = self._folder(node, "landing")
        arguments = [
            "drain", "--topic", topic, "--format", value_format, "--schema", schema, "--landing", landing,
            "--dead-letter", os.path.join(self.dead_letters, node), "--starting-offsets", starting_offsets,
            *_connection(connection_variable),
        ]  # fmt: skip
        what = f"Kafka bridge of node '{node}'"
        if self.streaming:
            # It prints the node's rows and lag per drain cycle: the run's throughput and lag charts.
            self._start(what, "runners.connectors.kafka_bridge", [*arguments, "--node", node])
            self.reported_elsewhere.add(node)  # the bridge prints the node's rows: the job does not count them again
        else:
            self._run(what, "runners.connectors.kafka_bridge", [*arguments, "--until-caught-up"])
        # No "ignore-parse-errors", not even "false": Flink 2.2 then ignores parse errors (NULLs).
        options = {"null-literal": LANDING_NULL}
        self.files(name, landing, "csv", columns, options, computed=computed, watermark=watermark)

    # Sinks ------------------------------------------------------------------------------------
    def kafka_sink(
        self,
        node: str,
        count: str,
        sql: str,
        *,
        topic: str,
        key_columns: list[str],
        columns: list[tuple[str, str]],
        connection_variable: str = "",
    ) -> None:
        """Rows as JSON lines in an outbox folder, each sent to `topic` once by the publisher."""
        outbox = self._folder(node, "outbox")
        self._stage(node, count, sql, outbox, columns, ignore_null_fields=False)
        arguments = ["publish", "--outbox", outbox, "--topic", topic, "--key-columns", json.dumps(key_columns),
                     *_connection(connection_variable)]  # fmt: skip
        self._after(f"Kafka publisher of node '{node}'", "runners.connectors.kafka_bridge", arguments,
                    once=["--until-idle", "0"])  # fmt: skip

    def iceberg_sink(
        self,
        node: str,
        count: str,
        sql: str,
        *,
        table: str,
        mode: str,
        keys: list[str],
        partition_by: str,
        create_if_missing: bool,
        schema: str,
        columns: list[tuple[str, str]],
    ) -> None:
        """Rows as JSON lines in a staging folder, committed into `table` by the committer.
        `schema`: the rows' columns, JSON; `partition_by`: the table's partitioning, JSON."""
        staging = self._folder(node, "staging")
        self._stage(node, count, sql, staging, columns, ignore_null_fields=True)
        arguments = [
            "--staging", staging, "--table", table, "--mode", mode, "--keys", json.dumps(keys), "--schema", schema,
            "--partition-by", partition_by, *([] if create_if_missing else ["--no-create"]),
        ]  # fmt: skip
        self._after(f"Iceberg committer of node '{node}'", "runners.connectors.iceberg_commit", arguments,
                    following=["--watch"])  # fmt: skip

    def _stage(
        self, node: str, count: str, sql: str, folder: str, columns: list[tuple[str, str]], *, ignore_null_fields: bool
    ) -> None:
        from pyflink.table import FormatDescriptor, Schema, TableDescriptor

        schema = Schema.new_builder()
        for column, type_sql in columns:
            schema = schema.column(column, type_sql)
        fmt = (
            FormatDescriptor.for_format("json")
            .option("encode.ignore-null-fields", "true" if ignore_null_fields else "false")
            .option("encode.decimal-as-plain-number", "true")
            .build()
        )
        descriptor = TableDescriptor.for_connector("filesystem").schema(schema.build()).option("path", folder)
        if self.streaming:
            # Part files roll every second; Flink makes them visible when a checkpoint completes.
            descriptor = descriptor.option("sink.rolling-policy.rollover-interval", "1 s").option(
                "sink.rolling-policy.check-interval", "1 s"
            )
        self.statements.append((descriptor.format(fmt).build(), self.t_env.sql_query(sql)))
        if count:
            self.metrics.append((node, "in", "", count))

    def _after(
        self, what: str, module: str, arguments: list[str], *, once: list[str] = (), following: list[str] = ()  # type: ignore[assignment]
    ) -> None:
        """A connector process that delivers a sink's files: alongside a streaming job, or once
        after a batch job succeeded."""
        if self.streaming:
            self.followers.append((what, module, [*arguments, *following]))
        else:
            self.finishers.append((what, module, [*arguments, *once]))

    # Running ----------------------------------------------------------------------------------
    def execute(self) -> None:
        if not self.streaming:
            super().execute()
            for what, module, arguments in self.finishers:
                self._run(what, module, arguments)
            return
        for what, module, arguments in self.followers:
            self._start(what, module, arguments)
        super().execute()

    def _wait_streaming(self, result: Any) -> None:
        """Wait for the job, for `stop_after` seconds at most; stop it when a connector process stops."""
        import time

        deadline = None if self.stop_after is None else time.monotonic() + self.stop_after
        while True:
            try:
                result.wait(1000)
                return  # the job finished (or failed: wait raised)
            except Exception as error:
                if "TimeoutException" not in str(error):
                    raise
            stopped = [(what, child.returncode) for what, child in self.children if child.poll() is not None]
            if stopped or (deadline is not None and time.monotonic() > deadline):
                result.get_job_client().cancel().result()
                if stopped:
                    what, code = stopped[0]
                    raise RuntimeError(f"The {what} stopped (exit code {code}); the run is stopped. See its output above.")
                self._deliver_the_rest()
                return

    def _deliver_the_rest(self) -> None:
        """After a streaming job was stopped on purpose: stop the followers, then let each sink's
        process deliver what Flink committed up to the end."""
        self._stop_children()
        for what, module, arguments in self.followers:
            delivering = [a for a in arguments if a != "--watch"]
            if module.endswith("kafka_bridge"):
                delivering += ["--until-idle", "0"]
            self._run(what, module, delivering)

    # Connector processes ------------------------------------------------------------------------
    @staticmethod
    def _command(module: str, arguments: list[str]) -> list[str]:
        python = os.environ.get("STUDIO_CONNECTOR_PYTHON", "")
        if not python:
            raise RuntimeError(
                "Kafka and Iceberg nodes on Flink run the studio's connector processes: set STUDIO_CONNECTOR_PYTHON to "
                "the studio's Python interpreter (the studio's runner does)."
            )
        return [python, "-m", module, *arguments]

    def _start(self, what: str, module: str, arguments: list[str]) -> None:
        import subprocess

        # Same process group as the job: stopping the run (or a crash of the machine) stops them too.
        child = subprocess.Popen(self._command(module, arguments), stdin=subprocess.DEVNULL)
        self.children.append((what, child))

    def _run(self, what: str, module: str, arguments: list[str]) -> None:
        import subprocess
        import sys

        sys.stdout.flush()
        code = subprocess.run(self._command(module, arguments), stdin=subprocess.DEVNULL, check=False).returncode
        if code != 0:
            raise RuntimeError(f"The {what} failed (exit code {code}); see its output above.")

    def _stop_children(self) -> None:
        import subprocess

        for _, child in self.children:
            if child.poll() is None:
                child.terminate()
        for _, child in self.children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.children = []


def _connection(variable: str) -> list[str]:
    return ["--connection-variable", variable] if variable else []


def _latest_checkpoint(folder: str) -> str:
    """The newest complete checkpoint (one with `_metadata`) under `folder`, or ''. Checkpoints of
    older runs of the job are removed once a newer one exists."""
    found = []
    if os.path.isdir(folder):
        for job in os.listdir(folder):
            for name in os.listdir(os.path.join(folder, job)) if os.path.isdir(os.path.join(folder, job)) else ():
                metadata = os.path.join(folder, job, name, "_metadata")
                if name.startswith("chk-") and os.path.isfile(metadata):
                    found.append((os.path.getmtime(metadata), job, os.path.join(folder, job, name)))
    if not found:
        return ""
    _, job, latest = max(found)
    for other in os.listdir(folder):
        if other != job:
            shutil.rmtree(os.path.join(folder, other), ignore_errors=True)
    return latest
