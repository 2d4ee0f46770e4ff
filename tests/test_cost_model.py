"""The cost model: predictions against measurements, each budget at N and N + 1, the attacks.

Answer bytes are compared with the length of the JSON the API sends, peak memory with
tracemalloc's peak over evaluating and encoding; both on random-valued inputs, since zeros and
integers print shorter (the prediction is an upper bound for them).
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

import app.api.routes.landscape as landscape_routes
import app.engine as engine
from app.core.limits import Cost, Limits
from app.engine import cost as engine_cost
from app.engine import evaluate, evaluate_result, parse_limits
from app.engine.cost import estimate
from app.engine.inputs import bind_inputs
from app.engine.report import wire_names
from app.engine.shapes import infer_shapes
from app.landscape import cost as landscape_cost
from app.landscape.cost import Sizes
from app.landscape.jobs import compute_loss, compute_slice
from app.main import app
from app.schemas.landscape import LossRequest, SliceRequest
from tests.settings_override import overridden_settings as budgets

EVALUATE = "/api/v1/circuits/evaluate"
LANDSCAPE = "/api/v1/landscape"
ROOMY = Limits().but(max_answer_bytes=10**10, max_memory_bytes=10**11, max_work=10**13)


def rand(*shape: int, seed: int = 0) -> list[Any]:
    return np.random.default_rng(seed).standard_normal(shape).tolist()


def predicted(expression: str, inputs: dict[str, Any], gradcheck: bool = False) -> Any:
    circuit = engine.parse(expression, parse_limits(ROOMY))
    values = bind_inputs(circuit, inputs, 3, 10**6)
    texts, names = wire_names(circuit, expression)
    shapes = infer_shapes(circuit, values, expression, names, texts, ROOMY)
    return estimate(circuit, shapes, len(expression), gradcheck)


def measured(expression: str, inputs: dict[str, Any], gradcheck: bool = False) -> tuple[int, int]:
    """len(JSON answer) as the API encodes it, and tracemalloc's peak while making it."""
    tracemalloc.start()
    try:
        report = evaluate(expression, inputs, gradcheck_=gradcheck, limits=ROOMY)
        body = json.dumps(report, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        size = len(body.encode())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return size, peak


CIRCUITS = [
    (
        "neuron",
        "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))",
        dict(zip(["w0", "x0", "w1", "x1", "w2"], rand(5), strict=True)),
        True,
    ),
    ("chain", "+".join(["tanh(x)"] * 300), {"x": 0.3712894}, False),
    ("elementwise", "sum(tanh(a*b + a))", {"a": rand(60, 60), "b": rand(60, 60, seed=1)}, False),
    (
        "broadcast",
        "s = a + b\nt = s*s\nu = t*s\nsum(u)",
        {"a": rand(80, 1), "b": rand(1, 80, seed=1)},
        False,
    ),
    ("matmul", "sum(W @ X)", {"W": rand(40, 60), "X": rand(60, 40, seed=1)}, False),
    ("max args", "max(" + ", ".join(["x"] * 1000) + ")", {"x": 0.3712894}, False),
    ("gradcheck", "sum(x @ x.T)", {"x": rand(20, 10)}, True),
]


@pytest.mark.parametrize(("name", "expression", "inputs", "gradcheck"), CIRCUITS)
def test_predicted_answer_and_memory_match_measurements(
    name: str, expression: str, inputs: dict[str, Any], gradcheck: bool
) -> None:
    cost = predicted(expression, inputs, gradcheck)
    size, peak = measured(expression, inputs, gradcheck)
    # answer: never under, at most 60% over (the per-record constants are rounded up)
    assert size <= cost.answer_bytes <= 1.6 * size, (name, size, cost.answer_bytes)
    # memory: within 2x either way of tracemalloc's peak
    assert peak / 2 <= cost.memory_bytes <= 2 * peak, (name, peak, cost.memory_bytes)


def test_max_with_many_arguments_is_linear() -> None:
    """Each backward step input lists [x_i, out], not every argument: 5x the arguments is about
    5x the answer (it was 25x: 5,000 arguments made a 126 MB answer)."""
    small = measured("max(" + ", ".join(["x"] * 1000) + ")", {"x": 0.37})[0]
    large = measured("max(" + ", ".join(["x"] * 5000) + ")", {"x": 0.37})[0]
    assert 4.5 <= large / small <= 5.5
    step = evaluate_result("max(x, y, x)", {"x": 2.0, "y": 1.0}).steps[0]
    assert step.uses == [[0, 2], [1, 2], [0, 2]]  # nodes x = 0, y = 1, max = 2
    # 19,999 arguments: a linear answer (4x the 5,000's) well inside the default budgets
    big = predicted("max(" + ", ".join(["x"] * 19999) + ")", {"x": 0.37})
    five = predicted("max(" + ", ".join(["x"] * 5000) + ")", {"x": 0.37})
    assert 3.8 <= big.answer_bytes / five.answer_bytes <= 4.2
    assert big.answer_bytes < Limits().max_answer_bytes and big.work < Limits().max_work


def test_a_reused_compact_answer_is_charged_its_numbers_and_captions() -> None:
    """A circuit whose compact columns are kept with its parse (encode.py) is charged
    W_RECORD_REUSED per node and edge and W_BASE_REUSED once, instead of W_RECORD per node and
    edge. (x + y) * z has 5 nodes (x, y, z, the sum, the product) and 4 edges."""
    from app.engine import cost

    circuit = engine.parse("(x + y) * z", parse_limits(Limits()))
    assert len(circuit.nodes) == 5
    assert sum(len(node.args) for node in circuit.nodes if node.kind == "gate") == 4
    shapes = [()] * 5
    fresh = estimate(circuit, shapes, 11, False)
    reused = estimate(circuit, shapes, 11, False, None, True)
    assert fresh.work - reused.work == 9 * (cost.W_RECORD - cost.W_RECORD_REUSED) - (
        cost.W_BASE_REUSED
    )
    assert (reused.answer_bytes, reused.memory_bytes) == (fresh.answer_bytes, fresh.memory_bytes)
    # the answer asked for: a compact answer of a circuit parsed before is the reused one, a
    # verbose one never is (its records are built each time), nor a first parse
    cache = engine.ParseCache(4)
    inputs = {"x": -2.0, "y": 5.0, "z": -4.0}
    first = evaluate_result("(x + y) * z", inputs, cache=cache, compact=True)
    evaluate_result("(x + y) * z", inputs, cache=cache, compact=True)
    evaluate_result("(x + y) * z", inputs, cache=cache, compact=False)
    assert first.memo is not None
    costs = {key: value.work for key, value in first.memo.items() if key.startswith("cost ")}
    assert costs == {"cost False None False": fresh.work, "cost False None True": reused.work}


def test_gradcheck_work_counts_each_evaluation() -> None:
    """2 x input elements x one forward pass: x 300x100 is 30,000 elements, and x @ x.T alone
    is 300 * 300 * 100 = 9,000,000 multiply-adds per pass."""
    x = rand(300, 100)
    with_check = predicted("sum(x @ x.T)", {"x": x}, gradcheck=True)
    without = predicted("sum(x @ x.T)", {"x": x})
    assert with_check.work - without.work >= 2 * 30_000 * 9_000_000


def whole_cost(chars: int, nodes: int, edges: int, numbers: int, work: int) -> Cost:
    """The whole answer's prediction from counts made by hand: its bytes (per node, edge and
    number, plus the expression), the memory of building it, and `work` (the passes) plus
    writing each number and each record."""
    c = engine_cost
    answer = c.B_BASE + chars + c.B_NODE * nodes + c.B_EDGE * edges + c.B_NUMBER * numbers
    memory = c.M_BASE + c.M_NODE * (nodes + edges) + c.B_LISTED * numbers + 2 * answer
    return Cost(answer, memory, work + c.W_NUMBER * numbers + c.W_RECORD * (nodes + edges))


def test_the_whole_answers_cost_counted_by_hand() -> None:
    c = engine_cost
    # x * y: 3 nodes, 2 edges. Numbers: each wire's value and gradient (6), each input's
    # gradient (2), the product's upstream (1), and per input its edge's value and gradient,
    # local gradient, contribution and running sum (2 x 5): 19. A forward pass: the output
    # times 2 inputs, plus reading them, plus a gate: 4 + W_GATE; three of them.
    forward = 1 * 2 + 2 + c.W_GATE
    assert predicted("x * y", {"x": 2.0, "y": 3.0}) == whole_cost(5, 3, 2, 19, 3 * forward)
    # with the gradient check: each input's analytic and numeric gradient (4 more numbers),
    # and 2 nudges per input element, each a forward pass at W_GATE_CHECK per gate
    check = 2 * 2 * (1 * 2 + 2 + c.W_GATE_CHECK)
    assert predicted("x * y", {"x": 2.0, "y": 3.0}, gradcheck=True) == whole_cost(
        5, 3, 2, 23, 3 * forward + check
    )
    # x * 2, x of 3 elements: the constant's value and gradient (2) but no gradient entry;
    # x: 6 + 3; the product: 6 + 3, x's edge 3 x 5, the constant's 2 + 3 + 2: 9 + 2 + 31 = 42.
    # Its forward: 3 outputs x 2 inputs, reading 3 + 1, a gate.
    forward = 3 * 2 + 4 + c.W_GATE
    assert predicted("x * 2", {"x": [1.0, 2.0, 3.0]}) == whole_cost(5, 3, 2, 42, 3 * forward)
    # sum(A @ B), A 2x3, B 3x4: 4 nodes, 3 edges. @ and sum have a vjp: no local gradient
    # listed. A: 12 + 6; B: 24 + 12; A @ B (2x4): 16 + 8, A's edge 12 + 12, B's 24 + 24;
    # sum: 2 + 1, its edge 16 + 16: 18 + 36 + 96 + 35 = 185. Forward: @ is 8 outputs x 3
    # multiply-adds, sum 1 output x 1 input plus reading 8; a gate each.
    inputs = {"A": rand(2, 3), "B": rand(3, 4, seed=1)}
    forward = 8 * 3 + (1 + 8) + 2 * c.W_GATE
    assert predicted("sum(A @ B)", inputs) == whole_cost(10, 4, 3, 185, 3 * forward)
    # sum(A @ (B * 2)): the product B * 2 (3x4) comes first. Nodes A, B, 2, the product, @,
    # sum: 6; edges 2 + 2 + 1 = 5. Numbers: A 18, B 36, the constant 2; the product 24 + 12,
    # B's edge 24 + 12 + 24, the constant's 2 + 12 + 2; @ 16 + 8, A's edge 24, the product's
    # 48; sum 35: 299. Forward: the product 12 x 2 + (12 + 1), @ 8 x 3, sum 1 + 8.
    scaled = 12 * 2 + 13 + 8 * 3 + (1 + 8) + 3 * c.W_GATE
    assert predicted("sum(A @ (B * 2))", inputs) == whole_cost(16, 6, 5, 299, 3 * scaled)
    # its gradient check: 2 x 18 input elements, 2 more numbers each
    check = 2 * 18 * (8 * 3 + (1 + 8) + 2 * c.W_GATE_CHECK)
    assert predicted("sum(A @ B)", inputs, gradcheck=True) == whole_cost(
        10, 4, 3, 185 + 36, 3 * forward + check
    )


def predicted_parts(
    expression: str, inputs: dict[str, Any], parts: set[str], gradcheck: bool = False
) -> Any:
    circuit = engine.parse(expression, parse_limits(ROOMY))
    values = bind_inputs(circuit, inputs, 3, 10**6)
    texts, names = wire_names(circuit, expression)
    shapes = infer_shapes(circuit, values, expression, names, texts, ROOMY)
    return estimate(circuit, shapes, len(expression), gradcheck, parts)


def part_answer(sent: int, size: int) -> int:
    """The predicted bytes of an answer of chosen parts: the frame, the parts' records and
    B_NUMBER per number sent (app/engine/cost.py's P_* constants)."""
    return engine_cost.B_BASE + size + engine_cost.B_NUMBER * sent


def _x_times_y_parts() -> list[tuple[set[str], int, int]]:
    """x * y: 3 nodes (x, y, the product, each one number), 2 edges, two one-letter inputs.
    Each part alone and what it sends, counted by hand: (parts, numbers sent, record bytes)."""
    names = 2 * (1 + engine_cost.P_NAME)  # "x" and "y", each with its list slot
    return [
        ({"output"}, 1, engine_cost.P_OUTPUT),
        ({"inputs"}, 0, names),
        ({"index_inputs"}, 0, names),
        # gradients: one number per input, after the output's one
        ({"output", "gradients"}, 1 + 2, engine_cost.P_OUTPUT + names),
        ({"stats"}, 0, engine_cost.P_STATS),
        ({"forward"}, 0, 3 * engine_cost.P_FORWARD),
        # nodes: value and gradient of each; the product's row lists its 2 inputs
        ({"nodes"}, 2 * 3, 3 * engine_cost.P_NODE + 2 * engine_cost.P_NODE_INPUT),
        # edges: value and gradient of each
        ({"edges"}, 2 * 2, 2 * engine_cost.P_EDGE),
        # backward: the product's upstream, then per input its local gradient, contribution
        # and running sum
        ({"backward"}, 1 + 2 * 3, engine_cost.P_STEP + 2 * engine_cost.P_STEP_INPUT),
    ]


@pytest.mark.parametrize(("parts", "sent", "size"), _x_times_y_parts())
def test_each_part_of_a_scalar_circuit_is_charged_its_own_numbers_and_records(
    parts: set[str], sent: int, size: int
) -> None:
    got = predicted_parts("x * y", {"x": 2.0, "y": 3.0}, parts)
    assert got.answer_bytes == part_answer(sent, size)
    # the whole answer's 19 numbers (each wire's value and gradient: 6; each input's gradient:
    # 2; the product's upstream: 1; per input its edge's value and gradient, local gradient,
    # contribution and running sum: 2 x 5) are still computed (B_ARRAY each); only those sent
    # become floats and text. Nodes, edges or backward build each node's record (M_NODE, W_RECORD),
    # the others only the typed steps (M_TYPED, W_TYPED). 5 = 3 nodes + 2 edges.
    records = bool(parts & {"nodes", "edges", "backward"})
    memory = (
        engine_cost.M_BASE
        + (engine_cost.M_NODE if records else engine_cost.M_TYPED) * 5
        + engine_cost.B_ARRAY * 19
    )
    memory += (engine_cost.B_LISTED - engine_cost.B_ARRAY) * sent + 2 * got.answer_bytes
    assert got.memory_bytes == memory
    # a forward pass: the product's 1 output times its 2 inputs, plus reading the 2, plus a
    # gate's overhead; forward, local gradients and contributions make three
    forward = 1 * 2 + 2 + engine_cost.W_GATE
    record = engine_cost.W_RECORD if records else engine_cost.W_TYPED
    assert got.work == 3 * forward + engine_cost.W_NUMBER * sent + record * 5


def test_the_gradient_check_part_sends_both_gradients_of_each_input() -> None:
    names = 2 * (1 + engine_cost.P_NAME)
    # with the output (1 number): each input's analytic and numeric gradient, 2 × 2 numbers
    got = predicted_parts("x * y", {"x": 2.0, "y": 3.0}, {"output", "gradcheck"}, True)
    size = engine_cost.P_OUTPUT + names + 2 * engine_cost.P_GRADCHECK
    assert got.answer_bytes == part_answer(1 + 2 * 2, size)
    # without a gradient check asked for, the part is empty
    got = predicted_parts("x * y", {"x": 2.0, "y": 3.0}, {"gradcheck"}, False)
    assert got.answer_bytes == part_answer(0, 0)


def test_tensor_parts_count_elements() -> None:
    # x * 2 with x of 3 elements: the output has 3
    got = predicted_parts("x * 2", {"x": [1.0, 2.0, 3.0]}, {"output"})
    assert got.answer_bytes == part_answer(3, engine_cost.P_OUTPUT)
    # sum(x): its step has a vjp, so no local gradient is listed: the upstream (1 number), and
    # for x its contribution and running sum (3 elements each)
    got = predicted_parts("sum(x)", {"x": [1.0, 2.0, 3.0]}, {"backward"})
    assert got.answer_bytes == part_answer(1 + 2 * 3, engine_cost.P_STEP + engine_cost.P_STEP_INPUT)


def test_the_warnings_part_is_charged_each_warning_text() -> None:
    source = "unused = y * 2\nf = x + 1"
    warnings = [
        {"node": None, "msg": "stage 'unused' (line 1) does not feed the output and is left out"},
        {"node": None, "msg": "input 'y' only feeds stages that are left out"},
    ]
    assert engine.parse(source).warnings == warnings
    got = predicted_parts(source, {"x": 1.0}, {"warnings"})
    texts = sum(len(str(w).encode()) + engine_cost.P_NAME for w in warnings)
    assert got.answer_bytes == part_answer(0, engine_cost.P_WARNINGS + texts)


def test_landscape_predictions_match_measurements() -> None:
    big = Limits()
    loss = LossRequest(dataset={"name": "blobs", "n": 200, "d": 50, "c": 10}, seed=1)
    grid = SliceRequest(
        dataset={"name": "blobs", "n": 1000, "d": 10, "c": 10},
        dims=2,
        steps=61,
        variant="structured",
    )
    for request, job, cost in (
        (loss, compute_loss, landscape_cost.loss_cost(Sizes(200, 50, 10), False, big, False)),
        (
            grid,
            compute_slice,
            landscape_cost.slice_2d_cost(Sizes(1000, 10, 10), 61, "svm", "structured"),
        ),
    ):
        tracemalloc.start()
        try:
            size = len(json.dumps(job(request, big), separators=(",", ":")).encode())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # numbers are written with up to 17 digits; W near 0.01 and zero gradients print shorter
        assert size <= cost.answer_bytes <= 2.5 * size, (job.__name__, size, cost.answer_bytes)
        assert peak / 3 <= cost.memory_bytes <= 3 * peak, (job.__name__, peak, cost.memory_bytes)


# ---------------------------------------------------------------- budgets at N and N + 1


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def refused(response: Any, setting: str) -> dict[str, Any]:
    assert response.status_code == 413, response.text[:400]
    detail = dict(response.json()["detail"][0])
    assert detail["setting"] == setting and f"BPC_{setting.upper()}" in detail["msg"]
    return detail


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("max_answer_bytes", "answer_bytes"),
        ("max_memory_bytes", "memory_bytes"),
        ("max_work", "work"),
    ],
)
def test_each_circuit_budget_at_n_and_n_plus_one(api: TestClient, setting: str, field: str) -> None:
    body = {"expression": "sum(a * b)", "inputs": {"a": rand(4, 3), "b": rand(4, 3, seed=1)}}
    at = getattr(predicted(body["expression"], body["inputs"]), field)
    with budgets(**{setting: at}):
        assert api.post(EVALUATE, json=body).status_code == 200
    with budgets(**{setting: at - 1}):
        detail = refused(api.post(EVALUATE, json=body), setting)
        assert detail["got"] == at and detail["limit"] == at - 1


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("max_answer_bytes", "answer_bytes"),
        ("max_memory_bytes", "memory_bytes"),
        ("max_work", "work"),
    ],
)
def test_each_landscape_budget_at_n_and_n_plus_one(
    api: TestClient, setting: str, field: str
) -> None:
    body = {"dataset": {"name": "toy-2d"}, "seed": 3}  # N = 9, D = 3, C = 3
    # W is not echoed unless asked, so the prediction counts dW only
    at = getattr(landscape_cost.loss_cost(Sizes(9, 3, 3), False, Limits(), False), field)
    with budgets(**{setting: at}):
        assert api.post(f"{LANDSCAPE}/loss", json=body).status_code == 200
    with budgets(**{setting: at - 1}):
        detail = refused(api.post(f"{LANDSCAPE}/loss", json=body), setting)
        assert detail["got"] == at


# ---------------------------------------------------------------- the attacks


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the engine's run() calls (it still runs): a refusal must come before any."""
    calls: list[int] = []
    real = engine.run

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "run", counted)
    return calls


def test_broadcast_attack_is_refused_before_running(api: TestClient, runs: list[int]) -> None:
    """a (1000,1) + b (1,1000) makes 1,000,000-element wires: a 570 MB answer before."""
    body = {
        "expression": "s = a + b\nt = s*s\nu = t*s\nsum(u)",
        "inputs": {"a": [[0.5]] * 1000, "b": [[0.5] * 1000]},
    }
    refused(api.post(EVALUATE, json=body), "max_answer_bytes")
    with pytest.raises(engine.LimitError):
        evaluate(body["expression"], body["inputs"])
    assert runs == []


@pytest.mark.parametrize(
    ("rows", "setting"),
    # 300: 5.4e11 units of work (13 s before); 1000: its 1,000,000-element product is also
    # over the answer budget, which is checked first
    [(300, "max_work"), (1000, "max_answer_bytes")],
)
def test_gradcheck_attack_is_refused_before_running(
    api: TestClient, runs: list[int], rows: int, setting: str
) -> None:
    x = [[0.5] * 100 for _ in range(rows)]
    body = {"expression": "sum(x @ x.T)", "inputs": {"x": x}, "gradcheck": True}
    refused(api.post(EVALUATE, json=body), setting)
    with pytest.raises(engine.LimitError):
        evaluate(body["expression"], body["inputs"], gradcheck_=True)
    assert runs == []


@pytest.fixture
def submitted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names the jobs the landscape routes hand to a lane (they still run): a refusal on the
    declared sizes must come before any."""
    calls: list[str] = []
    real = landscape_routes.run_landscape

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(fn.__name__)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(landscape_routes, "run_landscape", counted)
    return calls


def test_landscape_c_times_d_attack_is_refused(api: TestClient, submitted: list[str]) -> None:
    """N = 1, D = 100,000, C = 100: W and dW alone are 20,000,000 numbers (a 256 MB answer)."""
    body = {"dataset": {"name": "blobs", "n": 1, "d": 100_000, "c": 100}}
    refused(api.post(f"{LANDSCAPE}/loss", json=body), "max_answer_bytes")
    assert submitted == []
    assert api.post(f"{LANDSCAPE}/loss", json={"dataset": {"name": "toy-2d"}}).status_code == 200
    assert submitted == ["compute_loss"]  # the spy does see jobs that are accepted


def test_softmax_grid_attack_is_refused(api: TestClient, submitted: list[str]) -> None:
    """N*C = 1,000,000 softmax on 201 x 201 points: 4e10 log-sum-exp terms (3 minutes before)."""
    body = {
        "dataset": {"name": "blobs", "n": 10_000, "d": 2, "c": 100},
        "dims": 2,
        "steps": 201,
        "loss": "softmax",
    }
    refused(api.post(f"{LANDSCAPE}/slice", json=body), "max_work")
    body["loss"], body["variant"] = "svm", "structured"
    refused(api.post(f"{LANDSCAPE}/slice", json=body), "max_work")
    assert submitted == []


def test_max_with_19999_arguments_is_answered_over_http(api: TestClient) -> None:
    """It took a worker to 7.8 GB and a MemoryError: now a 200 whose answer is linear in the
    arguments, about 4x that of 5,000 arguments."""
    answers = []
    for n in (5000, 19_999):
        body = {"expression": "max(" + ", ".join(["x"] * n) + ")", "inputs": {"x": 0.37}}
        response = api.post(EVALUATE, json=body)
        assert response.status_code == 200, response.text[:300]
        answers.append(len(response.content))
    # 4x the arguments; ids such as "e12345" and step indices grow a digit (quadratic was 16x)
    assert 3.6 <= answers[1] / answers[0] <= 5.0
    assert answers[1] < 8_000_000
