"""Every limit at its edge: exactly N is accepted, N + 1 is refused with a message naming BPC_*.

Where a request cannot grow by exactly one unit (a product such as N*D, or a count fixed by
the circuit), the same request is sent with the limit set to its size and to its size - 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.core.config import get_settings
from app.main import app, create_app
from tests.live_app import running_app
from tests.settings_override import overridden_settings as limits

EVALUATE = "/api/v1/circuits/evaluate"
LANDSCAPE = "/api/v1/landscape"
TOY = {"dataset": {"name": "toy-2d"}, "seed": 3, "weight_scale": 1.0}  # N = 9, D = 3, C = 3
ONE_D = {"dataset": {"name": "cs231n-1d"}, "seed": 3}  # N = 3, D = 1, C = 3


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def accepted(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:500]
    return dict(response.json())


def refused(
    response: httpx.Response,
    status: int,
    setting: str,
    got: int,
    limit: int,
    *,
    what: str,
    loc: list[str],
) -> dict[str, Any]:
    """The refusal names what was counted, where it is in the request, and the setting."""
    assert response.status_code == status, response.text[:500]
    detail = dict(response.json()["detail"][0])
    assert detail["type"] == "limit_exceeded", detail
    assert detail["setting"] == setting and detail["limit"] == limit and detail["got"] == got
    expected = f"{what} is {got}, over the limit of {limit} (setting BPC_{setting.upper()})"
    assert detail["msg"] == expected
    assert detail["loc"] == loc
    return detail


def evaluate(api: TestClient, expression: str, inputs: dict[str, Any], **extra: Any) -> Any:
    return api.post(EVALUATE, json={"expression": expression, "inputs": inputs, **extra})


# ---------------------------------------------------------------- circuits


def test_max_expression_chars(api: TestClient) -> None:
    with limits(max_expression_chars=20):
        accepted(evaluate(api, "x" + " " * 19, {"x": 1.0}))  # 20 characters
        refused(
            evaluate(api, "x" + " " * 20, {"x": 1.0}),
            413,
            "max_expression_chars",
            21,
            20,
            what="the expression's length",
            loc=["body", "expression"],
        )


def test_max_gates(api: TestClient) -> None:
    with limits(max_gates=5):
        accepted(evaluate(api, "x" + " + x" * 5, {"x": 1.0}))  # five add gates
        refused(
            evaluate(api, "x" + " + x" * 6, {"x": 1.0}),
            413,
            "max_gates",
            6,
            5,
            what="the number of gates",
            loc=["body", "expression"],
        )
        # constants (-5 too) are not gates; a negation is
        accepted(evaluate(api, "-x * 2 * 3 * 4 * -5", {"x": 1.0}))  # neg + 4 mul
        refused(
            evaluate(api, "-(-x * 2 * 3 * 4 * 5)", {"x": 1.0}),
            413,
            "max_gates",
            6,
            5,
            what="the number of gates",
            loc=["body", "expression"],
        )


def test_max_nesting_depth(api: TestClient) -> None:
    with limits(max_nesting_depth=4):
        accepted(evaluate(api, "((((x))))", {"x": 1.0}))
        refused(
            evaluate(api, "(((((x)))))", {"x": 1.0}),
            413,
            "max_nesting_depth",
            5,
            4,
            what="the nesting depth",
            loc=["body", "expression"],
        )
        accepted(evaluate(api, "exp(exp(exp(exp(x))))", {"x": -5.0}))
        refused(
            evaluate(api, "exp(exp(exp(exp(exp(x)))))", {"x": -5.0}),
            413,
            "max_nesting_depth",
            5,
            4,
            what="the nesting depth",
            loc=["body", "expression"],
        )


def test_max_inputs(api: TestClient) -> None:
    with limits(max_inputs=3):
        accepted(evaluate(api, "a + b + c", {"a": 1.0, "b": 2.0, "c": 3.0}))
        four = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}
        refused(
            evaluate(api, "a + b + c + d", four),
            413,
            "max_inputs",
            4,
            3,
            what="the number of inputs",
            loc=["body", "expression"],
        )


def test_max_statements(api: TestClient) -> None:
    with limits(max_statements=3):
        accepted(evaluate(api, "a = 2 * x\nb = a + 1\nb * b", {"x": 1.0}))
        refused(
            evaluate(api, "a = 2 * x\nb = a + 1\nc = b * b\nc - 1", {"x": 1.0}),
            413,
            "max_statements",
            4,
            3,
            what="the number of statements",
            loc=["body", "expression"],
        )


def test_max_literal_chars(api: TestClient) -> None:
    with limits(max_literal_chars=5):
        accepted(evaluate(api, "12345 * x", {"x": 1.0}))
        accepted(evaluate(api, "1.5e3 * x", {"x": 1.0}))  # 5 characters however written
        refused(
            evaluate(api, "123456 * x", {"x": 1.0}),
            413,
            "max_literal_chars",
            6,
            5,
            what="a number literal's length",
            loc=["body", "expression"],
        )
        refused(
            evaluate(api, "1.25e3 * x", {"x": 1.0}),
            413,
            "max_literal_chars",
            6,
            5,
            what="a number literal's length",
            loc=["body", "expression"],
        )


def test_gradcheck_max_evals(api: TestClient) -> None:
    # x * y: 3 nodes (x, y, the product) and 2 input elements: 2 × 2 × 3 = 12 evaluations
    with limits(gradcheck_max_evals=12):
        body = accepted(evaluate(api, "x * y", {"x": 2.0, "y": 3.0}, gradcheck=True))
        assert body["gradcheck"]["passed"] is True
    with limits(gradcheck_max_evals=11):
        detail = refused(
            evaluate(api, "x * y", {"x": 2.0, "y": 3.0}, gradcheck=True),
            413,
            "gradcheck_max_evals",
            12,
            11,
            what="the gradient check's work (2 × input elements × nodes)",
            loc=["body", "gradcheck"],
        )
        assert detail["loc"] == ["body", "gradcheck"]
        # without the gradient check the same circuit is fine
        accepted(evaluate(api, "x * y", {"x": 2.0, "y": 3.0}))


# ---------------------------------------------------------------- tensors


def test_tensor_elements_per_input(api: TestClient) -> None:
    with limits(max_tensor_elements_per_input=16):
        accepted(evaluate(api, "sum(a)", {"a": [1.0] * 16}))
        accepted(evaluate(api, "sum(a)", {"a": [[1.0] * 4] * 4}))
        detail = refused(
            evaluate(api, "sum(a)", {"a": [1.0] * 17}),
            422,
            "max_tensor_elements_per_input",
            17,
            16,
            what="input 'a' element count",
            loc=["body", "inputs", "a"],
        )
        assert detail["loc"] == ["body", "inputs", "a"]


def test_tensor_elements_per_node(api: TestClient) -> None:
    # reshape(a, 5, 1) @ reshape(b, 1, 5) is a 5×5 outer product: 25 elements on that wire
    expression = "sum(reshape(a, 5, 1) @ reshape(b, 1, 5))"
    inputs = {"a": [1.0] * 5, "b": [2.0] * 5}
    with limits(max_tensor_elements_per_node=25):
        assert accepted(evaluate(api, expression, inputs))["output"]["value"] == 50.0
    with limits(max_tensor_elements_per_node=24):
        refused(
            evaluate(api, expression, inputs),
            413,
            "max_tensor_elements_per_node",
            25,
            24,
            what="the elements of reshape(a, 5, 1) @ reshape(b, 1, 5) (5,5)",
            loc=["body", "expression"],
        )


def test_tensor_elements_per_request(api: TestClient) -> None:
    # sum(a * b * 2), a and b of 16: wires a 16, b 16, a*b 16, the constant 2 1, (a*b)*2 16,
    # the sum 1: 16 + 16 + 16 + 1 + 16 + 1 = 66 elements in all
    expression, inputs = "sum(a * b * 2)", {"a": [1.0] * 16, "b": [1.0] * 16}
    with limits(max_tensor_elements_per_request=66):
        assert accepted(evaluate(api, expression, inputs))["output"]["value"] == 32.0
    with limits(max_tensor_elements_per_request=65):
        refused(
            evaluate(api, expression, inputs),
            413,
            "max_tensor_elements_per_request",
            66,
            65,
            what="the elements of all wires together",
            loc=["body", "expression"],
        )


def test_tensor_matmul_work(api: TestClient) -> None:
    # A (2,3) @ B (3,4): 8 outputs of 3 multiply-adds each = 24
    inputs = {"A": [[1.0] * 3] * 2, "B": [[1.0] * 4] * 3}
    with limits(max_tensor_matmul_work=24):
        assert accepted(evaluate(api, "sum(A @ B)", inputs))["output"]["value"] == 24.0
    with limits(max_tensor_matmul_work=23):
        refused(
            evaluate(api, "sum(A @ B)", inputs),
            413,
            "max_tensor_matmul_work",
            24,
            23,
            what="the multiply-adds of all @ and dot gates together",
            loc=["body", "expression"],
        )


def test_tensor_rank(api: TestClient) -> None:
    with limits(max_tensor_rank=2):
        accepted(evaluate(api, "sum(a)", {"a": [[1.0, 2.0]]}))
        deep = evaluate(api, "sum(a)", {"a": [[[1.0, 2.0]]]})
        assert deep.status_code == 422, deep.text
        detail = deep.json()["detail"][0]
        assert detail["loc"] == ["body", "inputs", "a"]
        assert "more than 2 dimensions" in detail["msg"]
        assert "BPC_MAX_TENSOR_RANK" in detail["msg"]
        # a computed wire of rank 3 is refused at its gate
        accepted(evaluate(api, "sum(reshape(a, 1, 2))", {"a": [1.0, 2.0]}))
        wire = evaluate(api, "sum(reshape(a, 1, 1, 2))", {"a": [1.0, 2.0]})
        assert wire.status_code == 422, wire.text
        detail = wire.json()["detail"][0]
        assert "has 3 dimensions, more than the limit of 2" in detail["msg"]
        assert "BPC_MAX_TENSOR_RANK" in detail["msg"]
        assert detail["col"] == 5  # the reshape call


# ---------------------------------------------------------------- landscapes


def loss(api: TestClient, dataset: dict[str, Any]) -> httpx.Response:
    return api.post(f"{LANDSCAPE}/loss", json={"dataset": dataset})


def test_landscape_n(api: TestClient) -> None:
    with limits(max_landscape_n=10):
        assert accepted(loss(api, {"name": "blobs", "n": 10, "d": 1, "c": 2}))["n"] == 10
        refused(
            loss(api, {"name": "blobs", "n": 11, "d": 1, "c": 2}),
            413,
            "max_landscape_n",
            11,
            10,
            what="N (examples)",
            loc=["body", "dataset"],
        )
        # a dataset given as X and y counts the same way
        accepted(loss(api, {"X": [[0.0], [1.0]] * 5, "y": [0, 1] * 5}))
        refused(
            loss(api, {"X": [[0.0], [1.0]] * 5 + [[2.0]], "y": [0, 1] * 5 + [0]}),
            413,
            "max_landscape_n",
            11,
            10,
            what="N (examples)",
            loc=["body", "dataset"],
        )


def test_landscape_nd(api: TestClient) -> None:
    blobs = {"name": "blobs", "n": 10, "d": 4, "c": 2}  # N*D = 40
    with limits(max_landscape_nd=40):
        accepted(loss(api, blobs))
    with limits(max_landscape_nd=39):
        refused(
            loss(api, blobs), 413, "max_landscape_nd", 40, 39, what="N*D", loc=["body", "dataset"]
        )


def test_landscape_c(api: TestClient) -> None:
    with limits(max_landscape_c=4):
        assert accepted(loss(api, {"name": "blobs", "n": 8, "d": 2, "c": 4}))["c"] == 4
        refused(
            loss(api, {"name": "blobs", "n": 8, "d": 2, "c": 5}),
            413,
            "max_landscape_c",
            5,
            4,
            what="C (classes)",
            loc=["body", "dataset"],
        )


def test_landscape_nc(api: TestClient) -> None:
    blobs = {"name": "blobs", "n": 10, "d": 2, "c": 4}  # N*C = 40 hinge terms
    with limits(max_landscape_nc=40):
        accepted(loss(api, blobs))
    with limits(max_landscape_nc=39):
        refused(
            loss(api, blobs),
            413,
            "max_landscape_nc",
            40,
            39,
            what="N*C (loss terms)",
            loc=["body", "dataset"],
        )


def test_slice_steps(api: TestClient) -> None:
    with limits(max_slice_steps=50):
        body = accepted(api.post(f"{LANDSCAPE}/slice", json={**TOY, "steps": 50}))
        assert len(body["losses"]) == 50
        refused(
            api.post(f"{LANDSCAPE}/slice", json={**TOY, "steps": 51}),
            413,
            "max_slice_steps",
            51,
            50,
            what="steps",
            loc=["body", "steps"],
        )


def test_grid_points(api: TestClient) -> None:
    request = {**TOY, "dims": 2, "steps": 10}  # 10 × 10 = 100 points
    with limits(max_grid_points=100):
        body = accepted(api.post(f"{LANDSCAPE}/slice", json=request))
        assert len(body["losses"]) == 10 and len(body["losses"][0]) == 10
    with limits(max_grid_points=99):
        refused(
            api.post(f"{LANDSCAPE}/slice", json=request),
            413,
            "max_grid_points",
            100,
            99,
            what="grid points (steps^2)",
            loc=["body", "steps"],
        )


def test_optimize_steps(api: TestClient) -> None:
    with limits(max_optimize_steps=20):
        accepted(api.post(f"{LANDSCAPE}/optimize", json={**TOY, "steps": 20}))
        refused(
            api.post(f"{LANDSCAPE}/optimize", json={**TOY, "steps": 21}),
            413,
            "max_optimize_steps",
            21,
            20,
            what="steps",
            loc=["body", "steps"],
        )


def test_optimize_work(api: TestClient) -> None:
    # steps × N × max(C, 10) × (D + 100) on toy-2d with 2 steps: 2 × 9 × 10 × 103 = 18,540
    request = {**TOY, "steps": 2}
    with limits(max_optimize_work=18_540):
        accepted(api.post(f"{LANDSCAPE}/optimize", json=request))
    with limits(max_optimize_work=18_539):
        refused(
            api.post(f"{LANDSCAPE}/optimize", json=request),
            413,
            "max_optimize_work",
            18_540,
            18_539,
            what="the optimizer's work (steps × N × max(C, 10) × (D + 100))",
            loc=["body", "steps"],
        )


COMPARE_WORK = "the runs' work (runs × steps × N × max(C, 10) × (D + 100))"


def test_compare_steps(api: TestClient) -> None:
    # /compare counts its steps against the same setting as /optimize, before any run starts
    with limits(max_optimize_steps=20):
        body = accepted(api.post(f"{LANDSCAPE}/compare", json={**TOY, "steps": 20}))
        assert [run["steps_taken"] for run in body["runs"]] == [20]
        refused(
            api.post(f"{LANDSCAPE}/compare", json={**TOY, "steps": 21}),
            413,
            "max_optimize_steps",
            21,
            20,
            what="steps",
            loc=["body", "steps"],
        )


def test_compare_runs(api: TestClient) -> None:
    # 2 strategies × 3 step sizes = 6 runs
    request = {**TOY, "strategies": ["gd", "adam"], "step_sizes": [0.1, 0.2, 0.3], "steps": 2}
    with limits(max_compare_runs=6):
        assert len(accepted(api.post(f"{LANDSCAPE}/compare", json=request))["runs"]) == 6
    with limits(max_compare_runs=5):
        refused(
            api.post(f"{LANDSCAPE}/compare", json=request),
            413,
            "max_compare_runs",
            6,
            5,
            what="runs (strategies × step sizes)",
            loc=["body", "step_sizes"],
        )


def test_compare_work(api: TestClient) -> None:
    # 2 runs × 2 steps × N × max(C, 10) × (D + 100) on toy-2d: 2 × 2 × 9 × 10 × 103 = 37,080
    request = {**TOY, "step_sizes": [0.1, 0.2], "steps": 2}
    with limits(max_optimize_work=37_080):
        assert len(accepted(api.post(f"{LANDSCAPE}/compare", json=request))["runs"]) == 2
    with limits(max_optimize_work=37_079):
        refused(
            api.post(f"{LANDSCAPE}/compare", json=request),
            413,
            "max_optimize_work",
            37_080,
            37_079,
            what=COMPARE_WORK,
            loc=["body", "steps"],
        )


def predicted_memory(numbers: int, arrays: int) -> int:
    """app/landscape/cost.py's memory model: a base, 8 bytes per float64 held at once, the
    answer's numbers as Python floats, and the answer's text twice."""
    from app.landscape.cost import B_BASE, B_LISTED, B_NUMBER, M_BASE

    return M_BASE + 8 * arrays + B_LISTED * numbers + 2 * (B_BASE + B_NUMBER * numbers)


MEMORY = "the predicted peak memory in bytes"
# toy-2d: N = 9, D = 3, C = 3, so N*C = 27 scores and C*D = 9 weights. Held at once by a run:
# X (N x D), W and three more C x D arrays, and 6 arrays of N x C.
RUN_ARRAYS = 9 * 3 + 4 * 9 + 6 * 27


@pytest.mark.parametrize(
    ("path", "body", "numbers", "arrays", "loc"),
    [
        # the loss at each of 3 points, as 6 numbers each (steps, losses, path coordinates)
        ("optimize", {**TOY, "steps": 2}, 6 * 3, RUN_ARRAYS, ["body", "steps"]),
        # each of 2 runs' loss per step, and sgd's minibatch losses: 3 numbers per point
        (
            "compare",
            {**TOY, "step_sizes": [0.1, 0.2], "steps": 2},
            2 * 3 * 3,
            RUN_ARRAYS,
            ["body", "steps"],
        ),
        # 3 numbers per h; X, W and 3 more C x D arrays, 20 N x C temporaries, 2 per weight,
        # and 6 chunks of the 9 nudged 9 x 3 score matrices
        (
            "numerical-gradient",
            {**TOY, "samples": 10},
            3 * 10,
            9 * 3 + 4 * 9 + 20 * 27 + 2 * 9 + 6 * 9 * 27,
            ["body", "samples"],
        ),
        # a 5 x 5 grid and its axes; X, W and two directions, 20 N x C temporaries, the grid,
        # and 6 row chunks of CHUNK_VALUES
        (
            "slice",
            {**TOY, "dims": 2, "steps": 5},
            25 + 2 * 5,
            9 * 3 + 3 * 9 + 20 * 27 + 25 + 6 * 131_072,
            ["body", "steps"],
        ),
    ],
)
def test_predicted_memory_at_n_and_n_plus_one(
    api: TestClient, path: str, body: dict[str, Any], numbers: int, arrays: int, loc: list[str]
) -> None:
    memory = predicted_memory(numbers, arrays)
    with limits(max_memory_bytes=memory):
        accepted(api.post(f"{LANDSCAPE}/{path}", json=body))
    with limits(max_memory_bytes=memory - 1):
        refused(
            api.post(f"{LANDSCAPE}/{path}", json=body),
            413,
            "max_memory_bytes",
            memory,
            memory - 1,
            what=MEMORY,
            loc=loc,
        )


def test_numerical_gradient_work_at_n_and_n_plus_one(api: TestClient) -> None:
    # a base of 1,000,000, the scores and dW (2 N D C), the loss (25 per score), then at each of
    # 10 h each of the 9 weights nudged both ways (a loss each), and 1,000 per answer number
    work = 1_000_000 + 2 * 9 * 3 * 3 + 25 * 27 + 10 * 9 * 2 * 25 * 27 + 1_000 * 30
    body = {**TOY, "samples": 10}
    with limits(max_work=work):
        accepted(api.post(f"{LANDSCAPE}/numerical-gradient", json=body))
    with limits(max_work=work - 1):
        refused(
            api.post(f"{LANDSCAPE}/numerical-gradient", json=body),
            413,
            "max_work",
            work,
            work - 1,
            what="the predicted work (element operations)",
            loc=["body", "samples"],
        )


def test_term_lines(api: TestClient) -> None:
    # the limit counts N*C = 9 × 3 = 27 for toy-2d: lines are listed at 27 and left out at 26;
    # N × (C - 1) = 18 of them are hinge terms (the correct class has none)
    with limits(max_term_lines=27):
        body = accepted(api.post(f"{LANDSCAPE}/slice", json={**TOY, "steps": 5}))
        assert len(body["terms"]) == 18 and len(body["per_example"]) == 9
    with limits(max_term_lines=26):
        body = accepted(api.post(f"{LANDSCAPE}/slice", json={**TOY, "steps": 5}))
        assert "terms" not in body and "per_example" not in body


def test_loss_matrix_cells(api: TestClient) -> None:
    # toy-2d's margins matrix is N × C = 9 × 3 = 27 cells: listed at 27, left out at 26
    with limits(max_loss_matrix_cells=27):
        body = accepted(api.post(f"{LANDSCAPE}/loss", json=TOY))
        assert len(body["margins"]) == 9 and len(body["active"][0]) == 3
    with limits(max_loss_matrix_cells=26):
        body = accepted(api.post(f"{LANDSCAPE}/loss", json=TOY))
        assert body["margins"] is None and body["active"] is None
        assert len(body["per_example"]) == 9  # the per-example losses are always there


def test_circuit_terms(api: TestClient) -> None:
    # cs231n-1d as a circuit: N*C = 3 × 3 = 9 score terms
    with limits(max_circuit_terms=9):
        accepted(api.post(f"{LANDSCAPE}/circuit", json=ONE_D))
    with limits(max_circuit_terms=8):
        refused(
            api.post(f"{LANDSCAPE}/circuit", json=ONE_D),
            413,
            "max_circuit_terms",
            9,
            8,
            what="N*C",
            loc=["body"],
        )


# ---------------------------------------------------------------- the request body

LIMIT = 300


def padded(size: int) -> bytes:
    """A valid evaluate request of exactly `size` bytes (JSON allows trailing whitespace)."""
    body = json.dumps({"expression": "x * y", "inputs": {"x": 2.0, "y": 3.0}}).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


def chunks(body: bytes, size: int = 64) -> Iterator[bytes]:
    """The body as a stream of chunks: sent with Transfer-Encoding: chunked, no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def assert_body_refused(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    detail = response.json()["detail"][0]
    assert detail["type"] == "limit_exceeded" and detail["loc"] == ["body"]
    assert detail["limit"] == limit
    assert f"over the limit of {limit} (setting BPC_MAX_BODY_BYTES)" in detail["msg"]


@pytest.fixture(scope="module")
def small_body_app() -> Iterator[TestClient]:
    """A fresh app built with BPC_MAX_BODY_BYTES=300 (the body limit is read when it is built)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BPC_MAX_BODY_BYTES", str(LIMIT))
        get_settings.cache_clear()
        try:
            fresh = create_app()
        finally:
            patch.undo()
            get_settings.cache_clear()
    with TestClient(fresh) as client:
        yield client


JSON = {"content-type": "application/json"}


def test_body_with_content_length(small_body_app: TestClient) -> None:
    ok = small_body_app.post(EVALUATE, content=padded(LIMIT), headers=JSON)
    assert ok.request.headers["content-length"] == str(LIMIT)
    assert accepted(ok)["output"]["value"] == 6.0
    over = small_body_app.post(EVALUATE, content=padded(LIMIT + 1), headers=JSON)
    assert over.request.headers["content-length"] == str(LIMIT + 1)
    assert_body_refused(over, LIMIT)
    assert f"request body is {LIMIT + 1} bytes" in over.json()["detail"][0]["msg"]


def test_body_streamed_without_content_length(small_body_app: TestClient) -> None:
    ok = small_body_app.post(EVALUATE, content=chunks(padded(LIMIT)), headers=JSON)
    assert "content-length" not in ok.request.headers
    assert accepted(ok)["output"]["value"] == 6.0
    over = small_body_app.post(EVALUATE, content=chunks(padded(LIMIT + 1)), headers=JSON)
    assert "content-length" not in over.request.headers
    assert_body_refused(over, LIMIT)


def test_body_limit_on_a_real_server() -> None:
    """The same edges through uvicorn's own HTTP parsing, declared and chunked."""
    with running_app({"BPC_MAX_BODY_BYTES": str(LIMIT)}) as base, httpx.Client(base_url=base) as c:
        assert accepted(c.post(EVALUATE, content=padded(LIMIT), headers=JSON))
        assert_body_refused(c.post(EVALUATE, content=padded(LIMIT + 1), headers=JSON), LIMIT)
        streamed = c.post(EVALUATE, content=chunks(padded(LIMIT)), headers=JSON)
        assert streamed.request.headers["transfer-encoding"] == "chunked"
        assert accepted(streamed)
        assert_body_refused(
            c.post(EVALUATE, content=chunks(padded(LIMIT + 1)), headers=JSON), LIMIT
        )
