"""Landscape cost calibration: each slice's predicted seconds against its measured seconds.

Run: nice -n 5 python3 bench/landscape_cost.py [--repeats 3] [--only TEXT] [--largest]
     [--max-predicted SECONDS]

For each loss (each SVM variant and softmax), built-in dataset and grid (1-D and 2-D, 11 to 151
steps) it asks the route's own prediction (app.landscape.jobs.precheck: the cost model's work
on the real N, D and C, divided by BPC_WORK_UNITS_PER_SECOND) and times the real job
(compute_slice, then json.dumps of its answer), best of --repeats with gc.collect() before each.
BLAS runs on one thread (set before numpy loads), as in the job processes (Dockerfile).
Measured is wall time (the machine is shared: the
load average is printed) and, beside it, CPU time. The ratio predicted / measured should lie in 0.5-3 (over-predicting is the safe side);
--largest adds the largest requests the default limits accept, per loss.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported, or BLAS has already started its threads

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core.limits import Limits  # noqa: E402
from app.landscape.jobs import compute_slice, precheck, request_sizes  # noqa: E402
from app.schemas.landscape import SliceRequest, SliceResponse  # noqa: E402

LOSSES = [("svm", "ww"), ("svm", "ova"), ("svm", "structured"), ("softmax", "ww")]
DATASETS: list[dict[str, Any]] = [
    {"name": "cs231n-1d"},
    {"name": "toy-2d"},
    {"name": "blobs", "n": 2000, "d": 10, "c": 10},
    {"name": "cifar-shaped", "n": 1000},
]
STEPS = {1: (11, 51, 151, 201), 2: (11, 51, 101, 151)}

# Predicting all of these needs no more than the defaults' work limit, except where --largest
# goes past it on purpose; the bench measures, the route's limits are not what it tests.
BIG = Limits().but(
    max_work=10**13,
    max_answer_bytes=10**11,
    max_memory_bytes=10**11,
    max_landscape_nc=10**8,
    max_landscape_nd=10**9,
    max_landscape_n=10**7,
)


def body(dataset: dict[str, Any], loss: str, variant: str, dims: int, steps: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dataset": dataset,
        "loss": loss,
        "variant": variant,
        "dims": dims,
        "steps": steps,
    }
    if dims == 2:
        out["directions"] = ["random", "random"]
    return out


def cases(largest: bool) -> list[dict[str, Any]]:
    out = [
        body(dataset, loss, variant, dims, steps)
        for loss, variant in LOSSES
        for dataset in DATASETS
        for dims, grid in STEPS.items()
        for steps in grid
    ]
    if largest:
        # about the largest each loss may ask for under the default limits (BPC_MAX_WORK,
        # max_landscape_nc, max_landscape_nd, 201 x 201 and 10,001 steps)
        for loss, variant in LOSSES:
            big_1d = {"name": "blobs", "n": 50_000, "d": 80, "c": 20}
            out.append(body(big_1d, loss, variant, 1, 10_001))
            out.append(
                body({"name": "blobs", "n": 10_000, "d": 2, "c": 100}, loss, variant, 2, 201)
            )
            out.append(body({"name": "cifar-shaped", "n": 1300}, loss, variant, 2, 201))
    return out


def measure(request: SliceRequest, repeats: int) -> tuple[float, float]:
    """Best wall and best CPU seconds of the job and its answer's encoding: the response model's
    validation and dump (as the route's response_model does) and the JSON text."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        answer = compute_slice(request, BIG)
        shown = SliceResponse.model_validate(answer).model_dump(mode="json", exclude_none=True)
        json.dumps(shown, separators=(",", ":"))
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return wall, cpu


def label(case: dict[str, Any]) -> str:
    data = case["dataset"]
    name = data["name"] + ("" if "n" not in data else f" n={data['n']}")
    loss = case["loss"] if case["loss"] != "svm" else f"svm/{case['variant']}"
    grid = f"{case['steps']}" if case["dims"] == 1 else f"{case['steps']}x{case['steps']}"
    return f"{loss:15} {name:19} {case['dims']}-D {grid:>9}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="run the cases whose label contains this")
    parser.add_argument("--largest", action="store_true")
    parser.add_argument(
        "--max-predicted", type=float, default=1e9, help="skip cases predicted at more seconds"
    )
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"BLAS threads 1; best of {args.repeats}; units/s {Limits().work_units_per_second:.3g}")
    print(
        f"{'case':50} {'N':>6} {'D':>5} {'C':>4} {'predicted s':>11} {'measured s':>10} "
        f"{'ratio':>6} {'CPU s':>8} {'ratio':>6}"
    )
    ratios = []
    for case in cases(args.largest):
        if args.only not in label(case):
            continue
        request = SliceRequest.model_validate(case)
        sizes = request_sizes(request)
        predicted = precheck(request, BIG)
        if predicted > args.max_predicted:
            continue
        wall, cpu = measure(request, args.repeats)
        ratio = predicted / wall
        ratios.append(ratio)
        flag = "" if 0.5 <= ratio <= 3 else "  <-- outside 0.5-3"
        print(
            f"{label(case):50} {sizes.n:6} {sizes.d:5} {sizes.c:4} {predicted:11.4f} "
            f"{wall:10.4f} {ratio:6.2f} {cpu:8.4f} {predicted / cpu:6.2f}{flag}",
            flush=True,
        )
    if ratios:
        print(f"ratio predicted/measured: min {min(ratios):.2f}, max {max(ratios):.2f}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
