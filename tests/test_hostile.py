"""Hostile input against a real server process: every case is a 4xx with a message, and the
server keeps answering. Numeric traps are the exception: they are valid input, so 200 + warnings.

How quickly each is answered is measured under load by bench/abuse.py, not asserted here: a
wall-clock limit in a test fails at random on a busy machine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.live_app import running_app

EVALUATE = "/api/v1/circuits/evaluate"
LOSS = "/api/v1/landscape/loss"
SLICE = "/api/v1/landscape/slice"
OPTIMIZE = "/api/v1/landscape/optimize"
CIRCUIT = "/api/v1/landscape/circuit"
XSS = "<img src=x onerror=alert(1)>"


def circuit(expression: str, **inputs: Any) -> dict[str, Any]:
    return {"expression": expression, "inputs": inputs}


def raw(text: str) -> bytes:
    """A body exactly as written (JSON with NaN, broken JSON, escapes json.dumps would not make)."""
    return text.encode("utf-8")


TOY = {"name": "toy-2d"}

# (id, path, body, status, a piece of the message)
CASES: list[tuple[str, str, Any, int, str]] = [
    # --- parser bombs -------------------------------------------------------------------------
    ("deep-parens", EVALUATE, circuit("(" * 5000 + "x" + ")" * 5000, x=1), 413, "nesting depth"),
    (
        "deep-parens-just-over",
        EVALUATE,
        circuit("(" * 201 + "x" + ")" * 201, x=1),
        413,
        "BPC_MAX_NESTING_DEPTH",
    ),
    ("deep-unary-minus", EVALUATE, circuit("-" * 100_000 + "x", x=1), 413, "over the limit"),
    ("deep-calls", EVALUATE, circuit("exp(" * 300 + "x" + ")" * 300, x=1), 413, "nesting depth"),
    ("long-chain", EVALUATE, circuit("+".join(["x"] * 30_000), x=1), 413, "number of gates"),
    (
        "long-product-chain",
        EVALUATE,
        circuit("*".join(["x"] * 25_000), x=1),
        413,
        "number of gates",
    ),
    ("huge-expression", EVALUATE, circuit("x" * 300_000), 413, "over the limit"),
    (
        "many-statements",
        EVALUATE,
        circuit("\n".join(f"a{i} = {i}" for i in range(3000)) + "\nf = a1"),
        413,
        "statements",
    ),
    (
        "many-inputs",
        EVALUATE,
        {
            "expression": "+".join(f"v{i}" for i in range(300)),
            "inputs": {f"v{i}": 1 for i in range(300)},
        },
        413,
        "number of inputs",
    ),
    ("huge-literal", EVALUATE, circuit("1" * 100_000), 413, "number literal"),
    ("literal-65-digits", EVALUATE, circuit("1" * 65 + " * x", x=1), 413, "BPC_MAX_LITERAL_CHARS"),
    ("literal-1e999", EVALUATE, circuit("1e999 * x", x=1), 422, "too large for float64"),
    ("unicode-fullwidth-x", EVALUATE, circuit("ｘ + 1", x=1), 422, "must be ASCII"),
    ("unicode-cyrillic-a", EVALUATE, circuit("а * 2", a=1), 422, "CYRILLIC"),
    ("unicode-greek-omicron", EVALUATE, circuit("ο + 1", o=1), 422, "must be ASCII"),
    ("unicode-minus-sign", EVALUATE, circuit("x − 1", x=1), 422, "ASCII minus sign"),
    ("zero-width-space", EVALUATE, circuit("x\u200b + 1", x=1), 422, "must be ASCII"),
    ("walrus", EVALUATE, circuit("(y := x) * 2", x=1), 422, "walrus"),
    ("lambda", EVALUATE, circuit("(lambda: 1)()"), 422, "lambda"),
    (
        "attribute-access",
        EVALUATE,
        circuit("x.real", x=1),
        422,
        "attribute access '.real' is not allowed",
    ),
    ("dunder-class", EVALUATE, circuit("x.__class__", x=1), 422, "dunder"),
    ("dunder-import", EVALUATE, circuit("__import__('os')"), 422, "dunder"),
    ("dunder-input-name", EVALUATE, circuit("__x + 1", __x=1), 422, "dunder"),
    ("caret-power", EVALUATE, circuit("x^2", x=3), 422, "use **"),
    ("string-literal", EVALUATE, circuit("'a' * 3"), 422, "strings are not allowed"),
    ("unknown-function-eval", EVALUATE, circuit("eval(x)", x=1), 422, "unknown function 'eval'"),
    ("comparison", EVALUATE, circuit("x < 1", x=1), 422, "comparisons are not gates"),
    ("empty-expression", EVALUATE, circuit(""), 422, "the expression is empty"),
    # --- malformed, oversized and wrong-typed JSON -------------------------------------------
    ("json-nan-input", EVALUATE, raw('{"expression": "x", "inputs": {"x": NaN}}'), 422, "finite"),
    (
        "json-infinity-input",
        EVALUATE,
        raw('{"expression": "x", "inputs": {"x": Infinity}}'),
        422,
        "finite",
    ),
    (
        "json-minus-infinity",
        EVALUATE,
        raw('{"expression": "x", "inputs": {"x": -Infinity}}'),
        422,
        "finite",
    ),
    (
        "json-nan-output-grad",
        EVALUATE,
        raw('{"expression": "x", "inputs": {"x": 1}, "output_grad": NaN}'),
        422,
        "finite",
    ),
    ("string-infinity-input", EVALUATE, circuit("x", x="Infinity"), 422, "not str"),
    ("true-as-number", EVALUATE, circuit("x", x=True), 422, "not bool"),
    ("string-as-number", EVALUATE, circuit("x", x="1.5"), 422, "not str"),
    ("null-as-number", EVALUATE, circuit("x", x=None), 422, "not NoneType"),
    ("true-output-grad", EVALUATE, {**circuit("x", x=1), "output_grad": True}, 422, "valid number"),
    (
        "string-output-grad",
        EVALUATE,
        {**circuit("x", x=1), "output_grad": "1.5"},
        422,
        "valid number",
    ),
    ("expression-is-number", EVALUATE, {"expression": 5}, 422, "valid string"),
    ("expression-missing", EVALUATE, {"inputs": {}}, 422, "Field required"),
    ("inputs-is-list", EVALUATE, {"expression": "x", "inputs": [1]}, 422, "valid dictionary"),
    ("body-is-list", EVALUATE, [1, 2], 422, "valid dictionary"),
    ("unknown-field", EVALUATE, {**circuit("x", x=1), "evil": 1}, 422, "Extra inputs"),
    ("broken-json", EVALUATE, raw('{"expression": '), 422, "JSON decode error"),
    ("empty-body", EVALUATE, raw(""), 422, "Field required"),
    (
        "deeply-nested-json",
        EVALUATE,
        raw('{"inputs": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"),
        400,
        "error parsing the body",
    ),
    (
        "body-over-limit",
        EVALUATE,
        raw('{"expression": "' + "x" * 1_100_000 + '"}'),
        413,
        "BPC_MAX_BODY_BYTES",
    ),
    (
        "lone-surrogate-expression",
        EVALUATE,
        raw('{"expression": "\\ud800 + x", "inputs": {"x": 1}}'),
        422,
        "surrogate",
    ),
    (
        "lone-surrogate-name",
        EVALUATE,
        raw('{"expression": "x", "inputs": {"\\udfff": 1}}'),
        422,
        "surrogate",
    ),
    (
        "tensor-over-limit",
        EVALUATE,
        circuit("sum(x)", x=[1.0] * 150_000),
        422,
        "BPC_MAX_TENSOR_ELEMENTS_PER_INPUT",
    ),
    ("ragged-tensor", EVALUATE, circuit("sum(x)", x=[[1.0, 2.0], [3.0]]), 422, "ragged"),
    (
        "tie-break-bad",
        EVALUATE,
        {**circuit("max(x, y)", x=1, y=1), "tie_break": "<b>"},
        422,
        "'split' or 'first'",
    ),
    (
        "h-negative",
        EVALUATE,
        {**circuit("x", x=1), "gradcheck": True, "h": -1.0},
        422,
        "greater than 0",
    ),
    # --- HTML and script in names and messages (answered as JSON, never as markup) ----------
    ("html-expression", EVALUATE, circuit(XSS), 422, "comparisons are not gates"),
    ("script-expression", EVALUATE, circuit("<script>alert(1)</script>"), 422, "'<'"),
    (
        "html-input-name",
        EVALUATE,
        circuit("x", **{"<script>": 1, "x": 1}),
        422,
        "does not use input <script>",
    ),
    ("html-stage-name", EVALUATE, circuit("<b> = x\nf = 2", x=1), 422, "comparisons are not gates"),
    (
        "html-in-comment-unused-input",
        EVALUATE,
        circuit("x  # " + XSS, x=1, y=2),
        422,
        "does not use input y",
    ),
    ("html-dataset-name", LOSS, {"dataset": {"name": XSS}}, 422, "Input should be"),
    ("html-csv", LOSS, {"dataset": {"csv": "<script>,2,0\n"}}, 422, "CSV"),
    # --- giant or degenerate grids and data (landscape) --------------------------------------
    (
        "grid-2d-steps-huge",
        SLICE,
        {"dataset": TOY, "dims": 2, "steps": 100_000},
        413,
        "BPC_MAX_SLICE_STEPS",
    ),
    (
        "grid-2d-points-over",
        SLICE,
        {"dataset": TOY, "dims": 2, "steps": 202},
        413,
        "BPC_MAX_GRID_POINTS",
    ),
    (
        "slice-1d-steps-billion",
        SLICE,
        {"dataset": TOY, "dims": 1, "steps": 10**9},
        413,
        "BPC_MAX_SLICE_STEPS",
    ),
    ("slice-steps-zero", SLICE, {"dataset": TOY, "steps": 0}, 422, "at least 2"),
    ("slice-steps-one", SLICE, {"dataset": TOY, "steps": 1}, 422, "at least 2"),
    ("slice-range-reversed", SLICE, {"dataset": TOY, "range": [1, -1]}, 422, "lo < hi"),
    ("slice-range-empty", SLICE, {"dataset": TOY, "range": [1, 1]}, 422, "lo < hi"),
    (
        "slice-range-nan",
        SLICE,
        raw('{"dataset": {"name": "toy-2d"}, "range": [NaN, 1]}'),
        422,
        "finite",
    ),
    ("slice-dims-3", SLICE, {"dataset": TOY, "dims": 3}, 422, "1 or 2"),
    (
        "slice-axis-out-of-range",
        SLICE,
        {"dataset": TOY, "direction": "axis", "axis": [99, 99]},
        422,
        "outside W",
    ),
    (
        "data-n-billion",
        LOSS,
        {"dataset": {"name": "blobs", "n": 10**9, "d": 10**9}},
        413,
        "BPC_MAX_LANDSCAPE_N",
    ),
    (
        "data-c-huge",
        LOSS,
        {"dataset": {"X": [[1, 2]], "y": [0], "c": 100_000}},
        413,
        "BPC_MAX_LANDSCAPE_C",
    ),
    ("data-empty", LOSS, {"dataset": {"X": [], "y": []}}, 422, "empty"),
    ("data-ragged", LOSS, {"dataset": {"X": [[1, 2], [3]], "y": [0, 1]}}, 422, "row 1"),
    (
        "data-label-negative",
        LOSS,
        {"dataset": {"X": [[1, 2], [3, 4]], "y": [0, -1]}},
        422,
        "out of range",
    ),
    ("data-labels-mismatch", LOSS, {"dataset": {"X": [[1, 2]], "y": [0, 1]}}, 422, "2 labels"),
    ("W-wrong-shape", LOSS, {"dataset": TOY, "W": [[1]]}, 422, "C x D"),
    ("W-nan", LOSS, raw('{"dataset": {"name": "toy-2d"}, "W": [[NaN]]}'), 422, "finite"),
    (
        "delta-infinity",
        LOSS,
        raw('{"dataset": {"name": "toy-2d"}, "delta": Infinity}'),
        422,
        "finite",
    ),
    ("landscape-true-as-number", LOSS, {"dataset": TOY, "delta": True}, 422, "valid number"),
    ("landscape-string-as-number", LOSS, {"dataset": TOY, "reg": "1.5"}, 422, "valid number"),
    ("landscape-float-as-int", LOSS, {"dataset": TOY, "seed": 1.0}, 422, "valid integer"),
    ("data-true-in-X", LOSS, {"dataset": {"X": [[True, 2.0]], "y": [0]}}, 422, "valid number"),
    (
        "data-value-overflowing",
        LOSS,
        {"dataset": {"X": [[1e300, 1.0], [1.0, 2.0]], "y": [0, 1]}},
        422,
        "less than or equal to 1000000",
    ),
    (
        "weight-scale-overflowing",
        LOSS,
        {"dataset": TOY, "weight_scale": 1e300},
        422,
        "less than or equal",
    ),
    ("reg-negative", LOSS, {"dataset": TOY, "reg": -1}, 422, "greater than or equal to 0"),
    ("seed-negative", LOSS, {"dataset": TOY, "seed": -1}, 422, "greater than or equal to 0"),
    (
        "csv-over-body-limit",
        LOSS,
        {"dataset": {"csv": "1,2,0\n" * 200_000}},
        413,
        "BPC_MAX_BODY_BYTES",
    ),
    (
        "optimize-work-over-budget",
        OPTIMIZE,
        {"dataset": {"name": "cifar-shaped"}, "steps": 2000, "strategy": "gd"},
        413,
        "BPC_MAX_OPTIMIZE_WORK",
    ),
    (
        "optimize-steps-billion",
        OPTIMIZE,
        {"dataset": TOY, "steps": 10**9},
        413,
        "BPC_MAX_OPTIMIZE_STEPS",
    ),
    (
        "optimize-step-size-inf",
        OPTIMIZE,
        raw('{"dataset": {"name": "toy-2d"}, "step_size": Infinity}'),
        422,
        "finite",
    ),
    ("circuit-bad-dataset", CIRCUIT, {"dataset": {"name": "nope"}}, 422, "Input should be"),
]

# Valid input whose numbers blow up: answered 200, with the non-finite values as strings and a
# warning per gate, never a 4xx or a 500.
NUMERIC_TRAPS: list[tuple[str, dict[str, Any], str, str]] = [
    ("exp-overflow", circuit("exp(x)", x=1000), "Infinity", "exp"),
    ("zero-times-inf", circuit("0 * exp(x)", x=1000), "NaN", "exp"),
    ("log-of-negative", circuit("log(x)", x=-1), "NaN", "log"),
    ("sqrt-of-negative", circuit("sqrt(x)", x=-1), "NaN", "sqrt"),
    ("divide-by-zero", circuit("1 / x", x=0), "Infinity", "div"),
    ("power-tower-literals", circuit("9**9**9**9"), "Infinity", "pow"),
    ("power-tower-input", circuit("x**9**9**9", x=2), "Infinity", "pow"),
    ("mul-overflow", circuit("x * x * x", x=1e300), "Infinity", "mul"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[httpx.Client]:
    with running_app() as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client


def _post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    if isinstance(body, bytes):
        return client.post(path, content=body, headers={"content-type": "application/json"})
    return client.post(path, json=body)


def _messages(response: httpx.Response) -> str:
    detail = response.json()["detail"]
    if isinstance(detail, str):
        return detail
    assert isinstance(detail, list) and detail, detail
    for entry in detail:
        assert isinstance(entry["msg"], str) and entry["msg"], entry
    return " | ".join(entry["msg"] for entry in detail)


def _still_answers(client: httpx.Client) -> None:
    assert client.get("/healthz", timeout=2).json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("path", "body", "status", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hostile_input_is_a_4xx_with_a_message(
    server: httpx.Client, path: str, body: Any, status: int, message: str
) -> None:
    response = _post(server, path, body)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert message in _messages(response)
    _still_answers(server)


@pytest.mark.parametrize(
    ("body", "value", "gate"), [t[1:] for t in NUMERIC_TRAPS], ids=[t[0] for t in NUMERIC_TRAPS]
)
def test_numeric_traps_answer_200_with_warnings(
    server: httpx.Client, body: dict[str, Any], value: str, gate: str
) -> None:
    response = _post(server, EVALUATE, body)
    assert response.status_code == 200, response.text[:500]
    result = response.json()
    json.dumps(result, allow_nan=False)  # strict JSON: non-finite numbers travel as strings
    values = {str(node["value"]) for node in result["nodes"]}
    assert value in values
    assert result["warnings"], "a non-finite value must come with a warning"
    assert any(gate in w["msg"] for w in result["warnings"]), result["warnings"]
    _still_answers(server)


def test_markup_is_never_reflected_as_html(server: httpx.Client) -> None:
    for path in (f"/{XSS}", "/api/v1/<script>alert(1)</script>"):
        response = server.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {
            "detail": [
                {
                    "type": "not_found",
                    "loc": ["path"],
                    "msg": "no page or endpoint here (the API: /docs)",
                }
            ],
            "title": "Not Found",
            "status": 404,
        }
        assert "<script>" not in response.text and "<img" not in response.text
    _still_answers(server)


def test_oversized_headers_and_wrong_methods_are_4xx(server: httpx.Client) -> None:
    wrong_method = server.get(EVALUATE)
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {
        "detail": [
            {
                "type": "method_not_allowed",
                "loc": ["method"],
                "msg": "this endpoint takes POST, not GET",
            }
        ],
        "title": "Method Not Allowed",
        "status": 405,
    }
    assert wrong_method.headers["allow"] == "POST"
    # not declared as JSON: the body is one string, not the object the schema wants
    text_body = server.post(
        EVALUATE, content=b'{"expression": "x"}', headers={"content-type": "text/plain"}
    )
    assert text_body.status_code == 422
    (detail,) = text_body.json()["detail"]
    assert detail["loc"] == ["body"]
    assert detail["msg"] == "Input should be a valid dictionary or object to extract fields from"
    # uvicorn's HTTP parser refuses a 1 MB header line before the app sees the request; the
    # launcher (app/serve.py) answers in the errors' envelope all the same
    huge_header = server.get("/healthz", headers={"x-junk": "a" * 1_000_000})
    assert huge_header.status_code == 400
    assert huge_header.headers["content-type"] == "application/json"
    assert huge_header.json()["detail"][0]["type"] == "bad_http_request"
    _still_answers(server)


def test_at_least_sixty_hostile_cases() -> None:
    assert len(CASES) + len(NUMERIC_TRAPS) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)
