"""Where compute runs: killable job processes for heavy work, a bounded thread lane for evaluate.

Threads cannot be stopped, so heavy work (landscape jobs, large circuits) runs in a few worker
processes per server process: a job past its deadline, or whose client went away, has its
process killed and replaced; each process has a memory cap (RLIMIT_DATA), so a runaway
allocation is a MemoryError answered 413, not a dead server. Small evaluate requests stay in
the server process (a process hop costs more than the work) on a few threads, never on
Starlette's shared thread pool, so pages, static files and probes never wait behind them.

Both lanes refuse work rather than queue without end: when full, 429 to a client that already
has work in the line and 503 + Retry-After to one that has none; 429 when one client already
has its share in flight, or has started its compute budget's worth (app/api/budget.py). Slots
go to the waiting client with the fewest jobs running, so one client's burst cannot push the
rest of the class to the back.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.budget import ComputeBudget
from app.api.errors import error_body
from app.core.config import Settings, get_settings
from app.core.errors import ProblemError

T = TypeVar("T")
log = logging.getLogger("backprop_circuits")

# Imported by each job process before it says it is ready, so a job's deadline does not pay
# for numpy and the app's import.
PRELOAD = ("numpy", "app.api.routes.circuits", "app.api.routes.landscape")


# --- refusals and failures: each one answered as JSON naming the setting ----------------------


class ComputeRefused(Exception):
    """A compute request answered without (or instead of) its result."""

    status = 503
    type = "server_busy"

    def __init__(self, msg: str, retry_after_s: int | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.retry_after_s = retry_after_s


class HeavyPoolBusy(ComputeRefused):
    """Every slot is busy and the waiting line is full; the client should retry shortly."""

    def __init__(self, in_flight: int, capacity: int, retry_after_s: int, settings: str) -> None:
        super().__init__(
            f"the server is busy with {in_flight} expensive requests ({settings} = {capacity} "
            f"at once); retry in {retry_after_s} s",
            retry_after_s,
        )
        self.in_flight = in_flight
        self.capacity = capacity


class ClientBusy(ComputeRefused):
    """This client already has its share of compute in flight."""

    status = 429
    type = "too_many_requests"

    def __init__(
        self, client: str, in_flight: int, retry_after_s: int, seconds: bool = False
    ) -> None:
        if seconds:
            msg = (
                f"client {client} already has {in_flight} compute requests in flight, and this "
                "one would take its predicted work past the most one client may have (setting "
                f"BPC_COMPUTE_SECONDS_PER_CLIENT); retry in {retry_after_s} s"
            )
        else:
            msg = (
                f"client {client} already has {in_flight} compute requests in flight, the most "
                f"one client may have (setting BPC_COMPUTE_PER_CLIENT); retry in {retry_after_s} s"
            )
        super().__init__(msg, retry_after_s)


class ClientOverBudget(ComputeRefused):
    """This client has used its compute budget (app/api/budget.py) for now."""

    status = 429
    type = "too_many_requests"

    def __init__(
        self, client: str, seconds: float, tokens: float, budget: ComputeBudget, retry: int
    ) -> None:
        per_minute = budget.rate_now() * 60
        shared = ""
        if budget.rate_now() < budget.rate:
            shared = (
                f" now (the server's {budget.total_rate * 60:g} s a minute, shared fairly by "
                f"the {budget.active()} clients using it)"
            )
        super().__init__(
            f"client {client} has {max(0.0, tokens):.2f} s of its compute budget left and this "
            f"request is predicted to take {seconds:.2f} s; each client may start "
            f"{per_minute:.3g} s of compute a minute{shared}, at most {budget.burst:g} s at once "
            "(settings BPC_COMPUTE_SECONDS_PER_CLIENT_PER_MINUTE, BPC_COMPUTE_SECONDS_PER_MINUTE, "
            f"BPC_COMPUTE_BURST_SECONDS_PER_CLIENT); retry in {retry} s",
            retry,
        )


class ClientOverShare(ComputeRefused):
    """The line is full and this client already has work in it: it waits for its own first."""

    status = 429
    type = "too_many_requests"

    def __init__(self, client: str, share: LineShare, retry: int, settings: str) -> None:
        super().__init__(
            f"the line is full ({settings}) and client {client} already has {share.jobs} of "
            f"its {share.in_line} jobs ({share.seconds:.2f} of its {share.line_s:.2f} predicted "
            f"seconds; {share.clients} clients have work in it); a client with work in a full "
            f"line gets that back before it sends more; retry in {retry} s",
            retry,
        )


class JobDeadline(ComputeRefused):
    status = 413
    type = "limit_exceeded"


class JobOutOfMemory(ComputeRefused):
    status = 413
    type = "limit_exceeded"


class JobCrashed(ComputeRefused):
    """The job's process died (a signal, not an exception); it has been replaced."""


class ClientGone(ComputeRefused):
    """The client disconnected; its job was stopped. Nobody reads this answer."""

    status = 499
    type = "client_closed_request"


async def _refused_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ComputeRefused)
    detail: dict[str, Any] = {"type": exc.type, "loc": [], "msg": exc.msg}
    headers = {}
    if exc.retry_after_s is not None:
        detail["retry_after"] = exc.retry_after_s
        headers["Retry-After"] = str(exc.retry_after_s)
    content = error_body(exc.status, [detail])
    return JSONResponse(status_code=exc.status, content=content, headers=headers)


# --- the job processes --------------------------------------------------------------------


def job_process_entry(argv: list[str]) -> None:
    """`python -c` entry of a job process: argv is fd, niceness, memory bytes, modules."""
    fd, niceness, memory_bytes, *preload = argv
    _job_process_main(Connection(int(fd)), int(niceness), int(memory_bytes), tuple(preload))


def _job_process_main(
    conn: Connection, niceness: int, memory_bytes: int, preload: tuple[str, ...]
) -> None:
    """A job process: import what jobs need, cap memory, then run jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    if niceness > 0:
        with contextlib.suppress(OSError):
            os.nice(niceness)  # when cores are busy, the event loops go first
    for module in preload:
        importlib.import_module(module)
    if memory_bytes > 0:
        # RLIMIT_DATA counts heap and private mappings (numpy's arrays), not shared libraries,
        # so the cap is about what a job allocates. Over it, allocation raises MemoryError.
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        conn.send(_run_job(message))


def _run_job(message: bytes) -> tuple[str, Any, float]:
    """(kind, payload, the CPU seconds the job used in this process)."""
    started = time.process_time()
    kind, payload = _job_outcome(message)
    return kind, payload, time.process_time() - started


def _job_outcome(message: bytes) -> tuple[str, Any]:
    try:
        fn, args, kwargs = pickle.loads(message)
        outcome: tuple[str, Any] = ("ok", fn(*args, **kwargs))
        pickle.dumps(outcome[1])  # a result that cannot cross the pipe is an error here
        return outcome
    except MemoryError:
        return ("memory", None)
    except ProblemError as exc:
        # Domain errors do not unpickle through their own __init__; send their parts.
        return ("problem", (exc.status, exc.problems))
    except Exception as exc:
        try:
            pickle.dumps(exc)
            return ("error", exc)
        except Exception:
            return ("error", RuntimeError(f"{type(exc).__name__}: {exc}"))


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
                "import sys; from app.api.heavy import job_process_entry; "
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
        """Starts the processes; each joins the idle list once it has imported its modules."""
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
        if not self._processes:
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
                proc = await _unless_disconnected(waiter, disconnected)
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
                _unless_disconnected(reply, disconnected), self.config.deadline_s
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


async def _unless_disconnected(
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
            return await _unless_disconnected(asyncio.wrap_future(future), disconnected)
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
            await _unless_disconnected(waiter.turn, disconnected)
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


# --- wiring: lifespan, the request context, dependencies ------------------------------------


@dataclass
class Compute:
    """The app's compute lanes, created in its lifespan and kept on app.state.compute: job
    processes for the landscape (`heavy`), job processes for circuits too large to compute in
    the server process (`bulk`: kept apart so that a class's slices never wait behind them),
    and the evaluate threads for the rest. One per-client count covers all three."""

    heavy: HeavyPool
    bulk: HeavyPool
    evaluate: ThreadLane

    @classmethod
    def from_settings(cls, settings: Settings) -> Compute:
        slots = ClientSlots(settings.compute_per_client, settings.compute_seconds_per_client)
        config = PoolConfig.from_settings(settings)
        # one budget per client for all three lanes: job processes charge predicted seconds
        # before a job (the landscape's settled to its CPU after), the evaluate threads the CPU
        # seconds a circuit took after it
        budget = ComputeBudget(
            settings.compute_seconds_per_client_per_minute,
            settings.compute_burst_seconds_per_client,
            settings.compute_budget_clients,
            total_per_minute_s=settings.compute_seconds_per_minute,
        )
        lane = ThreadLane(
            settings.evaluate_threads,
            settings.evaluate_queue_limit,
            slots,
            settings.heavy_max_wait_s,
            budget=budget,
        )
        # Large circuits run below the landscape's jobs (and both below the event loops), so
        # when the cores are short a class's slices go before anyone's largest circuit.
        # Their prediction stands, unsettled: it is also what their line is admitted by, and
        # settling it let circuits predicted 17 x their CPU (bench/abuse.py item 5) come back
        # fast enough to keep the line full, so others got 503s (docs/benchmarks.md, Abuse).
        bulk = replace(config, niceness=settings.bulk_pool_nice, settle_to_cpu=False)
        return cls(
            HeavyPool(config, slots, budget=budget), HeavyPool(bulk, slots, budget=budget), lane
        )

    def start(self) -> None:
        self.heavy.start()
        self.bulk.start()

    async def wait_started(self, timeout_s: float = 60.0) -> None:
        """Start-up waits for the job processes, so no request waits for their imports (a
        few seconds on a busy machine); past the timeout it goes on, and requests wait."""
        for pool in (self.heavy, self.bulk):
            if not await pool.wait_started(timeout_s):
                log.error("job processes not started after %.0f s; serving anyway", timeout_s)

    def readiness(self) -> list[str]:
        """What keeps this server from taking compute requests now; empty when it is ready."""
        lanes = (("landscape jobs", self.heavy), ("large circuits", self.bulk))
        return [f"{name}: {why}" for name, pool in lanes if (why := pool.readiness())]

    def shutdown(self) -> None:
        self.heavy.shutdown()
        self.bulk.shutdown()
        self.evaluate.shutdown()


@contextlib.asynccontextmanager
async def compute_lifespan(app: FastAPI) -> AsyncIterator[None]:
    compute = Compute.from_settings(get_settings())
    compute.start()
    await compute.wait_started()
    # A test may open a second client on the same app inside the first: its lanes serve while
    # it is open, and the outer client's come back when it closes.
    previous = getattr(app.state, "compute", None)
    app.state.compute = compute
    try:
        yield
    finally:
        compute.shutdown()
        app.state.compute = previous


# The request being served: run_heavy() finds the app's pool, the client and the disconnect
# signal here, so routes keep the plain `await run_heavy(job, *args)` call.
_request: ContextVar[tuple[Scope, Receive] | None] = ContextVar("bpc_request", default=None)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _request.set((scope, receive))
        try:
            await self.app(scope, receive, send)
        finally:
            _request.reset(token)


def client_of(scope: Scope) -> str:
    """The client's address: uvicorn has already applied trusted X-Forwarded-For headers."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _disconnect_watch(receive: Receive) -> Callable[[], Awaitable[None]]:
    async def wait_for_disconnect() -> None:
        # The body has been read by now, so the next message is the disconnect.
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                return

    return wait_for_disconnect


def _compute_of(scope: Scope) -> Compute:
    app = scope["app"]
    compute: Compute | None = getattr(app.state, "compute", None)
    if compute is None:
        # Only a test client that skips the lifespan gets here: start the lanes on first use.
        compute = Compute.from_settings(get_settings())
        compute.start()
        app.state.compute = compute
    return compute


def compute_lanes(request: Request) -> Compute:
    """Dependency: the app's compute lanes (pool and evaluate threads)."""
    return _compute_of(request.scope)


ComputeDep = Annotated[Compute, Depends(compute_lanes)]


async def run_heavy(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs `fn(*args, **kwargs)` in a job process for the request being served: stopped at
    the deadline or when its client disconnects; 503/429 when the pool or the client is full."""
    current = _request.get()
    if current is None:
        raise RuntimeError("run_heavy is called while serving a request")
    scope, receive = current
    return await _compute_of(scope).heavy.run(
        fn, *args, client=client_of(scope), disconnected=_disconnect_watch(receive), **kwargs
    )


async def run_bulk(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Like run_heavy, on the job processes kept for large circuits."""
    current = _request.get()
    if current is None:
        raise RuntimeError("run_bulk is called while serving a request")
    scope, receive = current
    return await _compute_of(scope).bulk.run(
        fn, *args, client=client_of(scope), disconnected=_disconnect_watch(receive), **kwargs
    )


async def run_evaluate(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs `fn(*args, **kwargs)` on the evaluate threads for the request being served."""
    current = _request.get()
    if current is None:
        raise RuntimeError("run_evaluate is called while serving a request")
    scope, receive = current
    return await _compute_of(scope).evaluate.run(
        fn, *args, client=client_of(scope), disconnected=_disconnect_watch(receive), **kwargs
    )


def run_tiny(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs `fn(*args, **kwargs)` on the event loop for the request being served (see
    ThreadLane.run_inline): only for work bounded to a millisecond or two before it starts."""
    current = _request.get()
    if current is None:
        raise RuntimeError("run_tiny is called while serving a request")
    scope, _ = current
    return _compute_of(scope).evaluate.run_inline(fn, *args, client=client_of(scope), **kwargs)


def install_heavy_pool(app: FastAPI) -> None:
    app.add_exception_handler(ComputeRefused, _refused_handler)
    app.add_middleware(RequestContextMiddleware)


def as_json_bytes(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
    """Runs `fn` and encodes its JSON-ready answer where it ran (a worker thread or process),
    exactly as JSONResponse would, so a large answer is never encoded on the event loop."""
    return bytes(JSONResponse(fn(*args, **kwargs)).body)
