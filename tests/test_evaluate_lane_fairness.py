"""One client cannot hold every evaluate thread (issue 10): with 2 threads, a client's burst runs
on at most one at a time, so another client's small circuit starts at once instead of waiting
behind the whole burst."""

from __future__ import annotations

import asyncio
import threading

from app.api.budget import ComputeBudget
from app.api.lane import ThreadLane
from app.api.pool import ClientSlots
from app.api.refusals import ClientGone


class HeldJobs:
    """A lane job that records, in order, which jobs started; a job whose tag is held waits
    (a slow circuit) until the test lets it go."""

    def __init__(self, *held: str) -> None:
        self.started: list[str] = []
        self._lock = threading.Lock()
        self._held = {tag: threading.Event() for tag in held}

    def __call__(self, tag: str) -> str:
        with self._lock:
            self.started.append(tag)
        gate = self._held.get(tag)
        if gate is not None:
            gate.wait(30)
        return tag

    def release(self, *tags: str) -> None:
        for tag in tags or tuple(self._held):
            self._held[tag].set()


def test_a_burst_from_one_client_leaves_a_thread_for_another() -> None:
    async def scenario() -> None:
        lane = ThreadLane(2, 64, ClientSlots(per_client=10))
        slow = HeldJobs("a0", "a1", "a2")  # held until the test lets go: slow circuits
        running = slow.started

        try:
            burst = [asyncio.ensure_future(lane.run(slow, f"a{i}", client="A")) for i in range(3)]
            while lane.in_flight < 3 or not running:  # the burst is in and one job started
                await asyncio.sleep(0)
            # client A has one job on a thread; its other two wait for A's own turn
            assert running == ["a0"] and lane.per_client_threads == 1
            # client B's job gets the free thread while A's burst is still held
            quick = await asyncio.wait_for(lane.run(lambda: "b", client="B"), timeout=10)
            assert quick == "b" and running == ["a0"]
            slow.release()
            assert sorted(await asyncio.gather(*burst)) == ["a0", "a1", "a2"]
            assert lane.in_flight == 0 and lane._running == {} and lane._waiting == []
            assert lane._on_threads == 0
        finally:
            slow.release()
            lane.shutdown()

    asyncio.run(scenario())


def test_one_thread_still_serves_everyone_in_turn() -> None:
    async def scenario() -> None:
        lane = ThreadLane(1, 64, ClientSlots(per_client=10))
        try:
            results = await asyncio.gather(
                *(lane.run(lambda i=i: i * i, client=f"c{i % 2}") for i in range(6))
            )
            assert results == [0, 1, 4, 9, 16, 25]
            assert lane.per_client_threads == 1 and lane.in_flight == 0
        finally:
            lane.shutdown()

    asyncio.run(scenario())


def test_a_freed_thread_goes_to_the_lightest_client_not_the_first_in_line() -> None:
    """Eight attacking addresses can keep both threads busy between them (each one is capped
    at one thread, not the class). A student's small circuit that arrives behind their queued
    jobs still takes the next thread that frees: fewest jobs running, then least recent use."""

    async def scenario() -> None:
        budget = ComputeBudget(60.0, 10.0, clock=lambda: 100.0)
        for heavy in ("A", "B", "D"):
            budget.spend(heavy, 5.0)  # they have used 5 CPU seconds lately; the student none
        assert budget.usage("A") > 0 and budget.usage("S") == 0
        lane = ThreadLane(2, 64, ClientSlots(per_client=10), budget=budget)
        job = HeldJobs("a0", "b0")
        started = job.started

        try:
            a0 = asyncio.ensure_future(lane.run(job, "a0", client="A"))
            b0 = asyncio.ensure_future(lane.run(job, "b0", client="B"))
            while len(started) < 2:  # both threads are held by A and B
                await asyncio.sleep(0.001)
            # in line, in this order: A's second job, D's job, then the student's
            queued = [
                asyncio.ensure_future(lane.run(job, tag, client=client))
                for tag, client in (("a1", "A"), ("d0", "D"), ("s0", "S"))
            ]
            for _ in range(20):
                await asyncio.sleep(0)
            assert started == ["a0", "b0"] and len(lane._waiting) == 3
            job.release("a0")  # one thread frees: FIFO would give it to a1
            assert await asyncio.wait_for(queued[2], 10) == "s0"
            assert started[:3] == ["a0", "b0", "s0"]
            job.release("b0")
            assert await asyncio.gather(a0, b0, *queued) == ["a0", "b0", "a1", "d0", "s0"]
            assert lane.in_flight == 0 and lane._on_threads == 0 and lane._waiting == []
        finally:
            job.release()
            lane.shutdown()

    asyncio.run(scenario())


def test_a_job_that_leaves_while_waiting_gives_its_turn_to_the_next() -> None:
    async def scenario() -> None:
        lane = ThreadLane(1, 64, ClientSlots(per_client=10))
        gate = threading.Event()
        try:
            first = asyncio.ensure_future(lane.run(gate.wait, 30, client="A"))
            while lane._on_threads < 1:
                await asyncio.sleep(0.001)
            gone = asyncio.Event()

            async def disconnected() -> None:
                await gone.wait()

            leaver = asyncio.ensure_future(
                lane.run(lambda: "x", client="B", disconnected=disconnected)
            )
            stayer = asyncio.ensure_future(lane.run(lambda: "c", client="C"))
            for _ in range(20):
                await asyncio.sleep(0)
            assert len(lane._waiting) == 2
            gone.set()  # B goes away while it waits: it never runs
            for _ in range(20):
                await asyncio.sleep(0)
            assert isinstance(leaver.exception(), ClientGone) and len(lane._waiting) == 1
            gate.set()
            assert await asyncio.wait_for(stayer, 10) == "c" and await first is True
            assert lane.in_flight == 0 and lane._on_threads == 0 and lane._running == {}
        finally:
            gate.set()
            lane.shutdown()

    asyncio.run(scenario())
