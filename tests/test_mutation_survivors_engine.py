"""Tests that kill mutmut survivors in app/engine: every expected value is worked out by hand."""

from __future__ import annotations

from typing import Any

from app.engine import evaluate


def kink_of(report: dict[str, Any], op: str) -> dict[str, Any]:
    return dict(next(s for s in report["backward"] if s["op"] == op)["kink"])


def test_a_tensor_kink_counts_the_elements_at_the_kink() -> None:
    # relu at [0, 0, 1]: the first two elements sit exactly at relu's kink, the third does not.
    kink = kink_of(evaluate("sum(relu(x))", {"x": [0.0, 0.0, 1.0]}), "relu")
    assert (kink["kind"], kink["count"]) == ("relu0", 2)
    # max(a, b) with a = [1, 2, 3], b = [1, 2, 0]: elements 0 and 1 are ties, element 2 is not.
    kink = kink_of(evaluate("sum(max(a, b))", {"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 0.0]}), "max")
    assert (kink["kind"], kink["count"]) == ("tie", 2)
