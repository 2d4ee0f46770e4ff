"""Benchmark: a 101x101 SVM loss slice, ours against a straightforward vectorized numpy version.

Run: python3 bench/landscape.py [--n 1000] [--steps 101] [--repeats 15] [--naive-rows R]

The baseline is what one would write with numpy in a few lines: the margins are linear in a
and b, so M_k = S_k - S_k[y] (+ delta for k = 0) from S0 = X W0^T, S1 = X D1^T, S2 = X D2^T,
then for each row b the hinge max(0, M0 + a*M1 + b*M2) of every a at once (steps x N x C), its
mean, and the regularizer. "Ours" is the engine's slice_2d (what the
route's job calls) and the same request through POST /api/v1/landscape/slice (TestClient, JSON
included). All start from the same X, y, W0, D1, D2 (cifar-shaped: synthetic N x 3073, 10
classes); the grids are compared. BLAS runs on one thread (set before numpy loads), each side
is warmed up, the collector is emptied before every timed call, and the contenders alternate;
min and median of the repeats are printed. --naive-rows R also times R rows of the per-point
loop (set W, evaluate the loss from scratch) and scales it to the whole grid.
"""

import argparse
import gc
import logging
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported, or BLAS has already started its threads

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")
logging.disable(logging.INFO)  # the app's JSON access log would interleave with the results

from fastapi.testclient import TestClient  # noqa: E402

from app.core.config import get_settings  # noqa: E402
from app.core.limits import Limits  # noqa: E402
from app.landscape.kinks import exact_line  # noqa: E402
from app.landscape.losses import LossSpec, loss_of_weights  # noqa: E402
from app.landscape.model import build_data, build_setup  # noqa: E402
from app.landscape.slices import directions_for, quadratic, slice_2d  # noqa: E402
from app.main import app  # noqa: E402


def best_of(repeats: int, fn):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def interleaved(repeats: int, contenders: dict) -> dict[str, list[float]]:  # type: ignore[type-arg]
    """Seconds per call of each contender, calls alternating, the collector emptied first."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def vectorized_svm(X, y, W, D1, D2, alphas, betas, delta, reg):  # type: ignore[no-untyped-def]
    """The whole grid with plain numpy: margins are linear in (a, b), so M0, M1, M2 (N x C,
    the correct class's column zeroed) are found once, then each row of the grid is one
    (steps x N x C) block max(0, M0 + b*M2 + a*M1) summed."""
    rows = np.arange(len(y))
    margins = []
    for k, S in enumerate((X @ W.T, X @ D1.T, X @ D2.T)):
        M = S - S[rows, y][:, None] + (delta if k == 0 else 0.0)
        M[rows, y] = 0.0 if k else -np.inf  # the correct class adds no hinge
        margins.append(M)
    M0, M1, M2 = margins
    grid = np.empty((len(betas), len(alphas)))
    a = alphas[:, None, None]
    for i, b in enumerate(betas):
        block = np.maximum(0.0, (M0 + b * M2)[None] + a * M1[None])
        grid[i] = block.sum(axis=(1, 2)) / len(y)
    A, B = alphas[None, :], betas[:, None]
    grid += reg * (
        np.sum(W * W)
        + 2 * A * np.sum(W * D1)
        + 2 * B * np.sum(W * D2)
        + A * A * np.sum(D1 * D1)
        + B * B * np.sum(D2 * D2)
        + 2 * A * B * np.sum(D1 * D2)
    )
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=101)
    parser.add_argument("--naive-rows", type=int, default=0, help="0 = no per-point loop")
    parser.add_argument("--repeats", type=int, default=15)
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

    def ours_http() -> list[list[float]]:
        response = client.post("/api/v1/landscape/slice", json=request)
        response.raise_for_status()
        return response.json()["losses"]

    spec = LossSpec("svm", "ww", 1.0, 0.001)
    data = build_data(request["dataset"], None, False, Limits.from_settings(get_settings()))
    setup = build_setup(data, None, 0, "gaussian", 0.001, spec)
    X, y, W = setup.data.X, setup.data.y, setup.W
    D1, D2 = directions_for(W, ["random", "random"], None, "none", 1)
    alphas = np.linspace(-0.05, 0.05, args.steps)
    betas = np.linspace(-0.05, 0.05, args.steps)
    span = (-0.05, 0.05)

    def ours_engine() -> dict:  # type: ignore[type-arg]
        return slice_2d(setup, D1, D2, span, span, args.steps)

    def baseline() -> np.ndarray:
        return vectorized_svm(X, y, W, D1, D2, alphas, betas, 1.0, 0.001)

    grid_arr = np.array(ours_http())  # warm-up of each (imports, first BLAS call)
    engine_grid = np.array(ours_engine()["losses"])
    base_grid = baseline()
    agreement = float(np.abs(base_grid - grid_arr).max())
    assert np.allclose(engine_grid, grid_arr, rtol=1e-12, atol=1e-12)
    times = interleaved(args.repeats, {"engine": ours_engine, "http": ours_http, "numpy": baseline})

    def ms(name: str) -> str:
        return f"min {min(times[name]) * 1e3:8.1f} ms, median {statistics.median(times[name]) * 1e3:8.1f} ms"

    points = args.steps * args.steps
    print(
        f"2-D slice {args.steps}x{args.steps} = {points} points, cifar-shaped N={args.n}, "
        f"D=3073, C=10, SVM (ww), reg=0.001; BLAS threads 1; {args.repeats} interleaved repeats"
    )
    print(f"  plain vectorized numpy (warm):   {ms('numpy')}")
    print(f"  ours, engine (slice_2d):         {ms('engine')}")
    print(f"  ours via HTTP API, JSON included: {ms('http')}")
    base = statistics.median(times["numpy"])
    print(
        f"  numpy / ours (medians): engine {base / statistics.median(times['engine']):.1f}x, "
        f"HTTP {base / statistics.median(times['http']):.1f}x"
    )
    print(f"  max |ours - numpy| over the grid: {agreement:.2e}")
    if args.naive_rows:
        rows = args.naive_rows

        def naive() -> np.ndarray:
            out = np.empty((rows, args.steps))
            for r in range(rows):
                for c, a in enumerate(alphas):
                    out[r, c] = loss_of_weights(W + a * D1 + betas[r] * D2, X, y, spec)
            return out

        start = time.perf_counter()
        naive_grid = naive()
        naive_time = (time.perf_counter() - start) * args.steps / rows
        print(
            f"  naive (set W, evaluate the loss per point): {naive_time:.2f} s (timed {rows} "
            f"rows, scaled); max |naive - ours| {np.abs(naive_grid - grid_arr[:rows]).max():.2e}"
        )

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
    # a 1-D slice refuses the 2-D slice's `directions`
    plane = {key: value for key, value in request.items() if key != "directions"}
    one_d = {**plane, "dims": 1, "direction": "random", "steps": 1001}

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
