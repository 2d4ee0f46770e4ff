"""Landscape API: /loss, /slice, /optimize, datasets, and the 422/413 answers that say what and where."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.deps import current_settings
from app.core.config import Settings
from app.landscape.losses import LossSpec, loss_of_weights

URL = "/api/v1/landscape"
TOY = {"dataset": {"name": "toy-2d"}, "seed": 3, "weight_scale": 1.0}


def detail(response: Any) -> dict[str, Any]:
    body = response.json()
    assert len(body["detail"]) >= 1
    return body["detail"][0]


def test_reference_cases_through_the_api(client: TestClient, reference: dict[str, Any]) -> None:
    cases = reference["svm_scores"]["cases"]
    W = np.array([case["scores"] for case in cases[:3]]).T.tolist()  # X = I: scores are W's columns
    body = {"dataset": {"X": np.eye(3).tolist(), "y": [c["y"] for c in cases[:3]]}, "W": W}
    answer = client.post(f"{URL}/loss", json=body).json()
    assert answer["loss"] == pytest.approx(reference["svm_scores"]["mean_first_three"], rel=1e-12)
    assert answer["per_example"] == pytest.approx([c["loss"] for c in cases[:3]], abs=1e-12)
    assert answer["active"][0] == [False, True, False]
    ten = cases[3]
    body = {
        "dataset": {"X": [[1.0]], "y": [ten["y"]]},
        "W": [[s] for s in ten["scores"]],
        "delta": ten["delta"],
    }
    assert client.post(f"{URL}/loss", json=body).json()["loss"] == 8.0


def test_loss_gradcheck_and_reg_gradient(client: TestClient) -> None:
    answer = client.post(
        f"{URL}/loss", json={**TOY, "reg": 0.1, "gradcheck": True, "include_W": True}
    ).json()
    check = answer["gradcheck"]
    assert check["sampled"] is False and len(check["entries"]) == 9
    assert check["max_relative_error"] < 1e-6
    np.testing.assert_allclose(check["numeric_grad_W"], answer["grad_W"], atol=1e-7)
    assert answer["loss"] == pytest.approx(answer["data_loss"] + answer["reg_loss"])
    W = np.array(answer["W"])
    assert answer["reg_loss"] == pytest.approx(0.1 * np.sum(W * W))
    without = client.post(f"{URL}/loss", json=TOY).json()
    np.testing.assert_allclose(
        np.array(answer["grad_W"]) - np.array(without["grad_W"]), 2 * 0.1 * W, atol=1e-12
    )


def test_gradcheck_samples_large_weights(client: TestClient) -> None:
    body = {"dataset": {"name": "blobs", "n": 20, "d": 300, "c": 10}, "gradcheck": True}
    check = client.post(f"{URL}/loss", json=body).json()["gradcheck"]
    assert check["sampled"] is True and len(check["entries"]) == 2000
    assert check["numeric_grad_W"] is None
    assert check["max_relative_error"] < 1e-5


@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_bias_trick_adds_a_column(client: TestClient, loss: str) -> None:
    plain = client.post(f"{URL}/loss", json={"dataset": {"name": "cs231n-1d"}, "loss": loss}).json()
    biased = client.post(
        f"{URL}/loss", json={"dataset": {"name": "cs231n-1d"}, "bias": True, "loss": loss}
    ).json()
    assert plain["d"] == 1 and biased["d"] == 2
    if loss == "softmax":
        assert biased["probabilities"] is not None and biased["active"] is not None


def test_xavier_init_scale(client: TestClient) -> None:
    body = {
        "dataset": {"name": "blobs", "n": 4, "d": 400, "c": 10},
        "init": "xavier",
        "include_W": True,
    }
    W = np.array(client.post(f"{URL}/loss", json=body).json()["W"])
    assert W.std() == pytest.approx(1 / np.sqrt(400), rel=0.1)


def test_slice_1d_axis_is_exact_and_matches_direct(client: TestClient) -> None:
    body = {
        "dataset": {"name": "cs231n-1d"},
        "W": [[0.3], [-0.2], [0.6]],
        "reg": 0.05,
        "direction": "axis",
        "axis": [0, 0],
        "range": [-2, 2],
        "steps": 81,
    }
    answer = client.post(f"{URL}/slice", json=body).json()
    assert answer["dims"] == 1 and answer["exact"] is True
    X, y = np.array([[1.0], [-2.0], [0.5]]), np.array([0, 1, 2])
    W = np.array(body["W"])
    D = np.zeros((3, 1))
    D[0, 0] = 1.0
    spec = LossSpec(reg=0.05)
    direct = [loss_of_weights(W + a * D, X, y, spec) for a in answer["alphas"]]
    np.testing.assert_allclose(answer["losses"], direct, atol=1e-12)
    assert answer["kink_count"] == len(answer["kinks"]) >= 3
    for kink in answer["kinks"]:
        assert -2 < kink["alpha"] <= 2
        assert kink["slope_right"] > kink["slope_left"]
    assert answer["origin"]["loss"] == pytest.approx(direct[40])
    assert answer["minimum"]["loss"] <= min(answer["losses"]) + 1e-12
    subgradient = answer["subgradient"]
    assert set(subgradient) == {"interval", "left", "right"}  # left/right: deprecated names
    assert subgradient["interval"] == [subgradient["left"], subgradient["right"]]
    assert len(answer["terms"]) == 6 and len(answer["per_example"]) == 3
    assert answer["per_example_lines"] == answer["per_example"]


def test_slice_2d_and_the_1d_slice_share_the_first_random_direction(client: TestClient) -> None:
    base = {**TOY, "range": [-1, 1], "steps": 21, "direction_seed": 5}
    grid = client.post(f"{URL}/slice", json={**base, "dims": 2}).json()
    line = client.post(f"{URL}/slice", json={**base, "dims": 1}).json()
    assert len(grid["losses"]) == 21 and len(grid["losses"][0]) == 21
    middle_row = grid["losses"][10]  # beta = 0
    np.testing.assert_allclose(middle_row, line["losses"], atol=1e-12)
    flat = np.array(grid["losses"])
    assert grid["minimum"]["loss"] == pytest.approx(flat.min())
    assert grid["origin"]["loss"] == pytest.approx(flat[10, 10])


def test_explicit_directions_and_normalization(client: TestClient) -> None:
    D = np.ones((3, 3)).tolist()
    answer = client.post(f"{URL}/slice", json={**TOY, "direction": D, "steps": 5}).json()
    assert len(answer["losses"]) == 5
    rows = client.post(f"{URL}/slice", json={**TOY, "normalize": "rows", "steps": 5}).json()
    overall = client.post(f"{URL}/slice", json={**TOY, "normalize": "overall", "steps": 5}).json()
    assert rows["losses"] != overall["losses"]
    softmax = client.post(f"{URL}/slice", json={**TOY, "loss": "softmax", "steps": 5}).json()
    assert softmax["exact"] is False and softmax["kinks"] == []


@pytest.mark.parametrize("strategy", ["random_search", "random_local_search", "gd", "sgd"])
def test_optimize_paths(client: TestClient, strategy: str) -> None:
    body = {
        **TOY,
        "strategy": strategy,
        "steps": 30,
        "step_size": 0.1,
        "batch_size": 4,
        "optimizer_seed": 2,
    }
    answer = client.post(f"{URL}/optimize", json=body).json()
    losses = answer["losses"]
    assert len(losses) == 31 and answer["final_loss"] == losses[-1]
    path = answer["path"]
    assert len(path["alphas"]) == len(path["betas"]) == len(path["off_plane"]) == 31
    assert path["alphas"][0] == 0 and path["off_plane"][0] == 0
    assert losses[-1] < losses[0]
    if strategy != "sgd":  # these never accept a worse point, or (gd) step small enough
        assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:], strict=False))
    if strategy == "sgd":
        assert len(answer["batch_losses"]) == 30


def test_optimize_along_an_axis_plane_stays_on_it(client: TestClient) -> None:
    """With the plane spanned by weights w0 and w1, a GD step's (a, b) are its w0 and w1 moves and
    its off-plane distance is how far it moved w2."""
    body = {
        "dataset": {"name": "cs231n-1d"},
        "W": [[0.3], [-0.2], [0.6]],
        "strategy": "gd",
        "steps": 5,
        "step_size": 0.5,
        "directions": ["axis", "axis"],
        "axes": [[0, 0], [1, 0]],
    }
    answer = client.post(f"{URL}/optimize", json=body).json()
    alphas, off = answer["path"]["alphas"], answer["path"]["off_plane"]
    loss = client.post(f"{URL}/loss", json={k: body[k] for k in ("dataset", "W")}).json()
    first_step = -0.5 * np.array(loss["grad_W"])[:, 0]
    assert alphas[1] == pytest.approx(first_step[0])
    assert answer["path"]["betas"][1] == pytest.approx(first_step[1])
    assert off[1] == pytest.approx(abs(first_step[2]))


def test_datasets_listing_and_csv(client: TestClient) -> None:
    names = {d["name"] for d in client.get(f"{URL}/datasets").json()}
    assert names == {"cs231n-1d", "toy-2d", "blobs", "cifar-shaped"}
    csv = "x1,x2,label\n1,2,0\n\n3,4,2\n"
    answer = client.post(f"{URL}/loss", json={"dataset": {"csv": csv}}).json()
    assert answer["n"] == 2 and answer["c"] == 3
    upload = client.post(f"{URL}/datasets/csv", files={"file": ("d.csv", csv.encode(), "text/csv")})
    assert upload.json() == {"X": [[1.0, 2.0], [3.0, 4.0]], "y": [0, 2], "n": 2, "d": 2, "c": 3}
    shaped = client.post(f"{URL}/loss", json={"dataset": {"name": "cifar-shaped", "n": 5}}).json()
    assert (shaped["n"], shaped["d"], shaped["c"]) == (5, 3073, 10)


# ---------------------------------------------------------------- errors: what and where


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        ({"dataset": {"X": [[1, 2], [3]], "y": [0, 1]}}, ["body", "dataset", "X", 1], "row 1"),
        ({"dataset": {"X": [[1, 2], [3, 4]], "y": [0]}}, ["body", "dataset", "y"], "1 labels"),
        (
            {"dataset": {"X": [[1], [2]], "y": [0, 3]}, "W": [[1], [2]]},
            ["body", "dataset", "y", 1],
            "out of range",
        ),
        ({"dataset": {"X": [[1], [2]], "y": [0, -1]}}, ["body", "dataset", "y", 1], "out of range"),
        ({"dataset": {"X": [], "y": []}}, ["body", "dataset", "X"], "empty"),
        ({"dataset": {"X": [[]], "y": [0]}}, ["body", "dataset", "X", 0], "empty"),
        ({"dataset": {"name": "toy-2d"}, "W": [[1, 2], [3, 4]]}, ["body", "W"], "3x3"),
        ({"dataset": {}}, ["body", "dataset"], "needs"),
        ({"dataset": {"csv": "1,2,0\n3,x,1\n"}}, ["body", "dataset", "csv"], "line 2"),
        ({"dataset": {"csv": "1,2,0.5\n"}}, ["body", "dataset", "csv"], "not an integer"),
    ],
)
def test_bad_data_gives_422_with_location(client: TestClient, body, loc, words) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"{URL}/loss", json=body)
    assert response.status_code == 422
    assert detail(response)["loc"] == loc
    assert words in detail(response)["msg"]


@pytest.mark.parametrize(
    ("token", "word"), [("NaN", "finite"), ("1e999", "finite"), ("-Infinity", "finite")]
)
def test_non_finite_data_gives_422_naming_the_entry(
    client: TestClient, token: str, word: str
) -> None:
    raw = '{"dataset": {"X": [[1, 2], [3, TOKEN]], "y": [0, 1]}}'.replace("TOKEN", token)
    response = client.post(f"{URL}/loss", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert detail(response)["loc"] == ["body", "dataset", "X", 1, 1]
    assert word in detail(response)["msg"]
    raw_w = '{"dataset": {"name": "cs231n-1d"}, "W": [[1], [TOKEN], [0]]}'.replace("TOKEN", token)
    response = client.post(
        f"{URL}/loss", content=raw_w, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and detail(response)["loc"] == ["body", "W", 1, 0]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({**TOY, "direction": "axis", "axis": [3, 0]}, ["body", "axis"]),
        ({**TOY, "direction": "axis"}, ["body", "axis"]),
        ({**TOY, "direction": [[1, 2]]}, ["body", "direction"]),
        ({**TOY, "dims": 2, "directions": ["random", [[1.0]]]}, ["body", "directions", 1]),
        ({**TOY, "range": [1, -1]}, ["body", "range"]),
        ({**TOY, "steps": 1}, ["body", "steps"]),
        ({**TOY, "delta": "NaN"}, ["body", "delta"]),
        ({**TOY, "variant": "hinge"}, ["body", "variant"]),
    ],
)
def test_bad_slice_requests_give_422(client: TestClient, body, loc) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"{URL}/slice", json=body)
    assert response.status_code == 422
    assert detail(response)["loc"] == loc


# ---------------------------------------------------------------- limits


@pytest.fixture
def small_limits(client: TestClient) -> Iterator[TestClient]:
    limits = Settings(
        max_landscape_n=10,
        max_landscape_nd=40,
        max_landscape_c=4,
        max_grid_points=100,
        max_slice_steps=50,
        max_optimize_steps=20,
        max_circuit_terms=12,
    )
    client.app.dependency_overrides[current_settings] = lambda: limits  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        client.app.dependency_overrides.pop(current_settings, None)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "body", "setting"),
    [
        ("loss", {"dataset": {"name": "blobs", "n": 11, "d": 1, "c": 2}}, "max_landscape_n"),
        ("loss", {"dataset": {"name": "blobs", "n": 10, "d": 5, "c": 2}}, "max_landscape_nd"),
        ("loss", {"dataset": {"name": "blobs", "n": 5, "d": 2, "c": 5}}, "max_landscape_c"),
        ("loss", {"dataset": {"X": [[0.0]] * 11, "y": [0] * 11}}, "max_landscape_n"),
        ("slice", {**TOY, "steps": 51}, "max_slice_steps"),
        ("slice", {**TOY, "dims": 2, "steps": 11}, "max_grid_points"),
        ("optimize", {**TOY, "steps": 21}, "max_optimize_steps"),
        ("circuit", {"dataset": {"name": "toy-2d"}}, "max_circuit_terms"),
    ],
)
def test_limits_give_413_naming_the_setting(small_limits: TestClient, path, body, setting) -> None:  # type: ignore[no-untyped-def]
    response = small_limits.post(f"{URL}/{path}", json=body)
    assert response.status_code == 413
    assert detail(response)["setting"] == setting
    assert f"BPC_{setting.upper()}" in detail(response)["msg"]


def test_within_limits_is_fine(small_limits: TestClient) -> None:
    assert (
        small_limits.post(f"{URL}/slice", json={**TOY, "dims": 2, "steps": 10}).status_code == 200
    )
    assert (
        small_limits.post(f"{URL}/circuit", json={"dataset": {"name": "cs231n-1d"}}).status_code
        == 200
    )
