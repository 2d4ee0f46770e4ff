"""Every CS231n reference example reproduces to 1e-9 relative, through the engine and the API."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import evaluate
from app.presets import BUILT_IN

CIRCUITS = ["add_mul", "sigmoid_neuron", "staged", "max_route"]


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return a == pytest.approx(b, rel=rel, abs=1e-300)


@pytest.mark.parametrize("name", CIRCUITS)
def test_reference_circuit_output_and_gradients(reference: dict[str, Any], name: str) -> None:
    case = reference[name]
    report = evaluate(case["expression"], case["inputs"])
    assert close(report["output"]["value"], case["output"])
    assert report["gradients"].keys() == case["grads"].keys()
    for var, grad in case["grads"].items():
        assert close(report["gradients"][var], grad), var


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
    report = evaluate(case["expression"], case["inputs"])
    by_text = {node["text"]: node for node in report["nodes"]}
    assert by_text["x + y"]["value"] == case["intermediates"]["x + y"]
    assert by_text["x + y"]["grad"] == -4.0


def test_sigmoid_neuron_gate_values(reference: dict[str, Any]) -> None:
    """The neuron's eight gates, in forward order, carry the reference values and gradients."""
    case = reference["sigmoid_neuron"]
    report = evaluate(case["expression"], case["inputs"])
    gates = [node for node in report["nodes"] if node["kind"] == "gate"]
    assert [g["op"] for g in gates] == ["mul", "mul", "add", "add", "neg", "exp", "add", "div"]
    assert len(gates) == len(case["gates"])
    for ours, theirs in zip(gates, case["gates"], strict=True):
        assert close(ours["value"], theirs["value"]), theirs["gate"]
        assert close(ours["grad"], theirs["grad"]), theirs["gate"]


def test_max_route_steps_tell_the_course_story(reference: dict[str, Any]) -> None:
    case = reference["max_route"]
    report = evaluate(case["expression"], case["inputs"])
    rules = {step["op"]: step["rule"] for step in report["backward"]}
    assert rules["add"].startswith("add gate distributes the upstream gradient 2 unchanged")
    assert rules["max"] == "max gate routes the gradient 2 to z, the larger input; w gets 0"
    mul_steps = [s for s in report["backward"] if s["op"] == "mul" and "x receives" in s["rule"]]
    assert mul_steps[0]["rule"] == (
        "multiply gate swaps: x receives y · upstream = -4 · 2 = -8; "
        "y receives x · upstream = 3 · 2 = 6"
    )
    contributions = {
        report["nodes"][int(i["node"][1:])]["label"]: i["contribution"]
        for s in report["backward"]
        for i in s["inputs"]
    }
    assert contributions["x"] == -8.0 and contributions["y"] == 6.0
    assert contributions["z"] == 2.0 and contributions["w"] == 0.0


@pytest.mark.parametrize("case", [0, 1, 2, 3])
def test_svm_reference_scores_as_a_circuit(reference: dict[str, Any], case: int) -> None:
    """L_i = sum_{j != y} max(0, s_j - s_y + delta), written as a scalar circuit."""
    item = reference["svm_scores"]["cases"][case]
    scores, label, delta = item["scores"], item["y"], item["delta"]
    terms = [f"max(0, s{j} - s{label} + {delta})" for j in range(len(scores)) if j != label]
    report = evaluate(" + ".join(terms), {f"s{j}": s for j, s in enumerate(scores)})
    assert close(report["output"]["value"], item["loss"])


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
    report = evaluate(program, inputs)
    assert close(report["output"]["value"], reference["svm_scores"]["mean_first_three"])


@pytest.mark.parametrize("preset", BUILT_IN, ids=[p["id"] for p in BUILT_IN])
def test_every_preset_meets_its_expected_values(preset: dict[str, Any]) -> None:
    report = evaluate(preset["expression"], preset["inputs"])
    expected = preset.get("expected")
    assert expected is not None
    if "output" in expected:
        assert close(report["output"]["value"], expected["output"], 1e-9)
    for var, grad in expected.get("grads", {}).items():
        assert close(report["gradients"][var], grad, 1e-9), var


def test_presets_include_every_reference_circuit(reference: dict[str, Any]) -> None:
    expressions = {p["expression"] for p in BUILT_IN}
    for name in ["add_mul", "sigmoid_neuron", "max_route"]:
        assert reference[name]["expression"] in expressions
    staged = next(p for p in BUILT_IN if p["id"] == "staged")
    assert staged["expected"]["output"] == reference["staged"]["output"]
    assert staged["expected"]["grads"] == reference["staged"]["grads"]
