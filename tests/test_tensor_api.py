"""Tensor circuits over HTTP: nested-list values, shape errors as 422 with a position, limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.deps import current_settings
from app.core.config import Settings
from app.main import app
from app.presets import BUILT_IN

URL = "/api/v1/circuits/evaluate"


def test_matmul_example_over_http(client: TestClient) -> None:
    example = next(p for p in BUILT_IN if p["id"] == "matmul_shapes")
    response = client.post(
        URL,
        json={"expression": example["expression"], "inputs": example["inputs"], "gradcheck": True},
    )
    assert response.status_code == 200
    body = response.json()
    assert np.shape(body["gradients"]["W"]) == (5, 10)
    assert np.shape(body["gradients"]["X"]) == (10, 3)
    assert body["gradcheck"]["passed"] is True
    assert {item["name"] for item in body["gradcheck"]["inputs"]} == {"W", "X", "dD"}
    assert all(len(item["worst_index"]) == 2 for item in body["gradcheck"]["inputs"])
    shapes = {n["label"]: n["shape"] for n in body["nodes"] if n["label"]}
    assert shapes == {"W": [5, 10], "X": [10, 3], "D": [5, 3], "dD": [5, 3], "L": []}
    assert body["index_inputs"] == []


def test_index_inputs_are_reported(client: TestClient) -> None:
    response = client.post(
        URL,
        json={
            "expression": "sum(max(0, s - s[y] + 1)) - 1",
            "inputs": {"s": [3.2, 5.1, -1.7], "y": 0},
        },
    )
    body = response.json()
    assert body["index_inputs"] == ["y"]
    assert body["gradients"] == {"s": [-1.0, 1.0, 0.0], "y": 0.0}
    index = next(n for n in body["nodes"] if n["op"] == "index")
    assert index["symbol"] == "[y]" and index["param"] == "[y]" and index["shape"] == []


def test_shape_error_is_422_with_line_and_col(client: TestClient) -> None:
    response = client.post(
        URL,
        json={
            "expression": "# scores\nD = W @ X",
            "inputs": {"W": [[1.0] * 10] * 5, "X": [[1.0] * 10] * 3},
        },
    )
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["type"] == "shape_error"
    assert (detail["line"], detail["col"]) == (2, 5)
    assert detail["excerpt"] == "D = W @ X"
    assert "did you mean W @ X.T?" in detail["msg"]
    assert detail["shapes"] == [[5, 10], [3, 10]]


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        # rows of 2 and 1 under the top level (depth 2); lengths listed sorted, at most 5
        (
            [[1.0, 2.0], [3.0]],
            "value_error",
            "input 'W' is ragged: rows at depth 2 have lengths [1, 2]",
        ),
        (
            [[1.0] * k for k in range(1, 8)],
            "value_error",
            "input 'W' is ragged: rows at depth 2 have lengths [1, 2, 3, 4, 5]",
        ),
        ([[1.0], 2.0], "value_error", "input 'W' mixes numbers and lists at depth 2"),
        ([[]], "value_error", "input 'W' has an empty dimension"),
        ([1.0, "2"], "type_error", "input 'W' contains str, not a number"),
        ([1.0, [2.0]], "type_error", "input 'W' contains list, not a number"),
        # JSON's true is not the number 1
        ([True, 1.0], "type_error", "input 'W' contains bool, not a number"),
        (
            [[[[1.0]]]],
            "value_error",
            "input 'W' has more than 3 dimensions (setting BPC_MAX_TENSOR_RANK)",
        ),
    ],
)
def test_bad_tensor_values_are_422_naming_the_input(
    client: TestClient, value: Any, kind: str, message: str
) -> None:
    response = client.post(URL, json={"expression": "sum(W)", "inputs": {"W": value}})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"type": kind, "loc": ["body", "inputs", "W"], "msg": message}
    ]


@pytest.fixture
def tensor_limits(client: TestClient) -> Iterator[TestClient]:
    """The module's client, whose requests see these limits: limits reach a request through
    the current_settings dependency, so no new client (and lifespan) is needed for them."""
    app.dependency_overrides[current_settings] = lambda: Settings(
        max_tensor_elements_per_input=16,
        max_tensor_elements_per_node=20,
        max_tensor_elements_per_request=60,
        max_tensor_rank=2,
        max_tensor_matmul_work=100,
    )
    try:
        yield client
    finally:
        app.dependency_overrides.clear()


@pytest.mark.parametrize(
    ("expression", "inputs", "status", "setting"),
    [
        ("sum(a)", {"a": [1.0] * 17}, 422, "max_tensor_elements_per_input"),
        # two 5-vectors make a 5×5 outer product: 25 elements on one wire
        (
            "sum(reshape(a, 5, 1) @ reshape(b, 1, 5))",
            {"a": [1.0] * 5, "b": [1.0] * 5},
            413,
            "max_tensor_elements_per_node",
        ),
        # 16 + 16 + 16 + 16 + 1 elements across the wires
        (
            "sum(a * b * 2)",
            {"a": [1.0] * 16, "b": [1.0] * 16},
            413,
            "max_tensor_elements_per_request",
        ),
        # small wires, a long inner axis: 7 dot products of 16 elements are 112 multiply-adds
        (
            "a @ b + a @ b + a @ b + a @ b + a @ b + a @ b + a @ b",
            {"a": [1.0] * 16, "b": [1.0] * 16},
            413,
            "max_tensor_matmul_work",
        ),
    ],
)
def test_tensor_limits_are_413_naming_the_setting(
    tensor_limits: TestClient, expression: str, inputs: dict[str, Any], status: int, setting: str
) -> None:
    response = tensor_limits.post(URL, json={"expression": expression, "inputs": inputs})
    assert response.status_code == status
    detail = response.json()["detail"][0]
    assert detail["setting"] == setting
    assert f"BPC_{setting.upper()}" in detail["msg"]


def test_rank_limit_applies_to_inputs_and_wires(tensor_limits: TestClient) -> None:
    deep = tensor_limits.post(URL, json={"expression": "sum(a)", "inputs": {"a": [[[1.0]]]}})
    assert deep.status_code == 422
    assert "more than 2 dimensions" in deep.json()["detail"][0]["msg"]
    wire = tensor_limits.post(
        URL, json={"expression": "sum(reshape(a, 1, 2, 2))", "inputs": {"a": [1.0] * 4}}
    )
    assert wire.status_code == 422
    detail = wire.json()["detail"][0]
    assert detail["type"] == "shape_error" and "more than the limit of 2" in detail["msg"]


def test_under_the_limits_still_works(tensor_limits: TestClient) -> None:
    response = tensor_limits.post(
        URL, json={"expression": "sum(a * b)", "inputs": {"a": [1.0] * 16, "b": [2.0] * 16}}
    )
    assert response.status_code == 200
    assert response.json()["output"]["value"] == 32.0


def test_whole_numbers_in_a_list_are_float64_so_a_product_does_not_wrap(
    client: TestClient,
) -> None:
    # JSON integers in a list become float64: 2**32 squared is 2**64 (an int64 would wrap to 0),
    # and 10**20, beyond int64 altogether, squares to 1e40 (no object array, no 500).
    big = float(10**20)
    response = client.post(
        URL, json={"expression": "x * x", "inputs": {"x": [4294967296, 10**20, 3]}}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["output"]["value"] == [2.0**64, big * big, 9.0]
    assert body["gradients"] == {"x": [2.0 * 4294967296, 2.0 * big, 6.0]}


BIG = "1" + "0" * 400  # a JSON integer beyond float64 (about 1.8e308)
UNUSED = ", ".join(f'"a{i}": 1' for i in range(21))  # 21 inputs the expression does not use


@pytest.mark.parametrize(
    ("expression", "inputs", "detail"),
    [
        (
            "x * y",
            '{"x": "2", "y": 1}',
            [
                {
                    "type": "type_error",
                    "loc": ["body", "inputs", "x"],
                    "msg": "input 'x' must be a number or a nested list of numbers, not str",
                }
            ],
        ),
        (
            "x * y",
            '{"x": true, "y": 1}',
            [
                {
                    "type": "type_error",
                    "loc": ["body", "inputs", "x"],
                    "msg": "input 'x' must be a number or a nested list of numbers, not bool",
                }
            ],
        ),
        # 1e400 is read as infinity
        (
            "x * y",
            '{"x": 1e400, "y": 1}',
            [
                {
                    "type": "value_error",
                    "loc": ["body", "inputs", "x"],
                    "msg": "input 'x' must be finite",
                }
            ],
        ),
        (
            "sum(x * y)",
            '{"x": [1, 1e400], "y": 1}',
            [
                {
                    "type": "value_error",
                    "loc": ["body", "inputs", "x"],
                    "msg": "input 'x' contains a non-finite number",
                }
            ],
        ),
        (
            "x * y",
            f'{{"x": {BIG}, "y": 1}}',
            [
                {
                    "type": "value_error",
                    "loc": ["body", "inputs", "x"],
                    "msg": "input 'x' has an integer beyond the float64 range (about ±1.8e308)",
                }
            ],
        ),
        # the element [1, 1] of a 2 x 2 list
        (
            "sum(x * y)",
            f'{{"x": [[1, 2], [3, -{BIG}]], "y": 1}}',
            [
                {
                    "type": "value_error",
                    "loc": ["body", "inputs", "x", 1, 1],
                    "msg": "input 'x' has an integer at index [1, 1] beyond the float64 range "
                    "(about ±1.8e308)",
                }
            ],
        ),
        # both problems at once, each input named in the order written
        (
            "x * y * z",
            '{"x": 1, "w": 2, "v": 3}',
            [
                {
                    "type": "missing_input",
                    "loc": ["body", "inputs"],
                    "msg": "missing values for inputs y, z",
                    "names": ["y", "z"],
                },
                {
                    "type": "unused_input",
                    "loc": ["body", "inputs"],
                    "msg": "the expression does not use inputs w, v",
                    "names": ["w", "v"],
                },
            ],
        ),
        (
            "x * y",
            '{"x": 1}',
            [
                {
                    "type": "missing_input",
                    "loc": ["body", "inputs"],
                    "msg": "missing values for input y",
                    "names": ["y"],
                }
            ],
        ),
        # one unused input; and of 21, the first 20 are named
        (
            "x",
            '{"x": 1, "w": 2}',
            [
                {
                    "type": "unused_input",
                    "loc": ["body", "inputs"],
                    "msg": "the expression does not use input w",
                    "names": ["w"],
                }
            ],
        ),
        (
            "x",
            f'{{"x": 1, {UNUSED}}}',
            [
                {
                    "type": "unused_input",
                    "loc": ["body", "inputs"],
                    "msg": "the expression does not use inputs "
                    + ", ".join(f"a{i}" for i in range(20)),
                    "names": [f"a{i}" for i in range(20)],
                }
            ],
        ),
    ],
)
def test_bad_input_values_are_422_said_whole(
    client: TestClient, expression: str, inputs: str, detail: list[dict[str, Any]]
) -> None:
    body = f'{{"expression": "{expression}", "inputs": {inputs}}}'
    response = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"] == detail
