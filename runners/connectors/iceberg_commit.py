"""Commit the files a Flink job staged into an Iceberg table, idempotently. Runs in the main venv.

Flink's filesystem sink commits part files into a staging folder on each checkpoint (in-progress
files are hidden, named with a leading dot). The committer turns them into Iceberg commits:

1. It picks the visible files not yet claimed and writes a batch manifest
   `<staging>/_batches/<seq>.json` listing them (atomically), `seq` one more than the last.
2. It commits the batch's rows in one Iceberg transaction whose snapshot carries
   `studio.query-id` = the committer id and `studio.batch-id` = seq.
3. It moves the batch's files to `<staging>/_committed/<seq>/` and writes `_batches/<seq>.done`.

For upserts of change streams (rows with `_ts`), a change older than the last one applied to its
key is ignored, deletes included (see `ChangeClock`): Flink may stage a landing folder's files in
any order.

After a crash it first finishes every manifest without `.done`: step 2 is skipped when the table
already holds that batch (the newest snapshot of the committer id has batch id >= seq), so a batch
is committed once however often the committer is killed and restarted. Rows keep their order
(manifest file order, then line order), which upsert uses to pick the last change per key after
`_ts`.

    python -m runners.connectors.iceberg_commit --staging DIR --table ns.t --mode upsert \
        --keys '["id"]' --schema '[...]' [--format json|csv|parquet] [--watch]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from runners.connectors import iceberg_tables as tables
from runners.connectors.codec import Decoder
from runners.connectors.columns import Field, arrow_schema, parse_schema
from runners.connectors.files import fsync_dir, write_atomic

__all__ = ["StagedCommitter", "main"]

log = logging.getLogger("studio.connectors.commit")

BATCHES = "_batches"
STATE = "_state"
SEQUENCE_COLUMN_NAME = tables.SEQUENCE_COLUMN
COMMITTED = "_committed"
STAGED_FORMATS = ("json", "csv", "parquet")


class ChangeClock:
    """The newest `_ts` applied per key, deleted keys included, in `<staging>/_state/clock.sqlite3`.

    Flink's filesystem source reads the files of one discovery round in no particular order, so a
    staged batch can hold changes older than a batch committed before it. Upserts therefore apply a
    change only when it is not older than the last change applied to its key (like a precombine
    field), and remember deletes so an older update cannot bring a deleted row back.
    """

    def __init__(self, path: Path) -> None:
        import sqlite3

        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS clock (key TEXT PRIMARY KEY, ts INTEGER NOT NULL)")
        self.db.commit()

    @staticmethod
    def _keys(rows: pa.Table, keys: list[str]) -> list[str]:
        columns = [rows.column(k).to_pylist() for k in keys]
        return [json.dumps(list(values), default=str) for values in zip(*columns)]

    @staticmethod
    def _micros(rows: pa.Table) -> list[int | None]:
        return rows.column("_ts").cast(pa.timestamp("us")).cast(pa.int64()).to_pylist()

    def newer(self, latest: pa.Table, keys: list[str]) -> pa.Table:
        """The changes (one per key) that are not older than what was applied to their keys."""
        known: dict[str, int] = {}
        names = self._keys(latest, keys)
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            marks = ",".join("?" * len(chunk))
            known.update(self.db.execute(f"SELECT key, ts FROM clock WHERE key IN ({marks})", chunk).fetchall())
        keep = [
            ts is None or name not in known or ts >= known[name]
            for name, ts in zip(names, self._micros(latest))
        ]
        return latest.filter(pa.array(keep, pa.bool_()))

    def advance(self, latest: pa.Table, keys: list[str]) -> None:
        rows = [(name, ts) for name, ts in zip(self._keys(latest, keys), self._micros(latest)) if ts is not None]
        self.db.executemany(
            "INSERT INTO clock (key, ts) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET ts = max(ts, excluded.ts)", rows
        )
        self.db.commit()


@dataclass
class BatchOutcome:
    batch: int
    files: int
    rows: int
    committed: bool
    reason: str = ""


class StagedCommitter:
    def __init__(
        self,
        *,
        staging: Path,
        table: str,
        schema: Any,
        mode: str = "append",
        keys: list[str] | None = None,
        fmt: str = "json",
        partition_by: Any = None,
        create_if_missing: bool = True,
        committer_id: str | None = None,
    ) -> None:
        if fmt not in STAGED_FORMATS:
            raise ValueError(f"Staged files must be one of {', '.join(STAGED_FORMATS)}, not '{fmt}'.")
        self.staging = staging
        self.table = table
        self.fields: list[Field] = parse_schema(schema)
        self.mode = mode
        self.keys = keys or []
        self.format = fmt
        self.partition_by = tables.parse_partition_by(partition_by)
        self.create_if_missing = create_if_missing
        digest = hashlib.sha1(f"{staging.resolve()}|{table}".encode()).hexdigest()[:16]
        self.committer_id = committer_id or f"flink-staging-{digest}"
        tables.TableWrite(table=table, mode=mode, keys=self.keys)  # validates mode and keys early
        self._stop = False

    def stop(self, *_: Any) -> None:
        self._stop = True

    # -- the batch log ------------------------------------------------------------------------------

    def _batches(self) -> Path:
        return self.staging / BATCHES

    def _manifests(self) -> list[tuple[int, Path]]:
        folder = self._batches()
        if not folder.is_dir():
            return []
        return sorted((int(p.stem), p) for p in folder.glob("*.json") if p.stem.isdigit())

    def _is_done(self, seq: int) -> bool:
        return (self._batches() / f"{seq:012d}.done").exists()

    def _claimed(self) -> set[str]:
        claimed: set[str] = set()
        for seq, path in self._manifests():
            if not self._is_done(seq):
                claimed.update(json.loads(path.read_text())["files"])
        return claimed

    def _visible_files(self) -> list[str]:
        if not self.staging.is_dir():
            return []
        names = []
        for path in self.staging.rglob("*"):
            relative = path.relative_to(self.staging)
            if path.is_file() and not any(part.startswith((".", "_")) for part in relative.parts):
                names.append(str(relative))
        return sorted(names)

    # -- reading staged rows ------------------------------------------------------------------------

    def _read(self, names: list[str]) -> pa.Table:
        schema = arrow_schema(self.fields)
        parts = []
        for name in names:
            path = self.staging / name
            if self.format == "parquet":
                import pyarrow.parquet as pq

                from runners.connectors.columns import conform

                parts.append(conform(pq.read_table(path), schema))
            elif self.format == "csv":
                import pyarrow.csv as pacsv

                table = pacsv.read_csv(
                    path,
                    read_options=pacsv.ReadOptions(column_names=[f.name for f in self.fields]),
                    convert_options=pacsv.ConvertOptions(
                        column_types=schema, strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=False
                    ),
                )
                parts.append(table)
            else:
                lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
                result = Decoder(self.fields, "json").decode(lines)
                if result.failures:
                    index, reason = result.failures[0]
                    raise ValueError(f"Staged file {name}, line {index + 1}: {reason}")
                parts.append(pa.Table.from_batches([result.batch]))
        if not parts:
            return schema.empty_table()
        return pa.concat_tables(parts)

    # -- committing ---------------------------------------------------------------------------------

    def _ordered_upsert(self) -> bool:
        return self.mode == "upsert" and any(f.name == "_ts" for f in self.fields)

    def _clock(self) -> ChangeClock:
        return ChangeClock(self.staging / STATE / "clock.sqlite3")

    def _commit_batch(self, seq: int, names: list[str]) -> BatchOutcome:
        stored = [f for f in self.fields if not (self.mode == "upsert" and f.name == "_op")]
        table = tables.ensure_table(
            self.table, stored, partition_by=self.partition_by, create_if_missing=self.create_if_missing
        )
        clocked = self._batches() / f"{seq:012d}.clocked"
        done = tables.last_committed_batch(table, self.committer_id)
        if done is not None and done >= seq:
            # Committed before a crash. Its files are all here until the clock has seen them.
            if self._ordered_upsert() and not clocked.exists():
                self._advance_clock(self._read(names), clocked)
            self._retire(seq, names)
            return BatchOutcome(seq, len(names), 0, False, "already committed")
        rows = self._read(names)
        spec = tables.TableWrite(
            table=self.table, mode=self.mode, keys=self.keys, query_id=self.committer_id, batch_id=seq
        )
        if self.mode == "upsert":
            rows = rows.append_column(tables.SEQUENCE_COLUMN, pa.array(range(rows.num_rows), pa.int64()))
            changes = tables.latest_changes(rows, self.keys)
            if self._ordered_upsert():
                changes = self._clock().newer(changes, self.keys)
            result = tables.commit(spec, changes=changes)
            if self._ordered_upsert():
                self._advance_clock(rows, clocked)
        else:
            files = tables.write_data_files(table, rows, parallelism=os.cpu_count() or 1)
            result = tables.commit(spec, data_files=files)
            if not result.committed and files:
                for data_file in files:
                    try:
                        table.io.delete(data_file.file_path)
                    except Exception:  # noqa: BLE001 - best effort
                        pass
        self._retire(seq, names)
        return BatchOutcome(seq, len(names), rows.num_rows, result.committed, result.reason)

    def _advance_clock(self, rows: pa.Table, marker: Path) -> None:
        if SEQUENCE_COLUMN_NAME not in rows.column_names:
            rows = rows.append_column(tables.SEQUENCE_COLUMN, pa.array(range(rows.num_rows), pa.int64()))
        self._clock().advance(tables.latest_changes(rows, self.keys), self.keys)
        write_atomic(str(marker), b"")

    def _retire(self, seq: int, names: list[str]) -> None:
        """Move a committed batch's files out of the staging area, then mark the batch done."""
        target = self.staging / COMMITTED / f"{seq:012d}"
        for name in names:
            source = self.staging / name
            if source.exists():
                destination = target / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, destination)
        if target.exists():
            fsync_dir(target)
        write_atomic(str(self._batches() / f"{seq:012d}.done"), b"")

    def commit_pending(self) -> list[BatchOutcome]:
        """Finish unfinished batches, then commit newly staged files as one more batch."""
        outcomes = []
        manifests = self._manifests()
        for seq, path in manifests:
            if not self._is_done(seq):
                outcomes.append(self._commit_batch(seq, json.loads(path.read_text())["files"]))
        claimed = self._claimed()
        fresh = [name for name in self._visible_files() if name not in claimed]
        if fresh:
            seq = (manifests[-1][0] + 1) if manifests else 0
            write_atomic(
                str(self._batches() / f"{seq:012d}.json"),
                json.dumps({"batch": seq, "committer": self.committer_id, "files": fresh}).encode(),
            )
            outcomes.append(self._commit_batch(seq, fresh))
        return outcomes

    def run(self, *, watch: bool = False, interval: float = 1.0, until_idle: float | None = None) -> list[BatchOutcome]:
        outcomes: list[BatchOutcome] = []
        idle_since = time.monotonic()
        while True:
            latest = self.commit_pending()
            outcomes += latest
            for outcome in latest:
                log.info("batch %d: %d files, %d rows, %s", outcome.batch, outcome.files, outcome.rows,
                         "committed" if outcome.committed else outcome.reason)
            if latest:
                idle_since = time.monotonic()
            if not watch or self._stop:
                return outcomes
            if until_idle is not None and time.monotonic() - idle_since >= until_idle:
                return outcomes
            time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runners.connectors.iceberg_commit", description=__doc__.split("\n")[0])
    parser.add_argument("--staging", required=True, type=Path)
    parser.add_argument("--table", required=True)
    parser.add_argument("--schema", required=True, help="the staged rows' columns as JSON")
    parser.add_argument("--mode", choices=tables.MODES, default="append")
    parser.add_argument("--keys", default="[]", help="JSON list of key columns (upsert)")
    parser.add_argument("--format", choices=STAGED_FORMATS, default="json")
    parser.add_argument("--partition-by", default="[]")
    parser.add_argument("--no-create", action="store_true", help="fail when the table does not exist")
    parser.add_argument("--committer-id")
    parser.add_argument("--watch", action="store_true", help="keep committing as Flink stages more files")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--until-idle", type=float)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("STUDIO_LOG_LEVEL", "INFO"), stream=sys.stderr)
    committer = StagedCommitter(
        staging=args.staging, table=args.table, schema=args.schema, mode=args.mode, keys=json.loads(args.keys),
        fmt=args.format, partition_by=args.partition_by, create_if_missing=not args.no_create,
        committer_id=args.committer_id,
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, committer.stop)
    outcomes = committer.run(watch=args.watch, interval=args.interval, until_idle=args.until_idle)
    print(json.dumps({"batches": len(outcomes), "committed": sum(o.committed for o in outcomes),
                      "rows": sum(o.rows for o in outcomes)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
