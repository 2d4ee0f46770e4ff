"""The loss as a circuit: /landscape/circuit sent to /circuits/evaluate gives the same loss and dW."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

CASES = [
    {"dataset": {"name": "cs231n-1d"}, "seed": 3, "weight_scale": 1.0},
    {"dataset": {"name": "cs231n-1d"}, "seed": 4, "weight_scale": 1.0, "bias": True, "reg": 0.1},
    {"dataset": {"name": "toy-2d"}, "seed": 1, "weight_scale": 1.0, "delta": 0.5},
    {"dataset": {"name": "toy-2d"}, "seed": 2, "weight_scale": 1.0, "variant": "ova", "reg": 0.2},
    {"dataset": {"name": "toy-2d"}, "seed": 5, "weight_scale": 1.0, "variant": "structured"},
    {"dataset": {"name": "toy-2d"}, "seed": 6, "weight_scale": 1.0, "loss": "softmax", "reg": 0.05},
    {"dataset": {"X": [[1.5, -2.0], [-0.25, 0.5]], "y": [1, 0]}, "W": [[0.5, -1], [2, 0.125]]},
]


@pytest.mark.parametrize("body", CASES, ids=lambda b: f"{b['dataset'].get('name', 'xy')}")
def test_circuit_gives_the_same_loss_and_gradient(client: TestClient, body: dict) -> None:
    program = client.post("/api/v1/landscape/circuit", json=body).json()
    landscape = client.post("/api/v1/landscape/loss", json=body).json()
    assert program["loss"] == pytest.approx(landscape["loss"], rel=1e-14)
    evaluated = client.post(
        "/api/v1/circuits/evaluate",
        json={"expression": program["expression"], "inputs": program["inputs"]},
    )
    assert evaluated.status_code == 200, evaluated.json()
    answer = evaluated.json()
    assert answer["output"]["value"] == pytest.approx(landscape["loss"], rel=1e-12, abs=1e-12)
    grad_W = np.array(landscape["grad_W"])
    names = [[f"W{c}_{d}" for d in range(grad_W.shape[1])] for c in range(grad_W.shape[0])]
    circuit_grad = np.array([[answer["gradients"][name] for name in row] for row in names])
    np.testing.assert_allclose(circuit_grad, grad_W, rtol=1e-12, atol=1e-12)


def test_program_reads_like_the_notes(client: TestClient) -> None:
    body = {
        "dataset": {"X": [[1.5, -2.0], [-0.25, 0.5]], "y": [1, 0]},
        "W": [[0.5, -1], [2, 0.125]],
    }
    program = client.post("/api/v1/landscape/circuit", json=body).json()
    lines = program["expression"].splitlines()
    assert "s0_0 = W0_0*1.5 - W0_1*2" in lines
    assert "s1_1 = -W1_0*0.25 + W1_1*0.5" in lines
    assert "L0 = max(0, s0_0 - s0_1 + 1)" in lines
    assert "L1 = max(0, s1_1 - s1_0 + 1)" in lines
    assert lines[-1] == "L = (L0 + L1) / 2"
    assert program["inputs"] == {"W0_0": 0.5, "W0_1": -1.0, "W1_0": 2.0, "W1_1": 0.125}


def test_max_gates_route_gradient_only_where_a_margin_is_violated(client: TestClient) -> None:
    # s = (3.2, 5.1, -1.7) with y = 0: only the car margin (2.9) is violated, so only W1 and the
    # correct row W0 get gradient; W2 (frog, margin -3.9) gets exactly 0 through its max gate.
    body = {"dataset": {"X": [[1.0]], "y": [0]}, "W": [[3.2], [5.1], [-1.7]]}
    program = client.post("/api/v1/landscape/circuit", json=body).json()
    answer = client.post(
        "/api/v1/circuits/evaluate",
        json={"expression": program["expression"], "inputs": program["inputs"]},
    ).json()
    assert answer["output"]["value"] == pytest.approx(2.9)
    assert answer["gradients"] == pytest.approx({"W0_0": -1.0, "W1_0": 1.0, "W2_0": 0.0})


def test_a_plain_literal_at_the_limit_and_one_over() -> None:
    from app.core.errors import ProblemError
    from app.core.limits import Limits
    from app.landscape.circuit import number

    five = Limits(max_literal_chars=5)
    assert number(12345.0, five) == "12345" and number(-12345.0, five) == "-12345"
    assert number(0.125, five) == "0.125" and number(1e-3, five) == "0.001"
    with pytest.raises(ProblemError) as error:
        number(-123456.0, five)  # the sign is not a digit, but the message counts the text
    (problem,) = error.value.problems
    assert problem.msg == (
        "the value -123456.0 needs 7 digits as a plain literal, over the circuit limit of 5; "
        "rescale the data"
    )
    assert problem.loc == ("body", "dataset")


def test_one_examples_lines_renamed_to_another_example() -> None:
    from app.landscape.circuit import _as_example

    lines = [
        "# s0_1 and L0 stay as written in a comment",
        "    # an indented comment too: s0_0, L0",
        "top0 = max(s0_0, s0_1)",
        "L0 = top0 + log(exp(s0_0 - top0) + exp(s0_1 - top0)) - s0_0",
        "m0 = s0_1 + s0_0",
        "x0 = 1",  # x3 is taken below, so x0 keeps its name
        "x3 = m0",
    ]
    assert _as_example(lines, 0, 2) is lines
    assert _as_example(lines, 3, 2) == [
        "# s0_1 and L0 stay as written in a comment",
        "    # an indented comment too: s0_0, L0",
        "top3 = max(s3_0, s3_1)",
        "L3 = top3 + log(exp(s3_0 - top3) + exp(s3_1 - top3)) - s3_0",
        "m3 = s3_1 + s3_0",
        "x0 = 1",
        "x3 = m3",
    ]


@pytest.mark.parametrize(
    ("variant", "delta", "y", "c", "expected"),
    [
        ("ww", 1.0, [1, 0], 2, ["L0 = max(0, s0_0 - s0_1 + 1)", "L1 = max(0, s1_1 - s1_0 + 1)"]),
        ("ww", 0.0, [0], 3, ["L0 = max(0, s0_1 - s0_0 + 0) + max(0, s0_2 - s0_0 + 0)"]),
        ("ww", -0.5, [2], 2, ["L0 = max(0, s0_0 - s0_2 - 0.5) + max(0, s0_1 - s0_2 - 0.5)"]),
        ("structured", -0.5, [0], 3, ["L0 = max(0, s0_1 - s0_0 - 0.5, s0_2 - s0_0 - 0.5)"]),
        ("ova", 2.0, [1], 2, ["L0 = max(0, 2 + s0_0) + max(0, 2 - s0_1)"]),
        (
            "ww",
            1.0,
            [0, 0],
            1,
            [
                "# one class: there is no margin, so every L_i is 0 for every W "
                "(0 * s keeps the weights inputs of the circuit)",
                "L0 = 0 * s0_0",
                "L1 = 0 * s1_0",
            ],
        ),
        ("ova", 1.0, [0], 1, ["L0 = max(0, 1 - s0_0)"]),  # one class still has its hinge
    ],
)
def test_the_svm_written_as_a_circuit(
    variant: str, delta: float, y: list[int], c: int, expected: list[str]
) -> None:
    from app.landscape.loss_kind import LossSpec
    from app.landscape.svm import circuit_lines

    spec = LossSpec("svm", variant, delta, 0.0)
    literal = lambda x: np.format_float_positional(x, trim="-")  # noqa: E731
    assert circuit_lines(np.array(y), c, spec, literal) == expected


def test_the_loss_program_of_the_notes_example_word_for_word() -> None:
    # cs231n-1d (x = 1, -2, 0.5 with classes 0, 1, 2), W = (0.3, -0.1, 0.6), WW hinge, reg 0.1.
    # Example 1 (x = -2, y = 1): scores -0.6, 0.2, -1.2, so its margins are 0.2 (class 0,
    # active) and -0.4 (class 2, routes 0): the only example with a gate that routes 0, so the
    # server shows it when no example is asked for.
    from app.core.limits import Limits
    from app.landscape.circuit import loss_program
    from app.landscape.data import Dataset
    from app.landscape.loss_kind import LossSpec
    from app.landscape.model import Setup

    X, y = np.array([[1.0], [-2.0], [0.5]]), np.array([0, 1, 2])
    setup = Setup(
        Dataset(X, y, 3), np.array([[0.3], [-0.1], [0.6]]), LossSpec("svm", "ww", 1.0, 0.1)
    )
    whole = loss_program(setup, Limits())  # the scope by default: the whole loss
    assert whole["scope"] == "all" and whole["example"] is None
    assert whole["expression"].split("\n") == [
        "# scores: s{i}_{j} = W{j} . x{i} (weights are inputs, data are constants)",
        *(f"s0_{j} = W{j}_0*1" for j in range(3)),
        *(f"s1_{j} = -W{j}_0*2" for j in range(3)),
        *(f"s2_{j} = W{j}_0*0.5" for j in range(3)),
        "# per-example losses (svm, ww)",
        "L0 = max(0, s0_1 - s0_0 + 1) + max(0, s0_2 - s0_0 + 1)",
        "L1 = max(0, s1_0 - s1_1 + 1) + max(0, s1_2 - s1_1 + 1)",
        "L2 = max(0, s2_0 - s2_2 + 1) + max(0, s2_1 - s2_2 + 1)",
        "L = (L0 + L1 + L2) / 3 + 0.1 * (W0_0**2 + W1_0**2 + W2_0**2)",
    ]
    assert whole["note"] == "1 max gate(s) have margin ≤ 0 at this W: each routes 0 to its scores"
    for picked in (
        loss_program(setup, Limits(), "example"),
        loss_program(setup, Limits(), "example", 1),
    ):
        assert picked["example"] == 1 and picked["label"] == 1
        assert picked["expression"].split("\n") == [
            "# example 1 of 3: x1 = (-2), true class y1 = 1",
            "# scores: s1_j = Wj . x1 (weights are inputs, the features constants)",
            "s1_0 = -W0_0*2",
            "s1_1 = -W1_0*2",
            "s1_2 = -W2_0*2",
            "# its loss L1 (svm, ww); no regularizer: that is on the whole loss",
            "L1 = max(0, s1_0 - s1_1 + 1) + max(0, s1_2 - s1_1 + 1)",
        ]
        assert picked["value"] == pytest.approx(0.2, abs=1e-15)
        assert [(t["cls"], t["active"]) for t in picked["terms"]] == [(0, True), (2, False)]
        assert [t["margin"] for t in picked["terms"]] == pytest.approx([0.2, -0.4], abs=1e-15)
        assert picked["note"] == (
            "example 1: 1 of its 2 max gate(s) have margin ≤ 0 at this W, so each routes 0 to "
            "its scores (the other side of the max, the 0, gets the gradient)"
        )


def test_the_structured_svms_one_gate_takes_the_largest_wrong_class() -> None:
    # the notes' example 1 (y = 1): margins 0.2 (class 0) and -0.4 (class 2) against class 1;
    # the structured SVM has one max gate per example, on the largest, class 0's
    from app.core.limits import Limits
    from app.landscape.circuit import loss_program
    from app.landscape.data import Dataset
    from app.landscape.loss_kind import LossSpec
    from app.landscape.model import Setup

    X, y = np.array([[1.0], [-2.0], [0.5]]), np.array([0, 1, 2])
    W = np.array([[0.3], [-0.1], [0.6]])
    setup = Setup(Dataset(X, y, 3), W, LossSpec("svm", "structured", 1.0, 0.0))
    picked = loss_program(setup, Limits(), "example", 1)
    assert [(t["example"], t["cls"], t["active"]) for t in picked["terms"]] == [(1, 0, True)]
    assert picked["terms"][0]["margin"] == pytest.approx(0.2, abs=1e-15)
    # two classes: still one gate, on the only wrong class (margin 0.2 again: active)
    two = Setup(Dataset(X[:2], np.array([0, 1]), 2), W[:2], LossSpec("svm", "structured", 1.0, 0.0))
    term = loss_program(two, Limits(), "example", 1)["terms"]
    assert [(t["cls"], t["active"]) for t in term] == [(0, True)]


@pytest.mark.parametrize(
    ("counts", "per", "example", "note"),
    [
        (
            [0, 0],
            0,
            None,
            "this loss has no max(0, …) gate: every score passes gradient on (softmax: "
            "p_j − 1 for the true class, p_j for the others)",
        ),
        (
            [0, 0, 0],
            2,
            None,
            "every margin is active at this W: each max gate passes its gradient on; "
            "move W to see a max gate route 0",
        ),
        (
            [0, 1, 2],
            2,
            None,
            "3 max gate(s) have margin ≤ 0 at this W: each routes 0 to its scores",
        ),
        (
            [0, 1, 2],
            2,
            2,
            "example 2: 2 of its 2 max gate(s) have margin ≤ 0 at this W, so each routes 0 to "
            "its scores (the other side of the max, the 0, gets the gradient)",
        ),
        (
            [0, 0, 1],  # the first other example with a routing gate, not one with 2 or more
            2,
            0,
            "every margin of example 0 is active at this W: each max gate passes its gradient "
            "on; pick example 2 to see a max gate route 0",
        ),
        (
            [0, 0],
            2,
            1,
            "every margin is active at this W, for example 1 and every other: each max gate "
            "passes its gradient on; move W to see a max gate route 0",
        ),
    ],
)
def test_each_routing_note(counts: list[int], per: int, example: int | None, note: str) -> None:
    from app.landscape.circuit import routing_note

    assert routing_note(np.array(counts), per, example) == note
