"""Tensor circuits end to end: the notes' matmul example, the SVM loss, presets, shape errors."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from app.core.errors import ProblemError
from app.engine import evaluate_result
from app.engine.tensor_gates import index_input_names
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
