"""Times forward+backward of a 2-layer network in our engine against the same numpy by hand.

Run: python3 bench/tensor.py [--repeats 20]
The network is h = relu(W1 @ X + b1), s = W2 @ h + b2, L = sum(s), with a batch of 64
examples as the columns of X: input dimension 3072 (a CIFAR-10 image), hidden 256, 10 classes.
Both sides compute the same values and the same gradients (dW1, db1, dW2, db2 and dX), in
the same run; the engine also records its full backward trace. The engine is timed on
passes.run (forward + backward); parsing and the shape pass are timed separately. The two
alternate, and which goes first alternates too; the collector is emptied before every timed
call; BLAS runs on one thread (set before numpy loads), so both multiply the same way.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported, or BLAS has already started its threads

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core.limits import Limits  # noqa: E402
from app.engine import parse, run  # noqa: E402
from app.engine.report import wire_names  # noqa: E402
from app.engine.shapes import infer_shapes  # noqa: E402

BIG_SHAPES = Limits().but(max_tensor_elements_per_node=10**7, max_tensor_elements_per_request=10**8)

D, H, C, N = 3072, 256, 10, 64
PROGRAM = "h = relu(W1 @ X + b1)\ns = W2 @ h + b2\nL = sum(s)"


def make_inputs(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0, 0.01, (H, D)),
        "X": rng.normal(0, 1, (D, N)),
        "b1": rng.normal(0, 0.1, (H, 1)),
        "W2": rng.normal(0, 0.1, (C, H)),
        "b2": rng.normal(0, 0.1, (C, 1)),
    }


def by_hand(v: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
    """The forward and backward pass as one would write them in the assignment."""
    z = v["W1"] @ v["X"] + v["b1"]
    h = np.maximum(z, 0)
    s = v["W2"] @ h + v["b2"]
    loss = float(s.sum())
    ds = np.ones_like(s)
    dh = v["W2"].T @ ds
    dz = dh * (z > 0)
    grads = {
        "W2": ds @ h.T,
        "b2": ds.sum(axis=1, keepdims=True),
        "W1": dz @ v["X"].T,
        "b1": dz.sum(axis=1, keepdims=True),
        "X": v["W1"].T @ dz,
    }
    return loss, grads


def timed(fn: Any) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    values = make_inputs()
    circuit = parse(PROGRAM)

    trace = run(circuit, values)
    loss, grads = by_hand(values)
    assert np.isclose(float(trace.values[circuit.output]), loss, rtol=1e-10)
    for name, grad in grads.items():
        ours = trace.grads[circuit.input_node(name).id]
        assert np.allclose(ours, grad, rtol=1e-10, atol=1e-12), name

    ours_s: list[float] = []
    hand_s: list[float] = []
    for i in range(args.repeats):  # interleaved, so both see the same machine load
        pair = [(ours_s, lambda: run(circuit, values)), (hand_s, lambda: by_hand(values))]
        for samples, fn in pair if i % 2 == 0 else reversed(pair):
            samples.append(timed(fn))
    texts, names = wire_names(circuit, PROGRAM)
    shape_s = statistics.median(
        timed(lambda: infer_shapes(circuit, values, PROGRAM, names, texts, BIG_SHAPES))
        for _ in range(args.repeats)
    )
    parse_s = statistics.median(timed(lambda: parse(PROGRAM)) for _ in range(args.repeats))

    ours, hand = statistics.median(ours_s), statistics.median(hand_s)
    print(f"2-layer net {D} -> {H} -> {C}, batch {N}, forward+backward, median of {args.repeats}")
    print(f"  hand-written numpy : {hand * 1e3:8.2f} ms  (min {min(hand_s) * 1e3:.2f})")
    print(
        f"  our engine (run)   : {ours * 1e3:8.2f} ms  (min {min(ours_s) * 1e3:.2f}; "
        "with the full backward trace)"
    )
    print(f"  overhead ratio     : {ours / hand:8.3f}x  (target <= 1.5x)")
    print(f"  parse {parse_s * 1e3:.3f} ms, shape pass {shape_s * 1e3:.3f} ms (not in the ratio)")


if __name__ == "__main__":
    main()
