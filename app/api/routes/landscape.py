"""Landscape API: SVM/softmax loss and gradient, exact slices, descent paths, the loss as a circuit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile

from app.api.deps import SettingsDep
from app.api.heavy import run_heavy
from app.core.config import Settings
from app.core.errors import LimitError
from app.landscape.circuit import loss_program
from app.landscape.data import BUILTIN_DATASETS, parse_csv, user_dataset
from app.landscape.losses import LossSpec, evaluate, gradcheck
from app.landscape.model import Setup, build_setup
from app.landscape.optimize import optimize
from app.landscape.slices import check_range, directions_for, slice_1d, slice_2d
from app.schemas.landscape import (
    CircuitResponse,
    DatasetInfo,
    LandscapeRequest,
    LossRequest,
    LossResponse,
    OptimizeRequest,
    OptimizeResponse,
    SliceRequest,
    SliceResponse,
    UploadedDataset,
)

router = APIRouter(prefix="/api/v1/landscape", tags=["landscape"])


def setup_from(request: LandscapeRequest, settings: Settings) -> Setup:
    spec = LossSpec(request.loss, request.variant, request.delta, request.reg)
    return build_setup(
        request.dataset.model_dump(),
        request.W,
        request.seed,
        request.init,
        request.weight_scale,
        request.bias,
        spec,
        settings,
    )


@router.get("/datasets", response_model=list[DatasetInfo], summary="The built-in datasets")
def datasets() -> list[dict[str, str]]:
    """Names and descriptions of the built-in datasets (`cifar-shaped` is synthetic)."""
    return [{"name": name, "description": text} for name, text in BUILTIN_DATASETS.items()]


@router.post("/datasets/csv", response_model=UploadedDataset, summary="Parse an uploaded CSV")
def upload_csv(settings: SettingsDep, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    """A CSV file (label in the last column, optional header line) as `X` and `y` for requests."""
    text = file.file.read(settings.max_body_bytes + 1).decode("utf-8", "replace")
    X_rows, y_list = parse_csv(text, ("body", "file"))
    data = user_dataset(X_rows, y_list, None, ("body", "file"), settings, name="csv")
    return {
        "X": data.X.tolist(),
        "y": data.y.tolist(),
        "n": data.n,
        "d": data.d,
        "c": data.num_classes,
    }


@router.post("/loss", response_model=LossResponse, summary="Loss, per-example terms and dW")
async def loss(request: LossRequest, settings: SettingsDep) -> dict[str, Any]:
    """Total, data and regularization loss, each L_i, the margins with their active terms, and
    the analytic gradient dW (the regularizer's part is 2*reg*W); with `gradcheck`, central
    differences too."""
    return await run_heavy(compute_loss, request, settings)


def compute_loss(request: LossRequest, settings: Settings) -> dict[str, Any]:
    setup = setup_from(request, settings)
    X, y, W, spec = setup.data.X, setup.data.y, setup.W, setup.spec
    result = evaluate(W, X, y, spec)
    small = result.margins.size <= settings.max_loss_matrix_cells
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
        "W": W.tolist(),
        "n": setup.data.n,
        "d": setup.data.d,
        "c": setup.data.num_classes,
    }
    if request.gradcheck:
        answer["gradcheck"] = gradcheck(
            W, X, y, spec, result.grad_W, settings.max_gradcheck_entries
        )
    return answer


@router.post(
    "/slice",
    response_model=SliceResponse,
    response_model_exclude_none=True,
    summary="A 1-D or 2-D slice of the loss",
)
async def loss_slice(request: SliceRequest, settings: SettingsDep) -> dict[str, Any]:
    """1-D: the loss along W + a*D with (for SVM) every kink, its slopes, the subgradient
    interval at W and the exact minimum. 2-D: the grid W + a*D1 + b*D2 (rows follow betas)."""
    return await run_heavy(compute_slice, request, settings)


def compute_slice(request: SliceRequest, settings: Settings) -> dict[str, Any]:
    setup = setup_from(request, settings)
    lo, hi = request.range
    check_range(lo, hi, request.steps, settings, ("body", "range"))
    if request.dims == 1:
        (D,) = directions_for(
            setup.W,
            [request.direction],
            [request.axis],
            request.normalize,
            request.direction_seed,
        )
        return {"dims": 1, **slice_1d(setup, D, lo, hi, request.steps, settings)}
    beta_range = request.beta_range or request.range
    check_range(beta_range[0], beta_range[1], request.steps, settings, ("body", "beta_range"))
    points = request.steps * request.steps
    if points > settings.max_grid_points:
        raise LimitError(
            "grid points (steps^2)",
            points,
            settings.max_grid_points,
            "max_grid_points",
            ("body", "steps"),
        )
    D1, D2 = directions_for(
        setup.W, request.directions, request.axes, request.normalize, request.direction_seed
    )
    return {"dims": 2, **slice_2d(setup, D1, D2, (lo, hi), beta_range, request.steps)}


@router.post(
    "/optimize",
    response_model=OptimizeResponse,
    response_model_exclude_none=True,
    summary="Random search, random local search, GD or SGD, projected on a slice plane",
)
async def run_optimizer(request: OptimizeRequest, settings: SettingsDep) -> dict[str, Any]:
    """The loss per step and the path's least-squares (a, b) on the plane W + a*D1 + b*D2 of
    `directions`, with each point's distance off that plane."""
    return await run_heavy(compute_optimizer_path, request, settings)


def compute_optimizer_path(request: OptimizeRequest, settings: Settings) -> dict[str, Any]:
    if request.steps > settings.max_optimize_steps:
        raise LimitError(
            "steps",
            request.steps,
            settings.max_optimize_steps,
            "max_optimize_steps",
            ("body", "steps"),
        )
    setup = setup_from(request, settings)
    # Every step touches the whole data set (the loss per step is full-batch). Measured here:
    # a step costs about N*D*C multiply-adds plus about 100x as much per hinge term (N*C), and
    # below about 10 classes no less than with 10.
    data = setup.data
    work = request.steps * data.n * max(data.num_classes, 10) * (data.d + 100)
    if work > settings.max_optimize_work:
        raise LimitError(
            "the optimizer's work (steps × N × max(C, 10) × (D + 100))",
            work,
            settings.max_optimize_work,
            "max_optimize_work",
            ("body", "steps"),
        )
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
    )


@router.post("/circuit", response_model=CircuitResponse, summary="The loss as a circuit program")
async def loss_circuit(request: LandscapeRequest, settings: SettingsDep) -> dict[str, Any]:
    """For a small problem: the loss as a staged program for POST /api/v1/circuits/evaluate,
    with the weights as named inputs (W{c}_{d}), plus the landscape engine's loss and dW."""
    return await run_heavy(compute_loss_circuit, request, settings)


def compute_loss_circuit(request: LandscapeRequest, settings: Settings) -> dict[str, Any]:
    return loss_program(setup_from(request, settings), settings)
