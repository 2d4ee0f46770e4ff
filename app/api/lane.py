"""The evaluate lane: a few threads in the server process for circuits too small for a process hop.

Never Starlette's shared thread pool, so pages, static files and probes never wait behind it.
A freed thread goes to the waiting job whose client has the fewest jobs running, then the least
recent use, then the earliest arrival; tiny circuits run on the event loop itself (run_inline).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from app.api.budget import ComputeBudget
from app.api.pool import ClientSlots, LineHolders, unless_disconnected
from app.api.refusals import ClientOverBudget, ClientOverShare, ComputeRefused, HeavyPoolBusy

T = TypeVar("T")
log = logging.getLogger("backprop_circuits")


# --- the evaluate lane: a few threads in the server process ----------------------------------


class ThreadLane:
    """`threads` threads for work too small to pay a process hop. A slot is freed when its
    thread finishes (threads cannot be stopped), so memory is bounded by `threads` jobs.

    One client runs on at most `threads - 1` of them at once (its other jobs wait for its own
    to finish), so a thread is always free for someone else: a burst of slow circuits from one
    address cannot put every small circuit of the class behind it. A free thread goes to the
    waiting job whose client has the fewest jobs running, then the least recent use (its
    budget's decayed CPU seconds), then the one that came first: eight addresses that keep
    both threads busy with slow circuits do not put a student's small one behind their line,
    it takes the next thread that frees."""

    def __init__(
        self,
        threads: int,
        queue_limit: int,
        slots: ClientSlots,
        max_wait_s: float = 10.0,
        budget: ComputeBudget | None = None,
    ):
        # Small circuits are paid for after they run, in the CPU seconds their thread used
        # (their cost is known only once parsed, on the thread): a client whose bucket is
        # empty is refused before the next one.
        self.budget = budget if budget is not None else ComputeBudget(0.0, 0.0)
        self.threads = max(1, threads)
        self.capacity = self.threads + max(0, queue_limit)
        self.max_wait_s = max_wait_s
        self.slots = slots
        self.in_flight = 0
        self.job_seconds = 0.05
        self.answered = 0  # jobs whose thread has finished
        self.inline_answered = 0  # tiny jobs run on the event loop (run_inline)
        self.holders = LineHolders()
        self.per_client_threads = max(1, self.threads - 1)
        self._running: dict[str, int] = {}  # jobs on a thread (or handed to one), per client
        self._on_threads = 0  # jobs on a thread or handed one: at most `threads`
        self._waiting: list[_Waiter] = []  # jobs admitted, waiting for a thread
        self._arrivals = 0
        self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="bpc-evaluate")
        self._closed = False

    def retry_after_s(self) -> int:
        return min(30, max(1, math.ceil(self.in_flight * self.job_seconds / self.threads)))

    async def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        client: str = "",
        disconnected: Callable[[], Awaitable[None]] | None = None,
        **kwargs: Any,
    ) -> T:
        """`fn(*args, **kwargs)` on a lane thread; if the client goes away while the job is
        still waiting for a thread, the job is dropped (a running one finishes)."""
        self._admit(client)
        wait = self.in_flight * self.job_seconds / self.threads
        if self.in_flight >= self.capacity or (
            self.in_flight >= self.threads and wait > self.max_wait_s
        ):
            settings = "settings BPC_EVALUATE_THREADS, BPC_EVALUATE_QUEUE_LIMIT"
            line_s = self.in_flight * self.job_seconds
            share = self.holders.share(client, self.in_flight, line_s)
            if share is not None:
                raise ClientOverShare(client, share, self.retry_after_s(), settings)
            raise HeavyPoolBusy(self.in_flight, self.capacity, self.retry_after_s(), settings)
        self.slots.take(client, self.retry_after_s())
        estimate = self.job_seconds
        self.holders.add(client, estimate)
        self.in_flight += 1
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            await self._my_turn(client, disconnected)
        except BaseException:
            self._release(client, started, estimate, ran=False)
            raise
        cpu: list[float] = []
        try:
            future: Future[T] = self._executor.submit(_timed, cpu, fn, *args, **kwargs)
        except BaseException:
            self._release(client, started, estimate)
            raise
        future.add_done_callback(
            # on the loop thread
            lambda _: _call_soon(loop, self._release, client, started, estimate, True, cpu)
        )
        try:
            return await unless_disconnected(asyncio.wrap_future(future), disconnected)
        finally:
            future.cancel()  # only takes effect while the job still waits for a thread

    def _admit(self, client: str) -> None:
        """Refuses a job while the lane is shutting down, or when the client's bucket cannot
        start a small one (it is paid for after it runs)."""
        if self._closed:
            raise ComputeRefused("the server is shutting down; retry in a moment", 1)
        retry = self.budget.retry_after_s(client, SMALL_JOB_S)
        if retry is not None:
            raise ClientOverBudget(
                client, SMALL_JOB_S, self.budget.tokens(client), self.budget, retry
            )

    def run_inline(self, fn: Callable[..., T], *args: Any, client: str = "", **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on the calling (event-loop) thread, for a job whose predicted
        work is under a millisecond or two: in CPython a thread would hold the GIL, and so the
        loop, for the same time, and would add a hand-off each way (and a wait behind whatever
        else the loop has queued) on top. Checked and charged to the client's budget as a
        lane job is."""
        self._admit(client)
        cpu: list[float] = []
        try:
            answer = _timed(cpu, fn, *args, **kwargs)
        finally:
            self.budget.spend(client, cpu[0])  # a trial that stopped was work too
        self.inline_answered += 1
        return answer

    async def _my_turn(
        self, client: str, disconnected: Callable[[], Awaitable[None]] | None
    ) -> None:
        """Returns when this job has been handed a thread (see _dispatch); counted among the
        client's running jobs from then on."""
        self._arrivals += 1
        waiter = _Waiter(client, self._arrivals, asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        self._dispatch()
        try:
            await unless_disconnected(waiter.turn, disconnected)
        except BaseException:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            elif waiter.turn.done() and not waiter.turn.cancelled():
                self._free_thread(client)  # handed a thread as it left: pass it on
                self._dispatch()
            raise

    def _dispatch(self) -> None:
        """Hands free threads to waiting jobs, lightest client first (see the class)."""
        while self._on_threads < self.threads and self._waiting:
            eligible = [
                w for w in self._waiting if self._running.get(w.client, 0) < self.per_client_threads
            ]
            if not eligible:
                return
            usage: dict[str, float] = {}
            for w in eligible:
                if w.client not in usage:
                    usage[w.client] = self.budget.usage(w.client)
            best = min(
                eligible, key=lambda w: (self._running.get(w.client, 0), usage[w.client], w.order)
            )
            self._waiting.remove(best)
            self._on_threads += 1
            self._running[best.client] = self._running.get(best.client, 0) + 1
            best.turn.set_result(None)

    def _free_thread(self, client: str) -> None:
        self._on_threads -= 1
        left = self._running.get(client, 0) - 1
        if left > 0:
            self._running[client] = left
        else:
            self._running.pop(client, None)

    def _release(
        self,
        client: str,
        started: float,
        estimate: float,
        ran: bool = True,
        cpu: list[float] | None = None,
    ) -> None:
        self.in_flight -= 1
        self.slots.give_back(client)
        self.holders.remove(client, estimate)
        if not ran:  # it left while waiting for its client's turn
            return
        if cpu:
            self.budget.spend(client, cpu[0])
        self.answered += 1
        self.job_seconds = 0.8 * self.job_seconds + 0.2 * (time.perf_counter() - started)
        self._free_thread(client)
        self._dispatch()

    def shutdown(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)


@dataclass(eq=False, slots=True)
class _Waiter:
    """A job admitted to the lane, waiting for a thread: `turn` resolves when it has one."""

    client: str
    order: int
    turn: asyncio.Future[None]


# What a client's bucket must hold for a small circuit to start: it is paid for afterwards.
SMALL_JOB_S = 0.001


def _timed(cpu: list[float], fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)`, with the CPU seconds this thread spent on it put in `cpu`
    (whether it returned or raised: a refused circuit's parse is work too)."""
    start = time.thread_time()
    try:
        return fn(*args, **kwargs)
    finally:
        cpu.append(time.thread_time() - start)


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: the server is stopping
        loop.call_soon_threadsafe(fn, *args)
