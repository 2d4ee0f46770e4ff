"""The store seam for shared state (the live class): versioned records and append-only streams.

A backend keeps a record per key with a version that every write bumps, so two writers cannot
lose each other's update (update is compare-and-set), and append-only streams read from an
offset, so a late reader catches up. Keys and streams expire after a time to live. Values are
JSON-like and come back as copies: a backend across a process or network boundary (SQLite,
Redis) could not hand out the stored object itself, so no caller may rely on that.
tests/test_store_contract.py is the contract every backend runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Record:
    value: Any
    version: int  # 1 when created, +1 per update


class Conflict(Exception):
    """A create over a live key, or an update from a stale version (`current` says which)."""

    def __init__(self, key: str, current: int) -> None:
        super().__init__(f"'{key}' is at version {current}")
        self.key = key
        self.current = current


class Missing(KeyError):
    """An update of a key that does not exist or has expired."""


class Store(Protocol):
    def create(self, key: str, value: Any, ttl: float | None = None) -> Record:
        """A new record at version 1; Conflict if `key` is live. ttl in seconds from now (None:
        no expiry of its own). A record and the stream of the same name share one expiry."""
        ...

    def get(self, key: str) -> Record | None:
        """The record, or None if it never existed or has expired."""
        ...

    def update(self, key: str, value: Any, version: int) -> Record:
        """Replaces the value if the record is still at `version` (Conflict if not, Missing if
        gone) and returns it at version + 1; the time to live is kept."""
        ...

    def append(self, stream: str, item: Any) -> int:
        """Adds `item` at the end of `stream` (created on first append); returns its offset."""
        ...

    def read(self, stream: str, offset: int = 0, limit: int | None = None) -> list[Any]:
        """Items from `offset` on (at most `limit`); [] past the end or for an unknown stream."""
        ...

    def expire(self, key: str, ttl: float) -> bool:
        """Sets the time to live of the record and the stream named `key`, from now; False if
        neither exists. A ttl of 0 removes both now (an ended class)."""
        ...


def store_target(url: str) -> tuple[str, str]:
    """The backend a BPC_STORE value names and where it is: ("memory", ""), ("sqlite", file
    path) or ("redis", url). ValueError says what is wrong with any other value."""
    from urllib.parse import urlsplit

    if url == "memory":
        return "memory", ""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")  # sqlite:////data/x.db is the absolute /data/x.db
        if not path or path.endswith("/"):
            raise ValueError(
                f"{url!r} names no file: sqlite:///relative/x.db or sqlite:////abs/x.db"
            )
        return "sqlite", path
    if url.startswith(("redis://", "rediss://")):
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        db = parts.path.lstrip("/")
        if not parts.hostname or port == -1 or (db and not db.isdigit()) or parts.query:
            raise ValueError(f"{url!r} is not redis://host:port/db (db a number, no query)")
        return "redis", url
    raise ValueError(
        f"{url!r:.80} is not a store: memory, sqlite:///path/to/file.db or redis://host:port/db"
    )


def open_store(url: str) -> Store:
    """The backend BPC_STORE names. Nothing is opened or connected yet: the SQLite file is made
    and Redis reached on first use, so an app that never starts a class touches neither."""
    kind, target = store_target(url)
    if kind == "sqlite":
        from app.store.sqlite import SQLiteStore

        return SQLiteStore(target)
    if kind == "redis":
        from app.store.redis import RedisStore

        return RedisStore(target)
    from app.store.memory import MemoryStore

    return MemoryStore()
