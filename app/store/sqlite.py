"""The Store in one SQLite file, shared by every worker process of one machine (the default).

Several uvicorn workers open the same file, so every write runs in a `BEGIN IMMEDIATE`
transaction: it takes the file's write lock before reading the version it compares, and no
other process can slip an update in between (compare-and-set holds across processes). The file
is in WAL mode, so readers never wait for that writer, and a busy timeout makes a writer wait
for the lock rather than fail at once. Expiry is a deadline per key on the wall clock (shared by
the processes, unlike a monotonic one): reads treat a key past it as gone, writes delete it, and
every create sweeps out all keys past theirs, so ended classes leave no rows behind.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from app.store import Conflict, Missing, Record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value BLOB NOT NULL,
    version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (stream TEXT NOT NULL, seq INTEGER NOT NULL,
    item BLOB NOT NULL, PRIMARY KEY (stream, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deadlines (key TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
"""


class SQLiteStore:
    """Opens the file on first use (so an app that never starts a class creates no file); one
    connection per thread, since a sqlite3 connection must not be used by two at once."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    # --- connections and transactions ---------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions, ours are written out below
        conn = sqlite3.connect(
            self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # with WAL, NORMAL loses nothing when a process dies (only on power loss)
        conn.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            conn.executescript(_SCHEMA)
            self._connections.append(conn)
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A transaction holding the write lock from its first statement on."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    # --- expiry -------------------------------------------------------------------------------

    def _expired(self, conn: sqlite3.Connection, key: str) -> bool:
        row = conn.execute("SELECT at FROM deadlines WHERE key = ?", (key,)).fetchone()
        return row is not None and self._clock() >= row[0]

    def _drop_if_expired(self, conn: sqlite3.Connection, key: str) -> None:
        if self._expired(conn, key):
            self._delete(conn, key)

    @staticmethod
    def _delete(conn: sqlite3.Connection, key: str) -> None:
        conn.execute("DELETE FROM records WHERE key = ?", (key,))
        conn.execute("DELETE FROM items WHERE stream = ?", (key,))
        conn.execute("DELETE FROM deadlines WHERE key = ?", (key,))

    def _purge(self, conn: sqlite3.Connection) -> None:
        now = self._clock()
        for table, column in (("records", "key"), ("items", "stream")):
            conn.execute(
                f"DELETE FROM {table} WHERE {column} IN "  # noqa: S608 (our own table names)
                "(SELECT key FROM deadlines WHERE at <= ?)",
                (now,),
            )
        conn.execute("DELETE FROM deadlines WHERE at <= ?", (now,))

    # --- the Store protocol -------------------------------------------------------------------

    def create(self, key: str, value: Any, ttl: float | None = None) -> Record:
        blob = orjson.dumps(value)
        with self._write() as conn:
            self._purge(conn)
            row = conn.execute("SELECT version FROM records WHERE key = ?", (key,)).fetchone()
            if row is not None:
                raise Conflict(key, row[0])
            conn.execute("INSERT INTO records VALUES (?, ?, 1)", (key, blob))
            if ttl is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO deadlines VALUES (?, ?)", (key, self._clock() + ttl)
                )
        return Record(orjson.loads(blob), 1)

    def get(self, key: str) -> Record | None:
        conn = self._connection()
        # one read transaction, so the deadline and the row are read from one snapshot
        conn.execute("BEGIN")
        try:
            if self._expired(conn, key):
                return None
            row = conn.execute(
                "SELECT value, version FROM records WHERE key = ?", (key,)
            ).fetchone()
        finally:
            conn.execute("COMMIT")
        return None if row is None else Record(orjson.loads(row[0]), row[1])

    def update(self, key: str, value: Any, version: int) -> Record:
        blob = orjson.dumps(value)
        with self._write() as conn:
            self._drop_if_expired(conn, key)
            row = conn.execute("SELECT version FROM records WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise Missing(key)
            if row[0] != version:
                raise Conflict(key, row[0])
            conn.execute(
                "UPDATE records SET value = ?, version = ? WHERE key = ?", (blob, version + 1, key)
            )
        return Record(orjson.loads(blob), version + 1)

    def append(self, stream: str, item: Any) -> int:
        blob = orjson.dumps(item)
        with self._write() as conn:
            self._drop_if_expired(conn, stream)
            (seq,) = conn.execute(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM items WHERE stream = ?", (stream,)
            ).fetchone()
            conn.execute("INSERT INTO items VALUES (?, ?, ?)", (stream, seq, blob))
        return int(seq)

    def read(self, stream: str, offset: int = 0, limit: int | None = None) -> list[Any]:
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("offset and limit are counts from the stream's start: not negative")
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            if self._expired(conn, stream):
                return []
            rows = conn.execute(
                "SELECT item FROM items WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (stream, offset, -1 if limit is None else limit),
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        return [orjson.loads(row[0]) for row in rows]

    def expire(self, key: str, ttl: float) -> bool:
        with self._write() as conn:
            self._drop_if_expired(conn, key)
            exists = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM records WHERE key = ?)"
                " OR EXISTS (SELECT 1 FROM items WHERE stream = ?)",
                (key, key),
            ).fetchone()[0]
            if not exists:
                return False
            if ttl <= 0:
                self._delete(conn, key)  # gone now: an ended class leaves no rows behind
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO deadlines VALUES (?, ?)", (key, self._clock() + ttl)
                )
        return True
