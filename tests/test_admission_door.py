"""The per-client door (app/api/admission.py): past BPC_COMPUTE_PER_CLIENT compute requests in
progress from one client, the next is a 429 before its body is read (issue 10, item 5)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.api.admission import AdmissionMiddleware
from tests.live_app import running_app

EVALUATE = "/api/v1/circuits/evaluate"


def _scope(client: str, method: str = "POST", path: str = EVALUATE) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "client": (client, 5000)}


async def _no_body() -> dict[str, Any]:
    raise AssertionError("a refused request's body must not be read")


def _answer(messages: list[dict[str, Any]]) -> tuple[int, dict[str, str], dict[str, Any]]:
    start, body = messages
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, json.loads(body["body"])


def test_n_compute_requests_pass_and_the_next_is_refused_unread() -> None:
    release = asyncio.Event()
    entered: list[str] = []

    async def held(scope: Any, receive: Any, send: Any) -> None:
        entered.append(f"{scope['method']} {scope['client'][0]}")
        await release.wait()

    door = AdmissionMiddleware(held, max_in_flight=100, per_client=3)
    refused: list[dict[str, Any]] = []

    async def keep(message: dict[str, Any]) -> None:
        refused.append(message)

    async def ignore(message: dict[str, Any]) -> None:
        raise AssertionError("an admitted request answers from the inner app only")

    async def scenario() -> None:
        inside = [
            asyncio.ensure_future(door(_scope("10.0.0.1"), _no_body, ignore))  # type: ignore[arg-type]
            for _ in range(3)
        ]
        # another client's compute and the same client's GET are not counted against it
        inside.append(asyncio.ensure_future(door(_scope("10.0.0.2"), _no_body, ignore)))  # type: ignore[arg-type]
        get = _scope("10.0.0.1", "GET", "/api/v1/gates")
        inside.append(asyncio.ensure_future(door(get, _no_body, ignore)))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        assert door.clients == {"10.0.0.1": 3, "10.0.0.2": 1}
        await door(_scope("10.0.0.1"), _no_body, keep)  # type: ignore[arg-type]
        release.set()
        await asyncio.gather(*inside)

    asyncio.run(scenario())
    assert sorted(entered) == ["GET 10.0.0.1"] + ["POST 10.0.0.1"] * 3 + ["POST 10.0.0.2"]
    status, headers, body = _answer(refused)
    assert status == 429
    assert headers["retry-after"] == "1"
    assert headers["content-type"] == "application/json"
    (problem,) = body["detail"]
    assert problem["type"] == "too_many_requests"
    assert problem["msg"] == (
        "client 10.0.0.1 already has 3 compute requests in progress, the most one client may "
        "have (setting BPC_COMPUTE_PER_CLIENT); retry in 1 s"
    )
    assert body["status"] == 429
    assert door.clients == {}  # every slot given back
    assert door.in_flight == 0


def test_a_slot_is_given_back_when_the_inner_app_raises() -> None:
    async def fails(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    door = AdmissionMiddleware(fails, max_in_flight=100, per_client=1)

    async def scenario() -> None:
        for _ in range(2):
            with contextlib.suppress(RuntimeError):
                await door(_scope("10.0.0.1"), _no_body, _no_body)  # type: ignore[arg-type]

    asyncio.run(scenario())
    assert door.clients == {} and door.in_flight == 0


BODY = json.dumps({"expression": "x * y", "inputs": {"x": 2, "y": 3}}).encode()


def _half_sent_post(base: str) -> socket.socket:
    """A compute request whose headers are in and whose body lacks its last byte: the server
    holds it in the app, reading, until that byte comes or the connection closes."""
    url = urlsplit(base)
    sock = socket.create_connection((str(url.hostname), int(url.port or 80)))
    head = (
        f"POST {EVALUATE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    )
    sock.sendall(head.encode() + BODY[:-1])
    return sock


def _poll(send: Callable[[], httpx.Response], status: int) -> httpx.Response:
    """Sends until the answer has `status` (the server reads a new connection's headers, or
    notices a closed one, on its own schedule), for at most 30 s."""
    deadline = time.monotonic() + 30
    answer = send()
    while answer.status_code != status and time.monotonic() < deadline:
        answer = send()
    return answer


def _nothing_to_read(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return not sock.recv(1)
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def test_on_a_real_server_the_limit_is_exactly_the_setting() -> None:
    with (
        running_app({"BPC_COMPUTE_PER_CLIENT": "2"}) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        held = [_half_sent_post(base), _half_sent_post(base)]
        try:
            # two in progress (N = 2): a third is refused, naming the setting, once the server
            # has read both held requests' headers
            refused = _poll(lambda: client.post(EVALUATE, json=json.loads(BODY)), 429)
            assert refused.status_code == 429
            msg = refused.json()["detail"][0]["msg"]
            assert "2 compute requests in progress" in msg
            assert "setting BPC_COMPUTE_PER_CLIENT" in msg
            # the two held ones were let in (they are reading their bodies, not refused)
            assert all(_nothing_to_read(sock) for sock in held)
            assert client.get("/api/v1/gates").status_code == 200  # not a compute request
            # one held request finishes its body: it is served in full
            held[0].sendall(BODY[-1:])
            answer = held[0].recv(65536).decode()
            assert answer.startswith("HTTP/1.1 200 ")
        finally:
            for sock in held:
                sock.close()
        # the held ones are gone: served again
        answer = _poll(lambda: client.post(EVALUATE, json=json.loads(BODY)), 200)
        assert answer.json()["output"]["value"] == 6
