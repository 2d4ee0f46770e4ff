"""Every gate's backward caption, number by number, against arithmetic written out here."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from app.engine import GATES, evaluate_result, parse
from app.engine.report import node_symbol
from app.engine.result import EvaluateResult, StepResult
from tests.engine_result import op_of

# A caption number: 4 significant digits, maybe an exponent; not the digit of a name like x0.
_NUMBER = re.compile(r"(?<![A-Za-z_0-9.])-?\d+(?:\.\d+)?(?:e-?\d+)?")
# A shape as captions print it: (3,2), (3,) or () for a scalar.
_SHAPE = re.compile(r"\((?:\d+,)*\d*\)")


def numbers(caption: str) -> list[float]:
    return [float(n) for n in _NUMBER.findall(caption)]


def assert_numbers(caption: str, expected: list[float]) -> None:
    """The caption's numbers, in order, equal `expected` to the 4 significant digits shown."""
    found = numbers(caption)
    assert len(found) == len(expected), (caption, found, expected)
    for got, want in zip(found, expected, strict=True):
        assert abs(got - want) <= 5e-4 * abs(want), (caption, found, expected)


def step(result: EvaluateResult, op: str) -> StepResult:
    (found,) = [s for s in result.steps if op_of(result, s) == op]
    return found


def rule(expression: str, inputs: dict[str, Any], op: str, upstream: float, **kw: Any) -> str:
    result = evaluate_result(expression, inputs, output_grad=upstream, **kw)
    return result.rule(step(result, op))


# ---------------------------------------------------------------- arithmetic


def test_add_states_the_contribution_not_the_local_gradient() -> None:
    # x + y with upstream -2.5: each input receives 1 · (-2.5) = -2.5
    caption = rule("x + y", {"x": 1.5, "y": -4.0}, "add", -2.5)
    assert "x and y each receive" in caption
    assert_numbers(caption, [-2.5, 1, -2.5, -2.5])


def test_sub_gives_the_second_input_the_negated_gradient() -> None:
    # x - y with upstream -2.5: x receives +1 · -2.5 = -2.5, y receives -1 · -2.5 = 2.5
    caption = rule("x - y", {"x": 1.5, "y": -4.0}, "sub", -2.5)
    assert caption.index("x receives") < caption.index("y receives")
    assert_numbers(caption, [1, -2.5, -2.5, -1, -2.5, 2.5])


def test_mul_swaps_the_inputs() -> None:
    # x * y, x = 1.5, y = -4, upstream -2.5: dx = y · g = -4 · -2.5 = 10; dy = x · g = -3.75
    caption = rule("x * y", {"x": 1.5, "y": -4.0}, "mul", -2.5)
    assert caption.index("x receives y") < caption.index("y receives x")
    assert_numbers(caption, [-4, -2.5, 10, 1.5, -2.5, -3.75])


def test_div() -> None:
    # x / y, x = 3, y = -4, upstream 2: dx = 2 / -4 = -0.5; local dy = -x/y² = -3/16 = -0.1875,
    # dy = -0.1875 · 2 = -0.375
    caption = rule("x / y", {"x": 3.0, "y": -4.0}, "div", 2.0)
    assert_numbers(caption, [2, -4, -0.5, -0.1875, 2, -0.375])


def test_neg() -> None:
    # -x with upstream -2.5: dx = -1 · -2.5 = 2.5
    assert_numbers(rule("-x", {"x": 1.5}, "neg", -2.5), [-1, -2.5, 2.5])


def test_pow_by_a_constant() -> None:
    # x ** 3 at x = -2, upstream 0.5: local 3·x^2 = 3 · 4 = 12, dx = 12 · 0.5 = 6
    assert_numbers(rule("x ** 3", {"x": -2.0}, "pow", 0.5), [3, 2, 12, 0.5, 6])


def test_pow_of_two_inputs() -> None:
    # x ** y at x = 2, y = 3, upstream 0.5: dx = y·x^(y-1)·g = 3·4·0.5 = 6;
    # dy = x^y·ln x·g = 8·ln 2·0.5 = 4 ln 2 = 2.7726 (the "1" is the y-1 in the formula)
    caption = rule("x ** y", {"x": 2.0, "y": 3.0}, "pow_xy", 0.5)
    assert_numbers(caption, [1, 6, 4 * math.log(2)])


# ---------------------------------------------------------------- max and min route


@pytest.mark.parametrize("word", ["max", "min"])
@pytest.mark.parametrize("values", [(5.0, 1.0, 2.0), (1.0, 5.0, 2.0), (1.0, 2.0, 5.0)])
def test_the_winner_named_is_the_actual_winner_in_every_position(
    word: str, values: tuple[float, ...]
) -> None:
    names = ["x", "y", "z"]
    pick = max(values) if word == "max" else min(values)
    winner = names[values.index(pick)]
    losers = [n for n in names if n != winner]
    caption = rule(f"{word}(x, y, z)", dict(zip(names, values, strict=True)), word, -2.5)
    extreme = "larger" if word == "max" else "smaller"
    assert f"routes the gradient -2.5 to {winner}, the {extreme} input" in caption, caption
    assert f"{losers[0]} and {losers[1]} get 0" in caption, caption
    assert_numbers(caption, [-2.5, 0])


def test_a_two_input_max_names_its_loser() -> None:
    caption = rule("max(z, w)", {"z": 2.0, "w": 3.0}, "max", 2.0)
    assert caption == "max gate routes the gradient 2 to w, the larger input; z gets 0"


def test_max_lists_its_arguments_in_the_order_written() -> None:
    """The forward view of max(z, w) (symbol, inputs, text) keeps z first and w second."""
    result = evaluate_result("max(z, w)", {"z": 3.0, "w": 2.0})
    gate = result.circuit.nodes[result.circuit.output]
    arg_names = [result.names[a] for a in gate.args]  # in port order
    assert node_symbol(gate, arg_names) == "max" and result.texts[gate.id] == "max(z, w)"
    assert arg_names == ["z", "w"]
    assert [result.values[a] for a in gate.args] == [3.0, 2.0]


def test_a_tie_under_first_says_it_is_a_tie_and_who_got_the_gradient() -> None:
    caption = rule("max(a, b)", {"a": 1.0, "b": 1.0}, "max", 2.0, tie_break="first")
    assert "the larger input" not in caption
    assert caption.startswith(
        "max gate has a tie at 1 between a and b: it sends the whole gradient 2 to a, "
        "the first tied input; b gets 0"
    ), caption
    assert "any non-negative split that sums to 1 is a valid subgradient" in caption


def test_a_tie_under_split_states_each_share() -> None:
    # a = b = 1 tie, upstream 2: each gets 2 / 2 = 1
    caption = rule("max(a, b)", {"a": 1.0, "b": 1.0}, "max", 2.0)
    assert caption.startswith("max gate has a tie at 1 between a and b: it splits the gradient 2")
    assert "a gets 1, b gets 1" in caption
    assert "any non-negative split that sums to 1 is a valid subgradient" in caption


@pytest.mark.parametrize("tie_break", ["split", "first"])
def test_a_three_way_min_tie_with_a_loser(tie_break: str) -> None:
    # min(a, b, c, d) with a = c = d = -1 tied and b = 4 losing; upstream 3
    inputs = {"a": -1.0, "b": 4.0, "c": -1.0, "d": -1.0}
    caption = rule("min(a, b, c, d)", inputs, "min", 3.0, tie_break=tie_break)
    assert caption.startswith("min gate has a tie at -1 between a, c and d: "), caption
    head = caption.split(". Kink")[0]
    if tie_break == "split":  # 3 / 3 = 1 each
        assert head.endswith("it splits the gradient 3: a gets 1, c gets 1, d gets 1; b gets 0")
    else:
        assert head.endswith(
            "it sends the whole gradient 3 to a, the first tied input; b, c and d get 0"
        )


def test_a_tie_in_second_and_third_place_names_them() -> None:
    caption = rule("max(a, b, c)", {"a": 0.0, "b": 7.0, "c": 7.0}, "max", 1.0, tie_break="first")
    assert caption.startswith(
        "max gate has a tie at 7 between b and c: it sends the whole gradient 1 to b, "
        "the first tied input; a and c get 0"
    ), caption


def test_a_nan_input_has_no_winner() -> None:
    # log(-1) is NaN, so max(NaN, b) is NaN and no input equals it: nobody gets gradient
    result = evaluate_result("max(log(a), b)", {"a": -1.0, "b": 1.0})
    assert (
        result.rule(step(result, "max"))
        == "max gate's output is NaN: no input won, so every input gets 0"
    )
    assert result.gradients() == {"a": 0.0, "b": 0.0}


# ---------------------------------------------------------------- elementwise functions


def test_exp() -> None:
    # exp(0.5) = 1.6487..., upstream -2: dx = 1.6487 · -2 = -3.2974
    e = math.e**0.5
    assert_numbers(rule("exp(x)", {"x": 0.5}, "exp", -2.0), [e, -2, -2 * e])


def test_log() -> None:
    # log at x = 4, upstream 3: local 1/x = 0.25, dx = 0.75 (the "1" is the 1/x in the wording)
    assert_numbers(rule("log(x)", {"x": 4.0}, "log", 3.0), [1, 0.25, 3, 0.75])


def test_sqrt() -> None:
    # sqrt at x = 4, upstream 3: local 1/(2·√4) = 0.25, dx = 0.75
    assert_numbers(rule("sqrt(x)", {"x": 4.0}, "sqrt", 3.0), [1, 2, 0.25, 3, 0.75])


def test_abs() -> None:
    # abs at x = -3, upstream 2: local sign(-3) = -1, dx = -2
    assert_numbers(rule("abs(x)", {"x": -3.0}, "abs", 2.0), [-1, 2, -2])


def test_relu_passes_and_blocks() -> None:
    passed = rule("relu(x)", {"x": 2.5}, "relu", -3.0)
    assert "passes" in passed
    assert_numbers(passed, [-3, 2.5, 0])
    blocked = rule("relu(x)", {"x": -1.5}, "relu", -3.0)
    assert "blocks" in blocked and "x gets 0" in blocked
    assert_numbers(blocked, [-1.5, 0, 0])


def test_relu_of_a_scalar_on_the_numpy_path_says_pass_or_block() -> None:
    # sum(v) is a 0-d array, not a float: still the scalar caption. sum([1, 2]) = 3 > 0 passes
    # the upstream -3; sum([-1, -0.5]) = -1.5 blocks it.
    assert rule("relu(sum(v))", {"v": [1.0, 2.0]}, "relu", -3.0) == (
        "relu gate passes the gradient -3 through: its input 3 > 0"
    )
    assert rule("relu(sum(v))", {"v": [-1.0, -0.5]}, "relu", -3.0) == (
        "relu gate blocks the gradient: its input -1.5 ≤ 0, so sum(v) gets 0"
    )


def test_sigmoid() -> None:
    # σ(1) = 1 / (1 + e^-1) = 0.73106, upstream 2: dx = σ(1 - σ) · 2 = 0.39322
    s = 1 / (1 + math.exp(-1))
    caption = rule("sigmoid(x)", {"x": 1.0}, "sigmoid", 2.0)
    # "σ(1-σ) · upstream = 0.7311·(1-0.7311) · 2 = 0.3932": the minus is part of "1-"
    assert_numbers(caption, [1, s, 1, s, 2, 2 * s * (1 - s)])


def test_tanh() -> None:
    # tanh(0.5) = 0.46212, local 1 - tanh² = 0.78645, upstream 2: dx = 1.5729
    t = (math.exp(1) - 1) / (math.exp(1) + 1)  # tanh(0.5) = (e^1 - 1)/(e^1 + 1)
    assert_numbers(rule("tanh(x)", {"x": 0.5}, "tanh", 2.0), [1, 1 - t * t, 2, 2 * (1 - t * t)])


# ---------------------------------------------------------------- tensor gates state shapes

A32 = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
B23 = [[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]]


def shapes(caption: str) -> list[str]:
    return _SHAPE.findall(caption)


def test_matmul_shapes() -> None:
    # D = A @ B, A (3,2), B (2,3), D (3,3): dA = dD @ B.T (3,3)@(3,2) -> (3,2);
    # dB = A.T @ dD (2,3)@(3,3) -> (2,3)
    caption = rule("D = A @ B\nL = sum(D)", {"A": A32, "B": B23}, "matmul", 1.0)
    assert "dA = dD @ B.T" in caption and "dB = A.T @ dD" in caption
    assert shapes(caption) == ["(3,3)", "(3,2)", "(3,2)", "(2,3)", "(3,3)", "(2,3)"]


def test_matmul_of_a_matrix_and_a_vector() -> None:
    # y = A @ v, A (3,2), v (2,): dA = outer(dy, v) (3,) ⊗ (2,) -> (3,2); dv = A.T @ dy -> (2,)
    caption = rule("y = A @ v\nL = sum(y)", {"A": A32, "v": [1.0, 2.0]}, "matmul", 1.0)
    assert "dA = outer(dy, v)" in caption and "dv = A.T @ dy" in caption
    assert shapes(caption) == ["(3,)", "(2,)", "(3,2)", "(2,3)", "(3,)", "(2,)"]


def test_dot_states_the_upstream_number() -> None:
    caption = rule("L = dot(a, b)", {"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]}, "dot", -2.5)
    assert "da = dL · b = -2.5 · b" in caption and "db = dL · a" in caption
    assert shapes(caption) == ["(3,)", "(3,)"]


def test_transpose_reshape_sum_mean_and_index() -> None:
    x = {"A": A32}
    transposed = rule("t = A.T\nL = sum(t)", x, "transpose", 1.0)
    assert "dA = dt.T: (2,3) -> (3,2)" in transposed
    reshaped = rule("r = reshape(A, 2, 3)\nL = sum(r)", x, "reshape", 1.0)
    assert "dA = dr reshaped (2,3) -> (3,2)" in reshaped
    summed = rule("s = sum(A, 0)\nL = s @ s", x, "sum", 1.0)
    assert "along axis 0, every element of A" in summed
    assert "dA = ds copied (2,) -> (3,2)" in summed
    # mean over axis 0 of a (3,2) matrix divides by its 3 rows
    averaged = rule("m = mean(A, 0)\nL = sum(m)", x, "mean", 1.0)
    assert "dA = dm / 3 copied (2,) -> (3,2)" in averaged
    whole = rule("L = mean(A)", x, "mean", 1.0)  # 6 elements in all
    assert "dA = dL / 6 copied () -> (3,2)" in whole
    indexed = rule("L = sum(A[1])", x, "index", 1.0)
    assert "the upstream gradient (2,) goes back into the elements A[1] selected" in indexed
    assert "every other element of dA (3,2) gets 0" in indexed


def test_elementwise_gates_on_tensors_name_the_broadcast() -> None:
    # A (3,2) * v (2,): v was broadcast over axis 0, so its gradient is summed over axis 0
    caption = rule("p = A * v\nL = sum(p)", {"A": A32, "v": [1.0, 2.0]}, "mul", 1.0)
    assert "v (2,) was broadcast to (3,2), so its gradient is summed over axis 0" in caption


def test_add_on_tensors_states_what_each_input_receives_before_broadcasting_sums_it() -> None:
    # x (2,) + y (): the upstream of sum is 1 per element, so add's upstream is (2,), and each
    # input receives 1 · (2) = (2) whichever comes first; y's is then summed back to () (the
    # broadcast note says so). Before, the caption named input 0's summed contribution: "= 2"
    # for sum(y + x).
    for expression, first, second in (("sum(x + y)", "x", "y"), ("sum(y + x)", "y", "x")):
        caption = rule(expression, {"x": [1.0, 2.0], "y": 3.0}, "add", 1.0)
        assert caption == (
            f"add gate distributes the upstream gradient (2) unchanged to both inputs: {first} "
            f"and {second} each receive 1 · (2) = (2); broadcasting: y () was broadcast to (2,), "
            "so its gradient is summed over axis 0 back to ()"
        )


# Which test above covers each gate's caption; a new gate must add one.
COVERED = {
    "add": test_add_states_the_contribution_not_the_local_gradient,
    "sub": test_sub_gives_the_second_input_the_negated_gradient,
    "mul": test_mul_swaps_the_inputs,
    "div": test_div,
    "neg": test_neg,
    "pow": test_pow_by_a_constant,
    "pow_xy": test_pow_of_two_inputs,
    "max": test_the_winner_named_is_the_actual_winner_in_every_position,
    "min": test_the_winner_named_is_the_actual_winner_in_every_position,
    "exp": test_exp,
    "log": test_log,
    "sqrt": test_sqrt,
    "abs": test_abs,
    "relu": test_relu_passes_and_blocks,
    "sigmoid": test_sigmoid,
    "tanh": test_tanh,
    "matmul": test_matmul_shapes,
    "dot": test_dot_states_the_upstream_number,
    "transpose": test_transpose_reshape_sum_mean_and_index,
    "reshape": test_transpose_reshape_sum_mean_and_index,
    "sum": test_transpose_reshape_sum_mean_and_index,
    "mean": test_transpose_reshape_sum_mean_and_index,
    "index": test_transpose_reshape_sum_mean_and_index,
}


def test_every_gate_has_a_caption_test() -> None:
    assert set(GATES) <= set(COVERED), sorted(set(GATES) - set(COVERED))


def test_a_long_index_wire_is_named_by_its_subscript() -> None:
    # (exp(a) * exp(a) + exp(a))[y] is too long to quote (over 24 characters), so captions name
    # it by its gate, written with its index input's name: [y], not [?]
    result = evaluate_result("(exp(a) * exp(a) + exp(a))[y] * 2", {"a": [0.0, 1.0], "y": 1})
    caption = result.rule(result.steps[0])  # the output's multiply, the first step back
    assert caption == (
        "multiply gate swaps: the [y] gate's output receives 2 · upstream = 2 · 1 = 2; "
        "2 receives the [y] gate's output · upstream = 10.11 · 1 = 10.11"
    )
    picked = math.e * math.e + math.e  # element y = 1 of exp(a)*exp(a) + exp(a), a = [0, 1]
    assert_numbers(caption, [2, 2, 1, 2, 2, picked, 1, picked])


def _zeros(*shape: int) -> Any:
    return np.zeros(shape).tolist()


def test_both_inputs_broadcast_each_get_a_note() -> None:
    # x (2,1) + y (1,2) is (2,2): x is stretched along axis 1, y along axis 0; the add's
    # upstream is d(sum p) = ones (2,2), and x receives it summed over axis 1, shape (2,1)
    caption = rule("p = x + y\nL = sum(p)", {"x": [[1.0], [2.0]], "y": [[3.0, 4.0]]}, "add", 1.0)
    assert caption == (
        "add gate distributes the upstream gradient (2×2) unchanged to both inputs: x and y "
        "each receive 1 · (2×2) = (2×2); broadcasting: x (2,1) was broadcast to (2,2), so its "
        "gradient is summed over axis 1 back to (2,1); y (1,2) was broadcast to (2,2), so its "
        "gradient is summed over axis 0 back to (1,2)"
    )


def test_a_broadcast_over_a_new_and_a_stretched_axis_lists_both_axes() -> None:
    # x (2,1) against (3,2,4): a new leading axis 0, and x's axis 1 (axis 2 of the output)
    # stretched from 1 to 4; y has the output's shape, so it gets no note
    inputs = {"x": [[1.0], [2.0]], "y": _zeros(3, 2, 4)}
    caption = rule("p = x + y\nL = sum(p)", inputs, "add", 1.0)
    assert caption == (
        "add gate distributes the upstream gradient (3×2×4) unchanged to both inputs: x and y "
        "each receive 1 · (3×2×4) = (3×2×4); broadcasting: x (2,1) was broadcast to (3,2,4), so "
        "its gradient is summed over axes 0, 2 back to (2,1)"
    )


def test_a_length_one_axis_that_stays_one_is_not_summed() -> None:
    # x (2,1) against (4,2,1): only the new leading axis 0 is summed; x's last axis is 1 in
    # the output too
    inputs = {"x": [[1.0], [2.0]], "y": _zeros(4, 2, 1)}
    caption = rule("p = x + y\nL = sum(p)", inputs, "add", 1.0)
    assert caption.endswith(
        "; broadcasting: x (2,1) was broadcast to (4,2,1), so its gradient is summed over "
        "axis 0 back to (2,1)"
    )
    assert caption.count("broadcast") == 2  # "broadcasting:" and one note: y's shape is out's


@pytest.mark.parametrize(
    ("inner", "name"),
    [
        # 24 characters: the text itself, in parentheses as it has spaces and is not a call
        ("x1234567890 + y123456789", "(x1234567890 + y123456789)"),
        # 25 characters: too long to read, so the gate's symbol
        ("x1234567890 + y1234567890", "the + gate's output"),
        # a call reads bare; a call of a call does not
        ("max(x, y)", "max(x, y)"),
        ("abs(max(x, y))", "(abs(max(x, y)))"),
        ("x*y", "x*y"),
    ],
    ids=["24", "25", "call", "call-of-call", "no-spaces"],
)
def test_a_wire_is_named_by_its_text_up_to_24_characters(inner: str, name: str) -> None:
    expression = f"exp({inner})"
    inputs = {k: 0.0 for k in parse(expression).input_names}
    # every input 0, so the inner wire is 0 and e^0 = 1: it receives 1 · 1 = 1
    assert rule(expression, inputs, "exp", 1.0) == (
        f"exp gate multiplies by its own output e^x: {name} receives 1 · 1 = 1"
    )


def test_an_input_is_named_by_its_name_however_long() -> None:
    # 26 characters, past the 24 at which a gate's text gives way to "the ... gate's output"
    name = "abcdefghijklmnopqrstuvwxyz"
    assert rule(f"exp({name})", {name: 0.0}, "exp", 1.0) == (
        f"exp gate multiplies by its own output e^x: {name} receives 1 · 1 = 1"
    )


def test_a_constant_is_named_by_its_number_not_as_written() -> None:
    # 2.50 as written is the number 2.5; x = 4, upstream 1: x receives 2.5 · 1 = 2.5, the
    # constant receives 4 · 1 = 4
    assert rule("x * 2.50", {"x": 4.0}, "mul", 1.0) == (
        "multiply gate swaps: x receives 2.5 · upstream = 2.5 · 1 = 2.5; 2.5 receives x · "
        "upstream = 4 · 1 = 4"
    )
