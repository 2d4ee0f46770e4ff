"""Admission: past BPC_MAX_IN_FLIGHT requests in one worker process, a JSON 503 with Retry-After."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import error_body

# Probes are answered even when the process is full: a busy process is alive and will drain.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


class AdmissionMiddleware:
    """Counts requests being handled. Installed inside the hardening wrapper, so its 503 carries
    the security headers (uvicorn's own limit-concurrency 503 is bare text/plain)."""

    def __init__(self, app: ASGIApp, max_in_flight: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.max_in_flight > 0 and self.in_flight >= self.max_in_flight:
            await _busy(send, self.in_flight)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _busy(send: Send, in_flight: int) -> None:
    msg = (
        f"the server is handling {in_flight} requests, the most it takes at once "
        "(setting BPC_MAX_IN_FLIGHT); retry in 1 s"
    )
    detail = {"type": "server_busy", "loc": [], "msg": msg, "retry_after": 1}
    body = json.dumps(error_body(503, [detail])).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"1"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
