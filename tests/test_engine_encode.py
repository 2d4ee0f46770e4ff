"""The verbose encoder's wire format: non-finite numbers as strings, strict JSON, a kink's interval.

Engine tests assert on the typed result; what only the wire shows (the strings "Infinity",
"-Infinity" and "NaN", and that every answer is strict JSON) is checked here, on
app/engine/encode.py's verbose answer. The compact answer's own tests: tests/test_compact_format.py.
"""

from __future__ import annotations

import json

import pytest

from app.engine import evaluate_result
from app.engine.encode import verbose


def _strict(answer: dict) -> dict:
    """The answer through strict JSON (json.dumps raises on a NaN or Infinity float)."""
    decoded: dict = json.loads(json.dumps(answer, allow_nan=False))
    return decoded


@pytest.mark.parametrize(
    ("expression", "inputs", "value", "first_gate"),
    [
        ("exp(x)", {"x": 1000}, "Infinity", "exp"),
        ("log(x)", {"x": 0}, "-Infinity", "log"),
        ("x / y", {"x": 0, "y": 0}, "NaN", "div"),
        ("log(x)", {"x": -1}, "NaN", "log"),
        ("sqrt(x)", {"x": -4}, "NaN", "sqrt"),
        ("x ** 0.5", {"x": -8}, "NaN", "pow"),
        ("x ** y", {"x": 10, "y": 400}, "Infinity", "pow_xy"),
        ("1 / x", {"x": 0}, "Infinity", "div"),
        ("x * 1e308 * 10", {"x": 1}, "Infinity", "mul"),
    ],
)
def test_non_finite_results_are_json_strings_with_a_warning(
    expression, inputs, value, first_gate
) -> None:
    report = _strict(verbose(evaluate_result(expression, inputs)))
    assert report["output"]["value"] == value
    forward = [w for w in report["warnings"] if w.get("pass") == "forward" and w["value"] == value]
    assert forward and forward[0]["msg"].startswith(f"the {first_gate} gate")


def test_zero_times_infinity_is_nan_strings_in_strict_json() -> None:
    report = _strict(verbose(evaluate_result("exp(x) * 0", {"x": 1000})))
    assert report["output"]["value"] == "NaN"
    assert report["gradients"]["x"] == "NaN"
    backward = [w for w in report["warnings"] if w.get("pass") == "backward"]
    assert {w["value"] for w in backward} >= {"NaN"}


def test_a_kink_interval_at_infinity_is_strings() -> None:
    report = _strict(verbose(evaluate_result("sqrt(x)", {"x": 0.0})))
    step = report["backward"][0]
    assert report["gradients"]["x"] == "Infinity"
    assert step["kink"]["interval"] == [["Infinity", "Infinity"]]
    assert step["kink"]["text"] == step["kink"]["convention"]
    assert step["kink"]["convention"] in step["rule"]
