"""The plane of a descent path (app/landscape/plane.py), the 2-D slice taken in it, and the run's notes.

Every expected number is computed here on its own: the principal directions from the
eigenvectors of MᵀM (not the SVD the module uses), gradient descent from the Weston-Watkins
hinge written out below, and each grid loss from that formula at W0 + a·D1 + b·D2.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.core.limits import Limits
from app.landscape import cost
from app.landscape.cost import Sizes
from app.landscape.jobs import compute_slice
from app.landscape.plane import path_plane
from app.main import app
from app.schemas.landscape import SliceRequest

URL = "/api/v1/landscape"

# The notes' 1-D data (cs231n-1d): three points, one per class.
X = np.array([[1.0], [-2.0], [0.5]])
Y = np.array([0, 1, 2])
W0 = np.array([[-1.0], [0.7], [0.4]])


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def ww_loss_and_grad(W: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """L = (1/N) Σ_i Σ_{j≠y_i} max(0, s_j - s_y + 1); an active term adds x_i to dW[j] and takes
    it from dW[y_i]."""
    total, grad = 0.0, np.zeros_like(W)
    for x, y in zip(X, Y, strict=True):
        scores = W @ x
        for j in range(W.shape[0]):
            margin = scores[j] - scores[y] + 1
            if j != y and margin > 0:
                total += margin
                grad[j] += x
                grad[y] -= x
    return total / len(Y), grad / len(Y)


def descend(W: np.ndarray, step_size: float, steps: int) -> tuple[list[np.ndarray], list[float]]:
    path, losses = [W], [ww_loss_and_grad(W, X, Y)[0]]
    for _ in range(steps):
        W = W - step_size * ww_loss_and_grad(W, X, Y)[1]
        path.append(W)
        losses.append(ww_loss_and_grad(W, X, Y)[0])
    return path, losses


def principal_plane(
    start: np.ndarray, points: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(eigenvalues, largest first; unit directions as rows; each point's (a, b); distances off
    the plane) from the eigen-decomposition of MᵀM, M's rows the displacements from the start;
    signs so the last point is on the positive side."""
    M = np.stack([p.ravel() - start.ravel() for p in points])
    values, vectors = np.linalg.eigh(M.T @ M)
    order = np.argsort(values)[::-1]
    values, top = values[order], vectors[:, order[:2]].T
    top *= np.where(top @ M[-1] < 0, -1.0, 1.0)[:, None]
    coords = M @ top.T
    off = np.linalg.norm(M - coords @ top, axis=1)
    return values, top, coords, off


# ---------------------------------------------------------------- the plane itself


def test_a_path_inside_a_known_plane_is_held_whole() -> None:
    rng = np.random.default_rng(3)
    start = rng.standard_normal((3, 4))
    u, v = rng.standard_normal((2, 3, 4))
    points = [start + a * u + b * v for a, b in rng.uniform(-2, 2, (25, 2))]
    plane = path_plane(start, points)
    assert sum(plane.explained) == pytest.approx(1.0, abs=1e-12)
    assert plane.max_off_plane == pytest.approx(0.0, abs=1e-12)
    # the plane is span(u, v): each of D1, D2 is a combination of u and v, and they are
    # orthogonal and both `scale` long
    basis = np.stack([u.ravel(), v.ravel()]).T
    for D in (plane.D1, plane.D2):
        coef, *_ = np.linalg.lstsq(basis, D.ravel(), rcond=None)
        assert np.linalg.norm(basis @ coef - D.ravel()) == pytest.approx(0.0, abs=1e-10)
        assert np.linalg.norm(D) == pytest.approx(plane.scale, rel=1e-12)
    assert float(np.sum(plane.D1 * plane.D2)) == pytest.approx(0.0, abs=1e-10)


def test_a_random_3d_path_keeps_the_share_of_its_two_largest_eigenvalues() -> None:
    rng = np.random.default_rng(7)
    start = rng.standard_normal((3, 1))
    points = [start + rng.standard_normal((3, 1)) * [[3.0], [1.0], [0.4]] for _ in range(40)]
    values, top, coords, off = principal_plane(start, points)
    plane = path_plane(start, points)
    assert plane.explained == pytest.approx(tuple(values[:2] / values.sum()), rel=1e-10)
    assert 0.0 < plane.explained[1] < plane.explained[0] < 1.0
    # the largest distance off the plane is the largest component along the third eigenvector
    assert plane.max_off_plane == pytest.approx(off.max(), rel=1e-10)
    # D1, D2 are the eigenvectors scaled to the path's furthest reach along either
    assert plane.scale == pytest.approx(np.abs(coords).max(), rel=1e-10)
    assert plane.D1.ravel() == pytest.approx(plane.scale * top[0], abs=1e-10)
    assert plane.D2.ravel() == pytest.approx(plane.scale * top[1], abs=1e-10)


def test_a_path_along_one_line_or_none_still_gets_a_plane() -> None:
    start = np.array([[1.0, 2.0], [3.0, 4.0]])
    line = path_plane(start, [start + t * np.array([[1.0, 0], [0, 0]]) for t in range(5)])
    assert line.explained == pytest.approx((1.0, 0.0), abs=1e-12)
    assert line.scale == pytest.approx(4.0)  # the last point is 4 away along the line
    assert list(line.D1.ravel()) == pytest.approx([4.0, 0.0, 0.0, 0.0])
    assert float(np.sum(line.D1 * line.D2)) == pytest.approx(0.0, abs=1e-12)
    assert np.linalg.norm(line.D2) == pytest.approx(4.0)
    still = path_plane(start, [start, start.copy()])
    assert still.explained == (0.0, 0.0) and still.max_off_plane == 0.0 and still.scale == 1.0
    assert np.linalg.norm(still.D1) == pytest.approx(1.0)


def test_directions_the_path_does_not_decide_are_the_furthest_weight_axes() -> None:
    """Worked by hand from path_plane's rules: an undecided direction is the weight axis whose
    squared components along the directions taken sum least (the first of equals), made
    orthogonal to them; a coordinate of 0 for the last point gives the largest weight a + sign."""
    start = np.zeros((2, 2))

    def plane_of(*moves: list[float]) -> tuple[np.ndarray, np.ndarray, float]:
        plane = path_plane(start, [start + np.reshape(m, (2, 2)) for m in moves])
        return plane.D1.ravel(), plane.D2.ravel(), plane.scale

    # along (1, 2, 0, 0), 3 steps: D1 is (1, 2)/sqrt(5) at the reach 3*sqrt(5); its squared
    # components (1/5, 4/5, 0, 0) leave axis 2 (not 3: the first of equals) for D2
    D1, D2, scale = plane_of([1, 2, 0, 0], [2, 4, 0, 0], [3, 6, 0, 0])
    assert scale == pytest.approx(3 * np.sqrt(5))
    assert list(D1) == pytest.approx([3, 6, 0, 0])
    assert list(D2) == pytest.approx([0, 0, 3 * np.sqrt(5), 0], abs=1e-12)
    # along axis 0: D2 is axis 1, the first axis with no part along D1
    D1, D2, scale = plane_of([1, 0, 0, 0], [4, 0, 0, 0])
    assert (list(D1), list(D2), scale) == ([4, 0, 0, 0], [0, 4, 0, 0], 4.0)
    # never moved: axes 0 and 1, unit length
    D1, D2, scale = plane_of([0, 0, 0, 0], [0, 0, 0, 0])
    assert (list(D1), list(D2), scale) == ([1, 0, 0, 0], [0, 1, 0, 0], 1.0)
    # out along -axis 1 and back: the last point is at 0 on D1, so D1's largest weight is +
    # (+axis 1) and the first point is at a = -3 / 3 = -1
    D1, D2, scale = plane_of([0, -3, 0, 0], [0, 0, 0, 0])
    assert (list(D1), list(D2), scale) == ([0, 3, 0, 0], [3, 0, 0, 0], 3.0)
    # out along (-2, -1) and back: D1 = (2, 1)/sqrt(5), its largest weight (2) made +; D2 is
    # axis 2 (squared components 4/5, 1/5, 0, 0)
    D1, D2, scale = plane_of([-2, -1, 0, 0], [0, 0, 0, 0])
    assert scale == pytest.approx(np.sqrt(5))
    assert list(D1) == pytest.approx([2, 1, 0, 0])
    assert list(D2) == pytest.approx([0, 0, np.sqrt(5), 0], abs=1e-12)
    # along (1, 1, 1, 1): every axis is as near to D1 = (1, 1, 1, 1)/2 (1/4 each), so axis 0,
    # minus its part along D1: (1, 0, 0, 0) - (1/2)(1/2)(1, 1, 1, 1) = (3, -1, -1, -1)/4, of
    # length sqrt(12)/4, made unit; the reach is |(2, 2, 2, 2)| = 4
    D1, D2, scale = plane_of([1, 1, 1, 1], [2, 2, 2, 2])
    assert scale == pytest.approx(4.0)
    assert list(D1) == pytest.approx([2, 2, 2, 2])
    assert list(D2) == pytest.approx([4 * v / np.sqrt(12) for v in (3, -1, -1, -1)])
    # a tiny path along -axis 1: its last coordinate, 2e-13 from 0, is movement (the rounding
    # level is relative to the path's largest move, 1e-12 * 2e-13), so D1 points along it
    D1, D2, scale = plane_of([0, -1e-13, 0, 0], [0, -2e-13, 0, 0])
    assert scale == pytest.approx(2e-13)
    assert list(D1) == pytest.approx([0, -2e-13, 0, 0], abs=1e-30)
    assert list(D2) == pytest.approx([2e-13, 0, 0, 0], abs=1e-30)


def test_a_w_of_two_weights_is_its_own_plane() -> None:
    # moves (0, 0), (3, 0), (3, 4): M^T M = [[18, 12], [12, 16]], eigenvalues 17 ± sqrt(145)
    start = np.array([[1.0], [2.0]])
    points = [start, start + [[3.0], [0.0]], start + [[3.0], [4.0]]]
    values, top, coords, off = principal_plane(start, points)
    assert values == pytest.approx([17 + 145**0.5, 17 - 145**0.5], rel=1e-12)
    plane = path_plane(start, points)
    assert plane.explained == pytest.approx(tuple(values / 34.0), rel=1e-12)
    assert plane.max_off_plane == pytest.approx(0.0, abs=1e-12)
    assert plane.scale == pytest.approx(np.abs(coords).max(), rel=1e-12)
    assert plane.D1.ravel() == pytest.approx(plane.scale * top[0], abs=1e-12)
    assert plane.D2.ravel() == pytest.approx(plane.scale * top[1], abs=1e-12)


def test_the_planes_memory_grows_with_the_weights_not_their_square() -> None:
    # 3 points of 2 x 1000 weights: the cost model holds 4 x points x weights floats for the
    # path and its SVD; a weights x weights factor would be 8 MB x 4 = 32 MB
    rng = np.random.default_rng(0)
    start = rng.standard_normal((2, 1000))
    points = [start + rng.standard_normal((2, 1000)) for _ in range(3)]
    tracemalloc.start()
    try:
        path_plane(start, points)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= cost.path_plane_cost(Sizes(1, 1000, 2), 2).memory_bytes < 2_000_000


# ---------------------------------------------------------------- the 2-D slice in the plane


def path_slice(**changes: Any) -> dict[str, Any]:
    return {
        "dataset": {"name": "cs231n-1d"},
        "W": W0.tolist(),
        "dims": 2,
        "plane": "path",
        "path": {"strategy": "gd", "steps": 50, "step_size": 0.1},
        "range": [-1.5, 1.5],
        "samples": 7,
        **changes,
    }


def check_gd_path_slice(
    answer: dict[str, Any], step_size: float, steps: int, grid: bool = True
) -> None:
    points, losses = descend(W0, step_size, steps)
    values, top, coords, off = principal_plane(W0, points)
    scale = np.abs(coords).max()
    # the Weston-Watkins gradient of each example sums to zero over the classes, so GD on
    # 1-D data never changes sum(W): the path lies in a plane, and the plane of the path is it
    assert values[2] / values.sum() < 1e-15
    summary = answer["path_plane"]
    assert sorted(summary) == ["captured", "explained", "max_off_plane", "scale"]
    assert summary["explained"] == pytest.approx(list(values[:2] / values.sum()), rel=1e-9)
    assert summary["captured"] == pytest.approx(1.0, abs=1e-12)
    assert summary["max_off_plane"] == pytest.approx(0.0, abs=1e-12)
    assert summary["scale"] == pytest.approx(scale, rel=1e-12)
    run = answer["path"]
    assert run["losses"] == pytest.approx(losses, rel=1e-12)
    assert run["final_loss"] == run["losses"][-1] and run["steps_taken"] == steps
    assert run["notes"] == []  # full-batch GD: nothing its numbers do not say
    assert sorted(run["path"]) == ["alphas", "betas", "off_plane"]
    alphas, betas = run["path"]["alphas"], run["path"]["betas"]
    assert alphas == pytest.approx(list(coords[:, 0] / scale), abs=1e-12)
    assert betas == pytest.approx(list(coords[:, 1] / scale), abs=1e-12)
    # the path's furthest reach is 1 (D1 and D2 have its length), and it ends at a, b >= 0
    assert max(np.abs(alphas).max(), np.abs(betas).max()) == pytest.approx(1.0, rel=1e-12)
    assert alphas[-1] >= 0 and betas[-1] >= 0
    assert max(run["path"]["off_plane"]) == pytest.approx(off.max(), abs=1e-12)
    if not grid:  # a path along one line: its second direction is a weight axis (tested above)
        return
    # every grid point's loss is the hinge formula at W0 + a·D1 + b·D2
    D1, D2 = (scale * d.reshape(W0.shape) for d in top)
    for row, b in zip(answer["losses"], answer["betas"], strict=True):
        for loss, a in zip(row, answer["alphas"], strict=True):
            assert loss == pytest.approx(ww_loss_and_grad(W0 + a * D1 + b * D2, X, Y)[0])


def test_the_slice_is_taken_in_the_plane_of_the_gd_path(client: TestClient) -> None:
    check_gd_path_slice(client.post(f"{URL}/slice", json=path_slice()).json(), 0.1, 50)


@pytest.mark.parametrize(("step_size", "steps"), [(0.1, 50), (0.05, 3)])
def test_the_slice_job_in_the_plane_of_the_path(step_size: float, steps: int) -> None:
    # The job itself, in this process (the route sends a path's slice to a job process); the
    # short run reaches less than 1 from W, so its plane is scaled up to the path's reach.
    path = {"strategy": "gd", "steps": steps, "step_size": step_size}
    request = SliceRequest.model_validate(path_slice(path=path))
    answer = json.loads(json.dumps(compute_slice(request, Limits()), default=list))
    check_gd_path_slice(answer, step_size, steps, grid=steps > 3)
    if steps == 3:
        assert answer["path_plane"]["scale"] < 0.5
    else:  # the long run turns: "captured" must add both directions' shares
        assert answer["path_plane"]["explained"][1] > 1e-3


def test_the_path_of_a_minibatch_momentum_run_uses_its_seed_and_momentum() -> None:
    # minibatches of 2 of the 3 examples drawn by numpy's generator from optimizer_seed 7, and
    # momentum 0.5 (not the default 0.9), each step written out by hand
    seed, mu, lr, steps = 7, 0.5, 0.3, 12
    path = {
        "strategy": "momentum",
        "steps": steps,
        "step_size": lr,
        "batch_size": 2,
        "optimizer_seed": seed,
        "momentum": mu,
    }
    answer = compute_slice(SliceRequest.model_validate(path_slice(path=path)), Limits())
    rng = np.random.default_rng(seed)
    W, v = W0.copy(), np.zeros_like(W0)
    losses, batch_losses = [ww_loss_and_grad(W, X, Y)[0]], []
    for _ in range(steps):
        pick = rng.choice(3, size=2, replace=False)
        batch_loss, grad = ww_loss_and_grad(W, X[pick], Y[pick])
        v = mu * v - lr * grad
        W = W + v
        losses.append(ww_loss_and_grad(W, X, Y)[0])
        batch_losses.append(batch_loss)
    run = answer["path"]
    assert run["losses"] == pytest.approx(losses, rel=1e-12, abs=1e-15)
    assert run["batch_losses"] == pytest.approx(batch_losses, rel=1e-12, abs=1e-15)
    assert len(run["path"]["alphas"]) == steps + 1


def test_a_plane_needs_two_weights() -> None:
    # the route refuses such a W first (a 422); the function itself says why as well
    with pytest.raises(ValueError, match="^a plane needs W with at least two weights$"):
        path_plane(np.zeros((1, 1)), [np.ones((1, 1))])


def test_a_path_planes_cost_counted_by_hand() -> None:
    # toy-2d: N = 9, D = 3, C = 3, so 9 weights. A run of `steps` keeps steps + 1 points: the
    # answer gets 6 numbers per point; held at once are the kept W's, their stacked copy and
    # the SVD's workspace and factors (4 x points x weights), X and the loss's N x C
    # temporaries; the SVD costs about 20 x points x weights x min(points + 2, weights)
    sizes = Sizes(9, 3, 3)
    for steps, smaller in ((3, 3 + 1 + 2), (10, 9)):  # points + 2 < 9 weights, then not
        points = steps + 1
        expected = cost._cost(
            6 * points,
            4 * points * 9 + 9 * 3 + 6 * 9 * 3,
            20 * points * 9 * smaller + 10 * points * 9,
        )
        assert cost.path_plane_cost(sizes, steps) == expected


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"path": None}, "path"),
        ({"plane": "directions"}, "path"),
        ({"directions": ["random", "random"]}, "directions"),
        ({"axes": [[0, 0], [1, 0]]}, "axes"),
        ({"dims": 1, "range": [-1, 1]}, "plane"),
        ({"path": {"strategy": "gd", "steps": 5, "step": 0.1}}, "step"),
    ],
)
def test_a_plane_of_the_path_asked_wrongly_is_a_422_naming_the_field(
    client: TestClient, changes: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in path_slice(**changes).items() if v is not None}
    response = client.post(f"{URL}/slice", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"][0]["loc"]


def test_the_run_is_counted_before_any_work(client: TestClient) -> None:
    too_many = path_slice(path={"strategy": "gd", "steps": 2001})
    detail = client.post(f"{URL}/slice", json=too_many).json()["detail"][0]
    assert detail["setting"] == "max_optimize_steps" and detail["loc"] == ["body", "path", "steps"]
    # cifar-shaped W has 10 x 3073 weights: 2000 kept W's are about 490 MB before the SVD
    cifar = path_slice(dataset={"name": "cifar-shaped", "n": 10}, W=None)
    cifar["path"] = {"strategy": "gd", "steps": 2000}
    body = {k: v for k, v in cifar.items() if v is not None}
    response = client.post(f"{URL}/slice", json=body)
    assert response.status_code == 413
    assert response.json()["detail"][0]["setting"] == "max_memory_bytes"
    assert response.json()["detail"][0]["got"] > 2000 * 30730 * 8


def test_a_plane_too_far_for_float64_is_a_422_not_a_500(client: TestClient) -> None:
    """With reg 1e6 and step 1e6 each GD step multiplies W by about 1 - 2e12, so the run
    diverges and its last finite W is around 1e145: the plane's a = 1 is that far, and the
    loss reg·|W|² over a range of ±1e6 of it is past float64's 1.8e308."""
    body = path_slice(
        reg=1e6, range=[-1e6, 1e6], path={"strategy": "gd", "steps": 200, "step_size": 1e6}
    )
    response = client.post(f"{URL}/slice", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "path", "step_size"] and "overflows" in detail["msg"]


def test_the_predicted_answer_and_memory_bound_the_measured_ones() -> None:
    request = SliceRequest.model_validate(
        {
            "dataset": {"name": "blobs", "n": 200, "d": 60, "c": 10},
            "dims": 2,
            "plane": "path",
            "path": {"strategy": "sgd", "steps": 300, "step_size": 0.01, "batch_size": 20},
            "samples": 21,
        }
    )
    limits = Limits()
    sizes = Sizes(200, 60, 10)
    grid = cost.slice_2d_cost(sizes, 21, "svm", "ww")
    plane = cost.path_plane_cost(sizes, 300)
    tracemalloc.start()
    try:
        size = len(json.dumps(compute_slice(request, limits), separators=(",", ":")).encode())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    predicted_bytes = grid.answer_bytes + plane.answer_bytes
    predicted_memory = grid.memory_bytes + plane.memory_bytes
    assert size <= predicted_bytes <= 3 * size, (size, predicted_bytes)
    assert peak <= predicted_memory <= 4 * peak, (peak, predicted_memory)


# ---------------------------------------------------------------- what the run's numbers do not say


def test_sgd_with_a_batch_of_n_or_more_says_it_is_gradient_descent(client: TestClient) -> None:
    body = {"dataset": {"name": "cs231n-1d"}, "W": W0.tolist(), "steps": 20, "step_size": 0.1}
    sgd = client.post(f"{URL}/optimize", json={**body, "strategy": "sgd", "batch_size": 8}).json()
    assert sgd["notes"] == [
        "batch 8 ≥ N = 3: every minibatch is all 3 examples, so this SGD is plain gradient descent"
    ]
    # and it is: the same losses as gradient descent worked out here
    assert sgd["losses"] == pytest.approx(descend(W0, 0.1, 20)[1], rel=1e-12)
    smaller = client.post(f"{URL}/optimize", json={**body, "strategy": "sgd", "batch_size": 2})
    assert smaller.json()["notes"] == []
    assert client.post(f"{URL}/optimize", json={**body, "strategy": "gd"}).json()["notes"] == []


def test_the_step_size_field_says_what_it_scales_for_random_search(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()["components"]["schemas"]
    text = spec["OptimizeRequest"]["properties"]["step_size"]["description"]
    assert "scale (standard deviation) of each random W" in text
    assert "scale of each random step" in text
    assert "learning rate" in text


# ---------------------------------------------------------------- W moved onto a kink (1-D)


def subgradient_by_hand(W: list[Fraction]) -> tuple[int, Fraction, Fraction]:
    """The notes' data, W[0, 0] moved by a: how many hinge terms are exactly at their kink at W
    (in exact decimals), and the loss's left and right slopes there."""
    slopes = {"left": Fraction(0), "right": Fraction(0)}
    at_kink = 0
    for x, y in zip(X[:, 0].tolist(), Y.tolist(), strict=True):
        for j in range(3):
            if j == y:
                continue
            m0 = (W[j] - W[y]) * Fraction(x) + 1  # the term's argument at W
            m1 = Fraction(x) * ((j == 0) - (y == 0))  # how fast it moves with W[0, 0]
            at_kink += m0 == 0 and m1 != 0
            for side, sign in (("left", -1), ("right", 1)):
                if m0 > 0 or (m0 == 0 and sign * m1 > 0):
                    slopes[side] += m1 / len(Y)
    return at_kink, slopes["left"], slopes["right"]


def test_w_moved_onto_a_kink_up_to_rounding_gets_the_kinks_interval(client: TestClient) -> None:
    """The page moves W onto a kink by adding the kink's a to W[0, 0]: 0.02 + 1.38 is 1.4 in
    floats, where example 1's hinge s_0 - s_1 + 1 = -2·1.4 + 2·0.9 + 1 is 0 in exact decimals
    but not in floats, so a = 0 falls a rounding error beside the kink."""
    W = [Fraction("1.4"), Fraction("0.9"), Fraction("-0.71")]
    assert subgradient_by_hand(W) == (1, Fraction(-5, 6), Fraction(-1, 6))
    assert 0.02 + 1.38 == 1.4 and -2 * 1.4 + 2 * 0.9 + 1 != 0  # the rounding, in floats
    body = {
        "dataset": {"name": "cs231n-1d"},
        "W": [[1.4], [0.9], [-0.71]],
        "direction": "axis",
        "axis": [0, 0],
        "range": [-2, 2],
        "samples": 5,
    }
    answer = client.post(f"{URL}/slice", json=body).json()
    assert answer["subgradient"]["interval"] == pytest.approx([-5 / 6, -1 / 6], rel=1e-12)


@pytest.mark.parametrize("weights", [("1.55", "0.55", "3.55"), ("1.4", "0.4", "3.4")])
def test_w_on_a_kink_where_two_terms_meet_gets_the_whole_kinks_interval(
    client: TestClient, weights: tuple[str, str, str]
) -> None:
    """W[2] = W[1] + 3 puts example 0's hinge s_1 - s_0 + 1 = W1 - W0 + 1 - a and example 2's
    s_0 - s_2 + 1 = 0.5·(W0 + a) - 0.5·W2 + 1 at their kinks together, at a = 0 when
    W0 = W1 + 1. In floats the two kinks fall a rounding error apart, on both sides of a = 0 or
    one on it; both are at W, so the interval runs from the slope left of both to the slope
    right of both, the same as the merged kink's in the same answer."""
    W = [Fraction(w) for w in weights]
    assert subgradient_by_hand(W) == (2, Fraction(-2, 3), Fraction(-1, 6))
    body = {
        "dataset": {"name": "cs231n-1d"},
        "W": [[float(w)] for w in weights],
        "direction": "axis",
        "axis": [0, 0],
        "range": [-2, 2],
        "samples": 5,
    }
    answer = client.post(f"{URL}/slice", json=body).json()
    assert answer["subgradient"]["interval"] == pytest.approx([-2 / 3, -1 / 6], rel=1e-12)
    (kink,) = (k for k in answer["kinks"] if abs(k["alpha"]) < 1e-12)
    assert [kink["slope_left"], kink["slope_right"]] == pytest.approx([-2 / 3, -1 / 6], rel=1e-12)


def test_the_slice_jobs_errors_and_dims() -> None:
    # The job itself, in this process: a 2-D slice's beta_range, and a path so long its plane's
    # grid overflows (reg 1e6 and step size 1e6: gradient descent diverges and stops at its last
    # finite point, 5.26e147 from W; over a range of ±10,000 the L2 term passes 1e308)
    from app.core.errors import ProblemError

    def problems(body: dict[str, Any]) -> list[tuple[str, tuple[object, ...]]]:
        with pytest.raises(ProblemError) as error:
            compute_slice(SliceRequest.model_validate(body), Limits())
        return [(p.msg, p.loc) for p in error.value.problems]

    flat = {"dataset": {"name": "cs231n-1d"}, "dims": 2, "steps": 5}
    assert problems({**flat, "beta_range": [1.0, 0.0]}) == [
        ("range must have lo < hi, got [1.0, 0.0]", ("body", "beta_range"))
    ]
    diverging = path_slice(
        reg=1e6, range=[-10_000, 10_000], path={"strategy": "gd", "steps": 200, "step_size": 1e6}
    )
    with np.errstate(over="ignore"):
        found = problems(diverging)
    assert found == [
        (
            "the path reaches 5.26e+147 from W, and the loss over this range of its plane "
            "overflows: use a smaller step size or range",
            ("body", "path", "step_size"),
        )
    ]
    assert compute_slice(SliceRequest.model_validate(flat), Limits())["dims"] == 2
    one = {"dataset": {"name": "cs231n-1d"}, "dims": 1, "steps": 5}
    assert compute_slice(SliceRequest.model_validate(one), Limits())["dims"] == 1
    assert compute_slice(SliceRequest.model_validate(path_slice()), Limits())["dims"] == 2
