"""The server launcher behind `backprop-circuits serve` and the Dockerfile: uvicorn, hardened.

uvicorn alone, as a plain `docker run` starts it, has three gaps this closes:
- no header timeout: connections that never finish their headers stay open for ever, and once
  uvicorn's connection limit is reached every request is a bare text/plain 503;
- with `--workers N` it binds the listening socket itself with protocol 0, so asyncio never
  sets TCP_NODELAY on accepted sockets, and every keep-alive answer waits about 40 ms for a
  delayed ACK (uvicorn issue 3149);
- its own 503 has none of our security headers, and its 400 for a request it cannot parse
  (a malformed request line, a header over h11's limit) is text/plain.
GuardedH11Protocol sets TCP_NODELAY on each accepted socket, closes a connection that has not
sent a request's headers within BPC_HEADER_TIMEOUT_S, past BPC_MAX_CONNECTIONS closes the
longest-idle connection rather than refusing new ones (so there is no refusal to answer), and
answers an unparsable request with the app's JSON error envelope. uvicorn's limit-concurrency is
not used: app/api/admission.py answers overload inside the app, as JSON with every header.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections import deque
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.api.errors import error_body
from app.api.middleware import SECURITY_HEADERS
from app.core.config import get_settings

APP = "app.main:app"
PROTOCOL = "app.serve:GuardedH11Protocol"


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY, a header timeout and a connection cap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.header_timeout_s = settings.header_timeout_s
        self.max_connections = settings.max_connections
        self._header_timer: asyncio.TimerHandle | None = None
        self._cycle_at_arm: object = None  # the request cycle when we began waiting for headers
        self._waiting_since = 0.0
        self._evicted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._arm_header_timer()
        if len(self.connections) > self.max_connections:
            self._close_longest_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        if self._evicted:
            _idle_of(self.server_state).closing -= 1
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()  # the next request's headers are due in time too

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 cannot parse, in the app's envelope: the app never
        sees the request, so this is the only layer that can say what was wrong."""
        problem = {
            "type": "bad_http_request",
            "loc": ["request"],
            "msg": "the HTTP request could not be parsed (a malformed request line or header, "
            "or headers over the server's limit)",
        }
        body = json.dumps(error_body(400, [problem])).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *((k.encode(), v.encode()) for k, v in SECURITY_HEADERS),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()

    def waiting_for_headers(self) -> bool:
        """No request has started since we began waiting (idle keep-alive or half-open)."""
        return self.cycle is self._cycle_at_arm

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._cycle_at_arm = self.cycle
        self._waiting_since = time.monotonic()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)
        _idle_of(self.server_state).add(self)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.waiting_for_headers() and not self.transport.is_closing():
            self.transport.close()

    def _close_longest_idle(self) -> None:
        idle = _idle_of(self.server_state)
        # A closed transport stays in `connections` until the loop delivers connection_lost,
        # so the ones already being closed do not count.
        excess = len(self.connections) - idle.closing - self.max_connections
        while excess > 0:
            oldest = idle.pop_oldest(self)
            if oldest is None:
                return
            oldest._evicted = True
            idle.closing += 1
            oldest.transport.close()
            excess -= 1


class IdleConnections:
    """Connections in the order they began waiting for headers, oldest first: a queue with
    lazy deletion, so a flood of connections costs O(1) each, never a scan of all of them."""

    def __init__(self) -> None:
        self.queue: deque[tuple[float, GuardedH11Protocol]] = deque()
        self.closing = 0  # closed by us, connection_lost not yet delivered

    def add(self, connection: GuardedH11Protocol) -> None:
        self.queue.append((connection._waiting_since, connection))
        if len(self.queue) > 4 * len(connection.connections) + 64:
            # entries of connections that moved on or closed: drop them now and then
            self.queue = deque(e for e in self.queue if self._current(*e))

    def pop_oldest(self, other_than: GuardedH11Protocol) -> GuardedH11Protocol | None:
        while self.queue:
            since, connection = self.queue.popleft()
            if connection is not other_than and self._current(since, connection):
                return connection
        return None

    @staticmethod
    def _current(since: float, connection: GuardedH11Protocol) -> bool:
        return (
            connection._waiting_since == since
            and not connection._evicted
            and not connection.transport.is_closing()
            and connection.waiting_for_headers()
        )


def _idle_of(server_state: Any) -> IdleConnections:
    """The idle queue of one server (one per worker process), kept on uvicorn's ServerState."""
    idle: IdleConnections | None = getattr(server_state, "bpc_idle", None)
    if idle is None:
        idle = IdleConnections()
        server_state.bpc_idle = idle
    return idle


def serve(
    host: str,
    port: int,
    workers: int = 1,
    timeout_keep_alive: int = 5,
    forwarded_allow_ips: str = "127.0.0.1",
) -> None:
    """Runs the app under uvicorn with GuardedH11Protocol, as the Dockerfile does."""
    uvicorn.run(
        APP,
        host=host,
        port=port,
        workers=workers,
        http=PROTOCOL,
        timeout_keep_alive=timeout_keep_alive,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        access_log=False,  # the app writes its own JSON access log (BPC_ACCESS_LOG)
    )
