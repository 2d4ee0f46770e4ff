"""The heavy pool: bounded in-flight work, 503 with Retry-After when full, slots freed by the worker."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import httpx
import pytest
from fastapi import FastAPI

from app.api.heavy import HeavyPool, HeavyPoolBusy, install_heavy_pool


def test_pool_refuses_past_workers_plus_queue_and_recovers() -> None:
    async def scenario() -> None:
        pool = HeavyPool(workers=1, queue_limit=1)
        gate = threading.Event()
        first = asyncio.ensure_future(pool.run(gate.wait, 5))
        second = asyncio.ensure_future(pool.run(lambda: 7))
        await asyncio.sleep(0.05)
        assert pool.in_flight == 2
        with pytest.raises(HeavyPoolBusy) as info:
            await pool.run(lambda: 1)
        assert info.value.capacity == 2
        assert info.value.retry_after_s == 1  # 2 jobs at the starting guess of 0.5 s each
        gate.set()
        assert await first is True
        assert await second == 7
        await asyncio.sleep(0.01)
        assert pool.in_flight == 0
        assert await pool.run(sum, [1, 2, 3]) == 6
        pool.shutdown()

    asyncio.run(scenario())


def test_pool_refuses_when_the_line_would_take_longer_than_max_wait() -> None:
    async def scenario() -> None:
        pool = HeavyPool(workers=1, queue_limit=100, max_wait_s=1.0)
        gate = threading.Event()
        await pool.run(time.sleep, 0.05)  # one finished job moves the pace towards 0.05 s
        assert 0.05 < pool.job_seconds < 0.5
        pool.job_seconds = 0.6  # as if recent jobs took 0.6 s
        jobs = [asyncio.ensure_future(pool.run(gate.wait, 5)) for _ in range(2)]
        await asyncio.sleep(0.05)
        assert pool.in_flight == 2  # 1 running + 0.6 s of waiting work: under 1 s
        with pytest.raises(HeavyPoolBusy) as info:
            await pool.run(lambda: 1)  # 2 x 0.6 s = 1.2 s ahead: over max_wait_s
        assert info.value.retry_after_s == 2
        gate.set()
        await asyncio.gather(*jobs)
        pool.shutdown()

    asyncio.run(scenario())


def test_abandoned_running_job_keeps_its_slot_until_the_thread_finishes() -> None:
    async def scenario() -> None:
        pool = HeavyPool(workers=1, queue_limit=0)
        gate = threading.Event()
        running = asyncio.ensure_future(pool.run(gate.wait, 5))
        await asyncio.sleep(0.05)
        running.cancel()  # the client went away; the thread still computes
        await asyncio.sleep(0.05)
        assert pool.in_flight == 1
        with pytest.raises(HeavyPoolBusy):
            await pool.run(lambda: 1)
        gate.set()
        for _ in range(100):
            if pool.in_flight == 0:
                break
            await asyncio.sleep(0.01)
        assert pool.in_flight == 0
        pool.shutdown()

    asyncio.run(scenario())


def test_exception_in_job_propagates_and_frees_the_slot() -> None:
    async def scenario() -> None:
        pool = HeavyPool(workers=1, queue_limit=0)
        with pytest.raises(ZeroDivisionError):
            await pool.run(lambda: 1 / 0)
        await asyncio.sleep(0.01)
        assert pool.in_flight == 0
        pool.shutdown()

    asyncio.run(scenario())


def test_busy_pool_answers_503_with_retry_after_over_http() -> None:
    app = FastAPI()
    install_heavy_pool(app)
    pool = HeavyPool(workers=1, queue_limit=1)

    @app.get("/slow")
    async def slow() -> dict[str, float]:
        return {"slept": await pool.run(_sleep, 0.4)}

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return list(await asyncio.gather(*(client.get("/slow") for _ in range(4))))

    responses = asyncio.run(scenario())
    pool.shutdown()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 503, 503]
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1"
    [detail] = busy.json()["detail"]
    assert detail["type"] == "server_busy"
    assert "BPC_HEAVY_POOL_WORKERS" in detail["msg"]


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_heavy_threads_run_at_lower_cpu_priority_than_the_event_loop() -> None:
    async def scenario() -> tuple[int, int]:
        niced = HeavyPool(workers=1, queue_limit=0, niceness=10)
        plain = HeavyPool(workers=1, queue_limit=0, niceness=0)
        try:
            return await niced.run(_own_niceness), await plain.run(_own_niceness)
        finally:
            niced.shutdown()
            plain.shutdown()

    loop_niceness = _own_niceness()
    heavy, unchanged = asyncio.run(scenario())
    assert heavy == 10
    assert unchanged == loop_niceness
    assert _own_niceness() == loop_niceness  # the event loop's own thread is untouched
