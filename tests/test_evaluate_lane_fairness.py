"""One client cannot hold every evaluate thread (issue 10): with 2 threads, a client's burst runs
on at most one at a time, so another client's small circuit starts at once instead of waiting
behind the whole burst."""

from __future__ import annotations

import asyncio
import threading

from app.api.heavy import ClientSlots, ThreadLane


def test_a_burst_from_one_client_leaves_a_thread_for_another() -> None:
    async def scenario() -> None:
        lane = ThreadLane(2, 64, ClientSlots(per_client=10))
        release = threading.Event()
        running = []
        lock = threading.Lock()

        def slow(tag: str) -> str:
            with lock:
                running.append(tag)
            release.wait(30)  # held until the test lets go: a slow circuit
            return tag

        try:
            burst = [asyncio.ensure_future(lane.run(slow, f"a{i}", client="A")) for i in range(3)]
            while lane.in_flight < 3 or not running:  # the burst is in and one job started
                await asyncio.sleep(0)
            # client A has one job on a thread; its other two wait for A's own turn
            assert running == ["a0"] and lane.per_client_threads == 1
            # client B's job gets the free thread while A's burst is still held
            quick = await asyncio.wait_for(lane.run(lambda: "b", client="B"), timeout=10)
            assert quick == "b" and running == ["a0"]
            release.set()
            assert sorted(await asyncio.gather(*burst)) == ["a0", "a1", "a2"]
            assert lane.in_flight == 0 and lane._running == {} and lane._turns == {}
        finally:
            release.set()
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
