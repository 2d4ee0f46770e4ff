"""The in-process Store: dicts under a lock, expiry checked against an injectable clock."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any

from app.store import Conflict, Missing, Record


class MemoryStore:
    """For one server process and for tests; state is lost on restart."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[str, Record] = {}
        self._streams: dict[str, list[Any]] = {}
        self._deadlines: dict[str, float] = {}  # key -> clock time it expires at

    def _drop_if_expired(self, key: str) -> None:
        deadline = self._deadlines.get(key)
        if deadline is not None and self._clock() >= deadline:
            del self._deadlines[key]
            self._records.pop(key, None)
            self._streams.pop(key, None)

    def create(self, key: str, value: Any, ttl: float | None = None) -> Record:
        with self._lock:
            self._drop_if_expired(key)
            existing = self._records.get(key)
            if existing is not None:
                raise Conflict(key, existing.version)
            record = Record(copy.deepcopy(value), 1)
            self._records[key] = record
            if ttl is not None:
                self._deadlines[key] = self._clock() + ttl
            return Record(copy.deepcopy(value), 1)

    def get(self, key: str) -> Record | None:
        with self._lock:
            self._drop_if_expired(key)
            record = self._records.get(key)
            return None if record is None else Record(copy.deepcopy(record.value), record.version)

    def update(self, key: str, value: Any, version: int) -> Record:
        with self._lock:
            self._drop_if_expired(key)
            existing = self._records.get(key)
            if existing is None:
                raise Missing(key)
            if existing.version != version:
                raise Conflict(key, existing.version)
            self._records[key] = Record(copy.deepcopy(value), version + 1)
            return Record(copy.deepcopy(value), version + 1)

    def append(self, stream: str, item: Any) -> int:
        with self._lock:
            self._drop_if_expired(stream)
            items = self._streams.setdefault(stream, [])
            items.append(copy.deepcopy(item))
            return len(items) - 1

    def read(self, stream: str, offset: int = 0, limit: int | None = None) -> list[Any]:
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("offset and limit are counts from the stream's start: not negative")
        with self._lock:
            self._drop_if_expired(stream)
            items = self._streams.get(stream, [])
            end = len(items) if limit is None else offset + limit
            return copy.deepcopy(items[offset:end])

    def expire(self, key: str, ttl: float) -> bool:
        with self._lock:
            self._drop_if_expired(key)
            if key not in self._records and key not in self._streams:
                return False
            self._deadlines[key] = self._clock() + ttl
            return True
