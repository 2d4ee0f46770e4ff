"""Asking for less: an evaluate request's `parts` chooses the verbose answer's fields, and the
cost model charges the smaller answer (issue 17, item 3)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

import app.engine as engine
from app.core.limits import Limits
from app.engine import evaluate_job, parse_limits
from app.engine.cache import shared_cache
from app.engine.cost import M_BASE, estimate
from app.engine.encode import ANSWER_PARTS
from app.engine.inputs import bind_inputs
from app.engine.report import wire_names
from app.engine.result import EvaluateResult
from app.engine.shapes import infer_shapes
from app.main import app
from app.schemas.circuits import EvaluatePartsResponse, EvaluateRequest
from tests.settings_override import overridden_settings as budgets
from tests.test_cost_model import CIRCUITS

URL = "/api/v1/circuits/evaluate"
ROOMY = Limits().but(max_answer_bytes=10**10, max_memory_bytes=10**11, max_work=10**13)
COURSE = {"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}}
# The issue's request: about 40 KB of program, 2,000 stages, one scalar input.
LONG_CHAIN = "\n".join(["a0 = x"] + [f"a{i} = a{i - 1} * 1.001" for i in range(1, 2_000)])


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def post(client: TestClient, **body: Any) -> Any:
    response = client.post(URL, json=body)
    assert response.status_code == 200, response.text[:400]
    return response


def predicted(expression: str, inputs: dict[str, Any], gradcheck: bool, parts: Any) -> Any:
    circuit = engine.parse(expression, parse_limits(ROOMY))
    values = bind_inputs(circuit, inputs, 3, 10**6)
    texts, names = wire_names(circuit, expression)
    shapes = infer_shapes(circuit, values, expression, names, texts, ROOMY)
    return estimate(circuit, shapes, len(expression), gradcheck, parts)


def size(answer: dict[str, Any]) -> int:
    return len(json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode())


# ---------------------------------------------------------------- the answer


def test_the_default_answer_is_every_part_byte_for_byte(client: TestClient) -> None:
    body = {**COURSE, "gradcheck": True}
    default = post(client, **body).content
    assert post(client, **body, parts=None).content == default
    # every part, listed in another order: the same bytes, fields in the documented order
    assert post(client, **body, parts=list(reversed(ANSWER_PARTS))).content == default
    assert list(json.loads(default)) == list(ANSWER_PARTS)


def test_only_gradients_of_the_course_example(client: TestClient) -> None:
    # f = (x + y) z: df/dx = df/dy = z = -4, df/dz = x + y = 3
    answer = post(client, **COURSE, parts=["gradients"])
    assert answer.content == b'{"gradients":{"x":-4.0,"y":-4.0,"z":3.0}}'
    # f = (x + y) z = 3 * -4
    answer = post(client, **COURSE, parts=["output", "gradients"]).json()
    assert answer == {
        "output": {"value": -12.0, "shape": [], "node": "n4"},
        "gradients": {"x": -4.0, "y": -4.0, "z": 3.0},
    }
    EvaluatePartsResponse.model_validate(answer)


@pytest.mark.parametrize("part", ANSWER_PARTS)
def test_each_part_alone_is_that_field_of_the_whole_answer(client: TestClient, part: str) -> None:
    body = {"expression": "2 * (x*y + max(z, w))", "inputs": {"x": 3, "y": -4, "z": 2, "w": 2}}
    body["gradcheck"] = True
    whole = post(client, **body).json()
    alone = post(client, **body, parts=[part]).json()
    assert alone == {part: whole[part]}
    EvaluatePartsResponse.model_validate(alone)


def test_edges_without_backward_still_carry_each_contribution(client: TestClient) -> None:
    # f = x * y at x = 3, y = -4: the edge from x carries df/dx = y = -4, from y df/dy = x = 3
    edges = post(client, expression="x * y", inputs={"x": 3, "y": -4}, parts=["edges"]).json()
    assert [(e["source"], e["value"], e["grad"]) for e in edges["edges"]] == [
        ("n0", 3.0, -4.0),
        ("n1", -4.0, 3.0),
    ]


def test_the_issues_40_kb_request_answers_bytes_with_only_gradients(client: TestClient) -> None:
    assert 40_000 <= len(LONG_CHAIN.encode()) <= 45_000
    body = {"expression": LONG_CHAIN, "inputs": {"x": 1}}
    whole = post(client, **body).content
    small = post(client, **body, parts=["gradients"])
    assert len(whole) > 2_000_000  # MB: every wire, edge and step with its caption
    assert len(small.content) < 60
    # a1999 = x * 1.001^1999, so d a1999 / dx = 1.001^1999
    assert small.json()["gradients"]["x"] == pytest.approx(1.001**1_999, rel=1e-12)


def test_without_backward_no_caption_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The captions (a step's rule in words) are the answer's costliest text: counted, not
    replaced, so the real rule still runs when it is asked for."""
    calls: list[int] = []
    real = EvaluateResult.rule

    def counted(self: EvaluateResult, step: Any) -> str:
        calls.append(1)
        return real(self, step)

    monkeypatch.setattr(EvaluateResult, "rule", counted)
    request = {"expression": "sigmoid(a*b) + max(a, b)", "inputs": {"a": 1.5, "b": -2}}
    evaluate_job({**request, "parts": ["output", "gradients", "nodes", "edges"]}, ROOMY)
    assert calls == []
    evaluate_job(request, ROOMY)
    assert len(calls) == 4  # mul, sigmoid, max, add


# ---------------------------------------------------------------- refusals


def test_parts_with_the_compact_format_is_refused_by_name(client: TestClient) -> None:
    response = client.post(URL, json={**COURSE, "format": "compact", "parts": ["gradients"]})
    assert response.status_code == 422
    [detail] = response.json()["detail"]
    assert detail["loc"] == ["body", "parts"]
    assert "compact" in detail["msg"] and '"format": "verbose"' in detail["msg"]


@pytest.mark.parametrize(
    ("parts", "loc", "type_"),
    [(["grads"], ["body", "parts", 0], "literal_error"), ([], ["body", "parts"], "too_short")],
)
def test_an_unknown_or_empty_part_list_is_refused(
    client: TestClient, parts: list[str], loc: list[Any], type_: str
) -> None:
    response = client.post(URL, json={**COURSE, "parts": parts})
    assert response.status_code == 422
    [detail] = response.json()["detail"]
    assert detail["loc"] == loc and detail["type"] == type_
    if parts:
        assert "'gradients'" in detail["msg"]  # the message lists the names there are


def test_the_request_schema_lists_the_parts_from_the_encoder() -> None:
    schema = EvaluateRequest.model_json_schema()["properties"]["parts"]
    assert schema["anyOf"][0]["items"]["enum"] == list(ANSWER_PARTS)


# ---------------------------------------------------------------- the cost model


PART_SETS = [[part] for part in ANSWER_PARTS] + [
    ["output", "gradients"],
    ["nodes", "edges"],
    ["nodes", "backward", "gradients"],
    list(ANSWER_PARTS),
]


@pytest.mark.parametrize(
    ("name", "expression", "inputs", "gradcheck"), CIRCUITS, ids=[c[0] for c in CIRCUITS]
)
def test_predicted_bytes_of_each_part_are_never_under(
    name: str, expression: str, inputs: dict[str, Any], gradcheck: bool
) -> None:
    whole = predicted(expression, inputs, gradcheck, None)
    request = {"expression": expression, "inputs": inputs, "gradcheck": gradcheck}
    for parts in PART_SETS:
        answer = evaluate_job({**request, "parts": parts}, ROOMY)
        cost = predicted(expression, inputs, gradcheck, parts)
        assert size(answer) <= cost.answer_bytes <= whole.answer_bytes, (name, parts)
        # and not far over: at most 2x, plus the fixed allowance for warnings and braces
        assert cost.answer_bytes <= 2 * size(answer) + 2_000, (name, parts, size(answer))
        assert cost.memory_bytes <= whole.memory_bytes and cost.work <= whole.work


@pytest.mark.parametrize("parts", [["gradients"], ["nodes"]])
@pytest.mark.parametrize(
    ("name", "expression", "inputs", "gradcheck"), CIRCUITS, ids=[c[0] for c in CIRCUITS]
)
def test_memory_prediction_with_parts_matches_tracemalloc(
    name: str, expression: str, inputs: dict[str, Any], gradcheck: bool, parts: list[str]
) -> None:
    """Within 2x of tracemalloc's peak either way, as the whole answer's prediction
    (tests/test_cost_model.py), plus the fixed base a tiny circuit never reaches."""
    cost = predicted(expression, inputs, gradcheck, parts)
    request = {"expression": expression, "inputs": inputs, "gradcheck": gradcheck}
    shared_cache().clear()  # the prediction is for a first request, parse included
    tracemalloc.start()
    try:
        answer = evaluate_job({**request, "parts": parts}, ROOMY)
        json.dumps(answer, separators=(",", ":"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak / 2 <= cost.memory_bytes <= 2 * peak + M_BASE, (name, peak, cost.memory_bytes)


def test_answer_budget_at_n_and_n_plus_one_with_parts(client: TestClient) -> None:
    """A big circuit asked for its gradients only is charged its small answer: allowed at
    exactly the prediction, refused one byte below it, and refused without parts."""
    body = {"expression": LONG_CHAIN, "inputs": {"x": 1}, "parts": ["gradients"]}
    at = predicted(LONG_CHAIN, {"x": 1}, False, ["gradients"]).answer_bytes
    assert at < 2_000  # the whole answer is predicted at megabytes
    with budgets(max_answer_bytes=at):
        assert post(client, **body).json()["gradients"]["x"] == pytest.approx(1.001**1_999)
        without = client.post(URL, json={"expression": LONG_CHAIN, "inputs": {"x": 1}})
        assert without.status_code == 413
    with budgets(max_answer_bytes=at - 1):
        response = client.post(URL, json=body)
        assert response.status_code == 413
        detail = response.json()["detail"][0]
        assert detail["setting"] == "max_answer_bytes" and "BPC_MAX_ANSWER_BYTES" in detail["msg"]
        assert detail["got"] == at and detail["limit"] == at - 1


# ---------------------------------------------------------------- /loss without W


LOSS = "/api/v1/landscape/loss"


def test_loss_echoes_w_only_when_asked(client: TestClient) -> None:
    """One example x = 1 of class 0, W = (1, 1.5): scores (1, 1.5), the SVM margin of class 1
    is 1.5 - 1 + 1 = 1.5, so L = 1.5 and dW = (-x, +x) = (-1, 1)."""
    body = {"dataset": {"X": [[1.0]], "y": [0]}, "W": [[1.0], [1.5]], "bias": False, "reg": 0}
    echoed = client.post(LOSS, json={**body, "include_W": True}).json()
    assert echoed["W"] == [[1.0], [1.5]]
    assert echoed["loss"] == 1.5 and echoed["grad_W"] == [[-1.0], [1.0]]
    bare = client.post(LOSS, json=body)  # by default W is not echoed (issue 17, item 3)
    assert bare.status_code == 200
    assert bare.json() == {**echoed, "W": None}
    assert client.post(LOSS, json={**body, "include_W": False}).json() == bare.json()


def test_loss_without_w_is_smaller_by_w_for_cifar_shaped(client: TestClient) -> None:
    body = {"dataset": {"name": "cifar-shaped", "n": 1000}, "seed": 1}
    echoed = client.post(LOSS, json={**body, "include_W": True})
    bare = client.post(LOSS, json=body)
    assert echoed.status_code == bare.status_code == 200
    W = echoed.json()["W"]
    assert (len(W), len(W[0])) == (10, 3073)  # C x D, the bias column included
    # W's text as sent: between "W": and the next field (W holds only numbers, so the first
    # ',"' after it starts the next field, whichever that is)
    start = echoed.content.index(b'"W":') + len(b'"W":')
    w_bytes = echoed.content.index(b',"', start) - start
    assert json.loads(echoed.content[start : start + w_bytes]) == W
    assert len(echoed.content) - len(bare.content) == w_bytes - len(b"null")
    assert w_bytes > 600_000 and len(bare.content) < len(echoed.content) - 600_000


def test_include_w_is_a_loss_field_only(client: TestClient) -> None:
    body = {"dataset": {"name": "cs231n-1d"}, "dims": 1, "include_W": False}
    response = client.post("/api/v1/landscape/slice", json=body)
    assert response.status_code == 422
    assert ["body", "include_W"] in [d["loc"] for d in response.json()["detail"]]
