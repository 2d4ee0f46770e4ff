"""A bounded thread pool for expensive endpoints: a flood of them gets 503, never a long queue."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import time
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
    """`workers` threads; a job is refused (HeavyPoolBusy) when `workers + queue_limit` are in
    flight, or when the line ahead would take longer than `max_wait_s` to drain at the recent
    pace of jobs. So cheap jobs may queue deeply, expensive ones only a few deep.

    Counting happens on the event loop, and a slot is freed when the worker thread finishes
    (not when the client goes away), so an abandoned job still holds its slot while it runs.
    """

    def __init__(
        self, workers: int, queue_limit: int, niceness: int = 10, max_wait_s: float = 10.0
    ) -> None:
        self.workers = max(1, workers)
        self.niceness = niceness
        self.capacity = self.workers + max(0, queue_limit)
        self.max_wait_s = max_wait_s
        self.in_flight = 0
        # recent seconds per job (exponentially weighted); a cautious start before any is seen
        self.job_seconds = 0.5
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

    def expected_wait_s(self) -> float:
        """How long the jobs in flight take to drain, at the recent pace."""
        return self.in_flight * self.job_seconds / self.workers

    def retry_after_s(self) -> int:
        return min(30, max(1, math.ceil(self.expected_wait_s())))

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.in_flight >= self.capacity or (
            self.in_flight >= self.workers and self.expected_wait_s() > self.max_wait_s
        ):
            raise HeavyPoolBusy(self.in_flight, self.capacity, self.retry_after_s())
        loop = asyncio.get_running_loop()
        self.in_flight += 1
        try:
            future: Future[T] = self.executor.submit(self._timed, fn, *args, **kwargs)
        except BaseException:
            self.in_flight -= 1
            raise
        future.add_done_callback(lambda _: self._release_from_thread(loop))
        return await asyncio.wrap_future(future)

    def _timed(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            # a float store is atomic under the GIL; a lost update only blurs the average
            self.job_seconds = 0.8 * self.job_seconds + 0.2 * (time.perf_counter() - started)

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
            settings.heavy_pool_workers,
            settings.heavy_queue_limit,
            settings.heavy_pool_nice,
            settings.heavy_max_wait_s,
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
        f"(settings BPC_HEAVY_POOL_WORKERS, BPC_HEAVY_QUEUE_LIMIT = {exc.capacity} at once, "
        f"BPC_HEAVY_MAX_WAIT_S); retry in {exc.retry_after_s} s",
        "retry_after": exc.retry_after_s,
    }
    return JSONResponse(
        status_code=503,
        content={"detail": [detail]},
        headers={"Retry-After": str(exc.retry_after_s)},
    )


def install_heavy_pool(app: FastAPI) -> None:
    app.add_exception_handler(HeavyPoolBusy, _busy_handler)
