"""The job pool: real processes that a deadline, a disconnect or a memory cap stops for real, with
503/429 and Retry-After when full, fair slots, and the pool's life tied to the app's lifespan."""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api.heavy import install_heavy_pool, run_heavy
from app.api.lane import ThreadLane
from app.api.pool import ClientSlots, HeavyPool, PoolConfig
from app.api.refusals import (
    ClientBusy,
    ClientGone,
    ComputeRefused,
    HeavyPoolBusy,
    JobDeadline,
    JobOutOfMemory,
)
from app.core.errors import LimitError, ProblemError
from tests.pool_jobs import (
    allocate,
    over_a_limit,
    pid_and_niceness,
    sleep_then,
    started_at,
    started_held,
)

# Job processes import only what these jobs need (tests/pool_jobs.py, not this module), so
# each test's processes start in well under a second.
PRELOAD = ("tests.pool_jobs",)


def _pool(**config: Any) -> HeavyPool:
    pool = HeavyPool(PoolConfig(**config), preload=PRELOAD)
    pool.start()
    return pool


def _ends_soon(pid: int, within_s: float = 10.0) -> bool:
    """Whether the process is gone within `within_s` (a kill takes effect asynchronously)."""
    deadline = time.monotonic() + within_s
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child stays a zombie until reaped; join() in kill() reaps it
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False  # reaped between the two looks


async def _within(seconds: float, coro: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(coro, seconds)


# --- the tests ------------------------------------------------------------------------------


def test_job_runs_in_another_process_at_lower_priority_and_returns_its_value() -> None:
    async def scenario() -> None:
        pool = _pool(niceness=7)
        try:
            pid, niceness = await pool.run(pid_and_niceness)
            assert pid != os.getpid() and pid in pool.pids()
            # 7 below the tests' own priority, where Linux's floor (19) allows: a suite run under
            # `nice -n 15` gets 19, not 22
            assert niceness == min(os.nice(0) + 7, 19)
            assert await pool.run(sleep_then, 0, {"a": [1, 2]}) == {"a": [1, 2]}
        finally:
            pool.shutdown()
        assert not _alive(pid)  # shutdown stops the processes

    asyncio.run(scenario())


def test_a_pool_told_not_to_start_at_once_starts_with_its_first_job() -> None:
    # BPC_JOB_PROCESSES_AT_START=false (scripts/mutation.sh): no process until a job comes
    from app.core.config import Settings

    assert PoolConfig.from_settings(Settings(job_processes_at_start=False)).at_start is False
    assert PoolConfig.from_settings(Settings()).at_start is True

    async def scenario() -> None:
        pool = _pool(workers=2, at_start=False)
        try:
            assert pool.pids() == []
            assert await _within(1.0, pool.wait_started(5.0)) is True  # nothing to wait for
            assert pool.readiness() is None  # ready: a job starts the processes
            pid, _ = await _within(30.0, pool.run(pid_and_niceness))
            assert pid != os.getpid() and pid in pool.pids() and len(pool.pids()) == 2
            assert await pool.run(sleep_then, 0, 5) == 5
            assert len(pool.pids()) == 2  # started once, not per job
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_deadline_kills_the_process_and_a_fresh_one_takes_its_place() -> None:
    async def scenario() -> None:
        pool = _pool(deadline_s=1.0)
        try:
            first_pid, _ = await pool.run(pid_and_niceness)
            with pytest.raises(JobDeadline) as info:
                await pool.run(sleep_then, 60, "never")
            assert info.value.status == 413
            assert "BPC_JOB_DEADLINE_S" in info.value.msg
            assert _ends_soon(first_pid)  # really stopped, not left running in the background
            assert pool.restarts == 1
            second_pid, _ = await pool.run(pid_and_niceness)
            assert second_pid != first_pid
            assert pool.in_flight == 0
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_runaway_allocation_is_a_413_and_the_pool_keeps_working() -> None:
    async def scenario() -> None:
        pool = _pool(memory_bytes=400 * 2**20)
        try:
            assert await pool.run(allocate, 50 * 2**20) == 50 * 2**20  # within the cap
            with pytest.raises(JobOutOfMemory) as info:
                await pool.run(allocate, 2 * 2**30)
            assert info.value.status == 413
            assert "BPC_JOB_MEMORY_BYTES" in info.value.msg
            assert await pool.run(allocate, 50 * 2**20) == 50 * 2**20
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_client_going_away_stops_its_running_job() -> None:
    async def scenario() -> None:
        pool = _pool(deadline_s=60)
        gone = asyncio.Event()

        async def disconnected() -> None:
            await gone.wait()

        try:
            pid, _ = await pool.run(pid_and_niceness)
            job = asyncio.ensure_future(pool.run(sleep_then, 60, "x", disconnected=disconnected))
            while pool.in_flight == 0 or pool._idle:  # wait until the job is on the process
                await asyncio.sleep(0.01)
            gone.set()
            with pytest.raises(ClientGone):
                await _within(10, job)
            assert _ends_soon(pid)
            assert pool.in_flight == 0
            assert await pool.run(sleep_then, 0, 5) == 5
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_domain_errors_cross_the_process_boundary_with_their_status() -> None:
    async def scenario() -> None:
        pool = _pool()
        try:
            with pytest.raises(ProblemError) as info:
                await pool.run(over_a_limit)
            assert info.value.status == 413
            [problem] = info.value.problems
            assert problem.msg == "the thing is 11, over the limit of 10 (setting BPC_MAX_THING)"
            assert problem.loc == ("body", "thing")
            with pytest.raises(ZeroDivisionError):
                await pool.run(divmod, 1, 0)
            assert await pool.run(divmod, 7, 2) == (3, 1)  # the process survived both
            assert pool.restarts == 0
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_full_pool_refuses_with_retry_after_and_recovers() -> None:
    async def scenario() -> None:
        pool = _pool(workers=1, queue_limit=1)
        try:
            jobs = [asyncio.ensure_future(pool.run(sleep_then, 1.0, i)) for i in range(2)]
            await asyncio.sleep(0)
            assert pool.in_flight == 2
            with pytest.raises(HeavyPoolBusy) as info:
                # a client with nothing in the line (one with work in it gets a 429 instead)
                await pool.run(sleep_then, 0, "refused", client="10.0.0.9")
            assert info.value.status == 503
            assert info.value.capacity == 2
            assert info.value.retry_after_s == 1  # 2 jobs at the starting guess of 0.5 s each
            assert "BPC_HEAVY_QUEUE_LIMIT" in info.value.msg
            assert await asyncio.gather(*jobs) == [0, 1]
            assert pool.in_flight == 0
            # the pace is measured by the parent: two jobs of about 1 s moved it up from 0.5 s
            assert pool.job_seconds > 0.5
            assert await pool.run(sleep_then, 0, "again") == "again"
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_one_client_cannot_hold_every_slot() -> None:
    async def scenario() -> None:
        pool = _pool(workers=1, queue_limit=10, per_client=2)
        try:
            mine = [
                asyncio.ensure_future(pool.run(sleep_then, 0.5, i, client="10.0.0.1"))
                for i in range(2)
            ]
            await asyncio.sleep(0)
            with pytest.raises(ClientBusy) as info:
                await pool.run(sleep_then, 0, "third", client="10.0.0.1")
            assert info.value.status == 429
            assert info.value.retry_after_s is not None and info.value.retry_after_s >= 1
            assert "BPC_COMPUTE_PER_CLIENT" in info.value.msg
            # another student is still admitted
            assert await pool.run(sleep_then, 0, "other", client="10.0.0.2") == "other"
            await asyncio.gather(*mine)
            assert pool.slots.in_flight == {}
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_a_free_process_goes_to_the_client_with_fewest_jobs_running(tmp_path: Path) -> None:
    release = str(tmp_path / "release")

    async def waiting(pool: HeavyPool, count: int) -> None:
        # the pool's line, read as state: no guess at how long a job takes to start
        for _ in range(6000):
            if len(pool._waiters) == count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"never {count} jobs waiting")

    async def scenario() -> None:
        pool = _pool(workers=1, queue_limit=10)
        try:
            await pool.run(sleep_then, 0, None)  # the process is up
            # A busy client queues three jobs; busy0 holds the one process until released.
            busy = [
                asyncio.ensure_future(pool.run(started_held, f"busy{i}", release, client="busy"))
                for i in range(3)
            ]
            await waiting(pool, 2)  # busy0 is running, busy1 and busy2 wait
            other = asyncio.ensure_future(pool.run(started_at, "other", 0.0, client="other"))
            await waiting(pool, 3)
            Path(release).touch()
            results = await asyncio.gather(*busy, other)
            order = [label for label, _ in sorted(results, key=lambda r: r[1])]
            # FIFO would give busy0, busy1, busy2, other
            assert order == ["busy0", "other", "busy1", "busy2"]
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_predicted_seconds_refuse_a_long_line_before_it_runs() -> None:
    """The cost model's predicted seconds, not the recent pace, say how long the line is: one
    job predicted at 30 s fills a 10 s wait budget, so the next is a 503 at once even though
    the pace seen so far (0.5 s per job) would have let it queue."""

    async def scenario() -> None:
        pool = _pool(workers=1, queue_limit=8, max_wait_s=10.0)
        try:
            long_job = asyncio.ensure_future(pool.run(sleep_then, 0.3, "long", predicted_s=30.0))
            await asyncio.sleep(0)
            assert pool.expected_wait_s() == 30.0
            with pytest.raises(HeavyPoolBusy) as info:
                await pool.run(sleep_then, 0, "refused", predicted_s=0.01, client="10.0.0.9")
            assert info.value.retry_after_s == 30  # capped at 30 s
            assert await long_job == "long"
            assert pool.expected_wait_s() == 0.0  # the prediction leaves with its job
            # without the long job, a short prediction is admitted
            assert await pool.run(sleep_then, 0, "short", predicted_s=0.01) == "short"
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_a_client_holds_at_most_its_predicted_seconds_beyond_its_first_job() -> None:
    """BPC_COMPUTE_SECONDS_PER_CLIENT = 3: a first job of any size is let in, a second one
    only while the client's predicted seconds stay at 3 or under; other clients are not
    affected, and the seconds are given back with the job."""
    slots = ClientSlots(per_client=10, seconds_per_client=3.0)
    slots.take("a", 1, seconds=5.0)  # a first job is never refused for its size
    with pytest.raises(ClientBusy) as info:
        slots.take("a", 1, seconds=0.5)
    assert info.value.status == 429
    assert "BPC_COMPUTE_SECONDS_PER_CLIENT" in info.value.msg
    assert info.value.retry_after_s == 5  # the seconds the client already holds
    slots.take("b", 1, seconds=2.0)
    slots.take("b", 1, seconds=1.0)  # 2 + 1 = 3: at the limit, accepted
    with pytest.raises(ClientBusy):
        slots.take("b", 1, seconds=0.001)  # 3.001: over
    slots.give_back("a", seconds=5.0)
    assert "a" not in slots.in_flight and "a" not in slots.seconds
    slots.take("a", 1, seconds=0.5)
    slots.take("a", 1, seconds=2.5)  # 0.5 + 2.5 = 3
    slots.give_back("b", seconds=1.0)
    assert slots.seconds["b"] == 2.0


def test_thread_lane_is_bounded_and_shares_the_per_client_cap() -> None:
    async def scenario() -> None:
        slots = ClientSlots(per_client=3)
        lane = ThreadLane(threads=1, queue_limit=1, slots=slots)
        try:
            jobs = [
                asyncio.ensure_future(lane.run(sleep_then, 0.3, i, client=f"c{i}"))
                for i in range(2)
            ]
            await asyncio.sleep(0)
            with pytest.raises(HeavyPoolBusy) as info:
                await lane.run(sleep_then, 0, "x", client="c9")
            assert "BPC_EVALUATE_QUEUE_LIMIT" in info.value.msg
            assert await asyncio.gather(*jobs) == [0, 1]
            deadline = time.monotonic() + 30  # slots come back on the loop once each thread is done
            while lane.in_flight and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert lane.in_flight == 0 and slots.in_flight == {}
        finally:
            lane.shutdown()

    asyncio.run(scenario())


def _app_with_slow_route() -> FastAPI:
    from app.api.heavy import compute_lifespan

    app = FastAPI(lifespan=compute_lifespan)
    install_heavy_pool(app)

    @app.get("/slow")
    async def slow() -> dict[str, float]:
        return {"slept": await run_heavy(sleep_then, 0.5, 0.5)}

    return app


def test_pool_lives_in_the_lifespan_and_answers_503_json_over_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.core.config import get_settings

    monkeypatch.setenv("BPC_HEAVY_QUEUE_LIMIT", "1")
    monkeypatch.setenv("BPC_COMPUTE_PER_CLIENT", "0")
    get_settings.cache_clear()
    try:
        app = _app_with_slow_route()
        with TestClient(app) as client:
            pool = app.state.compute.heavy
            pids = pool.pids()
            assert pids and all(_alive(p) for p in pids)

            async def burst() -> list[httpx.Response]:
                # four students (a client with work in a full line gets a 429 instead)
                async def one(i: int) -> httpx.Response:
                    transport = httpx.ASGITransport(app=app, client=(f"10.0.0.{i}", 123))
                    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                        return await c.get("/slow")

                return list(await asyncio.gather(*(one(i) for i in range(4))))

            responses = client.portal.call(burst)  # type: ignore[union-attr]
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 200, 503, 503]
        busy = next(r for r in responses if r.status_code == 503)
        assert busy.headers["retry-after"] == "1"
        [detail] = busy.json()["detail"]
        assert detail["type"] == "server_busy"
        assert "BPC_HEAVY_POOL_WORKERS" in detail["msg"]
        assert not any(_alive(p) for p in pids)  # the lifespan's end stopped them
    finally:
        get_settings.cache_clear()


def test_a_stopped_pool_refuses_at_once_instead_of_waiting_for_ever() -> None:
    async def scenario() -> None:
        pool = _pool()
        lane = ThreadLane(threads=1, queue_limit=1, slots=ClientSlots(0))
        pool.shutdown()
        lane.shutdown()
        for run in (pool.run, lane.run):
            with pytest.raises(ComputeRefused) as info:
                await _within(5, run(sleep_then, 0, "late"))
            assert info.value.status == 503 and info.value.retry_after_s == 1

    asyncio.run(scenario())


def test_a_client_opened_inside_another_leaves_the_outer_ones_lanes_working() -> None:
    app = _app_with_slow_route()
    with TestClient(app) as outer:
        with TestClient(app) as inner:
            assert inner.get("/slow").status_code == 200
        response = outer.get("/slow")
        assert response.status_code == 200, response.text


def test_evaluate_computes_small_circuits_in_process_and_large_ones_in_a_job_process() -> None:
    from app.core.config import get_settings
    from app.main import app

    small = {"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}}
    # 120 x 120 wires from a 120 x 1 and a 1 x 120 input: about 1.3e8 predicted work units,
    # over BPC_EVALUATE_IN_PROCESS_MAX_WORK (1e7), under BPC_MAX_WORK
    tensor = {
        "expression": "s = a + b\nt = s*s\nsum(t)",
        "inputs": {"a": [[0.5]] * 120, "b": [[0.25] * 120]},
    }
    # over BPC_MAX_WORK itself: refused by the trial in the server process, no job started
    gradcheck = {
        "expression": "sum(x @ x.T)",
        "inputs": {"x": [[0.5] * 100] * 300},
        "gradcheck": True,
    }
    long_text = {"expression": " + ".join(["x*y"] * 400), "inputs": {"x": 1.5, "y": -2}}
    medium = {"expression": " + ".join(["x*y"] * 30), "inputs": {"x": 1.5, "y": -2}}
    assert len(medium["expression"]) == 30 * 3 + 29 * 3  # 177
    with TestClient(app) as client:
        lanes = app.state.compute

        def post(body: dict[str, Any]) -> tuple[Any, int, int, int]:
            inline, threads = lanes.evaluate.inline_answered, lanes.evaluate.answered
            jobs = lanes.bulk.answered
            response = client.post("/api/v1/circuits/evaluate", json=body)
            _wait_for_lane_to_settle(lanes.evaluate)
            # answered on the event loop itself, by an evaluate thread, by a job process
            return (
                response,
                lanes.evaluate.inline_answered - inline,
                lanes.evaluate.answered - threads,
                lanes.bulk.answered - jobs,
            )

        # (x + y) * z: 21 characters, predicted work under BPC_EVALUATE_INLINE_MAX_WORK
        response, inline, threads, jobs = post(small)
        assert response.status_code == 200 and response.json()["output"]["value"] == -12.0
        assert (inline, threads, jobs) == (1, 0, 0)

        # 30 products: 177 characters, but predicted work over BPC_EVALUATE_INLINE_MAX_WORK
        response, inline, threads, jobs = post(medium)
        assert response.status_code == 200 and response.json()["output"]["value"] == 30 * -3.0
        assert (inline, threads, jobs) == (0, 1, 0)

        response, inline, threads, jobs = post(tensor)
        assert response.status_code == 200
        # sum over i, j of (0.5 + 0.25)**2 = 120 * 120 * 0.5625
        assert response.json()["output"]["value"] == 8100.0
        # both trials deferred it (the thread's ran: its slot is counted), the job computed it
        assert (inline, threads, jobs) == (0, 1, 1)

        response, inline, threads, jobs = post(gradcheck)
        assert response.status_code == 413
        [detail] = response.json()["detail"]
        # the real budget is named, not the trial's smaller one
        assert (
            f"over the limit of {get_settings().max_work} (setting BPC_MAX_WORK)" in detail["msg"]
        )
        assert jobs == 0

        response, inline, threads, jobs = post(long_text)
        assert response.status_code == 200
        assert response.json()["output"]["value"] == 400 * 1.5 * -2
        assert (inline, threads, jobs) == (0, 0, 1)


def test_a_slider_re_evaluation_runs_on_the_evaluate_threads() -> None:
    """bench/frontend.py's 200-gate circuit (50 terms exp(-(a_i * b_j)), times c): its first
    answer is predicted at about 1.8e7 work units, over BPC_EVALUATE_IN_PROCESS_MAX_WORK (1e7),
    so a job process computes it; re-evaluated with new inputs as the page asks (compact), the
    parse and the compact columns are kept, the prediction is about 8.2e6 and an evaluate thread
    computes it, charged its CPU time. A verbose answer is never the reused one."""
    from app.main import app

    pairs = [(i % 40, (i * 7) % 40) for i in range(50)]
    expression = "(" + " + ".join(f"exp(-(a{a} * b{b}))" for a, b in pairs) + ") * c"
    inputs = {**{f"a{i}": 0.01 * i for i in range(40)}, **{f"b{i}": 0.02 * i for i in range(40)}}
    with TestClient(app) as client:
        lanes = app.state.compute

        def post(c: float, answer_format: str) -> tuple[float, int, int]:
            threads, jobs = lanes.evaluate.answered, lanes.bulk.answered
            body = {"expression": expression, "inputs": {**inputs, "c": c}, "format": answer_format}
            response = client.post("/api/v1/circuits/evaluate", json=body)
            assert response.status_code == 200, response.text
            _wait_for_lane_to_settle(lanes.evaluate)
            answer = response.json()
            # the compact answer names the output's node; the verbose one gives its record
            if answer_format == "compact":
                value = answer["nodes"]["value"][answer["output"]]
            else:
                value = answer["output"]["value"]
            return value, lanes.evaluate.answered - threads, lanes.bulk.answered - jobs

        total = sum(math.exp(-(0.01 * a * 0.02 * b)) for a, b in pairs)
        # the first answer: a trial on an evaluate thread parses it and defers it, a job
        # process computes it
        value, threads, jobs = post(1.0, "compact")
        assert value == pytest.approx(total, rel=1e-12) and (threads, jobs) == (1, 1)
        # parsed before: an evaluate thread, which builds the compact columns and keeps them
        value, threads, jobs = post(2.0, "compact")
        assert value == pytest.approx(2 * total, rel=1e-12) and (threads, jobs) == (1, 0)
        value, threads, jobs = post(3.0, "compact")
        assert value == pytest.approx(3 * total, rel=1e-12) and (threads, jobs) == (1, 0)
        value, threads, jobs = post(4.0, "verbose")
        assert value == pytest.approx(4 * total, rel=1e-12) and (threads, jobs) == (1, 1)


def test_the_inline_limits_at_n_and_n_plus_one() -> None:
    """A circuit runs on the event loop when its text is at most BPC_EVALUATE_INLINE_MAX_SIZE
    characters and its predicted work at most BPC_EVALUATE_INLINE_MAX_WORK; one over either
    and it goes to an evaluate thread, with the same answer."""
    from app.core.config import get_settings
    from app.main import app
    from tests.settings_override import overridden_settings

    neuron = "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))"
    inputs = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
    size = get_settings().evaluate_inline_max_size
    padded = neuron + " " * (size - len(neuron))  # exactly N characters; spaces change nothing
    with TestClient(app) as client:
        lanes = app.state.compute

        def where(expression: str) -> str:
            inline, threads = lanes.evaluate.inline_answered, lanes.evaluate.answered
            response = client.post(
                "/api/v1/circuits/evaluate", json={"expression": expression, "inputs": inputs}
            )
            assert response.status_code == 200, response.text[:300]
            # the cs231n neuron: sigma(1) = 0.7310585786300049
            assert response.json()["output"]["value"] == 1 / (1 + math.exp(-1.0))
            _wait_for_lane_to_settle(lanes.evaluate)
            moved = (lanes.evaluate.inline_answered - inline, lanes.evaluate.answered - threads)
            assert moved in {(1, 0), (0, 1)}
            return "inline" if moved == (1, 0) else "thread"

        assert len(padded) == size and where(padded) == "inline"
        assert where(padded + " ") == "thread"  # N + 1 characters

        # the neuron's predicted work, as the trial refuses it when the inline budget is 1
        with overridden_settings(evaluate_inline_max_work=1):
            assert where(neuron) == "thread"
        work = _predicted_work({"expression": neuron, "inputs": inputs})
        with overridden_settings(evaluate_inline_max_work=work):
            assert where(neuron) == "inline"
        with overridden_settings(evaluate_inline_max_work=work - 1):
            assert where(neuron) == "thread"
        with overridden_settings(evaluate_inline_max_work=0):  # off
            assert where(neuron) == "thread"

        # a tensor input is never tiny: its lists become arrays before the cost is known
        inline, threads = lanes.evaluate.inline_answered, lanes.evaluate.answered
        response = client.post(
            "/api/v1/circuits/evaluate", json={"expression": "sum(a)", "inputs": {"a": [1.5, 2]}}
        )
        assert response.status_code == 200 and response.json()["output"]["value"] == 3.5
        _wait_for_lane_to_settle(lanes.evaluate)
        assert lanes.evaluate.inline_answered == inline
        assert lanes.evaluate.answered == threads + 1


def _predicted_work(body: dict[str, Any]) -> int:
    from dataclasses import replace

    from app.core.config import get_settings
    from app.core.limits import Limits
    from app.engine import evaluate_job

    with pytest.raises(LimitError) as info:
        evaluate_job(dict(body), replace(Limits.from_settings(get_settings()), max_work=1))
    [work] = [p.extra["got"] for p in info.value.problems if p.extra.get("setting") == "max_work"]
    return int(work)


def _wait_for_lane_to_settle(lane: Any) -> None:
    """A thread's slot (and its `answered` count) is given back on the loop just after the
    answer; waits for that state, for as long as a busy machine needs (up to 30 s)."""
    deadline = time.monotonic() + 30
    while lane.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lane.in_flight == 0


def test_small_landscape_jobs_run_on_the_evaluate_threads_and_others_in_a_job_process() -> None:
    """A landscape job predicted within BPC_LANDSCAPE_IN_PROCESS_MAX_S and _MAX_BYTES runs on
    the evaluate threads (a process hop costs more than a /loss); one over either limit, or
    whose memory the cost model does not bound (a descent run), in a job process."""
    from app.core.limits import Limits
    from app.landscape.jobs import compute_loss, prediction
    from app.main import app
    from app.schemas.landscape import LossRequest, OptimizeRequest

    W = [[0.1, -0.2, 0.3], [0.2, 0.1, -0.1], [-0.3, 0.2, 0.1]]
    loss = {"dataset": {"name": "blobs", "n": 300, "d": 2, "c": 3, "seed": 0}, "bias": True, "W": W}
    run = {"dataset": {"name": "toy-2d"}, "strategy": "gd", "steps": 5, "step_size": 0.1}
    cost = prediction(LossRequest.model_validate(loss), Limits())
    assert cost.memory_bytes is not None
    assert prediction(OptimizeRequest.model_validate(run), Limits()).memory_bytes is None
    with TestClient(app) as client:
        lanes = app.state.compute

        def post(path: str, body: dict[str, Any]) -> tuple[Any, int, int]:
            threads, jobs = lanes.evaluate.answered, lanes.heavy.answered
            response = client.post(f"/api/v1/landscape/{path}", json=body)
            _wait_for_lane_to_settle(lanes.evaluate)
            return response, lanes.evaluate.answered - threads, lanes.heavy.answered - jobs

        expected = compute_loss(LossRequest.model_validate(loss), Limits())
        # the defaults: 0.02 s and 16 MB; this /loss is predicted well under both
        assert cost.seconds <= lanes.small_landscape_s
        assert cost.memory_bytes <= lanes.small_landscape_bytes
        response, threads, jobs = post("loss", loss)
        assert response.status_code == 200 and (threads, jobs) == (1, 0)
        assert response.json()["loss"] == expected["loss"]
        assert response.json()["grad_W"] == expected["grad_W"]
        # each limit at the prediction (in) and just under it (out)
        lanes.small_landscape_s = cost.seconds
        lanes.small_landscape_bytes = cost.memory_bytes
        assert post("loss", loss)[1:] == (1, 0)
        lanes.small_landscape_s = math.nextafter(cost.seconds, 0.0)
        response, threads, jobs = post("loss", loss)
        assert (threads, jobs) == (0, 1)
        assert response.json()["loss"] == expected["loss"]  # the same answer from a job process
        lanes.small_landscape_s = cost.seconds
        lanes.small_landscape_bytes = cost.memory_bytes - 1
        assert post("loss", loss)[1:] == (0, 1)
        # a descent run's memory is not modelled: always a job process, however short
        lanes.small_landscape_s, lanes.small_landscape_bytes = 1e9, 10**12
        response, threads, jobs = post("optimize", run)
        assert response.status_code == 200 and (threads, jobs) == (0, 1)
