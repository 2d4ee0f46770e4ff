"""coerce_value's plain-number paths: a float as it is, a JSON integer within ±2**53 converted
at once, and every other integer, bool or non-finite number through the full checks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import ProblemError
from app.engine.inputs import coerce_value

EXACT = 2**53  # the fast path's bound: every int up to it is a float64 exactly


def coerce(value: object) -> object:
    return coerce_value("x", value, 4, 1000)


@pytest.mark.parametrize(
    "value",
    [0, 1, -2, EXACT - 1, EXACT, -EXACT, EXACT + 1, -EXACT - 1, 2**63, -(2**1023), 10**308],
)
def test_an_integer_becomes_the_float_python_rounds_it_to(value: int) -> None:
    # at the bound (N), past it (N + 1, which rounds) and far past it: the same float either way
    got = coerce(value)
    assert type(got) is float
    assert got == float(value)


@given(st.integers(min_value=-(2**60), max_value=2**60))
def test_any_integer_near_the_bound_matches_float(value: int) -> None:
    got = coerce(value)
    assert type(got) is float and got == float(value)


def test_an_integer_past_the_float64_range_is_a_clear_error() -> None:
    with pytest.raises(ProblemError) as caught:
        coerce(2**1024)
    [problem] = caught.value.problems
    assert problem.loc == ("body", "inputs", "x")
    assert "beyond the float64 range" in problem.msg


@pytest.mark.parametrize("value", [True, False])
def test_a_bool_is_not_a_number(value: bool) -> None:
    with pytest.raises(ProblemError) as caught:
        coerce(value)
    assert "not bool" in caught.value.problems[0].msg


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_non_finite_float_is_refused(value: float) -> None:
    with pytest.raises(ProblemError) as caught:
        coerce(value)
    assert caught.value.problems[0].msg == "input 'x' must be finite"


def test_a_finite_float_is_the_same_object() -> None:
    value = -0.0
    got = coerce(value)
    assert got is value and math.copysign(1, got) == -1
