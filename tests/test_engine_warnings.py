"""Non-finite warnings name the gate once: by its stage name, or as 'the exp gate' alone."""

from __future__ import annotations

from app.engine import evaluate_result


def test_a_long_unnamed_wire_is_called_the_gate_not_the_gate_the_gates_output() -> None:
    # exp of 3**12 overflows: e**531441 is Infinity, and its gradient e**531441 * 1 too.
    result = evaluate_result(
        "exp(x*x*x*x*x*x*x*x*x*x*x*x + y*y*y*y*y*y*y*y*y) + 1", {"x": 3.0, "y": 1.0}
    )
    assert [w["msg"] for w in result.warnings] == [
        "the exp gate produced Infinity in the forward pass",
        "the backward step of the exp gate produced a gradient of Infinity",
    ]


def test_a_named_stage_is_called_by_its_name() -> None:
    result = evaluate_result("e = exp(x)\ne + 1", {"x": 1000.0})  # e**1000 > 1.8e308: Infinity
    assert [w["msg"] for w in result.warnings] == [
        "the exp gate e produced Infinity in the forward pass",
        "the backward step of the exp gate e produced a gradient of Infinity",
    ]
    assert [(w["pass"], w["value"]) for w in result.warnings] == [
        ("forward", "Infinity"),
        ("backward", "Infinity"),
    ]


def test_each_non_finite_kind_is_named_once_per_pass_in_order() -> None:
    # x / y with y = 0: 1/0 = Infinity, -1/0 = -Infinity, 0/0 = NaN, all in the div gate; the
    # sum of them is NaN, already named. Backward, x's gradient is 1/y = Infinity everywhere
    # and y's -x/y² = -Infinity, Infinity, NaN: Infinity is named once, then the other two.
    result = evaluate_result("sum(x / y)", {"x": [1.0, -1.0, 0.0], "y": [0.0, 0.0, 0.0]})
    forward = "the div gate (x / y) produced {} in the forward pass"
    backward = "the backward step of the div gate (x / y) produced a gradient of {}"
    assert result.warnings == [
        {"node": "n2", "pass": "forward", "value": kind, "msg": forward.format(kind)}
        for kind in ("Infinity", "-Infinity", "NaN")
    ] + [
        {"node": "n2", "pass": "backward", "value": kind, "msg": backward.format(kind)}
        for kind in ("Infinity", "-Infinity", "NaN")
    ]


def test_a_scalar_nan_is_named_once_forward_and_once_backward() -> None:
    # 0/0 is NaN; NaN + 1 is NaN again (not named twice); d/dx (x / y) = 1/0 = Infinity and
    # d/dy = -0/0 = NaN
    result = evaluate_result("x / y + 1", {"x": 0.0, "y": 0.0})
    assert [(w["node"], w["pass"], w["value"]) for w in result.warnings] == [
        ("n2", "forward", "NaN"),
        ("n2", "backward", "Infinity"),
        ("n2", "backward", "NaN"),
    ]
