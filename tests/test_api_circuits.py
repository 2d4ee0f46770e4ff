"""The circuit API over HTTP: the contract's fields, 4xx errors that say where, and limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.api.deps import current_settings
from app.core.config import Settings, get_settings
from app.main import app
from app.schemas.circuits import EvaluateResponse
from tests.test_engine_parser import PARSE_ERROR_CASES

URL = "/api/v1/circuits/evaluate"


def test_evaluate_answers_the_contract(client: TestClient) -> None:
    response = client.post(
        URL, json={"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["output"] == {"value": -12.0, "shape": [], "node": "n4"}
    assert body["inputs"] == ["x", "y", "z"]
    assert body["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert [n["kind"] for n in body["nodes"]] == ["input", "input", "gate", "input", "gate"]
    add = body["nodes"][2]
    assert add == {
        "id": "n2",
        "kind": "gate",
        "op": "add",
        "symbol": "+",
        "label": None,
        "labels": [],
        "inputs": ["n0", "n1"],
        "value": 3.0,
        "grad": -4.0,
        "shape": [],
        "text": "x + y",
        "span": {"line": 1, "col": 2, "end_line": 1, "end_col": 7},
        "param": None,
    }
    assert body["forward"] == ["n0", "n1", "n2", "n3", "n4"]
    edge = next(e for e in body["edges"] if e["source"] == "n3")
    assert edge == {
        "id": "e3",
        "source": "n3",
        "target": "n4",
        "port": 1,
        "value": -4.0,
        "grad": 3.0,
        "shape": [],
    }
    first = body["backward"][0]
    assert first["node"] == "n4" and first["op"] == "mul" and first["upstream"] == 1.0
    assert first["inputs"][0] == {
        "node": "n2",
        "port": 0,
        "edge": "e2",
        "local_grad": -4.0,
        "contribution": -4.0,
        "accumulated": -4.0,
        "uses": ["n3"],
    }
    assert first["rule"].startswith(
        "multiply gate swaps: (x + y) receives z · upstream = -4 · 1 = -4"
    )
    assert body["warnings"] == []
    assert body["gradcheck"] is None


def test_gradcheck_over_http(client: TestClient) -> None:
    body = client.post(
        URL, json={"expression": "x * y", "inputs": {"x": 3, "y": -4}, "gradcheck": True, "h": 1e-4}
    ).json()
    assert body["gradcheck"]["h"] == 1e-4
    assert body["gradcheck"]["passed"] is True
    assert {i["name"]: i["analytic"] for i in body["gradcheck"]["inputs"]} == {"x": -4.0, "y": 3.0}


def test_non_finite_values_travel_as_strings(client: TestClient) -> None:
    response = client.post(URL, json={"expression": "log(x) * y", "inputs": {"x": 0, "y": 2}})
    assert response.status_code == 200
    assert response.json()["output"]["value"] == "-Infinity"
    assert '"-Infinity"' in response.text and "NaN," not in response.text


def test_parse_error_is_a_422_with_position(client: TestClient) -> None:
    response = client.post(URL, json={"expression": "x +* y", "inputs": {"x": 1, "y": 2}})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["type"] == "parse_error"
    assert detail["loc"] == ["body", "expression"]
    assert (detail["line"], detail["col"]) == (1, 4)
    assert detail["excerpt"] == "x +* y"


def test_missing_and_unused_inputs_are_named(client: TestClient) -> None:
    response = client.post(
        URL, json={"expression": "x * y + z", "inputs": {"x": 1, "w": 2, "v": 3}}
    )
    assert response.status_code == 422
    details = response.json()["detail"]
    assert details[0]["type"] == "missing_input" and details[0]["names"] == ["y", "z"]
    assert "y, z" in details[0]["msg"]
    assert details[1]["type"] == "unused_input" and details[1]["names"] == ["w", "v"]


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"expression": "x", "inputs": {"x": True}}, ["body", "inputs", "x"]),
        ({"expression": "x", "inputs": {"x": "1.5"}}, ["body", "inputs", "x"]),
        ({"expression": "x", "inputs": {"x": None}}, ["body", "inputs", "x"]),
        ({"expression": "x", "inputs": {"x": 1}, "output_grad": "2"}, ["body", "output_grad"]),
        ({"expression": "x", "inputs": {"x": 1}, "output_grad": True}, ["body", "output_grad"]),
        ({"expression": "x", "inputs": {"x": 1}, "tie_break": "random"}, ["body", "tie_break"]),
        ({"expression": "x", "inputs": {"x": 1}, "gradcheck": "yes"}, ["body", "gradcheck"]),
        ({"expression": 3, "inputs": {"x": 1}}, ["body", "expression"]),
        ({"inputs": {"x": 1}}, ["body", "expression"]),
        ({"expression": "x", "inputs": {"x": 1}, "surprise": 1}, ["body", "surprise"]),
        ({"expression": "x", "inputs": {"x": 1}, "h": 0}, ["body", "h"]),
    ],
)
def test_wrong_types_are_422_not_coerced(client: TestClient, payload: dict, where: list) -> None:
    response = client.post(URL, json=payload)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == where


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_in_the_body_are_422(client: TestClient, literal: str) -> None:
    body = f'{{"expression": "x", "inputs": {{"x": {literal}}}}}'
    response = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "finite" in response.json()["detail"][0]["msg"]
    body = f'{{"expression": "x", "inputs": {{"x": 1}}, "output_grad": {literal}}}'
    response = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "output_grad"]


def test_malformed_json_is_422(client: TestClient) -> None:
    body = '{"expression": '
    response = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["type"] == "json_invalid"
    assert "JSON decode error" in detail["msg"]
    assert detail["loc"] == ["body", len(body)]  # the text ends where a value should start


@pytest.fixture
def small_limits(client: TestClient) -> Iterator[TestClient]:
    """The module's client, whose requests see these limits: limits reach a request through
    the current_settings dependency, so no new client (and lifespan) is needed for them."""
    app.dependency_overrides[current_settings] = lambda: Settings(
        max_expression_chars=50, max_gates=5, max_nesting_depth=4, max_inputs=3
    )
    try:
        yield client
    finally:
        app.dependency_overrides.clear()


@pytest.mark.parametrize(
    ("expression", "inputs", "setting"),
    [
        ("x" + " + x" * 20, {"x": 1}, "max_expression_chars"),
        ("x + x + x + x + x + x + x", {"x": 1}, "max_gates"),
        ("(((((x)))))", {"x": 1}, "max_nesting_depth"),
        ("a + b + c + d", {"a": 1, "b": 1, "c": 1, "d": 1}, "max_inputs"),
    ],
)
def test_limits_come_from_settings_and_state_themselves(
    small_limits: TestClient, expression, inputs, setting
) -> None:
    response = small_limits.post(URL, json={"expression": expression, "inputs": inputs})
    assert response.status_code == 413, response.text
    detail = response.json()["detail"][0]
    assert detail["type"] == "limit_exceeded"
    assert detail["setting"] == setting
    assert f"BPC_{setting.upper()}" in detail["msg"]


def test_settings_are_overridable_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPC_MAX_GATES", "123")
    monkeypatch.setenv("BPC_MAX_BODY_BYTES", "4567")
    settings = Settings()
    assert settings.max_gates == 123
    assert settings.max_body_bytes == 4567


def test_oversized_body_is_413(client: TestClient) -> None:
    limit = get_settings().max_body_bytes
    payload = '{"expression": "x", "inputs": {"x": 1}, "pad": "' + "a" * limit + '"}'
    response = client.post(URL, content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 413
    (detail,) = response.json()["detail"]
    assert detail["type"] == "limit_exceeded" and detail["loc"] == ["body"]
    assert detail["msg"] == (
        f"request body is {len(payload)} bytes, over the limit of {limit} "
        "(setting BPC_MAX_BODY_BYTES)"
    )


def test_presets_carry_expected_values(client: TestClient) -> None:
    presets = client.get("/api/v1/presets").json()["presets"]
    ids = [p["id"] for p in presets]
    assert {"add_mul", "sigmoid_neuron", "staged", "max_route", "scale_sensitivity"} <= set(ids)
    scale = next(p for p in presets if p["id"] == "scale_sensitivity")
    body = client.post(
        URL, json={"expression": scale["expression"], "inputs": scale["inputs"]}
    ).json()
    assert body["gradients"]["w"] == 1000.0


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(("expression", "line", "col", "fragment"), PARSE_ERROR_CASES)
def test_every_parse_error_class_over_http(
    client: TestClient, expression, line, col, fragment
) -> None:
    response = client.post(URL, json={"expression": expression, "inputs": {}})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert fragment in detail["msg"]
    assert (detail["line"], detail["col"]) == (line, col)


def test_forks_and_ties_over_http(client: TestClient) -> None:
    fork = client.post(URL, json={"expression": "x * x + x", "inputs": {"x": 3}}).json()
    assert fork["gradients"] == {"x": 7.0}
    tie = {"expression": "max(z, w)", "inputs": {"z": 1, "w": 1}}
    assert client.post(URL, json=tie).json()["gradients"] == {"z": 0.5, "w": 0.5}
    first = client.post(URL, json={**tie, "tie_break": "first"}).json()
    assert first["gradients"] == {"z": 1.0, "w": 0.0}
    assert first["backward"][0]["kink"]["kind"] == "tie"


def test_deep_chain_over_http(client: TestClient) -> None:
    chain = "\n".join(["a0 = x"] + [f"a{i} = a{i - 1} * 1.001" for i in range(1, 2_000)])
    body = client.post(URL, json={"expression": chain, "inputs": {"x": 1}}).json()
    assert body["gradients"]["x"] == pytest.approx(1.001**1_999, rel=1e-9)
    assert len(body["backward"]) == 1_999


@pytest.mark.parametrize(
    ("expression", "inputs", "extra"),
    [
        ("2 * (x*y + max(z, w))", {"x": 3, "y": -4, "z": 2, "w": -1}, {"gradcheck": True}),
        ("max(z, w) + relu(z - w)", {"z": 1, "w": 1}, {"gradcheck": True}),
        ("exp(x) * 0 + log(y)", {"x": 1000, "y": 0}, {}),
        ("a = W @ x\nsum(relu(a))", {"W": [[1, -2], [3, 4]], "x": [1, -1]}, {"gradcheck": True}),
        ("unused = y * 2\nf = x", {"x": 1}, {}),
    ],
)
def test_answers_match_the_response_schema(client: TestClient, expression, inputs, extra) -> None:
    """The route sends the engine's report without re-validating it, so check it here."""
    response = client.post(URL, json={"expression": expression, "inputs": inputs, **extra})
    assert response.status_code == 200, response.text
    parsed = EvaluateResponse.model_validate_json(response.content)
    assert parsed.model_dump(mode="json") == response.json()
