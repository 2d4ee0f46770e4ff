"""Every CS231n reference example reproduces to 1e-9 relative, through the engine and the API."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import evaluate_result
from app.presets import BUILT_IN
from tests.engine_result import op_of, scalar_output

CIRCUITS = ["add_mul", "sigmoid_neuron", "staged", "max_route"]


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return a == pytest.approx(b, rel=rel, abs=1e-300)


@pytest.mark.parametrize("name", CIRCUITS)
def test_reference_circuit_output_and_gradients(reference: dict[str, Any], name: str) -> None:
    case = reference[name]
    result = evaluate_result(case["expression"], case["inputs"])
    assert close(scalar_output(result), case["output"])
    gradients = result.gradients()
    assert gradients.keys() == case["grads"].keys()
    for var, grad in case["grads"].items():
        assert close(gradients[var], grad), var


@pytest.mark.parametrize("name", CIRCUITS)
def test_reference_circuit_through_http(client, reference: dict[str, Any], name: str) -> None:
    case = reference[name]
    response = client.post(
        "/api/v1/circuits/evaluate",
        json={"expression": case["expression"], "inputs": case["inputs"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert close(body["output"]["value"], case["output"])
    for var, grad in case["grads"].items():
        assert close(body["gradients"][var], grad), var


def test_add_mul_intermediate(reference: dict[str, Any]) -> None:
    case = reference["add_mul"]
    result = evaluate_result(case["expression"], case["inputs"])
    by_text = {text: i for i, text in enumerate(result.texts)}
    assert result.values[by_text["x + y"]] == case["intermediates"]["x + y"]
    assert result.grads[by_text["x + y"]] == -4.0


def test_sigmoid_neuron_gate_values(reference: dict[str, Any]) -> None:
    """The neuron's eight gates, in forward order, carry the reference values and gradients."""
    case = reference["sigmoid_neuron"]
    result = evaluate_result(case["expression"], case["inputs"])
    gates = [node for node in result.circuit.nodes if node.kind == "gate"]
    assert [g.op for g in gates] == ["mul", "mul", "add", "add", "neg", "exp", "add", "div"]
    assert len(gates) == len(case["gates"])
    for ours, theirs in zip(gates, case["gates"], strict=True):
        assert close(result.values[ours.id], theirs["value"]), theirs["gate"]
        assert close(result.grads[ours.id], theirs["grad"]), theirs["gate"]


def test_max_route_steps_tell_the_course_story(reference: dict[str, Any]) -> None:
    case = reference["max_route"]
    result = evaluate_result(case["expression"], case["inputs"])
    rules = {op_of(result, step): result.rule(step) for step in result.steps}
    assert rules["add"].startswith("add gate distributes the upstream gradient 2 unchanged")
    assert rules["max"] == "max gate routes the gradient 2 to z, the larger input; w gets 0"
    mul_rules = [
        result.rule(s)
        for s in result.steps
        if op_of(result, s) == "mul" and "x receives" in result.rule(s)
    ]
    assert mul_rules[0] == (
        "multiply gate swaps: x receives y · upstream = -4 · 2 = -8; "
        "y receives x · upstream = 3 · 2 = 6"
    )
    nodes = result.circuit.nodes
    contributions = {
        nodes[arg].name: contribution
        for s in result.steps
        for arg, contribution in zip(nodes[s.node].args, s.contributions, strict=True)
        if nodes[arg].kind == "input"
    }
    assert contributions["x"] == -8.0 and contributions["y"] == 6.0
    assert contributions["z"] == 2.0 and contributions["w"] == 0.0


@pytest.mark.parametrize("case", [0, 1, 2, 3])
def test_svm_reference_scores_as_a_circuit(reference: dict[str, Any], case: int) -> None:
    """L_i = sum_{j != y} max(0, s_j - s_y + delta), written as a scalar circuit."""
    item = reference["svm_scores"]["cases"][case]
    scores, label, delta = item["scores"], item["y"], item["delta"]
    terms = [f"max(0, s{j} - s{label} + {delta})" for j in range(len(scores)) if j != label]
    result = evaluate_result(" + ".join(terms), {f"s{j}": s for j, s in enumerate(scores)})
    assert close(scalar_output(result), item["loss"])


def test_svm_reference_mean(reference: dict[str, Any]) -> None:
    cases = reference["svm_scores"]["cases"][:3]
    stages = []
    inputs: dict[str, float] = {}
    for i, item in enumerate(cases):
        label = item["y"]
        terms = [f"max(0, s{i}_{j} - s{i}_{label} + 1)" for j in range(3) if j != label]
        stages.append(f"L{i} = " + " + ".join(terms))
        inputs.update({f"s{i}_{j}": s for j, s in enumerate(item["scores"])})
    program = "\n".join(stages) + "\nL = (L0 + L1 + L2) / 3"
    result = evaluate_result(program, inputs)
    assert close(scalar_output(result), reference["svm_scores"]["mean_first_three"])


@pytest.mark.parametrize("preset", BUILT_IN, ids=[p["id"] for p in BUILT_IN])
def test_every_preset_meets_its_expected_values(preset: dict[str, Any]) -> None:
    result = evaluate_result(preset["expression"], preset["inputs"])
    expected = preset.get("expected")
    assert expected is not None
    if "output" in expected:
        assert close(scalar_output(result), expected["output"], 1e-9)
    gradients = result.gradients()
    for var, grad in expected.get("grads", {}).items():
        assert close(gradients[var], grad, 1e-9), var


def test_presets_include_every_reference_circuit(reference: dict[str, Any]) -> None:
    expressions = {p["expression"] for p in BUILT_IN}
    for name in ["add_mul", "sigmoid_neuron", "max_route"]:
        assert reference[name]["expression"] in expressions
    staged = next(p for p in BUILT_IN if p["id"] == "staged")
    assert staged["expected"]["output"] == reference["staged"]["output"]
    assert staged["expected"]["grads"] == reference["staged"]["grads"]
