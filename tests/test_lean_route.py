"""The evaluate route's lean path (app/api/lean_route.py) answers exactly as FastAPI's own
handler does, and leaves to it every request it does not serve."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi import routing as fastapi_routing
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from app.api.deps import LimitsDep, SettingsDep, current_settings
from app.api.lean_route import LeanRoute
from app.core.config import get_settings
from app.main import app
from app.schemas.circuits import EvaluateRequest

URL = "/api/v1/circuits/evaluate"
SIGMOID = "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))"
NEURON = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}

# Bodies that validate (each format, a tensor, a kink, a gradient check, a parse error and a
# limit answered by the engine) and bodies that do not (FastAPI's 422s).
BODIES: list[Any] = [
    {"expression": SIGMOID, "inputs": NEURON},
    {"expression": SIGMOID, "inputs": NEURON, "format": "compact"},
    {"expression": SIGMOID, "inputs": NEURON, "format": "compact", "compact_version": 2},
    {"expression": SIGMOID, "inputs": NEURON, "parts": ["output", "gradients"]},
    {"expression": "max(x, y) * z", "inputs": {"x": 2, "y": 2, "z": 3}, "tie_break": "first"},
    {"expression": "sum(W @ x)", "inputs": {"W": [[1, 2], [3, 4]], "x": [1, -1]}},
    {"expression": "x * y + relu(x)", "inputs": {"x": 0, "y": 2}, "gradcheck": True},
    {"expression": "(x + ", "inputs": {"x": 1}},
    {"expression": "x" * 300_000, "inputs": {}},
    {"expression": "x", "inputs": {"x": 1}, "format": "compact", "compact_version": 3},
    {"expression": "x", "inputs": {"x": 1}, "compact_version": 2},
    {"expression": "x", "inputs": {"x": "one"}},
    {"expression": 5, "inputs": {}},
    {"inputs": {"x": 1}},
    {"expression": "x", "inputs": {"x": 1}, "unknown_field": True},
    [1, 2, 3],
    "a string",
    None,
    {"expression": "x", "inputs": {"x": [[[[[[[[1]]]]]]]]}},
]


def _deep(depth: int) -> bytes:
    """A JSON body nested past Python's recursion limit: json.loads raises RecursionError."""
    return b'{"expression": "x", "inputs": {"x": ' + b"[" * depth + b"]" * depth + b"}}"


@pytest.fixture
def solver_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Paths of the requests FastAPI's general dependency solver served."""
    calls: list[str] = []
    general = fastapi_routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["request"].url.path)
        return await general(*args, **kwargs)

    monkeypatch.setattr(fastapi_routing, "solve_dependencies", counting)
    yield calls


def _general_answer(client: TestClient, **request: Any) -> Any:
    """The answer of FastAPI's own handler: an override (of the same Settings) sends the
    request there."""
    app.dependency_overrides[current_settings] = get_settings
    try:
        return client.post(URL, **request)
    finally:
        app.dependency_overrides.pop(current_settings, None)


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_the_lean_path_answers_as_fastapi_does(
    client: TestClient, solver_calls: list[str], body: Any
) -> None:
    lean = client.post(URL, json=body)
    served_lean = not solver_calls
    general = _general_answer(client, json=body)
    assert solver_calls[-1] == URL  # the override did send it to FastAPI's handler
    assert (lean.status_code, lean.headers["content-type"]) == (
        general.status_code,
        general.headers["content-type"],
    )
    lean_json, general_json = lean.json(), general.json()
    if lean.status_code >= 400:  # each error carries its own request id
        lean_json.pop("request_id", None)
        general_json.pop("request_id", None)
    assert lean_json == general_json
    # a body that validates is the lean path's; one that does not is FastAPI's, 422 and all
    try:
        EvaluateRequest.model_validate(body)
        validates = True
    except ValidationError:
        validates = False
    assert served_lean == validates, (lean.status_code, lean.text[:300])


def test_a_plain_sigmoid_never_reaches_the_general_solver(
    client: TestClient, solver_calls: list[str]
) -> None:
    for fmt in ("verbose", "compact"):
        response = client.post(URL, json={"expression": SIGMOID, "inputs": NEURON, "format": fmt})
        assert response.status_code == 200
    assert solver_calls == []
    # another route is still FastAPI's, as every route but evaluate is
    assert client.get("/api/v1/gates").status_code == 200
    assert solver_calls == ["/api/v1/gates"]


def test_the_lean_path_reads_the_body_the_screen_kept(
    client: TestClient, solver_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.requests import Request

    reads: list[str] = []
    body = Request.body

    async def counted(self: Request) -> bytes:
        reads.append(self.url.path)
        return await body(self)

    monkeypatch.setattr(Request, "body", counted)
    answer = client.post(URL, json={"expression": "x * y", "inputs": {"x": 3, "y": -4}})
    assert answer.status_code == 200 and answer.json()["gradients"] == {"x": -4.0, "y": 3.0}
    assert reads == [] and solver_calls == []  # the screened bytes, not receive() again
    # a body that does not validate goes to FastAPI's handler, which reads the replayed body
    refused = client.post(URL, json={"expression": 7, "inputs": {}})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == [
        "body",
        "expression",
    ]
    assert reads and set(reads) == {URL} and solver_calls == [URL]


@pytest.mark.parametrize("more_body", [False, True])
def test_the_screen_keeps_a_body_only_when_the_client_sent_all_of_it(more_body: bool) -> None:
    import asyncio

    from app.api.middleware import SCREENED_BODY, _screen_json_body

    messages = [
        {"type": "http.request", "body": b'{"expression": "x",', "more_body": True},
        {"type": "http.request", "body": b' "inputs": {"x": 1}}', "more_body": more_body},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    scope: dict[str, Any] = {}
    replay, refusal = asyncio.run(_screen_json_body(receive, 1_000, scope))
    assert refusal is None
    if more_body:  # the client went away before the end: nothing kept, the app sees it
        assert SCREENED_BODY not in scope
    else:
        assert scope[SCREENED_BODY] == b'{"expression": "x", "inputs": {"x": 1}}'
        replayed = asyncio.run(replay())  # type: ignore[arg-type]
        assert replayed["body"] == scope[SCREENED_BODY] and replayed["more_body"] is False


@pytest.mark.parametrize(
    ("extra", "content_type"),
    [
        ({"params": {"format": "compact"}}, "application/json"),  # a query string
        ({}, "text/plain"),
        ({}, None),
    ],
)
def test_what_the_lean_path_does_not_serve_goes_to_fastapi(
    client: TestClient,
    solver_calls: list[str],
    extra: dict[str, Any],
    content_type: str | None,
) -> None:
    body = json.dumps({"expression": "x * 2", "inputs": {"x": 3}}).encode()
    headers = {} if content_type is None else {"content-type": content_type}
    lean = client.post(URL, content=body, headers=headers, **extra)
    assert solver_calls == [URL]
    general = _general_answer(client, content=body, headers=headers, **extra)
    assert lean.status_code == general.status_code == 422
    assert lean.json()["detail"] == general.json()["detail"]


def test_a_body_nested_too_deeply_is_fastapis_400(
    client: TestClient, solver_calls: list[str]
) -> None:
    headers = {"content-type": "application/json"}
    lean = client.post(URL, content=_deep(100_000), headers=headers)
    general = _general_answer(client, content=_deep(100_000), headers=headers)
    assert lean.status_code == general.status_code == 400
    assert lean.json()["detail"] == general.json()["detail"]
    assert "nested too deeply" in lean.json()["detail"][0]["msg"]


def test_a_json_media_type_with_a_charset_or_a_suffix_is_json() -> None:
    from app.api.lean_route import _is_json

    assert _is_json("application/json")
    assert _is_json("Application/JSON; charset=utf-8")
    assert _is_json("application/problem+json")
    assert not _is_json("application/jsonx")
    assert not _is_json("text/json")
    assert not _is_json("")
    assert not _is_json(None)


def test_the_lean_path_answers_a_json_suffix_type_as_fastapi_does(
    client: TestClient, solver_calls: list[str]
) -> None:
    body = json.dumps({"expression": "x * 2", "inputs": {"x": 3}}).encode()
    headers = {"content-type": "application/vnd.api+json; charset=utf-8"}
    lean = client.post(URL, content=body, headers=headers)
    assert solver_calls == []
    general = _general_answer(client, content=body, headers=headers)
    assert lean.status_code == general.status_code == 200
    assert lean.content == general.content


class _Body(BaseModel):
    n: int


def _lean_app(router: APIRouter, **include: Any) -> FastAPI:
    """An app with `router` included (its routes are made again for the inclusion)."""
    made = FastAPI()
    made.include_router(router, **include)
    return made


def test_a_lean_route_refuses_at_start_a_dependency_it_cannot_solve() -> None:
    async def other() -> int:
        return 1

    router = APIRouter(route_class=LeanRoute)

    async def endpoint(body: _Body, value: int = Depends(other)) -> JSONResponse:
        return JSONResponse({"n": body.n + value})

    with pytest.raises(TypeError, match="cannot solve the dependency"):
        router.post("/x")(endpoint)  # the route is made here


def test_a_lean_route_refuses_at_start_a_query_parameter_or_no_body() -> None:
    router = APIRouter(route_class=LeanRoute)

    async def with_query(body: _Body, q: int = Query(0)) -> JSONResponse:
        return JSONResponse({"n": body.n + q})

    async def without_body(settings: SettingsDep) -> JSONResponse:
        return JSONResponse({"n": 1})

    async def a_dict(body: _Body) -> dict[str, int]:
        return {"n": body.n}

    def not_async(body: _Body) -> JSONResponse:
        return JSONResponse({"n": body.n})

    with pytest.raises(TypeError, match="no query, header or path params"):
        router.post("/q")(with_query)
    with pytest.raises(TypeError, match="takes a JSON body model"):
        router.post("/b")(without_body)
    with pytest.raises(TypeError, match="returns a Response"):
        router.post("/p")(a_dict)
    with pytest.raises(TypeError, match="returns a Response"):
        router.post("/s")(not_async)


def test_a_lean_route_sees_its_routers_dependencies() -> None:
    """Included with a dependency of its own (an unknown one here), the route is checked with
    it: the inclusion's dependencies are the route's too, and none is skipped."""

    async def gate() -> None:
        return None

    router = APIRouter(route_class=LeanRoute)

    @router.post("/x")
    async def endpoint(body: _Body, limits: LimitsDep, settings: SettingsDep) -> JSONResponse:
        return JSONResponse({"n": body.n + limits.max_gates - settings.max_gates})

    assert TestClient(_lean_app(router)).post("/x", json={"n": 4}).json() == {"n": 4}
    guarded = TestClient(_lean_app(router, dependencies=[Depends(gate)]))
    # FastAPI makes an included route's handler when the route is first asked for
    with pytest.raises(TypeError, match="cannot solve the dependency"):
        guarded.post("/x", json={"n": 4})
