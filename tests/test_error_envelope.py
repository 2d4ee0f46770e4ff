"""One error envelope: every error the hostile corpora provoke, and the 403, 429, 500 and 503
they do not, validates against the ErrorResponse that /openapi.json documents, with a `type`
from its enum and a status that operation lists."""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from _pytest.mark.structures import ParameterSet
from fastapi.testclient import TestClient

import tests.test_hostile as hostile
import tests.test_hostile_corpus as hostile_corpus
from app.api.admission import AdmissionMiddleware
from app.api.error_docs import PROBLEM_TYPES, TYPE_CODES
from app.api.errors import TITLES
from app.main import app, create_app
from tests.live_app import ROOT, running_app

OPENAPI: dict[str, Any] = app.openapi()
Recorded = list[httpx.Response]


def _strict_error_schema() -> dict[str, Any]:
    """ErrorResponse as documented, but refusing undocumented members and requiring `title`
    and `status` (the published one allows both, so errors may gain fields within v1)."""
    components = copy.deepcopy(OPENAPI["components"])
    components["schemas"]["Problem"]["additionalProperties"] = False
    envelope = components["schemas"]["ErrorResponse"]
    envelope["additionalProperties"] = False
    envelope["required"] = ["detail", "title", "status"]
    return {"$ref": "#/components/schemas/ErrorResponse", "components": components}


VALIDATOR = jsonschema.Draft202012Validator(_strict_error_schema())

# answers that no operation gives: the address or the method is wrong, or the request never
# reached one (a CORS preflight, a request the server could not parse, nginx with no replica)
OUTSIDE_OPERATIONS = {
    "not_found",
    "method_not_allowed",
    "cors_refused",
    "bad_http_request",
    "upstream_unavailable",
    "upstream_timeout",
}


def check_envelope(response: httpx.Response) -> dict[str, Any]:
    """The error answer is the one envelope, and its status is listed for its operation."""
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    body = json.loads(response.text)
    errors = sorted(VALIDATOR.iter_errors(body), key=str)
    assert not errors, f"{response.status_code} {body}: {errors[0].message}"
    assert body["status"] == response.status_code
    assert body["title"] == TITLES[response.status_code]
    types = {problem["type"] for problem in body["detail"]}
    if not types & OUTSIDE_OPERATIONS:
        method = response.request.method.lower()
        operation = OPENAPI["paths"][response.request.url.path][method]
        assert str(response.status_code) in operation["responses"], (method, body)
    if response.status_code in (429, 503):
        (problem,) = body["detail"]
        assert int(response.headers["retry-after"]) == problem["retry_after"] >= 1
    return body


def _recording(client: httpx.Client, recorded: Recorded) -> None:
    def record(response: httpx.Response) -> None:
        response.read()
        recorded.append(response)

    client.event_hooks = {"request": [], "response": [record]}


def _test_cases(module: Any, fixtures: set[str]) -> list[Any]:
    """Each test function of a hostile module, once per parameter set its marks give, with the
    arguments that are its cases (the fixtures are passed in later)."""
    cases = []
    for name, fn in vars(module).items():
        if not name.startswith("test_") or not inspect.isfunction(fn):
            continue
        combos: list[tuple[dict[str, Any], str]] = [({}, "")]
        for mark in getattr(fn, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            names = mark.args[0]
            names = [n.strip() for n in names.split(",")] if isinstance(names, str) else names
            values = []
            for value in mark.args[1]:
                if isinstance(value, ParameterSet):
                    values.append(value.values)
                else:
                    values.append(value if len(names) > 1 else (value,))
            combos = [
                ({**kwargs, **dict(zip(names, value, strict=True))}, f"{ident}{i}-")
                for kwargs, ident in combos
                for i, value in enumerate(values)
            ]
        needs = set(inspect.signature(fn).parameters) - set(combos[0][0])
        assert needs <= fixtures, f"{name} needs {needs - fixtures}"
        for kwargs, ident in combos:
            label = f"{module.__name__.split('.')[-1]}.{name}[{ident.rstrip('-')}]"
            cases.append(pytest.param(fn, kwargs, sorted(needs), id=label))
    return cases


@pytest.fixture(scope="module")
def in_process() -> Iterator[tuple[TestClient, Recorded]]:
    recorded: Recorded = []
    with TestClient(app, raise_server_exceptions=False) as client:
        _recording(client, recorded)
        yield client, recorded


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[httpx.Client, Recorded]]:
    recorded: Recorded = []
    with running_app() as base, httpx.Client(base_url=base, timeout=30) as client:
        _recording(client, recorded)
        yield client, recorded


@pytest.mark.parametrize(
    ("test", "cases", "fixtures"), _test_cases(hostile_corpus, {"client", "http"})
)
def test_every_error_of_the_hostile_corpus_is_the_envelope(
    in_process: tuple[TestClient, Recorded],
    test: Callable[..., None],
    cases: dict[str, Any],
    fixtures: list[str],
) -> None:
    client, recorded = in_process
    recorded.clear()
    test(**cases, **dict.fromkeys(fixtures, client))
    for response in recorded:
        if response.status_code >= 400:
            check_envelope(response)


def test_the_hostile_corpus_gives_errors_at_all(in_process: tuple[TestClient, Recorded]) -> None:
    """The recording sees the corpus's requests (else the test above would check nothing)."""
    client, recorded = in_process
    recorded.clear()
    hostile_corpus.test_a_label_beyond_int64_is_a_422_naming_it(client)
    assert [r.status_code for r in recorded] == [422]


@pytest.mark.parametrize(("test", "cases", "fixtures"), _test_cases(hostile, {"server"}))
def test_every_error_of_the_hostile_server_cases_is_the_envelope(
    live: tuple[httpx.Client, Recorded],
    test: Callable[..., None],
    cases: dict[str, Any],
    fixtures: list[str],
) -> None:
    client, recorded = live
    recorded.clear()
    test(**cases, **dict.fromkeys(fixtures, client))
    errors = [r for r in recorded if r.status_code >= 400]
    if cases.get("status", 200) >= 400:
        assert errors, "a hostile case that expects an error recorded none"
    for response in errors:
        check_envelope(response)


def test_a_crash_is_a_500_in_the_envelope_with_the_request_id() -> None:
    crashing = create_app()

    @crashing.get("/api/v1/crash")
    def crash() -> None:
        raise RuntimeError("a bug")

    OPENAPI["paths"]["/api/v1/crash"] = {"get": {"responses": {"500": {}}}}
    try:
        with TestClient(crashing, raise_server_exceptions=False) as client:
            response = client.get("/api/v1/crash", headers={"x-request-id": "abc-123"})
        body = check_envelope(response)
    finally:
        del OPENAPI["paths"]["/api/v1/crash"]
    assert response.status_code == 500
    assert body["detail"][0]["type"] == "internal_error"
    assert body["detail"][0]["request_id"] == "abc-123"
    assert "a bug" not in response.text


def test_a_malformed_upload_is_a_400_in_the_envelope(
    in_process: tuple[TestClient, Recorded],
) -> None:
    """Starlette's multipart parser gives up (no boundary): its 400 had a string `detail`."""
    client, _ = in_process
    response = client.post(
        "/api/v1/landscape/datasets/csv",
        content=b"1,0\n",
        headers={"content-type": "multipart/form-data"},
    )
    assert response.status_code == 400
    (problem,) = check_envelope(response)["detail"]
    assert (problem["type"], problem["loc"]) == ("body_unreadable", ["body"])
    assert "boundary" in problem["msg"]


def test_a_refused_preflight_is_the_envelope(in_process: tuple[TestClient, Recorded]) -> None:
    client, _ = in_process
    response = client.options(
        "/api/v1/gates",
        headers={"origin": "https://elsewhere.example", "access-control-request-method": "GET"},
    )
    assert response.status_code == 403
    assert check_envelope(response)["detail"][0]["setting"] == "BPC_CORS_ORIGINS"


def test_a_full_server_process_answers_503_in_the_envelope_with_retry_after() -> None:
    """AdmissionMiddleware itself, with one request held inside it: the next is refused."""
    release = asyncio.Event()

    async def held(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()

    admission = AdmissionMiddleware(held, max_in_flight=1)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def scenario() -> None:
        scope = {"type": "http", "path": "/api/v1/gates", "method": "GET"}
        first = asyncio.ensure_future(admission(scope, None, send))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        await admission(scope, None, send)  # type: ignore[arg-type]
        release.set()
        await first

    asyncio.run(scenario())
    start, body = sent
    request = httpx.Request("GET", "http://testserver/api/v1/gates")
    headers = [(k.decode(), v.decode()) for k, v in start["headers"]]
    response = httpx.Response(start["status"], headers=headers, content=body["body"])
    response.request = request
    assert response.status_code == 503
    assert check_envelope(response)["detail"][0]["type"] == "server_busy"


def test_a_client_over_its_budget_gets_429_in_the_envelope_with_retry_after() -> None:
    # a bucket of a millionth of a second: the first job is admitted on a full bucket and paid
    # in full, so the next has to wait for the refill
    env = {
        "BPC_COMPUTE_BURST_SECONDS_PER_CLIENT": "1e-6",
        "BPC_COMPUTE_SECONDS_PER_CLIENT_PER_MINUTE": "1e-6",
    }
    body = {"dataset": {"name": "toy-2d"}, "dims": 1, "steps": 11}
    with running_app(env) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.post("/api/v1/landscape/slice", json=body).status_code == 200
        refused = client.post("/api/v1/landscape/slice", json=body)
    assert refused.status_code == 429
    assert check_envelope(refused)["detail"][0]["type"] == "too_many_requests"


# --- /openapi.json ------------------------------------------------------------------------------


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in OPENAPI["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


COMPUTE = {
    "/api/v1/circuits/evaluate",
    "/api/v1/landscape/loss",
    "/api/v1/landscape/slice",
    "/api/v1/landscape/optimize",
    "/api/v1/landscape/circuit",
    "/api/v1/landscape/numerical-gradient",
    "/api/v1/landscape/compare",
    "/api/v1/lessons/{lesson_id}/check",  # a task's check runs the evaluate route's job
}


# The live class (app/api/routes/classroom.py): no token (401), another's token (403), no
# such class or code (404), a full class or a question not asked now (409), wrong codes (429).
_TEACHER = {401, 403, 404}
CLASS_ERRORS = {
    "joinClass": {404, 409, 429},
    "pushView": _TEACHER,
    "answerQuestion": _TEACHER | {409},
    "revealAnswer": _TEACHER | {409},
    "showNames": _TEACHER,
    "classAnswers": _TEACHER,
    "endClass": _TEACHER,
    "classEvents": _TEACHER,
}


def test_each_operation_lists_the_error_statuses_it_can_give() -> None:
    seen = set()
    for path, method, operation in _operations():
        errors = {int(s) for s in operation["responses"] if int(s) >= 400}
        if not path.startswith("/api/"):
            assert errors <= {500, 503}, path  # /readyz's own 503 is its readiness answer
            assert 500 in errors
            continue
        seen.add(path)
        expected = {422, 500, 503}  # an undeclared query parameter; admission; a bug
        if "requestBody" in operation:
            expected |= {400, 413}  # an unparsable body; the body's and the work's limits
        if path in COMPUTE:
            expected |= {413, 429}  # work limits; per-client shares and budgets
        if "{" in path:
            expected |= {404}  # a lesson id (or its step or question) that is not there
        expected |= CLASS_ERRORS.get(operation["operationId"], set())
        assert errors == expected, (method, path)
        for status in errors:
            answer = operation["responses"][str(status)]
            schema = answer["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)
            assert answer["description"]
            if status in (429, 503):
                assert answer["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert seen >= COMPUTE


def test_get_operations_without_a_body_list_no_413_and_no_400() -> None:
    gets = [(p, o) for p, m, o in _operations() if m == "get" and p.startswith("/api/")]
    assert len(gets) >= 4
    for path, operation in gets:
        assert not {"400", "413", "429"} & set(operation["responses"]), path


def test_the_problem_schema_types_every_field_for_a_generated_client() -> None:
    schemas = OPENAPI["components"]["schemas"]
    problem = schemas["Problem"]
    assert problem["type"] == "object" and "anyOf" not in problem
    assert problem["required"] == ["type", "loc", "msg"]
    for name in ("line", "col", "retry_after"):
        assert problem["properties"][name]["type"] == "integer"
    for name in ("excerpt", "caret", "setting", "request_id", "msg"):
        assert problem["properties"][name]["type"] == "string"
    for name, field in problem["properties"].items():
        assert field.get("description"), name
    envelope = schemas["ErrorResponse"]
    detail = envelope["properties"]["detail"]
    assert detail["type"] == "array" and detail["minItems"] == 1
    assert detail["items"] == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas


# Where code names a problem type: Problem(type=...), {"type": ...}, a class's `type = ...`,
# parse_problem(..., "kind"), and attribute assignments such as `problem.type = ...`
_CODE_PATTERNS = [
    re.compile(r"\btype=\"([a-z_]+)\""),
    re.compile(r"\"type\": \"([a-z_]+)\""),
    re.compile(r"^\s+type = \"([a-z_]+)\"", re.M),
    re.compile(r"\.type = \"([a-z_]+)\""),
    re.compile(r"parse_problem\([^()]*(?:\([^()]*\)[^()]*)*\"([a-z_]+)\"\s*\)", re.S),
]
# JSON Schema's types and ASGI's scope type, not problem types
_NOT_CODES = {"http", "object", "array", "string", "integer", "number", "boolean", "null"}


def _codes_in(text: str) -> set[str]:
    codes = set()
    for pattern in _CODE_PATTERNS:
        codes |= set(pattern.findall(text))
    return {c for c in codes if c not in _NOT_CODES and not c.startswith("http.")}


def test_every_type_code_in_the_code_is_in_the_enum() -> None:
    found: dict[str, str] = {}
    for source in sorted((ROOT / "app").rglob("*.py")):
        if source.name == "error_docs.py":
            continue
        for code in _codes_in(source.read_text(encoding="utf-8")):
            found.setdefault(code, str(source.relative_to(ROOT)))
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    for code in re.findall(r"\"type\":\"([a-z_]+)\"", nginx):
        found.setdefault(code, "deploy/nginx.conf")
    # the scan itself finds codes from each layer (else it would pass on nothing)
    assert {"parse_error", "empty_expression", "server_busy", "bad_http_request"} <= set(found)
    assert {"upstream_unavailable", "limit_exceeded"} <= set(re.findall(r"\"([a-z_]+)\"", nginx))
    missing = {code: where for code, where in found.items() if code not in TYPE_CODES}
    assert not missing, f"type codes given but not in PROBLEM_TYPES: {missing}"


def test_the_enum_holds_our_codes_and_pydantics() -> None:
    assert set(PROBLEM_TYPES) <= set(TYPE_CODES)
    for pydantic_code in ("json_invalid", "missing", "extra_forbidden", "finite_number"):
        assert pydantic_code in TYPE_CODES
    assert len(TYPE_CODES) == len(set(TYPE_CODES))


def test_the_readme_tables_every_code_of_ours() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Errors") :]
    section = section[: section.index("\n#", 1)]
    assert "application/json" in section and "title" in section and "status" in section
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))
    assert listed == set(PROBLEM_TYPES), listed ^ set(PROBLEM_TYPES)


def test_the_architecture_notes_say_why_not_problem_json() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "application/problem+json" in text


def test_every_error_title_is_rfc_9110s_phrase() -> None:
    # RFC 9110's names, whatever http.HTTPStatus of the running Python calls them
    assert TITLES[413] == "Content Too Large" and TITLES[422] == "Unprocessable Content"


def test_the_readme_example_is_what_the_api_answers(
    in_process: tuple[TestClient, Recorded],
) -> None:
    client, _ = in_process
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Errors") :]
    start = section.index("```json") + len("```json")
    example = json.loads(section[start : section.index("```", start)])
    body = {"expression": "x ^ 2", "inputs": {"x": 1}}
    assert client.post("/api/v1/circuits/evaluate", json=body).json() == example
