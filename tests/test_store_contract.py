"""The Store contract: every backend (memory, SQLite, Redis) runs these same tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.store import Conflict, Missing, Record, Store
from app.store.memory import MemoryStore
from tests.redis_server import redis_url

__all__ = ["redis_url"]  # a fixture, imported so pytest finds it here


class ManualClock:
    """Time that moves only when a test says so, so expiry is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Backend:
    store: Store
    clock: ManualClock


def _memory(clock: ManualClock, request: pytest.FixtureRequest) -> Store:
    return MemoryStore(clock)


def _sqlite(clock: ManualClock, request: pytest.FixtureRequest) -> Store:
    from app.store.sqlite import SQLiteStore

    tmp_path: Path = request.getfixturevalue("tmp_path")
    return SQLiteStore(tmp_path / "class.db", clock)


def _redis(clock: ManualClock, request: pytest.FixtureRequest) -> Store:
    from app.store.redis import RedisStore

    # one real server for the session (skipped only where redis-server is not installed);
    # a fresh key prefix makes each test's store empty
    url = request.getfixturevalue("redis_url")
    return RedisStore(url, prefix=f"test-{uuid.uuid4().hex}:", clock=clock)


# A new backend adds one line here: a factory from the test clock to a fresh, empty store.
BACKENDS: dict[str, Callable[[ManualClock, pytest.FixtureRequest], Store]] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "redis": _redis,
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    clock = ManualClock()
    store = BACKENDS[request.param](clock, request)
    yield Backend(store, clock)
    close = getattr(store, "close", None)
    if close is not None:
        close()


def test_a_record_is_created_at_version_1_and_read_back(backend: Backend) -> None:
    store = backend.store
    assert store.get("room") is None
    assert store.create("room", {"step": 0}) == Record({"step": 0}, 1)
    assert store.get("room") == Record({"step": 0}, 1)


def test_creating_a_live_key_again_is_a_conflict_naming_its_version(backend: Backend) -> None:
    store = backend.store
    store.create("room", 1)
    store.update("room", 2, 1)
    with pytest.raises(Conflict) as conflict:
        store.create("room", 3)
    assert conflict.value.current == 2
    assert store.get("room") == Record(2, 2)


def test_update_is_compare_and_set_on_the_version(backend: Backend) -> None:
    store = backend.store
    store.create("room", "a")
    assert store.update("room", "b", 1) == Record("b", 2)
    with pytest.raises(Conflict) as stale:
        store.update("room", "c", 1)  # a writer that read version 1 lost the race
    assert stale.value.current == 2
    assert store.get("room") == Record("b", 2)
    assert store.update("room", "c", 2) == Record("c", 3)


def test_updating_a_key_that_does_not_exist_is_missing(backend: Backend) -> None:
    with pytest.raises(Missing):
        backend.store.update("nobody", 1, 1)


def test_values_come_back_as_copies(backend: Backend) -> None:
    store = backend.store
    value = {"answers": [1, 2]}
    store.create("room", value)
    value["answers"].append(3)  # the caller's object is not the stored one
    read = store.get("room")
    assert read is not None and read.value == {"answers": [1, 2]}
    read.value["answers"].append(4)
    again = store.get("room")
    assert again is not None and again.value == {"answers": [1, 2]}


def test_a_stream_appends_at_increasing_offsets_and_reads_from_any_offset(
    backend: Backend,
) -> None:
    store = backend.store
    assert store.read("events") == []
    assert [store.append("events", {"n": n}) for n in range(5)] == [0, 1, 2, 3, 4]
    assert store.read("events") == [{"n": n} for n in range(5)]
    assert store.read("events", 3) == [{"n": 3}, {"n": 4}]
    assert store.read("events", 1, limit=2) == [{"n": 1}, {"n": 2}]
    assert store.read("events", 5) == []  # a reader that is caught up
    assert store.read("events", 9) == []
    with pytest.raises(ValueError):
        store.read("events", -1)


def test_streams_are_independent_of_each_other(backend: Backend) -> None:
    store = backend.store
    store.append("a", 1)
    assert store.append("b", 2) == 0
    assert store.read("a") == [1] and store.read("b") == [2]


def test_a_record_expires_after_its_time_to_live(backend: Backend) -> None:
    store, clock = backend.store, backend.clock
    store.create("room", "x", ttl=60)
    clock.advance(59.5)
    assert store.get("room") == Record("x", 1)
    clock.advance(0.5)
    assert store.get("room") is None
    with pytest.raises(Missing):
        store.update("room", "y", 1)
    assert store.create("room", "fresh") == Record("fresh", 1)  # the name is free again
    clock.advance(3600)
    assert store.get("room") == Record("fresh", 1)  # created without a ttl: it stays


def test_an_update_keeps_the_time_to_live(backend: Backend) -> None:
    store, clock = backend.store, backend.clock
    store.create("room", 1, ttl=10)
    clock.advance(5)
    store.update("room", 2, 1)
    clock.advance(5)
    assert store.get("room") is None


def test_expire_sets_the_time_to_live_of_a_record_and_its_stream(backend: Backend) -> None:
    store, clock = backend.store, backend.clock
    assert store.expire("room", 10) is False  # nothing by that name
    store.create("room", "x")
    store.append("room", "event")
    assert store.expire("room", 10) is True
    clock.advance(9)
    assert store.read("room") == ["event"]
    clock.advance(1)
    assert store.get("room") is None
    assert store.read("room") == []
    assert store.append("room", "again") == 0  # a new stream starts at offset 0


def test_expire_with_no_time_left_removes_the_record_and_its_stream_now(
    backend: Backend,
) -> None:
    store = backend.store
    store.create("room", "x", ttl=3600)
    store.append("room", "event")
    assert store.expire("room", 0) is True  # an ended class: gone at once, clock unmoved
    assert store.get("room") is None
    assert store.read("room") == []
    assert store.expire("room", 0) is False
    assert store.create("room", "next") == Record("next", 1)


def test_concurrent_compare_and_set_loses_no_update(backend: Backend) -> None:
    store = backend.store
    store.create("counter", 0)
    writers, increments = 4, 50

    def bump() -> None:
        done = 0
        while done < increments:
            record = store.get("counter")
            assert record is not None
            try:
                store.update("counter", record.value + 1, record.version)
                done += 1
            except Conflict:
                continue  # another writer won: read again and retry

    threads = [threading.Thread(target=bump) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("counter") == Record(writers * increments, writers * increments + 1)


def _bump_in_another_process(kind: str, where: str, prefix: str, increments: int) -> int:
    """Runs in a spawned process: `increments` compare-and-set bumps of "counter" through its
    own store object; returns how many times it lost the race and read again."""
    from app.store.redis import RedisStore
    from app.store.sqlite import SQLiteStore

    store: Store = SQLiteStore(where) if kind == "sqlite" else RedisStore(where, prefix=prefix)
    done = retries = 0
    while done < increments:
        record = store.get("counter")
        assert record is not None
        try:
            store.update("counter", record.value + 1, record.version)
            done += 1
        except Conflict:
            retries += 1
    return retries


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_processes_racing_compare_and_set_lose_no_update(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The workers of one machine share the SQLite file, the replicas one Redis: two real
    processes (spawned, as uvicorn's workers are) each add 200 to one counter."""
    import multiprocessing

    from app.store.redis import RedisStore
    from app.store.sqlite import SQLiteStore

    prefix = f"test-{uuid.uuid4().hex}:"
    if kind == "sqlite":
        where = str(tmp_path / "class.db")
        store: Store = SQLiteStore(where)
    else:
        where = request.getfixturevalue("redis_url")
        store = RedisStore(where, prefix=prefix)
    store.create("counter", 0)
    processes, increments = 2, 200
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.starmap(_bump_in_another_process, [(kind, where, prefix, increments)] * processes)
    # 400 bumps made it, each exactly once: version 1 at creation, +1 per successful update
    assert store.get("counter") == Record(processes * increments, processes * increments + 1)
