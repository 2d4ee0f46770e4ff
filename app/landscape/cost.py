"""A landscape request's cost from N, D, C and the grid, predicted before W or any grid exists.

Each job checks it after the dataset is known (N, D, C) and before the C x D weights, the
score matrices or the grid are made; the route checks the same formulas earlier on the sizes the
request declares (a lower bound), so an oversized request is a 413 before it reaches the pool.
Units are those of app/engine/cost.py: bytes, and element operations (about 1 ns each).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import LimitError
from app.core.limits import Cost, Limits
from app.landscape.kinks import CHUNK_VALUES
from app.landscape.losses import LossSpec, kind_of

# Calibrated with bench/cost_calibration.py --landscape (docs/deploy.md, "Sizing").
B_NUMBER = 21  # a float in the answer, with its comma (FastAPI writes 17 significant digits)
B_LISTED = 56  # a float while the answer is a Python list, and after validation a second copy
B_BASE = 2_000
M_BASE = 500_000
W_NUMBER = 1_000  # tolist, validation against the response model, then json.dumps
W_LOSS = 25  # per score (N*C) for one loss and its gradient, beside the N*D*C products
# A 2-D grid costs per score and grid point when the loss is sampled (softmax: a log-sum-exp
# each) or per score and row when it is exact (SVM: each row an exact line, its kinks bucketed
# into the columns): the loss's own LossKind.grid_work. The per-term lines of a 1-D slice are
# sampled for every loss, at about a log-sum-exp's cost each.
W_POINT = 40
W_KINK = 60  # a 1-D slice: sorting and merging each term's kinks


@dataclass(frozen=True, slots=True)
class Sizes:
    """N examples, D features (the bias column included) and C classes."""

    n: int
    d: int
    c: int


def _cost(numbers: int, arrays: int, work: int) -> Cost:
    """From the numbers in the answer, the float64 elements held at once, and the work."""
    answer = B_BASE + B_NUMBER * numbers
    memory = M_BASE + 8 * arrays + B_LISTED * numbers + 2 * answer
    return Cost(answer, memory, work + W_NUMBER * numbers)


def loss_cost(s: Sizes, gradcheck: bool, limits: Limits) -> Cost:
    """POST /loss: W and dW (C x D), L_i (N), margins/active/probabilities (N x C, if small)."""
    nc, cd = s.n * s.c, s.c * s.d
    numbers = 2 * cd + s.n + (3 * nc if nc <= limits.max_loss_matrix_cells else 0)
    work = 2 * s.n * s.d * s.c + W_LOSS * nc
    if gradcheck:
        entries = min(cd, limits.max_gradcheck_entries)
        numbers += 5 * entries + (cd if cd <= limits.max_gradcheck_entries else 0)
        work += entries * 2 * W_LOSS * nc  # each weight nudged both ways moves one column
    arrays = s.n * s.d + 4 * cd + 6 * nc
    return _cost(numbers, arrays, work)


def slice_1d_cost(s: Sizes, steps: int, loss: str, limits: Limits, variant: str = "ww") -> Cost:
    """POST /slice, dims 1: the curve, the kinks (exact losses) and the per-term lines (small N*C)."""
    nc = s.n * s.c
    numbers = 2 * steps
    work = 3 * s.n * s.d * s.c + W_LOSS * nc
    kind = kind_of(LossSpec(loss, variant))
    if not kind.exact:
        work += steps * nc * kind.grid_work
    else:
        # at most one kink per hinge term (WW, one-vs-all) or C - 1 per example (structured)
        numbers += 6 * min(nc, limits.max_slice_kinks)
        work += nc * W_KINK + steps * 20
    if nc <= limits.max_term_lines:
        numbers += steps * (nc + s.n)
        work += steps * nc * W_POINT
    arrays = s.n * s.d + 2 * s.c * s.d + 8 * nc * min(s.c, 4)
    return _cost(numbers, arrays, work)


def slice_2d_cost(s: Sizes, steps: int, loss: str, variant: str) -> Cost:
    """POST /slice, dims 2: a steps x steps grid of losses."""
    nc = s.n * s.c
    points = steps * steps
    numbers = points + 2 * steps
    work = 4 * s.n * s.d * s.c + 20 * points
    kind = kind_of(LossSpec(loss, variant))
    if not kind.exact:
        work += points * nc * kind.grid_work
    else:
        work += steps * nc * kind.grid_work + points * 10
    # the scores S0, S1, S2 and each row's terms, plus the row chunks (about 6 x CHUNK_VALUES)
    arrays = s.n * s.d + 3 * s.c * s.d + 20 * nc + points + 6 * CHUNK_VALUES
    return _cost(numbers, arrays, work)


def optimizer_work(s: Sizes, steps: int) -> int:
    """Every step touches the whole data set (the loss per step is full-batch). Measured: a step
    costs about N*D*C multiply-adds plus about 100x as much per loss term (N*C), and below
    about 10 classes no less than with 10."""
    return steps * s.n * max(s.c, 10) * (s.d + 100)


def check_optimizer(s: Sizes, steps: int, limits: Limits) -> None:
    if steps > limits.max_optimize_steps:
        raise LimitError(
            "steps", steps, limits.max_optimize_steps, "max_optimize_steps", ("body", "steps")
        )
    work = optimizer_work(s, steps)
    if work > limits.max_optimize_work:
        raise LimitError(
            "the optimizer's work (steps × N × max(C, 10) × (D + 100))",
            work,
            limits.max_optimize_work,
            "max_optimize_work",
            ("body", "steps"),
        )
    numbers = 6 * (steps + 1)
    _cost(numbers, s.n * s.d + 4 * s.c * s.d + 6 * s.n * s.c, 0).check(limits, ("body", "steps"))


def check_grid(steps: int, limits: Limits) -> None:
    points = steps * steps
    if points > limits.max_grid_points:
        raise LimitError(
            "grid points (steps^2)",
            points,
            limits.max_grid_points,
            "max_grid_points",
            ("body", "steps"),
        )
