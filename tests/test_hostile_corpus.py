"""A standing corpus of the inputs that once gave a 500 or a silently wrong answer (issue 10)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import parse

EVALUATE = "/api/v1/circuits/evaluate"
LOSS = "/api/v1/landscape/loss"
UPLOAD = "/api/v1/landscape/datasets/csv"
BIG = "1" + "0" * 400  # a JSON integer beyond float64


def strict_json(text: str) -> Any:
    """Parses an answer, refusing the NaN / Infinity tokens that are not JSON."""

    def refuse(token: str) -> Any:
        raise AssertionError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def post_raw(client: TestClient, path: str, body: str | bytes) -> Any:
    return client.post(path, content=body, headers={"content-type": "application/json"})


def detail(response: Any) -> dict[str, Any]:
    body = strict_json(response.text)
    assert isinstance(body["detail"], list), body
    return dict(body["detail"][0])


# ------------------------------------------------------------- item 10: gradcheck, non-finite


@pytest.mark.parametrize(
    ("expression", "inputs", "output_grad", "analytic"),
    [
        ("exp(x)", {"x": 1000}, 1.0, "Infinity"),  # e^1000 overflows
        ("log(x)", {"x": 0}, 1.0, "Infinity"),  # 1/0
        ("1 / x", {"x": 0}, 1.0, "-Infinity"),  # -1/0²
        ("x * 2", {"x": 1}, 1e308, "Infinity"),  # 2 · 1e308 overflows
        ("x / 1e-320", {"x": 1}, 1.0, "Infinity"),  # 1 / subnormal overflows
    ],
)
def test_gradcheck_reports_non_finite_entries_instead_of_a_500(
    client: TestClient, expression: str, inputs: dict[str, float], output_grad: float, analytic: str
) -> None:
    body = {"expression": expression, "inputs": inputs, "gradcheck": True}
    body["output_grad"] = output_grad
    response = client.post(EVALUATE, json=body)
    assert response.status_code == 200, response.text
    check = strict_json(response.text)["gradcheck"]
    (entry,) = check["inputs"]
    assert entry["analytic"] == analytic
    assert entry["status"] == "not finite"
    assert entry["passed"] is None  # left out of pass/fail, not failed
    assert entry["rel_error"] is None
    assert analytic in entry["reason"] and "1 of 1 entries not compared" in entry["reason"]
    assert check["passed"] is True


def test_gradcheck_still_compares_the_finite_entries_of_a_tensor(client: TestClient) -> None:
    body = {"expression": "sum(exp(x))", "inputs": {"x": [1000, 0.5]}, "gradcheck": True}
    entry = strict_json(client.post(EVALUATE, json=body).text)["gradcheck"]["inputs"][0]
    assert entry["analytic"] == ["Infinity", math.exp(0.5)]
    assert entry["status"] == "not finite"
    assert entry["reason"].startswith("the analytic gradient at index [0] is Infinity")


# ------------------------------------------------------------- item 11: numbers beyond range


@pytest.mark.parametrize(
    ("inputs", "loc"),
    [
        (f'{{"x": {BIG}}}', ["body", "inputs", "x"]),
        (f'{{"x": [1, {BIG}]}}', ["body", "inputs", "x", 1]),
        (f'{{"x": [[1, 2], [3, -{BIG}]]}}', ["body", "inputs", "x", 1, 1]),
    ],
    ids=["scalar", "vector", "matrix"],
)
def test_an_integer_beyond_float64_is_a_422_naming_it(
    client: TestClient, inputs: str, loc: list[Any]
) -> None:
    response = post_raw(client, EVALUATE, f'{{"expression": "sum(x * 2)", "inputs": {inputs}}}')
    assert response.status_code == 422
    problem = detail(response)
    assert problem["loc"] == loc
    assert "beyond the float64 range" in problem["msg"]


def test_a_label_beyond_int64_is_a_422_naming_it(client: TestClient) -> None:
    body = '{"dataset": {"X": [[1.0], [2.0]], "y": [0, 100000000000000000000]}}'
    response = post_raw(client, LOSS, body)
    assert response.status_code == 422
    problem = detail(response)
    assert problem["loc"] == ["body", "dataset", "y", 1]
    assert "less than 9223372036854775808" in problem["msg"]


def test_a_csv_label_beyond_int64_is_a_422_naming_line_and_column(client: TestClient) -> None:
    response = client.post(LOSS, json={"dataset": {"csv": "1,0\n2,1e19\n"}})
    assert response.status_code == 422
    problem = detail(response)
    assert (problem["line"], problem["col"]) == (2, 2)
    assert "'1e19' is not an integer class index" in problem["msg"]
    uploaded = client.post(UPLOAD, files={"file": ("big.csv", b"1,0\n2,1e19\n")})
    assert uploaded.status_code == 422
    assert (detail(uploaded)["line"], detail(uploaded)["col"]) == (2, 2)


# ------------------------------------------------------------- item 12: UTF-16 / UTF-32 bodies


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-32-be"])
@pytest.mark.parametrize("expression", ["x # \ud800", "x\n# \udc00 in a comment"])
def test_a_lone_surrogate_in_a_utf16_or_utf32_body_is_a_422(
    client: TestClient, encoding: str, expression: str
) -> None:
    text = json.dumps({"expression": expression, "inputs": {"x": 1}}, ensure_ascii=False)
    response = post_raw(client, EVALUATE, text.encode(encoding, "surrogatepass"))
    assert response.status_code == 422
    problem = detail(response)
    assert problem["type"] == "unicode_error"
    assert "unpaired UTF-16 surrogate" in problem["msg"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_paired_surrogate_in_a_utf16_body_is_fine(client: TestClient, encoding: str) -> None:
    text = json.dumps({"expression": "x # \U0001f600", "inputs": {"x": 1}}, ensure_ascii=False)
    response = post_raw(client, EVALUATE, text.encode(encoding))
    assert response.status_code == 200
    assert strict_json(response.text)["expression"] == "x # \U0001f600"


# ------------------------------------------------------------- item 13: CSV first rows


def test_a_csv_with_a_byte_order_mark_keeps_its_first_row(client: TestClient) -> None:
    response = client.post(UPLOAD, files={"file": ("bom.csv", b"\xef\xbb\xbf1,0\n2,1\n3,0\n")})
    assert response.status_code == 200
    assert strict_json(response.text)["X"] == [[1.0], [2.0], [3.0]]
    loss = client.post(LOSS, json={"dataset": {"csv": "\ufeff1,0\n2,1\n3,0\n"}})
    assert len(strict_json(loss.text)["per_example"]) == 3


def test_a_header_row_of_words_is_skipped(client: TestClient) -> None:
    text = "\ufeffx1,x2,label\n1,2,0\n3,4,1\n"
    response = client.post(UPLOAD, files={"file": ("h.csv", text.encode())})
    assert strict_json(response.text)["X"] == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize(
    ("text", "col", "cell"),
    [
        ("1.5,2x,0\n3,4,1\n", 2, "'2x'"),  # a typo in row 1 is not a header
        ("x1,x2,0\n3,4,1\n", 1, "'x1'"),  # half words, half numbers: ambiguous
    ],
)
def test_a_mixed_first_row_is_a_422_naming_line_1_and_the_column(
    client: TestClient, text: str, col: int, cell: str
) -> None:
    response = client.post(LOSS, json={"dataset": {"csv": text}})
    assert response.status_code == 422
    problem = detail(response)
    assert (problem["line"], problem["col"]) == (1, col)
    assert "neither a header" in problem["msg"] and cell in problem["msg"]


# ------------------------------------------------------------- item 17: smaller ones


@pytest.mark.parametrize("separator", ["\f\n", "\r\n", "\n\f"])
def test_the_error_excerpt_is_the_line_the_lexer_counted(
    client: TestClient, separator: str
) -> None:
    expression = f"a = x{separator}b = a +"
    response = client.post(EVALUATE, json={"expression": expression, "inputs": {"x": 1}})
    problem = detail(response)
    assert problem["line"] == 2
    assert problem["excerpt"].strip() == "b = a +"


def test_a_lone_carriage_return_does_not_start_a_line(client: TestClient) -> None:
    # The lexer reads "\r" as a space, so this is one line; the excerpt must be that line.
    response = client.post(EVALUATE, json={"expression": "a = x\rb = 1 +", "inputs": {"x": 1}})
    problem = detail(response)
    assert problem["line"] == 1
    assert problem["excerpt"] == "a = x b = 1 +"
    assert problem["excerpt"][problem["col"] - 1] == "="


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("k = 1\nv[k]", 20.0),
        ("k = 1\nsum(v[k:3])", 50.0),  # 20 + 30
        ("k = 2\nsum(v[:k])", 30.0),  # 10 + 20
        ("k = 1\nsum(v[0:-k])", 30.0),
    ],
)
def test_constant_stages_work_in_indices_without_a_warning(
    client: TestClient, expression: str, value: float
) -> None:
    body = {"expression": expression, "inputs": {"v": [10, 20, 30]}}
    answer = strict_json(client.post(EVALUATE, json=body).text)
    assert answer["output"]["value"] == value
    assert answer["warnings"] == []


def test_a_computed_stage_as_a_slice_bound_is_a_422(client: TestClient) -> None:
    body = {"expression": "k = 1\nj = k + 1\nsum(v[0:j])", "inputs": {"v": [1, 2, 3]}}
    problem = detail(client.post(EVALUATE, json=body))
    assert (problem["line"], problem["col"]) == (3, 9)
    assert "'j' is not one" in problem["msg"]


def _chunks(payload: bytes) -> Iterator[bytes]:
    # A generator body is sent chunked, without Content-Length, so only reading it finds the size.
    for i in range(0, len(payload), 65536):
        yield payload[i : i + 65536]


@pytest.mark.parametrize("kind", ["multipart", "text"])
def test_an_oversized_streamed_body_is_a_json_413_naming_the_setting(
    client: TestClient, kind: str
) -> None:
    rows = b"1,0\n" * 400_000  # 1.6 MB, over the default BPC_MAX_BODY_BYTES of 1 MB
    if kind == "multipart":
        head = b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        payload, path = head + rows + b"\r\n--xx--\r\n", UPLOAD
        content_type = "multipart/form-data; boundary=xx"
    else:
        payload, path, content_type = rows, EVALUATE, "text/plain"
    response = client.post(path, content=_chunks(payload), headers={"content-type": content_type})
    assert response.status_code == 413
    problem = detail(response)
    assert "BPC_MAX_BODY_BYTES" in problem["msg"]
    assert problem["type"] == "limit_exceeded"


# ------------------------------------------------------------- item 14: the loss as a circuit


def _run_program(client: TestClient, request: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The landscape's loss and dW, and what evaluating its circuit program gives."""
    program = strict_json(client.post("/api/v1/landscape/circuit", json=request).text)
    loss = strict_json(client.post(LOSS, json=request).text)
    body = {"expression": program["expression"], "inputs": program["inputs"]}
    response = client.post(EVALUATE, json=body)
    assert response.status_code == 200, response.text
    answer = strict_json(response.text)
    assert program["loss"] == loss["loss"] and program["grad_W"] == loss["grad_W"]
    return loss, answer["output"]["value"], answer["gradients"]


@pytest.mark.parametrize("variant", ["structured", "ww", "ova"])
def test_one_class_svm_programs_run_and_match_the_landscape(
    client: TestClient, variant: str
) -> None:
    request = {
        "dataset": {"X": [[1.0, 2.0], [0.5, -1.0]], "y": [0, 0], "c": 1},
        "W": [[0.25, -0.5]],
        "variant": variant,
    }
    loss, value, grads = _run_program(client, request)
    assert value == pytest.approx(loss["loss"], abs=1e-12)
    assert [grads["W0_0"], grads["W0_1"]] == pytest.approx(loss["grad_W"][0], abs=1e-12)
    if variant != "ova":  # one class: no margins, so the loss is 0 for every W
        assert value == 0.0 and grads == {"W0_0": 0.0, "W0_1": 0.0}


def test_softmax_program_at_scores_of_1000_matches_the_landscape(client: TestClient) -> None:
    # Scores ±1000, each example's true class the losing one: L_i = 1000 - (-1000) = 2000 (the
    # other term is e^-2000 = 0), and dL_i/ds = softmax - onehot = ±(1, -1), times x = ±1.
    request = {
        "dataset": {"X": [[1.0], [-1.0]], "y": [1, 0]},
        "W": [[1000.0], [-1000.0]],
        "loss": "softmax",
    }
    loss, value, grads = _run_program(client, request)
    assert loss["loss"] == 2000.0 and loss["grad_W"] == [[1.0], [-1.0]]
    assert value == 2000.0
    assert [[grads["W0_0"]], [grads["W1_0"]]] == [[1.0], [-1.0]]


def test_softmax_program_matches_the_landscape_with_reg_and_ties(client: TestClient) -> None:
    request = {
        "dataset": {"X": [[1.0, 0.5], [-1.0, 2.0], [0.0, 0.0]], "y": [0, 2, 1]},
        "W": [[0.5, -1.0], [0.25, 0.75], [-0.5, 1.5]],
        "loss": "softmax",
        "reg": 0.1,
    }
    loss, value, grads = _run_program(client, request)
    assert value == pytest.approx(loss["loss"], rel=1e-12)
    dW = [[grads[f"W{c}_{d}"] for d in range(2)] for c in range(3)]
    for got, want in zip(dW, loss["grad_W"], strict=True):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


# ------------------------------------------------------------- every gate at its special points

# Each gate with its operands as placeholders: {a}, {b} scalars; {v} a 4-vector; {m} a 2×2 matrix.
GATE_CASES: dict[str, list[str]] = {
    "add": ["{a} + {b}"],
    "sub": ["{a} - {b}"],
    "mul": ["{a} * {b}"],
    "div": ["{a} / {b}"],
    "neg": ["-({a})"],
    "pow": ["({a}) ** 0", "({a}) ** 0.5", "({a}) ** 3", "({a}) ** -1"],
    "pow_xy": ["({a}) ** ({b})"],
    "max": ["max({a}, {b})", "max({a}, {b}, {a})"],
    "min": ["min({a}, {b})", "min({b}, {a}, {b})"],
    "exp": ["exp({a})"],
    "log": ["log({a})"],
    "sqrt": ["sqrt({a})"],
    "abs": ["abs({a})"],
    "relu": ["relu({a})"],
    "sigmoid": ["sigmoid({a})"],
    "tanh": ["tanh({a})"],
    "index": ["sum(({v})[1:3])", "({m})[1, 0]"],
    "matmul": ["sum(({m}) @ ({m}))"],
    "dot": ["dot({v}, {v})"],
    "transpose": ["sum(({m}).T)"],
    "reshape": ["sum(reshape({v}, 2, 2))"],
    "sum": ["sum({v})", "sum(sum({m}, 0))"],
    "mean": ["mean({v})", "sum(mean({m}, 1))"],
}
# Finite inputs (the API refuses others) and subexpressions that reach ±Infinity and NaN.
SPECIAL_INPUTS = [0.0, -0.0, 5e-324, -5e-324, 1e308, -1e308, 1.7976931348623157e308, 1.0]
NON_FINITE = ["exp(1000)", "-exp(1000)", "log(-1)"]


def test_every_gate_has_special_point_cases() -> None:
    from app.engine import GATES

    assert sorted(GATE_CASES) == sorted(GATES)


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    template=st.sampled_from([t for cases in GATE_CASES.values() for t in cases]),
    a=st.sampled_from(["x", *NON_FINITE]),
    b=st.sampled_from(["y", *NON_FINITE]),
    scale=st.sampled_from(["", " * exp(1000)", " + log(-1)", " * 0"]),
    x=st.sampled_from(SPECIAL_INPUTS),
    y=st.sampled_from(SPECIAL_INPUTS),
    elements=st.lists(st.sampled_from(SPECIAL_INPUTS), min_size=4, max_size=4),
    gradcheck=st.booleans(),
)
def test_every_gate_at_special_points_answers_strict_json_without_a_5xx(
    http: TestClient,
    template: str,
    a: str,
    b: str,
    scale: str,
    x: float,
    y: float,
    elements: list[float],
    gradcheck: bool,
) -> None:
    expression = template.format(a=a, b=b, v=f"v{scale}", m=f"m{scale}")
    candidates = {"x": x, "y": y, "v": elements, "m": [elements[:2], elements[2:]]}
    used = parse(expression).input_names
    body = {
        "expression": expression,
        "inputs": {name: candidates[name] for name in used},
        "gradcheck": gradcheck,
    }
    response = http.post(EVALUATE, json=body)
    assert response.status_code < 500, response.text
    answer = strict_json(response.text)
    if response.status_code == 200 and gradcheck:
        assert {e["status"] for e in answer["gradcheck"]["inputs"]} <= {
            "pass",
            "fail",
            "kink",
            "not finite",
        }


@pytest.fixture(scope="module")
def http() -> Iterator[TestClient]:
    from app.main import app

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
