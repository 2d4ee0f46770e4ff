"""A hostile student next to a class: issue 10's resource attacks against honest page traffic.

Starts the server exactly as the Dockerfile does (its CMD and ENV, 2 workers, from the source
tree), then for --seconds runs 8 attacking clients that loop over the attacks of issue 10 items
1-8 while 16 honest clients send what the two pages send (small circuits, 1-D slices, 2-D
101 x 101 slices), each honest client pausing --think-ms between requests as a student does.
Every client has its own address (X-Forwarded-For, trusted from loopback, as behind a proxy).

Prints honest errors and p99 latencies, each attack's statuses and latencies, the probes'
latency while attacks run, peak RSS per server process, and restarts, against the goals:
0 honest errors, honest p99 < 300 ms (small circuits) and < 1.5 s (101 x 101 slice), every
attack a 4xx in < 1 s or done within its budget, peak RSS per worker < 512 MB, no restarts.

    python3 bench/abuse.py                # 60 s
    python3 bench/abuse.py --seconds 15   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import re
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Connection_
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import (  # noqa: E402
    SMALL_CIRCUITS,
    Connection,
    Request,
    dockerfile_env,
    free_port,
    start_server,
)

HOST = "127.0.0.1"
EVALUATE = "/api/v1/circuits/evaluate"
SLICE = "/api/v1/landscape/slice"
LOSS = "/api/v1/landscape/loss"


def _post(path: str, body: object) -> Request:
    return ("POST", path, json.dumps(body).encode())


# --- honest traffic: what the two pages send -------------------------------------------------

SLICE_1D = _post(SLICE, {"dataset": {"name": "cs231n-1d"}, "dims": 1, "steps": 201})
SLICE_2D = _post(SLICE, {"dataset": {"name": "cifar-shaped", "n": 1000}, "dims": 2, "steps": 101})
HONEST: list[tuple[str, float, list[Request]]] = [
    ("small circuit", 0.6, SMALL_CIRCUITS),
    ("1-D slice (201 steps)", 0.25, [SLICE_1D]),
    ("2-D slice 101x101 (N=1000)", 0.15, [SLICE_2D]),
]

# --- the attacks of issue 10 items 1-8 ----------------------------------------------------------

MAX_19999 = _post(
    EVALUATE, {"expression": "max(" + ", ".join(["x"] * 19_999) + ")", "inputs": {"x": 1}}
)
TENSOR_570MB = _post(
    EVALUATE,
    {
        "expression": "s = a + b\nt = s*s\nu = t*s\nsum(u)",
        "inputs": {"a": [[0.5]] * 1000, "b": [[0.25] * 1000]},
    },
)
LANDSCAPE_CD = _post(LOSS, {"dataset": {"name": "blobs", "n": 1, "d": 100_000, "c": 100}})
GRADCHECK_300 = _post(
    EVALUATE,
    {
        "expression": "sum(x @ x.T)",
        "inputs": {"x": [[(i * 7 + j) % 11 / 10 for j in range(100)] for i in range(300)]},
        "gradcheck": True,
    },
)
SLOW_CIRCUIT = _post(
    EVALUATE,
    {
        "expression": "s = a + b\nt = s*s\nsum(t)",
        "inputs": {"a": [[0.5]] * 120, "b": [[0.25] * 120]},
    },
)
SOFTMAX_GRID = _post(
    SLICE,
    {
        "dataset": {"name": "blobs", "n": 10_000, "d": 2, "c": 100},
        "loss": "softmax",
        "dims": 2,
        "steps": 201,
    },
)
STRUCTURED_GRID = _post(
    SLICE,
    {
        "dataset": {"name": "blobs", "n": 10_000, "d": 2, "c": 100},
        "loss": "svm",
        "variant": "structured",
        "dims": 2,
        "steps": 201,
    },
)
MALFORMED_LANDSCAPE = _post(SLICE, {"dataset": {"name": "toy-2d"}, "dims": 3})
LARGE_CIRCUIT = _post(
    EVALUATE, {"expression": " + ".join(["x*y"] * 6_000), "inputs": {"x": 1.5, "y": -2}}
)


SETTINGS_NAMED = re.compile(r"\(settings? ([A-Z0-9_, ]+)")


@dataclass
class Record:
    """Answers to one kind of request: status counts and latencies (seconds)."""

    statuses: dict[int, int] = field(default_factory=dict)
    answers: list[tuple[int, float]] = field(default_factory=list)
    sample: str = ""
    # refusals by status and the settings their message names: which limit answered
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, status: int, seconds: float, body: bytes) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.answers.append((status, seconds))
        if not 200 <= status < 300:
            if not self.sample:
                self.sample = f"{status} {body[:200]!r}"
            named = SETTINGS_NAMED.search(body.decode("utf-8", "replace"))
            reason = f"{status} {named.group(1) if named else '(no setting named)'}"
            self.reasons[reason] = self.reasons.get(reason, 0) + 1

    @property
    def latencies(self) -> list[float]:
        return [t for _, t in self.answers]

    @property
    def ok_latencies(self) -> list[float]:
        return [t for s, t in self.answers if 200 <= s < 300]

    def slowest_refusal(self) -> float:
        return max((t for s, t in self.answers if 400 <= s < 500), default=0.0)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if not 200 <= s < 300)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(conn: Connection, request: Request, record: Record) -> None:
    method, path, body = request
    started = time.perf_counter()
    for attempt in (1, 2):
        reused = conn.writer is not None
        try:
            status, content = await asyncio.wait_for(conn.request(method, path, body), 60)
            break
        except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            conn.close()
            status, content = 599, repr(exc).encode()
            # A keep-alive connection the server closed while idle is retried once on a new
            # one, as browsers and HTTP libraries do; any other failure counts.
            if not (reused and attempt == 1 and not isinstance(exc, TimeoutError)):
                break
    record.add(status, time.perf_counter() - started, content)


async def burst(ip: str, request: Request, count: int, record: Record) -> None:
    """`count` copies of a request at once, each on its own connection, from one client."""
    conns = [Connection(HOST, PORT, ip) for _ in range(count)]
    try:
        await asyncio.gather(*(timed(c, request, record) for c in conns))
    finally:
        for c in conns:
            c.close()


async def half_open_flood(count: int, hold_s: float, probe: Record) -> int:
    """`count` connections that never finish their headers; meanwhile a normal request."""
    writers = []
    try:
        for _ in range(count):
            try:
                _, writer = await asyncio.open_connection(HOST, PORT)
            except OSError:
                break
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            writers.append(writer)
        # from a thread of its own, so the load generator's busy event loop is not measured
        await asyncio.to_thread(blocking_get, "/healthz", probe)
        await asyncio.sleep(hold_s)
        return len(writers)
    finally:
        for writer in writers:
            writer.close()


PORT = 0  # set in main


def attacks(records: dict[str, Record]) -> list[tuple[str, Callable[[str], Awaitable[None]]]]:
    def one(name: str, request: Request) -> tuple[str, Callable[[str], Awaitable[None]]]:
        records[name] = Record()

        async def run(ip: str) -> None:
            conn = Connection(HOST, PORT, ip)
            await timed(conn, request, records[name])
            conn.close()

        return name, run

    def many(
        name: str, request: Request, count: int
    ) -> tuple[str, Callable[[str], Awaitable[None]]]:
        records[name] = Record()
        return name, lambda ip: burst(ip, request, count, records[name])

    records["7: healthz during 1,200 half-open connections"] = Record()

    async def flood(ip: str) -> None:
        await half_open_flood(1_200, 3.0, records["7: healthz during 1,200 half-open connections"])

    return [
        one("1: max() of 19,999 arguments", MAX_19999),
        one("2: tensor answer of 1000x1000 wires", TENSOR_570MB),
        one("3: /loss with C x D = 100 x 100,000", LANDSCAPE_CD),
        one("4: gradcheck of sum(x @ x.T), x 300x100", GRADCHECK_300),
        many("5: 120 slow circuits at once (one client)", SLOW_CIRCUIT, 120),
        one("6: softmax 201x201 grid, N*C = 1M", SOFTMAX_GRID),
        one("6: structured 201x201 grid, N*C = 1M", STRUCTURED_GRID),
        one("6: malformed landscape request", MALFORMED_LANDSCAPE),
        ("7: 1,200 half-open connections", flood),
        many("8: 16 large circuits at once (12k gates)", LARGE_CIRCUIT, 16),
    ]


async def attacker(index: int, plan: list, deadline: float) -> None:
    ip = f"10.66.0.{index + 1}"
    step = index  # each attacker starts at a different attack
    while time.monotonic() < deadline:
        _, run = plan[step % len(plan)]
        await run(ip)
        step += 1


async def honest_client(
    index: int, records: dict[str, Record], deadline: float, think_s: float
) -> None:
    rng = random.Random(index)
    conn = Connection(HOST, PORT, f"10.0.0.{index + 1}")
    names = [name for name, _, _ in HONEST]
    weights = [w for _, w, _ in HONEST]
    while time.monotonic() < deadline:
        name = rng.choices(names, weights)[0]
        request = rng.choice(next(r for n, _, r in HONEST if n == name))
        await timed(conn, request, records[name])
        await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
    conn.close()


def blocking_get(path: str, record: Record) -> None:
    """One GET on a new connection, timed outside the load generator's event loop."""
    started = time.perf_counter()
    try:
        answer = httpx.get(f"http://{HOST}:{PORT}{path}", timeout=30)
        status, content = answer.status_code, answer.content
    except httpx.HTTPError as exc:
        status, content = 599, repr(exc).encode()
    record.add(status, time.perf_counter() - started, content)


async def prober(records: Record, deadline: float) -> None:
    """A load balancer's probes, twice a second, each from a thread on a new connection."""
    while time.monotonic() < deadline:
        await asyncio.to_thread(blocking_get, "/readyz", records)
        await asyncio.sleep(0.5)


# --- the server's processes: RSS and restarts ---------------------------------------------------


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def is_resource_tracker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"resource_tracker" in f.read()
    except OSError:
        return False


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):  # the process's peak resident set
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class ProcessWatch(threading.Thread):
    """Samples the server's process tree: uvicorn workers and their job processes."""

    def __init__(self, supervisor: int) -> None:
        super().__init__(daemon=True)
        self.supervisor = supervisor
        self.workers: dict[int, int] = {}  # pid -> peak RSS
        self.jobs: dict[int, int] = {}
        self.stop = threading.Event()

    def sample(self) -> None:
        for worker in children(self.supervisor):
            if is_resource_tracker(worker):  # multiprocessing's helper next to the workers
                continue
            self.workers[worker] = max(self.workers.get(worker, 0), rss_bytes(worker))
            for job in children(worker):
                self.jobs[job] = max(self.jobs.get(job, 0), rss_bytes(job))

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.sample()


async def honest_main(args: argparse.Namespace) -> dict[str, Record]:
    records: dict[str, Record] = {name: Record() for name, _, _ in HONEST}
    records["probe /readyz during attacks"] = Record()
    deadline = time.monotonic() + args.seconds
    await asyncio.gather(
        *(honest_client(i, records, deadline, args.think_ms / 1000) for i in range(16)),
        prober(records["probe /readyz during attacks"], deadline),
    )
    return records


def attack_process(port: int, seconds: float, items: set[str], out: Connection_) -> None:
    """The 8 attackers, in a process of their own: their floods and bursts must not slow the
    honest clients' event loop, or the load generator, not the server, would be measured.
    `items` picks the attacks by issue 10's item number (all eight in the full run)."""
    global PORT
    PORT = port
    records: dict[str, Record] = {}
    plan = [(name, run) for name, run in attacks(records) if name.split(":")[0] in items]
    records = {name: r for name, r in records.items() if name.split(":")[0] in items}
    deadline = time.monotonic() + seconds

    async def run() -> None:
        if plan:
            await asyncio.gather(*(attacker(i, plan, deadline) for i in range(8)))

    asyncio.run(run())
    out.send(records)


def main() -> None:
    global PORT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think-ms", type=float, default=200.0, help="honest pause per request")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="override an ENV"
    )
    parser.add_argument(
        "--attacks",
        default="1,2,3,4,5,6,7,8",
        help="issue 10's items to send, comma-separated, or 'none' for the honest clients alone "
        "(to see which attack costs the class what)",
    )
    args = parser.parse_args()
    items = set() if args.attacks == "none" else set(args.attacks.split(","))
    env = dockerfile_env()
    env.update(item.split("=", 1) for item in args.env)
    PORT = free_port()
    proc = start_server(PORT, env)
    watch = ProcessWatch(proc.pid)
    watch.sample()
    first_workers, first_jobs = set(watch.workers), set(watch.jobs)
    try:
        with open("/proc/loadavg") as f:
            print(f"load average before: {f.read().split()[:3]}")
        print(
            f"server: the Dockerfile's CMD and ENV (WEB_CONCURRENCY={env['WEB_CONCURRENCY']}); "
            f"16 honest + 8 attacking clients (items {args.attacks}) for {args.seconds:.0f} s",
            flush=True,
        )
        receiver, sender = multiprocessing.Pipe(duplex=False)
        # fork: this process has no threads yet, and the child needs only this module
        attackers = multiprocessing.get_context("fork").Process(
            target=attack_process, args=(PORT, args.seconds, items, sender)
        )
        attackers.start()
        watch.start()
        records = asyncio.run(honest_main(args))
        records.update(receiver.recv())
        attackers.join()
        watch.stop.set()
        watch.join()
        watch.sample()
        with open("/proc/loadavg") as f:
            print(f"load average after: {f.read().split()[:3]}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    report(records, watch, first_workers, first_jobs)


def report(
    records: dict[str, Record], watch: ProcessWatch, first_workers: set[int], first_jobs: set[int]
) -> None:
    print("\nhonest clients")
    honest_errors = 0
    for name, _, _ in HONEST:
        r = records[name]
        honest_errors += r.errors
        print(
            f"  {name:<30} {r.count:6d} requests  errors {r.errors}  "
            f"p50 {pct(r.ok_latencies, 0.5) * 1000:7.1f} ms  "
            f"p99 {pct(r.ok_latencies, 0.99) * 1000:7.1f} ms  statuses {r.statuses}"
        )
        if r.sample:
            print(f"    e.g. {r.sample}")
        for reason, n in sorted(r.reasons.items()):
            print(f"    {n:5d} x {reason}")
    print("\nattacks (goal: a 4xx in < 1 s, or done within its budget)")
    attacks_ok = True
    for name, r in records.items():
        if name in {n for n, _, _ in HONEST}:
            continue
        print(
            f"  {name:<46} {r.count:5d} answers  statuses {r.statuses}  "
            f"p50 {pct(r.latencies, 0.5) * 1000:7.1f} ms  max {max(r.latencies, default=0) * 1000:7.1f} ms"
            f"  slowest 4xx {r.slowest_refusal() * 1000:7.1f} ms"
        )
        if r.sample:
            print(f"    e.g. {r.sample}")
        for reason, n in sorted(r.reasons.items()):
            print(f"    {n:5d} x {reason}")
        # a 2xx must come within the job deadline (BPC_JOB_DEADLINE_S, 10 s in the image)
        if (
            any(s >= 500 for s in r.statuses)
            or r.slowest_refusal() > 1.0
            or max(r.ok_latencies, default=0.0) > 10.0
        ):
            attacks_ok = False
    mb = 2**20
    print("\nserver processes (peak RSS)")
    for pid, peak in sorted(watch.workers.items()):
        print(f"  uvicorn worker {pid}: {peak / mb:7.1f} MB")
    for pid, peak in sorted(watch.jobs.items()):
        print(f"  job process    {pid}: {peak / mb:7.1f} MB")
    worker_restarts = len(set(watch.workers) - first_workers)
    job_restarts = len(set(watch.jobs) - first_jobs)
    peak_worker = max(watch.workers.values(), default=0)
    peak_job = max(watch.jobs.values(), default=0)
    print(f"  uvicorn worker restarts: {worker_restarts}; job processes replaced: {job_restarts}")

    small = records["small circuit"].ok_latencies
    grid = records["2-D slice 101x101 (N=1000)"].ok_latencies
    print("\ngoals")
    print(f"  honest errors: {honest_errors} (goal 0)")
    print(f"  honest p99, small circuits: {pct(small, 0.99) * 1000:.1f} ms (goal < 300 ms)")
    print(f"  honest p99, 101x101 slice: {pct(grid, 0.99) * 1000:.1f} ms (goal < 1500 ms)")
    print(f"  every attack a 4xx in < 1 s or done: {'yes' if attacks_ok else 'NO'}")
    print(
        f"  peak RSS: uvicorn worker {peak_worker / mb:.1f} MB, job process {peak_job / mb:.1f} MB"
        " (goal < 512 MB)"
    )
    print(f"  uvicorn workers restarted: {worker_restarts} (goal 0)")


if __name__ == "__main__":
    main()
