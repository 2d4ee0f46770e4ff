"""Per-client compute budgets: a token bucket of predicted seconds (429 past it, before any work),
and a full line that tells a client with work in it (429) from one without (503)."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Any

import httpx
import pytest

from app.api.budget import ComputeBudget, water_level
from app.api.lane import ThreadLane
from app.api.pool import ClientSlots, HeavyPool, PoolConfig
from app.api.refusals import ClientOverBudget, ClientOverShare, HeavyPoolBusy
from app.core.limits import Limits
from app.landscape.jobs import precheck
from app.schemas.landscape import SliceRequest
from tests.live_app import running_app
from tests.pool_jobs import busy_for, sleep_then

# Job processes import only the jobs (tests/pool_jobs.py), not this module: well under a second
PRELOAD = ("tests.pool_jobs",)


class Clock:
    """A clock the test moves by hand, so refills are exact and no test waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _budget(
    per_minute_s: float, burst_s: float, max_clients: int = 100
) -> tuple[ComputeBudget, Clock]:
    clock = Clock()
    return ComputeBudget(per_minute_s, burst_s, max_clients, clock=clock), clock


# --- the bucket ----------------------------------------------------------------------------


def test_a_full_bucket_covers_exactly_its_burst_and_the_next_second_waits_for_the_refill() -> None:
    # 6 s a minute is 0.1 s of predicted compute per second; a burst of 3 s
    budget, _ = _budget(per_minute_s=6.0, burst_s=3.0)
    for _ in range(3):  # three jobs of 1 s: 3 s, exactly the burst
        assert budget.retry_after_s("a", 1.0) is None
        budget.spend("a", 1.0)
    assert budget.tokens("a") == 0.0
    # the fourth is 1 s short; at 0.1 s a second that is 10 s
    assert budget.retry_after_s("a", 1.0) == 10
    # a smaller job is shorter by less: 0.25 s at 0.1 s/s is 2.5 s, rounded up
    assert budget.retry_after_s("a", 0.25) == 3
    # another client has its own bucket
    assert budget.retry_after_s("b", 3.0) is None


def test_refill_is_continuous_and_capped_at_the_burst() -> None:
    budget, clock = _budget(per_minute_s=6.0, burst_s=3.0)
    budget.spend("a", 3.0)
    clock.now += 5.0  # 5 s x 0.1 s/s = 0.5 s back
    assert budget.tokens("a") == pytest.approx(0.5)
    assert budget.retry_after_s("a", 1.0) == 5  # 0.5 s short: 5 s more
    clock.now += 5.0  # 1.0 s in the bucket: exactly the job
    assert budget.retry_after_s("a", 1.0) is None
    clock.now += 3600.0
    assert budget.tokens("a") == 3.0  # never more than the burst


def test_a_job_larger_than_the_burst_needs_a_full_bucket_and_is_paid_for_in_full() -> None:
    budget, clock = _budget(per_minute_s=6.0, burst_s=3.0)
    budget.spend("a", 0.5)
    # 2.5 s left, a 5 s job needs the whole burst (3 s): 0.5 s short, 5 s at 0.1 s/s
    assert budget.retry_after_s("a", 5.0) == 5
    clock.now += 5.0
    assert budget.retry_after_s("a", 5.0) is None
    budget.spend("a", 5.0)
    assert budget.tokens("a") == pytest.approx(-2.0)
    # a 1 s job now waits for 3 s to come back: 30 s
    assert budget.retry_after_s("a", 1.0) == 30


def test_zero_per_minute_turns_budgets_off() -> None:
    budget, _ = _budget(per_minute_s=0.0, burst_s=3.0)
    for _ in range(100):
        assert budget.retry_after_s("a", 10.0) is None
        budget.spend("a", 10.0)
    assert len(budget) == 0


def test_the_table_stays_bounded_and_keeps_the_clients_in_debt() -> None:
    budget, clock = _budget(per_minute_s=6.0, burst_s=3.0, max_clients=8)
    budget.spend("hog", 3.0)  # empty, and stays nearly so
    for i in range(200):
        budget.spend(f"10.1.{i // 256}.{i % 256}", 0.1)
        clock.now += 0.01
        assert len(budget) <= 8
    assert budget.tokens("hog") < 1.0  # the emptiest bucket was never dropped
    assert budget.retry_after_s("hog", 3.0) is not None
    # buckets that have refilled are forgotten at the next sweep: the same as never seen
    clock.now += 3600.0
    for i in range(9):
        budget.spend(f"10.2.0.{i}", 0.1)
    assert len(budget) <= 8
    assert "hog" not in budget._buckets


def test_settling_a_job_gives_back_what_it_did_not_use_and_takes_what_it_overran() -> None:
    budget, _ = _budget(per_minute_s=6.0, burst_s=3.0)
    budget.spend("a", 2.0)  # predicted 2 s when let in
    assert budget.tokens("a") == pytest.approx(1.0)
    used_before = budget.usage("a")
    budget.settle("a", charged=2.0, used=0.5)  # it used 0.5 s of CPU: 1.5 s come back
    assert budget.tokens("a") == pytest.approx(2.5)
    assert budget.usage("a") == pytest.approx(used_before * 0.5 / 2.0)
    budget.settle("a", charged=0.1, used=0.6)  # an underestimate: 0.5 s more is taken
    assert budget.tokens("a") == pytest.approx(2.0)
    budget.settle("a", charged=0.0, used=-1.0)  # a negative reading counts as 0: no change
    assert budget.tokens("a") == pytest.approx(2.0)
    budget.settle("a", charged=5.0, used=0.0)  # never above the burst
    assert budget.tokens("a") == 3.0
    budget.settle("nobody", charged=1.0, used=0.0)  # a forgotten client: nothing to do
    assert "nobody" not in budget._buckets


def test_a_pool_job_is_paid_for_in_the_cpu_seconds_its_process_used() -> None:
    async def scenario() -> None:
        budget, _ = _budget(per_minute_s=6.0, burst_s=3.0)
        pool = _pool(budget, workers=1, queue_limit=8, max_wait_s=100.0)
        try:
            await pool.run(sleep_then, 0, None, client="warm-up")
            # predicted 2 s, sleeps: almost no CPU, so almost all of the 2 s comes back
            assert await pool.run(sleep_then, 0.05, "idle", client="a", predicted_s=2.0) == "idle"
            assert 2.9 < budget.tokens("a") <= 3.0
            # predicted 0.01 s, spins for 0.3 s of CPU: the bucket pays the 0.3 s
            # in a job process: its own CPU clock (busy_for is pickled by reference)
            used = await pool.run(busy_for, 0.3, time.process_time, client="b", predicted_s=0.01)
            assert used >= 0.3
            assert budget.tokens("b") == pytest.approx(3.0 - used, abs=0.05)
        finally:
            pool.shutdown()
        # the large circuits' pool keeps the prediction: its line is admitted by it
        budget, _ = _budget(per_minute_s=6.0, burst_s=3.0)
        pool = _pool(budget, workers=1, queue_limit=8, max_wait_s=100.0, settle_to_cpu=False)
        try:
            assert await pool.run(sleep_then, 0.05, "idle", client="a", predicted_s=2.0) == "idle"
            assert budget.tokens("a") == pytest.approx(1.0)
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_the_app_settles_landscape_jobs_and_not_large_circuits() -> None:
    from app.api.heavy import Compute
    from app.core.config import Settings

    compute = Compute.from_settings(Settings())
    assert compute.heavy.config.settle_to_cpu and not compute.bulk.config.settle_to_cpu
    assert compute.heavy.budget is compute.bulk.budget is compute.evaluate.budget


# --- the pools -----------------------------------------------------------------------------


def _pool(budget: ComputeBudget | None, **config: Any) -> HeavyPool:
    pool = HeavyPool(PoolConfig(**config), preload=PRELOAD, budget=budget)
    pool.start()
    return pool


def test_pool_refuses_past_the_budget_with_429_naming_the_settings_before_any_work() -> None:
    async def scenario() -> None:
        budget, _ = _budget(per_minute_s=6.0, burst_s=3.0)
        pool = _pool(budget, workers=1, queue_limit=8, max_wait_s=100.0)
        try:
            await pool.run(sleep_then, 0, None, client="warm-up")
            # three jobs predicted at 1 s each, held in the line: the bucket is charged their
            # predicted 3 s when they are let in (the CPU they used comes back once they answer)
            held = [
                asyncio.ensure_future(pool.run(sleep_then, 0.3, i, client="a", predicted_s=1.0))
                for i in range(3)
            ]
            await asyncio.sleep(0)
            answered = pool.answered
            with pytest.raises(ClientOverBudget) as info:
                await pool.run(sleep_then, 0, "over", client="a", predicted_s=1.0)
            assert info.value.status == 429
            assert info.value.retry_after_s == 10
            assert "BPC_COMPUTE_SECONDS_PER_CLIENT_PER_MINUTE" in info.value.msg
            assert "BPC_COMPUTE_BURST_SECONDS_PER_CLIENT" in info.value.msg
            assert "retry in 10 s" in info.value.msg
            assert pool.answered == answered and pool.in_flight == 3  # no job was started
            # another client is let in
            assert await pool.run(sleep_then, 0, "b", client="b", predicted_s=1.0) == "b"
            assert await asyncio.gather(*held) == [0, 1, 2]
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_a_full_line_is_429_for_a_client_with_work_in_it_and_503_for_one_without() -> None:
    async def scenario() -> None:
        budget, _ = _budget(per_minute_s=600.0, burst_s=100.0)
        pool = _pool(budget, workers=1, queue_limit=8, max_wait_s=10.0)
        try:
            await pool.run(sleep_then, 0, None, client="warm-up")
            # client a's job is predicted at 12 s: past the 10 s the line may hold
            held = asyncio.ensure_future(
                pool.run(sleep_then, 0.3, "held", client="a", predicted_s=12.0)
            )
            await asyncio.sleep(0)
            with pytest.raises(ClientOverShare) as mine:
                await pool.run(sleep_then, 0, "more", client="a", predicted_s=1.0)
            assert mine.value.status == 429
            assert "client a already has 1 of its 1 jobs (12.00 of its 12.00" in mine.value.msg
            assert "1 clients have work in it" in mine.value.msg
            assert "BPC_HEAVY_MAX_WAIT_S" in mine.value.msg
            assert mine.value.retry_after_s == 12  # the line's predicted drain
            with pytest.raises(HeavyPoolBusy) as other:
                await pool.run(sleep_then, 0, "other", client="b", predicted_s=1.0)
            assert other.value.status == 503
            # refusals cost nothing: b's bucket and a's second job's seconds are untouched
            assert budget.tokens("b") == 100.0
            assert budget.tokens("a") == pytest.approx(100.0 - 12.0, abs=0.2)
            assert await held == "held"
            assert await pool.run(sleep_then, 0, "after", client="b", predicted_s=1.0) == "after"
            assert pool.holders.share("a", 0, 0.0) is None  # a's job left the line with it
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_a_full_evaluate_lane_tells_the_same_two_clients_apart() -> None:
    async def scenario() -> None:
        lane = ThreadLane(threads=1, queue_limit=1, slots=ClientSlots(0))
        release = threading.Event()
        try:
            held = [asyncio.ensure_future(lane.run(release.wait, 10, client="a")) for _ in range(2)]
            await asyncio.sleep(0)
            assert lane.in_flight == 2  # one thread and one place in the line: full
            with pytest.raises(ClientOverShare) as mine:
                await lane.run(release.wait, 10, client="a")
            assert mine.value.status == 429
            assert "client a already has 2 of its 2 jobs" in mine.value.msg
            assert "BPC_EVALUATE_QUEUE_LIMIT" in mine.value.msg
            with pytest.raises(HeavyPoolBusy) as other:
                await lane.run(release.wait, 10, client="b")
            assert other.value.status == 503
            release.set()
            assert await asyncio.gather(*held) == [True, True]
        finally:
            release.set()
            lane.shutdown()

    asyncio.run(scenario())


# --- over HTTP, a real server, two students behind a trusted proxy ------------------------------


def test_an_exhausted_client_gets_429_while_another_is_still_served() -> None:
    body = {"dataset": {"name": "toy-2d"}, "dims": 2, "steps": 31}
    predicted = precheck(SliceRequest(**body), Limits())  # what the server's admission uses
    assert predicted > 0
    # A burst of a microsecond: the first slice is let in on a full bucket (a job larger than
    # the burst needs a full one) and is paid for in the CPU its job process used, which takes
    # the bucket below zero; the refill is a thousandth of one slice's prediction a minute.
    env = {
        "BPC_COMPUTE_BURST_SECONDS_PER_CLIENT": "1e-06",
        "BPC_COMPUTE_SECONDS_PER_CLIENT_PER_MINUTE": repr(predicted / 1000),
    }
    with running_app(env) as base, httpx.Client(base_url=base, timeout=60) as client:

        def post(path: str, json: dict[str, Any], ip: str) -> httpx.Response:
            return client.post(path, json=json, headers={"X-Forwarded-For": ip})

        slice_path = "/api/v1/landscape/slice"
        assert post(slice_path, body, "10.0.0.1").status_code == 200
        refused = post(slice_path, body, "10.0.0.1")
        assert refused.status_code == 429
        [detail] = refused.json()["detail"]
        assert detail["type"] == "too_many_requests"
        assert "client 10.0.0.1" in detail["msg"]
        assert "BPC_COMPUTE_SECONDS_PER_CLIENT_PER_MINUTE" in detail["msg"]
        retry = int(refused.headers["retry-after"])
        assert retry == detail["retry_after"]
        # short by the CPU the slice used plus the burst, at predicted/1000 s a minute: at
        # least the time to refill the burst alone, 1e-6 / (predicted / 60,000 s) seconds
        assert retry >= max(1, math.floor(1e-6 / (predicted / 60_000)))
        # another student behind the same proxy is served
        other = post(slice_path, body, "10.0.0.2")
        assert other.status_code == 200
        assert len(other.json()["losses"]) == 31
        # the exhausted client's small circuits wait too: they are paid for in CPU seconds
        small = {"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}}
        answer = post("/api/v1/circuits/evaluate", small, "10.0.0.1")
        assert answer.status_code == 429
        assert "BPC_COMPUTE_SECONDS_PER_CLIENT_PER_MINUTE" in answer.json()["detail"][0]["msg"]
        # a student who has not computed anything yet is served
        answer = post("/api/v1/circuits/evaluate", small, "10.0.0.3")
        assert answer.status_code == 200 and answer.json()["output"]["value"] == -12.0


# --- the worker's rate, shared by the clients drawing on theirs (issue 10) -------------------


def test_the_water_level_is_max_min_fair() -> None:
    # 1.0 s/s over uses 0.1, 0.2, 0.5, 0.5: the two light ones use 0.3, the rest share 0.7
    assert water_level([0.5, 0.1, 0.5, 0.2], 1.0) == pytest.approx(0.35)
    assert water_level([0.1, 0.2], 1.0) == math.inf  # everyone fits
    assert water_level([0.9, 0.9], 1.0) == pytest.approx(0.5)  # equal: halves
    assert water_level([], 1.0) == math.inf
    # the level hands out exactly the total: sum(min(u, L)) = 1.0
    usage = [0.05, 0.3, 0.4, 0.6, 2.0]
    level = water_level(usage, 1.0)
    assert sum(min(u, level) for u in usage) == pytest.approx(1.0)


def test_heavy_users_share_what_light_ones_leave_and_light_ones_never_notice() -> None:
    # each client 6 s a minute (0.1 s/s) on its own; the worker 6 s a minute (0.1 s/s) in all
    clock = Clock()
    budget = ComputeBudget(6.0, 3.0, 100, clock=clock, total_per_minute_s=6.0)
    # a light client spends 0.3 s: over the 30 s window that is 0.01 s/s
    budget.spend("light", 0.3)
    # three heavy ones spend 3 s each: 0.1 s/s each, 0.31 in all, over the worker's 0.1
    for client in ("a", "b", "c"):
        budget.spend(client, 3.0)
    assert budget.usage("a") == pytest.approx(0.1)
    assert budget.usage("light") == pytest.approx(0.01)
    clock.now += 1.0  # the level is worked out at most once a second
    decay = math.exp(-1.0 / 30.0)
    assert budget.active() == 4
    # the light one's 0.01 (decayed) is given; the heavy three share the rest
    expected = (0.1 - 0.01 * decay) / 3
    assert budget.rate_now() == pytest.approx(expected)
    # b has refilled for 1 s at the level (its bucket was empty)
    assert budget.tokens("b") == pytest.approx(expected)
    # a 0.5 s job for c is short by 0.5 - 1 s of refill at the level
    assert budget.retry_after_s("c", 0.5) == math.ceil((0.5 - expected) / expected)
    # the light client, under the level, refills at the level too: more than it uses
    assert budget.rate_now() > budget.usage("light")
    # a long quiet spell: the heavy ones' use decays, the level rises back to the own rate
    clock.now += 300.0
    assert budget.rate_now() == pytest.approx(0.1)


def test_no_worker_rate_is_the_per_client_rate_alone() -> None:
    clock = Clock()
    budget = ComputeBudget(6.0, 3.0, 100, clock=clock, total_per_minute_s=0.0)
    for client in "abcdefgh":
        budget.spend(client, 3.0)
    clock.now += 2.0
    assert budget.rate_now() == pytest.approx(0.1)
    assert budget.tokens("h") == pytest.approx(0.2)


def test_the_refusal_names_the_share_and_both_settings() -> None:
    clock = Clock()
    # four clients each using 1 s over the window (1/30 s/s), 0.133 s/s in all, over the
    # worker's 0.1: the level is 0.025 s/s, 1.5 s a minute
    budget = ComputeBudget(6.0, 1.0, 100, clock=clock, total_per_minute_s=6.0)
    for client in "abcd":
        budget.spend(client, 1.0)
    clock.now += 1.0
    retry = budget.retry_after_s("a", 0.5)
    assert retry is not None
    refused = ClientOverBudget("a", 0.5, budget.tokens("a"), budget, retry)
    assert refused.status == 429
    assert "may start 1.5 s of compute a minute now" in refused.msg
    assert "the server's 6 s a minute, shared fairly by the 4 clients using it" in refused.msg
    assert "BPC_COMPUTE_SECONDS_PER_MINUTE" in refused.msg
    assert "BPC_COMPUTE_SECONDS_PER_CLIENT_PER_MINUTE" in refused.msg
    # 0.025 s in the bucket (1 s at 0.025 s/s), 0.475 s short: 19 s
    assert refused.retry_after_s == 19


def test_small_circuits_are_charged_their_cpu_seconds_after_they_run() -> None:
    clock = Clock()
    budget = ComputeBudget(6.0, 0.05, 100, clock=clock)  # 50 ms at once

    async def scenario() -> None:
        lane = ThreadLane(threads=2, queue_limit=4, slots=ClientSlots(0), budget=budget)
        try:
            used = await lane.run(busy_for, 0.03, client="a")
            # the thread's CPU time, not the wall time of a busy machine, is what was charged
            assert budget.tokens("a") == pytest.approx(0.05 - used, abs=0.005)
            used += await lane.run(busy_for, 0.03, client="a")  # still 20 ms in: let in
            assert budget.tokens("a") < 0  # and paid for in full afterwards
            with pytest.raises(ClientOverBudget) as refused:
                await lane.run(busy_for, 0.03, client="a")
            assert refused.value.status == 429
            assert "BPC_COMPUTE_SECONDS_PER_CLIENT_PER_MINUTE" in refused.value.msg
            # another client has its own bucket
            assert await lane.run(busy_for, 0.001, client="b") >= 0.001
            # a refill of what it owes plus a millisecond lets a in again (0.1 s/s)
            clock.now += (0.001 - budget.tokens("a")) / 0.1 + 1e-6
            assert await lane.run(busy_for, 0.001, client="a") >= 0.001
        finally:
            lane.shutdown()

    asyncio.run(scenario())
