"""/landscape/circuit for one example: L_i's program, its value, which max gates route 0, and limits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.settings_override import overridden_settings as limits

CIRCUIT = "/api/v1/landscape/circuit"
LOSS = "/api/v1/landscape/loss"
EVALUATE = "/api/v1/circuits/evaluate"
# x = (1, -2, 0.5), y = (0, 1, 2), D = 1, C = 3; one example's program, as the page asks
ONE_D = {"dataset": {"name": "cs231n-1d"}, "scope": "example"}


def data_of(body: dict[str, Any]) -> dict[str, Any]:
    """The request without the circuit's own fields, for /loss."""
    return {key: value for key, value in body.items() if key not in ("scope", "example")}


def run(client: TestClient, program: dict[str, Any]) -> dict[str, Any]:
    """The program as the circuit page evaluates it."""
    body = {"expression": program["expression"], "inputs": program["inputs"]}
    response = client.post(EVALUATE, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def post(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(CIRCUIT, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def course_case(reference: dict[str, Any], k: int) -> tuple[int, list[list[float]], dict]:
    """The notes' case k on cs231n-1d: example k's x_k is a scalar, so W_j = s_j / x_k gives
    exactly the course's scores for that example (cases 0 to 2 have y = 0, 1, 2, as the data)."""
    case = reference["svm_scores"]["cases"][k]
    x = [1.0, -2.0, 0.5][k]
    assert case["y"] == k and case["delta"] == 1.0
    return k, [[s / x] for s in case["scores"]], case


@pytest.mark.parametrize("k", [0, 1, 2])
def test_one_example_is_the_course_loss_and_the_landscapes_L_i(
    client: TestClient, reference: dict[str, Any], k: int
) -> None:
    example, W, case = course_case(reference, k)
    program = post(client, {**ONE_D, "W": W, "example": example})
    assert program["scope"] == "example" and program["example"] == k and program["label"] == k
    answer = run(client, program)
    landscape = client.post(LOSS, json=data_of({**ONE_D, "W": W})).json()
    # the course's L_i (2.9, 0, 12.9), the landscape's per-example loss, and what the circuit gives
    assert program["value"] == pytest.approx(case["loss"], rel=1e-12, abs=1e-12)
    assert program["value"] == pytest.approx(landscape["per_example"][k], rel=1e-14, abs=1e-14)
    assert answer["output"]["value"] == pytest.approx(case["loss"], rel=1e-12, abs=1e-12)
    # and the program is L_i alone: 3 scores, the 2 hinge max gates, their sum, no mean or reg
    lines = [line for line in program["expression"].splitlines() if not line.startswith("#")]
    assert [line.split(" = ")[0] for line in lines] == [f"s{k}_0", f"s{k}_1", f"s{k}_2", f"L{k}"]
    others = [j for j in range(3) if j != k]
    hinges = [f"max(0, s{k}_{j} - s{k}_{k} + 1)" for j in others]
    assert lines[-1] == f"L{k} = " + " + ".join(hinges)
    # the circuit's gradient is dL_i/dW: value_grad_W, and by hand from the active margins
    dW = np.array(program["value_grad_W"])
    assert [answer["gradients"][f"W{c}_0"] for c in range(3)] == pytest.approx(dW[:, 0])


def test_the_max_gate_of_an_inactive_margin_routes_0(
    client: TestClient, reference: dict[str, Any]
) -> None:
    # scores (3.2, 5.1, -1.7), y = 0: car's margin 5.1 - 3.2 + 1 = 2.9 > 0 passes its gradient
    # on; frog's -1.7 - 3.2 + 1 = -3.9 <= 0, so its max gate sends 0 to the scores: dL/dW2 = 0
    example, W, _ = course_case(reference, 0)
    program = post(client, {**ONE_D, "W": W, "example": example})
    assert program["terms"] == [
        {"example": 0, "cls": 1, "margin": pytest.approx(2.9), "active": True},
        {"example": 0, "cls": 2, "margin": pytest.approx(-3.9), "active": False},
    ]
    assert "1 of its 2 max gate(s) have margin ≤ 0" in program["note"]
    answer = run(client, program)
    assert answer["gradients"] == pytest.approx({"W0_0": -1.0, "W1_0": 1.0, "W2_0": 0.0})
    nodes = {node["id"]: node for node in answer["nodes"]}
    gates = sorted(
        (node for node in answer["nodes"] if node["op"] == "max"), key=lambda n: n["span"]["col"]
    )
    assert [gate["value"] for gate in gates] == pytest.approx([2.9, 0.0])
    # each max gate gets gradient 1 from the sum; the margin side gets 1 (active) or 0 (routed)
    margin_grads = [
        next(nodes[i]["grad"] for i in gate["inputs"] if nodes[i]["kind"] != "const")
        for gate in gates
    ]
    assert [gate["grad"] for gate in gates] == [1.0, 1.0]
    assert margin_grads == [1.0, 0.0]


def test_both_margins_inactive_route_everything_to_0(
    client: TestClient, reference: dict[str, Any]
) -> None:
    # scores (1.3, 4.9, 2.0), y = 1: margins 1.3 - 4.9 + 1 = -2.6 and 2.0 - 4.9 + 1 = -1.9
    example, W, _ = course_case(reference, 1)
    program = post(client, {**ONE_D, "W": W, "example": example})
    assert [t["margin"] for t in program["terms"]] == pytest.approx([-2.6, -1.9])
    assert [t["active"] for t in program["terms"]] == [False, False]
    answer = run(client, program)
    assert answer["output"]["value"] == 0.0
    assert answer["gradients"] == {"W0_0": 0.0, "W1_0": 0.0, "W2_0": 0.0}


def test_the_server_picks_an_example_whose_gates_both_route_0_and_pass_on(
    client: TestClient,
) -> None:
    # W = (1, 0, 0): scores x_i * (1, 0, 0).
    # example 0 (x 1, y 0): margins 0 - 1 + 1 = 0 and 0 -> both route 0 (0 counts as inactive)
    # example 1 (x -2, y 1): s = (-2, 0, 0): -2 - 0 + 1 = -1 routes 0, 0 - 0 + 1 = 1 passes on
    # example 2 (x 0.5, y 2): s = (0.5, 0, 0): 0.5 + 1 = 1.5 and 1, both pass on
    W = [[1.0], [0.0], [0.0]]
    program = post(client, {**ONE_D, "W": W})
    assert program["example"] == 1  # the first with both behaviours, ahead of example 0
    assert [(t["cls"], t["margin"], t["active"]) for t in program["terms"]] == [
        (0, -1.0, False),
        (2, 1.0, True),
    ]
    offer = client.post(LOSS, json=data_of({**ONE_D, "W": W})).json()["circuit"]
    assert offer["example"] == 1 and offer["inactive"] == [2, 1, 0]
    assert offer["gates_per_example"] == 2
    assert offer["example_unavailable"] is None and offer["all_unavailable"] is None
    # asked for example 2, every margin is active there: the note says where to look instead
    chosen = post(client, {**ONE_D, "W": W, "example": 2})
    assert chosen["example"] == 2 and all(t["active"] for t in chosen["terms"])
    assert "every margin of example 2 is active" in chosen["note"]
    assert "pick example 0 to see a max gate route 0" in chosen["note"]


def test_with_every_margin_active_the_note_says_so_and_example_0_opens(client: TestClient) -> None:
    # W = 0: every score is 0, so every margin is 0 - 0 + 1 = 1 > 0
    program = post(client, {**ONE_D, "W": [[0.0], [0.0], [0.0]]})
    assert program["example"] == 0 and program["value"] == 2.0
    assert all(t["active"] for t in program["terms"]) and len(program["terms"]) == 2
    assert program["note"].startswith("every margin is active at this W")
    assert "move W to see a max gate route 0" in program["note"]


def test_scope_all_is_the_whole_loss_with_mean_and_reg(client: TestClient) -> None:
    # W = (2, 0, 0): s_i = x_i * (2, 0, 0). Example 0 (x 1, y 0): margins -1, -1, L0 = 0.
    # Example 1 (x -2, y 1): -4 + 1 = -3 and 0 + 1 = 1, L1 = 1. Example 2 (x 0.5, y 2):
    # 1 + 1 = 2 and 0 + 1 = 1, L2 = 3.
    W = [[2.0], [0.0], [0.0]]
    program = post(client, {**ONE_D, "W": W, "scope": "all", "reg": 0.5})
    # mean 4 / 3, plus 0.5 * (4 + 0 + 0)
    assert program["scope"] == "all" and program["example"] is None
    assert program["value"] == pytest.approx(4 / 3 + 2.0, rel=1e-15)
    assert program["value"] == program["loss"]
    assert [t["example"] for t in program["terms"]] == [0, 0, 1, 1, 2, 2]
    assert [t["active"] for t in program["terms"]] == [False, False, False, True, True, True]
    assert program["expression"].splitlines()[-1] == (
        "L = (L0 + L1 + L2) / 3 + 0.5 * (W0_0**2 + W1_0**2 + W2_0**2)"
    )
    answer = run(client, program)
    assert answer["output"]["value"] == pytest.approx(4 / 3 + 2.0, rel=1e-14)
    # dL/dW: example 1's active margin (j = 2) gives dW2 += x1 = -2, dW1 -= -2; example 2's two
    # give dW0 += 0.5, dW1 += 0.5, dW2 -= 2 * 0.5; all / 3, plus 2 * 0.5 * W = (2, 0, 0)
    want = {"W0_0": 0.5 / 3 + 2.0, "W1_0": (2.0 + 0.5) / 3, "W2_0": (-2.0 - 1.0) / 3}
    assert answer["gradients"] == pytest.approx(want, rel=1e-14)
    # the example scope leaves the regularizer out: it belongs to the whole loss
    one = post(client, {**ONE_D, "W": W, "example": 2, "reg": 0.5})
    assert one["value"] == 3.0 and "**2" not in one["expression"]


def test_at_a_kink_the_landscapes_convention_is_the_circuits_tie_break_first(
    client: TestClient,
) -> None:
    # W = (1, 0, 0), example 0 (x 1, y 0): both margins are 0 - 1 + 1 = 0, exactly at the kink.
    # The landscape counts a margin of 0 as inactive (dL0/dW = 0); the circuit's max(0, 0) is a
    # tie: by default it splits the gradient evenly (0.5 to each margin, so dW1 = dW2 = 0.5 and
    # dW0 = -1), and with tie_break "first" it all goes to the 0 side, as the landscape has it.
    program = post(client, {**ONE_D, "W": [[1.0], [0.0], [0.0]], "example": 0})
    assert [(t["margin"], t["active"]) for t in program["terms"]] == [(0.0, False), (0.0, False)]
    assert program["value_grad_W"] == [[0.0], [0.0], [0.0]]
    body = {"expression": program["expression"], "inputs": program["inputs"]}
    split = client.post(EVALUATE, json=body).json()["gradients"]
    assert split == {"W0_0": -1.0, "W1_0": 0.5, "W2_0": 0.5}
    first = client.post(EVALUATE, json={**body, "tie_break": "first"}).json()["gradients"]
    assert first == {"W0_0": 0.0, "W1_0": 0.0, "W2_0": 0.0}


@pytest.mark.parametrize(
    "fields",
    [
        {"weight_scale": 1.0, "seed": 2},
        {"weight_scale": 1.0, "seed": 2, "variant": "ova", "delta": 0.5},
        {"weight_scale": 1.0, "seed": 5, "variant": "structured"},
        {"weight_scale": 1.0, "seed": 6, "loss": "softmax"},
    ],
    ids=["ww", "ova", "structured", "softmax"],
)
def test_every_example_of_toy_2d_runs_to_the_landscapes_L_i(
    client: TestClient, fields: dict[str, Any]
) -> None:
    body = {"dataset": {"name": "toy-2d"}, **fields}
    landscape = client.post(LOSS, json=body).json()
    for i in range(9):
        program = post(client, {**body, "example": i})
        answer = run(client, program)
        assert answer["output"]["value"] == pytest.approx(landscape["per_example"][i], rel=1e-12)
        grads = np.array([[answer["gradients"][f"W{c}_{d}"] for d in range(3)] for c in range(3)])
        np.testing.assert_allclose(grads, program["value_grad_W"], rtol=1e-12, atol=1e-15)
        # the program names its values for the example: s{i}_j and L{i} (softmax's max m{i} too)
        assert f"L{i} = " in program["expression"] and f"s{i}_2 = " in program["expression"]
        if fields.get("loss") == "softmax":
            assert f"m{i} = max(s{i}_0, s{i}_1, s{i}_2)" in program["expression"]
            assert program["terms"] == [] and "no max(0, …) gate" in program["note"]
    # summed over the examples, the L_i are N times the data loss
    mean = sum(post(client, {**body, "example": i})["value"] for i in range(9)) / 9
    assert mean == pytest.approx(landscape["data_loss"], rel=1e-12)


def test_without_scope_it_is_the_whole_loss_as_before_unless_an_example_is_named(
    client: TestClient,
) -> None:
    # /circuit answered the whole loss before it had a scope; a caller that names no scope still
    # gets it (README, "Compatibility within /api/v1"), and naming an example is scope example
    body = {"dataset": {"name": "cs231n-1d"}, "W": [[2.0], [0.0], [0.0]]}
    whole = post(client, body)
    assert whole["scope"] == "all" and whole["value"] == pytest.approx(4 / 3, rel=1e-15)
    assert whole["expression"].splitlines()[-1] == "L = (L0 + L1 + L2) / 3"
    one = post(client, {**body, "example": 2})
    assert one["scope"] == "example" and one["example"] == 2 and one["value"] == 3.0


@pytest.mark.parametrize(
    ("fields", "msg"),
    [
        ({"example": 3}, "example 3 is out of range: this data has 3 examples (0 to 2)"),
        ({"example": -1}, "Input should be greater than or equal to 0"),  # the schema's ge=0
        (
            {"example": 1, "scope": "all"},
            "example is for scope example: scope all is every example",
        ),
    ],
)
def test_a_bad_example_index_is_a_422_naming_the_field(
    client: TestClient, fields: dict[str, Any], msg: str
) -> None:
    response = client.post(CIRCUIT, json={**ONE_D, **fields})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "example"]
    assert problem["msg"] == msg


def test_one_example_fits_at_C_scores_and_C_times_D_inputs(client: TestClient) -> None:
    # one example of cs231n-1d has C = 3 scores, and W has C x D = 3 inputs
    with limits(max_circuit_terms=3):
        assert client.post(CIRCUIT, json=ONE_D).status_code == 200
        offer = client.post(LOSS, json=data_of(ONE_D)).json()["circuit"]
        assert offer["example_unavailable"] is None
        # the whole loss has N * C = 9 scores: over 3, with the reason the page shows
        assert offer["all_unavailable"] == (
            "this data has 3 examples × 3 classes = 9 scores, and the circuit page draws the "
            "whole loss for at most 3: open a single example instead"
        )
        refused = client.post(CIRCUIT, json={**ONE_D, "scope": "all"})
        assert refused.status_code == 413 and refused.json()["detail"][0]["setting"] == (
            "max_circuit_terms"
        )
    with limits(max_circuit_terms=2):
        response = client.post(CIRCUIT, json=ONE_D)
        assert response.status_code == 413
        detail = response.json()["detail"][0]
        assert detail["setting"] == "max_circuit_terms" and detail["got"] == 3
        assert "BPC_MAX_CIRCUIT_TERMS" in detail["msg"]
        offer = client.post(LOSS, json=data_of(ONE_D)).json()["circuit"]
        assert offer["example_unavailable"] == (
            "one example has 3 class scores, and the circuit page draws at most 2: even one "
            "example's loss is too big for it"
        )
    # toy-2d's W is 3 x 3 = 9 inputs: fits at 9, refused at 8 (even for one example)
    toy = {"dataset": {"name": "toy-2d"}, "scope": "example"}
    with limits(max_inputs=9):
        assert client.post(CIRCUIT, json=toy).status_code == 200
    with limits(max_inputs=8):
        response = client.post(CIRCUIT, json=toy)
        assert response.status_code == 413
        detail = response.json()["detail"][0]
        assert detail["setting"] == "max_inputs" and detail["got"] == 9 and detail["limit"] == 8
        offer = client.post(LOSS, json=data_of(toy)).json()["circuit"]
        assert offer["example_unavailable"] == (
            "W has 3 × 3 = 9 weights, and a circuit takes at most 8 inputs: even one example's "
            "loss is too big for the circuit page"
        )


def test_large_data_offers_one_example_and_says_why_not_all(client: TestClient) -> None:
    blobs = {"dataset": {"name": "blobs", "n": 300, "d": 2, "c": 3}}
    offer = client.post(LOSS, json=blobs).json()["circuit"]
    assert offer["example_unavailable"] is None
    assert offer["all_unavailable"] == (
        "this data has 300 examples × 3 classes = 900 scores, and the circuit page draws the "
        "whole loss for at most 60: open a single example instead"
    )
    program = post(client, {**blobs, "scope": "example", "example": 299})
    assert program["example"] == 299 and "L299 = " in program["expression"]


def test_the_circuits_size_refusals_name_the_limit_in_full(client: TestClient) -> None:
    # toy-2d's W is C x D = 3 x 3 = 9 inputs; one example has C = 3 scores
    toy = {"dataset": {"name": "toy-2d"}, "scope": "example"}
    with limits(max_inputs=8):
        response = client.post(CIRCUIT, json=toy)
    assert response.status_code == 413
    assert response.json()["detail"] == [
        {
            "type": "limit_exceeded",
            "loc": ["body"],
            "msg": "C*D (weights as circuit inputs) is 9, over the limit of 8 "
            "(setting BPC_MAX_INPUTS)",
            "limit": 8,
            "got": 9,
            "setting": "max_inputs",
        }
    ]
    with limits(max_circuit_terms=2):
        response = client.post(CIRCUIT, json=ONE_D)
    assert response.status_code == 413
    assert response.json()["detail"] == [
        {
            "type": "limit_exceeded",
            "loc": ["body"],
            "msg": "C (one example's scores) is 3, over the limit of 2 "
            "(setting BPC_MAX_CIRCUIT_TERMS)",
            "limit": 2,
            "got": 3,
            "setting": "max_circuit_terms",
        }
    ]


NO_GATE_NOTE = (
    "this loss has no max(0, …) gate: every score passes gradient on (softmax: p_j − 1 for the "
    "true class, p_j for the others)"
)


def test_the_structured_svm_offers_one_gate_per_example_and_the_example_that_routes_0(
    client: TestClient,
) -> None:
    # X = (2, 2), y = (1, 0), W = (1, 0): both examples score s = (2, 0).
    # Example 0 (y 1): its one gate takes class 0's margin 2 - 0 + 1 = 3 > 0: active.
    # Example 1 (y 0): class 1's margin 0 - 2 + 1 = -1 <= 0: its gate routes 0.
    # One gate per example, so no example has both behaviours: the first that routes 0 opens.
    body = {
        "dataset": {"X": [[2.0], [2.0]], "y": [1, 0]},
        "W": [[1.0], [0.0]],
        "variant": "structured",
    }
    offer = client.post(LOSS, json=body).json()["circuit"]
    assert offer == {
        "example": 1,
        "example_unavailable": None,
        "all_unavailable": None,
        "no_circuit_form": False,
        "gates_per_example": 1,
        "inactive": [0, 1],
        "note": "example 1: 1 of its 1 max gate(s) have margin ≤ 0 at this W, so each routes 0 "
        "to its scores (the other side of the max, the 0, gets the gradient)",
    }
    # over max_loss_matrix_cells (N*C = 4 > 3) the per-example counts are left out
    with limits(max_loss_matrix_cells=3):
        large = client.post(LOSS, json=body).json()
    assert large["active"] is None and large["circuit"]["inactive"] is None
    assert large["circuit"]["example"] == 1 and large["circuit"]["gates_per_example"] == 1


def test_a_one_class_structured_svm_has_no_gate(client: TestClient) -> None:
    # C = 1 (W has one row): there is no wrong class, so L_i = 0 has no max(0, ...) gate
    body = {
        "dataset": {"X": [[1.0], [2.0]], "y": [0, 0]},
        "W": [[0.5]],
        "variant": "structured",
    }
    offer = client.post(LOSS, json=body).json()["circuit"]
    assert (offer["gates_per_example"], offer["inactive"], offer["example"]) == (0, [0, 0], 0)
    assert offer["note"] == NO_GATE_NOTE
    program = post(client, {**body, "scope": "example"})
    assert program["terms"] == [] and program["value"] == 0.0
    assert program["note"] == NO_GATE_NOTE


def test_softmax_offers_no_gate_for_one_example_or_the_whole_loss(client: TestClient) -> None:
    body = {"dataset": {"name": "cs231n-1d"}, "W": [[1.0], [0.0], [0.0]], "loss": "softmax"}
    offer = client.post(LOSS, json=body).json()["circuit"]
    assert (offer["gates_per_example"], offer["inactive"], offer["example"]) == (0, [0, 0, 0], 0)
    assert offer["note"] == NO_GATE_NOTE
    whole = post(client, {**body, "scope": "all"})
    assert whole["terms"] == [] and whole["note"] == NO_GATE_NOTE


def test_the_example_program_lists_every_feature_and_signs_a_zero_plus(
    client: TestClient,
) -> None:
    # x0 = (1.5, 0, -2): a 0 feature is written "+ W*0" like any non-negative one
    body = {
        "dataset": {"X": [[1.5, 0.0, -2.0], [1.0, 1.0, 1.0]], "y": [1, 0]},
        "W": [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
        "scope": "example",
        "example": 0,
    }
    lines = post(client, body)["expression"].splitlines()
    assert lines[:4] == [
        "# example 0 of 2: x0 = (1.5, 0, -2), true class y0 = 1",
        "# scores: s0_j = Wj . x0 (weights are inputs, the features constants)",
        "s0_0 = W0_0*1.5 + W0_1*0 - W0_2*2",
        "s0_1 = W1_0*1.5 + W1_1*0 - W1_2*2",
    ]
