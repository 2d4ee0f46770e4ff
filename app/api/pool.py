"""Job processes: killable worker processes for heavy work, each with a memory cap, in pools that refuse rather than queue without end.

A job past its deadline, or whose client went away, has its process killed and replaced; a
runaway allocation is a MemoryError answered 413, not a dead server. Slots go to the waiting
client with the fewest jobs running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import pickle
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from app.api.budget import ComputeBudget
from app.api.refusals import (
    ClientBusy,
    ClientGone,
    ClientOverBudget,
    ClientOverShare,
    ComputeRefused,
    HeavyPoolBusy,
    JobCrashed,
    JobDeadline,
    JobOutOfMemory,
)
from app.core.config import Settings
from app.core.errors import ProblemError

T = TypeVar("T")
log = logging.getLogger("backprop_circuits")

# Imported by each job process before it says it is ready, so a job's deadline does not pay
# for numpy and the app's import: the modules that define the jobs (app/api/circuit_job.py,
# app/landscape/jobs.py) and what they import, not the routes, whose FastAPI import a job never
# uses and which made each process's start 1.35 s instead of 0.75 s (median of 5, 2 cores).
PRELOAD = ("numpy", "app.api.circuit_job", "app.landscape.jobs")


# --- the job processes --------------------------------------------------------------------


class JobProcess:
    """One job process and the parent's end of the socket pair to it.

    A plain `python -c` child, not multiprocessing's spawn: spawn re-imports the parent's
    __main__ (uvicorn, pytest, or any script that imports the app) in every child, which is
    slow at best and fails outright when __main__ is not a file."""

    def __init__(self, niceness: int, memory_bytes: int, preload: tuple[str, ...]) -> None:
        ours, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from app.api.job_process import job_process_entry; "
                "job_process_entry(sys.argv[1:])",
                str(theirs.fileno()),
                str(niceness),
                str(memory_bytes),
                *preload,
            ],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env=env,
        )
        theirs.close()  # so the parent sees EOF when the child dies
        self.conn = Connection(ours.detach())

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=5)
        # The pipe is left to the garbage collector: a pipe thread may still be in recv() on
        # it, and gets EOF now that the child is gone.


@dataclass(frozen=True)
class PoolConfig:
    workers: int = 1
    queue_limit: int = 64
    max_wait_s: float = 10.0
    niceness: int = 10
    deadline_s: float = 10.0
    memory_bytes: int = 0
    per_client: int = 0  # 0: no per-client cap
    # settle a job's budget charge to the CPU its process used (else its prediction stands)
    settle_to_cpu: bool = True
    at_start: bool = True  # False: the processes start with the first job (Settings says why)

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolConfig:
        return cls(
            workers=settings.heavy_pool_workers,
            queue_limit=settings.heavy_queue_limit,
            max_wait_s=settings.heavy_max_wait_s,
            niceness=settings.heavy_pool_nice,
            deadline_s=settings.job_deadline_s,
            memory_bytes=settings.job_memory_bytes,
            per_client=settings.compute_per_client,
            at_start=settings.job_processes_at_start,
        )


class ClientSlots:
    """In-flight compute per client (IP after trusted proxy headers), shared by both lanes:
    at most `per_client` requests, and, beyond a client's first, at most `seconds_per_client`
    of predicted seconds (the cost model's), so one client's burst of large jobs cannot fill
    a pool's line and make everyone else wait past BPC_HEAVY_MAX_WAIT_S."""

    def __init__(self, per_client: int, seconds_per_client: float = 0.0) -> None:
        self.per_client = per_client
        self.seconds_per_client = seconds_per_client
        self.in_flight: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    def take(self, client: str, retry_after_s: int, seconds: float = 0.0) -> None:
        count = self.in_flight.get(client, 0)
        if self.per_client > 0 and count >= self.per_client:
            raise ClientBusy(client, count, retry_after_s)
        held = self.seconds.get(client, 0.0)
        if self.seconds_per_client > 0 and count and held + seconds > self.seconds_per_client:
            raise ClientBusy(client, count, max(retry_after_s, math.ceil(held)), seconds=True)
        self.in_flight[client] = count + 1
        self.seconds[client] = held + seconds

    def give_back(self, client: str, seconds: float = 0.0) -> None:
        count = self.in_flight.get(client, 0) - 1
        if count > 0:
            self.in_flight[client] = count
            self.seconds[client] = max(0.0, self.seconds.get(client, 0.0) - seconds)
        else:
            self.in_flight.pop(client, None)
            self.seconds.pop(client, None)


@dataclass(frozen=True)
class LineShare:
    """What one client holds of a lane's line (its jobs running and waiting) and the whole."""

    jobs: int
    seconds: float  # the client's jobs' predicted seconds
    in_line: int
    line_s: float
    clients: int  # clients with jobs in the line


class LineHolders:
    """Jobs and predicted seconds per client in one lane's line, so that a full line can tell a
    client that already has work in it (429: it waits for its own) from one that has none
    (503: the server is full)."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[int, float]] = {}

    def add(self, client: str, seconds: float) -> None:
        jobs, held = self._held.get(client, (0, 0.0))
        self._held[client] = (jobs + 1, held + seconds)

    def remove(self, client: str, seconds: float) -> None:
        jobs, held = self._held.get(client, (1, 0.0))
        if jobs <= 1:
            self._held.pop(client, None)
        else:
            self._held[client] = (jobs - 1, max(0.0, held - seconds))

    def share(self, client: str, in_line: int, line_s: float) -> LineShare | None:
        """The client's share of the line; None when it holds nothing in it."""
        if client not in self._held:
            return None
        jobs, held = self._held[client]
        return LineShare(jobs, held, in_line, line_s, len(self._held))


class HeavyPool:
    """`workers` job processes. A job is refused (HeavyPoolBusy) when `workers + queue_limit`
    are in flight, or when the line ahead would take longer than `max_wait_s` to drain at the
    recent pace of jobs (measured here, in the parent), so cheap jobs may queue deeply and
    expensive ones only a few deep. A job runs at most `deadline_s`; then, or when its client
    goes away, its process is killed and a fresh one takes its place."""

    def __init__(
        self,
        config: PoolConfig,
        slots: ClientSlots | None = None,
        preload: Iterable[str] = PRELOAD,
        budget: ComputeBudget | None = None,
    ) -> None:
        self.config = config
        self.workers = max(1, config.workers)
        self.capacity = self.workers + max(0, config.queue_limit)
        self.slots = slots or ClientSlots(config.per_client)
        # none unless given (`or` would not do: an empty budget has len() 0)
        self.budget = budget if budget is not None else ComputeBudget(0.0, 0.0)
        self.holders = LineHolders()
        self.preload = tuple(preload)
        self.in_flight = 0
        self.job_seconds = 0.5  # recent seconds per job (moving average); cautious at first
        self.queued_s = 0.0  # predicted seconds of the jobs in flight (running and waiting)
        self.restarts = 0  # processes replaced after a deadline, disconnect, crash or MemoryError
        self.answered = 0  # jobs that came back from a process (a result or an error)
        self._started = 0  # processes that have said they are ready
        self._all_started = asyncio.Event()
        self._start_failures = 0  # processes in a row that died before they were ready
        self._idle: list[JobProcess] = []
        self._waiters: list[tuple[str, asyncio.Future[JobProcess]]] = []
        self._running: dict[str, int] = {}
        self._processes: set[JobProcess] = set()
        # threads that wait on pipes (a blocking recv), one per process plus one spare
        self._pipes = ThreadPoolExecutor(self.workers + 1, thread_name_prefix="bpc-job-pipe")
        self._closed = False

    # lifecycle

    def start(self) -> None:
        """Starts the processes; each joins the idle list once it has imported its modules.
        With `at_start` off, the first job starts them (run())."""
        if self.config.at_start:
            self._spawn_all()

    def _spawn_all(self) -> None:
        for _ in range(self.workers):
            self._spawn()

    def _spawn(self) -> None:
        if self._closed:
            return
        proc = JobProcess(self.config.niceness, self.config.memory_bytes, self.preload)
        self._processes.add(proc)
        asyncio.get_running_loop().create_task(self._await_ready(proc))

    async def _await_ready(self, proc: JobProcess) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._pipes, proc.conn.recv)
        except RuntimeError:  # the pool was shut down while the process was starting
            proc.kill()
            return
        except (EOFError, OSError):
            self._discard(proc)
            if self._closed:
                return  # stopped by shutdown()
            self._start_failures += 1
            log.error("a job process died while starting (%d in a row)", self._start_failures)
            if self._start_failures >= 3:
                # Nothing will come of waiting: fail the waiting jobs, keep trying slowly.
                self._all_started.set()  # start-up stops waiting; readiness() says why
                for _, waiter in self._waiters:
                    if not waiter.done():
                        waiter.set_exception(JobCrashed("job processes cannot start", 5))
                self._waiters.clear()
            await asyncio.sleep(min(30, self._start_failures))  # do not spin the CPU
            self._spawn()
            return
        self._start_failures = 0
        self._started += 1
        if self._started >= self.workers:
            self._all_started.set()
        self._hand_over(proc)

    async def wait_started(self, timeout_s: float) -> bool:
        """Whether every process has started (imported numpy and the app) within the time."""
        if not self._processes and not self.config.at_start:
            return True  # none to wait for: the first job starts them
        try:
            await asyncio.wait_for(self._all_started.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def readiness(self) -> str | None:
        """Why this pool cannot take a job now (None: it can), for the readiness probe."""
        if self._closed:
            return "shutting down"
        if self._start_failures:
            return f"its job processes die while starting ({self._start_failures} in a row)"
        if not self._processes and self.config.at_start:
            return "it has no job process"
        return None

    def shutdown(self) -> None:
        self._closed = True
        for proc in list(self._processes):
            proc.kill()
        self._processes.clear()
        self._idle.clear()
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(ComputeRefused("the server is shutting down", 1))
        self._waiters.clear()
        self._pipes.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        return [p.pid for p in self._processes]

    # admission

    def expected_wait_s(self) -> float:
        """How long the jobs in flight take to drain: their predicted seconds where the cost
        model gave them, the recent pace for the others."""
        return self.queued_s / self.workers

    def retry_after_s(self) -> int:
        return min(30, max(1, math.ceil(self.expected_wait_s())))

    async def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        client: str = "",
        disconnected: Callable[[], Awaitable[None]] | None = None,
        predicted_s: float | None = None,
        **kwargs: Any,
    ) -> T:
        """`fn(*args, **kwargs)` in a job process. `fn` and its arguments must pickle
        (module-level functions, plain data); `disconnected` returns when the client goes;
        `predicted_s` is the cost model's estimate of the job's seconds."""
        if self._closed:
            raise ComputeRefused("the server is shutting down; retry in a moment", 1)
        if self._start_failures >= 3:
            raise JobCrashed("job processes cannot start; see the server log", 5)
        # A job's predicted seconds come from the cost model when the caller has them; else
        # the recent pace. The line ahead is the sum of what is in flight, so a queue of large
        # circuits is refused at once rather than after the first few have run.
        seconds = self.job_seconds if predicted_s is None else max(0.0, predicted_s)
        # A client past its rate of compute is told so first: that is its own doing, and the
        # answer holds whether or not the line has room.
        retry = self.budget.retry_after_s(client, seconds)
        if retry is not None:
            left = self.budget.tokens(client)
            raise ClientOverBudget(client, seconds, left, self.budget, retry)
        if self.in_flight >= self.capacity or (
            self.in_flight >= self.workers and self.expected_wait_s() > self.config.max_wait_s
        ):
            settings = (
                "settings BPC_HEAVY_POOL_WORKERS, BPC_HEAVY_QUEUE_LIMIT, BPC_HEAVY_MAX_WAIT_S"
            )
            share = self.holders.share(client, self.in_flight, self.queued_s)
            if share is not None:
                raise ClientOverShare(client, share, self.retry_after_s(), settings)
            raise HeavyPoolBusy(self.in_flight, self.capacity, self.retry_after_s(), settings)
        if not self._processes and not self.config.at_start:
            self._spawn_all()  # the first job: start the processes now
        self.slots.take(client, self.retry_after_s(), seconds)
        # Admitted by the predicted seconds, paid for in the CPU seconds the job process used
        # once it answers (the prediction takes the cost model's slow end, so it is often two
        # or three times the real cost): only for a job let in, a refusal costs nothing.
        self.budget.spend(client, seconds)
        used: list[float] = []
        self.holders.add(client, seconds)
        self.in_flight += 1
        self.queued_s += seconds
        try:
            proc = await self._acquire(client, disconnected)
            try:
                return await self._execute(proc, fn, args, kwargs, disconnected, used)
            finally:
                self._running[client] -= 1
                if not self._running[client]:
                    del self._running[client]
                if used and self.config.settle_to_cpu:  # no answer: the prediction stands
                    self.budget.settle(client, seconds, used[0])
        finally:
            self.in_flight -= 1
            self.queued_s -= seconds
            self.slots.give_back(client, seconds)
            self.holders.remove(client, seconds)

    async def _acquire(
        self, client: str, disconnected: Callable[[], Awaitable[None]] | None
    ) -> JobProcess:
        if self._idle and not self._waiters:
            proc = self._idle.pop()
        else:
            waiter: asyncio.Future[JobProcess] = asyncio.get_running_loop().create_future()
            self._waiters.append((client, waiter))
            try:
                proc = await unless_disconnected(waiter, disconnected)
            except BaseException:
                self._waiters = [(c, w) for c, w in self._waiters if w is not waiter]
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._hand_over(waiter.result())  # handed to us as we left: pass it on
                raise
        self._running[client] = self._running.get(client, 0) + 1
        return proc

    def _hand_over(self, proc: JobProcess) -> None:
        """A free process goes to the waiting client with the fewest jobs running."""
        if self._closed:
            proc.kill()
            return
        self._waiters = [(c, w) for c, w in self._waiters if not w.done()]
        if not self._waiters:
            self._idle.append(proc)
            return
        best = min(
            range(len(self._waiters)), key=lambda i: self._running.get(self._waiters[i][0], 0)
        )
        _, waiter = self._waiters.pop(best)
        waiter.set_result(proc)

    def _discard(self, proc: JobProcess) -> None:
        self._processes.discard(proc)
        with contextlib.suppress(Exception):
            proc.process.kill()  # at once: the job stops now
        # Reaping can wait for the kernel to free the process's memory: not on the event loop.
        with contextlib.suppress(RuntimeError):  # the pool is shut down: kill() reaps below
            self._pipes.submit(proc.kill)

    def _replace(self, proc: JobProcess) -> None:
        self._discard(proc)
        self.restarts += 1
        self._spawn()

    # execution

    async def _execute(
        self,
        proc: JobProcess,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        disconnected: Callable[[], Awaitable[None]] | None,
        used: list[float],
    ) -> T:
        """The job's answer; `used` gets the CPU seconds it took, once its process replies."""
        loop = asyncio.get_running_loop()
        try:
            message = pickle.dumps((fn, args, kwargs))
        except Exception:
            self._hand_over(proc)
            raise
        started = time.perf_counter()
        try:
            proc.conn.send_bytes(message)
            reply: asyncio.Future[Any] = loop.run_in_executor(self._pipes, proc.conn.recv)
            kind, payload, cpu = await asyncio.wait_for(
                unless_disconnected(reply, disconnected), self.config.deadline_s
            )
        except TimeoutError:  # before OSError, its base class
            self._replace(proc)
            raise JobDeadline(
                f"the job ran for over {self.config.deadline_s:g} s and was stopped "
                "(setting BPC_JOB_DEADLINE_S)"
            ) from None
        except (EOFError, OSError) as exc:
            self._replace(proc)
            raise JobCrashed("the job's process died; it has been replaced; retry", 1) from exc
        except BaseException:  # the client went away, or the server is stopping
            self._replace(proc)
            raise
        elapsed = time.perf_counter() - started
        self.job_seconds = 0.8 * self.job_seconds + 0.2 * elapsed
        self.answered += 1
        used.append(cpu)
        if kind == "memory":
            # The process survived the MemoryError, but a fresh one has a clean heap.
            self._replace(proc)
            raise JobOutOfMemory(
                f"the job needed more than {self.config.memory_bytes} bytes of memory "
                "(setting BPC_JOB_MEMORY_BYTES)"
            )
        self._hand_over(proc)
        if kind == "ok":
            return payload
        if kind == "problem":
            status, problems = payload
            error = ProblemError(*problems)
            error.status = status
            raise error
        raise payload


async def unless_disconnected(
    future: asyncio.Future[T], disconnected: Callable[[], Awaitable[None]] | None
) -> T:
    """The future's result; ClientGone if the client disconnects first."""
    if disconnected is None:
        return await future
    watcher: asyncio.Future[Any] = asyncio.ensure_future(disconnected())
    waiting: set[asyncio.Future[Any]] = {future, watcher}
    try:
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if future in done:
            return future.result()
        raise ClientGone("the client closed the connection; its job was stopped")
    finally:
        watcher.cancel()
        if not future.done():
            future.cancel()
