"""The OpenAPI document a generated client reads (described, typed, named, with examples that
work), and the conflicting landscape inputs it refuses with a 422 naming the field (issue 17)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

URL = "/api/v1/landscape"
TOY = {"dataset": {"name": "toy-2d"}, "seed": 3, "weight_scale": 1.0}
XY = {"X": [[1.0, 2.0], [-1.0, 0.5], [0.5, -1.5]], "y": [0, 1, 2]}
CSV = "1.0,2.0,0\n-1.0,0.5,1\n0.5,-1.5,2\n"
# Type information a property schema may carry; one without any is untyped.
TYPED = {"type", "$ref", "anyOf", "oneOf", "allOf", "const", "enum"}


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def schemas(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every component schema, and each oneOf variant of one as `Name/variant title`."""
    for name, schema in spec["components"]["schemas"].items():
        yield name, schema
        for variant in schema.get("oneOf", []):
            yield f"{name}/{variant.get('title')}", variant


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def test_every_operation_has_a_clean_id_a_summary_and_a_described_tag(spec) -> None:
    tags = {tag["name"]: tag.get("description") for tag in spec["tags"]}
    assert all(tags.values()), tags
    ids = []
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        assert re.fullmatch(r"[a-z][A-Za-z]+", operation.get("operationId", "")), where
        assert operation.get("summary"), where
        assert operation["tags"] and set(operation["tags"]) <= set(tags), where
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))
    assert "evaluateCircuit" in ids and "landscapeSlice" in ids
    assert spec["servers"][0]["url"] == "/"


def test_every_schema_and_property_is_described(spec) -> None:
    undescribed = []
    for name, schema in schemas(spec):
        # FastAPI names and builds a multipart body's schema itself; its operation's
        # requestBody and the schema's properties carry the descriptions instead
        if not schema.get("description") and not name.startswith("Body_"):
            undescribed.append(name)
        for field, prop in schema.get("properties", {}).items():
            if not prop.get("description"):
                undescribed.append(f"{name}.{field}")
    assert undescribed == []
    for _path, _method, operation in operations(spec):
        if "requestBody" in operation and "multipart/form-data" in operation["requestBody"].get(
            "content", {}
        ):
            assert operation["requestBody"]["description"]


def test_no_property_is_untyped(spec) -> None:
    untyped = []
    for name, schema in schemas(spec):
        for field, prop in schema.get("properties", {}).items():
            free_form = prop.get("type") == "object" and prop.get("additionalProperties", True)
            if not TYPED & set(prop) or free_form is True:
                untyped.append(f"{name}.{field}")
    # an error's `input` is the offending input as it was received: any JSON value
    assert untyped in ([], ["Problem.input"])
    circuits = spec["components"]["schemas"]
    # the four the issue found untyped
    assert circuits["EvaluateResponse"]["properties"]["stats"]["$ref"].endswith("/CircuitStats")
    warning = resolve(
        spec, circuits["EvaluateResponse"]["properties"]["warnings"]["items"]["anyOf"][0]
    )
    assert warning["properties"]["pass"]["enum"] == ["forward", "backward"]
    assert TYPED & set(circuits["NodeOut"]["properties"]["param"])
    assert "PresetExpected" in str(circuits["Preset"]["properties"]["expected"])


def test_request_bodies_have_examples_that_are_accepted(client: TestClient, spec) -> None:
    # The live class's operations act on a real class: one started (and a student joined)
    # here; its id stands for {class_id}, its code for the join example's, and each takes the
    # token of whoever may call it. The push example asks the question the answer example names.
    started = client.post("/api/v1/classes", json={}).json()
    joined = client.post("/api/v1/classes/join", json={"code": started["code"]}).json()
    teacher = {"Authorization": f"Bearer {started['teacher_token']}"}
    student = {"Authorization": f"Bearer {joined['student_token']}"}
    order = {"pushView": -1, "answerQuestion": 1}  # the question is pushed first
    found = sorted(operations(spec), key=lambda o: order.get(o[2].get("operationId"), 0))
    posted = 0
    for path, method, operation in found:
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        schema = resolve(spec, content["application/json"]["schema"])
        assert schema.get("examples"), f"{method} {path}"
        # a path parameter ({lesson_id}) takes its own documented example
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                example_value = parameter["schema"]["examples"][0]
                if parameter["name"] == "class_id":
                    example_value = started["class_id"]
                path = path.replace("{" + parameter["name"] + "}", example_value)
        headers = student if operation["operationId"] == "answerQuestion" else teacher
        for example in schema["examples"]:
            if operation["operationId"] == "joinClass":
                example = {**example, "code": started["code"]}
            response = client.request(method, path, json=example, headers=headers)
            assert response.status_code == 200, (path, example, response.text)
            posted += 1
    assert posted >= 14


def test_the_course_example_is_the_first_evaluate_example(client, spec, reference) -> None:
    schema = spec["components"]["schemas"]["EvaluateRequest"]
    example = schema["examples"][0]
    case = reference["add_mul"]
    assert example == {"expression": case["expression"], "inputs": case["inputs"]}
    answer = client.post("/api/v1/circuits/evaluate", json=example).json()
    assert answer["output"]["value"] == case["output"]
    assert answer["gradients"] == case["grads"]


# (dataset, the field named, words in the message, the same dataset without that field)
DATASET_CONFLICTS = [
    ({"name": "toy-2d", **XY}, "X", ["`name`", "`X`/`y`"], {"name": "toy-2d"}),
    ({**XY, "csv": CSV}, "csv", ["`X`/`y`", "`csv`"], XY),
    ({"name": "toy-2d", "csv": CSV}, "csv", ["`name`", "`csv`"], {"name": "toy-2d"}),
    ({"name": "cs231n-1d", "n": 5}, "n", ["'cs231n-1d' has no `n`", "blobs, cifar-shaped"], None),
    ({"name": "cifar-shaped", "n": 4, "d": 5}, "d", ["'cifar-shaped' has no `d`"], None),
    ({"name": "toy-2d", "c": 4}, "c", ["'toy-2d' has no `c`", "read by blobs"], None),
    ({"name": "toy-2d", "seed": 2}, "seed", ["'toy-2d' has no `seed`"], None),
    ({"csv": CSV, "seed": 3}, "seed", ["built-in dataset", "csv"], {"csv": CSV}),
    ({**XY, "n": 3}, "n", ["built-in dataset", "only `c`"], XY),
]


@pytest.mark.parametrize(("dataset", "field", "words", "fixed"), DATASET_CONFLICTS)
def test_a_dataset_is_one_kind_with_its_own_fields(client, dataset, field, words, fixed) -> None:
    response = client.post(f"{URL}/loss", json={"dataset": dataset})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["type"] == "extra_forbidden"
    assert problem["loc"] == ["body", "dataset", field]
    for word in words:
        assert word in problem["msg"]
    if fixed is None:  # the fixed dataset's own fields, without the one it does not read
        fixed = {key: value for key, value in dataset.items() if key != field}
    assert client.post(f"{URL}/loss", json={"dataset": fixed}).status_code == 200


def test_datasets_as_the_page_sends_them_are_accepted(client: TestClient) -> None:
    # static/js/landscape/problem.js datasetSpec: these stay valid
    for dataset in [
        {"name": "blobs", "n": 12, "d": 2, "c": 3, "seed": 4},
        {"name": "cifar-shaped", "n": 3, "seed": 1},
        {"name": "cs231n-1d"},
        {"csv": CSV},
        {**XY, "c": 4},
    ]:
        response = client.post(f"{URL}/loss", json={"dataset": dataset})
        assert response.status_code == 200, (dataset, response.text)
    answer = client.post(f"{URL}/loss", json={"dataset": {**XY, "c": 4}}).json()
    assert answer["c"] == 4  # c is read with X and y


SLICE_1D = {**TOY, "range": [-1, 1], "steps": 5}
SLICE_2D = {**TOY, "dims": 2, "range": [-1, 1], "steps": 5}
# (request, the field named, words in the message)
SLICE_CONFLICTS = [
    ({**SLICE_1D, "directions": ["random", "random"]}, "directions", "for a 2-D slice"),
    ({**SLICE_1D, "axes": [[0, 0], [1, 1]]}, "axes", "for a 2-D slice"),
    ({**SLICE_1D, "beta_range": [-1, 1]}, "beta_range", "for a 2-D slice"),
    ({**SLICE_2D, "direction": "random"}, "direction", "for a 1-D slice"),
    ({**SLICE_2D, "axis": [0, 0]}, "axis", "for a 1-D slice"),
]


@pytest.mark.parametrize(("body", "field", "words"), SLICE_CONFLICTS)
def test_a_slice_refuses_the_other_kinds_fields(client, body, field, words) -> None:
    response = client.post(f"{URL}/slice", json=body)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert (problem["type"], problem["loc"]) == ("extra_forbidden", ["body", field])
    assert f"`{field}` is {words}" in problem["msg"]
    without = {key: value for key, value in body.items() if key != field}
    assert client.post(f"{URL}/slice", json=without).status_code == 200


def test_slices_as_the_page_sends_them_are_accepted(client: TestClient) -> None:
    # static/js/landscape/problem.js slice1dRequest and slice2dRequest
    one = {**SLICE_1D, "direction": "axis", "axis": [0, 1], "direction_seed": 2}
    two = {
        **SLICE_2D,
        "directions": ["random", "random"],
        "direction_seed": 2,
        "beta_range": [0, 1],
    }
    for body in (one, two):
        assert client.post(f"{URL}/slice", json=body).status_code == 200


def test_samples_is_the_slices_steps(client: TestClient) -> None:
    by_steps = client.post(f"{URL}/slice", json={**SLICE_1D, "steps": 9}).json()
    without_steps = {key: value for key, value in SLICE_1D.items() if key != "steps"}
    by_samples = client.post(f"{URL}/slice", json={**without_steps, "samples": 9}).json()
    assert by_samples == by_steps and len(by_samples["alphas"]) == 9
    both = client.post(f"{URL}/slice", json={**SLICE_1D, "samples": 9})
    assert both.status_code == 422
    (problem,) = both.json()["detail"]
    assert (problem["loc"], problem["input"]) == (["body", "samples"], 9)
    assert "old name" in problem["msg"]


def test_consistent_names_beside_the_deprecated_ones(client: TestClient, spec) -> None:
    components = spec["components"]["schemas"]
    pairs = [
        ("Gradcheck", "max_relative_error", "rel_error"),
        ("Subgradient", "left", "interval"),
        ("Subgradient", "right", "interval"),
        ("SliceResponse", "per_example", "per_example_lines"),
        ("PresetExpected", "grads", "gradients"),
    ]
    for schema, old, new in pairs:
        properties = components[schema]["properties"]
        assert properties[old].get("deprecated") is True, (schema, old)
        assert "deprecated" not in properties[new], (schema, new)
    for variant in components["SliceRequest"]["oneOf"]:
        assert variant["properties"]["steps"]["deprecated"] is True
        assert "deprecated" not in variant["properties"]["samples"]

    body = {"dataset": XY, "W": [[0.5, -1.0], [1.0, 0.25], [-0.5, 2.0]], "gradcheck": True}
    check = client.post(f"{URL}/loss", json=body).json()["gradcheck"]
    assert check["rel_error"] == check["max_relative_error"] == max(check["relative_errors"])

    subgradient = client.post(f"{URL}/slice", json=SLICE_1D).json()["subgradient"]
    assert subgradient["interval"] == [subgradient["left"], subgradient["right"]]

    presets = client.get("/api/v1/presets").json()["presets"]
    add_mul = next(p for p in presets if p["expression"] == "(x + y) * z")
    assert add_mul["expected"]["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}  # the notes'
    for preset in presets:
        expected = preset["expected"] or {}
        assert expected.get("gradients") == expected.get("grads")


def test_a_warning_names_its_pass(client: TestClient) -> None:
    # exp(1000) overflows float64 (its largest finite value is about e^709.78)
    body = {"expression": "exp(x) * 0 + y", "inputs": {"x": 1000, "y": 1}}
    warnings = client.post("/api/v1/circuits/evaluate", json=body).json()["warnings"]
    assert warnings[0]["pass"] == "forward" and warnings[0]["value"] == "Infinity"
    assert "exp" in warnings[0]["msg"]


def test_a_teacher_presets_tensor_expectations_are_served_typed(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from app.core.config import get_settings
    from app.main import create_app

    # by hand: s = W @ x = [1 - 2, 3 - 4], L = -2; dL/dW = [x, x] by rows; dL/dx = W^T 1 = [4, 6]
    expected = {"output": -2.0, "grads": {"W": [[1, -1], [1, -1]], "x": [4, 6]}, "tolerance": 1e-4}
    preset = {
        "id": "tiny_layer",
        "title": "A tiny layer",
        "description": "W @ x summed",
        "expression": "s = W @ x\nL = sum(s)",
        "inputs": {"W": [[1, 2], [3, 4]], "x": [1, -1]},
        "expected": expected,
    }
    path = tmp_path / "presets.json"
    path.write_text(json.dumps([preset]))
    monkeypatch.setenv("BPC_PRESETS_FILE", str(path))
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as teacher_client:
            response = teacher_client.get("/api/v1/presets")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert response.status_code == 200, response.text
    (mine,) = [p for p in response.json()["presets"] if p["id"] == "tiny_layer"]
    assert mine["source"] == "teacher" and mine["expected"]["tolerance"] == 1e-4
    assert mine["expected"]["gradients"] == mine["expected"]["grads"] == expected["grads"]
    assert mine["expected"]["output"] == -2.0
