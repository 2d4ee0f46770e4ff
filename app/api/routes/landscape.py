"""Landscape API: SVM/softmax loss and gradient, exact slices, descent paths, the loss as a circuit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile

from app.api.deps import LimitsDep, SettingsDep
from app.api.heavy import run_landscape
from app.core.limits import Limits
from app.landscape.data import BUILTIN_DATASETS, parse_csv, user_dataset
from app.landscape.jobs import (
    compute_comparison,
    compute_loss,
    compute_loss_circuit,
    compute_numerical_gradient,
    compute_optimizer_path,
    compute_slice,
    prediction,
)
from app.schemas.landscape import (
    CircuitRequest,
    CircuitResponse,
    CompareRequest,
    CompareResponse,
    DatasetInfo,
    LossRequest,
    LossResponse,
    NumericalGradientRequest,
    NumericalGradientResponse,
    OptimizeRequest,
    OptimizeResponse,
    SliceRequest,
    SliceResponse,
    UploadedDataset,
)

router = APIRouter(prefix="/api/v1/landscape", tags=["landscape"])


async def _run(job: Callable[[Any, Limits], dict[str, Any]], request: Any, limits: Limits) -> Any:
    """The job's cost predicted and checked here (413 before anything runs), then the job on the
    lane that prediction picks (app/api/heavy.py, run_landscape)."""
    cost = prediction(request, limits)
    return await run_landscape(
        job, request, limits, predicted_s=cost.seconds, predicted_bytes=cost.memory_bytes
    )


@router.get(
    "/datasets",
    operation_id="listDatasets",
    response_model=list[DatasetInfo],
    summary="The built-in datasets",
)
def datasets() -> list[dict[str, str]]:
    """Names and descriptions of the built-in datasets (`cifar-shaped` is synthetic)."""
    return [{"name": name, "description": text} for name, text in BUILTIN_DATASETS.items()]


@router.post(
    "/datasets/csv",
    operation_id="uploadDatasetCsv",
    response_model=UploadedDataset,
    summary="Parse an uploaded CSV",
    # FastAPI names the multipart body's schema itself (Body_uploadDatasetCsv), so the body is
    # described here
    openapi_extra={"requestBody": {"description": "multipart/form-data with one part, `file`."}},
)
def upload_csv(
    settings: SettingsDep,
    limits: LimitsDep,
    file: Annotated[
        UploadFile, File(description="CSV text: features, then the label in the last column.")
    ],
) -> dict[str, Any]:
    """A CSV file (label in the last column, optional header line) as `X` and `y` for requests."""
    text = file.file.read(settings.max_body_bytes + 1).decode("utf-8", "replace")
    X_rows, y_list = parse_csv(text, ("body", "file"))
    data = user_dataset(X_rows, y_list, None, ("body", "file"), limits)
    return {
        "X": data.X.tolist(),
        "y": data.y.tolist(),
        "n": data.n,
        "d": data.d,
        "c": data.num_classes,
    }


@router.post(
    "/loss",
    operation_id="landscapeLoss",
    response_model=LossResponse,
    summary="Loss, per-example terms and dW",
)
async def loss(request: LossRequest, limits: LimitsDep) -> dict[str, Any]:
    """Total, data and regularization loss, each L_i, the margins with their active terms, and
    the analytic gradient dW (the regularizer's part is 2*reg*W); with `gradcheck`, central
    differences too."""
    return await _run(compute_loss, request, limits)


@router.post(
    "/slice",
    operation_id="landscapeSlice",
    response_model=SliceResponse,
    response_model_exclude_none=True,
    summary="A 1-D or 2-D slice of the loss",
)
async def loss_slice(request: SliceRequest, limits: LimitsDep) -> dict[str, Any]:
    """1-D: the loss along W + a*D with (for SVM) every kink, its slopes, the subgradient
    interval at W and the exact minimum. 2-D: the grid W + a*D1 + b*D2 (rows follow betas)."""
    return await _run(compute_slice, request, limits)


@router.post(
    "/optimize",
    operation_id="landscapeOptimize",
    response_model=OptimizeResponse,
    response_model_exclude_none=True,
    summary="Random search, random local search, GD or SGD, projected on a slice plane",
)
async def run_optimizer(request: OptimizeRequest, limits: LimitsDep) -> dict[str, Any]:
    """The loss per step and the path's least-squares (a, b) on the plane W + a*D1 + b*D2 of
    `directions`, with each point's distance off that plane."""
    return await _run(compute_optimizer_path, request, limits)


@router.post(
    "/compare",
    operation_id="landscapeCompare",
    response_model=CompareResponse,
    summary="Several step sizes and optimizers from the same start, side by side",
)
async def compare(request: CompareRequest, limits: LimitsDep) -> dict[str, Any]:
    """Every strategy with every step size, from the same W and seed: each run's loss per step
    (a diverged run ends where it diverged). All runs are costed before the first starts."""
    return await _run(compute_comparison, request, limits)


@router.post(
    "/numerical-gradient",
    operation_id="landscapeNumericalGradient",
    response_model=NumericalGradientResponse,
    summary="The error of finite differences against the step h",
)
async def numerical_gradient(
    request: NumericalGradientRequest, limits: LimitsDep
) -> dict[str, Any]:
    """At log-spaced steps h: the worst relative error, over the weights the gradient check
    compares, of the forward and the centred difference against the analytic dW; and the h
    the gradient check uses."""
    return await _run(compute_numerical_gradient, request, limits)


@router.post(
    "/circuit",
    operation_id="landscapeCircuit",
    response_model=CircuitResponse,
    summary="One example's loss, or the whole loss, as a circuit program",
)
async def loss_circuit(request: CircuitRequest, limits: LimitsDep) -> dict[str, Any]:
    """One example's L_i (by default the first whose max gates route 0 at W) or, with scope
    all, the whole loss of a small problem, as a staged program for POST
    /api/v1/circuits/evaluate with the weights as named inputs (W{c}_{d}); its value and dW,
    its max(0, ...) gates with their margins, and the landscape engine's loss and dW."""
    return await _run(compute_loss_circuit, request, limits)
