"""2-D slice rows (and a 1-D slice) whose kink lies exactly on the low or the high edge.

The expected grids come from evaluating the hinge formula at every grid point here, not from
the exact piecewise-linear code under test, which buckets kinks relative to the row's edges.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import app

URL = "/api/v1/landscape/slice"

# One example x = [1] of class 0 and weights W = [[0], [-1]]: the scores are s = [0, -1], so
# the Weston-Watkins hinge max(0, s1 - s0 + 1) has argument 0 at W, a kink at the origin.
X = [[1.0]]
Y = [0]
W = [[0.0], [-1.0]]


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def hinge_grid(
    W: list[list[float]],
    D1: list[list[float]],
    D2: list[list[float]],
    alphas: np.ndarray,
    betas: np.ndarray,
    variant: str,
) -> np.ndarray:
    """The SVM loss (delta = 1) at W + a*D1 + b*D2, one point at a time, straight from its
    definition: Weston-Watkins sums max(0, s_j - s_y + 1) over j != y, structured takes
    max(0, max over j != y of s_j - s_y + 1); averaged over the examples."""
    x, y = np.array(X), np.array(Y)
    grid = np.empty((betas.size, alphas.size))
    for r, b in enumerate(betas):
        for c, a in enumerate(alphas):
            scores = x @ (np.array(W) + a * np.array(D1) + b * np.array(D2)).T
            total = 0.0
            for i in range(y.size):
                margins = [
                    scores[i, j] - scores[i, y[i]] + 1.0
                    for j in range(scores.shape[1])
                    if j != y[i]
                ]
                if variant == "ww":
                    total += sum(max(0.0, m) for m in margins)
                else:
                    total += max(0.0, *margins)
            grid[r, c] = total / y.size
    return grid


def slice_2d(api: TestClient, request: dict[str, Any]) -> dict[str, Any]:
    response = api.post(URL, json={"dims": 2, "steps": 5, **request})
    assert response.status_code == 200, response.text
    return dict(response.json())


# Along the rows the hinge argument is b + m1*a; with alphas 0, 1, 2, 3, 4:
#   m1 = +1/2, b = 0: kink at a = 0 (the low edge), values 0, 0.5, 1, 1.5, 2
#   m1 = +1/2, b = -2: kink at a = 4 (the high edge), values 0, 0, 0, 0, 0
#   m1 = -1/2, b = 0: kink at a = 0 (the low edge), values 0, 0, 0, 0, 0
#   m1 = -1/2, b = 2: kink at a = 4 (the high edge), values 2, 1.5, 1, 0.5, 0
@pytest.mark.parametrize(
    ("m1", "beta_range", "low_row", "high_row"),
    [
        (0.5, [-2.0, 0.0], [0.0, 0.5, 1.0, 1.5, 2.0], [0.0] * 5),
        (-0.5, [0.0, 2.0], [0.0] * 5, [2.0, 1.5, 1.0, 0.5, 0.0]),
    ],
)
def test_rows_with_a_kink_on_either_edge(
    api: TestClient,
    m1: float,
    beta_range: list[float],
    low_row: list[float],
    high_row: list[float],
) -> None:
    D1, D2 = [[0.0], [m1]], [[0.0], [1.0]]
    body = slice_2d(
        api,
        {
            "dataset": {"X": X, "y": Y},
            "W": W,
            "directions": [D1, D2],
            "range": [0.0, 4.0],
            "beta_range": beta_range,
        },
    )
    alphas, betas = np.array(body["alphas"]), np.array(body["betas"])
    assert alphas.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    grid = np.array(body["losses"])
    expected = hinge_grid(W, D1, D2, alphas, betas, "ww")
    np.testing.assert_allclose(grid, expected, rtol=0, atol=1e-12)
    # the rows whose kink sits on an edge, as worked out above
    edge_rows = {float(b): row for b, row in zip(betas, grid.tolist(), strict=True)}
    kink_on_low_edge = 0.0  # b = 0 puts the kink at a = 0 for either slope
    kink_on_high_edge = -2.0 if m1 > 0 else 2.0  # b + m1*4 = 0
    assert edge_rows[kink_on_low_edge] == pytest.approx(low_row, abs=1e-12)
    assert edge_rows[kink_on_high_edge] == pytest.approx(high_row, abs=1e-12)


def test_structured_rows_with_three_lines_meeting_on_the_low_edge(api: TestClient) -> None:
    # Three classes, W = [[0], [-1], [-1]]: both wrong-class margins are 0 at W. Along a they
    # grow by 1/2 and 1/4, along b both by 1: L = max(0, b + a/2, b + a/4). At b = 0 the three
    # lines meet at a = 0, the low edge: values 0, 0.5, 1, 1.5, 2.
    W3, D1, D2 = [[0.0], [-1.0], [-1.0]], [[0.0], [0.5], [0.25]], [[0.0], [1.0], [1.0]]
    body = slice_2d(
        api,
        {
            "dataset": {"X": X, "y": Y, "c": 3},
            "W": W3,
            "variant": "structured",
            "directions": [D1, D2],
            "range": [0.0, 4.0],
            "beta_range": [-2.0, 0.0],
        },
    )
    grid = np.array(body["losses"])
    expected = hinge_grid(W3, D1, D2, np.array(body["alphas"]), np.array(body["betas"]), "s")
    np.testing.assert_allclose(grid, expected, rtol=0, atol=1e-12)
    assert grid[-1].tolist() == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0], abs=1e-12)


@pytest.mark.parametrize(
    ("m1", "losses", "left", "right"),
    [
        (0.5, [0.0, 0.5, 1.0, 1.5, 2.0], 0.0, 0.5),  # W sits on the kink: slopes 0 then 1/2
        (-0.5, [0.0] * 5, -0.5, 0.0),  # slopes -1/2 then 0
    ],
)
def test_a_1d_slice_starting_on_a_kink(
    api: TestClient, m1: float, losses: list[float], left: float, right: float
) -> None:
    response = api.post(
        URL,
        json={
            "dataset": {"X": X, "y": Y},
            "W": W,
            "direction": [[0.0], [m1]],
            "range": [0.0, 4.0],
            "steps": 5,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["losses"] == pytest.approx(losses, abs=1e-12)
    # the one-sided slopes at W (a = 0): the hinge's argument moves by m1 per unit of a
    assert body["subgradient"] == {"interval": [left, right], "left": left, "right": right}
