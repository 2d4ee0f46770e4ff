"""Admission at the door: a JSON 503 past BPC_MAX_IN_FLIGHT requests in one worker process, and a
JSON 429 past BPC_COMPUTE_PER_CLIENT compute requests from one client, before either is read."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import error_body
from app.api.heavy import client_of

# Probes are answered even when the process is full: a busy process is alive and will drain.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


# A live class's actions (join, answer, push...) are a few store reads and writes, not compute,
# and a room behind one school address joins and answers at once: counted per client, the 5th
# join in progress from that address was a 429 (bench/classroom.py joins 20 at a time).
# BPC_MAX_IN_FLIGHT still bounds them.
CLASS_ACTIONS = "/api/v1/classes"


def is_compute(scope: Scope) -> bool:
    """Every POST under /api/ does work for its answer (evaluate, the landscape, a CSV upload),
    but a live class's actions; GETs (gates, presets, the catalog, the spec) are small constant
    answers."""
    path = str(scope.get("path", ""))
    return (
        scope.get("method") == "POST"
        and path.startswith("/api/")
        and not path.startswith(CLASS_ACTIONS)
    )


class AdmissionMiddleware:
    """Counts requests being handled, in all and per client for compute requests. Installed
    inside the hardening wrapper, so its 503 and 429 carry the security headers (uvicorn's own
    limit-concurrency 503 is bare text/plain).

    The per-client count is taken here, at the door, rather than only when a compute lane
    admits the job: a client that opens 120 requests at once would otherwise have every one of
    them read, parsed and validated on the event loop before the lane refused 116, and that
    event-loop time is taken from every other client of the worker (issue 10, item 5). Here the
    extra ones cost a fixed 429 with no body read. The lanes keep their own count (ClientSlots),
    which also weighs predicted seconds."""

    def __init__(self, app: ASGIApp, max_in_flight: int, per_client: int = 0) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.per_client = per_client
        self.in_flight = 0
        self.clients: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.max_in_flight > 0 and self.in_flight >= self.max_in_flight:
            await _busy(send, self.in_flight)
            return
        client = client_of(scope) if self.per_client > 0 and is_compute(scope) else None
        if client is not None:
            held = self.clients.get(client, 0)
            if held >= self.per_client:
                await _client_busy(send, client, held)
                return
            self.clients[client] = held + 1
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            if client is not None:
                left = self.clients[client] - 1
                if left:
                    self.clients[client] = left
                else:
                    del self.clients[client]


async def _busy(send: Send, in_flight: int) -> None:
    msg = (
        f"the server is handling {in_flight} requests, the most it takes at once "
        "(setting BPC_MAX_IN_FLIGHT); retry in 1 s"
    )
    await _refuse(send, 503, {"type": "server_busy", "loc": [], "msg": msg, "retry_after": 1})


async def _client_busy(send: Send, client: str, held: int) -> None:
    msg = (
        f"client {client} already has {held} compute requests in progress, the most one client "
        "may have (setting BPC_COMPUTE_PER_CLIENT); retry in 1 s"
    )
    await _refuse(send, 429, {"type": "too_many_requests", "loc": [], "msg": msg, "retry_after": 1})


async def _refuse(send: Send, status: int, detail: dict[str, object]) -> None:
    body = json.dumps(error_body(status, [detail])).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"1"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
