"""Every tensor gate, and every elementwise gate under broadcasting, against central differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.engine import GATES, evaluate_result, parse
from app.engine.passes import forward
from app.engine.result import EvaluateResult
from app.engine.tensor_gates import index_input_names
from tests.engine_result import output

H = 1e-6
dims = st.integers(min_value=1, max_value=4)


def tensor(shape: tuple[int, ...], low: float = -3.0, high: float = 3.0) -> st.SearchStrategy:
    elements = st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    return hnp.arrays(np.float64, shape, elements=elements)


def numeric_grad(expression: str, values: dict[str, Any], name: str) -> np.ndarray:
    """Centred differences of the circuit's (scalar) output, one element of `name` at a time."""
    circuit = parse(expression)
    base = np.asarray(values[name], dtype=np.float64)
    grad = np.zeros(base.shape)
    for index in np.ndindex(base.shape):
        bumped = base.copy()
        bumped[index] += H
        plus = float(forward(circuit, dict(values, **{name: bumped}))[circuit.output])
        bumped[index] -= 2 * H
        minus = float(forward(circuit, dict(values, **{name: bumped}))[circuit.output])
        grad[index] = (plus - minus) / (2 * H)
    return grad


def check(
    expression: str,
    values: dict[str, np.ndarray],
    expected: Callable[..., Any] | None = None,
    skip: tuple[str, ...] = (),
) -> EvaluateResult:
    """Output against numpy (when given), and every input's gradient: shape and value."""
    request = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in values.items()}
    result = evaluate_result(expression, request)
    if expected is not None:
        want = expected(**values)
        assert np.shape(output(result)) == np.shape(want)
        assert np.allclose(output(result), want, rtol=1e-12, atol=1e-12)
    gradients = result.gradients()
    for name, value in values.items():
        if name in skip:
            continue
        analytic = np.asarray(gradients[name], dtype=np.float64)
        assert analytic.shape == np.shape(value), (name, analytic.shape, np.shape(value))
        numeric = numeric_grad(expression, values, name)
        scale = max(1.0, float(np.abs(numeric).max(initial=0)))
        assert np.allclose(analytic, numeric, rtol=1e-5, atol=1e-5 * scale), (
            expression,
            name,
            analytic,
            numeric,
        )
    return result


# ---------------------------------------------------------------- matmul and dot


@settings(max_examples=30, deadline=None)
@given(data=st.data(), m=dims, n=dims, p=dims)
def test_matmul_matrix_matrix(data: st.DataObject, m: int, n: int, p: int) -> None:
    A, B, R = (data.draw(tensor(s)) for s in ((m, n), (n, p), (m, p)))
    check("sum(R * (A @ B))", {"A": A, "B": B, "R": R}, lambda A, B, R: np.sum(R * (A @ B)))


@settings(max_examples=30, deadline=None)
@given(data=st.data(), m=dims, n=dims)
def test_matmul_matrix_vector(data: st.DataObject, m: int, n: int) -> None:
    A, b, r = (data.draw(tensor(s)) for s in ((m, n), (n,), (m,)))
    check("sum(r * (A @ b))", {"A": A, "b": b, "r": r}, lambda A, b, r: np.sum(r * (A @ b)))


@settings(max_examples=30, deadline=None)
@given(data=st.data(), n=dims, p=dims)
def test_matmul_vector_matrix(data: st.DataObject, n: int, p: int) -> None:
    a, B, r = (data.draw(tensor(s)) for s in ((n,), (n, p), (p,)))
    check("sum(r * (a @ B))", {"a": a, "B": B, "r": r}, lambda a, B, r: np.sum(r * (a @ B)))


@settings(max_examples=30, deadline=None)
@given(data=st.data(), n=dims)
def test_matmul_vector_vector_and_dot(data: st.DataObject, n: int) -> None:
    a, b = data.draw(tensor((n,))), data.draw(tensor((n,)))
    r = data.draw(tensor(()))
    check("(a @ b) * r", {"a": a, "b": b, "r": r}, lambda a, b, r: (a @ b) * r)
    check("dot(a, b) * r", {"a": a, "b": b, "r": r}, lambda a, b, r: np.dot(a, b) * r)


# ---------------------------------------------------------------- transpose, reshape


@settings(max_examples=30, deadline=None)
@given(data=st.data(), shape=st.lists(dims, min_size=1, max_size=3).map(tuple))
def test_transpose_both_spellings(data: st.DataObject, shape: tuple[int, ...]) -> None:
    A = data.draw(tensor(shape))
    R = data.draw(tensor(shape[::-1]))
    for expression in ("sum(R * A.T)", "sum(R * transpose(A))"):
        check(expression, {"A": A, "R": R}, lambda A, R: np.sum(R * A.T))


@settings(max_examples=30, deadline=None)
@given(data=st.data(), m=dims, n=dims, infer=st.booleans())
def test_reshape(data: st.DataObject, m: int, n: int, infer: bool) -> None:
    A = data.draw(tensor((m, n)))
    R = data.draw(tensor((n, m)))
    dims_text = f"-1, {m}" if infer else f"{n}, {m}"
    expression = f"sum(R * reshape(A, {dims_text}))"
    check(expression, {"A": A, "R": R}, lambda A, R: np.sum(R * A.reshape(n, m)))


# ---------------------------------------------------------------- sum and mean


@pytest.mark.parametrize("op", ["sum", "mean"])
@settings(max_examples=25, deadline=None)
@given(data=st.data(), shape=st.lists(dims, min_size=1, max_size=3).map(tuple))
def test_reductions_over_everything_and_each_axis(
    op: str, data: st.DataObject, shape: tuple[int, ...]
) -> None:
    reduce = getattr(np, op)
    A = data.draw(tensor(shape))
    r = data.draw(tensor(()))
    check(f"{op}(A) * r", {"A": A, "r": r}, lambda A, r: reduce(A) * r)
    axis = data.draw(st.integers(min_value=-len(shape), max_value=len(shape) - 1))
    out_shape = np.sum(A, axis=axis).shape
    R = data.draw(tensor(out_shape))
    check(
        f"sum(R * {op}(A, {axis}))",
        {"A": A, "R": R},
        lambda A, R: np.sum(R * reduce(A, axis=axis)),
    )


# ---------------------------------------------------------------- indexing


@settings(max_examples=30, deadline=None)
@given(data=st.data(), m=dims, n=dims)
def test_indexing_rows_columns_elements_slices(data: st.DataObject, m: int, n: int) -> None:
    A = data.draw(tensor((m, n)))
    i = data.draw(st.integers(min_value=-m, max_value=m - 1))
    j = data.draw(st.integers(min_value=-n, max_value=n - 1))
    R_row, R_col = data.draw(tensor((n,))), data.draw(tensor((m,)))
    check(f"sum(R * A[{i}])", {"A": A, "R": R_row}, lambda A, R: np.sum(R * A[i]))
    check(f"sum(R * A[:, {j}])", {"A": A, "R": R_col}, lambda A, R: np.sum(R * A[:, j]))
    check(f"A[{i}, {j}] * 3", {"A": A}, lambda A: A[i, j] * 3)
    start = data.draw(st.integers(min_value=0, max_value=m - 1))
    step = data.draw(st.integers(min_value=1, max_value=2))
    sliced = A[start::step, ::-1]
    R = data.draw(tensor(sliced.shape))
    check(
        f"sum(R * A[{start}::{step}, ::-1])",
        {"A": A, "R": R},
        lambda A, R: np.sum(R * A[start::step, ::-1]),
    )


@settings(max_examples=30, deadline=None)
@given(data=st.data(), c=st.integers(min_value=2, max_value=6))
def test_index_by_integer_input_gets_no_gradient(data: st.DataObject, c: int) -> None:
    s = data.draw(tensor((c,)))
    y = data.draw(st.integers(min_value=0, max_value=c - 1))
    R = data.draw(tensor((c,)))
    result = check(
        "sum(R * (s - s[y]))",
        {"s": s, "R": R, "y": y},
        lambda s, R, y: np.sum(R * (s - s[y])),
        skip=("y",),
    )
    assert index_input_names(result.circuit) == ["y"]
    assert result.gradients()["y"] == 0.0
    # The column s[y] was broadcast: its gradient is the sum of everything that flowed back.
    ds = np.asarray(result.gradients()["s"])
    expected = R.copy()
    expected[y] -= R.sum()
    assert np.allclose(ds, expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- elementwise gates under broadcasting

BROADCASTS = [
    ((3, 4), (4,)),  # a row vector stretched down the rows
    ((3, 4), (3, 1)),  # a column stretched across the columns
    ((3, 1), (1, 4)),  # both stretched: an outer sum
    ((), (3, 4)),  # a scalar stretched everywhere
    ((2, 3), ()),  # ... on the right
    ((2, 3, 4), (3, 1)),  # a missing leading axis and a 1
    ((2, 1, 4), (3, 1)),  # the result is bigger than both
    ((1,), (3,)),
    ((4,), (3, 1)),
    ((2, 3), (2, 3)),  # no broadcasting
]
BINARY = {
    "add": ("a + b", np.add),
    "sub": ("a - b", np.subtract),
    "mul": ("a * b", np.multiply),
    "div": ("a / b", np.divide),
    "pow_xy": ("a ** b", np.power),
    "max": ("max(a, b)", np.maximum),
    "min": ("min(a, b)", np.minimum),
}


def test_every_elementwise_gate_is_tested_under_broadcasting() -> None:
    elementwise = {name for name, gate in GATES.items() if gate.shape is None}
    assert elementwise == set(BINARY) | set(UNARY) | {"pow"}


@pytest.mark.parametrize("gate", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCASTS, ids=[f"{a}-{b}" for a, b in BROADCASTS])
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_binary_gate_broadcast_gradients_sum_back(
    gate: str, shapes: tuple[tuple[int, ...], tuple[int, ...]], data: st.DataObject
) -> None:
    text, reference = BINARY[gate]
    a_low = 0.2 if gate == "pow_xy" else -3.0
    b_low = 0.2 if gate == "div" else -3.0
    a = data.draw(tensor(shapes[0], a_low, 3.0))
    b = data.draw(tensor(shapes[1], b_low, 3.0))
    if gate in ("max", "min"):
        assume(bool(np.all(np.abs(np.subtract(a, b)) > 1e-3)))
    out_shape = np.broadcast_shapes(shapes[0], shapes[1])
    R = data.draw(tensor(out_shape))
    result = check(
        f"sum(R * ({text}))",
        {"a": a, "b": b, "R": R},
        lambda a, b, R: np.sum(R * reference(a, b)),
    )
    step = [s for s in result.steps if result.circuit.nodes[s.node].op == gate][-1]  # over a, b
    if shapes[0] != shapes[1]:
        assert "broadcasting:" in result.rule(step)


UNARY = {
    "neg": ("-x", np.negative, -3.0),
    "exp": ("exp(x)", np.exp, -3.0),
    "log": ("log(x)", np.log, 0.2),
    "sqrt": ("sqrt(x)", np.sqrt, 0.2),
    "abs": ("abs(x)", np.abs, -3.0),
    "relu": ("relu(x)", lambda x: np.maximum(x, 0), -3.0),
    "sigmoid": ("sigmoid(x)", lambda x: 1 / (1 + np.exp(-x)), -3.0),
    "tanh": ("tanh(x)", np.tanh, -3.0),
}


@pytest.mark.parametrize("gate", sorted(UNARY) + ["pow"])
@settings(max_examples=15, deadline=None)
@given(data=st.data(), shape=st.lists(dims, min_size=1, max_size=3).map(tuple))
def test_unary_gates_on_tensors(gate: str, data: st.DataObject, shape: tuple[int, ...]) -> None:
    text, reference, low = UNARY.get(gate, ("x ** 3", lambda x: x**3, -3.0))
    x = data.draw(tensor(shape, low, 3.0))
    if gate in ("abs", "relu"):
        assume(bool(np.all(np.abs(x) > 1e-3)))
    R = data.draw(tensor(shape))
    check(f"sum(R * ({text}))", {"x": x, "R": R}, lambda x, R: np.sum(R * reference(x)))


@settings(max_examples=30, deadline=None)
@given(data=st.data(), c=st.integers(min_value=2, max_value=6))
def test_constants_broadcast_into_max_with_index(data: st.DataObject, c: int) -> None:
    """max(0, s - s[y] + 1): two constants and an indexed scalar, all broadcast to (c,)."""
    s = data.draw(tensor((c,)))
    y = data.draw(st.integers(min_value=0, max_value=c - 1))
    margins = s - s[y] + 1
    assume(bool(np.all(np.abs(margins) > 1e-3)))
    check(
        "sum(max(0, s - s[y] + 1))",
        {"s": s, "y": y},
        lambda s, y: np.sum(np.maximum(0, s - s[y] + 1)),
        skip=("y",),
    )
