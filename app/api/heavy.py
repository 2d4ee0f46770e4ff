"""Where compute runs: the app's lanes made in its lifespan, and the calls routes use to reach them.

The lanes themselves live beside this module: job processes in app/api/pool.py, the evaluate
threads in app/api/lane.py, the refusals both answer with in app/api/refusals.py.

Threads cannot be stopped, so heavy work (landscape jobs, large circuits) runs in a few worker
processes per server process: a job past its deadline, or whose client went away, has its
process killed and replaced; each process has a memory cap (RLIMIT_DATA), so a runaway
allocation is a MemoryError answered 413, not a dead server. Small evaluate requests, and
landscape jobs the cost model predicts small in time and memory (run_landscape), stay in the
server process (a process hop costs more than the work) on a few threads, never on
Starlette's shared thread pool, so pages, static files and probes never wait behind them.

Both lanes refuse work rather than queue without end: when full, 429 to a client that already
has work in the line and 503 + Retry-After to one that has none; 429 when one client already
has its share in flight, or has started its compute budget's worth (app/api/budget.py). Slots
go to the waiting client with the fewest jobs running, so one client's burst cannot push the
rest of the class to the back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.budget import ComputeBudget
from app.api.lane import ThreadLane
from app.api.pool import ClientSlots, HeavyPool, PoolConfig
from app.api.refusals import ComputeRefused, refused_handler
from app.core.config import Settings, get_settings

T = TypeVar("T")
log = logging.getLogger("backprop_circuits")


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
    # a landscape job predicted within both runs on the evaluate threads (run_landscape)
    small_landscape_s: float = 0.0
    small_landscape_bytes: int = 0

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
            HeavyPool(config, slots, budget=budget),
            HeavyPool(bulk, slots, budget=budget),
            lane,
            settings.landscape_in_process_max_s,
            settings.landscape_in_process_max_bytes,
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


async def run_landscape(
    fn: Callable[..., T], *args: Any, predicted_s: float, predicted_bytes: int | None
) -> T:
    """A landscape job: on the evaluate threads when the cost model predicts it small in both
    time and memory (BPC_LANDSCAPE_IN_PROCESS_MAX_S and _MAX_BYTES: a process hop would cost
    more than the work), else as run_heavy does, in a job process."""
    current = _request.get()
    if current is None:
        raise RuntimeError("run_landscape is called while serving a request")
    compute = _compute_of(current[0])
    if (
        predicted_bytes is not None
        and predicted_s <= compute.small_landscape_s
        and predicted_bytes <= compute.small_landscape_bytes
    ):
        return await run_evaluate(fn, *args)
    return await run_heavy(fn, *args, predicted_s=predicted_s)


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
    app.add_exception_handler(ComputeRefused, refused_handler)
    app.add_middleware(RequestContextMiddleware)


def as_json_bytes(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
    """Runs `fn` and encodes its JSON-ready answer where it ran (a worker thread or process),
    exactly as JSONResponse would, so a large answer is never encoded on the event loop."""
    return bytes(JSONResponse(fn(*args, **kwargs)).body)
