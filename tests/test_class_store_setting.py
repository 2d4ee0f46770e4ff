"""BPC_STORE: the one setting that chooses the class store, and a malformed value stopping start-up by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.startup import problems
from app.store import open_store, store_target
from app.store.memory import MemoryStore
from app.store.redis import RedisStore
from app.store.sqlite import SQLiteStore


@pytest.mark.parametrize(
    ("value", "target"),
    [
        ("memory", ("memory", "")),
        ("sqlite:///data/class.db", ("sqlite", "data/class.db")),  # relative to the folder
        ("sqlite:////data/class.db", ("sqlite", "/data/class.db")),  # four slashes: absolute
        ("redis://redis:6379/0", ("redis", "redis://redis:6379/0")),
        ("redis://127.0.0.1", ("redis", "redis://127.0.0.1")),
    ],
)
def test_each_store_has_its_form(value: str, target: tuple[str, str]) -> None:
    assert store_target(value) == target


@pytest.mark.parametrize(
    "value",
    ["", "sqlite", "sqlite:///", "sqlite:///dir/", "postgres://db/x", "redis://:6379/0",
     "redis://r:port/0", "redis://r:6379/zero", "redis://r:6379/0?ssl=1", "Memory"],
)  # fmt: skip
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        store_target(value)


def test_open_store_makes_the_named_backend_without_touching_it(tmp_path: Path) -> None:
    assert isinstance(open_store("memory"), MemoryStore)
    sqlite = open_store(f"sqlite:///{tmp_path}/sub/class.db")
    assert isinstance(sqlite, SQLiteStore) and sqlite.path == tmp_path / "sub" / "class.db"
    assert not (tmp_path / "sub").exists()  # made on first use only
    sqlite.create("k", 1)
    assert (tmp_path / "sub" / "class.db").is_file()
    sqlite.close()
    redis = open_store("redis://127.0.0.1:1/0")  # nothing listens there: not reached yet
    assert isinstance(redis, RedisStore)
    redis.close()


def test_a_malformed_store_stops_start_up_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BPC_STORE", "postgres://db/classes")
    found = [line for line in problems() if line.startswith("BPC_STORE")]
    assert len(found) == 1 and "'postgres://db/classes' is not a store" in found[0]
    monkeypatch.setenv("BPC_STORE", "redis://localhost:6379/0")
    assert not [line for line in problems() if line.startswith("BPC_STORE")]
