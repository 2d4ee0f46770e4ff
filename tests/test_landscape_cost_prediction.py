"""The landscape route's cost prediction: the real N, D and C, each loss's work counted by hand.

The route predicts a request's seconds before the pool is asked (app.landscape.jobs.precheck),
and admission and each client's compute budget charge them; a built-in dataset's D and C are
not in the request, so the prediction must read them from the dataset table. The expected work
below is written out from N, D, C and the grid, term by term (docs/deploy.md, "Sizing"; the
constants as calibrated with bench/landscape_cost.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.errors import LimitError, ProblemError
from app.core.limits import Limits
from app.landscape import cost
from app.landscape.cost import Sizes
from app.landscape.data import DATASETS, parse_csv, user_dataset
from app.landscape.jobs import compute_slice, precheck, request_sizes, sizes_of
from app.landscape.model import build_data
from app.main import app
from app.schemas.landscape import (
    CircuitRequest,
    CompareRequest,
    LossRequest,
    OptimizeRequest,
    SliceRequest,
)
from tests.settings_override import overridden_settings

SLICE = "/api/v1/landscape/slice"
UNITS_PER_SECOND = 500_000_000  # BPC_WORK_UNITS_PER_SECOND's default
# What the pages send: the landscape page's 1-D slice, and a 101 x 101 slice of cifar-shaped
# with N = 1000 and the default loss (the SVM, WW), as bench/abuse.py's honest clients do.
PAGE_1D = {"dataset": {"name": "cs231n-1d"}, "dims": 1, "steps": 201}
PAGE_2D = {"dataset": {"name": "cifar-shaped", "n": 1000}, "dims": 2, "steps": 101}


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def predicted_work(body: dict[str, Any], limits: Limits | None = None) -> float:
    """The route's predicted seconds, back in work units."""
    return precheck(SliceRequest.model_validate(body), limits or Limits()) * UNITS_PER_SECOND


# ---------------------------------------------------------------- the real sizes


def test_cifar_shaped_is_predicted_on_3073_features_and_10_classes() -> None:
    request = SliceRequest.model_validate(PAGE_2D)
    assert request_sizes(request) == Sizes(1000, 3073, 10)
    assert request_sizes(SliceRequest.model_validate({**PAGE_2D, "bias": True})) == Sizes(
        1000, 3074, 10
    )
    # n is the request's; without it the dataset's 1000
    small = {"dataset": {"name": "cifar-shaped", "n": 40}, "dims": 2, "steps": 11}
    assert request_sizes(SliceRequest.model_validate(small)) == Sizes(40, 3073, 10)
    default = {"dataset": {"name": "cifar-shaped"}}
    assert request_sizes(SliceRequest.model_validate(default)) == Sizes(1000, 3073, 10)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("row", DATASETS, ids=lambda row: row.name)
def test_every_builtin_dataset_is_predicted_at_the_shape_it_builds(row: Any, bias: bool) -> None:
    """Every row of the dataset table, with and without the knobs it reads: a row added
    without its shape in data.SHAPES fails here."""
    knobs = {"n": 7, "d": 4, "c": 5, "seed": 2}
    for dataset in ({"name": row.name}, {"name": row.name, **{k: knobs[k] for k in row.options}}):
        request = SliceRequest.model_validate({"dataset": dataset, "bias": bias})
        built = build_data(request.dataset.model_dump(), None, bias, Limits())
        assert request_sizes(request) == sizes_of(built), dataset


def test_inline_data_is_predicted_at_its_own_sizes() -> None:
    X = [[0.5, 1.0, -1.0, 2.0]] * 6
    body = {"dataset": {"X": X, "y": [0, 4, 1, 2, 0, 1]}, "bias": True}
    assert request_sizes(SliceRequest.model_validate(body)) == Sizes(6, 5, 5)
    with_c = {"dataset": {"X": X, "y": [0, 1, 1, 0, 0, 1], "c": 7}}
    assert request_sizes(SliceRequest.model_validate(with_c)) == Sizes(6, 4, 7)


@pytest.mark.parametrize(
    "text",
    [
        "x1,x2,label\n0.5,1.0,0\n-1,2,3\n\n# a comment, with commas, 7\n4,5,1\n",
        "\ufeff1,2,0\r\n3,4,1\r\n5,6,2\r\n7,8,9\r\n",
        "# notes first\n\n  1.5, 2, 3, 4 \n0,0,0,0\n",
        "1,1e0\n2,3.0\n",  # labels written as floats
    ],
)
def test_csv_text_is_predicted_at_the_sizes_parse_csv_finds(text: str) -> None:
    X, y = parse_csv(text, ("body",))
    data = user_dataset(X, y, None, ("body",), Limits())
    request = SliceRequest.model_validate({"dataset": {"csv": text}})
    assert request_sizes(request) == Sizes(data.n, data.d, data.num_classes)


# ---------------------------------------------------------------- each loss's work by hand

# blobs with N = 2000, D = 10, C = 10: N*C = 20,000 scores
BLOBS = {"name": "blobs", "n": 2000, "d": 10, "c": 10}


def grid_2d(line_work: int, sampled: int = 0) -> int:
    """A 51 x 51 grid over BLOBS, given its rows' exact-line work or its points' sampled work."""
    return (
        1_000_000  # the job's fixed cost
        + 3 * 2000 * 10 * 10 // 10  # X times W, D1 and D2, ten multiply-adds a unit
        + 25 * 20_000  # the loss at W, per score
        + 20 * 51 * 51  # the grid points' own arithmetic
        # exact: each row's line, the rows' numpy calls in chunks of 131,072 // (2 * 20,000) = 3
        # rows, and the kinks bucketed into the columns; sampled: every point, a row at a time
        + (51 * line_work + 17 * 50_000 + 10 * 51 * 51 if not sampled else 0)
        + (51 * 51 * sampled + 51 * 50_000 if sampled else 0)
        + 1_000 * (51 * 51 + 2 * 51)  # the losses, alphas and betas in the answer
    )


@pytest.mark.parametrize(
    ("loss", "variant", "expected"),
    [
        # a hinge per score: its kink and slope, 30 operations per score and row
        ("svm", "ww", grid_2d(20_000 * 30)),
        ("svm", "ova", grid_2d(20_000 * 30)),
        # an envelope of C = 10 lines per example: up to C - 1 steps over its N x C lines
        ("svm", "structured", grid_2d(20_000 * 10 * 20)),
        # sampled: a log-sum-exp per score at every grid point, 24 each
        ("softmax", "ww", grid_2d(0, sampled=20_000 * 24)),
    ],
)
def test_each_loss_2d_grid_work_counted_by_hand(loss: str, variant: str, expected: int) -> None:
    body = {"dataset": BLOBS, "dims": 2, "steps": 51, "loss": loss, "variant": variant}
    assert predicted_work(body) == pytest.approx(expected, rel=1e-12)


def line_1d(exact: bool, loss_work: int) -> int:
    """A 1-D slice of 51 steps over BLOBS (N*C above BPC_MAX_TERM_LINES: no per-term lines)."""
    kinks = 20_000  # at most one per score (hinge) or C - 1 per example: all are counted
    return (
        1_000_000
        + 2 * 2000 * 10 * 10 // 10  # X times W and the direction
        + 25 * 20_000
        + loss_work
        # each kink sorted, merged and made a dict; each listed one writes about five numbers
        + (2_000 * kinks + 1_000 * (2 * 51 + 5 * kinks) if exact else 1_000 * 2 * 51)
    )


@pytest.mark.parametrize(
    ("loss", "variant", "expected"),
    [
        ("svm", "ww", line_1d(True, 20_000 * 30)),
        ("svm", "ova", line_1d(True, 20_000 * 30)),
        ("svm", "structured", line_1d(True, 20_000 * 10 * 20)),
        # 51 samples of a log-sum-exp per score, and the gradient at W for the slope
        ("softmax", "ww", line_1d(False, 51 * 20_000 * 24 + 2 * 2000 * 10 * 10 // 10)),
    ],
)
def test_each_loss_1d_slice_work_counted_by_hand(loss: str, variant: str, expected: int) -> None:
    body = {"dataset": BLOBS, "dims": 1, "steps": 51, "loss": loss, "variant": variant}
    assert predicted_work(body) == pytest.approx(expected, rel=1e-12)


def test_per_term_lines_are_counted_only_for_a_loss_that_has_them() -> None:
    """toy-2d (9 examples, 3 classes: 27 scores) is small enough for per-term lines: each
    example's L_i at every step for every loss, each hinge term's values only for a hinge loss."""
    bodies = {
        variant: {"dataset": {"name": "toy-2d"}, "dims": 1, "steps": 101, "variant": variant}
        for variant in ("ww", "structured")
    }
    ww, structured = (predicted_work(body) for body in bodies.values())
    # the same but for the 27 hinge lines of 101 values, and the envelope's C = 3 per score
    assert ww - structured == pytest.approx(1_000 * 101 * 27 + 27 * 30 - 27 * 3 * 20, rel=1e-12)


def test_the_pages_requests_counted_by_hand() -> None:
    # cs231n-1d: N = 3, D = 1, C = 3, so 9 scores, few enough for per-term lines
    one_d = (
        1_000_000
        + 2 * 3 * 1 * 3 // 10
        + 25 * 9
        + 9 * 30  # the exact line's hinges
        + 2_000 * 9  # up to 9 kinks
        + 201 * 9 * 25  # each term's values at every step
        + 1_000 * (2 * 201 + 5 * 9 + 201 * (9 + 3))  # alphas, losses, kinks, term and L_i lines
    )
    assert predicted_work(PAGE_1D) == pytest.approx(one_d, rel=1e-12)
    # cifar-shaped, N = 1000: D = 3073 and C = 10 from the dataset, not the request
    two_d = (
        1_000_000
        + 3 * 1000 * 3073 * 10 // 10
        + 25 * 10_000
        + 20 * 101 * 101
        + 17 * 50_000  # 101 rows in chunks of 131,072 // (2 * 10,000) = 6
        + 101 * 10_000 * 30
        + 10 * 101 * 101
        + 1_000 * (101 * 101 + 2 * 101)
    )
    assert predicted_work(PAGE_2D) == pytest.approx(two_d, rel=1e-12)


def test_term_lines_are_counted_up_to_their_limit_and_the_memory_by_hand() -> None:
    # toy-2d: N = 9, D = 3 (with the bias column), C = 3, so 27 scores, at 101 steps
    sizes, steps = Sizes(9, 3, 3), 101
    listed = cost.slice_1d_cost(sizes, steps, "svm", Limits(max_term_lines=27))
    left_out = cost.slice_1d_cost(sizes, steps, "svm", Limits(max_term_lines=26))
    # each example's L_i and each of the 27 hinge terms' values at every step, and their work
    assert listed.answer_bytes - left_out.answer_bytes == cost.B_NUMBER * steps * (9 + 27)
    assert listed.work - left_out.work == (
        steps * 27 * cost.W_POINT + cost.W_NUMBER * steps * (9 + 27)
    )
    # held at once: X (N x D), W and the direction (C x D each), and 8 arrays of N x C for
    # each of up to 4 classes
    numbers = 2 * steps + 5 * 27  # the curve, and up to 27 kinks listed
    arrays = 9 * 3 + 2 * 3 * 3 + 8 * 27 * 3
    assert left_out.memory_bytes == cost._cost(numbers, arrays, 0).memory_bytes
    wide = cost.slice_1d_cost(Sizes(2, 7, 6), steps, "svm", Limits(max_term_lines=0))
    assert (
        wide.memory_bytes
        == cost._cost(2 * steps + 5 * 12, 2 * 7 + 2 * 6 * 7 + 8 * 12 * 4, 0).memory_bytes
    )  # min(C, 4): 6 classes count as 4


# ---------------------------------------------------------------- the work limit and the budget


def test_max_work_at_n_and_n_plus_one_is_checked_by_the_route(api: TestClient) -> None:
    """The route refuses on the real sizes, before the pool: on the sizes the request states
    (D = 1 and C = 1 for cifar-shaped) the work would have been about 15 times less."""
    body = {"dataset": {"name": "cifar-shaped", "n": 50}, "dims": 2, "steps": 11}
    request = SliceRequest.model_validate(body)
    at = cost.slice_2d_cost(Sizes(50, 3073, 10), 11, "svm", "ww").work
    assert precheck(request, Limits().but(max_work=at)) == at / UNITS_PER_SECOND
    with pytest.raises(LimitError, match="BPC_MAX_WORK"):
        precheck(request, Limits().but(max_work=at - 1))
    with overridden_settings(max_work=at):
        assert api.post(SLICE, json=body).status_code == 200
    with overridden_settings(max_work=at - 1):
        response = api.post(SLICE, json=body)
    assert response.status_code == 413, response.text[:300]
    [detail] = response.json()["detail"]
    assert detail["setting"] == "max_work" and detail["got"] == at and detail["limit"] == at - 1
    assert "BPC_MAX_WORK" in detail["msg"]


def test_the_pages_requests_are_admitted_and_fit_a_students_budget(api: TestClient) -> None:
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    burst = defaults["compute_burst_seconds_per_client"]
    per_minute = defaults["compute_seconds_per_client_per_minute"]
    assert (burst, per_minute) == (1.5, 6.0)
    one_d = precheck(SliceRequest.model_validate(PAGE_1D), Limits())
    two_d = precheck(SliceRequest.model_validate(PAGE_2D), Limits())
    # one of each at once, and a student slicing every 3 s for a minute (20 of each)
    assert one_d + two_d <= burst
    assert 20 * (one_d + two_d) <= per_minute
    for body in (PAGE_1D, PAGE_2D):
        assert api.post(SLICE, json=body).status_code == 200


def test_a_chosen_w_and_direction_put_every_structured_kink_in_the_range() -> None:
    """Why a 1-D structured slice is charged for C - 1 kinks per example although random data
    put about 2.7 there: with y = 0, delta = 0, x_i = [1, e_i], W_j = [-t_j^2, 2 t_j] and the
    direction D_j = [2 t_j, 0], example i's C lines s_j - s_0 are the tangents of (a + e_i)^2 at
    the nine points t_j (t_0 = 0 for the true class), so its envelope switches at every
    midpoint (t_k + t_k+1)/2 - e_i: C - 1 = 8 kinks each, all inside [-1, 1], none shared."""
    n = 200
    t = [0.0, -0.8, -0.6, -0.4, -0.2, 0.2, 0.4, 0.6, 0.8]  # class j's tangent point
    body = {
        "dataset": {"X": [[1.0, 0.05 * i / n] for i in range(n)], "y": [0] * n},
        "W": [[-tj * tj, 2 * tj] for tj in t],
        "direction": [[2 * tj, 0.0] for tj in t],
        "variant": "structured",
        "delta": 0.0,
        "dims": 1,
        "steps": 11,
        "range": [-1.0, 1.0],
    }
    request = SliceRequest.model_validate(body)
    answer = compute_slice(request, Limits())
    assert answer["kink_count"] == n * (len(t) - 1)
    # the prediction pays for every kink listed (made a dict, about five numbers written)
    assert request_sizes(request) == Sizes(n, 2, len(t))
    assert predicted_work(body) >= answer["kink_count"] * (2_000 + 5 * 1_000)


def test_descent_runs_are_predicted_in_the_optimizers_units() -> None:
    # toy-2d (N = 9, D = 3, C = 3): a run's work is steps × N × max(C, 10) × (D + 100), at
    # BPC_OPTIMIZE_WORK_UNITS_PER_SECOND (3e9); a slice in the plane of a path adds the grid's
    # and the plane's work at BPC_WORK_UNITS_PER_SECOND (5e8)
    from app.schemas.landscape import CompareRequest, OptimizeRequest

    toy = {"dataset": {"name": "toy-2d"}}
    run = 20 * 9 * 10 * 103  # 20 steps
    optimize = OptimizeRequest.model_validate({**toy, "steps": 20})
    assert precheck(optimize, Limits()) == pytest.approx(run / 3e9, rel=1e-12)
    compare = CompareRequest.model_validate({**toy, "steps": 20, "step_sizes": [0.1, 0.2, 0.3]})
    assert precheck(compare, Limits()) == pytest.approx(3 * run / 3e9, rel=1e-12)
    grid = {**toy, "dims": 2, "steps": 5}
    flat = precheck(SliceRequest.model_validate(grid), Limits())
    path = {"strategy": "gd", "steps": 20, "step_size": 0.1}
    in_plane = precheck(
        SliceRequest.model_validate({**grid, "plane": "path", "path": path}), Limits()
    )
    plane = cost.path_plane_cost(Sizes(9, 3, 3), 20)
    assert in_plane == pytest.approx(flat + plane.work / 5e8 + run / 3e9, rel=1e-12)


def test_a_path_plane_over_one_weight_is_refused_before_the_run() -> None:
    from app.core.errors import ProblemError

    one = {
        "dataset": {"X": [[1.0], [2.0]], "y": [0, 0]},
        "W": [[0.5]],
        "bias": False,
        "dims": 2,
        "plane": "path",
        "path": {"strategy": "gd", "steps": 3, "step_size": 0.1},
    }
    with pytest.raises(ProblemError) as error:
        precheck(SliceRequest.model_validate(one), Limits())
    (problem,) = error.value.problems
    assert problem.msg == "the plane of a path needs W with two weights or more"
    assert problem.loc == ("body", "dataset")


def test_the_loss_answers_cost_counted_by_hand() -> None:
    # N = 7, D = 3, C = 4: 28 scores, 12 weights. The answer holds dW and, when asked, W
    # (C × D each), the 7 L_i, and the margins, active flags and probabilities (N × C each)
    # while N × C is at most max_loss_matrix_cells; with the data, X (N × D) and y (N). The
    # work: X @ W.T and dW (2 N D C) and 25 per score. Held: X, W and 3 more C × D arrays, and
    # 6 N × C temporaries.
    sizes = Sizes(7, 3, 4)
    arrays, work = 7 * 3 + 4 * 12 + 6 * 28, 2 * 7 * 3 * 4 + 25 * 28
    listed = Limits(max_loss_matrix_cells=28)
    assert cost.loss_cost(sizes, False, listed) == cost._cost(2 * 12 + 7 + 3 * 28, arrays, work)
    assert cost.loss_cost(sizes, False, Limits(max_loss_matrix_cells=27)) == cost._cost(
        2 * 12 + 7, arrays, work
    )
    assert cost.loss_cost(sizes, False, listed, include_W=False) == cost._cost(
        12 + 7 + 3 * 28, arrays, work
    )
    assert cost.loss_cost(sizes, False, listed, include_data=True) == cost._cost(
        2 * 12 + 7 + 3 * 28 + 7 * 3 + 7, arrays, work
    )
    # the gradient check: 5 numbers per checked weight (its [c, d], analytic, numeric, error),
    # the numeric dW while every weight is checked, each weight nudged both ways (a loss over
    # N × C each), and its chunks of nudged scores (as /numerical-gradient)
    every = Limits(max_loss_matrix_cells=0, max_gradcheck_entries=12)
    nudged = 14 * 28 + 2 * 12 + 6 * 12 * 28
    assert cost.loss_cost(sizes, True, every) == cost._cost(
        2 * 12 + 7 + 5 * 12 + 12, arrays + nudged, work + 12 * 2 * 25 * 28
    )
    sample = Limits(max_loss_matrix_cells=0, max_gradcheck_entries=11)
    assert cost.loss_cost(sizes, True, sample) == cost._cost(
        2 * 12 + 7 + 5 * 11, arrays + 14 * 28 + 2 * 11 + 6 * 11 * 28, work + 11 * 2 * 25 * 28
    )


# ---------------------------------------------------------------- the route's sizes at their edges


def sizes_of_request(body: dict[str, Any]) -> Sizes:
    return request_sizes(LossRequest.model_validate(body))


def test_the_sizes_of_w_wider_than_x_of_one_row_of_no_rows_and_of_no_data() -> None:
    # W (2 x 5) wider than X (3 x 2): D is W's 5 columns (the job then refuses the mismatch),
    # with or without the bias column (2 + 1 = 3 < 5); C is W's 2 rows
    wide = {"dataset": {"X": [[1.0, 2.0]] * 3, "y": [0, 1, 0]}, "W": [[0.0] * 5] * 2}
    assert sizes_of_request(wide) == Sizes(3, 5, 2)
    assert sizes_of_request({**wide, "bias": True}) == Sizes(3, 5, 2)
    # one example is N = 1; its one label 0 is C = 1
    assert sizes_of_request({"dataset": {"X": [[1.0, 2.0]], "y": [0]}}) == Sizes(1, 2, 1)
    # no rows: N = 0, D = 0 (plus the bias column) and no labels, each counted as at least 1
    empty: dict[str, Any] = {"dataset": {"X": [], "y": []}}
    assert sizes_of_request(empty) == Sizes(1, 1, 1)
    assert sizes_of_request({**empty, "bias": True}) == Sizes(1, 0 + 1, 1)
    # no data at all (the job's 422): the request's n and d, else 1 each
    assert sizes_of_request({"dataset": {}}) == Sizes(1, 1, 1)
    assert sizes_of_request({"dataset": {"n": 6}}) == Sizes(6, 1, 1)
    assert sizes_of_request({"dataset": {"d": 4}}) == Sizes(1, 4, 1)


def only_problem(error: pytest.ExceptionInfo[ProblemError]) -> dict[str, Any]:
    (problem,) = error.value.problems
    return {"msg": problem.msg, "loc": problem.loc, **problem.extra}


def refusal(request: Any, limits: Limits) -> dict[str, Any]:
    with pytest.raises(LimitError) as error:
        precheck(request, limits)
    return only_problem(error)


@pytest.mark.parametrize("bias", [False, True])
def test_the_data_size_is_checked_before_the_bias_column_at_n_and_n_plus_one(bias: bool) -> None:
    # cs231n-1d: N = 3 examples of D = 1 feature, so N*D = 3 whether or not the job then
    # appends the bias column (D = 2 in the request's sizes)
    request = SliceRequest.model_validate({**PAGE_1D, "bias": bias})
    assert request_sizes(request) == Sizes(3, 1 + bias, 3)
    precheck(request, Limits().but(max_landscape_nd=3))
    assert refusal(request, Limits().but(max_landscape_nd=2)) == {
        "msg": "N*D is 3, over the limit of 2 (setting BPC_MAX_LANDSCAPE_ND)",
        "loc": ("body", "dataset"),
        "limit": 2,
        "got": 3,
        "setting": "max_landscape_nd",
    }


# ---------------------------------------------------------------- refusals at N and N + 1


def over(what: str, got: int, limit: int, setting: str, loc: tuple[str, ...]) -> dict[str, Any]:
    return {
        "msg": f"{what} is {got}, over the limit of {limit} (setting BPC_{setting.upper()})",
        "loc": loc,
        "limit": limit,
        "got": got,
        "setting": setting,
    }


# Two examples of one feature, two classes (bias false): N = 2, D = 1, C = 2, so 4 scores and
# 2 weights, the fewest a path's plane takes. A 5 x 5 grid in the plane of a 3-step run.
TWO_WEIGHTS = {
    "dataset": {"X": [[1.0], [2.0]], "y": [0, 1]},
    "dims": 2,
    "steps": 5,
    "plane": "path",
    "path": {"strategy": "gd", "steps": 3, "step_size": 0.1},
}
# The 5 x 5 grid (slice_2d_cost, the SVM WW): 25 losses, 5 alphas and 5 betas
GRID_NUMBERS = 25 + 2 * 5
GRID_WORK = (
    1_000_000  # the job's fixed cost
    + 3 * 2 * 1 * 2 // 10  # X times W, D1 and D2: 12 multiply-adds, 10 a unit
    + 25 * 4  # the loss at W, per score
    + 20 * 25  # the grid points' own arithmetic
    + 5 * 4 * 30  # each row's exact line: a hinge per score, 30 each
    + 1 * 50_000  # the 5 rows in one chunk (131,072 // (2 * 4) rows a chunk)
    + 10 * 25  # the kinks bucketed into the columns
    + 1_000 * GRID_NUMBERS  # the answer's numbers
)
# X; S0, S1, S2 (C x D each); 20 N x C temporaries; the grid; the row chunks (6 x 131,072)
GRID_ARRAYS = 2 * 1 + 3 * 2 * 1 + 20 * 4 + 25 + 6 * 131_072
GRID_ANSWER = 2_000 + 21 * GRID_NUMBERS
GRID_MEMORY = 500_000 + 8 * GRID_ARRAYS + 56 * GRID_NUMBERS + 2 * GRID_ANSWER
# The plane of the run (path_plane_cost): its 3 + 1 = 4 points of the 2 weights; the answer
# has the run's loss and (a, b, off-plane) per point, and more (6 numbers a point)
PLANE_NUMBERS = 6 * 4
PLANE_WORK = 20 * 4 * 2 * min(4 + 2, 2) + 10 * 4 * 2 + 1_000 * PLANE_NUMBERS  # SVD, projection
# the kept W's, their stacked copy, the SVD's workspace and factors; X; 6 N x C temporaries
PLANE_ARRAYS = 4 * 4 * 2 + 2 * 1 + 6 * 4
PLANE_ANSWER = 2_000 + 21 * PLANE_NUMBERS
PLANE_MEMORY = 500_000 + 8 * PLANE_ARRAYS + 56 * PLANE_NUMBERS + 2 * PLANE_ANSWER
# The run itself (check_optimizer): 6 numbers a point, no work beyond them
RUN_WORK = 1_000 * 6 * 4


def test_a_path_planes_cost_counted_by_hand_and_refused_at_n_and_n_plus_one() -> None:
    request = SliceRequest.model_validate(TWO_WEIGHTS)
    assert request_sizes(request) == Sizes(2, 1, 2)
    assert (GRID_WORK, GRID_ANSWER, GRID_MEMORY) == (1_086_451, 2_735, 6_799_790)
    assert (PLANE_WORK, PLANE_ANSWER, PLANE_MEMORY) == (24_400, 2_504, 506_816)
    # two weights are enough for a plane; the run's steps × N × max(C, 10) × (D + 100) are
    # counted in the optimizer's units (3e9 a second), the grid and the plane in 5e8
    run = 3 * 2 * 10 * (1 + 100)
    assert precheck(request, Limits()) == pytest.approx(
        (GRID_WORK + PLANE_WORK) / UNITS_PER_SECOND + run / 3e9, rel=1e-12
    )
    # the plane alone, after the run (24,000 of work, under the limit) and before the grid
    path_steps = ("body", "path", "steps")
    assert RUN_WORK <= PLANE_WORK - 1
    assert refusal(request, Limits().but(max_work=PLANE_WORK - 1)) == over(
        "the predicted work (element operations)", PLANE_WORK, PLANE_WORK - 1, "max_work",
        path_steps,
    )  # fmt: skip
    # then the grid and the plane together, at N and N + 1 of each budget
    steps = ("body", "steps")
    for what, setting, total in (
        ("the predicted work (element operations)", "max_work", GRID_WORK + PLANE_WORK),
        ("the predicted answer size in bytes", "max_answer_bytes", GRID_ANSWER + PLANE_ANSWER),
        ("the predicted peak memory in bytes", "max_memory_bytes", GRID_MEMORY + PLANE_MEMORY),
    ):
        precheck(request, Limits().but(**{setting: total}))
        assert refusal(request, Limits().but(**{setting: total - 1})) == over(
            what, total, total - 1, setting, steps
        )
    assert refusal(request, Limits().but(max_work=PLANE_WORK)) == over(
        "the predicted work (element operations)", GRID_WORK + PLANE_WORK, PLANE_WORK,
        "max_work", steps,
    )  # fmt: skip


def test_a_descent_runs_answer_is_charged_its_numbers_at_n_and_n_plus_one() -> None:
    # toy-2d, 20 steps: a run answers 6 numbers a point (21 points), 1,000 of work each; a
    # comparison 3 a point per run (3 runs: gd at three step sizes)
    toy = {"dataset": {"name": "toy-2d"}, "steps": 20}
    optimize = OptimizeRequest.model_validate(toy)
    compare = CompareRequest.model_validate({**toy, "step_sizes": [0.1, 0.2, 0.3]})
    for request, numbers in ((optimize, 6 * 21), (compare, 3 * 3 * 21)):
        precheck(request, Limits().but(max_work=1_000 * numbers))
        assert refusal(request, Limits().but(max_work=1_000 * numbers - 1)) == over(
            "the predicted work (element operations)", 1_000 * numbers, 1_000 * numbers - 1,
            "max_work", ("body", "steps"),
        )  # fmt: skip


# cs231n-1d: N = 3, D = 1, C = 3, so 9 scores and 3 weights. /loss answers dW (3), W when asked
# (3), the 3 L_i, the margins, active flags and probabilities (9 each), and when asked X (3) and
# y (3); the work is X @ W.T and dW (2 N D C = 18) and 25 a score, and 1,000 a number answered.
LOSS_WORK = 2 * 3 * 1 * 3 + 25 * 9


def assert_priced_as_a_loss(request: Any, numbers: int) -> None:
    """/loss's fixed work plus 1,000 per answered number; 2,000 bytes plus 21 per number, the
    answer accepted at exactly that size and refused one byte under it."""
    work = LOSS_WORK + 1_000 * numbers
    assert precheck(request, Limits()) == pytest.approx(work / UNITS_PER_SECOND, rel=1e-12)
    answer = 2_000 + 21 * numbers
    precheck(request, Limits().but(max_answer_bytes=answer))
    assert refusal(request, Limits().but(max_answer_bytes=answer - 1)) == over(
        "the predicted answer size in bytes", answer, answer - 1, "max_answer_bytes",
        ("body", "dataset"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "numbers"),
    [
        ({}, 3 + 3 + 3 * 9),
        ({"include_W": True}, 2 * 3 + 3 + 3 * 9),
        ({"include_data": True}, 3 + 3 + 3 * 9 + 3 + 3),
        ({"include_W": True, "include_data": True}, 2 * 3 + 3 + 3 * 9 + 3 + 3),
    ],
)
def test_the_loss_routes_prediction_counts_w_and_the_data_when_asked(
    fields: dict[str, bool], numbers: int
) -> None:
    request = LossRequest.model_validate({"dataset": {"name": "cs231n-1d"}, **fields})
    assert_priced_as_a_loss(request, numbers)


def test_the_circuit_routes_prediction_is_the_loss_with_w_and_no_gradient_check() -> None:
    # /circuit carries W and dW like /loss: 2 × 3 weights, the 3 L_i and 3 × 9 matrix cells
    request = CircuitRequest.model_validate({"dataset": {"name": "cs231n-1d"}})
    numbers = 2 * 3 + 3 + 3 * 9
    assert_priced_as_a_loss(request, numbers)


def test_an_exact_2d_grid_over_many_scores_takes_a_chunk_per_row() -> None:
    # N = 20,000, D = 2, C = 2: 40,000 scores, two values each, so 131,072 // 80,000 = 1 row
    # fits a chunk of CHUNK_VALUES and the 3 rows take 3 chunks (of 50,000 work each)
    numbers = 3 * 3 + 2 * 3
    work = (
        1_000_000
        + 3 * 20_000 * 2 * 2 // 10
        + 25 * 40_000
        + 20 * 9
        + 3 * 40_000 * 30  # each row's exact line, a hinge per score
        + 3 * 50_000  # 3 chunks
        + 10 * 9
    )
    arrays = 20_000 * 2 + 3 * 2 * 2 + 20 * 40_000 + 9 + 6 * 131_072
    assert cost.slice_2d_cost(Sizes(20_000, 2, 2), 3, "svm", "ww") == cost._cost(
        numbers, arrays, work
    )
    # N = 40,000: 80,000 scores, 131,072 // 160,000 = 0 rows a chunk, still one row a chunk
    wider = cost.slice_2d_cost(Sizes(40_000, 2, 2), 3, "svm", "ww")
    assert wider.work == (
        1_000_000
        + 3 * 40_000 * 2 * 2 // 10
        + 25 * 80_000
        + 20 * 9
        + 3 * 80_000 * 30
        + 3 * 50_000
        + 10 * 9
        + 1_000 * numbers
    )
