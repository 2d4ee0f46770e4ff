"""Values and gradients at singular and extreme points match PyTorch's, as scalars and as tensors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.engine import evaluate

_SHARED = (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "torch_singular_points.json"
)
_COPY = Path(__file__).resolve().parent / "data" / "torch_singular_points.json"
_CASES = json.loads((_SHARED if _SHARED.is_file() else _COPY).read_text())["cases"]


def strict(body: Any) -> Any:
    """Round-trips through a JSON encoder that refuses NaN and Infinity tokens."""
    return json.loads(json.dumps(body, allow_nan=False))


def same(got: Any, want: Any) -> bool:
    """The same non-finite string, the same sign of zero, else equal to a few units in the last
    place (sigmoid and 1/x² round differently in PyTorch's kernels and numpy's)."""
    if isinstance(got, str) or isinstance(want, str):
        return bool(got == want)
    if want == 0:
        return got == 0 and math.copysign(1.0, got) == math.copysign(1.0, want)
    return math.isclose(got, want, rel_tol=1e-14, abs_tol=0.0)


def _id(case: dict[str, Any]) -> str:
    return f"{case['expression']} at {case['inputs']}"


@pytest.mark.parametrize("case", _CASES, ids=[_id(c) for c in _CASES])
@pytest.mark.parametrize("as_tensor", [False, True], ids=["scalar", "tensor"])
def test_matches_pytorch_reference(case: dict[str, Any], as_tensor: bool) -> None:
    inputs = {k: [v] if as_tensor else v for k, v in case["inputs"].items()}
    report = strict(evaluate(case["expression"], inputs))
    value = report["output"]["value"]
    grads = report["gradients"]
    if as_tensor:
        value = value[0]
        grads = {k: g[0] for k, g in grads.items()}
    assert same(value, case["value"]), (value, case["value"])
    for name, want in case["gradients"].items():
        assert same(grads[name], want), (name, grads[name], want)


@pytest.mark.parametrize("x", [0.0, [0.0, 4.0]], ids=["scalar", "tensor"])
def test_sqrt_at_zero_is_a_strict_json_kink_over_http(client: TestClient, x: Any) -> None:
    expression = "sqrt(x)" if isinstance(x, float) else "sum(sqrt(x))"
    body = {"expression": expression, "inputs": {"x": x}}
    response = client.post("/api/v1/circuits/evaluate", json=body)
    assert response.status_code == 200
    body = json.loads(response.text, parse_constant=_reject)
    grad = body["gradients"]["x"]
    assert (grad if isinstance(x, float) else grad[0]) == "Infinity"
    kink = next(s["kink"] for s in body["backward"] if s["op"] == "sqrt")
    assert kink["kind"] == "sqrt0"
    assert kink["interval"] == [["Infinity", "Infinity"]]
    if not isinstance(x, float):  # d/dx √x at 4 is 1/(2·2)
        assert grad[1] == 0.25


def _reject(token: str) -> Any:
    raise AssertionError(f"non-JSON token {token} in the answer")


def test_power_at_base_zero_follows_pytorch() -> None:
    # d/dx x**0 is 0 everywhere, including at 0 (not 0·0**-1 = NaN).
    assert evaluate("x ** 0", {"x": 0.0})["gradients"]["x"] == 0.0
    # d/dy x**y at (0, 2): 0**y is 0 for every y > 0, so the slope in y is 0 (PyTorch), not 0·ln 0.
    assert evaluate("x ** y", {"x": 0.0, "y": 2.0})["gradients"] == {"x": 0.0, "y": 0.0}


def test_a_zero_in_a_tensor_base_does_not_make_the_exponent_gradient_nan() -> None:
    # d/dp sum(v**p) = sum(v**p · ln v); the v = 0 entry contributes 0 (0**p is flat in p > 0).
    report = evaluate("sum(v ** p)", {"v": [0.0, 2.0, 3.0], "p": 2.0})
    assert report["gradients"]["p"] == pytest.approx(4 * math.log(2) + 9 * math.log(3), rel=1e-15)
    assert report["gradients"]["v"] == [0.0, 4.0, 6.0]
    assert report["warnings"] == []


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
    scalar = strict(evaluate(expression, inputs))
    tensor = strict(evaluate(expression, {k: [v] for k, v in inputs.items()}))
    assert scalar["stats"]["fast_path"] is True
    assert scalar["output"]["value"] == value and tensor["output"]["value"] == [value]
    assert scalar["gradients"]["x"] == grad and tensor["gradients"]["x"] == [grad]
    assert [w["value"] for w in scalar["warnings"]] == [w["value"] for w in tensor["warnings"]]
    assert "NaN" in [w["value"] for w in scalar["warnings"]]
