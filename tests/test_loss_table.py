"""A loss is one row of LOSSES plus its module: toy losses registered here reach every landscape part.

Two toy losses on the true class's score only, each registered in a fixture with nothing else
edited and unregistered after:
- "truehinge": L_i = max(0, delta - s_y), piecewise linear (line_terms), with no circuit form;
- "truesquare": L_i = max(0, delta - s_y)^2, smooth where it matters, sampled, with a circuit.

The problem, by hand: X = [[1, 2], [2, -1], [0, 1]], y = [0, 1, 1], W = [[0.5, 0.5], [-1, 1.5]],
so S = X W^T = [[1.5, 2], [0.5, -3.5], [0.5, 1.5]] and the true scores are s_y = 1.5, -3.5, 1.5
(no example on a kink). With delta = 1 only example 1 is active (1 - (-3.5) = 4.5 > 0):
truehinge's L_i = 0, 4.5, 0 (mean 1.5), dL_1/ds_11 = -1, so dW row 1 = -x_1 / 3 = [-2/3, 1/3];
truesquare's L_i = 0, 20.25, 0 (mean 6.75), dL_1/ds_11 = -2*4.5 = -9, so dW row 1 = -9 x_1 / 3
= [-6, 3]. Row 0 of dW is 0 for both.

Along the axis direction D[1, 0] = 1 (W + a*D), S1 = X D^T has column 1 = X[:, 0] = [1, 2, 0],
so s_y(a) = 1.5, -3.5 + 2a, 1.5: truehinge's loss is max(0, 4.5 - 2a) / 3, with one kink at
a = 2.25 (slope -2/3 left of it, 0 right), and truesquare's is max(0, 4.5 - 2a)^2 / 3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.core.choices import Choice, names
from app.core.errors import LimitError, ProblemError
from app.core.limits import Limits
from app.engine import evaluate_result
from app.landscape import cost, jobs
from app.landscape.cost import Sizes
from app.landscape.loss_kind import LossKind, LossParts, LossSpec, score_name
from app.landscape.losses import LOSSES, kind_of, register_loss, unregister_loss
from app.schemas.landscape import CircuitRequest, LossRequest, SliceRequest

URL = "/api/v1/landscape"
BODY: dict[str, Any] = {
    "dataset": {"X": [[1.0, 2.0], [2.0, -1.0], [0.0, 1.0]], "y": [0, 1, 1]},
    "W": [[0.5, 0.5], [-1.0, 1.5]],
}
SLICE: dict[str, Any] = {
    **BODY,
    "dims": 1,
    "direction": "axis",
    "axis": [1, 0],
    "range": [-1.0, 3.0],
    "steps": 5,
}
LIMITS = Limits()


def _true_margin(S: np.ndarray, y: np.ndarray, spec: LossSpec) -> np.ndarray:
    """delta - s_y for a stack of score matrices (..., N, C) -> (..., N)."""
    return spec.delta - S[..., np.arange(y.size), y]


def _hinge_per_example(S: np.ndarray, y: np.ndarray, spec: LossSpec) -> np.ndarray:
    return np.maximum(_true_margin(S, y, spec), 0.0)


def _square_per_example(S: np.ndarray, y: np.ndarray, spec: LossSpec) -> np.ndarray:
    return np.maximum(_true_margin(S, y, spec), 0.0) ** 2


def _parts(power: int) -> Callable[[np.ndarray, np.ndarray, LossSpec], LossParts]:
    def parts(S: np.ndarray, y: np.ndarray, spec: LossSpec) -> LossParts:
        rows = np.arange(y.size)
        margin = _true_margin(S, y, spec)
        active = np.zeros_like(S, dtype=bool)
        active[rows, y] = margin > 0
        dS = np.zeros_like(S)
        dS[rows, y] = np.where(margin > 0, -power * np.maximum(margin, 0.0) ** (power - 1), 0.0)
        return LossParts(np.maximum(margin, 0.0) ** power, S - S[rows, y][:, None], active, dS)

    return parts


def _hinge_lines(
    S0: np.ndarray, S1: np.ndarray, y: np.ndarray, spec: LossSpec
) -> tuple[np.ndarray, np.ndarray]:
    """One term per example: max(0, delta - s_y(a)), the zero line and the margin line."""
    rows = np.arange(y.size)
    zeros = np.zeros(y.size)
    return (
        np.stack([zeros, spec.delta - S0[rows, y]], axis=1),
        np.stack([zeros, -S1[rows, y]], axis=1),
    )


def _square_circuit(
    y: np.ndarray, num_classes: int, spec: LossSpec, literal: Callable[[float], str]
) -> list[str]:
    return [
        f"L{i} = max(0, {literal(spec.delta)} - {score_name(i, int(y[i]))})**2"
        for i in range(y.size)
    ]


TRUEHINGE = LossKind(
    heading="truehinge",
    per_example=_hinge_per_example,
    parts=_parts(1),
    grid_work=300,
    line_terms=_hinge_lines,
    hinge=True,
)
TRUESQUARE = LossKind(
    heading="truesquare",
    per_example=_square_per_example,
    parts=_parts(2),
    grid_work=70,
    circuit=_square_circuit,
)


def _row(name: str, kind: LossKind) -> Choice:
    return Choice(
        name, f"{name} (toy)", "the true class's score only", ("delta",), run=lambda s: kind
    )


@pytest.fixture
def toy_losses() -> Iterator[None]:
    register_loss(_row("truehinge", TRUEHINGE))
    register_loss(_row("truesquare", TRUESQUARE))
    try:
        yield
    finally:
        unregister_loss("truehinge")
        unregister_loss("truesquare")
    assert names(LOSSES) == ("svm", "softmax")


def test_registering_refuses_a_taken_name_or_a_row_without_its_kind(toy_losses: None) -> None:
    with pytest.raises(ValueError, match="loss 'truehinge' is already registered"):
        register_loss(_row("truehinge", TRUEHINGE))
    with pytest.raises(ValueError, match="loss 'other' has no run"):
        register_loss(Choice("other", "other"))


def test_the_request_schema_accepts_a_registered_loss_and_only_then() -> None:
    body = {**BODY, "loss": "truehinge"}
    with pytest.raises(ValueError, match="Input should be 'svm' or 'softmax'"):
        LossRequest.model_validate(body)
    register_loss(_row("truehinge", TRUEHINGE))
    try:
        assert LossRequest.model_validate(body).loss == "truehinge"
    finally:
        unregister_loss("truehinge")
    with pytest.raises(ValueError, match="Input should be 'svm' or 'softmax'"):
        LossRequest.model_validate(body)


@pytest.mark.usefixtures("toy_losses")
@pytest.mark.parametrize(
    ("loss", "mean", "grad_row_1"),
    [("truehinge", 1.5, [-2 / 3, 1 / 3]), ("truesquare", 6.75, [-6.0, 3.0])],
)
def test_the_loss_job_computes_a_registered_loss(
    loss: str, mean: float, grad_row_1: list[float]
) -> None:
    request = LossRequest.model_validate({**BODY, "loss": loss, "gradcheck": True})
    answer = jobs.compute_loss(request, LIMITS)
    assert answer["loss"] == pytest.approx(mean, rel=1e-15)
    assert answer["per_example"] == pytest.approx([0.0, 3 * mean, 0.0], rel=1e-15)
    assert answer["grad_W"][0] == [0.0, 0.0]
    assert answer["grad_W"][1] == pytest.approx(grad_row_1, rel=1e-15)
    assert answer["probabilities"] is None
    # the generic central-difference check agrees with the toy's own gradient
    assert answer["gradcheck"]["max_relative_error"] < 1e-8


@pytest.mark.usefixtures("toy_losses")
def test_a_piecewise_linear_loss_gets_its_kinks_from_its_own_lines() -> None:
    request = SliceRequest.model_validate({**SLICE, "loss": "truehinge"})
    answer = jobs.compute_slice(request, LIMITS)
    assert answer["exact"] is True
    # max(0, 4.5 - 2a) / 3 at a = -1, 0, 1, 2, 3
    assert answer["losses"] == pytest.approx([6.5 / 3, 1.5, 2.5 / 3, 0.5 / 3, 0.0], abs=1e-14)
    assert answer["kink_count"] == 1
    (kink,) = answer["kinks"]
    assert kink["alpha"] == pytest.approx(2.25, rel=1e-15)
    assert kink["slope_left"] == pytest.approx(-2 / 3, rel=1e-15)
    assert kink["slope_right"] == pytest.approx(0.0, abs=1e-15)
    assert answer["subgradient"]["left"] == pytest.approx(-2 / 3, rel=1e-15)
    assert answer["subgradient"]["right"] == pytest.approx(-2 / 3, rel=1e-15)
    assert answer["minimum"]["loss"] == pytest.approx(0.0, abs=1e-14)
    assert 2.25 - 1e-14 <= answer["minimum"]["alpha"] <= 3.0
    assert answer["terms"] == []  # the toy gives no per-term lines
    assert [line["values"] for line in answer["per_example"]] == [
        [0.0] * 5,
        pytest.approx([6.5, 4.5, 2.5, 0.5, 0.0], abs=1e-14),
        [0.0] * 5,
    ]


@pytest.mark.usefixtures("toy_losses")
def test_a_smooth_loss_is_sampled_with_no_kinks() -> None:
    request = SliceRequest.model_validate({**SLICE, "loss": "truesquare"})
    answer = jobs.compute_slice(request, LIMITS)
    assert answer["exact"] is False
    # max(0, 4.5 - 2a)^2 / 3 at a = -1, 0, 1, 2, 3
    assert answer["losses"] == pytest.approx([42.25 / 3, 6.75, 6.25 / 3, 0.25 / 3, 0.0], abs=1e-14)
    assert answer["kink_count"] == 0 and answer["kinks"] == []
    # the slope at a = 0 is dW . D = dW[1, 0] = -6, on both sides
    assert answer["subgradient"] == pytest.approx({"left": -6.0, "right": -6.0}, rel=1e-15)


@pytest.mark.usefixtures("toy_losses")
@pytest.mark.parametrize("loss", ["truehinge", "truesquare"])
def test_a_2d_grid_of_a_registered_loss_matches_the_loss_at_each_point(loss: str) -> None:
    body = {**BODY, "loss": "truehinge", "dims": 2, "directions": ["axis", "axis"]}
    body.update(loss=loss, axes=[[1, 0], [1, 1]], range=[-1.0, 3.0], steps=5)
    answer = jobs.compute_slice(SliceRequest.model_validate(body), LIMITS)
    per_example = _hinge_per_example if loss == "truehinge" else _square_per_example
    X, y = np.array(BODY["dataset"]["X"]), np.array(BODY["dataset"]["y"])
    for row, b in enumerate(answer["betas"]):
        for col, a in enumerate(answer["alphas"]):
            W = (
                np.array(BODY["W"])
                + a * np.array([[0, 0], [1, 0]])
                + b * np.array([[0, 0], [0, 1]])
            )
            direct = per_example(X @ W.T, y, LossSpec(loss)).mean()
            assert answer["losses"][row][col] == pytest.approx(direct, abs=1e-13)


@pytest.mark.usefixtures("toy_losses")
def test_the_cost_model_reads_the_grid_work_from_the_row() -> None:
    sizes, steps = Sizes(100, 10, 5), 31
    nc, points = 100 * 5, 31 * 31
    ww = cost.slice_2d_cost(sizes, steps, "svm", "ww").work
    softmax = cost.slice_2d_cost(sizes, steps, "softmax", "ww").work
    hinge = cost.slice_2d_cost(sizes, steps, "truehinge", "ww").work
    square = cost.slice_2d_cost(sizes, steps, "truesquare", "ww").work
    # an exact loss pays per score and row: 300 against the WW SVM's 30
    assert ww - hinge == steps * nc * (30 - 300)
    # a sampled loss pays per score and grid point: 70 against softmax's 24
    assert square - softmax == points * nc * (70 - 24)
    # 1-D: the sampled toy pays per score and point, the exact one per score for its one line
    assert cost.slice_1d_cost(sizes, steps, "truesquare", LIMITS).work - cost.slice_1d_cost(
        sizes, steps, "softmax", LIMITS
    ).work == steps * nc * (70 - 24)
    assert cost.slice_1d_cost(sizes, steps, "truehinge", LIMITS).work - cost.slice_1d_cost(
        sizes, steps, "svm", LIMITS
    ).work == nc * (300 - 30)


@pytest.mark.usefixtures("toy_losses")
def test_a_registered_loss_over_its_work_budget_is_a_413_before_any_work() -> None:
    one_d_only = ("direction", "axis")  # a 2-D slice refuses them (tests/test_api_spec.py)
    plane = {key: value for key, value in SLICE.items() if key not in one_d_only}
    body = {**plane, "dims": 2, "directions": ["random", "random"], "steps": 101}
    square = SliceRequest.model_validate({**body, "loss": "truesquare"})
    softmax = SliceRequest.model_validate({**body, "loss": "softmax"})
    # the toy's 70 per score and point against softmax's 24: 101^2 points x N*C = 6 scores x 46
    extra = 101 * 101 * 6 * 46
    softmax_work = round(jobs.precheck(softmax, LIMITS) * LIMITS.work_units_per_second)
    square_work = round(jobs.precheck(square, LIMITS) * LIMITS.work_units_per_second)
    assert square_work - softmax_work == extra
    between = LIMITS.but(max_work=softmax_work + extra // 2)
    assert jobs.precheck(softmax, between) > 0
    with pytest.raises(LimitError, match="BPC_MAX_WORK") as refused:
        jobs.precheck(square, between)
    assert refused.value.status == 413


@pytest.mark.usefixtures("toy_losses")
def test_the_circuit_job_writes_a_registered_loss_from_its_own_lines() -> None:
    request = CircuitRequest.model_validate({**BODY, "loss": "truesquare", "scope": "all"})
    program = jobs.compute_loss_circuit(request, LIMITS)
    lines = program["expression"].split("\n")
    assert "# per-example losses (truesquare)" in lines
    assert "L1 = max(0, 1 - s1_1)**2" in lines
    # the program, run by the circuit engine, is the loss and its gradient
    result = evaluate_result(program["expression"], program["inputs"])
    assert float(result.values[result.circuit.output]) == pytest.approx(6.75, rel=1e-15)
    gradients = result.gradients()
    assert [float(gradients["W1_0"]), float(gradients["W1_1"])] == pytest.approx(
        [-6.0, 3.0], rel=1e-15
    )
    assert float(gradients["W0_0"]) == 0.0 and float(gradients["W0_1"]) == 0.0


@pytest.mark.usefixtures("toy_losses")
def test_a_loss_without_a_circuit_form_is_refused_naming_the_field() -> None:
    request = CircuitRequest.model_validate({**BODY, "loss": "truehinge"})
    with pytest.raises(ProblemError) as refused:
        jobs.compute_loss_circuit(request, LIMITS)
    assert refused.value.status == 422
    (problem,) = refused.value.problems
    assert problem.loc == ("body", "loss")
    assert problem.msg == "the truehinge (toy) loss has no circuit form"


def test_a_loss_the_process_does_not_know_is_a_422_naming_the_field() -> None:
    with pytest.raises(ProblemError) as refused:
        kind_of(LossSpec("truehinge"))
    (problem,) = refused.value.problems
    assert problem.loc == ("body", "loss")
    assert problem.msg == "loss 'truehinge' is not one of svm, softmax"


@pytest.mark.usefixtures("toy_losses")
def test_over_http_the_catalog_lists_a_registered_loss_and_the_job_processes_refuse_it(
    client: TestClient,
) -> None:
    catalog = client.get(f"{URL}/catalog").json()
    assert [row["name"] for row in catalog["losses"]] == [
        "svm",
        "softmax",
        "truehinge",
        "truesquare",
    ]
    assert catalog["losses"][2]["options"] == ["delta"]
    # The route accepts it and checks its cost here. A job small enough for the evaluate
    # threads (BPC_LANDSCAPE_IN_PROCESS_MAX_S) runs in this process, which has the loss:
    # truehinge's L = (0 + 4.5 + 0) / 3 (the module's docstring).
    answer = client.post(f"{URL}/loss", json={**BODY, "loss": "truehinge"})
    assert answer.status_code == 200 and answer.json()["loss"] == 1.5
    # A job process imports LOSSES' own modules and not this test's: a clear 422, not a 500.
    lanes = client.app.state.compute  # type: ignore[attr-defined]
    saved, lanes.small_landscape_s = lanes.small_landscape_s, 0.0
    try:
        answer = client.post(f"{URL}/loss", json={**BODY, "loss": "truehinge"})
    finally:
        lanes.small_landscape_s = saved
    assert answer.status_code == 422
    (detail,) = answer.json()["detail"]
    assert detail["loc"] == ["body", "loss"]
    assert detail["msg"] == "loss 'truehinge' is not one of svm, softmax"
