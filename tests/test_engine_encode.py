"""The evaluate answer's wire format: non-finite numbers as strings, strict JSON, a kink's interval.

Engine tests assert on the typed result; what only the wire shows (the strings "Infinity",
"-Infinity" and "NaN", and that every answer is strict JSON) is checked here, on
app/engine/encode.py's verbose answer and over HTTP. The compact answer: tests/test_compact_format.py.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.engine import evaluate_result, parse
from app.engine.encode import encode, verbose
from app.presets import BUILT_IN
from tests.test_singular_points import _CASES, _id


def _strict(answer: dict) -> dict:
    """The answer through strict JSON (json.dumps raises on a NaN or Infinity float)."""
    decoded: dict = json.loads(json.dumps(answer, allow_nan=False))
    return decoded


@pytest.mark.parametrize(
    ("expression", "inputs", "value", "first_gate"),
    [
        ("exp(x)", {"x": 1000}, "Infinity", "exp"),
        ("log(x)", {"x": 0}, "-Infinity", "log"),
        ("x / y", {"x": 0, "y": 0}, "NaN", "div"),
        ("log(x)", {"x": -1}, "NaN", "log"),
        ("sqrt(x)", {"x": -4}, "NaN", "sqrt"),
        ("x ** 0.5", {"x": -8}, "NaN", "pow"),
        ("x ** y", {"x": 10, "y": 400}, "Infinity", "pow_xy"),
        ("1 / x", {"x": 0}, "Infinity", "div"),
        ("x * 1e308 * 10", {"x": 1}, "Infinity", "mul"),
    ],
)
def test_non_finite_results_are_json_strings_with_a_warning(
    expression, inputs, value, first_gate
) -> None:
    report = _strict(verbose(evaluate_result(expression, inputs)))
    assert report["output"]["value"] == value
    forward = [w for w in report["warnings"] if w.get("pass") == "forward" and w["value"] == value]
    assert forward and forward[0]["msg"].startswith(f"the {first_gate} gate")


def test_zero_times_infinity_is_nan_strings_in_strict_json() -> None:
    report = _strict(verbose(evaluate_result("exp(x) * 0", {"x": 1000})))
    assert report["output"]["value"] == "NaN"
    assert report["gradients"]["x"] == "NaN"
    backward = [w for w in report["warnings"] if w.get("pass") == "backward"]
    assert {w["value"] for w in backward} >= {"NaN"}


def test_a_kink_interval_at_infinity_is_strings() -> None:
    report = _strict(verbose(evaluate_result("sqrt(x)", {"x": 0.0})))
    step = report["backward"][0]
    assert report["gradients"]["x"] == "Infinity"
    assert step["kink"]["interval"] == [["Infinity", "Infinity"]]
    assert step["kink"]["text"] == step["kink"]["convention"]
    assert step["kink"]["convention"] in step["rule"]


@pytest.mark.parametrize("case", _CASES, ids=[_id(c) for c in _CASES])
@pytest.mark.parametrize("as_tensor", [False, True], ids=["scalar", "tensor"])
def test_singular_points_are_strict_json_with_the_references_strings(
    case: dict[str, Any], as_tensor: bool
) -> None:
    # the values themselves against PyTorch's: tests/test_singular_points.py
    inputs = {k: [v] if as_tensor else v for k, v in case["inputs"].items()}
    result = evaluate_result(case["expression"], inputs)
    report = _strict(verbose(result))
    value, grads = report["output"]["value"], report["gradients"]
    if as_tensor:
        value, grads = value[0], {k: g[0] for k, g in grads.items()}
    # a non-finite number is the reference's own string, a finite one a JSON number
    for got, want in [(value, case["value"])] + [
        (grads[k], w) for k, w in case["gradients"].items()
    ]:
        assert got == want if isinstance(want, str) else isinstance(got, float)


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


def test_every_node_and_edge_carries_its_shape() -> None:
    # moved from tests/test_tensor_circuits.py: the shapes the wire states agree with its lists
    example = next(p for p in BUILT_IN if p["id"] == "two_layer_net")
    report = verbose(evaluate_result(example["expression"], example["inputs"]))
    for node in report["nodes"]:
        assert node["shape"] == list(np.shape(node["value"])) == list(np.shape(node["grad"]))
    nodes = {n["id"]: n for n in report["nodes"]}
    for edge in report["edges"]:
        assert edge["shape"] == nodes[edge["source"]]["shape"] == list(np.shape(edge["grad"]))


@pytest.mark.parametrize("fmt", ["verbose", "compact"])
def test_encode_echoes_the_expression_unless_told_not_to(fmt: str) -> None:
    result = evaluate_result("x * y", {"x": 3.0, "y": -4.0})
    assert encode(result, fmt)["expression"] == "x * y"
    assert "expression" not in encode(result, fmt, echo=False)
    assert encode(result, fmt, echo=False)["inputs"] == ["x", "y"]


def test_a_gates_parameters_are_its_numbers_as_written() -> None:
    # the exponent 2 of A ** 2, the axis 0 of sum(..., 0), the shape 2, 1 of reshape
    report = verbose(
        evaluate_result("reshape(sum(A ** 2, 0), 2, 1)", {"A": [[1.0, 2.0], [3.0, 4.0]]})
    )
    params = {n["op"]: n["param"] for n in report["nodes"] if n["kind"] == "gate"}
    assert params == {"pow": 2.0, "sum": [0.0], "reshape": [2.0, 1.0]}
    # column sums of A²: 1 + 9, 4 + 16
    assert report["output"]["value"] == [[10.0], [20.0]]


@pytest.mark.parametrize(
    ("expression", "text"),
    [
        # 18 + 3 + 19 = 40 characters: sent whole
        (
            "p11111111111111111 + q111111111111111111",
            "p11111111111111111 + q111111111111111111",
        ),
        # 41: the first 26 characters, an ellipsis, the last 11
        (
            "p11111111111111111 + q1111111111111111111",
            "p11111111111111111 + q1111 … 11111111111",
        ),
        # a line break (and its indent) inside the span reads as one space
        ("(x +\n    y) * 2", "(x + y) * 2"),
    ],
    ids=["40", "41", "line-break"],
)
def test_a_nodes_text_is_its_source_shortened_past_40_characters(
    expression: str, text: str
) -> None:
    inputs = {name: 1.0 for name in parse(expression).input_names}
    report = verbose(evaluate_result(expression, inputs))
    assert report["nodes"][-1]["text"] == text
