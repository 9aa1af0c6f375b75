"""A Channels layer stored in a SQLite file, so every process on one machine shares it.

The embedded mode has no Redis: the Celery worker publishes run events with ``group_send`` and the
ASGI server's websocket consumers receive them. Both open the same WAL-mode file; each process polls
it every ``poll_interval`` seconds for all of its waiting receivers at once, and a receiver claims a
message with ``DELETE ... RETURNING``, so a message goes to exactly one receiver whichever process it
runs in. Every SQLite call runs in a worker thread.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

try:
    import msgpack
except ImportError:  # pragma: no cover - msgpack comes with channels-redis
    msgpack = None

__all__ = ["SQLiteChannelLayer"]

logger = logging.getLogger(__name__)

# A stored row: (id, channel, payload, expires).
_Row = tuple[int, str, "bytes | str", float]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,
        payload BLOB NOT NULL,
        expires REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS messages_channel_id ON messages (channel, id)",
    "CREATE INDEX IF NOT EXISTS messages_expires ON messages (expires)",
    """CREATE TABLE IF NOT EXISTS group_memberships (
        group_name TEXT NOT NULL,
        channel TEXT NOT NULL,
        expires REAL NOT NULL,
        PRIMARY KEY (group_name, channel)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS group_memberships_channel ON group_memberships (channel)",
)

_BUSY_TIMEOUT_MS = 5000
# Idle connections kept per layer and process; more are opened when more threads need one.
_MAX_IDLE_CONNECTIONS = 8
# Channels per watcher query, well under SQLite's limit on bound parameters.
_CHANNELS_PER_QUERY = 500


def _encode(message: dict[str, Any]) -> bytes | str:
    """Serialize a message: msgpack (bytes, keeps ``bytes`` values) or else JSON (text)."""
    if msgpack is not None:
        try:
            return msgpack.packb(message, use_bin_type=True)
        except (TypeError, ValueError, OverflowError) as exc:
            raise TypeError(
                "Channel layer messages may only hold dict, list, str, bytes, int, float, bool "
                f"and None values: {exc}"
            ) from exc
    try:
        return json.dumps(message, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "Channel layer messages may only hold JSON values (dict, list, str, int, finite "
            f"float, bool and None): {exc}"
        ) from exc


def _decode(payload: bytes | str) -> dict[str, Any]:
    # The storage class says which codec wrote the row: BLOB is msgpack, TEXT is JSON.
    if isinstance(payload, str):
        return json.loads(payload)
    if msgpack is None:
        raise RuntimeError("A msgpack message was received but msgpack is not installed")
    return msgpack.unpackb(payload, raw=False, strict_map_key=False)


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the write lock up front (waiting up to busy_timeout)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


class _Claim:
    """Hands a claimed row from the polling thread to ``receive``, or back to the table.

    A worker thread cannot be interrupted, so a ``receive`` cancelled while its thread is in
    flight must not lose the message that thread may claim: whichever side comes second (the
    thread settling or the task abandoning) puts the row back under its original id.
    """

    __slots__ = ("_lock", "_abandoned", "_row")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._abandoned = False
        self._row: _Row | None = None

    def settle(self, row: _Row | None, restore: Callable[[_Row], None]) -> _Row | None:
        """Called by the worker thread with what it claimed."""
        with self._lock:
            if not self._abandoned:
                self._row = row
                return row
        if row is not None:
            restore(row)
        return None

    def abandon(self, restore: Callable[[_Row], None]) -> None:
        """Called by the cancelled task; never blocks the event loop on SQLite."""
        with self._lock:
            self._abandoned = True
            row, self._row = self._row, None
        if row is not None:
            threading.Thread(target=restore, args=(row,), name="channels-sqlite-restore").start()


class _Watcher:
    """Polls the file once per interval for every ``receive`` waiting in one event loop.

    Idle receivers then cost one query per interval in total, not one thread hop each; only
    receivers whose channel has a message are woken, and they claim it themselves.
    """

    # Holds no reference to its loop: it is the value of a WeakKeyDictionary keyed by that loop.
    def __init__(self, layer: SQLiteChannelLayer) -> None:
        self._layer = layer
        self._waiting: dict[str, set[asyncio.Future[None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def wait(self, channel: str) -> None:
        """Return once a message may be waiting on the channel (wake-ups may be spurious)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.setdefault(channel, set()).add(future)
        if self._task is None:
            self._task = loop.create_task(self._run())
        try:
            await future
        finally:
            futures = self._waiting.get(channel)
            if futures is not None:
                futures.discard(future)
                if not futures:
                    del self._waiting[channel]

    async def _run(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(self._layer.poll_interval)
                channels = list(self._waiting)
                if not channels:
                    break
                try:
                    ready = await asyncio.to_thread(self._layer._channels_with_messages, channels)
                except Exception:
                    # Wake them all: each receive's own claim then retries or raises the error.
                    logger.warning("%s could not poll for messages", self._layer, exc_info=True)
                    ready = set(channels)
                for channel in ready:
                    self._wake(channel)
        finally:
            self._task = None
            # Cancelled with receivers still waiting: wake them so they poll and restart a watcher.
            for channel in list(self._waiting):
                self._wake(channel)

    def _wake(self, channel: str) -> None:
        for future in self._waiting.pop(channel, ()):
            if not future.done():
                future.set_result(None)


# Layers whose connection pools must be dropped in a forked child (Celery's prefork pool).
_live_layers: weakref.WeakSet[SQLiteChannelLayer] = weakref.WeakSet()


def _reset_layers_after_fork() -> None:
    for layer in list(_live_layers):
        layer._reset_pool()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_layers_after_fork)


class SQLiteChannelLayer(BaseChannelLayer):
    """Channel layer over one SQLite file, shared by every process that names the same path.

    CONFIG: ``path`` (required), ``expiry`` (message lifetime, s), ``group_expiry`` (membership
    lifetime, s), ``capacity`` and ``channel_capacity`` (as in channels-redis), ``poll_interval``
    (s between polls of a waiting ``receive``).
    """

    extensions = ["groups", "flush"]

    # Seconds between sweeps of expired rows; each process sweeps on its own schedule.
    sweep_interval = 1.0

    def __init__(
        self,
        path: str | os.PathLike[str],
        expiry: float = 60,
        group_expiry: float = 86400,
        capacity: int = 100,
        channel_capacity: dict[Any, int] | None = None,
        poll_interval: float = 0.02,
    ) -> None:
        super().__init__(expiry=expiry, capacity=capacity)
        if not str(path) or str(path) == ":memory:" or str(path).startswith("file:"):
            raise ValueError("SQLiteChannelLayer needs a file path every process can open")
        self.path = Path(path).expanduser().resolve()
        self.group_expiry = group_expiry
        self.channel_capacity = self.compile_capacities(channel_capacity or {})
        self.poll_interval = poll_interval
        self._watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watcher] = (
            weakref.WeakKeyDictionary()
        )
        self._reset_pool()
        _live_layers.add(self)

    def __str__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r})"

    # Channel layer API

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send a message onto a channel; raises ChannelFull when it holds ``capacity`` messages."""
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        payload = _encode(message)
        await asyncio.to_thread(self._send_sync, channel, payload, self.get_capacity(channel))

    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for the oldest unexpired message on a channel, claimed by this receiver alone."""
        self.require_valid_channel_name(channel)
        loop = asyncio.get_running_loop()
        while True:
            claim = _Claim()
            try:
                row = await loop.run_in_executor(None, self._claim_sync, channel, claim)
            except asyncio.CancelledError:
                claim.abandon(self._restore)
                raise
            if row is not None:
                return _decode(row[2])
            await self._watcher(loop).wait(channel)

    async def new_channel(self, prefix: str = "specific") -> str:
        """A fresh channel name; any process can receive on it, so it needs no ``!`` part."""
        return f"{prefix}.{uuid.uuid4().hex}"

    # Groups extension

    async def group_add(self, group: str, channel: str) -> None:
        """Add a channel to a group, or renew its membership for another ``group_expiry``."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        await asyncio.to_thread(self._group_add_sync, group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove a channel from a group; does nothing if it is not a member."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        await asyncio.to_thread(self._group_discard_sync, group, channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send a message to every member of a group in one transaction; full channels miss it."""
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        payload = _encode(message)
        dropped = await asyncio.to_thread(self._group_send_sync, group, payload)
        if dropped:
            logger.info("%s channels over capacity in group %s", dropped, group)

    # Flush extension

    async def flush(self) -> None:
        """Delete every message and group membership in the file."""
        await asyncio.to_thread(self._flush_sync)

    async def close(self) -> None:
        """Close this process's idle connections; the layer reopens them on next use."""
        await asyncio.to_thread(self._close_idle)

    def _watcher(self, loop: asyncio.AbstractEventLoop) -> _Watcher:
        watcher = self._watchers.get(loop)
        if watcher is None:
            watcher = self._watchers[loop] = _Watcher(self)
        return watcher

    # Blocking work, run in worker threads

    def _send_sync(self, channel: str, payload: bytes | str, capacity: int) -> None:
        with self._connection() as conn:
            with _immediate(conn):
                now = time.time()
                (count,) = conn.execute(
                    "SELECT count(*) FROM messages WHERE channel = ? AND expires > ?",
                    (channel, now),
                ).fetchone()
                if count >= capacity:
                    raise ChannelFull(channel)
                conn.execute(
                    "INSERT INTO messages (channel, payload, expires) VALUES (?, ?, ?)",
                    (channel, payload, now + self.expiry),
                )
            self._maybe_sweep(conn)

    def _claim_sync(self, channel: str, claim: _Claim) -> _Row | None:
        with self._connection() as conn:
            self._maybe_sweep(conn)
            row = self._take_oldest(conn, channel)
        return claim.settle(row, self._restore)

    def _channels_with_messages(self, channels: list[str]) -> set[str]:
        found: set[str] = set()
        with self._connection() as conn:
            self._maybe_sweep(conn)
            now = time.time()
            for start in range(0, len(channels), _CHANNELS_PER_QUERY):
                chunk = channels[start : start + _CHANNELS_PER_QUERY]
                placeholders = ", ".join("?" * len(chunk))
                found.update(
                    channel
                    for (channel,) in conn.execute(
                        "SELECT DISTINCT channel FROM messages "
                        f"WHERE expires > ? AND channel IN ({placeholders})",
                        (now, *chunk),
                    )
                )
        return found

    def _take_oldest(self, conn: sqlite3.Connection, channel: str) -> _Row | None:
        now = time.time()
        # An idle poll only reads: WAL readers never wait for, or hold up, a writer.
        found = conn.execute(
            "SELECT 1 FROM messages WHERE channel = ? AND expires > ? LIMIT 1", (channel, now)
        ).fetchone()
        if found is None:
            return None
        # One statement under the write lock: of two racing receivers only one deletes the row.
        rows = conn.execute(
            """DELETE FROM messages WHERE id = (
                   SELECT id FROM messages WHERE channel = ? AND expires > ? ORDER BY id LIMIT 1
               ) RETURNING id, channel, payload, expires""",
            (channel, now),
        ).fetchall()
        return rows[0] if rows else None

    def _restore(self, row: _Row) -> None:
        """Put back a message a cancelled receive claimed; its old id keeps its place in line."""
        if row[3] <= time.time():
            return
        try:
            with self._connection() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO messages (id, channel, payload, expires) "
                    "VALUES (?, ?, ?, ?)",
                    row,
                )
        except Exception:
            logger.exception("Could not put back a message for channel %s", row[1])

    def _group_add_sync(self, group: str, channel: str) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO group_memberships (group_name, channel, expires) "
                "VALUES (?, ?, ?)",
                (group, channel, time.time() + self.group_expiry),
            )

    def _group_discard_sync(self, group: str, channel: str) -> None:
        with self._connection() as conn:
            conn.execute(
                "DELETE FROM group_memberships WHERE group_name = ? AND channel = ?",
                (group, channel),
            )

    def _group_send_sync(self, group: str, payload: bytes | str) -> int:
        with self._connection() as conn:
            with _immediate(conn):
                now = time.time()
                members = [
                    channel
                    for (channel,) in conn.execute(
                        "SELECT channel FROM group_memberships "
                        "WHERE group_name = ? AND expires > ?",
                        (group, now),
                    )
                ]
                if not members:
                    return 0
                queued = dict(
                    conn.execute(
                        """SELECT channel, count(*) FROM messages
                           WHERE expires > ? AND channel IN (
                               SELECT channel FROM group_memberships
                               WHERE group_name = ? AND expires > ?
                           )
                           GROUP BY channel""",
                        (now, group, now),
                    ).fetchall()
                )
                expires = now + self.expiry
                rows = [
                    (channel, payload, expires)
                    for channel in members
                    if queued.get(channel, 0) < self.get_capacity(channel)
                ]
                conn.executemany(
                    "INSERT INTO messages (channel, payload, expires) VALUES (?, ?, ?)", rows
                )
            self._maybe_sweep(conn)
        return len(members) - len(rows)

    def _flush_sync(self) -> None:
        with self._connection() as conn:
            with _immediate(conn):
                conn.execute("DELETE FROM messages")
                conn.execute("DELETE FROM group_memberships")

    def _maybe_sweep(self, conn: sqlite3.Connection) -> None:
        """Delete expired rows, at most once per ``sweep_interval`` in this process.

        As in Channels' in-memory layer, a channel that let a message expire unread is taken out
        of its groups: its consumer is gone (a web server that restarted, say), so group_send
        stops filling it until its membership would have expired.
        """
        now = time.monotonic()
        with self._pool_lock:
            if now < self._next_sweep:
                return
            self._next_sweep = now + self.sweep_interval
        wall = time.time()
        try:
            with _immediate(conn):
                conn.execute(
                    """DELETE FROM group_memberships WHERE expires <= ? OR channel IN (
                           SELECT channel FROM messages WHERE expires <= ?
                       )""",
                    (wall, wall),
                )
                conn.execute("DELETE FROM messages WHERE expires <= ?", (wall,))
        except sqlite3.OperationalError as exc:
            # Housekeeping only: a busy file must not fail the send or receive that ran it.
            logger.warning("%s could not delete expired rows: %s", self, exc)

    # Connections: a small pool per process, so any thread (or short-lived event loop, as
    # async_to_sync makes in the Celery worker) reuses an open connection.

    def _reset_pool(self) -> None:
        # Also runs in a forked child: connections inherited from the parent must not be used.
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._schema_ready = False
        self._next_sweep = 0.0

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        finally:
            if conn.in_transaction:
                try:
                    conn.rollback()
                except sqlite3.Error:
                    conn.close()
                    conn = None
            if conn is not None:
                self._release(conn)

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._pool_lock:
            if len(self._idle) < _MAX_IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()

    def _open(self) -> sqlite3.Connection:
        if not self._schema_ready:
            self._create_schema()
        return self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # autocommit; transactions are explicit BEGIN IMMEDIATE
            check_same_thread=False,  # pooled: used by one thread at a time, not always the same
        )
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        # In WAL mode NORMAL skips the fsync per commit; a crash may lose the last events,
        # which expire within a minute anyway.
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _create_schema(self) -> None:
        """Create the folder, switch the file to WAL and create the tables (idempotent)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            # Switching to WAL needs a moment alone with the file; when several processes
            # start together the losers see "locked" (not always after busy_timeout) and retry.
            deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
            while True:
                try:
                    (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
                    with _immediate(conn):
                        for statement in _SCHEMA:
                            conn.execute(statement)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
            if mode.lower() != "wal":
                logger.warning("%s could not switch %s to WAL mode (%s)", self, self.path, mode)
        finally:
            conn.close()
        self._schema_ready = True

    def _close_idle(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
