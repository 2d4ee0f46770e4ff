"""Tensor circuits end to end: the notes' matmul example, the SVM loss, presets, shape errors."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from app.core.errors import ProblemError
from app.engine import evaluate_result
from app.engine.index_gate import index_text
from app.engine.tensor_gates import index_input_names, tensor_symbol
from app.presets import BUILT_IN
from tests.engine_result import output, scalar_output, step_for

TENSOR_PRESETS = [p for p in BUILT_IN if "grad_shapes" in (p.get("expected") or {})]


def preset(preset_id: str) -> dict[str, Any]:
    return next(p for p in BUILT_IN if p["id"] == preset_id)


def arrays(inputs: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}


# ---------------------------------------------------------------- the notes' matmul example


def test_matmul_example_gradient_shapes_and_rules(reference: dict[str, Any]) -> None:
    """D = W @ X with W (5,10), X (10,3): dW = dD @ X.T is (5,10), dX = W.T @ dD is (10,3)."""
    case = reference["matmul_shapes"]
    wanted = [
        tuple(int(d) for d in m.split(",")) for m in re.findall(r"\((\d+, \d+)\)", case["backward"])
    ]
    assert wanted == [(5, 10), (10, 3)]
    example = preset("matmul_shapes")
    result = evaluate_result(example["expression"], example["inputs"])
    v = arrays(example["inputs"])
    dW, dX = (np.asarray(result.gradients()[name]) for name in ("W", "X"))
    assert (dW.shape, dX.shape) == tuple(wanted)
    assert np.allclose(dW, v["dD"] @ v["X"].T, rtol=1e-13, atol=1e-13)
    assert np.allclose(dX, v["W"].T @ v["dD"], rtol=1e-13, atol=1e-13)
    nodes = result.circuit.nodes
    D = next(n for n in nodes if n.labels == ["D"])
    assert np.shape(result.values[D.id]) == (5, 3)  # D (5, 3), as the reference's forward line
    assert "D (5, 3)" in case["forward"]
    assert np.allclose(result.grads[D.id], v["dD"])  # L = sum(D * dD) hands D exactly dD
    step = step_for(result, "matmul")
    rule = result.rule(step)
    assert "dW = dD @ X.T: (5,3) @ (3,10) -> (5,10)" in rule
    assert "dX = W.T @ dD: (10,5) @ (5,3) -> (10,3)" in rule
    assert step.local[0] is None  # not elementwise: no local gradient array
    ids = {n.name: n.id for n in nodes if n.kind == "input"}
    assert step.uses == [[ids["X"]], [ids["W"]]]


def test_matmul_output_seeded_with_ones() -> None:
    """With D itself the output, every element of dD is output_grad."""
    W, X = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4) - 5
    result = evaluate_result("D = W @ X", {"W": W.tolist(), "X": X.tolist()}, output_grad=2.0)
    assert np.shape(output(result)) == (2, 4)
    assert np.array_equal(output(result), W @ X)
    assert np.array_equal(result.gradients()["W"], np.full((2, 4), 2.0) @ X.T)
    assert np.array_equal(result.gradients()["X"], W.T @ np.full((2, 4), 2.0))


def test_every_node_value_and_gradient_have_the_same_shape() -> None:
    # the wire's "shape" fields for nodes and edges: tests/test_engine_encode.py
    example = preset("two_layer_net")
    result = evaluate_result(example["expression"], example["inputs"])
    for value, grad in zip(result.values, result.grads, strict=True):
        assert np.shape(value) == np.shape(grad)
    for step in result.steps:
        node = result.circuit.nodes[step.node]
        for arg, contribution in zip(node.args, step.contributions, strict=True):
            assert np.shape(contribution) == np.shape(result.values[arg])


# ---------------------------------------------------------------- presets


def _svm_one_example(v: dict[str, np.ndarray]) -> float:
    s = v["W"] @ v["x"]
    return float(np.sum(np.maximum(0.0, s - s[int(v["y"])] + 1.0)) - 1.0)


# Each tensor preset's expression written again in numpy, for central differences made here.
NUMPY_FORWARD = {
    "matmul_shapes": lambda v: float(np.sum((v["W"] @ v["X"]) * v["dD"])),
    "two_layer_net": lambda v: float(
        np.sum(v["W2"] @ np.maximum(v["W1"] @ v["x"] + v["b1"], 0.0) + v["b2"])
    ),
    "svm_one_example": _svm_one_example,
}


def _central_differences(preset_id: str, v: dict[str, np.ndarray], name: str) -> np.ndarray:
    """d output / d input `name`, element by element, as (f(x + h) - f(x - h)) / 2h. Every
    preset is linear in any one element near these inputs (no relu or max is near its kink),
    so the differences are exact up to rounding, about 1e-16 · |f| / h."""
    f, h = NUMPY_FORWARD[preset_id], 1e-5
    grad = np.zeros_like(v[name])
    for index in np.ndindex(v[name].shape):
        plus, minus = dict(v), dict(v)
        plus[name], minus[name] = v[name].copy(), v[name].copy()
        plus[name][index] += h
        minus[name][index] -= h
        grad[index] = (f(plus) - f(minus)) / (2 * h)
    return grad


@pytest.mark.parametrize("example", TENSOR_PRESETS, ids=[p["id"] for p in TENSOR_PRESETS])
def test_tensor_presets_meet_their_expected_values(example: dict[str, Any]) -> None:
    result = evaluate_result(example["expression"], example["inputs"], gradcheck_=True)
    expected = example["expected"]
    v = arrays(example["inputs"])
    want = NUMPY_FORWARD[example["id"]](v)
    assert scalar_output(result) == pytest.approx(want, rel=1e-12)
    assert expected["output"] == pytest.approx(want, rel=1e-12)
    for name, shape in expected["grad_shapes"].items():
        got = np.asarray(result.gradients()[name])
        assert list(got.shape) == shape
        numeric = _central_differences(example["id"], v, name)
        np.testing.assert_allclose(got, numeric, rtol=0, atol=1e-8, err_msg=name)
    index_inputs = set(example["inputs"]) - set(expected["grad_shapes"])
    for name in index_inputs:  # an index (svm's y) is an integer and gets no gradient
        assert result.gradients()[name] == 0.0
    assert result.gradcheck is not None and result.gradcheck["passed"]
    assert result.fast is False


def test_tensor_presets_cover_the_issue() -> None:
    assert {p["id"] for p in TENSOR_PRESETS} == {
        "matmul_shapes",
        "two_layer_net",
        "svm_one_example",
    }


def test_two_layer_net_matches_hand_written_backprop() -> None:
    example = preset("two_layer_net")
    v = arrays(example["inputs"])
    result = evaluate_result(example["expression"], example["inputs"])
    pre = v["W1"] @ v["x"] + v["b1"]
    h = np.maximum(pre, 0)
    s = v["W2"] @ h + v["b2"]
    assert scalar_output(result) == pytest.approx(s.sum(), rel=1e-12)
    ds = np.ones(2)
    dh = v["W2"].T @ ds
    dpre = dh * (pre > 0)
    want = {
        "W2": np.outer(ds, h),
        "b2": ds,
        "W1": np.outer(dpre, v["x"]),
        "b1": dpre,
        "x": v["W1"].T @ dpre,
    }
    for name, grad in want.items():
        assert np.allclose(result.gradients()[name], grad, rtol=1e-13, atol=1e-15), name
    assert int((pre <= 0).sum()) == 2  # the description's two dead units


# ---------------------------------------------------------------- the multiclass SVM loss


def hinge(scores: np.ndarray, y: int, delta: float) -> tuple[float, np.ndarray]:
    """L_i = sum_{j != y} max(0, s_j - s_y + delta), and its gradient, term by term."""
    loss, grad = 0.0, np.zeros_like(scores)
    for j in range(len(scores)):
        if j == y:
            continue
        margin = scores[j] - scores[y] + delta
        if margin > 0:
            loss += margin
            grad[j] += 1.0
            grad[y] -= 1.0
    return loss, grad


def test_svm_circuit_matches_reference_cases(reference: dict[str, Any]) -> None:
    losses = []
    for case in reference["svm_scores"]["cases"]:
        delta = case["delta"]
        expression = f"L = sum(max(0, s - s[y] + {delta})) - {delta}"
        result = evaluate_result(expression, {"s": case["scores"], "y": case["y"]})
        loss, grad = hinge(np.asarray(case["scores"], dtype=np.float64), case["y"], delta)
        value = scalar_output(result)
        assert value == pytest.approx(case["loss"], rel=1e-9, abs=1e-12)
        assert value == pytest.approx(loss, rel=1e-12, abs=1e-12)
        assert np.array_equal(result.gradients()["s"], grad)
        assert result.gradients()["y"] == 0.0
        losses.append(value)
    assert np.mean(losses[:3]) == pytest.approx(
        reference["svm_scores"]["mean_first_three"], rel=1e-9
    )


def test_svm_preset_agrees_with_the_per_term_formula() -> None:
    example = preset("svm_one_example")
    v = arrays({k: val for k, val in example["inputs"].items() if k != "y"})
    y = example["inputs"]["y"]
    result = evaluate_result(example["expression"], example["inputs"], gradcheck_=True)
    scores = v["W"] @ v["x"]
    assert np.allclose(scores, [3.2, 5.1, -1.7])  # the lecture's cat scores
    loss, ds = hinge(scores, y, 1.0)
    assert scalar_output(result) == pytest.approx(loss, rel=1e-12)
    assert loss == pytest.approx(2.9)
    gradients = result.gradients()
    assert np.allclose(gradients["W"], np.outer(ds, v["x"]), rtol=1e-13)
    assert np.allclose(gradients["x"], v["W"].T @ ds, rtol=1e-13)
    # y is an index: it is listed, reported with gradient 0, and left out of the check.
    assert index_input_names(result.circuit) == ["y"]
    assert gradients["y"] == 0.0
    assert result.gradcheck is not None
    assert [item["name"] for item in result.gradcheck["inputs"]] == ["W", "x"]
    nodes = result.circuit.nodes
    y_node = next(n.id for n in nodes if n.kind == "input" and n.name == "y")
    # the one edge out of y: into the index gate's port 1, carrying gradient 0
    ((index_step, port),) = [
        (s, p) for s in result.steps for p, arg in enumerate(nodes[s.node].args) if arg == y_node
    ]
    assert index_step.contributions[port] == 0.0 and port == 1
    sub = next(s for s in result.steps if nodes[s.node].op == "sub" and "s[y]" in result.rule(s))
    assert (
        "s[y] () was broadcast to (3,), so its gradient is summed over axis 0 back to ()"
        in result.rule(sub)
    )


# ---------------------------------------------------------------- gradcheck


def test_gradcheck_reports_worst_element_per_input() -> None:
    A = [[1.0, 2.0], [3.0, -1.0]]
    check = evaluate_result(
        "sum(exp(A) * B)", {"A": A, "B": [[0.5, 1.0], [-1.0, 2.0]]}, gradcheck_=True
    ).gradcheck
    assert check is not None and check["passed"]
    for item in check["inputs"]:
        assert np.shape(item["analytic"]) == np.shape(item["numeric"]) == (2, 2)
        assert len(item["worst_index"]) == 2
        assert item["rel_error"] < 1e-6
    numeric_dA = np.asarray(check["inputs"][0]["numeric"])
    assert np.allclose(numeric_dA, np.exp(A) * np.array([[0.5, 1.0], [-1.0, 2.0]]), rtol=1e-6)


def test_gradcheck_flags_a_wrong_looking_element_as_kink_not_fail() -> None:
    check = evaluate_result("sum(relu(x))", {"x": [1.0, 0.0, -2.0]}, gradcheck_=True).gradcheck
    assert check is not None
    item = check["inputs"][0]
    assert item["status"] == "kink" and item["worst_index"] == [1]


# ---------------------------------------------------------------- fast path and parsing


def test_scalar_circuits_keep_the_fast_path() -> None:
    assert evaluate_result("(x + y) * z", {"x": -2, "y": 5, "z": -4}).fast is True
    assert evaluate_result("x * y", {"x": [1.0, 2.0], "y": 3}).fast is False


@pytest.mark.parametrize(
    ("expression", "inputs", "expected"),
    [
        ("-A.T", {"A": [[1.0, 2.0]]}, [[-1.0], [-2.0]]),  # .T binds tighter than unary minus
        ("A.T ** 2", {"A": [[1.0, 2.0]]}, [[1.0], [4.0]]),
        ("A[0] @ A.T", {"A": [[1.0, 2.0]]}, [5.0]),
        ("(A + 1)[0, -1]", {"A": [[1.0, 2.0]]}, 3.0),
        ("sum(A[:, 1:])", {"A": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]}, 16.0),
        ("reshape(A, 3, 2)[2]", {"A": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]}, [5.0, 6.0]),
        ("mean(A, 0)", {"A": [[1.0, 2.0], [3.0, 6.0]]}, [2.0, 4.0]),
        ("sum(A, -1)", {"A": [[1.0, 2.0], [3.0, 6.0]]}, [3.0, 9.0]),
        ("k = 1\nA[k]", {"A": [5.0, 7.0]}, 7.0),  # a constant stage is an integer index
        ("dot(a, b)", {"a": [1.0, 2.0], "b": [3.0, 4.0]}, 11.0),
        ("dot = dot(a, b)\nf = 2 * dot", {"a": [1.0, 2.0], "b": [3.0, 4.0]}, 22.0),
    ],
)
def test_tensor_syntax(expression: str, inputs: dict[str, Any], expected: Any) -> None:
    value = output(evaluate_result(expression, inputs))
    assert np.shape(value) == np.shape(expected)
    assert np.asarray(value).tolist() == expected


def problem(expression: str, inputs: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ProblemError) as caught:
        evaluate_result(expression, inputs)
    return caught.value.problems[0].as_detail()


W510, X310 = [[0.0] * 10] * 5, [[0.0] * 10] * 3


@pytest.mark.parametrize(
    ("expression", "inputs", "message", "line", "col"),
    [
        (
            "W @ X",
            {"W": W510, "X": X310},
            "W @ X: inner dimensions differ, W is (5,10) and X is (3,10); did you mean W @ X.T?",
            1,
            1,
        ),
        (
            "a = 1\nD = 2 * (X @ W)",
            {"W": W510, "X": X310},
            "X @ W: inner dimensions differ, X is (3,10) and W is (5,10); did you mean X @ W.T?",
            2,
            10,
        ),
        (
            "h = relu(W1 @ x + b1)\ns = W2 @ h",
            {"W1": [[1.0, 2.0]] * 3, "x": [1.0, 2.0], "b1": [0.0] * 3, "W2": [[1.0] * 4]},
            "W2 @ h: inner dimensions differ, W2 is (1,4) and h is (3,)",
            2,
            5,
        ),
        (
            "W.T @ X",
            {"W": [[1.0] * 3] * 2, "X": [[1.0] * 2] * 3},
            "inner dimensions differ, W.T is (3,2) and X is (3,2); did you mean W.T @ X.T?",
            1,
            1,
        ),
        (
            "x + W @ X",
            {"x": [1.0, 2.0], "W": [[1.0] * 3] * 2, "X": [[1.0] * 3] * 3},
            "x + W @ X: shapes do not broadcast, x is (2,) and (W @ X) is (2,3)",
            1,
            1,
        ),
        ("a @ b", {"a": 2.0, "b": [1.0]}, "a is a scalar; use * to scale", 1, 1),
        (
            "dot(A, b)",
            {"A": [[1.0]], "b": [1.0]},
            "dot(A, b): dot takes two vectors (use @ for matrices), but A is (1,1) with 2 dimensions",
            1,
            1,
        ),
        (
            "dot(a, B)",
            {"a": [1.0], "B": [[1.0]]},
            "dot(a, B): dot takes two vectors (use @ for matrices), but B is (1,1) with 2 dimensions",
            1,
            1,
        ),
        (
            "dot(a, b)",
            {"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]},
            "dot(a, b): the vectors differ in length, a is (2,) and b is (3,)",
            1,
            1,
        ),
        (
            "sum(x, 1)",
            {"x": [1.0, 2.0]},
            "axis 1 is out of range for x (2,) (valid axes: -1 to 0)",
            1,
            1,
        ),
        ("2 * s[3]", {"s": [1.0, 2.0, 3.0]}, "index 3 is out of range for axis 0 of s", 1, 5),
        (
            "s[y]",
            {"s": [1.0, 2.0], "y": 1.5},
            "the index y is 1.5, but an index must be an integer",
            1,
            1,
        ),
        ("s[y]", {"s": [1.0, 2.0], "y": [0.0]}, "the index y must be a single integer", 1, 1),
        ("s[0, 0]", {"s": [1.0, 2.0]}, "too many indices: s is (2,) with 1 dimension", 1, 1),
        ("s[2:]", {"s": [1.0, 2.0]}, "the slice [2:] selects nothing from axis 0 of s", 1, 1),
        ("x[0]", {"x": 2.0}, "x is a scalar and cannot be indexed", 1, 1),
        (
            "reshape(x, 4)",
            {"x": [1.0, 2.0, 3.0]},
            "cannot reshape x (3,) of 3 elements into (4,)",
            1,
            1,
        ),
        (
            "reshape(x, 1, 1, 2, 1)",
            {"x": [1.0, 2.0]},
            "has 4 dimensions, more than the limit of 3",
            1,
            1,
        ),
    ],
)
def test_shape_errors_say_what_and_where(
    expression: str, inputs: dict[str, Any], message: str, line: int, col: int
) -> None:
    detail = problem(expression, inputs)
    assert detail["type"] == "shape_error"
    assert message in detail["msg"], detail["msg"]
    assert (detail["line"], detail["col"]) == (line, col)


@pytest.mark.parametrize(
    ("expression", "message", "col"),
    [
        ("x.foo", "attribute access '.foo' is not allowed; the only attribute is .T", 2),
        ("x[1 + 2]", "an index holds integers, slices (1:3, :) or input names", 3),
        ("x[(1)]", "an index holds integers, slices or input names, not expressions", 3),
        ("x[1.5]", "an index must be an integer, not 1.5", 3),
        ("x[::0]", "a slice's step cannot be 0", 3),
        ("x[1:2:3:4]", "a slice has at most three parts", 3),
        ("x[0", "'[' is never closed", 2),
        ("x[]", "an empty index entry", 3),
        ("[1, 2] * x", "list literals are not allowed", 1),
        ("h = 2 * x\nx[h]", "'h' is a computed stage; an index must be an integer constant", 3),
    ],
)
def test_index_syntax_errors_say_where(expression: str, message: str, col: int) -> None:
    detail = problem(expression, {"x": [1.0, 2.0]})
    assert detail["type"] == "parse_error"
    assert message in detail["msg"], detail["msg"]
    assert detail["col"] == col


A32 = {"A": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]}


@pytest.mark.parametrize(
    ("expression", "op", "rule"),
    [
        ("m = mean(A, 0)\nL = sum(m * m)", "mean", "dA = dm / 3 copied (2,) -> (3,2)"),
        (
            "L = sum(A)",
            "sum",
            "every element of A receives the upstream gradient: dA = dL copied () -> (3,2)",
        ),
        ("t = A.T\nL = sum(t * t)", "transpose", "dA = dt.T: (2,3) -> (3,2)"),
        ("r = reshape(A, 2, 3)\nL = sum(r * r)", "reshape", "dA = dr reshaped (2,3) -> (3,2)"),
        ("L = sum(A[1])", "index", "every other element of dA (3,2) gets 0"),
        ("v = A[:, 0]\nL = v @ v", "matmul", "dv = dL · v: scalar × (3,) -> (3,)"),
        ("L = sum(A @ A.T)", "matmul", "dA = d(A @ A.T) @ (A.T).T: (3,3) @ (3,2) -> (3,2)"),
    ],
)
def test_tensor_steps_state_the_rule_in_shapes(expression: str, op: str, rule: str) -> None:
    result = evaluate_result(expression, A32)
    text = result.rule(step_for(result, op))
    assert rule in text, text


# ---------------------------------------------------------------- whole messages and rules
# Each message and caption written out in full by hand: a substring check lets a changed word
# at either end, or a second copy of a phrase (v @ v), hide a wrong message.


def shape_problem(expression: str, inputs: dict[str, Any], message: str, col: int = 1) -> None:
    detail = problem(expression, inputs)
    assert (detail["type"], detail["loc"]) == ("shape_error", ["body", "expression"])
    assert (detail["line"], detail["col"]) == (1, col)
    assert detail["msg"] == f"line 1, col {col}: {message}"


M2x2 = [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize(
    ("expression", "inputs", "message"),
    [
        # one axis: "1 dimension"; two: "2 dimensions"
        (
            "s[0, 0]",
            {"s": [1.0, 2.0]},
            "s[0, 0]: too many indices: s is (2,) with 1 dimension, the index has 2 entries",
        ),
        (
            "A[0, 0, 0]",
            {"A": M2x2},
            "A[0, 0, 0]: too many indices: A is (2,2) with 2 dimensions, the index has 3 entries",
        ),
        (
            "s[y]",
            {"s": [1.0, 2.0], "y": [0.0]},
            "s[y]: the index y must be a single integer, but it is (1,)",
        ),
        # an axis of 2 elements takes -2 to 1; an input index is named with its value
        (
            "s[y]",
            {"s": [1.0, 2.0], "y": 5.0},
            "s[y]: index y = 5 is out of range for axis 0 of s, "
            "which has 2 elements (valid: -2 to 1)",
        ),
        (
            "s[5]",
            {"s": [1.0, 2.0, 3.0]},
            "s[5]: index 5 is out of range for axis 0 of s, which has 3 elements (valid: -3 to 2)",
        ),
        # range(2, 2, 2) is empty; the step is written back
        (
            "s[2::2]",
            {"s": [1.0, 2.0]},
            "s[2::2]: the slice [2::2] selects nothing from axis 0 of s, which has 2 elements",
        ),
    ],
    ids=["s[0,0]", "A[0,0,0]", "s[y]-vector", "s[y]-out-of-range", "s[5]", "s[2::2]"],
)
def test_index_shape_errors_in_full(expression: str, inputs: dict[str, Any], message: str) -> None:
    shape_problem(expression, inputs, message)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        # a (3,) @ b (2,3): 3 == b's last axis, so b.T fits
        (
            [3],
            [2, 3],
            "A @ B: inner dimensions differ, A is (3,) and B is (2,3); did you mean A @ B.T?",
        ),
        # (3,2) @ (3,4): the first axes agree, so A.T @ B is (2,4)
        (
            [3, 2],
            [3, 4],
            "A @ B: inner dimensions differ, A is (3,2) and B is (3,4); did you mean A.T @ B?",
        ),
        # (2,3) @ (4,2): A's rows match B's columns, so B @ A is (4,3)
        (
            [2, 3],
            [4, 2],
            "A @ B: inner dimensions differ, A is (2,3) and B is (4,2); did you mean B @ A?",
        ),
        # (2,3) @ (4,5): no transpose or swap fits, so no hint
        ([2, 3], [4, 5], "A @ B: inner dimensions differ, A is (2,3) and B is (4,5)"),
    ],
    ids=["a@b.T", "a.T@b", "b@a", "no-hint"],
)
def test_matmul_hints_in_full(a: list[int], b: list[int], message: str) -> None:
    inputs = {"A": np.zeros(a).tolist(), "B": np.zeros(b).tolist()}
    shape_problem("A @ B", inputs, message)


@pytest.mark.parametrize(
    ("expression", "inputs", "message", "col"),
    [
        (
            "sum(A @ b)",
            {"A": np.ones((2, 2, 2)).tolist(), "b": [1.0, 2.0]},
            "A @ b: @ takes vectors and matrices, but A is (2,2,2) with 3 dimensions",
            5,
        ),
        (
            "reshape(x, 2, 1.5)",
            {"x": [1.0, 2.0]},
            "reshape(x, 2, 1.5): reshape's dimensions must be integers, got 2, 1.5",
            1,
        ),
        # 3 elements into (-1, 2): the known axes hold 2, and 3 is not a multiple of 2
        (
            "reshape(x, -1, 2)",
            {"x": [1.0, 2.0, 3.0]},
            "reshape(x, -1, 2): cannot reshape x (3,) of 3 elements into (-1,2): 3 is not a "
            "multiple of 2",
            1,
        ),
        ("sum(x, 0.5)", {"x": [1.0, 2.0]}, "sum(x, 0.5): the axis must be an integer, got 0.5", 1),
        # a scalar has no axis at all; a matrix has axes -2 to 1
        (
            "sum(x, 0)",
            {"x": 3.0},
            "sum(x, 0): axis 0 is out of range for x () (valid axes: none: it is a scalar)",
            1,
        ),
        (
            "mean(A, -3)",
            {"A": [[1.0, 2.0]]},
            "mean(A, -3): axis -3 is out of range for A (1,2) (valid axes: -2 to 1)",
            1,
        ),
    ]
    + [
        (
            f"reshape(x, {dims})",
            {"x": [1.0, 2.0]},
            f"reshape(x, {dims}): reshape's dimensions must be positive, with at most one -1 "
            "(inferred)",
            1,
        )
        for dims in ("0", "-2", "-1, -1", "2, 0", "-1, -3")
    ],
    ids=[
        "matmul-3d",
        "reshape-1.5",
        "reshape-not-multiple",
        "sum-axis-0.5",
        "sum-scalar-axis",
        "mean-axis--3",
        "reshape-0",
        "reshape--2",
        "reshape--1--1",
        "reshape-2-0",
        "reshape--1--3",
    ],
)
def test_matmul_reshape_and_axis_shape_errors_in_full(
    expression: str, inputs: dict[str, Any], message: str, col: int
) -> None:
    shape_problem(expression, inputs, message, col)


def test_a_vector_times_a_matrix_is_a_vector_for_the_shape_pass() -> None:
    # v (2,) @ W (2,3) is (3,), so dot with u (3,) fits: v @ W = [1+4, 2+5, 3+6] = [5, 7, 9],
    # and 5·1 + 7·0 + 9·2 = 23.
    v, W, u = [1.0, 1.0], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [1.0, 0.0, 2.0]
    result = evaluate_result("dot(v @ W, u)", {"v": v, "W": W, "u": u})
    assert scalar_output(result) == 23.0
    assert result.gradients()["u"].tolist() == [5.0, 7.0, 9.0]


@pytest.mark.parametrize(
    ("expression", "inputs", "op", "rule"),
    [
        (
            "a @ b",
            {"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]},
            "matmul",
            "matmul gate swaps like multiply, transposed so each gradient has its input's shape: "
            "da = d(a @ b) · b: scalar × (3,) -> (3,); db = d(a @ b) · a: scalar × (3,) -> (3,)",
        ),
        (
            "sum(v @ W)",
            {"v": [1.0, 2.0, 3.0], "W": [[1.0, 2.0]] * 3},
            "matmul",
            "matmul gate swaps like multiply, transposed so each gradient has its input's shape: "
            "dv = W @ d(v @ W): (3,2) @ (2,) -> (3,); dW = outer(v, d(v @ W)): (3,) ⊗ (2,) -> "
            "(3,2)",
        ),
        (
            "sum(v.T)",
            {"v": [1.0, 2.0, 3.0]},
            "transpose",
            "transpose of a vector changes nothing: v receives the upstream gradient unchanged",
        ),
        (
            "x.T * 2",
            {"x": 3.0},
            "transpose",
            "transpose of a scalar changes nothing: x receives the upstream gradient unchanged",
        ),
        (
            "mean(A)",
            A32,
            "mean",
            "mean gate distributes like add: every element of A receives the upstream gradient "
            "/ 6: dA = d(mean(A)) / 6 copied () -> (3,2)",
        ),
        (
            "sum(A)",
            A32,
            "sum",
            "sum gate distributes like add: every element of A receives the upstream gradient: "
            "dA = d(sum(A)) copied () -> (3,2)",
        ),
        # a wire named by a call reads d(exp(A)), not dexp(A)
        (
            "sum(exp(A))",
            A32,
            "sum",
            "sum gate distributes like add: every element of exp(A) receives the upstream "
            "gradient: d(exp(A)) = d(sum(exp(A))) copied () -> (3,2)",
        ),
        # the sum's own wire is "the Σ gate's output" (its text is long): its gradient is dout
        (
            "sum(exp(A) * exp(A) + exp(A))",
            A32,
            "sum",
            "sum gate distributes like add: every element of (exp(A) * exp(A) + exp(A)) receives "
            "the upstream gradient: d(exp(A) * exp(A) + exp(A)) = dout copied () -> (3,2)",
        ),
        (
            "s[y]",
            {"s": [1.0, 2.0, 3.0], "y": 1.0},
            "index",
            "index gate routes: the upstream gradient () goes back into the elements s[y] "
            "selected, and every other element of ds (3,) gets 0; the index (y = 1) is an "
            "integer, not differentiable, so it gets no gradient",
        ),
        (
            "A[i, j]",
            {"A": A32["A"], "i": 2.0, "j": 0.0},
            "index",
            "index gate routes: the upstream gradient () goes back into the elements A[i, j] "
            "selected, and every other element of dA (3,2) gets 0; the index (i = 2, j = 0) is "
            "an integer, not differentiable, so it gets no gradient",
        ),
        (
            "sum(A[::2, 1])",
            A32,
            "index",
            "index gate routes: the upstream gradient (2,) goes back into the elements "
            "A[::2, 1] selected, and every other element of dA (3,2) gets 0",
        ),
    ],
    ids=[
        "vector@vector",
        "vector@matrix",
        "transpose-vector",
        "transpose-scalar",
        "mean",
        "sum",
        "sum-of-call",
        "sum-of-long",
        "index-s[y]",
        "index-A[i,j]",
        "index-slice-step",
    ],
)
def test_tensor_rules_in_full(expression: str, inputs: dict[str, Any], op: str, rule: str) -> None:
    result = evaluate_result(expression, inputs)
    assert result.rule(step_for(result, op)) == rule


def test_an_index_gate_reads_its_input_indices() -> None:
    # s[y]: the rule reads y (where the selected element was) for both ports
    result = evaluate_result("s[y]", {"s": [1.0, 2.0, 3.0], "y": 1.0})
    y = result.circuit.input_node("y").id
    assert step_for(result, "index").uses == [[y], [y]]
    result = evaluate_result("A[i, j]", {"A": A32["A"], "i": 2.0, "j": 0.0})
    i, j = (result.circuit.input_node(n).id for n in ("i", "j"))
    assert step_for(result, "index").uses == [[i, j], [i, j], [i, j]]


def test_index_text_and_tensor_symbol() -> None:
    param = (("arg", 1), ("slice", None, None, 2), ("int", -1))
    assert index_text(param, ["A", "y"]) == "[y, ::2, -1]"
    assert index_text(param, []) == "[?, ::2, -1]"  # a caller without the argument names
    assert tensor_symbol("index", param, ["A", "y"]) == "[y, ::2, -1]"
    assert tensor_symbol("sum", (1.0,), ["A"]) == "sum(axis=1)"
    assert tensor_symbol("add", None, ["a", "b"]) is None  # add has no label
    assert tensor_symbol(None, None, []) is None  # an input or a constant


@pytest.mark.parametrize(
    ("expression", "message", "line", "col"),
    [
        ("x[(1)]", "an index holds integers, slices or input names, not expressions", 1, 3),
        ("x[[1]]", "an index holds integers, slices or input names, not expressions", 1, 3),
        ("x[0", "'[' is never closed", 1, 2),
        ("x[]", "an empty index entry: write an integer, a slice or a name", 1, 3),
        ("x[1:2:3:4]", "a slice has at most three parts, start:stop:step", 1, 3),
        ("x[::0]", "a slice's step cannot be 0", 1, 3),
        *[
            (
                expression,
                "an index holds integers, slices (1:3, :) or input names, not expressions "
                "(a constant stage, k = 2, also works)",
                1,
                3,
            )
            for expression in ("x[1 + 2]", "x[1 2]")
        ],
        (
            "h = 2 * x\nx[h]",
            "'h' is a computed stage; an index must be an integer constant or an input name "
            "(indices are not differentiable)",
            2,
            3,
        ),
        # a constant stage that is not an integer, as an index and as a slice bound
        ("k = 1.5\nx[k]", "an index must be an integer, not k", 2, 3),
        ("k = 1.5\nx[0:k]", "an index must be an integer, not k", 2, 5),
    ],
    ids=[
        "parenthesis",
        "bracket",
        "never-closed",
        "empty",
        "four-parts",
        "step-0",
        "expression",
        "two-numbers",
        "computed-stage",
        "fraction-stage",
        "fraction-stage-bound",
    ],
)
def test_index_syntax_errors_in_full(expression: str, message: str, line: int, col: int) -> None:
    detail = problem(expression, {"x": [1.0, 2.0]})
    assert (detail["type"], detail["loc"]) == ("parse_error", ["body", "expression"])
    assert (detail["line"], detail["col"]) == (line, col)
    assert detail["msg"] == f"line {line}, col {col}: {message}"


@pytest.mark.parametrize(
    ("expression", "inputs", "expected"),
    [
        ("x[+1]", {"x": [1.0, 2.0, 3.0]}, 2.0),  # an explicit + sign: element 1
        ("x[-1]", {"x": [1.0, 2.0, 3.0]}, 3.0),
        ("k = 2\nx[-k]", {"x": [1.0, 2.0, 3.0]}, 2.0),  # x[-2]
        ("k = 1\nx[0:+k]", {"x": [1.0, 2.0, 3.0]}, [1.0]),
        ("k = 1\nA[k, 0]", {"A": [[1.0, 2.0], [3.0, 4.0]]}, 3.0),  # row 1, column 0
        ("y * s[y]", {"s": [1.0, 2.0, 3.0], "y": 2.0}, 6.0),  # y read before: 2 · s[2] = 2 · 3
    ],
    ids=[
        "plus-sign",
        "minus-sign",
        "minus-stage",
        "plus-stage-bound",
        "stage-then-int",
        "input-read-before",
    ],
)
def test_index_entries_read_as_written(
    expression: str, inputs: dict[str, Any], expected: Any
) -> None:
    value = output(evaluate_result(expression, inputs))
    assert np.shape(value) == np.shape(expected)
    assert np.asarray(value).tolist() == expected


@pytest.mark.parametrize(
    "expression",
    # a (3,) then B (2,3): the shape so far, (2,3), is B's, so B is named; after B (2,3) and
    # a (3,) it is still B's. c (4,) then clashes with it on the last axis: 3 against 4.
    ["max(a, B, c)", "max(B, a, c)"],
)
def test_a_broadcast_error_names_the_operand_whose_shape_it_has_so_far(expression: str) -> None:
    inputs = {"a": [0.0] * 3, "B": [[0.0] * 3] * 2, "c": [0.0] * 4}
    shape_problem(
        expression,
        inputs,
        f"{expression}: shapes do not broadcast, B is (2,3) and c is (4,): counted from the "
        "right, axis 1 has 3 and 4, and neither is 1",
    )


def test_an_input_used_twice_as_an_index_is_listed_once() -> None:
    # A[y, y] + s[y] with y = 1: A[1, 1] + s[1] = 4 + 20
    inputs = {"A": [[1.0, 2.0], [3.0, 4.0]], "s": [10.0, 20.0], "y": 1.0}
    result = evaluate_result("A[y, y] + s[y]", inputs, gradcheck_=True)
    assert scalar_output(result) == 24.0
    assert index_input_names(result.circuit) == ["y"]
    assert result.gradcheck is not None
    assert [item["name"] for item in result.gradcheck["inputs"]] == ["A", "s"]
