"""Jobs the pool tests send to real job processes, in a module that imports almost nothing.

A job process imports its pool's preload before it says it is ready, and a job is unpickled by
its module's name: jobs defined in a test module made every job process import that module
(pytest, FastAPI, the app), about 1.5 s a process on 2 cores, where this takes a few tens of ms.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from app.core.errors import LimitError


def pid_and_niceness() -> tuple[int, int]:
    return os.getpid(), os.nice(0)


def sleep_then(seconds: float, value: Any) -> Any:
    time.sleep(seconds)
    return value


def allocate(n_bytes: int) -> int:
    block = bytearray(n_bytes)  # touches every page: a real allocation, not a reservation
    return len(block)


def over_a_limit() -> None:
    raise LimitError("the thing", 11, 10, "max_thing", ("body", "thing"))


def started_held(label: str, release: str) -> tuple[str, float]:
    """When the job began; it then holds its process until the file `release` exists."""
    began = time.monotonic()  # CLOCK_MONOTONIC is system-wide on Linux: comparable across pids
    deadline = began + 60
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.005)
    return label, began


def started_at(label: str, seconds: float) -> tuple[str, float]:
    began = time.monotonic()  # CLOCK_MONOTONIC is system-wide on Linux: comparable across pids
    time.sleep(seconds)
    return label, began


def busy_for(cpu_s: float, clock: Callable[[], float] = time.thread_time) -> float:
    """Spins for `cpu_s` of CPU time on `clock` (this thread's by default); returns what it
    used."""
    start = clock()
    while clock() - start < cpu_s:
        pass
    return clock() - start
