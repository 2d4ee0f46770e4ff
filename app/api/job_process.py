"""A job process's own side: import the jobs' modules, cap memory, run jobs off the pipe.

Apart from app/api/pool.py (the parent's side), which imports FastAPI through the refusals it
raises: a job process imports only this, numpy and the jobs' modules (pool.PRELOAD), which
cuts its start to 0.75 s from 1.35 s (median of 5, 2 cores), paid at every app start.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import resource
import signal
import time
from multiprocessing.connection import Connection
from typing import Any

from app.core.errors import ProblemError


def job_process_entry(argv: list[str]) -> None:
    """`python -c` entry of a job process: argv is fd, niceness, memory bytes, modules."""
    fd, niceness, memory_bytes, *preload = argv
    _job_process_main(Connection(int(fd)), int(niceness), int(memory_bytes), tuple(preload))


def _job_process_main(
    conn: Connection, niceness: int, memory_bytes: int, preload: tuple[str, ...]
) -> None:
    """A job process: import what jobs need, cap memory, then run jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    if niceness > 0:
        with contextlib.suppress(OSError):
            os.nice(niceness)  # when cores are busy, the event loops go first
    for module in preload:
        importlib.import_module(module)
    if memory_bytes > 0:
        # RLIMIT_DATA counts heap and private mappings (numpy's arrays), not shared libraries,
        # so the cap is about what a job allocates. Over it, allocation raises MemoryError.
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        conn.send(_run_job(message))


def _run_job(message: bytes) -> tuple[str, Any, float]:
    """(kind, payload, the CPU seconds the job used in this process)."""
    started = time.process_time()
    kind, payload = _job_outcome(message)
    return kind, payload, time.process_time() - started


def _job_outcome(message: bytes) -> tuple[str, Any]:
    try:
        fn, args, kwargs = pickle.loads(message)
        outcome: tuple[str, Any] = ("ok", fn(*args, **kwargs))
        pickle.dumps(outcome[1])  # a result that cannot cross the pipe is an error here
        return outcome
    except MemoryError:
        return ("memory", None)
    except ProblemError as exc:
        # Domain errors do not unpickle through their own __init__; send their parts.
        return ("problem", (exc.status, exc.problems))
    except Exception as exc:
        try:
            pickle.dumps(exc)
            return ("error", exc)
        except Exception:
            return ("error", RuntimeError(f"{type(exc).__name__}: {exc}"))
