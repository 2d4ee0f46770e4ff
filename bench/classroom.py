"""Benchmark: a live class of 300 students on both deployment shapes: an answer to the teacher's count, a push to every student, and answers lost.

Run: nice -n 5 python3 bench/classroom.py [--students 300] [--rounds 3] [--window 10]

Issue 15's goals, on each shape: 300 students connected, each answering once within 10 s; p99
from a student's answer to the teacher's count < 1 s, a pushed view reaching all 300 < 2 s at
p99, and 0 answers lost. The shapes (`--shapes`):

- compose: deploy/compose.yaml on loopback. Two app processes, each the Dockerfile's CMD with the
  Dockerfile's ENV and compose's `environment:` for `app` (WEB_CONCURRENCY=1, BPC_STORE pointed
  at the Redis here), one real redis-server (tests/redis_server.py: it keeps nothing on disk,
  where compose's appends to a file), and Debian's nginx running deploy/nginx.conf with the
  loopback substitutions of tests/test_deploy_nginx.py. The clients talk to nginx only.
- single: one container's default. The Dockerfile's CMD with its ENV (WEB_CONCURRENCY=2, the
  launcher app/serve.py), BPC_STORE=sqlite:///<a file in a temporary folder>.

On each shape a teacher starts a class; the students join by its code and open their event
streams (GET /api/v1/classes/{id}/events, as the /join page does); the teacher opens its own, as
the /class page does. Then `--rounds` rounds: the teacher pushes a view with a choice question,
each student's arrival of that view (the `view` event whose id is the push's offset) timed from
the start of the push request; then every student answers once at a moment drawn uniformly in
a `--window` s window. An answer's time is from the start of its POST to the arrival of the
first teacher `tally` event whose id is at least the answer's offset: a tally stands for a run
of answers, carries the last one's offset, and counts every answer before it. Lost answers:
answers not answered 200, plus answers sent whose row (question, seat, answer) is missing from
the teacher's CSV at the end, plus a final tally per round that does not count every student.

Baseline, in the same run and against the same servers (the house's benchmark rule): the same
two round trips with a class of 1 student (`--baseline-rounds` pushes and answers, a 1 s
window), the floor latency of the path, which the stream's poll interval (BPC_CLASS_POLL_S,
0.2 s: a worker reads a followed class's stream that often) dominates. The ratios printed are
p99 with the full room / p99 of the baseline.

The client: raw asyncio sockets (HTTP/1.1; event streams' chunked bodies parsed here), one
connection per event stream and a fresh one per request, in one process. It prints its own CPU
time over each measured room as a share of one core, and the event loop's worst lag (a 10 ms
ticker's overshoot): a client well under a core with a small lag is not what the latencies
measure. The servers' CPU (every process of each server's tree, nginx and redis-server too) is
printed beside it, from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import dockerfile_env, free_port, start_server  # noqa: E402
from tests.redis_server import running_redis  # noqa: E402
from tests.test_deploy_nginx import running_nginx  # noqa: E402

API = "/api/v1/classes"
WAIT_S = 60.0  # how long any one thing may take before the run is called broken
GOAL_ANSWER_S, GOAL_PUSH_S = 1.0, 2.0
OPTIONS = ["-4", "3", "1"]


def question(qid: str) -> dict[str, Any]:
    # (x + y) * z at x = -2, y = 5, z = -4: x receives z = -4, the first option
    return {"id": qid, "kind": "choice", "prompt": "What does x receive?", "options": OPTIONS,
            "answer": 0}  # fmt: skip


# --- HTTP over raw asyncio streams ------------------------------------------------------------


def _head(method: str, path: str, host: str, token: str | None, body: bytes, extra: str) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}"
    if token is not None:
        head += f"Authorization: Bearer {token}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection before answering")
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


async def _chunks(reader: asyncio.StreamReader, headers: dict[str, str]) -> Any:
    """The body's pieces as they arrive: chunked, by Content-Length, or up to the close."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                return
            piece = await reader.readexactly(size + 2)
            yield piece[:-2]
    elif "content-length" in headers:
        yield await reader.readexactly(int(headers["content-length"]))
    else:
        while piece := await reader.read(65536):
            yield piece


async def request(
    address: tuple[str, int], method: str, path: str, token: str | None = None, body: Any = None
) -> tuple[int, bytes]:
    """One request on a fresh connection (closed after it, as a phone's after a pause)."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        data = b"" if body is None else json.dumps(body).encode()
        writer.write(_head(method, path, address[0], token, data, "Connection: close\r\n"))
        status, headers = await _read_head(reader)
        content = b"".join([piece async for piece in _chunks(reader, headers)])
        return status, content
    finally:
        writer.close()


async def ok_json(address: tuple[str, int], method: str, path: str, token: str | None = None,
                  body: Any = None) -> Any:  # fmt: skip
    status, content = await request(address, method, path, token, body)
    if status != 200:
        raise RuntimeError(f"{method} {path}: {status} {content[:300]!r}")
    return json.loads(content)


@dataclass
class EventStream:
    """One reader's event stream: every event's arrival time, by kind and id."""

    address: tuple[str, int]
    class_id: str
    token: str
    teacher: bool = False
    seat: int = -1  # a student's, as the join answered
    instance: str = ""  # the app process that serves the stream (its X-Instance)
    views: dict[int, float] = field(default_factory=dict)  # view id -> arrival
    tallies: list[tuple[int, float, int]] = field(default_factory=list)  # id, arrival, answered
    joined: int = -1
    ended: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Connects and returns once the answer's head is in (200); reads on in a task."""
        reader, writer = await asyncio.open_connection(*self.address)
        path = f"{API}/{self.class_id}/events"
        writer.write(_head("GET", path, self.address[0], self.token, b"", ""))
        status, headers = await _read_head(reader)
        if status != 200:
            writer.close()
            raise RuntimeError(f"event stream: {status} {headers}")
        self.instance = headers.get("x-instance", "")
        self.task = asyncio.create_task(self._read(reader, writer, headers))

    async def _read(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]
    ) -> None:
        buffer = b""
        try:
            async for piece in _chunks(reader, headers):
                now = time.perf_counter()  # every event in this piece arrived now
                buffer += piece
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    self._event(block, now)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.ended = True
            self.changed.set()
            writer.close()

    def _event(self, block: bytes, now: float) -> None:
        fields = {}
        for line in block.decode().split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        kind = fields.get("event")
        if kind == "view":
            self.views[int(fields["id"])] = now
        elif kind == "tally" and self.teacher:
            self.tallies.append((int(fields["id"]), now, json.loads(fields["data"])["answered"]))
        elif kind == "joined":
            self.joined = json.loads(fields["data"])["joined"]
        else:
            return
        self.changed.set()
        self.changed = asyncio.Event()

    async def until(self, done: Any, what: str) -> None:
        """Waits for `done()` to hold, woken by each event (WAIT_S at most)."""
        deadline = time.monotonic() + WAIT_S
        while not done():
            if self.ended:
                raise RuntimeError(f"the stream ended waiting for {what}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"no {what} within {WAIT_S:.0f} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()


# --- one class --------------------------------------------------------------------------------


@dataclass
class Room:
    """What one class measured."""

    students: int
    answer_s: list[float] = field(default_factory=list)  # answer POST -> teacher's tally
    answer_post_s: list[float] = field(default_factory=list)  # the POST's own round trip
    push_s: list[float] = field(default_factory=list)  # push POST -> one student's view
    push_all_s: list[float] = field(default_factory=list)  # push POST -> the last student's
    sent: int = 0
    lost: int = 0
    streams_per_process: list[int] = field(default_factory=list)  # students' streams, by process
    client_cpu: float = 0.0  # share of one core over the measured rounds
    loop_lag_s: float = 0.0
    server_cpu: float = 0.0  # cores, the servers' trees together
    seconds: float = 0.0


async def _ticker(lag: list[float]) -> None:
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        lag[0] = max(lag[0], time.perf_counter() - before - 0.01)


async def run_class(
    address: tuple[str, int],
    students: int,
    rounds: int,
    window_s: float,
    seed: int,
    server_pids: list[int],
) -> Room:
    rng = random.Random(seed)
    room = Room(students)
    started = await ok_json(address, "POST", API, body={})
    class_id, teacher_token = started["class_id"], started["teacher_token"]
    teacher = EventStream(address, class_id, teacher_token, teacher=True)
    await teacher.open()
    # the room joins over a few seconds (a join is not what the issue times)
    gate = asyncio.Semaphore(20)

    async def join(i: int) -> EventStream:
        async with gate:
            seat = await ok_json(
                address, "POST", f"{API}/join", body={"code": started["code"], "name": f"s{i}"}
            )
            stream = EventStream(address, class_id, seat["student_token"], seat=seat["seat"])
            await stream.open()
            return stream

    streams = await asyncio.gather(*(join(i) for i in range(students)))
    spread = Counter(s.instance for s in streams)
    room.streams_per_process = sorted(spread.values(), reverse=True)
    await teacher.until(lambda: teacher.joined == students, f"the teacher's '{students} joined'")

    lag = [0.0]
    ticker = asyncio.create_task(_ticker(lag))
    cpu0, wall0, server0 = time.process_time(), time.perf_counter(), tree_cpu_s(server_pids)
    sent: list[tuple[str, int, int]] = []  # question, seat, answer: what the CSV must hold
    for r in range(rounds):
        qid = f"q{r + 1}"
        # a teacher pushes at any moment, not just after the poll that brought the last tally
        await asyncio.sleep(rng.uniform(0, 1))
        pushed_at = time.perf_counter()
        pushed = await ok_json(
            address, "POST", f"{API}/{class_id}/push", teacher_token,
            {"link": "/#e=(x%2By)*z", "question": question(qid)},
        )  # fmt: skip
        offset = pushed["event"]
        for stream in streams:
            await stream.until(lambda s=stream, o=offset: o in s.views, f"view {offset}")
            room.push_s.append(stream.views[offset] - pushed_at)
        room.push_all_s.append(max(s.views[offset] for s in streams) - pushed_at)

        async def answer(
            student: EventStream, delay: float, qid: str = qid
        ) -> tuple[float, int] | None:
            await asyncio.sleep(delay)
            choice = rng.randrange(len(OPTIONS))
            at = time.perf_counter()
            status, content = await request(
                address, "POST", f"{API}/{class_id}/answer", student.token,
                {"question": qid, "answer": choice},
            )  # fmt: skip
            if status != 200:
                print(f"  answer refused: {status} {content[:200]!r}", flush=True)
                return None
            sent.append((qid, student.seat, choice))
            room.answer_post_s.append(time.perf_counter() - at)
            return at, json.loads(content)["event"]

        delays = [rng.uniform(0, window_s) for _ in range(students)]
        answered = await asyncio.gather(
            *(answer(s, d) for s, d in zip(streams, delays, strict=True))
        )
        got = [a for a in answered if a is not None]
        room.lost += students - len(got)
        room.sent += students
        last = max(event for _, event in got) if got else 0
        await teacher.until(
            lambda last=last: bool(teacher.tallies) and teacher.tallies[-1][0] >= last,
            f"tally {last}",
        )
        if teacher.tallies[-1][2] != len(got):  # the final count of this question
            print(f"  {qid}: the teacher counts {teacher.tallies[-1][2]} of {len(got)}")
            room.lost += abs(len(got) - teacher.tallies[-1][2])
        for at, event in got:
            seen = next(t for i, t, _ in teacher.tallies if i >= event)
            room.answer_s.append(seen - at)
    room.seconds = time.perf_counter() - wall0
    room.client_cpu = (time.process_time() - cpu0) / room.seconds
    room.server_cpu = (tree_cpu_s(server_pids) - server0) / room.seconds
    ticker.cancel()
    room.loop_lag_s = lag[0]

    status, content = await request(address, "GET", f"{API}/{class_id}/answers.csv", teacher_token)
    rows = {
        (row["question"], int(row["seat"]), int(row["answer"]))
        for row in csv.DictReader(io.StringIO(content.decode()))
    }
    room.lost += sum(1 for answer in sent if answer not in rows)
    await ok_json(address, "POST", f"{API}/{class_id}/end", teacher_token)
    for stream in [teacher, *streams]:
        stream.close()
    return room


# --- servers ----------------------------------------------------------------------------------


def tree_cpu_s(roots: list[int]) -> float:
    """CPU seconds (user + system) of the processes `roots` and all their descendants."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry)] = int(fields[1])
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    inside = set(roots)
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in inside} - inside
        inside |= more
        grew = bool(more)
    return sum(cpu.get(pid, 0.0) for pid in inside)


def compose_env() -> dict[str, str]:
    """deploy/compose.yaml's `environment:` for the app service."""
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    return {k: str(v) for k, v in compose["services"]["app"]["environment"].items()}


@contextmanager
def running(env: dict[str, str]) -> Iterator[tuple[int, int]]:
    """The Dockerfile's CMD with `env` (bench/load.py); yields its port and pid."""
    port = free_port()
    proc = start_server(port, env)
    try:
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def compose_shape() -> Iterator[tuple[tuple[str, int], list[int], str]]:
    with ExitStack() as stack:
        redis_url = stack.enter_context(running_redis())
        env = {**dockerfile_env(), **compose_env(), "BPC_STORE": redis_url}
        replicas = [
            stack.enter_context(running({**env, "BPC_INSTANCE_ID": name}))
            for name in ("app-a", "app-b")
        ]
        base = stack.enter_context(running_nginx([f"http://127.0.0.1:{p}" for p, _ in replicas]))
        port = int(base.rsplit(":", 1)[1])
        # the server trees: the replicas, nginx's master (found by its port's config) and Redis
        pids = [pid for _, pid in replicas] + _pids_of(["nginx: master", "redis-server"])
        yield (
            ("127.0.0.1", port),
            pids,
            f"2 app processes (WEB_CONCURRENCY={env['WEB_CONCURRENCY']}) + nginx + redis-server",
        )


@contextmanager
def single_shape(folder: str | None) -> Iterator[tuple[tuple[str, int], list[int], str]]:
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        env = {**dockerfile_env(), "BPC_STORE": f"sqlite:///{tmp}/class.db"}
        with running(env) as (port, pid):
            yield (
                ("127.0.0.1", port),
                [pid],
                f"1 server, WEB_CONCURRENCY={env['WEB_CONCURRENCY']}, SQLite",
            )


def _pids_of(prefixes: list[str]) -> list[int]:
    """This user's processes whose command line starts with one of `prefixes` and that this
    process started (children of it): the nginx and redis-server of this run."""
    mine = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = Path(f"/proc/{entry}/stat").read_text()
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            if parent == os.getpid() and any(p in cmd for p in prefixes):
                mine.append(int(entry))
    return mine


# --- report -----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def describe(name: str, room: Room) -> None:
    ms = 1000
    print(
        f"  {name}: answer -> teacher's count p50 {pct(room.answer_s, 0.5) * ms:.0f} ms, "
        f"p99 {pct(room.answer_s, 0.99) * ms:.0f} ms, max {max(room.answer_s) * ms:.0f} ms "
        f"({len(room.answer_s)} answers; the POST itself p50 "
        f"{pct(room.answer_post_s, 0.5) * ms:.0f} ms, p99 {pct(room.answer_post_s, 0.99) * ms:.0f} ms)",
        flush=True,
    )
    print(
        f"  {' ' * len(name)}  push -> a student's stream p50 {pct(room.push_s, 0.5) * ms:.0f} ms, "
        f"p99 {pct(room.push_s, 0.99) * ms:.0f} ms; to all {room.students}: "
        + ", ".join(f"{s * ms:.0f}" for s in room.push_all_s)
        + " ms",
        flush=True,
    )
    print(
        f"  {' ' * len(name)}  lost {room.lost} of {room.sent}; {room.seconds:.1f} s, client CPU "
        f"{room.client_cpu:.0%} of a core (worst loop lag {room.loop_lag_s * ms:.0f} ms), "
        f"servers {room.server_cpu:.2f} cores; streams per app process {room.streams_per_process}",
        flush=True,
    )


async def measure(
    address: tuple[str, int], args: argparse.Namespace, pids: list[int]
) -> tuple[Room, Room]:
    baseline = await run_class(address, 1, args.baseline_rounds, 1.0, args.seed, pids)
    describe("baseline, 1 student", baseline)
    full = await run_class(address, args.students, args.rounds, args.window, args.seed, pids)
    describe(f"{args.students} students", full)
    return baseline, full


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="questions pushed and answered")
    parser.add_argument(
        "--window", type=float, default=10.0, help="seconds the answers spread over"
    )
    parser.add_argument("--baseline-rounds", type=int, default=20)
    parser.add_argument("--shapes", default="compose,single", help="compose and/or single")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--sqlite-dir",
        default=None,
        help="where the single shape's SQLite file goes (default: $TMPDIR)",
    )
    args = parser.parse_args()
    shapes = {"compose": compose_shape, "single": lambda: single_shape(args.sqlite_dir)}
    results: dict[str, tuple[Room, Room]] = {}
    print(f"load average before: {loadavg()}", flush=True)
    for name in args.shapes.split(","):
        with shapes[name]() as (address, pids, what):
            print(f"{name}: {what}, load average {loadavg()}", flush=True)
            results[name] = asyncio.run(measure(address, args, pids))
    print(f"load average after: {loadavg()}\n")
    for name, (baseline, full) in results.items():
        answer99, push99 = pct(full.answer_s, 0.99), pct(full.push_s, 0.99)
        print(
            f"{name}: answer -> count p50 {pct(full.answer_s, 0.5):.3f} s, p99 {answer99:.3f} s "
            f"(goal < {GOAL_ANSWER_S:.0f} s: {'met' if answer99 < GOAL_ANSWER_S else 'NOT met'}; "
            f"{answer99 / pct(baseline.answer_s, 0.99):.2f}x the 1-student p99 "
            f"{pct(baseline.answer_s, 0.99):.3f} s)"
        )
        print(
            f"{' ' * len(name)}  push -> all {full.students} p50 {pct(full.push_s, 0.5):.3f} s, "
            f"p99 {push99:.3f} s (goal < {GOAL_PUSH_S:.0f} s: "
            f"{'met' if push99 < GOAL_PUSH_S else 'NOT met'}; {push99 / pct(baseline.push_s, 0.99):.2f}x "
            f"the 1-student p99 {pct(baseline.push_s, 0.99):.3f} s)"
        )
        print(
            f"{' ' * len(name)}  lost answers {full.lost + baseline.lost} of "
            f"{full.sent + baseline.sent} (goal 0: {'met' if full.lost + baseline.lost == 0 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
