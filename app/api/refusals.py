"""Refusals of compute work: each an exception answered as JSON naming its setting (status, type, Retry-After)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse

from app.api.budget import ComputeBudget
from app.api.errors import error_body

if TYPE_CHECKING:
    from app.api.pool import LineShare

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


async def refused_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ComputeRefused)
    detail: dict[str, Any] = {"type": exc.type, "loc": [], "msg": exc.msg}
    headers = {}
    if exc.retry_after_s is not None:
        detail["retry_after"] = exc.retry_after_s
        headers["Retry-After"] = str(exc.retry_after_s)
    content = error_body(exc.status, [detail])
    return JSONResponse(status_code=exc.status, content=content, headers=headers)
