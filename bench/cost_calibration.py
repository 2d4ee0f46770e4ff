"""Cost-model calibration: predicted answer bytes, peak memory and work against measurements.

Run: nice -n 10 python3 bench/cost_calibration.py
For each circuit it prints the prediction (app/engine/cost.py) beside len(JSON answer),
the tracemalloc peak of evaluate + encoding, and the wall time, with nanoseconds per work unit.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core.limits import Limits  # noqa: E402
from app.engine import evaluate, parse  # noqa: E402
from app.engine.cost import estimate  # noqa: E402
from app.engine.inputs import bind_inputs  # noqa: E402
from app.engine.report import wire_names  # noqa: E402
from app.engine.shapes import infer_shapes  # noqa: E402

BIG = Limits().but(
    max_answer_bytes=10**12,
    max_memory_bytes=10**12,
    max_work=10**15,
    gradcheck_max_evals=10**12,
    max_gates=10**6,
    max_statements=10**6,
    max_expression_chars=10**8,
)


def rand(*shape: int) -> list[Any]:
    return np.random.default_rng(len(shape) + shape[0]).standard_normal(shape).tolist()


def cases() -> list[tuple[str, str, dict[str, Any], bool]]:
    return [
        ("scalar chain 2,000", "+".join(["x"] * 2000), {"x": 0.37}, False),
        ("scalar chain 20,000", "+".join(["x"] * 20000), {"x": 0.37}, False),
        (
            "neuron",
            "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))",
            {"w0": 2.1, "x0": -1.3, "w1": -3.2, "x1": -2.7, "w2": -3.1},
            True,
        ),
        ("max 5,000 args", "max(" + ", ".join(["x"] * 5000) + ")", {"x": 0.37}, False),
        ("max 19,999 args", "max(" + ", ".join(["x"] * 19999) + ")", {"x": 0.37}, False),
        ("tanh 200x200", "sum(tanh(a*b + a))", {"a": rand(200, 200), "b": rand(200, 200)}, False),
        (
            "broadcast 200",
            "s = a + b\nt = s*s\nu = t*s\nsum(u)",
            {"a": rand(200, 1), "b": rand(1, 200)},
            False,
        ),
        ("matmul 200x300x200", "sum(W @ X)", {"W": rand(200, 300), "X": rand(300, 200)}, False),
        ("matmul 100x1000x100", "sum(W @ X)", {"W": rand(100, 1000), "X": rand(1000, 100)}, False),
        ("gradcheck x@x.T 30x10", "sum(x @ x.T)", {"x": rand(30, 10)}, True),
        ("gradcheck x@x.T 60x30", "sum(x @ x.T)", {"x": rand(60, 30)}, True),
        ("gradcheck tanh 40x40", "sum(tanh(a) * a)", {"a": rand(40, 40)}, True),
        ("gradcheck scalar chain 300", "*".join(["tanh(x)"] * 300), {"x": 0.37}, True),
    ]


def predicted(expression: str, inputs: dict[str, Any], gradcheck: bool) -> Any:
    circuit = parse(expression, BIG_PARSE)
    values = bind_inputs(circuit, inputs, 3, 10**7)
    texts, names = wire_names(circuit, expression)
    shapes = infer_shapes(circuit, values, expression, names, texts, BIG)
    return estimate(circuit, shapes, len(expression), gradcheck)


def measure(expression: str, inputs: dict[str, Any], gradcheck: bool) -> tuple[int, int, float]:
    tracemalloc.start()
    started = time.perf_counter()
    report = evaluate(expression, inputs, gradcheck_=gradcheck, limits=BIG)
    # what JSONResponse does with it
    body = json.dumps(report, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    data = body.encode("utf-8")
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return len(data), peak, seconds


def timed(expression: str, inputs: dict[str, Any], gradcheck: bool) -> float:
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        report = evaluate(expression, inputs, gradcheck_=gradcheck, limits=BIG)
        json.dumps(report, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        best = min(best, time.perf_counter() - started)
    return best


if __name__ == "__main__":
    from app.engine import parse_limits

    BIG_PARSE = parse_limits(BIG)
    print(
        f"{'circuit':28} {'answer':>11} {'pred':>11} {'ratio':>5} | {'peak MB':>8} {'pred':>8} "
        f"{'ratio':>5} | {'work':>10} {'s':>7} {'ns/unit':>7}"
    )
    for name, expression, inputs, gradcheck in cases():
        cost = predicted(expression, inputs, gradcheck)
        size, peak, _ = measure(expression, inputs, gradcheck)
        seconds = timed(expression, inputs, gradcheck)
        print(
            f"{name:28} {size:11,} {cost.answer_bytes:11,} {cost.answer_bytes / size:5.2f} | "
            f"{peak / 1e6:8.1f} {cost.memory_bytes / 1e6:8.1f} {cost.memory_bytes / peak:5.2f} | "
            f"{cost.work:10.3g} {seconds:7.3f} {seconds * 1e9 / cost.work:7.2f}"
        )
