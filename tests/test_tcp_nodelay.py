"""With several workers, keep-alive answers do not wait for a delayed ACK (TCP_NODELAY is set).

uvicorn binds the socket itself when it runs more than one worker, with protocol 0, so asyncio
never sets TCP_NODELAY on accepted sockets; a keep-alive answer then sits in Nagle's buffer until
the client's delayed ACK, about 40 ms on Linux (uvicorn issue 3149). Without the delay a
/healthz round trip on loopback takes well under a millisecond.
"""

from __future__ import annotations

import json
import socket
import statistics
import time
from urllib.parse import urlsplit

from tests.live_app import ROOT, running_app

# Far below the ~40 ms delayed-ACK floor, far above a loopback round trip on a busy machine.
# The lower quartile, not the median: on a machine shared with other work a busy moment can
# slow half the round trips, but with the delay every round trip after the first few waits.
QUARTILE_LIMIT_S = 0.020


def _keep_alive_round_trips(host: str, port: int, count: int) -> list[float]:
    times = []
    with socket.create_connection((host, port), timeout=10) as sock:
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head[:100]
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            while len(body) < length:
                body += sock.recv(65536)
            assert json.loads(body) == {"status": "ok"}
            times.append(time.perf_counter() - started)
    return times


def test_dockerfile_runs_the_launcher_that_sets_tcp_nodelay() -> None:
    cmd = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")
    )
    assert json.loads(cmd.removeprefix("CMD "))[:2] == ["backprop-circuits", "serve"]


def test_keep_alive_requests_with_two_workers_do_not_wait_for_delayed_acks() -> None:
    with running_app(workers=2) as base:
        url = urlsplit(base)
        assert url.hostname is not None and url.port is not None
        times = _keep_alive_round_trips(url.hostname, url.port, 41)
    q25 = statistics.quantiles(times, n=4)[0]
    assert q25 < QUARTILE_LIMIT_S, f"keep-alive p25 {q25 * 1000:.1f} ms: answers wait for an ACK"
