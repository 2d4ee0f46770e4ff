"""Values and gradients at singular and extreme points match PyTorch's, as scalars and as tensors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.engine import evaluate_result
from tests.engine_result import output

_SHARED = (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "torch_singular_points.json"
)
_COPY = Path(__file__).resolve().parent / "data" / "torch_singular_points.json"
_CASES = json.loads((_SHARED if _SHARED.is_file() else _COPY).read_text())["cases"]


_NON_FINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


def number(want: float | str) -> float:
    """A reference number: the file writes non-finite ones as strings."""
    return _NON_FINITE[want] if isinstance(want, str) else want


def same(got: Any, want: float | str) -> bool:
    """The same non-finite value, the same sign of zero, else equal to a few units in the last
    place (sigmoid and 1/x² round differently in PyTorch's kernels and numpy's)."""
    got, want = float(got), number(want)
    if not math.isfinite(want) or not math.isfinite(got):
        return (math.isnan(got) and math.isnan(want)) or got == want
    if want == 0:
        return got == 0 and math.copysign(1.0, got) == math.copysign(1.0, want)
    return math.isclose(got, want, rel_tol=1e-14, abs_tol=0.0)


def _id(case: dict[str, Any]) -> str:
    return f"{case['expression']} at {case['inputs']}"


@pytest.mark.parametrize("case", _CASES, ids=[_id(c) for c in _CASES])
@pytest.mark.parametrize("as_tensor", [False, True], ids=["scalar", "tensor"])
def test_matches_pytorch_reference(case: dict[str, Any], as_tensor: bool) -> None:
    # the same cases as strict JSON on the wire: tests/test_engine_encode.py
    inputs = {k: [v] if as_tensor else v for k, v in case["inputs"].items()}
    result = evaluate_result(case["expression"], inputs)
    value = output(result)
    grads = result.gradients()
    if as_tensor:
        assert np.shape(value) == (1,)
        value = value[0]
        grads = {k: g[0] for k, g in grads.items()}
    assert same(value, case["value"]), (value, case["value"])
    for name, want in case["gradients"].items():
        assert same(grads[name], want), (name, grads[name], want)


def test_power_at_base_zero_follows_pytorch() -> None:
    # d/dx x**0 is 0 everywhere, including at 0 (not 0·0**-1 = NaN).
    assert evaluate_result("x ** 0", {"x": 0.0}).gradients()["x"] == 0.0
    # d/dy x**y at (0, 2): 0**y is 0 for every y > 0, so the slope in y is 0 (PyTorch), not 0·ln 0.
    assert evaluate_result("x ** y", {"x": 0.0, "y": 2.0}).gradients() == {"x": 0.0, "y": 0.0}


def test_a_zero_in_a_tensor_base_does_not_make_the_exponent_gradient_nan() -> None:
    # d/dp sum(v**p) = sum(v**p · ln v); the v = 0 entry contributes 0 (0**p is flat in p > 0).
    result = evaluate_result("sum(v ** p)", {"v": [0.0, 2.0, 3.0], "p": 2.0})
    grads = result.gradients()
    assert grads["p"] == pytest.approx(4 * math.log(2) + 9 * math.log(3), rel=1e-15)
    assert grads["v"].tolist() == [0.0, 4.0, 6.0]
    assert result.warnings == []


@pytest.mark.parametrize(
    ("expression", "inputs", "value", "grad"),
    [
        # log(-1) is NaN; abs'(NaN) is NaN, so the gradient is NaN on both paths, with a warning.
        ("abs(log(x))", {"x": -1.0}, "NaN", "NaN"),
        # -exp(1000) is -Infinity, and (-Infinity)**0.5 is sqrt(-Infinity) = NaN as in numpy.
        ("(-exp(x)) ** 0.5", {"x": 1000.0}, "NaN", "NaN"),
        ("sqrt(-exp(x))", {"x": 1000.0}, "NaN", "NaN"),
    ],
)
def test_scalar_and_tensor_paths_agree_at_nan_points(
    expression: str, inputs: dict[str, float], value: str, grad: str
) -> None:
    scalar = evaluate_result(expression, inputs)
    tensor = evaluate_result(expression, {k: [v] for k, v in inputs.items()})
    assert scalar.fast is True
    assert same(output(scalar), value) and np.shape(output(tensor)) == (1,)
    assert same(output(tensor)[0], value)
    assert same(scalar.gradients()["x"], grad) and same(tensor.gradients()["x"][0], grad)
    assert [w["value"] for w in scalar.warnings] == [w["value"] for w in tensor.warnings]
    assert "NaN" in [w["value"] for w in scalar.warnings]


@pytest.mark.parametrize(
    ("expression", "x", "want"),
    [
        ("x ** y", -0.0, -0.0),  # sqrt(-0) = -0; IEEE pow(-0, 0.5) = +0
        ("(-exp(x)) ** y", 1000.0, "NaN"),  # sqrt(-inf) = NaN; pow(-inf, 0.5) = +inf
        ("x ** y", 4.0, 2.0),
    ],
)
@pytest.mark.parametrize("as_tensor", [False, True], ids=["scalar", "tensor"])
def test_a_variable_exponent_of_one_half_is_sqrt_as_the_constant_one(
    expression: str, x: float, want: float | str, as_tensor: bool
) -> None:
    # README: x ** 0.5 is sqrt(x), so (-0) ** 0.5 is -0 and (-inf) ** 0.5 is NaN, where
    # PyTorch's pow gives +0 and +inf. The same with the exponent an input y = 0.5, as a
    # scalar and as a tensor.
    inputs = {"x": [x] if as_tensor else x, "y": [0.5] if as_tensor else 0.5}
    value = output(evaluate_result(expression, inputs))
    assert np.shape(value) == ((1,) if as_tensor else ())
    assert same(np.ravel(value)[0], want)
