"""Every built-in preset's expected output (and gradients), derived here by hand, not by running it.

Decimal inputs are taken exactly (fractions.Fraction of their decimal text), so each "hand"
value is the true real-number result. The engine computes in float64, so it may differ by the
rounding of its sums: at most n·u·Σ|terms| for n terms (u = 2^-53, the unit roundoff), which
is the tolerance used for the tensor presets; scalar presets are held to a few ulps.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from app.engine import evaluate_result
from app.engine.result import EvaluateResult
from app.presets import BUILT_IN
from tests.engine_result import scalar_output

U = 2.0**-53


def exact(value: Any) -> Any:
    """Nested lists of numbers as exact fractions of their decimal text (0.1 is 1/10)."""
    if isinstance(value, list):
        return [exact(v) for v in value]
    return Fraction(str(value))


def preset(preset_id: str) -> dict[str, Any]:
    return next(p for p in BUILT_IN if p["id"] == preset_id)


def run(preset_id: str) -> EvaluateResult:
    p = preset(preset_id)
    return evaluate_result(p["expression"], p["inputs"])


def assert_ulps(got: float, want: float, ulps: int = 4) -> None:
    assert abs(got - want) <= ulps * math.ulp(want), (got, want, (got - want) / math.ulp(want))


def assert_sum_close(got: float, want: Fraction, terms: list[Fraction]) -> None:
    """got is a float64 sum of `terms` (in some order): within n·u·Σ|terms| of the exact sum."""
    bound = len(terms) * U * float(sum(abs(t) for t in terms))
    assert abs(Fraction(got) - want) <= Fraction(bound), (got, float(want), bound)


def matmul_terms(A: list[list[Fraction]], B: list[list[Fraction]]) -> list[list[list[Fraction]]]:
    """The products A[i][k]·B[k][j] that make up each entry of A @ B."""
    return [
        [[A[i][k] * B[k][j] for k in range(len(B))] for j in range(len(B[0]))]
        for i in range(len(A))
    ]


def transpose(A: list[list[Fraction]]) -> list[list[Fraction]]:
    return [list(row) for row in zip(*A, strict=True)]


def assert_matrix(got: list[list[float]], terms: list[list[list[Fraction]]]) -> None:
    assert len(got) == len(terms) and all(len(g) == len(t) for g, t in zip(got, terms, strict=True))
    for got_row, term_row in zip(got, terms, strict=True):
        for value, parts in zip(got_row, term_row, strict=True):
            assert_sum_close(value, sum(parts, Fraction(0)), parts)


# ---------------------------------------------------------------- scalar presets


def test_add_mul() -> None:
    # (x + y) * z at x = -2, y = 5, z = -4: (−2 + 5)·(−4) = −12; dx = dy = z = −4, dz = x + y = 3
    result = run("add_mul")
    assert scalar_output(result) == -12.0
    assert result.gradients() == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert preset("add_mul")["expected"] == {
        "output": -12.0,
        "grads": {"x": -4.0, "y": -4.0, "z": 3.0},
    }


def test_max_route() -> None:
    # 2·(x·y + max(z, w)) at x = 3, y = −4, z = 2, w = −1: 2·(−12 + 2) = −20;
    # dx = 2y = −8, dy = 2x = 6, dz = 2 (z wins), dw = 0
    want = {"output": -20.0, "grads": {"x": -8.0, "y": 6.0, "z": 2.0, "w": 0.0}}
    result = run("max_route")
    assert scalar_output(result) == want["output"] and result.gradients() == want["grads"]
    assert preset("max_route")["expected"] == want


def _sigmoid_neuron() -> tuple[float, dict[str, float]]:
    # dot = w0·x0 + w1·x1 + w2 = 2·(−1) + (−3)·(−2) + (−3) = 1; f = σ(1) = 1/(1 + e^−1);
    # df/ddot = f(1 − f); dw0 = x0·f(1−f), dx0 = w0·f(1−f), dw1 = x1·f(1−f), dx1 = w1·f(1−f),
    # dw2 = f(1−f)
    f = 1 / (1 + math.exp(-1))
    g = f * (1 - f)
    return f, {"w0": -1 * g, "x0": 2 * g, "w1": -2 * g, "x1": -3 * g, "w2": g}


@pytest.mark.parametrize("preset_id", ["sigmoid_neuron", "sigmoid_staged"])
def test_sigmoid_neuron(preset_id: str, reference: dict[str, Any]) -> None:
    f, grads = _sigmoid_neuron()
    result = run(preset_id)
    expected = preset(preset_id)["expected"]
    for got in (
        scalar_output(result),
        expected["output"],
        reference["sigmoid_neuron"]["output"],
    ):
        assert_ulps(got, f)
    for name, want in grads.items():
        assert_ulps(result.gradients()[name], want)
        assert_ulps(expected["grads"][name], want)


def _staged() -> tuple[float, dict[str, float]]:
    # f = num / den with num = x + σ(y), den = σ(x) + (x + y)², at x = 3, y = −4:
    # df/dx = (1·den − num·(σ(x)(1 − σ(x)) + 2(x + y))) / den²
    # df/dy = (σ(y)(1 − σ(y))·den − num·2(x + y)) / den²
    x, y = 3.0, -4.0
    sx, sy = 1 / (1 + math.exp(-x)), 1 / (1 + math.exp(-y))
    num, den = x + sy, sx + (x + y) ** 2
    dx = (den - num * (sx * (1 - sx) + 2 * (x + y))) / den**2
    dy = (sy * (1 - sy) * den - num * 2 * (x + y)) / den**2
    return num / den, {"x": dx, "y": dy}


@pytest.mark.parametrize("preset_id", ["staged", "staged_compact"])
def test_staged(preset_id: str, reference: dict[str, Any]) -> None:
    f, grads = _staged()
    result = run(preset_id)
    expected = preset(preset_id)["expected"]
    for got in (scalar_output(result), expected["output"], reference["staged"]["output"]):
        assert_ulps(got, f, ulps=8)
    for name, want in grads.items():
        assert_ulps(result.gradients()[name], want, ulps=8)
        assert_ulps(expected["grads"][name], want, ulps=8)


def test_scale_sensitivity() -> None:
    # w·x at w = 0.01, x = 1000: 10 (0.01·1000 rounds to exactly 10.0); dw = x, dx = w
    result = run("scale_sensitivity")
    assert_ulps(scalar_output(result), 10.0, ulps=1)
    assert result.gradients() == {"w": 1000.0, "x": 0.01}
    assert preset("scale_sensitivity")["expected"]["grads"] == {"w": 1000.0, "x": 0.01}


def test_fork() -> None:
    # x·x·y + x·y + x at x = 2, y = −1: −4 − 2 + 2 = −4; dx = 2xy + y + 1 = −4 − 1 + 1 = −4,
    # dy = x² + x = 6
    want = {"output": -4.0, "grads": {"x": -4.0, "y": 6.0}}
    result = run("fork")
    assert scalar_output(result) == want["output"] and result.gradients() == want["grads"]
    assert preset("fork")["expected"] == want


def test_max_tie() -> None:
    # 3·max(z, w) at z = w = 1.5: 4.5; the tie splits the upstream 3 evenly: 1.5 each
    want = {"output": 4.5, "grads": {"z": 1.5, "w": 1.5}}
    result = run("max_tie")
    assert scalar_output(result) == want["output"] and result.gradients() == want["grads"]
    assert preset("max_tie")["expected"] == want


def test_relu_neuron() -> None:
    # h = relu(0.5·2 + (−1)·0.5 + 0.25) = relu(0.75) = 0.75, out = 2h − 1 = 0.5; h > 0 passes
    # dout/dh = 2: dw0 = 2·x0 = 4, dx0 = 2·w0 = 1, dw1 = 2·x1 = 1, dx1 = 2·w1 = −2, db = 2
    want = {"output": 0.5, "grads": {"w0": 4.0, "x0": 1.0, "w1": 1.0, "x1": -2.0, "b": 2.0}}
    result = run("relu_neuron")
    assert scalar_output(result) == want["output"] and result.gradients() == want["grads"]
    assert preset("relu_neuron")["expected"] == want


# ---------------------------------------------------------------- tensor presets


def test_matmul_shapes() -> None:
    """L = sum(D * dD), D = W @ X: L = Σ_ij Σ_k W_ik X_kj dD_ij, 150 products of 2-decimal
    numbers, so exactly a 6-decimal number: −1.689124. The stored −1.689124000000002 is that
    value after float64 rounding. dW = dD @ X.T, dX = W.T @ dD, d(dD) = W @ X."""
    p = preset("matmul_shapes")
    W, X, dD = (exact(p["inputs"][k]) for k in ("W", "X", "dD"))
    D_terms = matmul_terms(W, X)
    terms = [
        t * dD[i][j] for i, row in enumerate(D_terms) for j, parts in enumerate(row) for t in parts
    ]
    assert len(terms) == 5 * 3 * 10
    total = sum(terms, Fraction(0))
    assert total == Fraction("-1.689124")  # noqa: SIM300
    result = evaluate_result(p["expression"], p["inputs"])
    assert_sum_close(scalar_output(result), total, terms)
    assert_sum_close(p["expected"]["output"], total, terms)
    grads = result.gradients()
    assert_matrix(grads["W"], matmul_terms(dD, transpose(X)))  # (5,3) @ (3,10)
    assert_matrix(grads["X"], matmul_terms(transpose(W), dD))  # (10,5) @ (5,3)
    assert_matrix(grads["dD"], D_terms)  # D itself: dL/d(dD) = D


def test_two_layer_net() -> None:
    # z = W1 @ x + b1, x = (−0.33, −0.79, 0.45):
    #   z0 =  0.19·−0.33 + −0.52·−0.79 + −0.41·0.45 − 0.05 = −0.0627 + 0.4108 − 0.1845 − 0.05 =  0.1136
    #   z1 = −2.44·−0.33 +  1.8·−0.79  +  1.14·0.45 + 0.27 =  0.8052 − 1.422  + 0.513  + 0.27 =  0.1662
    #   z2 = −0.33·−0.33 +  0.77·−0.79 +  0.28·0.45 − 0.3  =  0.1089 − 0.6083 + 0.126  − 0.3  = −0.6734
    #   z3 = −0.55·−0.33 +  0.98·−0.79 + −0.31·0.45 + 0.06 =  0.1815 − 0.7742 − 0.1395 + 0.06 = −0.6722
    # h = relu(z) = (0.1136, 0.1662, 0, 0): units 2 and 3 are dead.
    # s = W2 @ h + b2:
    #   s0 = −0.89·0.1136 +  0.84·0.1662 − 0.82 = −0.101104 + 0.139608 − 0.82 = −0.781496
    #   s1 =  0.41·0.1136 + −1.01·0.1662 − 0.86 =  0.046576 − 0.167862 − 0.86 = −0.981286
    # L = s0 + s1 = −1.762782
    # Backward: ds = (1, 1); db2 = (1, 1); dW2 = outer(ds, h), both rows h;
    #   dh = W2.T @ ds = (−0.89 + 0.41, 0.84 − 1.01, 0.19 + 0.78, 0.33 + 2.06) = (−0.48, −0.17, 0.97, 2.39)
    #   dz = dh where z > 0, else 0 = (−0.48, −0.17, 0, 0) = db1; dW1 = outer(dz, x)
    #   dx = W1.T @ dz = (0.19·−0.48 + −2.44·−0.17, −0.52·−0.48 + 1.8·−0.17, −0.41·−0.48 + 1.14·−0.17)
    #      = (−0.0912 + 0.4148, 0.2496 − 0.306, 0.1968 − 0.1938) = (0.3236, −0.0564, 0.003)
    p = preset("two_layer_net")
    x = [-0.33, -0.79, 0.45]
    h = [0.1136, 0.1662, 0.0, 0.0]
    dz = [-0.48, -0.17, 0.0, 0.0]
    want = {
        "b2": [1.0, 1.0],
        "W2": [h, h],
        "b1": dz,
        "W1": [[d * xi for xi in x] for d in dz],
        "x": [0.3236, -0.0564, 0.003],
    }
    result = evaluate_result(p["expression"], p["inputs"])
    # few terms of size below 3 each: a few ulps of 1 bounds the rounding (about 1e-15)
    assert scalar_output(result) == pytest.approx(-1.762782, rel=0, abs=8 * math.ulp(2.0))
    assert p["expected"]["output"] == pytest.approx(-1.762782, rel=0, abs=8 * math.ulp(2.0))
    for name, value in want.items():
        got = np.asarray(result.gradients()[name])
        np.testing.assert_allclose(got, value, rtol=0, atol=8 * math.ulp(2.0), err_msg=name)


def test_svm_one_example(reference: dict[str, Any]) -> None:
    # s = W @ x, x = (1, 2, 0.5, −1):
    #   s0 = 1.2·1 + 1.0·2 + 0·0.5 + 0·−1 = 3.2
    #   s1 = 0.1·1 + 2.0·2 + 2.0·0.5 + 0·−1 = 5.1
    #   s2 = −0.5·1 + −0.2·2 + 0·0.5 + 0.8·−1 = −1.7
    # L = Σ_j max(0, s_j − s_0 + 1) − 1 = max(0, 1) + max(0, 2.9) + max(0, −3.9) − 1 = 2.9
    # (the reference file's lecture case: scores (3.2, 5.1, −1.7), y = 0)
    # Backward: the active terms are j = 0 (always) and j = 1; each adds +1 to ds_j and −1 to
    # ds_0: ds = (1 − 2, 1, 0) = (−1, 1, 0); dW = outer(ds, x); dx = W.T @ ds = W[1] − W[0]
    #   = (0.1 − 1.2, 2.0 − 1.0, 2.0 − 0, 0 − 0) = (−1.1, 1, 2, 0); y is an index: 0
    case = reference["svm_scores"]["cases"][0]
    assert case["scores"] == [3.2, 5.1, -1.7] and case["y"] == 0
    assert_ulps(case["loss"], 2.9, ulps=2)
    p = preset("svm_one_example")
    result = evaluate_result(p["expression"], p["inputs"])
    assert_ulps(scalar_output(result), 2.9, ulps=4)
    assert_ulps(p["expected"]["output"], 2.9, ulps=4)
    x = [1.0, 2.0, 0.5, -1.0]
    ds = [-1.0, 1.0, 0.0]
    grads = result.gradients()
    assert grads["W"].tolist() == [[d * xi for xi in x] for d in ds]
    assert grads["x"] == pytest.approx([-1.1, 1.0, 2.0, 0.0], rel=0, abs=4 * math.ulp(2.0))
    assert grads["y"] == 0.0


HAND = {
    "add_mul": test_add_mul,
    "max_route": test_max_route,
    "sigmoid_neuron": test_sigmoid_neuron,
    "sigmoid_staged": test_sigmoid_neuron,
    "staged": test_staged,
    "staged_compact": test_staged,
    "scale_sensitivity": test_scale_sensitivity,
    "fork": test_fork,
    "max_tie": test_max_tie,
    "relu_neuron": test_relu_neuron,
    "matmul_shapes": test_matmul_shapes,
    "two_layer_net": test_two_layer_net,
    "svm_one_example": test_svm_one_example,
}


def test_every_preset_has_a_hand_derivation() -> None:
    assert {p["id"] for p in BUILT_IN} == set(HAND)
