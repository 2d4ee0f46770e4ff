"""Kinks (max/min ties, relu(0), abs(0), sqrt(0)) and non-finite values, under both conventions."""

from __future__ import annotations

import math

import pytest

from app.engine import evaluate_result
from tests.engine_result import output, step_for


def test_max_tie_splits_evenly_by_default() -> None:
    result = evaluate_result("2 * max(z, w)", {"z": 1.0, "w": 1.0})
    assert result.gradients() == {"z": 1.0, "w": 1.0}
    step = step_for(result, "max")
    assert step.kink is not None
    assert step.kink.kind == "tie"
    assert step.kink.convention == (
        "ties split the gradient evenly between the tied inputs (PyTorch's convention); "
        "any non-negative split that sums to 1 is a valid subgradient"
    )
    assert step.kink.interval == [[0.0, 1.0], [0.0, 1.0]]
    assert step.local == [0.5, 0.5]
    rule = result.rule(step)
    assert "tie" in rule and "z gets 1" in rule and "w gets 1" in rule


def test_max_tie_first_convention_sends_everything_to_the_first() -> None:
    result = evaluate_result("2 * max(z, w)", {"z": 1.0, "w": 1.0}, tie_break="first")
    assert result.gradients() == {"z": 2.0, "w": 0.0}
    kink = step_for(result, "max").kink
    assert kink is not None and kink.convention == (
        "ties send the whole gradient to the first tied input; "
        "any non-negative split that sums to 1 is a valid subgradient"
    )


def test_three_way_tie_and_a_loser() -> None:
    result = evaluate_result("max(a, b, c, d)", {"a": 3.0, "b": 3.0, "c": 1.0, "d": 3.0})
    grads = result.gradients()
    assert grads["a"] == pytest.approx(1 / 3) and grads["b"] == pytest.approx(1 / 3)
    assert grads["c"] == 0.0 and grads["d"] == pytest.approx(1 / 3)
    kink = step_for(result, "max").kink
    assert kink is not None and kink.interval[2] == [0.0, 0.0]
    first = evaluate_result(
        "max(a, b, c, d)", {"a": 3.0, "b": 3.0, "c": 1.0, "d": 3.0}, tie_break="first"
    )
    assert first.gradients() == {"a": 1.0, "b": 0.0, "c": 0.0, "d": 0.0}


def test_min_tie() -> None:
    result = evaluate_result("min(x, y)", {"x": -1.0, "y": -1.0})
    assert result.gradients() == {"x": 0.5, "y": 0.5}


def test_no_kink_without_a_tie() -> None:
    result = evaluate_result("max(x, y)", {"x": 2.0, "y": 1.0})
    assert step_for(result, "max").kink is None
    assert result.gradients() == {"x": 1.0, "y": 0.0}


@pytest.mark.parametrize(
    ("expression", "inputs", "op"),
    [
        # tensors with no element at 0 (the numpy path counts the zeros: there are none)
        ("sum(relu(x))", {"x": [1.0, -2.0]}, "relu"),
        ("sum(abs(x))", {"x": [-3.0, 0.5]}, "abs"),
        ("sum(sqrt(x))", {"x": [4.0, 9.0]}, "sqrt"),
        # a scalar away from 0 on the numpy path (v makes the circuit a tensor one)
        ("relu(sum(v))", {"v": [1.0, 2.0]}, "relu"),
        ("abs(sum(v))", {"v": [-1.0, -2.0]}, "abs"),
    ],
)
def test_no_unary_kink_away_from_zero(expression: str, inputs: dict, op: str) -> None:
    assert step_for(evaluate_result(expression, inputs), op).kink is None


@pytest.mark.parametrize(
    ("expression", "kind", "grad", "interval"),
    [
        ("relu(x)", "relu0", 0.0, [[0.0, 1.0]]),
        ("abs(x)", "abs0", 0.0, [[-1.0, 1.0]]),
        ("sqrt(x)", "sqrt0", math.inf, [[math.inf, math.inf]]),
    ],
)
def test_unary_kinks_at_zero_follow_pytorch(expression, kind, grad, interval) -> None:
    result = evaluate_result(expression, {"x": 0.0})
    step = result.steps[0]
    assert step.kink is not None
    assert step.kink.kind == kind
    assert result.gradients()["x"] == grad
    assert step.kink.interval == interval
    assert step.kink.convention in result.rule(step)


def test_relu_passes_and_blocks() -> None:
    assert evaluate_result("relu(x)", {"x": 2.0}).gradients()["x"] == 1.0
    blocked = evaluate_result("relu(x)", {"x": -2.0})
    assert blocked.gradients()["x"] == 0.0
    assert "blocks" in blocked.rule(blocked.steps[0])


@pytest.mark.parametrize(
    ("expression", "inputs", "value", "first_gate"),
    [
        ("exp(x)", {"x": 1000}, math.inf, "exp"),
        ("log(x)", {"x": 0}, -math.inf, "log"),
        ("x / y", {"x": 0, "y": 0}, math.nan, "div"),
        ("log(x)", {"x": -1}, math.nan, "log"),
        ("sqrt(x)", {"x": -4}, math.nan, "sqrt"),
        ("x ** 0.5", {"x": -8}, math.nan, "pow"),
        ("x ** y", {"x": 10, "y": 400}, math.inf, "pow_xy"),
        ("1 / x", {"x": 0}, math.inf, "div"),
        ("x * 1e308 * 10", {"x": 1}, math.inf, "mul"),
    ],
)
def test_non_finite_results_come_with_a_warning_naming_the_first_gate(
    expression, inputs, value, first_gate
) -> None:
    # the same cases as wire strings, strict JSON: tests/test_engine_encode.py
    result = evaluate_result(expression, inputs)
    out = output(result)
    assert math.isnan(out) if math.isnan(value) else out == value
    wire = {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN")
    forward = [w for w in result.warnings if w.get("pass") == "forward" and w["value"] == wire]
    assert forward and forward[0]["msg"].startswith(f"the {first_gate} gate")


def test_zero_times_infinity_in_the_backward_pass() -> None:
    result = evaluate_result("exp(x) * 0", {"x": 1000})
    assert math.isnan(output(result))
    assert math.isnan(result.gradients()["x"])
    backward = [w for w in result.warnings if w.get("pass") == "backward"]
    assert {w["value"] for w in backward} >= {"NaN"}


def test_non_finite_names_the_first_gate_only_once() -> None:
    result = evaluate_result("exp(exp(x)) + exp(x)", {"x": 1000})
    infinities = [
        w for w in result.warnings if w.get("pass") == "forward" and w["value"] == "Infinity"
    ]
    assert len(infinities) == 1
    assert output(result) == math.inf


def test_output_grad_seeds_the_backward_pass() -> None:
    result = evaluate_result("(x + y) * z", {"x": -2, "y": 5, "z": -4}, output_grad=2.0)
    assert result.gradients() == {"x": -8.0, "y": -8.0, "z": 6.0}
    assert result.steps[0].upstream == 2.0


@pytest.mark.parametrize(
    ("tie_break", "convention", "grads"),
    [
        # element 0 ties (1 = 1): split, x and y get 0.5 each; element 1: y (3) wins
        (
            "split",
            "ties split the gradient evenly between the tied inputs (PyTorch's convention); any "
            "non-negative split that sums to 1 is a valid subgradient",
            {"x": [0.5, 0.0], "y": [0.5, 1.0]},
        ),
        (
            "first",
            "ties send the whole gradient to the first tied input; any non-negative split that "
            "sums to 1 is a valid subgradient",
            {"x": [1.0, 0.0], "y": [0.0, 1.0]},
        ),
    ],
)
def test_an_elementwise_max_tie_states_the_requested_convention(
    tie_break: str, convention: str, grads: dict[str, list[float]]
) -> None:
    result = evaluate_result(
        "sum(max(x, y))", {"x": [1.0, 2.0], "y": [1.0, 3.0]}, tie_break=tie_break
    )
    kink = step_for(result, "max").kink
    assert kink is not None
    # both inputs take part in the one tied element
    assert (kink.kind, kink.convention, kink.interval, kink.count) == (
        "tie",
        convention,
        [[0.0, 1.0], [0.0, 1.0]],
        1,
    )
    assert {k: g.tolist() for k, g in result.gradients().items()} == grads
