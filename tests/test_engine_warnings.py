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
