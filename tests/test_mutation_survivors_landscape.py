"""Tests that kill mutmut survivors in app/landscape: every expected value is worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.config import Settings
from app.core.errors import LimitError
from app.core.limits import Limits
from app.landscape.data import builtin_dataset
from app.landscape.jobs import compute_optimizer_path, compute_slice
from app.landscape.kinks import exact_line, grid_rows
from app.landscape.losses import LossSpec
from app.schemas.landscape import OptimizeRequest, SliceRequest

# One example, two classes, true class 0, Weston-Watkins with delta = 1: the loss is the single
# hinge max(0, s1 - s0 + 1). Scores s = S0 + beta*S2 + a*S1, so with S0 = [0, -1] the margin at
# a = beta = 0 is -1 - 0 + 1 = 0: the kink sits exactly at a = 0.
ONE_HINGE = LossSpec("svm", "ww", 1.0, 0.0)
Y0 = np.array([0])


@pytest.mark.parametrize("variant", ["ww", "structured"])
def test_2d_row_with_a_kink_exactly_on_its_low_edge(variant: str) -> None:
    # S1 = [0, 1]: the margin is +a, so L(a) = max(0, a) on [0, 2] at 5 points (the structured
    # variant's max over the one other class is the same hinge, through its own code path).
    row = grid_rows(
        np.array([[0.0, -1.0]]), np.array([[0.0, 1.0]]), np.zeros((1, 2)), np.array([0.0]),
        Y0, LossSpec("svm", variant, 1.0, 0.0), 0.0, 2.0, 5,
    )  # fmt: skip
    np.testing.assert_allclose(row, [[0.0, 0.5, 1.0, 1.5, 2.0]], rtol=0, atol=1e-15)


def test_2d_row_with_a_falling_hinge_whose_kink_is_on_its_low_edge() -> None:
    # S1 = [0, -1]: L(a) = max(0, -a) is 0 everywhere right of its kink at the low edge a = 0,
    # so a kink counted on the wrong side would give the row a slope of -1.
    row = grid_rows(
        np.array([[0.0, -1.0]]), np.array([[0.0, -1.0]]), np.zeros((1, 2)), np.array([0.0]),
        Y0, ONE_HINGE, 0.0, 2.0, 5,
    )  # fmt: skip
    np.testing.assert_allclose(row, [[0.0, 0.0, 0.0, 0.0, 0.0]], rtol=0, atol=1e-15)


@pytest.mark.parametrize("variant", ["ww", "structured"])
def test_2d_row_with_a_kink_exactly_on_its_high_edge(variant: str) -> None:
    # S1 = [0, 1], S0 = [0, -3]: margin a - 2, L(a) = max(0, a - 2) on [0, 2] is 0 up to and
    # including the kink at the high edge. The structured variant (max over classes of the same
    # single margin, floored at 0) gives the same line through its own code path.
    row = grid_rows(
        np.array([[0.0, -3.0]]), np.array([[0.0, 1.0]]), np.zeros((1, 2)), np.array([0.0]),
        Y0, LossSpec("svm", variant, 1.0, 0.0), 0.0, 2.0, 5,
    )  # fmt: skip
    np.testing.assert_allclose(row, [[0.0, 0.0, 0.0, 0.0, 0.0]], rtol=0, atol=1e-15)


def test_2d_rows_move_the_kink_with_beta() -> None:
    # S2 = [0, 1] shifts the margin by beta: L(a, beta) = max(0, a + beta) on a in [-1, 1],
    # 3 points (-1, 0, 1); beta = 0 puts the kink on the middle point, beta = 1 on the low edge.
    rows = grid_rows(
        np.array([[0.0, -1.0]]), np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]]),
        np.array([0.0, 1.0, -1.0]), Y0, ONE_HINGE, -1.0, 1.0, 3,
    )  # fmt: skip
    expected = [[0.0, 0.0, 1.0], [0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]
    np.testing.assert_allclose(rows, expected, rtol=0, atol=1e-15)


def line_of_one_hinge(s0_other: float, lo: float, hi: float, quadratic: tuple[float, float, float]):  # type: ignore[no-untyped-def]
    """The single hinge max(0, s0_other + 1 + a) (scores [0, s0_other] + a*[0, 1], class 0) on
    [lo, hi], plus the quadratic q0 + q1*a + q2*a^2."""
    S0, S1 = np.array([[0.0, s0_other]]), np.array([[0.0, 1.0]])
    return exact_line(S0, S1, Y0, ONE_HINGE, lo, hi, quadratic)


def test_minimum_of_a_flat_start_without_regularization() -> None:
    # max(0, a) on [-2, 2] with no quadratic: the loss is 0 on all of [-2, 0], which is the
    # minimum; a flat segment has no stationary point to add (0/0 would give NaN).
    point, value = line_of_one_hinge(-1.0, -2.0, 2.0, (0.0, 0.0, 0.0)).minimum()
    assert value == 0.0 and -2.0 <= point <= 0.0


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        # 0.5*(a - 1)^2 = 0.5 - a + 0.5*a^2 alone (the hinge max(0, a - 4) stays 0 on these
        # ranges): inside [-2, 2] the minimum is the vertex (1, 0); on [2, 3] and [-3, 0] the
        # vertex is outside, so the minimum is the nearer end, where 0.5*(a - 1)^2 = 0.5.
        (-2.0, 2.0, (1.0, 0.0)),
        (2.0, 3.0, (2.0, 0.5)),
        (-3.0, 0.0, (0.0, 0.5)),
    ],
)
def test_minimum_of_a_quadratic_with_its_vertex_inside_or_outside_the_range(
    lo: float, hi: float, expected: tuple[float, float]
) -> None:
    point, value = line_of_one_hinge(-5.0, lo, hi, (0.5, -1.0, 0.5)).minimum()
    assert (point, value) == pytest.approx(expected, abs=1e-15)


# Survivors of the whole-package run (session 10): the cifar-shaped dataset's name, seed and
# the location its size error names.


def test_cifar_shaped_is_seeded_and_drawn_as_documented() -> None:
    data = builtin_dataset("cifar-shaped", 5, None, None, 7, Settings())
    assert (data.n, data.d, data.num_classes) == (5, 3073, 10)
    # The recipe, redone here: one generator seeded 7 draws the 5 × 3072 pixels uniformly in
    # [-1, 1], then the 5 labels in 0..9; the last column is the bias, 1.
    rng = np.random.default_rng(7)
    pixels = rng.uniform(-1.0, 1.0, size=(5, 3072))
    labels = rng.integers(0, 10, size=5)
    np.testing.assert_array_equal(data.X[:, :3072], pixels)
    np.testing.assert_array_equal(data.X[:, 3072], np.ones(5))
    np.testing.assert_array_equal(data.y, labels)


def test_cifar_shaped_size_limit_at_n_and_n_plus_one_names_the_dataset() -> None:
    settings = Settings(max_landscape_nd=5 * 3073)
    assert builtin_dataset("cifar-shaped", 5, None, None, 0, settings).n == 5
    with pytest.raises(LimitError) as error:
        builtin_dataset("cifar-shaped", 6, None, None, 0, settings)
    (problem,) = error.value.problems
    assert problem.as_detail() == {
        "type": "limit_exceeded",
        "loc": ["body", "dataset"],
        "msg": "N*D is 18438, over the limit of 15365 (setting BPC_MAX_LANDSCAPE_ND)",
        "limit": 15365,
        "got": 18438,
        "setting": "max_landscape_nd",
    }


# compute_optimizer_path must hand the request's normalize and optimizer_seed on (both survived
# mutation to None, since every test used normalize "none" and never compared two seeds).

W_1D = [[0.3], [-0.2], [0.6]]
GD = {"dataset": {"name": "cs231n-1d"}, "W": W_1D, "strategy": "gd", "steps": 4, "step_size": 0.5}


def test_an_optimizer_path_is_projected_on_the_normalized_plane_when_asked() -> None:
    plain = compute_optimizer_path(OptimizeRequest(**GD, direction_seed=5), Limits())["path"]
    scaled = compute_optimizer_path(
        OptimizeRequest(**GD, direction_seed=5, normalize="overall"), Limits()
    )["path"]
    # The directions, redone: one generator seeded 5 draws D1 then D2 (3 × 1 each); "overall"
    # scales each to ||W||. The path is the same, so its coordinates scale by ||D|| / ||W||.
    rng = np.random.default_rng(5)
    d1, d2 = rng.standard_normal((3, 1)), rng.standard_normal((3, 1))
    norm_w = float(np.linalg.norm(W_1D))
    assert plain["alphas"][0] == plain["betas"][0] == 0.0
    np.testing.assert_allclose(
        scaled["alphas"], np.array(plain["alphas"]) * np.linalg.norm(d1) / norm_w, rtol=1e-12
    )
    np.testing.assert_allclose(
        scaled["betas"], np.array(plain["betas"]) * np.linalg.norm(d2) / norm_w, rtol=1e-12
    )
    assert max(abs(a) for a in plain["alphas"]) > 0.01  # the path does move in the plane


@pytest.mark.parametrize("normalize", ["overall", "rows"])
def test_a_2d_slice_is_drawn_on_the_normalized_plane_when_asked(normalize: str) -> None:
    # compute_slice must hand the request's normalize on for a plane of random directions too.
    # The grid, redone: cs231n-1d's X and y, one generator seeded 5 draws D1 then D2 (3 × 1
    # each), scaled to ||W|| overall or row by row; the WW hinge loss (delta 1, no reg) at
    # W + a*D1 + b*D2 for a and b in -1, 0, 1, rows by b.
    body = {
        "dataset": {"name": "cs231n-1d"},
        "W": W_1D,
        "dims": 2,
        "steps": 3,
        "direction_seed": 5,
        "normalize": normalize,
    }
    answer = compute_slice(SliceRequest.model_validate(body), Limits())
    X, y, W = np.array([[1.0], [-2.0], [0.5]]), np.array([0, 1, 2]), np.array(W_1D)
    rng = np.random.default_rng(5)
    directions = []
    for D in (rng.standard_normal((3, 1)), rng.standard_normal((3, 1))):
        if normalize == "overall":
            directions.append(D * np.linalg.norm(W) / np.linalg.norm(D))
        else:
            directions.append(D * np.abs(W) / np.abs(D))  # one weight a row: |W_c| / |D_c|
    D1, D2 = directions

    def hinge_loss(at: np.ndarray) -> float:
        scores = X @ at.T
        margins = np.maximum(scores - scores[np.arange(3), y][:, None] + 1.0, 0.0)
        margins[np.arange(3), y] = 0.0
        return float(margins.sum() / 3)

    want = [[hinge_loss(W + a * D1 + b * D2) for a in (-1.0, 0.0, 1.0)] for b in (-1.0, 0.0, 1.0)]
    assert answer["alphas"] == answer["betas"] == [-1.0, 0.0, 1.0]
    np.testing.assert_allclose(answer["losses"], want, rtol=1e-12, atol=1e-12)


def test_an_optimizer_path_follows_its_own_seed() -> None:
    sgd = {**GD, "strategy": "sgd", "batch_size": 1, "steps": 8}

    def losses(seed: int) -> list[float]:
        request = OptimizeRequest(**sgd, optimizer_seed=seed)
        answer: list[float] = compute_optimizer_path(request, Limits())["losses"]
        return answer

    assert losses(4) == losses(4)
    assert losses(4) != losses(5)  # one example per step, drawn by the seed


def test_a_random_search_path_reports_every_candidate_it_tried() -> None:
    search = {**GD, "strategy": "random_search", "steps": 6, "optimizer_seed": 3}
    answer = compute_optimizer_path(OptimizeRequest(**search), Limits())
    losses, tried = answer["losses"], answer["tried_losses"]
    assert len(tried) == 6 and len(losses) == 7
    # each step keeps the candidate only if it is strictly better
    for k in range(6):
        assert losses[k + 1] == (tried[k] if tried[k] < losses[k] else losses[k])
    assert "tried_losses" not in compute_optimizer_path(OptimizeRequest(**GD), Limits())
