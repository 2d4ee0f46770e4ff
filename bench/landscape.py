"""Benchmark: a 101x101 SVM loss slice through the HTTP API vs the naive per-grid-point evaluation.

Run: python3 bench/landscape.py [--n 1000] [--steps 101] [--naive-rows R]

"Our way" is POST /api/v1/landscape/slice through FastAPI's TestClient, JSON encoding and
decoding included, on `cifar-shaped` data (synthetic, N x 3073, 10 classes). "The naive way"
is what loss-landscape tools do: for every grid point set W = W0 + a*D1 + b*D2 and evaluate
the loss from scratch (one N x D x C matrix product per point). Both use the same X, y, W0,
D1, D2 in the same run, and the grids are compared. With --naive-rows R only R rows of the
naive grid are timed and its time scaled up to the full grid (printed as such).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")
logging.disable(logging.INFO)  # the app's JSON access log would interleave with the results

from fastapi.testclient import TestClient  # noqa: E402

from app.core.config import get_settings  # noqa: E402
from app.core.limits import Limits  # noqa: E402
from app.landscape.kinks import exact_line  # noqa: E402
from app.landscape.losses import LossSpec, loss_of_weights  # noqa: E402
from app.landscape.model import build_data, build_setup  # noqa: E402
from app.landscape.slices import direct_losses, directions_for, quadratic  # noqa: E402
from app.main import app  # noqa: E402


def best_of(repeats: int, fn):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=101)
    parser.add_argument("--naive-rows", type=int, default=0, help="0 = the whole naive grid")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    request = {
        "dataset": {"name": "cifar-shaped", "n": args.n, "seed": 0},
        "seed": 0,
        "weight_scale": 0.001,
        "loss": "svm",
        "variant": "ww",
        "delta": 1.0,
        "reg": 0.001,
        "dims": 2,
        "directions": ["random", "random"],
        "normalize": "none",
        "direction_seed": 1,
        "range": [-0.05, 0.05],
        "steps": args.steps,
    }
    client = TestClient(app)

    def ours() -> list[list[float]]:
        response = client.post("/api/v1/landscape/slice", json=request)
        response.raise_for_status()
        return response.json()["losses"]

    ours()  # warm-up (imports, first BLAS call)
    ours_best, ours_median, grid = best_of(args.repeats, ours)
    grid_arr = np.array(grid)

    spec = LossSpec("svm", "ww", 1.0, 0.001)
    data = build_data(request["dataset"], None, False, Limits.from_settings(get_settings()))
    setup = build_setup(data, None, 0, "gaussian", 0.001, spec)
    X, y, W = setup.data.X, setup.data.y, setup.W
    D1, D2 = directions_for(W, ["random", "random"], None, "none", 1)
    alphas = np.linspace(-0.05, 0.05, args.steps)
    betas = np.linspace(-0.05, 0.05, args.steps)
    rows = args.naive_rows or args.steps

    def naive() -> np.ndarray:
        out = np.empty((rows, args.steps))
        for r in range(rows):
            for c, a in enumerate(alphas):
                out[r, c] = loss_of_weights(W + a * D1 + betas[r] * D2, X, y, spec)
        return out

    start = time.perf_counter()
    naive_grid = naive()
    naive_time = (time.perf_counter() - start) * args.steps / rows
    agreement = float(np.abs(naive_grid - grid_arr[:rows]).max())

    def vectorized() -> np.ndarray:
        S0, S1, S2 = X @ W.T, X @ D1.T, X @ D2.T
        return np.stack([direct_losses(S0 + b * S2, S1, alphas, y, spec) for b in betas])

    vec_time, _, _ = best_of(1, vectorized)

    points = args.steps * args.steps
    print(
        f"2-D slice {args.steps}x{args.steps} = {points} points, cifar-shaped N={args.n}, "
        f"D=3073, C=10, SVM (ww), reg=0.001"
    )
    scaled = "" if rows == args.steps else f" (timed {rows} rows, scaled to {args.steps})"
    print(f"  naive (set W, evaluate loss per point): {naive_time:9.3f} s{scaled}")
    print(f"  plain vectorized S0 + a*S1 + b*S2 (no HTTP): {vec_time:9.3f} s")
    print(
        f"  ours via HTTP API, JSON included:  best {ours_best * 1e3:8.1f} ms, "
        f"median {ours_median * 1e3:8.1f} ms (of {args.repeats})"
    )
    print(
        f"  ratio naive / ours (best): {naive_time / ours_best:8.0f}x; "
        f"(median): {naive_time / ours_median:8.0f}x"
    )
    print(f"  ratio plain vectorized / ours (best): {vec_time / ours_best:8.1f}x")
    print(f"  max |ours - naive| over timed rows: {agreement:.2e}")

    # Exact 1-D analysis at N=1000, C=10: kinks, slopes, subgradient, minimum.
    S0, S1 = X @ W.T, X @ D1.T
    q = quadratic(W, D1, spec.reg)

    def analysis() -> int:
        line = exact_line(S0, S1, y, spec, -0.05, 0.05, q)
        kinks = line.merged_kinks()
        line.one_sided_slopes(0.0)
        line.minimum()
        line.value(alphas)
        return len(kinks)

    exact_best, _, kink_count = best_of(args.repeats, analysis)
    one_d = {**request, "dims": 1, "direction": "random", "steps": 1001}

    def one_d_api() -> dict:
        response = client.post("/api/v1/landscape/slice", json=one_d)
        response.raise_for_status()
        return response.json()

    api_best, _, answer = best_of(args.repeats, one_d_api)
    print(
        f"Exact 1-D analysis, N={args.n}, C=10 (N*C = {args.n * 10} hinge terms): "
        f"{kink_count} kinks in [-0.05, 0.05]"
    )
    print(f"  engine only (from S0, S1): best {exact_best * 1e3:.1f} ms")
    print(
        f"  via HTTP API (steps=1001, data generation + JSON included): "
        f"best {api_best * 1e3:.1f} ms, kink_count={answer['kink_count']}"
    )


if __name__ == "__main__":
    main()
