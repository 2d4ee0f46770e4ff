"""Every scalar gate against central differences, on both the fast path and the numpy path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.engine import GATES, evaluate, parse, run
from app.engine.passes import forward

finite = st.floats(min_value=-5, max_value=5, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0.05, max_value=5, allow_nan=False, allow_infinity=False)

# expression, strategy per input, and how far every input must stay from a kink
CASES = {
    "add": ("x + y", {"x": finite, "y": finite}),
    "sub": ("x - y", {"x": finite, "y": finite}),
    "mul": ("x * y", {"x": finite, "y": finite}),
    "div": ("x / y", {"x": finite, "y": positive}),
    "neg": ("-x", {"x": finite}),
    "pow": ("x ** 3", {"x": finite}),
    "pow_xy": ("x ** y", {"x": positive, "y": finite}),
    "max": ("max(x, y, z)", {"x": finite, "y": finite, "z": finite}),
    "min": ("min(x, y)", {"x": finite, "y": finite}),
    "exp": ("exp(x)", {"x": finite}),
    "log": ("log(x)", {"x": positive}),
    "sqrt": ("sqrt(x)", {"x": positive}),
    "abs": ("abs(x)", {"x": finite}),
    "relu": ("relu(x)", {"x": finite}),
    "sigmoid": ("sigmoid(x)", {"x": finite}),
    "tanh": ("tanh(x)", {"x": finite}),
}


def test_every_gate_has_a_case() -> None:
    scalar_gates = {
        name for name, gate in GATES.items() if gate.scalar_forward or gate.name == "pow_xy"
    }
    assert scalar_gates <= set(CASES)


def _numeric(expression: str, values: dict[str, float], name: str, h: float = 1e-6) -> float:
    circuit = parse(expression)
    plus = dict(values, **{name: values[name] + h})
    minus = dict(values, **{name: values[name] - h})
    f_plus = float(forward(circuit, plus)[circuit.output])
    f_minus = float(forward(circuit, minus)[circuit.output])
    return (f_plus - f_minus) / (2 * h)


def _away_from_kinks(gate: str, values: dict[str, float]) -> bool:
    xs = list(values.values())
    if gate in ("max", "min"):
        ordered = sorted(xs)
        return all(b - a > 1e-3 for a, b in zip(ordered, ordered[1:], strict=False))
    if gate in ("abs", "relu"):
        return abs(xs[0]) > 1e-3
    return True


@pytest.mark.parametrize("gate", sorted(CASES))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_gate_matches_central_differences(gate: str, data: st.DataObject) -> None:
    expression, strategies = CASES[gate]
    values = {name: data.draw(strategy, label=name) for name, strategy in strategies.items()}
    assume(_away_from_kinks(gate, values))
    report = evaluate(expression, values)
    for name in values:
        analytic = report["gradients"][name]
        numeric = _numeric(expression, values, name)
        scale = max(1.0, abs(analytic), abs(numeric))
        assert abs(analytic - numeric) <= 1e-5 * scale, (name, analytic, numeric)


@pytest.mark.parametrize("gate", sorted(CASES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_fast_path_equals_numpy_path(gate: str, data: st.DataObject) -> None:
    expression, strategies = CASES[gate]
    values = {name: data.draw(strategy, label=name) for name, strategy in strategies.items()}
    circuit = parse(expression)
    fast = run(circuit, values, fast=True)
    slow = run(circuit, {k: np.float64(v) for k, v in values.items()}, fast=False)
    assert fast.fast and not slow.fast
    for a, b in zip(fast.values, slow.values, strict=True):
        assert float(a) == pytest.approx(float(b), rel=1e-12, abs=1e-300, nan_ok=True)
    for a, b in zip(fast.grads, slow.grads, strict=True):
        assert float(a) == pytest.approx(float(b), rel=1e-12, abs=1e-300, nan_ok=True)


composite_ops = st.sampled_from(["+", "-", "*"])


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.tuples(composite_ops, st.sampled_from(["x", "y", "z", "1.5"])), min_size=1, max_size=12
    ),
    funcs=st.lists(st.sampled_from(["tanh", "sigmoid", "exp", ""]), min_size=1, max_size=4),
    x=finite,
    y=finite,
    z=finite,
)
def test_random_composite_circuits_match_central_differences(ops, funcs, x, y, z) -> None:
    """Random chains with forks (x, y, z reused) agree with central differences."""
    expression = "x"
    for op, operand in ops:
        expression = f"({expression} {op} {operand})"
    for func in funcs:
        if func:
            expression = f"{func}({expression} / 4)"
    names = {n for n in ("x", "y", "z") if n in expression}
    values = {n: v for n, v in {"x": x, "y": y, "z": z}.items() if n in names}
    report = evaluate(expression, values)
    value = report["output"]["value"]
    assume(isinstance(value, float) and math.isfinite(value) and abs(value) < 1e6)
    for name in values:
        analytic = report["gradients"][name]
        numeric = _numeric(expression, values, name)
        scale = max(1.0, abs(analytic), abs(numeric))
        assert abs(analytic - numeric) <= 1e-4 * scale, (expression, name, analytic, numeric)


def test_gradcheck_reports_pass_for_smooth_circuits() -> None:
    report = evaluate("tanh(w * x + b)", {"w": 0.3, "x": -1.2, "b": 0.1}, gradcheck_=True)
    check = report["gradcheck"]
    assert check["passed"] is True
    assert [i["name"] for i in check["inputs"]] == ["w", "x", "b"]
    for item in check["inputs"]:
        assert item["status"] == "pass"
        assert item["rel_error"] < 1e-7
        assert item["numeric"] == pytest.approx(item["analytic"], rel=1e-7)


def test_gradcheck_marks_inputs_near_a_kink_instead_of_failing() -> None:
    report = evaluate("relu(x) + y", {"x": 0.0, "y": 1.0}, gradcheck_=True)
    items = {i["name"]: i for i in report["gradcheck"]["inputs"]}
    assert items["x"]["near_kink"] is True
    assert items["x"]["status"] == "kink"
    assert items["x"]["passed"] is None
    assert items["x"]["numeric"] == pytest.approx(0.5)
    assert items["y"]["status"] == "pass"
    assert report["gradcheck"]["passed"] is True


def test_gradient_table_lists_every_gate(client) -> None:
    body = client.get("/api/v1/gates").json()
    names = {g["name"] for g in body["gates"]}
    assert {
        "add",
        "sub",
        "mul",
        "div",
        "neg",
        "pow",
        "pow_xy",
        "max",
        "min",
        "exp",
        "log",
        "sqrt",
        "abs",
        "relu",
        "sigmoid",
        "tanh",
    } <= names
    mul = next(g for g in body["gates"] if g["name"] == "mul")
    assert mul == {
        "name": "mul",
        "symbol": "×",
        "arity": 2,
        "derivative": "d/dx x*y = y, d/dy x*y = x",
        "rule": "multiply gate swaps: each input receives the other input's value times the upstream gradient",
    }
    assert next(g for g in body["gates"] if g["name"] == "max")["arity"] == {"min": 2, "max": None}
