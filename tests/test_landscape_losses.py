"""Landscape losses: the course's reference SVM numbers, hand cases per variant, gradients vs central differences."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.landscape.losses import (
    LossSpec,
    data_loss_of_scores,
    evaluate,
    kind_of,
    loss_of_weights,
)


def identity_problem(cases: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X = I, so example i's scores are column i of W: S = X W^T = the given scores."""
    X = np.eye(len(cases))
    W = np.array([case["scores"] for case in cases]).T
    y = np.array([case["y"] for case in cases])
    return X, W, y


def test_cat_car_frog_mean_is_5_27(reference: dict[str, Any]) -> None:
    cases = reference["svm_scores"]["cases"][:3]
    X, W, y = identity_problem(cases)
    result = evaluate(W, X, y, LossSpec(delta=1.0))
    for got, case in zip(result.per_example, cases, strict=True):
        assert got == pytest.approx(case["loss"], rel=1e-12, abs=1e-12)
    assert result.loss == pytest.approx(reference["svm_scores"]["mean_first_three"], rel=1e-12)
    assert result.loss == pytest.approx(5.266666666666667, rel=1e-12)


def test_delta_10_case_is_8(reference: dict[str, Any]) -> None:
    case = reference["svm_scores"]["cases"][3]
    S = np.array([case["scores"]], dtype=float)
    loss = data_loss_of_scores(S, np.array([case["y"]]), LossSpec(delta=case["delta"]))
    assert loss[0] == 8.0
    assert case["loss"] == 8.0


def test_ww_margins_and_gradient_by_hand(reference: dict[str, Any]) -> None:
    # scores (3.2, 5.1, -1.7), y = 0: margins 2.9 (active) and -3.9 (inactive)
    X, W, y = identity_problem(reference["svm_scores"]["cases"][:1])
    result = evaluate(W, X, y, LossSpec())
    assert result.margins[0].tolist() == pytest.approx([0.0, 2.9, -3.9])
    assert result.active[0].tolist() == [False, True, False]
    # dL/ds = (-1, +1, 0): the correct class is pushed up once per violated margin
    assert result.grad_W[:, 0].tolist() == [-1.0, 1.0, 0.0]


def test_one_vs_all_and_structured_by_hand() -> None:
    S = np.array([[3.2, 5.1, -1.7]])
    y = np.array([0])
    # OVA: max(0, 1 - 3.2) + max(0, 1 + 5.1) + max(0, 1 - 1.7) = 6.1
    assert data_loss_of_scores(S, y, LossSpec(variant="ova"))[0] == pytest.approx(6.1)
    # Crammer-Singer: only the worst margin counts: max(0, 5.1 - 3.2 + 1) = 2.9
    assert data_loss_of_scores(S, y, LossSpec(variant="structured"))[0] == pytest.approx(2.9)
    S2 = np.array([[2.2, 2.5, -3.1]])  # frog: margins 6.3 and 6.6
    assert data_loss_of_scores(S2, np.array([2]), LossSpec(variant="structured"))[0] == (
        pytest.approx(6.6)
    )


def test_softmax_by_hand() -> None:
    S = np.array([[1.0, 2.0, 3.0]])
    expected = np.log(np.exp(1) + np.exp(2) + np.exp(3)) - 1.0
    assert data_loss_of_scores(S, np.array([0]), LossSpec(loss="softmax"))[0] == pytest.approx(
        expected, rel=1e-14
    )


def test_regularization_gradient_is_two_reg_w() -> None:
    """The course demo's reg gradient is off by 4x; ours is d/dW reg*sum(W^2) = 2*reg*W."""
    X = np.array([[1.0, 0.0]])
    W = np.array([[10.0, 0.5], [-3.0, 2.0]])  # s = (10, -3), y = 0: no margin violated
    reg = 0.25
    result = evaluate(W, X, np.array([0]), LossSpec(reg=reg))
    assert result.data_loss == 0.0
    assert result.reg_loss == pytest.approx(reg * (100 + 0.25 + 9 + 4))
    np.testing.assert_allclose(result.grad_W, 2 * reg * W, rtol=0, atol=0)
    assert not np.allclose(result.grad_W, 0.5 * reg * W)  # the factor-4 mistake


def central_difference(W, X, y, spec, h=1e-6):  # type: ignore[no-untyped-def]
    grad = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        plus, minus = W.copy(), W.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (loss_of_weights(plus, X, y, spec) - loss_of_weights(minus, X, y, spec)) / (
            2 * h
        )
    return grad


def far_from_kinks(W, X, y, spec, gap=1e-3) -> bool:  # type: ignore[no-untyped-def]
    """No hinge argument near 0 and (structured) no near-tie for the worst margin."""
    if spec.loss == "softmax":
        return True
    margins = evaluate(W, X, y, spec).margins.copy()
    rows = np.arange(y.size)
    if spec.variant != "ova":
        margins[rows, y] = np.nan
    if np.nanmin(np.abs(margins)) < gap:
        return False
    if spec.variant == "structured" and margins.shape[1] > 2:
        top2 = np.sort(np.where(np.isnan(margins), -np.inf, margins), axis=1)[:, -2:]
        return bool(np.all(top2[:, 1] - top2[:, 0] > gap))
    return True


@settings(max_examples=120, deadline=None)
@given(
    n=st.integers(1, 6),
    d=st.integers(1, 4),
    c=st.integers(2, 5),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(["ww", "ova", "structured", "softmax"]),
    delta=st.sampled_from([0.0, 0.5, 1.0, 10.0]),
    reg=st.sampled_from([0.0, 0.1, 1.5]),
)
def test_every_gradient_matches_central_differences(n, d, c, seed, kind, delta, reg) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 2, size=(n, d))
    y = rng.integers(0, c, size=n)
    W = rng.normal(0, 1, size=(c, d))
    spec = (
        LossSpec("softmax", "ww", delta, reg)
        if kind == "softmax"
        else LossSpec("svm", kind, delta, reg)
    )
    assume(far_from_kinks(W, X, y, spec))
    analytic = evaluate(W, X, y, spec).grad_W
    numeric = central_difference(W, X, y, spec)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["ww", "ova", "structured", "softmax"]))
def test_loss_parts_add_up(seed, kind) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    X, y, W = rng.normal(size=(5, 3)), rng.integers(0, 4, 5), rng.normal(size=(4, 3))
    spec = LossSpec("softmax") if kind == "softmax" else LossSpec("svm", kind, 1.0, 0.3)
    result = evaluate(W, X, y, spec)
    assert result.loss == pytest.approx(result.data_loss + result.reg_loss, rel=1e-14)
    assert result.data_loss == pytest.approx(result.per_example.mean(), rel=1e-14)
    assert result.loss == pytest.approx(loss_of_weights(W, X, y, spec), rel=1e-14)


def test_softmax_shifts_each_row_by_its_own_largest_score() -> None:
    # rows 2,000 apart: a shift by one maximum for all rows would take exp(-2000) to 0 and the
    # second row's loss to inf; per row, each loss is log(1 + e^-1) (class 1 is correct and
    # scores 1 more than class 0)
    from app.landscape.loss_kind import LossSpec
    from app.landscape.losses import evaluate

    X = np.array([[1000.0, 1.0], [-1000.0, 1.0]])
    W = np.array([[1.0, 0.0], [1.0, 1.0]])  # scores [1000, 1001] and [-1000, -999]
    result = evaluate(W, X, np.array([1, 1]), LossSpec("softmax", "ww", 1.0, 0.0))
    expected = np.log1p(np.exp(-1.0))
    np.testing.assert_allclose(result.per_example, [expected, expected], rtol=1e-12)
    np.testing.assert_allclose(result.margins, [[-1.0, 0.0], [-1.0, 0.0]], atol=1e-9)
    np.testing.assert_array_equal(result.active, np.ones((2, 2)))


def test_softmax_per_example_shifts_each_row_by_its_own_largest_score() -> None:
    # the sampled path (slices, gradient checks): the same rows as above, as scores. Shifted by
    # S + max the first row's exp(2001) is inf; shifted by the one largest score (1001) the
    # second row's exp(-2000) is 0 and log 0 = -inf. Per row, each is log(1 + e^-1).
    S = np.array([[1000.0, 1001.0], [-1000.0, -999.0]])
    losses = data_loss_of_scores(S, np.array([1, 1]), LossSpec(loss="softmax"))
    np.testing.assert_allclose(losses, [np.log1p(np.exp(-1.0))] * 2, rtol=1e-12)
    # a stack of two score matrices, (2, N, C): each row of each still by its own maximum
    stacked = data_loss_of_scores(np.stack([S, S + 5.0]), np.array([1, 1]), LossSpec("softmax"))
    np.testing.assert_allclose(stacked, [[np.log1p(np.exp(-1.0))] * 2] * 2, rtol=1e-12)


def test_softmax_circuit_of_one_class_has_no_max() -> None:
    # one score: its maximum is the score itself, written without a max gate
    from app.landscape.softmax import circuit_lines

    literal = lambda x: np.format_float_positional(x, trim="-")  # noqa: E731
    assert circuit_lines(np.array([0, 0]), 1, LossSpec("softmax"), literal) == [
        "m0 = s0_0",
        "L0 = m0 + log(exp(s0_0 - m0)) - s0_0",
        "m1 = s1_0",
        "L1 = m1 + log(exp(s1_0 - m1)) - s1_0",
    ]
    assert circuit_lines(np.array([1]), 2, LossSpec("softmax"), literal) == [
        "m0 = max(s0_0, s0_1)",
        "L0 = m0 + log(exp(s0_0 - m0) + exp(s0_1 - m0)) - s0_1",
    ]


def test_a_structured_margin_of_exactly_0_is_inactive() -> None:
    # S = (0, -1), y = 0, delta 1: the only wrong class's margin is -1 - 0 + 1 = 0, at the kink:
    # the kink convention counts it inactive, so L = 0 with no gradient (as WW does)
    S = np.array([[0.0, -1.0]])
    y = np.array([0])
    for variant in ("structured", "ww"):
        spec = LossSpec("svm", variant, 1.0, 0.0)
        parts = kind_of(spec).parts(S, y, spec)
        assert parts.per_example.tolist() == [0.0]
        assert parts.active.tolist() == [[False, False]]
        assert parts.dscores.tolist() == [[0.0, 0.0]]
    # a margin just over 0 is active: dL/ds = +1 for the wrong class, -1 for the true one
    structured = LossSpec("svm", "structured", 1.0, 0.0)
    over = kind_of(structured).parts(np.array([[0.0, -0.75]]), y, structured)
    assert over.per_example.tolist() == [0.25]
    assert over.active.tolist() == [[False, True]]
    assert over.dscores.tolist() == [[-1.0, 1.0]]
