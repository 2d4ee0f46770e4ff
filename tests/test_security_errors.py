"""Error rendering never fails: lone surrogates and non-finite numbers in echoed text stay 4xx."""

from __future__ import annotations

import json

import pytest

from app.api.errors import _json_safe
from app.api.middleware import _lone_surrogate_at


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (rb'{"e": "\ud800"}', 7),
        (rb'{"e": "\udfff"}', 7),
        (rb'{"e": "\ud83d x"}', 7),
        (rb'{"e": "\ud83d\ud83d\ude00"}', 7),
        (rb'{"e": "\uD83D\uDE00 \uDFFF"}', 20),
        (rb'{"e": "\\\ud800"}', 9),
        (rb'{"e": "\ud83d\ude00"}', None),
        (rb'{"e": "\\ud800"}', None),
        (rb'{"e": "plain \u00e9"}', None),
    ],
)
def test_lone_surrogate_escapes_are_found_and_pairs_are_not(body: bytes, where: int | None) -> None:
    assert _lone_surrogate_at(body) == where
    if where is None:
        json.loads(body).get("e").encode("utf-8")  # really encodable


def test_json_safe_replaces_surrogates_and_non_finite_numbers() -> None:
    content = {
        "detail": [{"msg": "bad \ud800 name", "got": float("nan"), "n": [float("-inf"), 1.5]}]
    }
    safe = _json_safe(content)
    # the strings answers use for non-finite numbers, not Python's "nan" / "-inf" (issue 17)
    assert safe == {"detail": [{"msg": "bad ? name", "got": "NaN", "n": ["-Infinity", 1.5]}]}
    json.dumps(safe, allow_nan=False).encode("utf-8")


def test_validation_errors_echo_truncated_strict_json() -> None:
    from fastapi.testclient import TestClient

    from app.main import app

    with TestClient(app) as client:
        long_value = client.post(
            "/api/v1/circuits/evaluate",
            json={"expression": "x", "inputs": {"x": 1}, "tie_break": "<b>" * 10_000},
        )
        nan_value = client.post(
            "/api/v1/circuits/evaluate",
            content=b'{"expression": "x", "inputs": {"x": 1}, "output_grad": NaN}',
            headers={"content-type": "application/json"},
        )
    assert long_value.status_code == 422
    [detail] = long_value.json()["detail"]
    assert detail["loc"] == ["body", "tie_break"]
    assert len(detail["input"]) <= 203 and detail["input"].endswith("...")
    assert nan_value.status_code == 422
    [detail] = nan_value.json()["detail"]
    assert detail["loc"] == ["body", "output_grad"] and detail["input"] == "NaN"
    json.loads(nan_value.text, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
