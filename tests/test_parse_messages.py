"""Parse errors name the offending token once (issue 12, item 11): "'^' is not a power operator",
not "'^': '^' is not a power operator"."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)

# what a student types, and the whole message the API gives (written out by hand)
CASES = [
    ("x ^ 2", "line 1, col 3: '^' is not a power operator here: use ** (x**2)"),
    ("x % 2", "line 1, col 3: '%': the modulo operator % is not a gate"),
    ("x ! y", "line 1, col 3: '!' is not an operator here"),
    ("x ? y", "line 1, col 3: '?' is not an operator here"),
    ("x < y", "line 1, col 3: '<': comparisons are not gates: use max(...) or min(...)"),
]


@pytest.mark.parametrize(("expression", "message"), CASES)
def test_a_hinted_token_is_quoted_once(expression: str, message: str) -> None:
    response = client.post(
        "/api/v1/circuits/evaluate", json={"expression": expression, "inputs": {"x": 1, "y": 2}}
    )
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["type"] == "parse_error"
    assert (detail["line"], detail["col"]) == (1, 3)
    assert detail["msg"] == message
