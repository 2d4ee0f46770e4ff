"""Kinks (max/min ties, relu(0), abs(0), sqrt(0)) and non-finite values, under both conventions."""

from __future__ import annotations

import json

import pytest

from app.engine import evaluate


def step_for(report: dict, op: str) -> dict:
    return next(s for s in report["backward"] if s["op"] == op)


def test_max_tie_splits_evenly_by_default() -> None:
    report = evaluate("2 * max(z, w)", {"z": 1.0, "w": 1.0})
    assert report["gradients"] == {"z": 1.0, "w": 1.0}
    step = step_for(report, "max")
    assert step["kink"]["kind"] == "tie"
    assert "split the gradient evenly" in step["kink"]["convention"]
    assert step["kink"]["interval"] == [[0.0, 1.0], [0.0, 1.0]]
    assert [i["local_grad"] for i in step["inputs"]] == [0.5, 0.5]
    assert "tie" in step["rule"] and "z gets 1" in step["rule"] and "w gets 1" in step["rule"]


def test_max_tie_first_convention_sends_everything_to_the_first() -> None:
    report = evaluate("2 * max(z, w)", {"z": 1.0, "w": 1.0}, tie_break="first")
    assert report["gradients"] == {"z": 2.0, "w": 0.0}
    assert "first tied input" in step_for(report, "max")["kink"]["convention"]


def test_three_way_tie_and_a_loser() -> None:
    report = evaluate("max(a, b, c, d)", {"a": 3.0, "b": 3.0, "c": 1.0, "d": 3.0})
    grads = report["gradients"]
    assert grads["a"] == pytest.approx(1 / 3) and grads["b"] == pytest.approx(1 / 3)
    assert grads["c"] == 0.0 and grads["d"] == pytest.approx(1 / 3)
    assert step_for(report, "max")["kink"]["interval"][2] == [0.0, 0.0]
    first = evaluate("max(a, b, c, d)", {"a": 3.0, "b": 3.0, "c": 1.0, "d": 3.0}, tie_break="first")
    assert first["gradients"] == {"a": 1.0, "b": 0.0, "c": 0.0, "d": 0.0}


def test_min_tie() -> None:
    report = evaluate("min(x, y)", {"x": -1.0, "y": -1.0})
    assert report["gradients"] == {"x": 0.5, "y": 0.5}


def test_no_kink_without_a_tie() -> None:
    report = evaluate("max(x, y)", {"x": 2.0, "y": 1.0})
    assert step_for(report, "max")["kink"] is None
    assert report["gradients"] == {"x": 1.0, "y": 0.0}


@pytest.mark.parametrize(
    ("expression", "kind", "grad", "interval"),
    [
        ("relu(x)", "relu0", 0.0, [[0.0, 1.0]]),
        ("abs(x)", "abs0", 0.0, [[-1.0, 1.0]]),
        ("sqrt(x)", "sqrt0", "Infinity", [["Infinity", "Infinity"]]),
    ],
)
def test_unary_kinks_at_zero_follow_pytorch(expression, kind, grad, interval) -> None:
    report = evaluate(expression, {"x": 0.0})
    step = report["backward"][0]
    assert step["kink"]["kind"] == kind
    assert report["gradients"]["x"] == grad
    assert json.loads(json.dumps(step["kink"]["interval"], allow_nan=False)) == interval
    assert step["kink"]["convention"] in step["rule"]


def test_relu_passes_and_blocks() -> None:
    assert evaluate("relu(x)", {"x": 2.0})["gradients"]["x"] == 1.0
    blocked = evaluate("relu(x)", {"x": -2.0})
    assert blocked["gradients"]["x"] == 0.0
    assert "blocks" in blocked["backward"][0]["rule"]


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
    report = evaluate(expression, inputs)
    text = json.dumps(report, allow_nan=False)  # raises if any NaN/Infinity float slipped through
    assert report["output"]["value"] == value
    forward = [w for w in report["warnings"] if w.get("pass") == "forward" and w["value"] == value]
    assert forward and forward[0]["msg"].startswith(f"the {first_gate} gate")
    assert text


def test_zero_times_infinity_in_the_backward_pass() -> None:
    report = evaluate("exp(x) * 0", {"x": 1000})
    assert report["output"]["value"] == "NaN"
    assert report["gradients"]["x"] == "NaN"
    backward = [w for w in report["warnings"] if w.get("pass") == "backward"]
    assert {w["value"] for w in backward} >= {"NaN"}
    json.dumps(report, allow_nan=False)


def test_non_finite_names_the_first_gate_only_once() -> None:
    report = evaluate("exp(exp(x)) + exp(x)", {"x": 1000})
    infinities = [
        w for w in report["warnings"] if w.get("pass") == "forward" and w["value"] == "Infinity"
    ]
    assert len(infinities) == 1
    assert report["output"]["value"] == "Infinity"


def test_output_grad_seeds_the_backward_pass() -> None:
    report = evaluate("(x + y) * z", {"x": -2, "y": 5, "z": -4}, output_grad=2.0)
    assert report["gradients"] == {"x": -8.0, "y": -8.0, "z": 6.0}
    assert report["backward"][0]["upstream"] == 2.0
