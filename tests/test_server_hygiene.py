"""The server as the Dockerfile starts it: probes, pages and static files answer while compute is
busy; connections that never finish their headers are closed and cannot lock others out; and an
overloaded worker answers 503 as JSON with the security headers, not as uvicorn's bare text."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import httpx

from tests.live_app import running_app

EVALUATE = "/api/v1/circuits/evaluate"
# A circuit that computes for a few tenths of a second here: 120 x 120 tensors made from a
# 120 x 1 and a 1 x 120 input (issue 10 item 2's shape, small enough to be accepted).
SLOW_CIRCUIT = json.dumps(
    {
        "expression": "s = a + b\nt = s*s\nsum(t)",
        "inputs": {"a": [[0.5]] * 120, "b": [[0.25] * 120]},
    }
).encode()
PROBES = ["/healthz", "/readyz", "/", "/landscape", "/static/css/base.css"]


def _address(base: str) -> tuple[str, int]:
    url = urlsplit(base)
    assert url.hostname is not None and url.port is not None
    return url.hostname, url.port


def _post(address: tuple[str, int], path: str, body: bytes, client_ip: str) -> socket.socket:
    """Sends a whole request and returns the socket without reading the answer. Each request
    claims its own client address (trusted from loopback, as from a proxy), like a class."""
    sock = socket.create_connection(address, timeout=30)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Forwarded-For: {client_ip}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def _answered(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before an answer"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """Whether the server closes this connection within `within_s` (EOF or reset)."""
    sock.settimeout(within_s)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _closed_among(socks: list[socket.socket], within_s: float) -> list[socket.socket]:
    """Those of `socks` the server closes within `within_s`, all watched at once: one window
    for all, where a window per socket in turn made the test wait 40 x 0.2 s for nothing."""
    deadline = time.monotonic() + within_s
    closed: list[socket.socket] = []
    waiting = list(socks)
    while waiting and (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select(waiting, [], [], left)
        for sock in readable:
            waiting.remove(sock)
            if _closed_by_server(sock, within_s=1):
                closed.append(sock)
    return closed


@contextmanager
def _half_open(address: tuple[str, int], count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that send most of a request's headers and then nothing."""
    with ExitStack() as stack:
        socks = []
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection(address, timeout=30))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")  # no blank line: unfinished
            socks.append(sock)
        yield socks


def test_probes_pages_and_static_answer_while_120_slow_circuits_are_in_flight() -> None:
    with running_app(workers=2) as base:
        address = _address(base)
        with ExitStack() as stack:
            slow = [
                stack.enter_context(_post(address, EVALUATE, SLOW_CIRCUIT, f"10.1.{i // 200}.{i}"))
                for i in range(120)
            ]
            with httpx.Client(base_url=base, timeout=5) as client:
                for path in PROBES:
                    response = client.get(path)
                    assert response.status_code == 200, path
            # The probes were answered while circuit work was still going on.
            pending = sum(not _answered(sock) for sock in slow)
            assert pending > 0, "every slow request had finished: the test proved nothing"
            statuses = {_read_response(sock)[0] for sock in slow[:3]}
            assert statuses <= {200, 503}, statuses


def test_connections_that_never_finish_their_headers_are_closed_and_lock_nobody_out() -> None:
    # More half-open connections than uvicorn's old limit-concurrency (512 per worker), after
    # which it answered every request 503.
    with running_app({"BPC_HEADER_TIMEOUT_S": "2"}, workers=1) as base:
        with _half_open(_address(base), 600) as socks:
            response = httpx.get(f"{base}/healthz", timeout=10)
            assert response.status_code == 200
            # and each is closed once its header time is up
            assert all(_closed_by_server(sock, within_s=30) for sock in socks)
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200


def test_past_the_connection_cap_the_longest_idle_connections_are_closed() -> None:
    env = {"BPC_MAX_CONNECTIONS": "50", "BPC_HEADER_TIMEOUT_S": "600"}
    with running_app(env, workers=1) as base:
        address = _address(base)
        with _half_open(address, 50) as oldest, _half_open(address, 40) as newest:
            response = httpx.get(f"{base}/healthz", timeout=10)
            assert response.status_code == 200
            # 91 connections against a cap of 50: the 41 longest idle went, oldest first
            assert all(_closed_by_server(sock, within_s=10) for sock in oldest[:41])
            assert _closed_among(newest, within_s=1) == []


def test_an_overloaded_worker_answers_503_as_json_with_every_security_header() -> None:
    with running_app({"BPC_MAX_IN_FLIGHT": "2"}, workers=1) as base:
        address = _address(base)
        with ExitStack() as stack:
            socks = [
                stack.enter_context(_post(address, EVALUATE, SLOW_CIRCUIT, f"10.2.0.{i}"))
                for i in range(6)
            ]
            answers = [_read_response(sock) for sock in socks]
    busy = [(headers, body) for status, headers, body in answers if status == 503]
    assert len(busy) >= 3, [status for status, _, _ in answers]
    for headers, body in busy:
        assert headers["content-type"] == "application/json"
        assert headers["retry-after"] == "1"
        assert "frame-ancestors 'self';" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        [detail] = json.loads(body)["detail"]
        assert detail["type"] == "server_busy"
        assert "BPC_MAX_IN_FLIGHT" in detail["msg"]


def test_the_job_processes_end_with_the_server() -> None:
    with running_app(workers=1) as base:
        response = httpx.post(
            f"{base}/api/v1/landscape/loss", json={"dataset": {"name": "toy-2d"}}, timeout=30
        )
        assert response.status_code == 200
        server_pid = int(response.headers["x-instance"].rsplit("-", 1)[1])
        children = _children(server_pid)
        assert children, "the landscape job ran in a job process"
    deadline = time.monotonic() + 30
    while any(_exists(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_exists(pid) for pid in children)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _exists(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False
