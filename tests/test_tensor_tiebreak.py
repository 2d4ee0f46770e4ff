"""Tensor max and min at ties, under both conventions, against gradients worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import evaluate_result
from app.engine.gates import Kink
from tests.engine_result import op_of

THIRD = 1 / 3


def grads(expression: str, inputs: dict[str, Any], tie_break: str) -> dict[str, Any]:
    """Each input's gradient as nested lists of floats (the shape kept)."""
    result = evaluate_result(expression, inputs, tie_break=tie_break)
    return {name: g.tolist() for name, g in result.gradients().items()}


def kink(expression: str, inputs: dict[str, Any], tie_break: str, op: str) -> Kink:
    result = evaluate_result(expression, inputs, tie_break=tie_break)
    (step,) = [s for s in result.steps if op_of(result, s) == op]
    assert step.kink is not None
    return step.kink


# sum(max(a, b)), a = [1, 2], b = [1, 0]: element 0 is a tie (1 = 1), element 1 is won by a.
# first: the tie goes wholly to a, so da = [1, 1], db = [0, 0].
# split: the tie is shared, so da = [1/2, 1], db = [1/2, 0].
@pytest.mark.parametrize(
    ("tie_break", "da", "db"),
    [("first", [1.0, 1.0], [0.0, 0.0]), ("split", [0.5, 1.0], [0.5, 0.0])],
)
def test_max_of_two_vectors_with_one_tie(tie_break: str, da: list[float], db: list[float]) -> None:
    assert grads("sum(max(a, b))", {"a": [1.0, 2.0], "b": [1.0, 0.0]}, tie_break) == {
        "a": da,
        "b": db,
    }


def test_the_upstream_gradient_is_what_gets_routed() -> None:
    # 2 · sum(max(a, b)): every element's upstream is 2, so the shares above double
    inputs = {"a": [1.0, 2.0], "b": [1.0, 0.0]}
    assert grads("2 * sum(max(a, b))", inputs, "first") == {"a": [2.0, 2.0], "b": [0.0, 0.0]}
    assert grads("2 * sum(max(a, b))", inputs, "split") == {"a": [1.0, 2.0], "b": [1.0, 0.0]}


# sum(max(a, b, c)), a = [3, 3, -1], b = [3, 1, 2], c = [3, 3, 2]:
#   element 0: a = b = c = 3, a three-way tie     first -> a;      split -> 1/3 each
#   element 1: a = c = 3 tie, b = 1 loses          first -> a;      split -> a, c 1/2
#   element 2: b = c = 2 tie, a = -1 loses         first -> b;      split -> b, c 1/2
MAX3 = {"a": [3.0, 3.0, -1.0], "b": [3.0, 1.0, 2.0], "c": [3.0, 3.0, 2.0]}


def test_three_way_max_ties_first() -> None:
    assert grads("sum(max(a, b, c))", MAX3, "first") == {
        "a": [1.0, 1.0, 0.0],
        "b": [0.0, 0.0, 1.0],
        "c": [0.0, 0.0, 0.0],
    }


def test_three_way_max_ties_split() -> None:
    assert grads("sum(max(a, b, c))", MAX3, "split") == {
        "a": [THIRD, 0.5, 0.0],
        "b": [THIRD, 0.0, 0.5],
        "c": [THIRD, 0.5, 0.5],
    }


# sum(min(a, b, c)), a = [1, 2, 0], b = [1, 0, 3], c = [1, 5, 0]:
#   element 0: all three are 1                     first -> a;      split -> 1/3 each
#   element 1: b = 0 is the smallest, no tie       b gets 1 either way
#   element 2: a = c = 0 tie, b = 3 loses          first -> a;      split -> a, c 1/2
MIN3 = {"a": [1.0, 2.0, 0.0], "b": [1.0, 0.0, 3.0], "c": [1.0, 5.0, 0.0]}


def test_three_way_min_ties_first() -> None:
    assert grads("sum(min(a, b, c))", MIN3, "first") == {
        "a": [1.0, 0.0, 1.0],
        "b": [0.0, 1.0, 0.0],
        "c": [0.0, 0.0, 0.0],
    }


def test_three_way_min_ties_split() -> None:
    assert grads("sum(min(a, b, c))", MIN3, "split") == {
        "a": [THIRD, 0.0, 0.5],
        "b": [THIRD, 1.0, 0.0],
        "c": [THIRD, 0.0, 0.5],
    }


def test_min_of_two_vectors() -> None:
    # min(a, b), a = [4, -1], b = [4, 2]: element 0 ties at 4, element 1 is won by a
    inputs = {"a": [4.0, -1.0], "b": [4.0, 2.0]}
    assert grads("sum(min(a, b))", inputs, "first") == {"a": [1.0, 1.0], "b": [0.0, 0.0]}
    assert grads("sum(min(a, b))", inputs, "split") == {"a": [0.5, 1.0], "b": [0.5, 0.0]}


# max(A, v) with A = [[1, 2], [0, 1]] and v = [1, 1] broadcast along the rows:
#   row 0: (1 vs 1) tie, (2 vs 1) A wins; row 1: (0 vs 1) v wins, (1 vs 1) tie.
# v's gradient is summed over the rows it was copied to.
#   first: dA = [[1, 1], [0, 1]], dv = [0 + 1, 0 + 0] = [1, 0]
#   split: dA = [[1/2, 1], [0, 1/2]], dv = [1/2 + 1, 0 + 1/2] = [3/2, 1/2]
@pytest.mark.parametrize(
    ("tie_break", "dA", "dv"),
    [
        ("first", [[1.0, 1.0], [0.0, 1.0]], [1.0, 0.0]),
        ("split", [[0.5, 1.0], [0.0, 0.5]], [1.5, 0.5]),
    ],
)
def test_ties_under_broadcasting(tie_break: str, dA: list[Any], dv: list[float]) -> None:
    inputs = {"A": [[1.0, 2.0], [0.0, 1.0]], "v": [1.0, 1.0]}
    assert grads("sum(max(A, v))", inputs, tie_break) == {"A": dA, "v": dv}


@pytest.mark.parametrize("tie_break", ["first", "split"])
def test_the_kink_counts_the_tied_elements(tie_break: str) -> None:
    # MAX3 has ties at all 3 elements; every input takes part in at least one of them
    found = kink("sum(max(a, b, c))", MAX3, tie_break, "max")
    assert found.kind == "tie" and found.count == 3
    assert found.interval == [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]
    # a = [1, 2], b = [1, 0]: one tied element, both inputs in it
    one = kink("sum(max(a, b))", {"a": [1.0, 2.0], "b": [1.0, 0.0]}, tie_break, "max")
    assert one.count == 1


def test_no_tie_no_kink_and_the_same_gradient_both_ways() -> None:
    inputs = {"a": [1.0, -2.0], "b": [0.0, 5.0]}
    for tie_break in ("first", "split"):
        assert grads("sum(max(a, b))", inputs, tie_break) == {"a": [1.0, 0.0], "b": [0.0, 1.0]}
        result = evaluate_result("sum(max(a, b))", inputs, tie_break=tie_break)
        (step,) = [s for s in result.steps if op_of(result, s) == "max"]
        assert step.kink is None
