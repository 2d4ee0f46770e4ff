"""Cost-model calibration: predicted answer bytes, peak memory and work against measurements.

Run: nice -n 10 python3 bench/cost_calibration.py [--landscape]
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


def landscape() -> None:
    """The landscape jobs: predicted (app/landscape/cost.py) against measured, per request."""
    from app.landscape import cost as lcost
    from app.landscape.jobs import _check, compute_loss, compute_slice, request_sizes
    from app.schemas.landscape import LossRequest, SliceRequest

    big = BIG.but(max_landscape_nc=10**8, max_landscape_nd=10**8, max_landscape_n=10**7)
    blobs = {"name": "blobs"}
    requests: list[tuple[str, Any]] = [
        (
            "loss blobs n=200 d=500 c=10",
            LossRequest(dataset={**blobs, "n": 200, "d": 500, "c": 10}),
        ),
        (
            "loss blobs n=1 d=20000 c=50",
            LossRequest(dataset={**blobs, "n": 1, "d": 20000, "c": 50}),
        ),
    ]
    grids = [(101, 300, 10, "softmax", "ww"), (201, 100, 10, "softmax", "ww")]
    # about the largest grids BPC_MAX_WORK (2e9) accepts, per variant
    grids += [(201, 120, 10, "softmax", "ww"), (201, 2450, 10, "svm", "ww")]
    grids += [(201, 1200, 10, "svm", "structured")]
    for steps, n, c in ((101, 1000, 10), (201, 1000, 10)):
        grids += [(steps, n, c, "svm", "ww"), (steps, n, c, "svm", "structured")]
    for steps, n, c, loss, variant in grids:
        if True:
            requests.append(
                (
                    f"2-D {steps}² {loss}/{variant} N={n} C={c}",
                    SliceRequest(
                        dataset={**blobs, "n": n, "d": 10, "c": c},
                        dims=2,
                        steps=steps,
                        loss=loss,
                        variant=variant,
                        directions=["random", "random"],
                    ),
                )
            )
    print(
        f"{'request':36} {'answer':>10} {'pred':>10} | {'peak MB':>8} {'pred':>8} | "
        f"{'work':>9} {'s':>6} {'ns/unit':>7}"
    )
    for name, request in requests:
        job = compute_loss if isinstance(request, LossRequest) else compute_slice
        sizes = request_sizes(request)
        if isinstance(request, LossRequest):
            predicted = lcost.loss_cost(sizes, False, big)
        else:
            predicted = lcost.slice_2d_cost(sizes, request.steps, request.loss, request.variant)
        _check(request, sizes, big)
        tracemalloc.start()
        started = time.perf_counter()
        body = json.dumps(job(request, big), separators=(",", ":")).encode()
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        started = time.perf_counter()
        json.dumps(job(request, big), separators=(",", ":")).encode()
        seconds = min(seconds, time.perf_counter() - started)
        print(
            f"{name:36} {len(body):10,} {predicted.answer_bytes:10,} | {peak / 1e6:8.1f} "
            f"{predicted.memory_bytes / 1e6:8.1f} | {predicted.work:9.3g} {seconds:6.3f} "
            f"{seconds * 1e9 / predicted.work:7.2f}"
        )


if __name__ == "__main__" and "--landscape" in sys.argv:
    landscape()
elif __name__ == "__main__":
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
