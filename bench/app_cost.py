"""A request's CPU in the app itself, in process: the sigmoid neuron's evaluate against /healthz.

Run: python3 bench/app_cost.py               (from a checkout; 7 rounds of 500 requests each)
     python3 bench/app_cost.py --rounds 11 --requests 1000

The issue 11 goal (the sigmoid's evaluate at >= 0.7x /healthz's throughput) is measured over
HTTP by bench/load.py, where a noisy machine moves each 10-second window by 10 % or more. This
script measures the part of a request this project writes, with nothing else in the way: the
whole ASGI app (every middleware, the route, the engine, the answer's bytes) called in process
with a request's scope and body, no sockets, no uvicorn. Each contender gets the same number of
requests per round, the rounds alternate their order, gc.collect() runs before each timed block,
and the time is the process's CPU (time.process_time) over the block. It prints each
contender's median CPU per request and its ratio to /healthz's from the same rounds. Run it in
two checkouts one after the other (or alternately) to compare a change; the ratio here is not
the HTTP ratio (uvicorn, h11 and the sockets add the same few hundred microseconds to both).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BPC_ACCESS_LOG", "false")  # the log line costs both contenders alike
# one client sends far more than a student would: no per-client compute budget here
os.environ.setdefault("BPC_COMPUTE_SECONDS_PER_CLIENT_PER_MINUTE", "0")
os.environ.setdefault("BPC_COMPUTE_SECONDS_PER_MINUTE", "0")

from app.main import create_app  # noqa: E402

SIGMOID = {
    "expression": "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))",
    "inputs": {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3},
}
EVALUATE = "/api/v1/circuits/evaluate"
CONTENDERS: dict[str, tuple[str, str, bytes]] = {
    "/healthz": ("GET", "/healthz", b""),
    "sigmoid, verbose": ("POST", EVALUATE, json.dumps(SIGMOID).encode()),
    "sigmoid, compact v2": (
        "POST",
        EVALUATE,
        json.dumps(
            {**SIGMOID, "format": "compact", "compact_version": 2, "echo_expression": False}
        ).encode(),
    ),
    "sigmoid, parts output+gradients": (
        "POST",
        EVALUATE,
        json.dumps({**SIGMOID, "parts": ["output", "gradients"]}).encode(),
    ),
}


def scope(method: str, path: str, body: bytes) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1"), (b"x-forwarded-for", b"10.0.0.1")]
    if body:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def one(app: Any, method: str, path: str, body: bytes) -> int:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # never: the app has the whole body
        return {"type": "http.disconnect"}

    status: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope(method, path, body), receive, send)
    return status[0]


async def measure(rounds: int, requests: int) -> dict[str, list[float]]:
    app = create_app()
    per_request: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    async with app.router.lifespan_context(app):
        for request in CONTENDERS.values():  # warm: the parse cache, the templates
            for _ in range(200):
                assert await one(app, *request) == 200
        names = list(CONTENDERS)
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                request = CONTENDERS[name]
                gc.collect()
                started = time.process_time()
                for _ in range(requests):
                    await one(app, *request)
                per_request[name].append((time.process_time() - started) / requests * 1e6)
    return per_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=500, help="per contender per round")
    args = parser.parse_args()
    per_request = asyncio.run(measure(args.rounds, args.requests))
    healthz = per_request["/healthz"]
    for name, times in per_request.items():
        line = f"{name:32s} median {statistics.median(times):6.1f} us  min {min(times):6.1f} us"
        if name != "/healthz":
            ratios = [h / t for h, t in zip(healthz, times, strict=True)]
            line += f"  /healthz over it: {statistics.median(ratios):.2f}x"
        print(line)


if __name__ == "__main__":
    main()
