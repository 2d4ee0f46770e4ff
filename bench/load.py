"""Classroom load: 64 clients of mixed traffic against the server as the Dockerfile starts it.

Runs, in one session and against one server: a /healthz-only baseline and three evaluate-only
runs (four small circuits; the sigmoid neuron as the API's default verbose answer; the sigmoid
neuron as the page asks for it, compact), taking turns for `--rounds` rounds, then mixed
classroom traffic, then small circuit requests alone and while 4 maximum-size landscape requests
run. Prints requests per second, p50, p99, errors and the server's CPU per request (its process
tree, from /proc) per run, and the ratios the issue targets, both from throughput and from the
server's CPU per request: with the Dockerfile's two workers on a two-core machine, the load
generator competes with the workers, and only the second measures the server (see summarize).

    python3 bench/load.py                 # 60 s per run (about 14 minutes in all)
    python3 bench/load.py --duration 10   # a quick look

The clients speak HTTP/1.1 keep-alive over raw asyncio streams, so the generator costs little
CPU next to the server (both share this machine's cores; every run pays the same share).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

Request = tuple[str, str, bytes]  # method, path, JSON body (b"" for GET)

SMALL_CIRCUITS: list[Request] = [
    ("POST", "/api/v1/circuits/evaluate", json.dumps(body).encode())
    for body in (
        {"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}},
        {
            "expression": "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))",
            "inputs": {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3},
        },
        {"expression": "2 * (x*y + max(z, w))", "inputs": {"x": 3, "y": -4, "z": 2, "w": -1}},
        {"expression": "x*x*y + x*y + x", "inputs": {"x": 2, "y": -1}, "gradcheck": True},
    )
]
# The throughput goal is the sigmoid neuron's, as an API client asks (the verbose
# default) and as the page asks (compact, without the expression echoed back).
SIGMOID_BODY = SMALL_CIRCUITS[1][2]
SIGMOID_VERBOSE: list[Request] = [("POST", "/api/v1/circuits/evaluate", SIGMOID_BODY)]
SIGMOID_COMPACT: list[Request] = [
    (
        "POST",
        "/api/v1/circuits/evaluate",
        json.dumps(
            {
                **json.loads(SIGMOID_BODY),
                "format": "compact",
                "compact_version": 2,
                "echo_expression": False,
            }
        ).encode(),
    )
]
# the throughput runs' names for them
SMALL = "small circuits only (evaluate)"
NEURON_VERBOSE = "sigmoid neuron, verbose (the API's default)"
NEURON_COMPACT = "sigmoid neuron, compact (as the page asks)"
HEALTHZ: list[Request] = [("GET", "/healthz", b"")]
# What a class does: mostly stepping through circuits, some page loads, some small landscapes.
MIXED: list[tuple[float, Request]] = [
    *((0.15, r) for r in SMALL_CIRCUITS),
    (0.05, ("GET", "/", b"")),
    (0.05, ("GET", "/static/css/base.css", b"")),
    (0.05, ("GET", "/api/v1/presets", b"")),
    (0.05, ("GET", "/api/v1/gates", b"")),
    (0.10, ("POST", "/api/v1/landscape/loss", b'{"dataset": {"name": "toy-2d"}, "reg": 0.1}')),
    (
        0.10,
        (
            "POST",
            "/api/v1/landscape/slice",
            b'{"dataset": {"name": "toy-2d"}, "dims": 1, "steps": 101}',
        ),
    ),
    (0.05, ("GET", "/healthz", b"")),
]
# The most expensive landscape request the settings accept (issue 11: the load test must use
# it). It moves whenever the cost model or a limit does, so it is searched for at start-up
# against app.landscape.jobs.precheck (the route's own check) rather than written down: for
# each family below, the largest N that is admitted, then the family whose request is
# predicted to take longest.
LANDSCAPE_FAMILIES: list[dict[str, object]] = [
    {"dataset": {"name": "blobs", "d": 80, "c": 20}, "dims": 1, "steps": 10_001},
    {"dataset": {"name": "blobs", "d": 80, "c": 20}, "dims": 2, "steps": 201},
    {"dataset": {"name": "blobs", "d": 80, "c": 20}, "dims": 2, "steps": 201, "loss": "softmax"},
    {"dataset": {"name": "blobs", "d": 2, "c": 100}, "dims": 2, "steps": 201},
]


def largest_landscape() -> tuple[Request, float]:
    """The admitted request with the longest predicted seconds, and those seconds."""
    from app.core.config import get_settings
    from app.core.errors import ProblemError
    from app.core.limits import Limits
    from app.landscape.jobs import precheck
    from app.schemas.landscape import SliceRequest

    # the limits of the server this script starts: the Dockerfile's ENV over this environment
    os.environ.update({k: v for k, v in dockerfile_env().items() if k.startswith("BPC_")})
    limits = Limits.from_settings(get_settings())

    def admitted(family: dict[str, object], n: int) -> float | None:
        body = json.loads(json.dumps(family))
        body["dataset"]["n"] = n
        try:
            return precheck(SliceRequest.model_validate(body), limits)
        except (ProblemError, ValueError):
            return None

    best: tuple[float, dict[str, object]] = (-1.0, {})
    for family in LANDSCAPE_FAMILIES:
        hi = 1
        while admitted(family, hi * 2) is not None and hi < 10**9:
            hi *= 2
        lo, hi = hi, hi * 2  # lo admitted, hi refused (or the data limit)
        if admitted(family, lo) is None:
            continue
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if admitted(family, mid) is not None else (lo, mid)
        seconds = admitted(family, lo)
        assert seconds is not None
        if seconds > best[0]:
            body = json.loads(json.dumps(family))
            body["dataset"]["n"] = lo
            best = (seconds, body)
    seconds, body = best
    return ("POST", "/api/v1/landscape/slice", json.dumps(body).encode()), seconds


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    samples: dict[int, str] = field(default_factory=dict)  # one answer per error status

    def add(self, status: int, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            self.latencies.append(seconds)
        else:
            self.errors += 1

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int, client_ip: str = "") -> None:
        self.host, self.port = host, port
        # Each simulated student has an address of its own, as behind a proxy (the server
        # trusts X-Forwarded-For from loopback), so per-client caps see a class, not one client.
        self.client_ip = client_ip
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        if self.client_ip:
            head += f"X-Forwarded-For: {self.client_ip}\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and "close" in value.lower():
                close = True
        content = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def client_loop(
    host: str,
    port: int,
    pick: Callable[[], Request],
    tally: Tally,
    deadline: float,
    client_ip: str = "",
) -> None:
    connection = Connection(host, port, client_ip)
    while time.monotonic() < deadline:
        method, path, body = pick()
        started = time.perf_counter()
        try:
            status, content = await asyncio.wait_for(
                connection.request(method, path, body), timeout=30
            )
        except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            connection.close()
            status, content = 599, repr(exc).encode()
        tally.add(status, time.perf_counter() - started)
        if not 200 <= status < 300:
            tally.samples.setdefault(status, f"{path}: {content[:300]!r}")
    connection.close()


def picker(
    requests: list[Request] | list[tuple[float, Request]], seed: int
) -> Callable[[], Request]:
    rng = random.Random(seed)
    if requests and isinstance(requests[0][0], float):
        weights = [w for w, _ in requests]  # type: ignore[misc]
        choices = [r for _, r in requests]  # type: ignore[misc]
        return lambda: rng.choices(choices, weights)[0]  # type: ignore[arg-type]
    return lambda: rng.choice(requests)  # type: ignore[arg-type,return-value]


async def run_phase(
    host: str,
    port: int,
    duration: float,
    groups: list[tuple[int, Callable[[int], Callable[[], Request]], Tally]],
) -> float:
    deadline = time.monotonic() + duration
    started = time.perf_counter()
    tasks = [
        client_loop(host, port, make_pick(i), tally, deadline, f"10.{g}.{i // 250}.{i % 250 + 1}")
        for g, (count, make_pick, tally) in enumerate(groups)
        for i in range(count)
    ]
    await asyncio.gather(*tasks)
    return time.perf_counter() - started


def report(
    name: str, tally: Tally, seconds: float, server_cpu: float | None = None
) -> dict[str, float]:
    """A run's row; with `server_cpu` (the server tree's CPU seconds in the run), the server's
    CPU per request too."""
    done = len(tally.latencies) + tally.errors
    row = {
        "rps": done / seconds,
        "p50_ms": tally.percentile(0.50) * 1000,
        "p99_ms": tally.percentile(0.99) * 1000,
        "errors": tally.errors,
        "requests": done,
    }
    cpu = ""
    if server_cpu is not None and done:
        row["server_cpu_us"] = server_cpu / done * 1e6
        cpu = f"  server CPU {row['server_cpu_us']:6.0f} us/request"
    print(
        f"  {name:<34} {row['rps']:8.1f} req/s  p50 {row['p50_ms']:8.1f} ms  "
        f"p99 {row['p99_ms']:8.1f} ms{cpu}  errors {tally.errors} / {done}  "
        f"statuses {tally.statuses}",
        flush=True,
    )
    for status, sample in tally.samples.items():
        print(f"    e.g. {status} {sample}")
    return row


_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user and system) used so far by a process and all its descendants alive
    now: the server's supervisor, its workers and their job processes. With the load generator
    on the same cores, throughput measures the generator's share too; the server's CPU per
    request does not (see summarize)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(child) for child in f.read().split())
    ticks = 0
    for each in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            with open(f"/proc/{each}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # utime and stime, then cutime and cstime: the children it has reaped (a job
            # process that ended in the run), which are no longer in the tree
            ticks += sum(int(x) for x in fields[11:15])
    return ticks / _TICKS


def dockerfile_env() -> dict[str, str]:
    """The Dockerfile's ENV lines, so the server here runs with the image's settings."""
    env: dict[str, str] = {}
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    in_run_stage = False
    for line in text.splitlines():
        if line.startswith("FROM "):
            in_run_stage = " AS " not in line
        if in_run_stage and line.startswith("ENV "):
            for item in line[4:].split():
                name, _, value = item.partition("=")
                if name != "PATH":  # the image's virtualenv; here the current Python runs it
                    env[name] = value
    return env


def dockerfile_command() -> list[str]:
    """The Dockerfile's CMD, run from the source tree with this Python, on loopback."""
    line = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")
    )
    command: list[str] = json.loads(line.removeprefix("CMD "))
    assert command[0] == "backprop-circuits", command
    command = [sys.executable, "-m", "app.cli", *command[1:]]
    return ["127.0.0.1" if arg == "0.0.0.0" else arg for arg in command]


def start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The Dockerfile's CMD with the Dockerfile's ENV, on loopback and the given port."""
    proc = subprocess.Popen(
        dockerfile_command(),
        cwd=ROOT,
        env={**os.environ, **env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                warm_up(port, int(env.get("WEB_CONCURRENCY", "1")), deadline)
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def warm_up(port: int, workers: int, deadline: float) -> None:
    """Waits until every worker's job process answers a small landscape request quickly: a
    fresh job process spends a few seconds importing numpy and the app."""
    quick: set[str] = set()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        while len(quick) < workers and time.monotonic() < deadline:
            started = time.perf_counter()
            answer = client.post(
                "/api/v1/landscape/loss",
                json={"dataset": {"name": "toy-2d"}},
                headers={"Connection": "close"},  # a new connection may reach another worker
            )
            if answer.status_code == 200 and time.perf_counter() - started < 0.5:
                quick.add(answer.headers["x-instance"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main_async(args: argparse.Namespace, port: int, server: int) -> None:
    host, n, d = "127.0.0.1", args.clients, args.duration
    rows: dict[str, dict[str, float]] = {}

    def fixed(requests: list[Request]) -> Callable[[int], Callable[[], Request]]:
        return lambda i: picker(requests, seed=i)

    # each evaluate contender's throughput / healthz's, one per round; and the same from the
    # server's CPU per request (healthz's / the contender's)
    ratios: dict[str, list[float]] = {}
    cpu_ratios: dict[str, list[float]] = {}
    healthz_rps = 0.0  # the last round's, for the mixed run's ratio
    print(f"{n} clients, {d:.0f} s per run, server: {args.workers} worker(s)", flush=True)
    if "throughput" in args.runs:
        # The contenders take turns, `--rounds` times each (the order reverses every round), so
        # a drift in the machine's load falls on all of them; each round gives a ratio each.
        contenders = [
            ("/healthz only", HEALTHZ),
            (SMALL, SMALL_CIRCUITS),
            (NEURON_VERBOSE, SIGMOID_VERBOSE),
            (NEURON_COMPACT, SIGMOID_COMPACT),
        ]
        for r in range(args.rounds):
            got: dict[str, float] = {}
            cpu: dict[str, float] = {}
            for name, requests in contenders if r % 2 == 0 else contenders[::-1]:
                tally = Tally()
                before = tree_cpu(server)
                seconds = await run_phase(host, port, d, [(n, fixed(requests), tally)])
                row = rows[f"{name} (round {r + 1})"] = report(
                    f"{name} (round {r + 1})", tally, seconds, tree_cpu(server) - before
                )
                got[name] = row["rps"]
                cpu[name] = row["server_cpu_us"]
            healthz_rps = got[contenders[0][0]]
            for name, _ in contenders[1:]:
                ratios.setdefault(name, []).append(got[name] / healthz_rps)
                cpu_ratios.setdefault(name, []).append(cpu[contenders[0][0]] / cpu[name])
        tally = Tally()
        mixed = lambda i: picker(MIXED, seed=1000 + i)  # noqa: E731
        seconds = await run_phase(host, port, d, [(n, mixed, tally)])
        rows["mixed classroom traffic"] = report("mixed classroom traffic", tally, seconds)

    if "fairness" in args.runs:
        # A few students' small circuits, alone and next to 4 maximum-size landscapes.
        k = args.fair_clients
        largest, predicted = largest_landscape()
        print(f"largest landscape accepted: {largest[2].decode()} ({predicted:.2f} s predicted)")
        alone = Tally()
        seconds = await run_phase(host, port, d / 2, [(k, fixed(SMALL_CIRCUITS), alone)])
        rows["small circuits, alone"] = report(f"{k} clients small circuits, alone", alone, seconds)
        small, heavy = Tally(), Tally()
        seconds = await run_phase(
            host,
            port,
            d / 2,
            [(k, fixed(SMALL_CIRCUITS), small), (4, fixed([largest]), heavy)],
        )
        rows["small circuits, next to 4 max landscapes"] = report(
            f"{k} clients small circuits + 4 max landscapes", small, seconds
        )
        rows["the 4 max landscapes"] = report("  the 4 max landscape clients", heavy, seconds)
    summarize(rows, ratios, cpu_ratios, healthz_rps)


def summarize(
    rows: dict[str, dict[str, float]],
    ratios: dict[str, list[float]],
    cpu_ratios: dict[str, list[float]],
    healthz_rps: float,
) -> None:
    """The ratios the issue targets. Throughput is what a client sees, but the load generator
    shares this machine's cores: once the server's workers could use every core, a ratio near 1
    means the generator ran out, not the server. The server's CPU per request does not depend
    on that share, and `/healthz`'s over a contender's is the throughput ratio a server with the
    cores to itself would give (both runs keep it busy)."""
    print(flush=True)
    for label, table in (("throughput", ratios), ("server CPU per request", cpu_ratios)):
        for name, each_round in table.items():
            each = ", ".join(f"{x:.2f}" for x in each_round)
            goal = " (target >= 0.7)" if name != SMALL else ""
            print(
                f"{name} / healthz, {label}: {statistics.median(each_round):.2f}x, the median "
                f"of the rounds [{each}]{goal}"
            )
    if ratios:
        print(
            f"mixed / healthz throughput:    {rows['mixed classroom traffic']['rps'] / healthz_rps:.2f}x"
        )
    if "small circuits, next to 4 max landscapes" in rows:
        p99 = rows["small circuits, next to 4 max landscapes"]["p99_ms"]
        print(f"p99 of small circuits next to 4 max landscapes: {p99:.1f} ms (target < 200 ms)")
    errors = sum(int(r["errors"]) for k, r in rows.items() if k != "the 4 max landscapes")
    print(f"errors in all runs but the landscape clients: {errors} (target 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating healthz / evaluate rounds"
    )
    parser.add_argument(
        "--runs", default="throughput,fairness", help="throughput and/or fairness (comma list)"
    )
    parser.add_argument(
        "--fair-clients", type=int, default=16, help="small-circuit clients in the fairness runs"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="WEB_CONCURRENCY (default: the Dockerfile's)"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="override an ENV"
    )
    args = parser.parse_args()
    env = dockerfile_env()
    env.update(item.split("=", 1) for item in args.env)
    if args.workers is not None:
        env["WEB_CONCURRENCY"] = str(args.workers)
    args.workers = int(env["WEB_CONCURRENCY"])
    port = free_port()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out
    proc = start_server(port, env)
    try:
        with open("/proc/loadavg") as f:
            print(f"load average before: {f.read().split()[:3]}")
        asyncio.run(main_async(args, port, proc.pid))
        with open("/proc/loadavg") as f:
            print(f"load average after: {f.read().split()[:3]}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# For a benchmark that times the engine or the page, not admission: one client sends more
# than a student would, and the per-client compute budget would answer 429.
BUDGET_OFF = {
    "BPC_COMPUTE_SECONDS_PER_CLIENT_PER_MINUTE": "0",
    "BPC_COMPUTE_SECONDS_PER_MINUTE": "0",
}


@contextlib.contextmanager
def dockerfile_server(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """The server as the Dockerfile starts it (its CMD and ENV: two workers, each with one job
    process), on loopback; the class store in a temporary file instead of /data. `extra_env`
    goes over the Dockerfile's ENV (a benchmark turning off a per-client budget, say)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **dockerfile_env(),
            "BPC_STORE": f"sqlite:///{tmp}/class.db",
            "BPC_ACCESS_LOG": "false",
            **(extra_env or {}),
        }
        proc = start_server(port, env)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
