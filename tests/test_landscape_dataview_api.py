"""/loss with include_data: the examples as the loss saw them, for the page's data view."""

from __future__ import annotations

from fastapi.testclient import TestClient

LOSS = "/api/v1/landscape/loss"


def test_the_data_comes_back_only_when_asked(client: TestClient) -> None:
    plain = client.post(LOSS, json={"dataset": {"name": "cs231n-1d"}}).json()
    assert plain.get("X") is None and plain.get("y") is None
    asked = client.post(LOSS, json={"dataset": {"name": "cs231n-1d"}, "include_data": True})
    # the notes' three points, one per class
    assert asked.json()["X"] == [[1.0], [-2.0], [0.5]]
    assert asked.json()["y"] == [0, 1, 2]


def test_the_data_has_the_bias_column_the_loss_used(client: TestClient) -> None:
    csv = "0.5,1.5,0\n-1,2,1\n2,-0.25,2\n"
    body = {"dataset": {"csv": csv}, "bias": True, "include_data": True}
    answer = client.post(LOSS, json=body).json()
    assert answer["X"] == [[0.5, 1.5, 1.0], [-1.0, 2.0, 1.0], [2.0, -0.25, 1.0]]
    assert answer["y"] == [0, 1, 2]
    assert answer["d"] == 3
