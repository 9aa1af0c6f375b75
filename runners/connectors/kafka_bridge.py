"""Kafka <-> folders for Flink, which has no Kafka connector without a JAR. Runs in the main venv.

`drain`: Kafka topic -> landing folder, exactly once.
    Each file holds one partition's records for the offsets [from, to) and is named
    `<topic>+<partition>+<from>+<to>.csv` (offsets zero-padded to 20 digits). It is written to
    `<landing>/_inflight/`, fsynced, then renamed into the landing folder in one step, so Flink's
    filesystem source (which skips names starting with `_` or `.`) sees whole files only, and the
    offsets a file covers are committed by the same rename that publishes its rows. On start the
    bridge resumes each partition at the highest `to` in the file names (or in
    `_offsets/<topic>+<partition>`, written after each rename, which survives clean-up of old
    landing files): no gap, no duplicate. Rows are CSV lines in the node's schema (`json` or
    `debezium-json` decoding, `_op`/`_ts` for the latter), as codec.LandingCsvEncoder writes them
    for Flink's `csv` format (CSV, not JSON lines: see that class for the Flink bug); malformed records go to the dead-letter
    folder, one file per range, before the range's data file is published. With `--node`, the
    bridge prints the runner's metric lines for that node: when it starts (batch 0) its lag, and
    after each drain cycle that landed files (batches 1, 2, ...) the rows it landed and its lag:
    the topic's high watermarks minus the offsets landed, summed over the partitions.

`publish`: outbox folder (files Flink's filesystem sink committed) -> Kafka topic, exactly once.
    Files are sent one after the other (oldest first), lines in file order, with an idempotent
    producer (no duplicates or reordering within a partition while it runs). Every message carries
    headers `studio-outbox` (the follower id), `studio-file` and `studio-line`. Every
    `--lines-per-flush` lines the follower flushes and records a barrier in
    `<outbox>/_state/<follower>.json` (atomically): the file, the line below which everything is
    delivered, and each partition's end offset. A finished file is moved to `<outbox>/_published/`.
    After a crash the follower reads the topic back from the recorded offsets, collects the lines of
    the current file its previous incarnation delivered after the barrier, and sends only the
    missing ones. So every line of every committed file reaches the topic exactly once, for every
    consumer (read_committed or not, no transactions involved); in each partition lines keep file
    and line order (a partition's delivered lines are always a prefix, so the re-sent ones follow
    them). It assumes nothing else writes messages with this follower's id, and that a killed
    follower's last requests have reached the broker (or been dropped) by the time it restarts.

    python -m runners.connectors.kafka_bridge drain --topic T --format debezium-json \
        --schema '[{"name": "id", "type": "bigint"}]' --landing DIR [--dead-letter DIR] [--node NODE]
    python -m runners.connectors.kafka_bridge publish --outbox DIR --topic T [--key-columns '["id"]']
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runners.connectors.codec import FORMATS, Decoder, LandingCsvEncoder
from runners.connectors.columns import parse_schema, with_cdc_columns
from runners.connectors.config import CONNECTION_OPTION, kafka_config
from runners.connectors.files import dead_letter_record, fsync_dir, json_lines, write_atomic
from runners.connectors.kafka_io import consumer, dead_letter_location, lag_behind, partition_ids, watermarks
from runners.output import metric_line

__all__ = ["Drainer", "Publisher", "landing_positions", "main"]

log = logging.getLogger("studio.connectors.bridge")

_LANDED = re.compile(r"(?P<topic>.+)\+(?P<partition>\d+)\+(?P<start>\d{20})\+(?P<end>\d{20})\.csv")
INFLIGHT = "_inflight"
OFFSETS = "_offsets"
PUBLISHED = "_published"
STATE = "_state"
HEADER_FOLLOWER = "studio-outbox"
HEADER_FILE = "studio-file"
HEADER_LINE = "studio-line"


def landed_name(topic: str, partition: int, start: int, end: int) -> str:
    return f"{topic}+{partition}+{start:020d}+{end:020d}.csv"


def landing_positions(landing: Path, topic: str) -> dict[int, int]:
    """Next offset per partition, from the landed file names and the offsets folder."""
    positions: dict[int, int] = {}
    if landing.is_dir():
        for path in landing.iterdir():
            match = _LANDED.fullmatch(path.name)
            if match and match.group("topic") == topic:
                p = int(match.group("partition"))
                positions[p] = max(positions.get(p, 0), int(match.group("end")))
    offsets = landing / OFFSETS
    if offsets.is_dir():
        for path in offsets.iterdir():
            name, _, p = path.name.rpartition("+")
            if name == topic and p.isdigit():
                try:
                    value = int(path.read_text().strip())
                except (OSError, ValueError):
                    continue
                positions[int(p)] = max(positions.get(int(p), 0), value)
    return positions


@dataclass
class _Pending:
    start: int
    values: list[bytes | None] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    keys: list[bytes | None] = field(default_factory=list)
    first_at: float = 0.0


class Drainer:
    """Drains one topic into a landing folder; see the module docstring for the guarantee."""

    def __init__(
        self,
        *,
        topic: str,
        fmt: str,
        schema: Any,
        landing: Path,
        dead_letter: Path | None = None,
        starting_offsets: str = "earliest",
        max_records_per_file: int = 50_000,
        max_file_seconds: float = 2.0,
        options: dict[str, Any] | None = None,
        node: str = "",
    ) -> None:
        fields = parse_schema(schema)
        if fmt == "debezium-json":
            fields = with_cdc_columns(fields)
        self.topic = topic
        self.decoder = Decoder(fields, fmt)
        self.encoder = LandingCsvEncoder(fields)
        self.landing = landing
        self.dead_letter = dead_letter or landing.parent / f"{landing.name}_dead_letter"
        self.starting_offsets = starting_offsets
        self.max_records = max_records_per_file
        self.max_seconds = max_file_seconds
        self.options = options or {}
        self.stats = {"files": 0, "rows": 0, "malformed": 0, "tombstones": 0}
        self.node = node  # the pipeline node whose metrics are printed; "": none
        self._cycle = 0
        self._stop = False

    def stop(self, *_: Any) -> None:
        self._stop = True

    def _report(self, client: Any, positions: dict[int, int], *, rows: int | None) -> None:
        """With a node: print this cycle's rows landed (none at the start) and the lag left behind,
        as the metric lines the runner reads (the run page's throughput and lag charts)."""
        if not self.node:
            return
        lag = lag_behind(watermarks(client, self.topic, sorted(positions)), positions)
        batch = {"node": self.node, "batch": self._cycle}
        if rows is not None:
            print(metric_line({**batch, "port": "out", "rows": rows}), flush=True)
        print(metric_line({**batch, "lag": lag}), flush=True)
        self._cycle += 1

    def _initial_positions(self, client: Any) -> dict[int, int]:
        known = landing_positions(self.landing, self.topic)
        partitions = partition_ids(client, self.topic)
        marks = watermarks(client, self.topic, [p for p in partitions if p not in known])
        for p, (low, high) in marks.items():
            known[p] = low if self.starting_offsets == "earliest" else high
            # Remember where a partition starts before anything landed, so a restart cannot move it.
            self._write_offset(p, known[p])
        return known

    def _write_offset(self, partition: int, position: int) -> None:
        write_atomic(str(self.landing / OFFSETS / f"{self.topic}+{partition}"), str(position).encode())

    def _flush(self, partition: int, pending: _Pending, end: int) -> None:
        """Publish [pending.start, end) as one landing file (dead letters first)."""
        result = self.decoder.decode(pending.values)
        if result.failures:
            records = [
                dead_letter_record(
                    topic=self.topic, partition=partition, offset=pending.offsets[i], value=pending.values[i],
                    key=pending.keys[i], error=reason,
                )
                for i, reason in result.failures
            ]
            write_atomic(
                dead_letter_location(str(self.dead_letter), self.topic, partition, pending.start, end),
                json_lines(records),
            )
        lines = self.encoder.encode(result.batch)
        body = b"".join(line + b"\n" for line in lines)
        name = landed_name(self.topic, partition, pending.start, end)
        inflight = self.landing / INFLIGHT
        inflight.mkdir(parents=True, exist_ok=True)
        partial = inflight / f"{name}.{uuid.uuid4().hex}.tmp"
        with open(partial, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.landing / name)  # the commit point: rows and offsets together
        fsync_dir(self.landing)
        self._write_offset(partition, end)
        self.stats["files"] += 1
        self.stats["rows"] += result.batch.num_rows
        self.stats["malformed"] += len(result.failures)
        self.stats["tombstones"] += result.tombstones

    def run(self, *, until_caught_up: bool = False, poll_timeout: float = 0.5) -> dict[str, int]:
        """Drain until stopped (or, with `until_caught_up`, until every partition is at its end)."""
        from confluent_kafka import KafkaError, KafkaException, TopicPartition

        self.landing.mkdir(parents=True, exist_ok=True)
        for stale in (self.landing / INFLIGHT).glob("*.tmp") if (self.landing / INFLIGHT).is_dir() else ():
            stale.unlink(missing_ok=True)  # half-written files of a crashed run: never published
        client = consumer(self.options)
        try:
            positions = self._initial_positions(client)
            client.assign([TopicPartition(self.topic, p, o) for p, o in sorted(positions.items())])
            self._report(client, positions, rows=None)
            pending: dict[int, _Pending] = {}
            at_end: set[int] = set()
            last_metadata = time.monotonic()
            while not self._stop:
                files, rows = self.stats["files"], self.stats["rows"]
                messages = client.consume(num_messages=10_000, timeout=poll_timeout)
                now = time.monotonic()
                for message in messages:
                    error = message.error()
                    p = message.partition()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            at_end.add(p)
                            continue
                        raise KafkaException(error)
                    at_end.discard(p)
                    offset = message.offset()
                    if offset < positions[p]:
                        continue
                    batch = pending.get(p)
                    if batch is None:
                        batch = pending[p] = _Pending(start=positions[p], first_at=now)
                    batch.values.append(message.value())
                    batch.offsets.append(offset)
                    batch.keys.append(message.key())
                    if len(batch.values) >= self.max_records:
                        self._flush(p, batch, offset + 1)
                        positions[p] = offset + 1
                        del pending[p]
                for p, batch in list(pending.items()):
                    if now - batch.first_at >= self.max_seconds or p in at_end:
                        end = batch.offsets[-1] + 1
                        self._flush(p, batch, end)
                        positions[p] = end
                        del pending[p]
                if now - last_metadata > 10:
                    last_metadata = now
                    new = [p for p in partition_ids(client, self.topic) if p not in positions]
                    if new:
                        for p, (low, _high) in watermarks(client, self.topic, new).items():
                            positions[p] = low
                            self._write_offset(p, low)
                        client.assign([TopicPartition(self.topic, p, o) for p, o in sorted(positions.items())])
                if self.stats["files"] > files:
                    self._report(client, positions, rows=self.stats["rows"] - rows)
                if until_caught_up and not pending and at_end >= set(positions):
                    break
            # A clean stop leaves nothing half done: what was read but not landed is read again next time.
        finally:
            client.close()
        return dict(self.stats)


class Publisher:
    """Publishes the lines of committed outbox files to a topic; see the module docstring."""

    def __init__(
        self,
        *,
        outbox: Path,
        topic: str,
        key_columns: list[str] | None = None,
        follower_id: str | None = None,
        lines_per_flush: int = 10_000,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.outbox = outbox
        self.topic = topic
        self.key_columns = key_columns or []
        digest = hashlib.sha1(f"{outbox.resolve()}|{topic}".encode()).hexdigest()[:16]
        self.follower_id = follower_id or f"studio-outbox-{digest}"
        self.state_path = outbox / STATE / f"{self.follower_id}.json"
        self.lines_per_flush = lines_per_flush
        self.options = options or {}
        self.stats = {"files": 0, "lines": 0, "repaired": 0}
        self._stop = False
        self._producer: Any = None
        self._errors: list[str] = []
        self._offsets: dict[int, int] = {}

    def stop(self, *_: Any) -> None:
        self._stop = True

    # -- state: the barrier below which every line of the current file is known to be delivered --

    def _load_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return None

    def _save_state(self, file: str | None, barrier: int, done: bool) -> None:
        state = {"file": file, "barrier": barrier, "done": done, "offsets": {str(p): o for p, o in self._offsets.items()}}
        write_atomic(str(self.state_path), json.dumps(state).encode())

    def _producer_ready(self) -> Any:
        if self._producer is None:
            from confluent_kafka import Producer

            def on_delivery(error: Any, message: Any) -> None:
                if error is not None:
                    self._errors.append(f"{message.topic()}[{message.partition()}]: {error}")
                else:
                    p = message.partition()
                    self._offsets[p] = max(self._offsets.get(p, 0), message.offset() + 1)

            config = kafka_config(
                self.options,
                **{"enable.idempotence": True, "linger.ms": 20, "batch.num.messages": 10_000,
                   "on_delivery": on_delivery},
            )
            self._producer = Producer(config)
        return self._producer

    def _end_offsets(self) -> dict[int, int]:
        client = consumer(self.options)
        try:
            # A producer's metadata request creates the topic where the broker auto-creates topics.
            self._producer_ready().list_topics(self.topic, timeout=30)
            return {p: high for p, (_low, high) in watermarks(client, self.topic, partition_ids(client, self.topic)).items()}
        finally:
            client.close()

    def _delivered_since(self, file: str, offsets: dict[int, int]) -> set[int]:
        """Line numbers of `file` that this follower's messages after `offsets` carry."""
        from confluent_kafka import TopicPartition

        client = consumer(self.options)
        found: set[int] = set()
        try:
            ends = watermarks(client, self.topic, partition_ids(client, self.topic))
            for p, (low, high) in ends.items():
                start = max(offsets.get(p, low), low)
                if start >= high:
                    continue
                for values, _offsets, _keys, headers in _read_with_headers(client, self.topic, p, start, high):
                    for header in headers:
                        if header.get(HEADER_FOLLOWER) == self.follower_id and header.get(HEADER_FILE) == file:
                            found.add(int(header[HEADER_LINE]))
                    del values
        finally:
            client.close()
        return found

    def _key(self, line: bytes) -> bytes | None:
        if not self.key_columns:
            return None
        row = json.loads(line)
        return json.dumps({c: row.get(c) for c in self.key_columns}, separators=(",", ":"), ensure_ascii=False).encode()

    def _pending_files(self) -> list[Path]:
        if not self.outbox.is_dir():
            return []
        files = [
            p for p in self.outbox.rglob("*")
            if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(self.outbox).parts)
        ]
        return sorted(files, key=lambda p: (p.stat().st_mtime_ns, str(p)))

    def _finish(self, path: Path) -> None:
        target = self.outbox / PUBLISHED / path.relative_to(self.outbox)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        fsync_dir(path.parent)
        self.stats["files"] += 1

    def _flush(self) -> None:
        producer = self._producer_ready()
        remaining = producer.flush(120)
        if self._errors:
            raise RuntimeError(f"Kafka rejected {len(self._errors)} message(s), first: {self._errors[0]}")
        if remaining:
            raise TimeoutError(f"{remaining} message(s) were not delivered within 120 s.")

    def _publish(self, path: Path, start: int, skip: set[int] | None = None) -> None:
        """Send lines [start, end) of one file, flushing and recording a barrier every chunk."""
        producer = self._producer_ready()
        name = str(path.relative_to(self.outbox))
        lines = path.read_bytes().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        self._save_state(name, start, False)
        position = start
        while position < len(lines):
            end = min(position + self.lines_per_flush, len(lines))
            for number in range(position, end):
                line = lines[number]
                if skip and number in skip:
                    continue
                if not line.strip():
                    continue
                headers = [(HEADER_FOLLOWER, self.follower_id.encode()), (HEADER_FILE, name.encode()),
                           (HEADER_LINE, str(number).encode())]
                while True:
                    try:
                        producer.produce(self.topic, value=line, key=self._key(line), headers=headers)
                        break
                    except BufferError:
                        producer.poll(0.05)
                producer.poll(0)
                self.stats["lines"] += 1
            self._flush()
            self._save_state(name, end, end == len(lines))
            position = end
        self._save_state(name, len(lines), True)
        self._finish(path)

    def recover(self) -> None:
        """Repair what a crashed incarnation left: send the missing lines of its current chunk."""
        state = self._load_state()
        if state is None:
            # Nothing was ever sent: remember where the topic ends, so a crash before the first
            # barrier can be repaired by reading from here.
            self._offsets = self._end_offsets()
            self._save_state(None, 0, True)
            return
        self._offsets = {int(p): int(o) for p, o in state["offsets"].items()}
        file = state["file"]
        if file is None:
            return
        path = self.outbox / file
        if not path.exists():
            return  # finished and moved before the crash
        if state["done"]:
            self._finish(path)
            return
        delivered = self._delivered_since(file, self._offsets)
        self.stats["repaired"] += len(delivered)
        self._publish(path, int(state["barrier"]), skip=delivered)

    def run(self, *, until_idle: float | None = None, poll_interval: float = 0.5) -> dict[str, int]:
        try:
            self.recover()
            idle_since = time.monotonic()
            while not self._stop:
                files = self._pending_files()
                if not files:
                    if until_idle is not None and time.monotonic() - idle_since >= until_idle:
                        break
                    time.sleep(poll_interval)
                    continue
                for path in files:
                    if self._stop:
                        break
                    self._publish(path, 0)
                idle_since = time.monotonic()
        finally:
            if self._producer is not None:
                self._producer.flush(30)
                self._producer = None
        return dict(self.stats)


def _read_with_headers(client: Any, topic: str, partition: int, start: int, end: int) -> Any:
    """Like kafka_io.read_range, with each message's headers as a dict of text."""
    from confluent_kafka import KafkaError, KafkaException, TopicPartition

    client.assign([TopicPartition(topic, partition, start)])
    position = start
    deadline = time.monotonic() + 120
    try:
        while position < end:
            messages = client.consume(num_messages=10_000, timeout=1.0)
            if not messages and time.monotonic() > deadline:
                raise TimeoutError(f"could not read back {topic}[{partition}] offsets [{position}, {end})")
            values, offsets, keys, headers = [], [], [], []
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        if message.offset() >= end:
                            position = end
                        continue
                    raise KafkaException(error)
                if message.offset() >= end:
                    position = end
                    break
                values.append(message.value())
                offsets.append(message.offset())
                keys.append(message.key())
                headers.append({k: (v.decode() if v is not None else None) for k, v in (message.headers() or [])})
                position = message.offset() + 1
            if values:
                yield values, offsets, keys, headers
    finally:
        client.unassign()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runners.connectors.kafka_bridge", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    drain = commands.add_parser("drain", help="Kafka topic -> landing folder, exactly once")
    drain.add_argument("--topic", required=True)
    drain.add_argument("--format", choices=FORMATS, default="json")
    drain.add_argument("--schema", required=True, help="the node's columns as JSON")
    drain.add_argument("--landing", required=True, type=Path)
    drain.add_argument("--dead-letter", type=Path)
    drain.add_argument("--starting-offsets", choices=("earliest", "latest"), default="earliest")
    drain.add_argument("--max-records-per-file", type=int, default=50_000)
    drain.add_argument("--max-file-seconds", type=float, default=2.0)
    drain.add_argument("--until-caught-up", action="store_true", help="stop once every partition is drained")
    drain.add_argument("--node", default="", help="print the runner's metric lines (rows landed, lag) for this node")
    publish = commands.add_parser("publish", help="outbox folder -> Kafka topic, exactly once (read_committed)")
    publish.add_argument("--outbox", required=True, type=Path)
    publish.add_argument("--topic", required=True)
    publish.add_argument("--key-columns", default="[]", help="JSON list of columns for the message key")
    publish.add_argument("--follower-id", help="names this follower in message headers and its state file")
    publish.add_argument("--lines-per-flush", type=int, default=10_000)
    publish.add_argument("--until-idle", type=float, help="stop after this many seconds without new files")
    for command in (drain, publish):
        command.add_argument("--connection-variable", help="the environment variable holding a stored Kafka "
                             "connection (its settings and secrets, JSON), as the runner exports it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("STUDIO_LOG_LEVEL", "INFO"), stream=sys.stderr)

    worker: Drainer | Publisher
    options = {CONNECTION_OPTION: args.connection_variable} if args.connection_variable else {}
    if args.command == "drain":
        worker = Drainer(
            topic=args.topic, fmt=args.format, schema=args.schema, landing=args.landing,
            dead_letter=args.dead_letter, starting_offsets=args.starting_offsets,
            max_records_per_file=args.max_records_per_file, max_file_seconds=args.max_file_seconds, options=options,
            node=args.node,
        )
    else:
        worker = Publisher(
            outbox=args.outbox, topic=args.topic, key_columns=json.loads(args.key_columns),
            follower_id=args.follower_id, lines_per_flush=args.lines_per_flush, options=options,
        )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, worker.stop)
    if isinstance(worker, Drainer):
        stats = worker.run(until_caught_up=args.until_caught_up)
    else:
        stats = worker.run(until_idle=args.until_idle)
    print(json.dumps({"command": args.command, **stats}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
