"""The landscape endpoints' work as plain, picklable jobs: (request, Limits) -> JSON-ready dict.

Module-level functions of picklable arguments, so a pool can run them in another process; they
write no global state. Each checks its cost (app/landscape/cost.py) once N, D and C are known
and before the weights, scores or grid are made.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, NamedTuple

import numpy as np

from app.core.limits import Cost, Limits
from app.landscape import cost
from app.landscape.circuit import circuit_offer, loss_program
from app.landscape.cost import Sizes
from app.landscape.data import Dataset, builtin_shape, check_size, problem
from app.landscape.losses import LossSpec, evaluate, gradcheck
from app.landscape.model import Setup, build_data, build_setup
from app.landscape.numgrad import step_errors
from app.landscape.optimize import compare_runs, optimize, optimize_in_its_plane
from app.landscape.slices import check_range, directions_for, slice_1d, slice_2d
from app.schemas.landscape import (
    CircuitRequest,
    CompareRequest,
    LandscapeRequest,
    LossRequest,
    NumericalGradientRequest,
    OptimizeRequest,
    SliceRequest,
)

LOC = ("body", "dataset")
MIN_H = 1e-20  # the smallest step h of /numerical-gradient


def request_sizes(request: LandscapeRequest) -> Sizes:
    """N, D (the bias column included) and C of the request's data, without making it: a
    built-in's from its row of the dataset table, inline X and y as they are, CSV text from its
    lines. The route predicts the job's cost from these, so admission and the compute budget
    charge what the job will do (a built-in's D and C are not in the request)."""
    spec = request.dataset
    bias = 1 if request.bias else 0
    w_rows = len(request.W) if request.W else 0
    w_cols = len(request.W[0]) if request.W and request.W[0] else 0
    labels = max(spec.y) + 1 if spec.y else 0
    shape = builtin_shape(spec.name, spec.n, spec.d, spec.c) if spec.name else None
    if shape is not None:
        return Sizes(shape[0], shape[1] + bias, shape[2])
    if spec.X is not None:
        n = len(spec.X)
        d = len(spec.X[0]) if spec.X else 0
    elif spec.csv is not None:
        n, d, labels = csv_sizes(spec.csv)
    else:
        n, d = spec.n or 1, spec.d or 1
    # as build_data counts them: `c`, else W's rows, else the largest label + 1
    c = spec.c or w_rows or labels
    return Sizes(max(1, n), max(1, d + bias, w_cols), max(1, c))


# The last cell of each line that has a comma and is not a `#` comment: the label of a data row
# (a header's reads as no number). One regular-expression pass over the text, so the route's
# prediction costs no per-cell parsing on the event loop.
_LAST_CELL = re.compile(r"^(?![ \t]*#).*,([^,\n]*)$", re.MULTILINE)


def csv_sizes(text: str) -> tuple[int, int, int]:
    """Data rows, features (columns before the label) and the largest label + 1 of CSV text, as
    parse_csv would find them in a valid file (an invalid one is the job's 422 to report)."""
    classes = rows = 0
    for cell, count in Counter(_LAST_CELL.findall(text)).items():
        try:
            value = float(cell)
        except ValueError:
            continue
        rows += count
        if math.isfinite(value) and 0 <= value < 2**63:
            classes = max(classes, int(value) + 1)
    first = next(
        (s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#")),
        "",
    )
    return rows, first.count(","), classes


def sizes_of(data: Dataset) -> Sizes:
    return Sizes(data.n, data.d, data.num_classes)


class Prediction(NamedTuple):
    """A job's predicted seconds (the cost model's slow end) and peak memory in bytes (None
    where the cost model bounds the work only: descent runs)."""

    seconds: float
    memory_bytes: int | None


def prediction(request: LandscapeRequest, limits: Limits) -> Prediction:
    """The route's check before the job runs: the data set's size limits (as the job checks
    them, before the bias column), then the job's own cost, on the request's sizes. Returns
    what the job is predicted to cost: the lane is chosen by it, the pool admits by its
    seconds and the client's budget is charged them."""
    sizes = request_sizes(request)
    check_size(sizes.n, sizes.d - (1 if request.bias else 0), sizes.c, limits, LOC)
    return _check(request, sizes, limits)


def precheck(request: LandscapeRequest, limits: Limits) -> float:
    """prediction()'s seconds."""
    return prediction(request, limits).seconds


def _check(request: LandscapeRequest, sizes: Sizes, limits: Limits) -> Prediction:
    """Raises a 413 over budget; otherwise the job's prediction."""
    if isinstance(request, SliceRequest):
        check_range(request.range[0], request.range[1], request.steps, limits, ("body", "range"))
        if request.dims == 1:
            estimate: Cost = cost.slice_1d_cost(
                sizes, request.steps, request.loss, limits, request.variant
            )
        else:
            cost.check_grid(request.steps, limits)
            estimate = cost.slice_2d_cost(sizes, request.steps, request.loss, request.variant)
        if request.path is not None:  # the run comes first, then the grid in its plane
            if sizes.c * sizes.d < 2:
                raise problem("the plane of a path needs W with two weights or more", LOC)
            run_steps = request.path.steps
            cost.check_optimizer(sizes, run_steps, limits, ("body", "path", "steps"))
            plane = cost.path_plane_cost(sizes, run_steps)
            plane.check(limits, ("body", "path", "steps"))
            estimate = Cost(
                estimate.answer_bytes + plane.answer_bytes,
                estimate.memory_bytes + plane.memory_bytes,
                estimate.work + plane.work,
            )
            estimate.check(limits, ("body", "steps"))
            run_seconds = cost.optimizer_work(sizes, run_steps)
            seconds = (
                estimate.work / limits.work_units_per_second
                + run_seconds / limits.optimize_work_units_per_second
            )
            return Prediction(seconds, None)  # the run's memory is not modelled
        estimate.check(limits, ("body", "steps"))
    elif isinstance(request, OptimizeRequest):
        cost.check_optimizer(sizes, request.steps, limits)
        work = cost.optimizer_work(sizes, request.steps)
        return Prediction(work / limits.optimize_work_units_per_second, None)
    elif isinstance(request, CompareRequest):
        runs = len(request.strategies) * len(request.step_sizes)
        work = cost.check_compare(sizes, runs, request.steps, limits)
        return Prediction(work / limits.optimize_work_units_per_second, None)
    elif isinstance(request, NumericalGradientRequest):
        lo, hi = request.h_range
        # below 1e-20 every difference is round-off alone, and a quotient by h can overflow
        if not MIN_H <= lo < hi:
            raise problem(
                f"h_range must have {MIN_H:g} <= lo < hi, got [{lo}, {hi}]", ("body", "h_range")
            )
        estimate = cost.numerical_gradient_cost(sizes, request.samples, limits)
        estimate.check(limits, ("body", "samples"))
    elif isinstance(request, LossRequest):
        estimate = cost.loss_cost(
            sizes, request.gradcheck, limits, request.include_W, request.include_data
        )
        estimate.check(limits, LOC)
    else:  # the loss as a circuit: its answer carries W and dW like /loss
        estimate = cost.loss_cost(sizes, False, limits)
        estimate.check(limits, LOC)
    return Prediction(estimate.work / limits.work_units_per_second, estimate.memory_bytes)


def _setup(request: LandscapeRequest, limits: Limits) -> Setup:
    """The dataset (bounded by the N, D, C limits), the cost check, then W."""
    data = build_data(request.dataset.model_dump(), request.W, request.bias, limits)
    _check(request, sizes_of(data), limits)
    spec = LossSpec(request.loss, request.variant, request.delta, request.reg)
    return build_setup(data, request.W, request.seed, request.init, request.weight_scale, spec)


def compute_loss(request: LossRequest, limits: Limits) -> dict[str, Any]:
    """POST /loss: total, data and regularization loss, L_i, margins, dW (and a gradient check)."""
    setup = _setup(request, limits)
    X, y, W, spec = setup.data.X, setup.data.y, setup.W, setup.spec
    result = evaluate(W, X, y, spec)
    small = result.margins.size <= limits.max_loss_matrix_cells
    answer: dict[str, Any] = {
        "loss": result.loss,
        "data_loss": result.data_loss,
        "reg_loss": result.reg_loss,
        "per_example": result.per_example.tolist(),
        "margins": result.margins.tolist() if small else None,
        "active": result.active.tolist() if small else None,
        "probabilities": (
            result.probabilities.tolist() if small and result.probabilities is not None else None
        ),
        "grad_W": result.grad_W.tolist(),
        "W": W.tolist() if request.include_W else None,
        "n": setup.data.n,
        "d": setup.data.d,
        "c": setup.data.num_classes,
    }
    answer["circuit"] = circuit_offer(setup, result, limits, small)
    if request.include_data:
        answer["X"] = setup.data.X.tolist()
        answer["y"] = setup.data.y.tolist()
    if request.gradcheck:
        answer["gradcheck"] = gradcheck(W, X, y, spec, result.grad_W, limits.max_gradcheck_entries)
    return answer


def compute_slice(request: SliceRequest, limits: Limits) -> dict[str, Any]:
    """POST /slice: a 1-D line W + a*D or a 2-D grid W + a*D1 + b*D2 of the loss."""
    setup = _setup(request, limits)
    lo, hi = request.range
    if request.dims == 1:
        (D,) = directions_for(
            setup.W,
            [request.direction],
            [request.axis],
            request.normalize,
            request.direction_seed,
        )
        return {"dims": 1, **slice_1d(setup, D, lo, hi, request.steps, limits)}
    beta_range = request.beta_range or request.range
    check_range(beta_range[0], beta_range[1], request.steps, limits, ("body", "beta_range"))
    if request.path is not None:
        run = request.path
        path, plane = optimize_in_its_plane(
            setup,
            run.strategy,
            run.steps,
            run.step_size,
            run.batch_size,
            run.optimizer_seed,
            run.momentum,
        )
        grid = slice_2d(setup, plane.D1, plane.D2, (lo, hi), beta_range, request.steps)
        if not np.isfinite(grid["losses"]).all():
            # the plane's scale is the path's reach: a diverging run can make it overflow
            raise problem(
                f"the path reaches {plane.scale:.3g} from W, and the loss over this range of "
                "its plane overflows: use a smaller step size or range",
                ("body", "path", "step_size"),
            )
        return {"dims": 2, **grid, "path": path, "path_plane": plane.summary()}
    D1, D2 = directions_for(
        setup.W, request.directions, request.axes, request.normalize, request.direction_seed
    )
    return {"dims": 2, **slice_2d(setup, D1, D2, (lo, hi), beta_range, request.steps)}


def compute_optimizer_path(request: OptimizeRequest, limits: Limits) -> dict[str, Any]:
    """POST /optimize: a strategy's path from W, projected on the plane of `directions`."""
    setup = _setup(request, limits)
    D1, D2 = directions_for(
        setup.W, request.directions, request.axes, request.normalize, request.direction_seed
    )
    return optimize(
        setup,
        request.strategy,
        request.steps,
        request.step_size,
        request.batch_size,
        request.optimizer_seed,
        D1,
        D2,
        request.momentum,
    )


def compute_comparison(request: CompareRequest, limits: Limits) -> dict[str, Any]:
    """POST /compare: every (strategy, step size) run's loss per step, from the same W."""
    setup = _setup(request, limits)
    runs = [(name, size) for name in request.strategies for size in request.step_sizes]
    answers = compare_runs(
        setup, runs, request.steps, request.batch_size, request.optimizer_seed, request.momentum
    )
    return {"runs": answers}


def compute_numerical_gradient(request: NumericalGradientRequest, limits: Limits) -> dict[str, Any]:
    """POST /numerical-gradient: each difference's error against h, at W."""
    setup = _setup(request, limits)
    lo, hi = request.h_range
    hs = np.logspace(np.log10(lo), np.log10(hi), request.samples)
    return step_errors(setup, hs, limits.max_gradcheck_entries)


def compute_loss_circuit(request: CircuitRequest, limits: Limits) -> dict[str, Any]:
    """POST /circuit: one example's loss (or the whole loss) as a staged program for the
    circuit page."""
    # no scope: one example when one is named, else the whole loss (what /circuit always gave)
    scope = request.scope or ("example" if request.example is not None else "all")
    if scope == "all" and request.example is not None:
        raise problem(
            "example is for scope example: scope all is every example", ("body", "example")
        )
    return loss_program(_setup(request, limits), limits, scope, request.example)
