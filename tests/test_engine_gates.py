"""Every scalar gate against central differences, on both the fast path and the numpy path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from app.engine import GATES, evaluate_result, parse, run
from app.engine.gradcheck import rel_error
from app.engine.passes import forward
from app.engine.result import EvaluateResult
from tests.engine_result import scalar_output

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
    result = evaluate_result(expression, values)
    for name in values:
        analytic = result.gradients()[name]
        numeric = _numeric(expression, values, name)
        scale = max(1.0, abs(analytic), abs(numeric))
        assert abs(analytic - numeric) <= 1e-5 * scale, (name, analytic, numeric)


# The fast path calls math's functions and the numpy path numpy's ufuncs. Neither is correctly
# rounded: glibc documents up to 2 ulp for tanh on x86-64, and numpy's own accuracy tests allow
# 2 ulp for float64 tanh and 1 for exp and log. Each within 2 ulp of the true value, the two
# may differ by up to 4 ulp (math.tanh and np.tanh differ by up to 3 here).
VALUE_ULPS = 4

# Rules that compute the local gradient from the gate's own output pass those few ulp on,
# scaled by |d local / d out|. Near saturation that is far more than the gradient's own ulp:
# at x = 4.9, 1 - tanh² is 2.2e-4, so 1 ulp of tanh (1.1e-16) moves it by 1e-12 relatively.
LOCAL_PER_OUT = {
    "tanh": lambda xs, out: 2 * abs(out),  # local = 1 - out²
    "sigmoid": lambda xs, out: abs(1 - 2 * out),  # local = out (1 - out)
    "exp": lambda xs, out: 1.0,  # local = out
    "pow_xy": lambda xs, out: abs(math.log(xs[0])),  # exponent's local = out · ln x
}


def _ulps_apart(a: float, b: float) -> float:
    if a == b:
        return 0.0
    return abs(a - b) / math.ulp(max(abs(a), abs(b)))


def _grad_tolerance(gate: str, xs: list[float], out: float, grad: float) -> float:
    """How far the two paths' gradients (upstream 1) may be apart, in absolute terms."""
    # The rule may call a library function itself (x**(y-1), ln x) and multiply it by a value
    # that is itself up to VALUE_ULPS off: twice VALUE_ULPS in the gradient's own ulp.
    own = 2 * VALUE_ULPS * math.ulp(grad)
    sensitivity = LOCAL_PER_OUT.get(gate, lambda xs, out: 0.0)(xs, out)
    propagated = sensitivity * VALUE_ULPS * math.ulp(out)
    # tanh's out·out rounds to half an ulp of out² on each path, and 1 - out² keeps that error
    rounding = math.ulp(out * out) if gate == "tanh" else 0.0
    return own + propagated + rounding


def _assert_paths_agree(gate: str, values: dict[str, float]) -> None:
    circuit = parse(CASES[gate][0])
    fast = run(circuit, values, fast=True)
    slow = run(circuit, {k: np.float64(v) for k, v in values.items()}, fast=False)
    assert fast.fast and not slow.fast
    for a, b in zip(fast.values, slow.values, strict=True):
        assert _ulps_apart(float(a), float(b)) <= VALUE_ULPS, (float(a), float(b))
    xs = [float(v) for v in values.values()]
    out = float(slow.values[circuit.output])
    for a, b in zip(fast.grads, slow.grads, strict=True):
        if a is None:  # a node with no gradient (nothing flowed back to it) on both paths
            assert b is None
            continue
        bound = _grad_tolerance(gate, xs, out, float(b))
        assert abs(float(a) - float(b)) <= bound, (float(a), float(b), bound)


@pytest.mark.parametrize("gate", sorted(CASES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_fast_path_equals_numpy_path(gate: str, data: st.DataObject) -> None:
    expression, strategies = CASES[gate]
    values = {name: data.draw(strategy, label=name) for name, strategy in strategies.items()}
    _assert_paths_agree(gate, values)


@pytest.mark.parametrize("x", [4.9, -4.9, 4.99])
def test_fast_path_equals_numpy_path_near_tanh_saturation(x: float) -> None:
    """At these points math.tanh and np.tanh differ by 1 ulp (glibc 2.36, numpy 2.4), which makes
    1 - tanh² differ by 1.2e-12 relatively: more than the flat 1e-12 this test once used, and
    within the bound above whichever of the two functions each path calls."""
    _assert_paths_agree("tanh", {"x": x})
    _assert_paths_agree("sigmoid", {"x": x})


composite_ops = st.sampled_from(["+", "-", "*"])
# Central differences round to about eps·|f| / h: with h = 1e-6 that stays under the 1e-4
# tolerance while |f| < 1e6, so larger outputs are checked for finiteness only.
CENTRAL_DIFFERENCE_RANGE = 1e6


def _composite(ops: list[tuple[str, str]], funcs: list[str]) -> str:
    expression = "x"
    for op, operand in ops:
        expression = f"({expression} {op} {operand})"
    for func in funcs:
        if func:
            expression = f"{func}({expression} / 4)"
    return expression


def _kind(x: float) -> str | None:
    """Which non-finite number x is, in the warnings' words; None when finite."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return None


def _assert_non_finite_is_reported(result: EvaluateResult) -> None:
    """Every number is a float, and a warning names the first gate that produced each kind of
    non-finite number, forward (wire values) and backward (edge gradients)."""
    kinds_forward: dict[str, str] = {}
    for node in result.circuit.nodes:  # in forward order
        value = result.values[node.id]
        assert isinstance(value, float), value
        kind = _kind(value)
        if kind is not None:
            assert node.kind == "gate"
            kinds_forward.setdefault(kind, f"n{node.id}")
        assert isinstance(result.grads[node.id], float), result.grads[node.id]
    kinds_backward: dict[str, str] = {}
    for step in result.steps:  # in the order the steps ran
        for contribution in step.contributions:
            assert isinstance(contribution, float), contribution
            kind = _kind(contribution)
            if kind is not None:
                kinds_backward.setdefault(kind, f"n{step.node}")
    warned = {(w["pass"], w["value"]): w["node"] for w in result.warnings if "pass" in w}
    expected = {("forward", k): n for k, n in kinds_forward.items()}
    expected.update({("backward", k): n for k, n in kinds_backward.items()})
    assert warned == expected
    for name, grad in result.gradients().items():
        if not math.isfinite(grad):  # a non-finite gradient reached this input along some edge
            assert any(pass_ == "backward" for pass_, _ in warned), name


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
# x**6 / 4 = 3906.25 overflows exp; tanh(Infinity) = 1 is finite, but its gradient 0 · Infinity
# is NaN: the case that once raised TypeError in abs("NaN").
@example(ops=[("*", "x")] * 5, funcs=["exp", "tanh"], x=5.0, y=0.0, z=0.0)
# the same overflow reaching the output: value and gradient Infinity
@example(ops=[("*", "x")] * 5, funcs=["exp"], x=5.0, y=0.0, z=0.0)
# an overflow on x's path only: z's gradient stays finite and is still checked
@example(ops=[("*", "x")] * 5 + [("+", "z")], funcs=["", "exp", "tanh"], x=5.0, y=0.0, z=1.0)
def test_random_composite_circuits_match_central_differences(ops, funcs, x, y, z) -> None:
    """Random chains with forks (x, y, z reused) agree with central differences where finite,
    and report every non-finite value with a warning."""
    expression = _composite(ops, funcs)
    names = {n for n in ("x", "y", "z") if n in expression}
    values = {n: v for n, v in {"x": x, "y": y, "z": z}.items() if n in names}
    result = evaluate_result(expression, values)
    _assert_non_finite_is_reported(result)
    value = scalar_output(result)
    if not math.isfinite(value) or abs(value) >= CENTRAL_DIFFERENCE_RANGE:
        return
    forward_finite = all(math.isfinite(v) for v in result.values)
    for name in values:
        analytic = result.gradients()[name]
        if not math.isfinite(analytic):
            # only an overflow upstream in the forward pass (0 · Infinity) may make it non-finite
            assert not forward_finite, (expression, name, analytic)
            continue
        with np.errstate(all="ignore"):
            numeric = _numeric(expression, values, name)
        if not math.isfinite(numeric):
            continue  # a ±h step overflowed; the analytic gradient has nothing to compare to
        scale = max(1.0, abs(analytic), abs(numeric))
        assert abs(analytic - numeric) <= 1e-4 * scale, (expression, name, analytic, numeric)


def test_gradcheck_reports_pass_for_smooth_circuits() -> None:
    check = evaluate_result(
        "tanh(w * x + b)", {"w": 0.3, "x": -1.2, "b": 0.1}, gradcheck_=True
    ).gradcheck
    assert check is not None
    assert check["passed"] is True
    assert [i["name"] for i in check["inputs"]] == ["w", "x", "b"]
    for item in check["inputs"]:
        assert item["status"] == "pass"
        assert item["rel_error"] < 1e-7
        assert item["numeric"] == pytest.approx(item["analytic"], rel=1e-7)


def test_gradcheck_marks_inputs_near_a_kink_instead_of_failing() -> None:
    check = evaluate_result("relu(x) + y", {"x": 0.0, "y": 1.0}, gradcheck_=True).gradcheck
    assert check is not None
    items = {i["name"]: i for i in check["inputs"]}
    assert items["x"]["near_kink"] is True
    assert items["x"]["status"] == "kink"
    assert items["x"]["passed"] is None
    assert items["x"]["numeric"] == pytest.approx(0.5)
    assert items["y"]["status"] == "pass"
    assert check["passed"] is True


@pytest.mark.parametrize(
    ("expression", "inputs", "reason"),
    [
        # the analytic gradient e^1000 overflows: nothing to compare it with
        (
            "exp(x)",
            {"x": 1000.0},
            "the analytic gradient is Infinity, so no difference can be compared with it"
            " (1 of 1 entries not compared)",
        ),
        # d/dx = 1e308 is finite, but (1.79769 + 1e-5) · 1e308 is beyond the largest float
        (
            "x * 1e308",
            {"x": 1.79769},
            "the centred difference is Infinity: the output is not finite (or overflows) at"
            " x ± h (1 of 1 entries not compared)",
        ),
        # a tensor names the first entry that could not be compared: the output is e^1000 =
        # Infinity whichever entry is bumped, so each difference is inf - inf = NaN
        (
            "sum(exp(x))",
            {"x": [0.5, 1000.0]},
            "the centred difference at index [0] is NaN: the output is not finite (or"
            " overflows) at x ± h (2 of 2 entries not compared)",
        ),
    ],
)
def test_gradcheck_says_why_an_entry_is_not_compared(
    expression: str, inputs: dict[str, object], reason: str
) -> None:
    # in the engine itself (tests/test_hostile_corpus.py asks the same over HTTP), so that
    # mutation testing sees the reason's text reached
    check = evaluate_result(expression, inputs, gradcheck_=True).gradcheck
    assert check is not None
    (entry,) = check["inputs"]
    assert (entry["status"], entry["passed"], entry["reason"]) == ("not finite", None, reason)
    assert check["passed"] is True


def _gradcheck_answer(
    expression: str, inputs: dict[str, object], output_grad: float = 1.0, h: float = 1e-5
) -> dict:
    check = evaluate_result(expression, inputs, output_grad, gradcheck_=True, h=h).gradcheck
    assert check is not None
    return check


def test_gradcheck_differences_the_seeded_output() -> None:
    # the objective is output_grad · output = 2 · 3x, whose slope is 6, as the analytic gradient
    check = _gradcheck_answer("3 * x", {"x": 1.0}, output_grad=2.0)
    (entry,) = check["inputs"]
    assert entry["analytic"] == 6.0
    assert entry["numeric"] == pytest.approx(6.0, rel=1e-9)
    assert entry["rel_error"] < 1e-9
    assert (entry["passed"], entry["near_kink"], entry["status"]) == (True, False, "pass")
    assert (entry["worst_index"], entry["reason"]) == ([], None)
    assert (check["passed"], check["h"], check["tolerance"]) == (True, 1e-5, 1e-5)


@pytest.mark.parametrize(
    ("x", "analytic", "numeric", "rel_error", "status"),
    [
        # x - h = -9e-6 crosses relu's kink: (relu(1.1e-5) - relu(-9e-6)) / 2e-5 = 0.55 against
        # relu'(x) = 1; |1 - 0.55| / 1 = 0.45
        (1e-6, 1.0, 0.55, 0.45, "kink"),
        # x + h = 9e-6 crosses it: (9e-6 - 0) / 2e-5 = 0.45 against 0; |0 - 0.45| / 0.45 = 1
        (-1e-6, 0.0, 0.45, 1.0, "kink"),
        # x - h lands on the kink exactly: (2e-5 - relu(0)) / 2e-5 = 1 = relu'(x), so it passes,
        # still marked near the kink
        (1e-5, 1.0, 1.0, 0.0, "pass"),
    ],
)
def test_gradcheck_marks_a_step_across_a_kink(
    x: float, analytic: float, numeric: float, rel_error: float, status: str
) -> None:
    # relu is not at its kink at x itself: only the ±h steps say the check is near one
    check = _gradcheck_answer("relu(x)", {"x": x})
    (entry,) = check["inputs"]
    assert entry["analytic"] == analytic
    assert entry["numeric"] == pytest.approx(numeric, rel=1e-9)
    assert entry["rel_error"] == pytest.approx(rel_error, rel=1e-9)
    assert (entry["near_kink"], entry["status"]) == (True, status)
    assert entry["passed"] is (True if status == "pass" else None)
    assert check["passed"] is True


def test_gradcheck_marks_a_step_across_a_max_tie() -> None:
    # max(x, y) with x = y + 1e-6: x - h falls below y, so x's difference is
    # ((x + h) - y) / 2h = 1.1e-5 / 2e-5 = 0.55 against 1; y + h rises above x, so y's is
    # ((y + h) - x) / 2h = 9e-6 / 2e-5 = 0.45 against 0. Neither input is at the tie itself.
    check = _gradcheck_answer("max(x, y)", {"x": 1.0 + 1e-6, "y": 1.0})
    x, y = check["inputs"]
    assert (x["analytic"], y["analytic"]) == (1.0, 0.0)
    assert x["numeric"] == pytest.approx(0.55, rel=1e-6)
    assert y["numeric"] == pytest.approx(0.45, rel=1e-6)
    for entry in (x, y):
        assert (entry["passed"], entry["near_kink"], entry["status"]) == (None, True, "kink")


@pytest.mark.parametrize("expression", ["x * x * x", "relu(x * x * x)"])
def test_gradcheck_fails_a_difference_that_is_too_coarse(expression: str) -> None:
    # h = 0.5 at x = 1: ((1.5)³ - (0.5)³) / 1 = 3.375 - 0.125 = 3.25 against 3x² = 3, a relative
    # error of 0.25 / 3.25 = 1/13. No kink anywhere (relu's input stays positive): it fails.
    check = _gradcheck_answer(expression, {"x": 1.0}, h=0.5)
    (entry,) = check["inputs"]
    assert (entry["analytic"], entry["numeric"]) == (3.0, 3.25)
    assert entry["rel_error"] == pytest.approx(1 / 13, rel=1e-12)
    assert (entry["passed"], entry["near_kink"], entry["status"]) == (False, False, "fail")
    assert check["passed"] is False
    assert check["h"] == 0.5


@pytest.mark.parametrize(
    ("kinked", "inputs"),
    [
        ("relu(y)", {"x": 1.0, "y": 0.0, "z": 2.0}),  # relu at 0
        ("max(y, w)", {"x": 1.0, "y": 1.0, "w": 1.0, "z": 2.0}),  # a tie
    ],
)
def test_gradcheck_blames_a_failure_on_a_kink_anywhere_in_the_circuit(
    kinked: str, inputs: dict[str, object]
) -> None:
    # x fails as above (3.25 against 3, with h = 0.5); its steps never move the kinked gate,
    # but a gate sits at its kink, so x is marked "kink", not "fail". z (slope 1, exactly 1
    # by differences) passes and is not near a kink.
    check = _gradcheck_answer(f"x * x * x + {kinked} + z", inputs, h=0.5)
    entries = {e["name"]: e for e in check["inputs"]}
    x, z = entries["x"], entries["z"]
    assert (x["analytic"], x["numeric"]) == (3.0, 3.25)
    assert (x["passed"], x["near_kink"], x["status"]) == (None, True, "kink")
    assert (z["analytic"], z["numeric"], z["rel_error"]) == (1.0, 1.0, 0.0)
    assert (z["passed"], z["near_kink"], z["status"]) == (True, False, "pass")
    assert check["passed"] is True


def test_gradcheck_tolerance_is_a_strict_bound() -> None:
    # relu at 0 with h = 0.5 and output_grad 2e-13: (relu(0.5) - relu(-0.5)) · 2e-13 / 1 = 1e-13
    # against relu'(0) = 0. Both are under the 1e-8 floor, so the error is 1e-13 / 1e-8, exactly
    # the tolerance 1e-5: not below it, so not a pass.
    assert 1e-13 / 1e-8 == 1e-5
    check = _gradcheck_answer("relu(x)", {"x": 0.0}, h=0.5, output_grad=2e-13)
    (entry,) = check["inputs"]
    assert (entry["analytic"], entry["numeric"], entry["rel_error"]) == (0.0, 1e-13, 1e-5)
    assert (entry["passed"], entry["near_kink"], entry["status"]) == (None, True, "kink")


def test_gradcheck_keeps_the_error_of_the_finite_entries() -> None:
    # x[0]: (2h - (-2h)) / 2h = 2 exactly, as 2 analytically: error 0. x[1]: sqrt'(0) = Infinity
    check = _gradcheck_answer("x[0] * 2 + sqrt(x[1])", {"x": [0.0, 0.0]})
    (entry,) = check["inputs"]
    assert entry["rel_error"] == 0.0
    assert entry["worst_index"] == [0]
    assert (entry["passed"], entry["status"]) == (None, "not finite")
    assert entry["reason"] == (
        "the analytic gradient at index [1] is Infinity, so no difference can be compared with "
        "it (1 of 2 entries not compared)"
    )


def test_gradcheck_rel_error_scales_by_the_larger_magnitude() -> None:
    assert rel_error(1.0, 0.5) == 0.5  # |1 - 0.5| / 1
    assert rel_error(0.5, 1.0) == 0.5
    assert rel_error(-2.0, 2.0) == 2.0  # |-1 - 1|
    assert rel_error(1e-9, 0.0) == pytest.approx(0.1, rel=1e-12)  # under the floor: / 1e-8
    assert rel_error(3.0, 3.0) == 0.0


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
