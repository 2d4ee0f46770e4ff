"""One numeric truth: the scalar fast path and the tensor path give bit-identical answers.

Random circuits run three ways: as scalars (the fast path on Python floats), as scalars forced
through the numpy path (`run(..., fast=False)`), and as 1-element tensors. Values, gradients
(bit for bit, NaN equal to NaN, the sign of zero included) and warnings must agree, at special
points too: ±0, subnormals, ±1e300, the float64 limit, exp's overflow edge, NaN-producing points.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.engine import evaluate_result, parse, run
from app.engine.result import EvaluateResult
from tests.engine_result import output

SPECIAL = [
    0.0,
    -0.0,
    5e-324,
    -5e-324,
    1e-310,
    -2.5e-308,
    1e-300,
    1e300,
    -1e300,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    709.78,  # e^x just below overflow
    709.79,  # e^x just above
    -745.2,  # e^x underflows to 0
    1.0,
    -1.0,
    0.5,
    2.0,
    -8.0,
    3.0,
]
NAMES = ("x", "y", "z")
LITERALS = ("0", "1", "2", "0.5", "3", "1e-320", "1e300")
UNARY = ("exp", "log", "sqrt", "abs", "relu", "sigmoid", "tanh")
BINARY = ("+", "-", "*", "/", "**")

numbers = st.one_of(
    st.sampled_from(SPECIAL), st.floats(allow_nan=False, allow_infinity=False, width=64)
)


def expressions(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(NAMES), st.sampled_from(NAMES), st.sampled_from(LITERALS))
    if depth == 0:
        return leaf
    sub = expressions(depth - 1)
    return st.one_of(
        leaf,
        st.builds(lambda f, a: f"{f}({a})", st.sampled_from(UNARY), sub),
        st.builds(lambda a: f"-({a})", sub),
        st.builds(lambda a, op, b: f"({a}) {op} ({b})", sub, st.sampled_from(BINARY), sub),
        st.builds(lambda a, c: f"({a}) ** {c}", sub, st.sampled_from(("0", "2", "0.5", "3"))),
        st.builds(
            lambda f, args: f"{f}({', '.join(args)})",
            st.sampled_from(("max", "min")),
            st.lists(sub, min_size=2, max_size=3),
        ),
    )


def bits(x: Any) -> Any:
    """A float's exact bit pattern (every NaN alike)."""
    x = float(x)
    return "nan" if x != x else struct.pack("<d", x)


def same_or_both_nan(a: Any, b: Any) -> bool:
    a, b = float(a), float(b)
    return bool(a == b or (a != a and b != b))


def first(value: Any) -> Any:
    """A 1-element tensor's element; a 0-d value as it is."""
    if np.ndim(value) == 0:
        return value
    assert np.shape(value) == (1,), np.shape(value)
    return value[0]


def used_inputs(expression: str, values: dict[str, float]) -> dict[str, float]:
    circuit = parse(expression)
    return {name: values[name] for name in circuit.input_names}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Points where the paths once disagreed (issue 10 item 16), always tried first.
@example("abs(log(x))", {"x": -1.0, "y": 0.0, "z": 0.0}, 1.0)
@example("(-exp(x)) ** 0.5", {"x": 1000.0, "y": 0.0, "z": 0.0}, 1.0)
@example("tanh(x)", {"x": 0.7, "y": 0.0, "z": 0.0}, 1.0)  # math.tanh is 1 ulp off numpy here
@example("max(x, y)", {"x": -0.0, "y": 0.0, "z": 0.0}, 1.0)
@example("x ** 0", {"x": 0.0, "y": 0.0, "z": 0.0}, 1.0)
@example("(x) ** (y)", {"x": 0.0, "y": 2.0, "z": 0.0}, 1.0)
@example("relu(x)", {"x": -0.0, "y": 0.0, "z": 0.0}, 5e-324)
# math.exp(-0.125) is one ulp above numpy's (found by scripts/repeat_tests.sh), and numpy's
# 0-d pow one ulp off its array pow at a tiny exponent (found by scripts/paths_sweep.py)
@example("exp(y)", {"x": 0.0, "y": -0.125, "z": 0.0}, 0.0)
@example("sigmoid(y)", {"x": 0.0, "y": 0.125, "z": 0.0}, 1.0)
@example("(x) ** (y)", {"x": 15.486711976722688, "y": 1.2550221598459441e-270, "z": 0.0}, -1.0)
@given(expressions(3), st.fixed_dictionaries({n: numbers for n in NAMES}), numbers)
def test_scalar_and_tensor_paths_agree(
    expression: str, values: dict[str, float], output_grad: float
) -> None:
    inputs = used_inputs(expression, values)
    scalar = evaluate_result(expression, inputs, output_grad=output_grad)
    tensor = evaluate_result(
        expression, {k: [v] for k, v in inputs.items()}, output_grad=output_grad
    )
    assert np.shape(output(scalar)) == ()
    assert bits(output(scalar)) == bits(first(output(tensor)))
    mine_grads, their_grads = scalar.gradients(), tensor.gradients()
    for name in inputs:
        assert bits(mine_grads[name]) == bits(first(their_grads[name])), name
    assert len(scalar.values) == len(tensor.values)
    for i, text in enumerate(scalar.texts):
        assert np.shape(scalar.values[i]) == () and np.shape(scalar.grads[i]) == ()
        assert bits(scalar.values[i]) == bits(first(tensor.values[i])), text
        mine, theirs = scalar.grads[i], tensor.grads[i]
        if np.shape(tensor.values[i]) == ():
            # A node fed by constants only stays 0-d in the tensor circuit, so its gradient is
            # summed back over the (1,) axis it was broadcast along; that sum starts from +0 (in
            # numpy and PyTorch alike), so -0 arrives as +0. Only the sign of a zero may differ.
            assert same_or_both_nan(mine, theirs), text
        else:
            assert bits(mine) == bits(first(theirs)), text

    def kinds(result: EvaluateResult) -> list[tuple[Any, ...]]:
        return [(w["node"], w.get("pass"), w.get("value")) for w in result.warnings]

    assert kinds(scalar) == kinds(tensor)

    # The fast path against the numpy path on the very same 0-d inputs.
    circuit = parse(expression)
    fast = run(circuit, inputs, output_grad, fast=True)
    slow = run(circuit, inputs, output_grad, fast=False)
    for a, b in zip(fast.values, slow.values, strict=True):
        assert bits(a) == bits(b)
    for a, b in zip(fast.grads, slow.grads, strict=True):
        assert (a is None and b is None) or bits(a) == bits(b)
