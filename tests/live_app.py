"""Starts the app as a real server process on a free loopback port, the way the Dockerfile does."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

# Debian's Chromium, driven by Playwright in the browser tests and the front-end benchmarks.
# The flags keep it from reaching for the network, which this machine does not have.
CHROMIUM = os.environ.get("BPC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def uvicorn_command(port: int, workers: int = 1) -> list[str]:
    """The Dockerfile's CMD (`backprop-circuits serve`: uvicorn via app/serve.py), on loopback."""
    return [
        sys.executable,
        "-m",
        "app.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--timeout-keep-alive",
        "5",
        "--forwarded-allow-ips",
        "127.0.0.1",
    ]


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{url} did not come up: {log.read_text()[-2000:]}")
        time.sleep(0.1)


@contextmanager
def running_app(
    env: dict[str, str] | None = None, workers: int = 1, up_timeout: float = 30
) -> Iterator[str]:
    """Yields the base URL of a fresh app process; stops it afterwards. `up_timeout`: how long
    it may take to answer /healthz (each worker waits for its job processes' imports)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                uvicorn_command(port, workers),
                cwd=ROOT,
                env={
                    **os.environ,
                    "BPC_ACCESS_LOG": "false",
                    "OMP_NUM_THREADS": "1",
                    **(env or {}),
                },
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,  # its own process group: workers and job processes
            )
            base = f"http://127.0.0.1:{port}"
            try:
                wait_until_up(f"{base}/healthz", proc, log, up_timeout)
                yield base
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                # Whatever is left of the group (workers of a supervisor that did not stop in
                # time) would otherwise outlive the test.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
