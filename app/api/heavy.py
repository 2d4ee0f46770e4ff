"""A bounded thread pool for expensive endpoints: a flood of them gets 503, never a long queue."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.core.config import get_settings

T = TypeVar("T")


class HeavyPoolBusy(Exception):
    """Every worker is busy and the waiting line is full; the client should retry shortly."""

    def __init__(self, in_flight: int, capacity: int, retry_after_s: int) -> None:
        super().__init__(f"{in_flight} expensive requests in flight (capacity {capacity})")
        self.in_flight = in_flight
        self.capacity = capacity
        self.retry_after_s = retry_after_s


class HeavyPool:
    """`workers` threads plus at most `queue_limit` waiting jobs; anything past that is refused.

    Counting happens on the event loop, and a slot is freed when the worker thread finishes
    (not when the client goes away), so an abandoned job still holds its slot while it runs.
    """

    def __init__(self, workers: int, queue_limit: int, niceness: int = 10) -> None:
        self.workers = max(1, workers)
        self.niceness = niceness
        self.capacity = self.workers + max(0, queue_limit)
        self.in_flight = 0
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self.workers,
                thread_name_prefix="bpc-heavy",
                initializer=_lower_priority,
                initargs=(self.niceness,),
            )
        return self._executor

    def retry_after_s(self) -> int:
        # An accepted job takes about a second or less on this machine (each is sized to finish
        # in about 2 s at worst), so the line ahead drains in roughly capacity / workers seconds.
        return min(30, max(1, math.ceil(self.capacity / self.workers)))

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.in_flight >= self.capacity:
            raise HeavyPoolBusy(self.in_flight, self.capacity, self.retry_after_s())
        loop = asyncio.get_running_loop()
        self.in_flight += 1
        try:
            future: Future[T] = self.executor.submit(functools.partial(fn, *args, **kwargs))
        except BaseException:
            self.in_flight -= 1
            raise
        future.add_done_callback(lambda _: self._release_from_thread(loop))
        return await asyncio.wrap_future(future)

    def _release(self) -> None:
        self.in_flight -= 1

    def _release_from_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        # RuntimeError: the loop is already closed because the server is shutting down.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._release)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _lower_priority(niceness: int) -> None:
    """Runs in each heavy thread: on Linux nice is per thread, so when the cores are busy the
    scheduler runs the event loop (and the small requests it serves) first."""
    if niceness > 0:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


_pool: HeavyPool | None = None


def heavy_pool() -> HeavyPool:
    """The process-wide pool, sized from Settings on first use."""
    global _pool
    if _pool is None:
        settings = get_settings()
        _pool = HeavyPool(
            settings.heavy_pool_workers, settings.heavy_queue_limit, settings.heavy_pool_nice
        )
    return _pool


async def run_heavy(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs `fn(*args, **kwargs)` on the heavy pool; raises HeavyPoolBusy (503) when it is full."""
    return await heavy_pool().run(fn, *args, **kwargs)


async def _busy_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HeavyPoolBusy)
    detail = {
        "type": "server_busy",
        "loc": [],
        "msg": f"the server is busy with {exc.in_flight} expensive requests "
        f"(at most {exc.capacity} at once, setting BPC_HEAVY_POOL_WORKERS + "
        f"BPC_HEAVY_QUEUE_LIMIT); retry in {exc.retry_after_s} s",
        "retry_after": exc.retry_after_s,
    }
    return JSONResponse(
        status_code=503,
        content={"detail": [detail]},
        headers={"Retry-After": str(exc.retry_after_s)},
    )


def install_heavy_pool(app: FastAPI) -> None:
    app.add_exception_handler(HeavyPoolBusy, _busy_handler)
