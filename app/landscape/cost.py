"""A landscape request's cost from N, D, C and the grid, predicted before W or any grid exists.

The route checks it on the data's real N, D and C (app.landscape.jobs.request_sizes: a
built-in's from the dataset table, before any data is made), so an oversized request is a 413
before it reaches the pool and admission and the client's budget charge what the job will do;
each job checks it again once the data exists, before the C x D weights, the score matrices or
the grid are made. Units are those of app/engine/cost.py: bytes, and element operations (about
1 ns of CPU each here).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import LimitError
from app.core.limits import Cost, Limits
from app.landscape.loss_kind import LossKind
from app.landscape.losses import CHUNK_VALUES, LossSpec, kind_of

# Answer bytes and memory: calibrated with bench/cost_calibration.py --landscape. Work: in units
# of about 1 ns of one core here (BPC_WORK_UNITS_PER_SECOND assumes 2 ns, the safe side),
# calibrated with bench/landscape_cost.py against each slice's measured CPU and wall time
# (docs/deploy.md, "Sizing").
B_NUMBER = 21  # a float in the answer, with its comma (FastAPI writes 17 significant digits)
B_LISTED = 56  # a float while the answer is a Python list, and after validation a second copy
B_BASE = 2_000
M_BASE = 500_000
W_BASE = 1_000_000  # a job's fixed cost: building W and the directions, the answer's model
W_NUMBER = 1_000  # a float in the answer: tolist, the response model, then json.dumps (most)
MACS_PER_UNIT = 10  # a matrix product (X times W and the directions) on one BLAS thread
W_LOSS = 25  # per score (N*C) for one loss and its gradient, beside the N*D*C products
# A grid costs per score (N*C) and grid point when the loss is sampled (softmax: a log-sum-exp
# each) or per score and row when it is exact (SVM: each row an exact line, its kinks bucketed
# into the columns): the loss's own LossKind.grid_work, per class too for an exact loss that is
# an envelope of a line per class (not a hinge). The per-term lines of a 1-D slice are sampled
# for every loss, at about a log-sum-exp's cost each.
W_POINT = 25
W_ROW = 50_000  # the numpy calls of a sampled grid row or of a chunk of exact rows, at any size
W_KINK = 2_000  # a kink of a 1-D slice in its range: sorted, merged, made a dict (listed or not)


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


def _products(s: Sizes, matrices: int) -> int:
    """X (N x D) times `matrices` C x D matrices stacked (W and the directions)."""
    return matrices * s.n * s.d * s.c // MACS_PER_UNIT


def _line_work(kind: LossKind, s: Sizes) -> int:
    """One exact line (a 1-D slice, a 2-D grid row): a hinge's kink is one division per score;
    an envelope of C lines per example takes up to C - 1 steps over its N x C lines."""
    return s.n * s.c * kind.grid_work * (1 if kind.hinge else s.c)


def loss_cost(
    s: Sizes, gradcheck: bool, limits: Limits, include_W: bool = True, include_data: bool = False
) -> Cost:
    """POST /loss: dW and, when asked, W (C x D each), L_i (N), margins/active/probabilities
    (N x C, if small), and when asked the data (N x D and N labels)."""
    nc, cd = s.n * s.c, s.c * s.d
    numbers = (
        (2 if include_W else 1) * cd + s.n + (3 * nc if nc <= limits.max_loss_matrix_cells else 0)
    )
    if include_data:
        numbers += s.n * s.d + s.n
    work = 2 * s.n * s.d * s.c + W_LOSS * nc
    arrays = s.n * s.d + 4 * cd + 6 * nc
    if gradcheck:
        entries = min(cd, limits.max_gradcheck_entries)
        numbers += 5 * entries + (cd if cd <= limits.max_gradcheck_entries else 0)
        work += entries * 2 * W_LOSS * nc  # each weight nudged both ways moves one column
        # the nudged scores, stacked a chunk at a time, as numerical_gradient_cost below
        arrays += 14 * nc + 2 * entries + 6 * min(entries * nc, CHUNK_VALUES)
    return _cost(numbers, arrays, work)


def numerical_gradient_cost(s: Sizes, samples: int, limits: Limits) -> Cost:
    """POST /numerical-gradient: the loss and dW once, then at each h each checked weight
    nudged both ways (a nudge moves one score column: a loss over N x C each)."""
    nc, cd = s.n * s.c, s.c * s.d
    entries = min(cd, limits.max_gradcheck_entries)
    numbers = 3 * samples
    work = W_BASE + 2 * s.n * s.d * s.c + W_LOSS * nc + samples * entries * 2 * W_LOSS * nc
    # the scores and the loss's N x C temporaries, and the stacked nudged scores: a chunk of
    # up to CHUNK_VALUES and the loss's temporaries of the same size (measured: about 6 of them)
    arrays = s.n * s.d + 4 * cd + 20 * nc + 2 * entries + 6 * min(entries * nc, CHUNK_VALUES)
    return _cost(numbers, arrays, work)


def slice_1d_cost(s: Sizes, steps: int, loss: str, limits: Limits, variant: str = "ww") -> Cost:
    """POST /slice, dims 1: the curve, the kinks (exact losses) and the per-term lines (small N*C)."""
    nc = s.n * s.c
    numbers = 2 * steps
    work = W_BASE + _products(s, 2) + W_LOSS * nc
    kind = kind_of(LossSpec(loss, variant))
    if not kind.exact:
        # the samples, and the gradient at W for the slope (one more pair of products)
        work += steps * nc * kind.grid_work + _products(s, 2)
    else:
        # at most one kink per hinge term (WW, one-vs-all) or C - 1 per example (structured);
        # how many fall in the range is known only after the work, so all of them are counted:
        # each in the range is merged and made a dict, the first max_slice_kinks are listed (a
        # listed kink's three numbers and their keys write about as much as five numbers)
        numbers += 5 * min(nc, limits.max_slice_kinks)
        work += _line_work(kind, s) + W_KINK * nc
    if nc <= limits.max_term_lines:
        # each example's L_i along the slice, and each hinge term's values (if it has hinges)
        numbers += steps * (s.n + (nc if kind.term_values is not None else 0))
        work += steps * nc * W_POINT
    arrays = s.n * s.d + 2 * s.c * s.d + 8 * nc * min(s.c, 4)
    return _cost(numbers, arrays, work)


def slice_2d_cost(s: Sizes, steps: int, loss: str, variant: str) -> Cost:
    """POST /slice, dims 2: a steps x steps grid of losses."""
    nc = s.n * s.c
    points = steps * steps
    numbers = points + 2 * steps
    work = W_BASE + _products(s, 3) + W_LOSS * nc + 20 * points
    kind = kind_of(LossSpec(loss, variant))
    if not kind.exact:
        work += points * nc * kind.grid_work + steps * W_ROW  # the samples a row at a time
    else:
        # rows go through kinks.grid_rows in chunks of about CHUNK_VALUES values (two per score)
        chunks = -(-steps // max(1, CHUNK_VALUES // (2 * nc)))
        work += steps * _line_work(kind, s) + chunks * W_ROW + points * 10
    # the scores S0, S1, S2 and each row's terms, plus the row chunks (about 6 x CHUNK_VALUES)
    arrays = s.n * s.d + 3 * s.c * s.d + 20 * nc + points + 6 * CHUNK_VALUES
    return _cost(numbers, arrays, work)


def optimizer_work(s: Sizes, steps: int) -> int:
    """Every step touches the whole data set (the loss per step is full-batch). Measured: a step
    costs about N*D*C multiply-adds plus about 100x as much per loss term (N*C), and below
    about 10 classes no less than with 10."""
    return steps * s.n * max(s.c, 10) * (s.d + 100)


def check_optimizer(
    s: Sizes, steps: int, limits: Limits, loc: tuple[str, ...] = ("body", "steps")
) -> None:
    if steps > limits.max_optimize_steps:
        raise LimitError("steps", steps, limits.max_optimize_steps, "max_optimize_steps", loc)
    work = optimizer_work(s, steps)
    if work > limits.max_optimize_work:
        raise LimitError(
            "the optimizer's work (steps × N × max(C, 10) × (D + 100))",
            work,
            limits.max_optimize_work,
            "max_optimize_work",
            loc,
        )
    numbers = 6 * (steps + 1)
    _cost(numbers, s.n * s.d + 4 * s.c * s.d + 6 * s.n * s.c, 0).check(limits, loc)


def check_compare(s: Sizes, runs: int, steps: int, limits: Limits) -> int:
    """POST /compare: every run is counted before the first starts (its steps, and the work of
    all of them against max_optimize_work); returns that work."""
    if runs > limits.max_compare_runs:
        raise LimitError(
            "runs (strategies × step sizes)",
            runs,
            limits.max_compare_runs,
            "max_compare_runs",
            ("body", "step_sizes"),
        )
    if steps > limits.max_optimize_steps:
        raise LimitError(
            "steps", steps, limits.max_optimize_steps, "max_optimize_steps", ("body", "steps")
        )
    work = runs * optimizer_work(s, steps)
    if work > limits.max_optimize_work:
        raise LimitError(
            "the runs' work (runs × steps × N × max(C, 10) × (D + 100))",
            work,
            limits.max_optimize_work,
            "max_optimize_work",
            ("body", "steps"),
        )
    # each run's loss per step (and sgd's minibatch losses), one run's arrays at a time
    numbers = runs * 3 * (steps + 1)
    _cost(numbers, s.n * s.d + 4 * s.c * s.d + 6 * s.n * s.c, 0).check(limits, ("body", "steps"))
    return work


def path_plane_cost(s: Sizes, steps: int) -> Cost:
    """A 2-D slice in the plane of a path (app/landscape/plane.py), beside the run itself
    (optimizer_work): every W of the run is kept, stacked and decomposed (an SVD of the
    (steps + 1) x C*D displacements, about 20 element operations per entry and per singular
    value), then projected; the answer adds the run's losses and (a, b, off-plane) per step."""
    points, weights = steps + 1, s.c * s.d
    numbers = 6 * points
    # the kept W's, their stacked copy, and the SVD's workspace and factors of the same size
    arrays = 4 * points * weights + s.n * s.d + 6 * s.n * s.c
    work = 20 * points * weights * min(points + 2, weights) + 10 * points * weights
    return _cost(numbers, arrays, work)


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
