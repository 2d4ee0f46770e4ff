"""POST /api/v1/landscape/numerical-gradient: the error of finite differences against h, checked against numpy here.

The loss, its analytic gradient and the differences are computed in the test from the softmax
and hinge formulas, each nudged W built whole (not by moving one score column as the module
does), so agreement is not the module agreeing with itself.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.core.limits import Limits
from app.landscape import cost
from app.landscape.cost import Sizes
from app.landscape.jobs import compute_numerical_gradient
from app.main import app
from app.schemas.landscape import NumericalGradientRequest

URL = "/api/v1/landscape/numerical-gradient"
X = np.array([[1.0], [-2.0], [0.5]])  # cs231n-1d
Y = np.array([0, 1, 2])
W = np.array([[0.3], [-0.2], [0.6]])
REG = 0.1

Loss = Callable[[np.ndarray], float]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def softmax_loss(W: np.ndarray) -> float:
    scores = X @ W.T
    logsumexp = np.log(np.exp(scores).sum(axis=1))
    return float(np.mean(logsumexp - scores[np.arange(3), Y]) + REG * np.sum(W * W))


def softmax_grad(W: np.ndarray) -> np.ndarray:
    scores = X @ W.T
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    p[np.arange(3), Y] -= 1
    return p.T @ X / 3 + 2 * REG * W


def hinge_loss(W: np.ndarray) -> float:
    scores = X @ W.T
    margins = scores - scores[np.arange(3), Y][:, None] + 1
    margins[np.arange(3), Y] = 0
    return float(np.maximum(margins, 0).sum() / 3)


def worst_errors(loss: Loss, grad: np.ndarray, h: float, W: np.ndarray = W) -> tuple[float, float]:
    """max over the weights of |a - n| / (|a| + |n|), centred and forward."""
    centred, forward = [], []
    for c in range(W.shape[0]):
        E = np.zeros_like(W)
        E[c, 0] = h
        for out, numeric in (
            (centred, (loss(W + E) - loss(W - E)) / (2 * h)),
            (forward, (loss(W + E) - loss(W)) / h),
        ):
            a = grad[c, 0]
            out.append(abs(a - numeric) / max(abs(a) + abs(numeric), 1e-12))
    return max(centred), max(forward)


def ask(client: TestClient, **body: object) -> dict[str, object]:
    request = {"dataset": {"name": "cs231n-1d"}, "W": W.tolist(), **body}
    response = client.post(URL, json=request)
    assert response.status_code == 200, response.text
    return response.json()


def test_softmax_errors_follow_truncation_then_round_off(client: TestClient) -> None:
    answer = ask(client, loss="softmax", reg=REG, h_range=[1e-13, 1.0], samples=27)
    hs = np.array(answer["hs"])
    assert hs == pytest.approx(np.logspace(-13, 0, 27), rel=1e-12)
    assert answer["check_h"] == 1e-5 and answer["entries"] == 3 and not answer["sampled"]
    grad = softmax_grad(W)
    for h, centred, forward in zip(hs, answer["centred"], answer["forward"], strict=True):
        want_centred, want_forward = worst_errors(softmax_loss, grad, h)
        # where truncation rules, the error is the formula's to three digits; below, both
        # are round-off, the same size but not the same digits
        if h >= 1e-3:
            assert centred == pytest.approx(want_centred, rel=1e-3), h
        if h >= 1e-5:
            assert forward == pytest.approx(want_forward, rel=1e-3), h
        assert centred <= 100 * want_centred + 1e-15 and want_centred <= 100 * centred + 1e-15
    centred, forward = np.array(answer["centred"]), np.array(answer["forward"])
    # the V of the notes: the centred difference's best h is larger and its best error smaller
    best_centred, best_forward = hs[np.argmin(centred)], hs[np.argmin(forward)]
    assert 1e-7 <= best_centred <= 1e-3 and 1e-10 <= best_forward <= 1e-6
    assert centred.min() < forward.min() / 100
    # truncation: forward ~ h, centred ~ h² over two decades of large h
    assert forward[hs == 1e-2][0] / forward[hs == 1e-4][0] == pytest.approx(100, rel=0.05)
    assert centred[hs == 1e-1][0] / centred[hs == 1e-2][0] == pytest.approx(100, rel=0.05)


def test_the_hinge_has_no_truncation_until_h_reaches_a_kink(client: TestClient) -> None:
    # no component of dW is 0 here (one that is would read as relative error 1 at any h, its
    # round-off against an exact 0)
    at = np.array([[0.3], [-0.1], [2.0]])
    answer = ask(client, W=at.tolist(), h_range=[1e-8, 1.0], samples=10)
    # each hinge term s_j - s_y + 1 moves with weight c at the rate x_i·([j = c] - [y = c]):
    # the nearest kink along any one weight is the smallest |term| / |rate|
    scores = X @ at.T
    grad, distances = np.zeros_like(at), []
    for i in range(3):
        for j in range(3):
            if j == Y[i]:
                continue
            margin = scores[i, j] - scores[i, Y[i]] + 1
            if margin > 0:
                grad[j] += X[i] / 3
                grad[Y[i]] -= X[i] / 3
            for c in range(3):
                rate = X[i, 0] * (int(j == c) - int(Y[i] == c))
                if rate:
                    distances.append(abs(margin) / abs(rate))
    nearest = min(distances)
    assert nearest == pytest.approx(0.1)  # example 1's term j = 0: 0.2 away, moving at 2
    assert np.all(grad != 0)

    for h, centred, forward in zip(answer["hs"], answer["centred"], answer["forward"], strict=True):
        want_centred, want_forward = worst_errors(hinge_loss, grad, h, at)
        if h < nearest:  # a straight line: only round-off, however small h is
            assert centred < 1e-6 and forward < 1e-6, h
        else:  # past a kink the difference measures the other side's slope too
            assert centred == pytest.approx(want_centred, rel=1e-9), h
            assert forward == pytest.approx(want_forward, rel=1e-9), h
            assert max(centred, forward) > 0.01, h


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({"h_range": [0, 1]}, 422, "h_range"),
        ({"h_range": [1e-3, 1e-5]}, 422, "h_range"),
        # 1e-3 / 5e-324 is inf: a relative error of inf against inf would be NaN
        ({"h_range": [5e-324, 1.0]}, 422, "h_range"),
        ({"samples": 1}, 422, "samples"),
        ({"samples": 5_000_000}, 413, "samples"),
    ],
)
def test_bad_steps_are_refused_before_any_work(
    client: TestClient, body: dict[str, object], status: int, where: str
) -> None:
    response = client.post(URL, json={"dataset": {"name": "cs231n-1d"}, **body})
    assert response.status_code == status, response.text
    assert where in response.json()["detail"][0]["loc"]


def test_the_smallest_step_at_n_and_just_under_it(client: TestClient) -> None:
    # h = 1e-20 itself is the smallest step answered; the next double below it is refused
    answer = ask(client, h_range=[1e-20, 1e-3], samples=2)
    assert answer["hs"][0] == 1e-20  # type: ignore[index]
    below = float(np.nextafter(1e-20, 0.0))
    response = client.post(
        URL, json={"dataset": {"name": "cs231n-1d"}, "h_range": [below, 1e-3], "samples": 2}
    )
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "h_range"]
    assert problem["msg"] == f"h_range must have 1e-20 <= lo < hi, got [{below!r}, 0.001]"


def test_the_predicted_answer_and_memory_bound_the_measured_ones() -> None:
    request = NumericalGradientRequest.model_validate(
        {"dataset": {"name": "blobs", "n": 300, "d": 20, "c": 10}, "loss": "softmax"}
    )
    limits = Limits()
    predicted = cost.numerical_gradient_cost(Sizes(300, 20, 10), 37, limits)
    tracemalloc.start()
    try:
        answer = compute_numerical_gradient(request, limits)
        size = len(json.dumps(answer, separators=(",", ":")).encode())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer["entries"] == 200
    assert size <= predicted.answer_bytes <= 3 * size, (size, predicted.answer_bytes)
    assert peak <= predicted.memory_bytes <= 20 * peak, (peak, predicted.memory_bytes)


def test_the_gradient_check_takes_every_weight_up_to_its_limit_then_a_seeded_sample() -> None:
    # /loss's gradient check: central differences with h = 1e-5 on each weight, computed here
    # from the softmax written out above, each nudged W built whole
    from app.landscape.loss_kind import LossSpec
    from app.landscape.losses import gradcheck

    W4 = np.array([[0.3, -0.2], [-0.1, 0.4], [0.6, 0.05]])  # 6 weights: x gets a bias column
    Xb = np.hstack([X, np.ones((3, 1))])
    spec = LossSpec("softmax", "ww", 1.0, REG)

    def loss(Wt: np.ndarray) -> float:
        scores = Xb @ Wt.T
        logsumexp = np.log(np.exp(scores).sum(axis=1))
        return float(np.mean(logsumexp - scores[np.arange(3), Y]) + REG * np.sum(Wt * Wt))

    def by_hand(c: int, d: int) -> float:
        E = np.zeros_like(W4)
        E[c, d] = 1e-5
        return (loss(W4 + E) - loss(W4 - E)) / 2e-5

    analytic = np.arange(6.0).reshape(3, 2)  # any numbers: the check reports them as given
    every = gradcheck(W4, Xb, Y, spec, analytic, 6)  # 6 weights, limit 6: all of them
    assert every["h"] == 1e-5 and every["sampled"] is False
    assert every["entries"] == [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1]]
    assert every["analytic"] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    numeric = [by_hand(c, d) for c, d in every["entries"]]
    assert every["numeric"] == pytest.approx(numeric, rel=1e-7, abs=1e-9)
    assert np.asarray(every["numeric_grad_W"]).ravel().tolist() == every["numeric"]
    errors = [
        abs(a - n) / max(abs(a) + abs(n), 1e-12) for a, n in zip(range(6), numeric, strict=True)
    ]
    assert every["relative_errors"] == pytest.approx(errors, rel=1e-6)
    assert every["max_relative_error"] == max(every["relative_errors"])

    # limit 5: a sample of 5 distinct weights, numpy's seed-0 draw, in row-major order
    sample = gradcheck(W4, Xb, Y, spec, analytic, 5)
    flat = np.sort(np.random.default_rng(0).choice(6, size=5, replace=False))
    assert sample["sampled"] is True and sample["numeric_grad_W"] is None
    assert sample["entries"] == [[int(f) // 2, int(f) % 2] for f in flat]
    assert sample["analytic"] == [float(f) for f in flat]
    assert sample["numeric"] == pytest.approx(
        [by_hand(c, d) for c, d in sample["entries"]], rel=1e-7, abs=1e-9
    )
    three = gradcheck(W4, Xb, Y, spec, analytic, 3)  # and the same draw at another size
    flat = np.sort(np.random.default_rng(0).choice(6, size=3, replace=False))
    assert three["entries"] == [[int(f) // 2, int(f) % 2] for f in flat]


def test_the_gradient_check_on_data_big_enough_to_nudge_in_chunks() -> None:
    # N = 9,000 and C = 3: 131,072 // (9,000 × 3) = 4 nudged score matrices at a time, so the
    # 18 weights take 5 chunks; N ≠ C, so rows and classes cannot be mixed up unseen
    from app.landscape.loss_kind import LossSpec
    from app.landscape.losses import gradcheck

    rng = np.random.default_rng(3)
    n, d, c = 9_000, 6, 3
    Xn, yn, Wn = rng.normal(size=(n, d)), rng.integers(0, c, n), rng.normal(size=(c, d)) * 0.1

    def loss(Wt: np.ndarray) -> float:
        scores = Xn @ Wt.T
        top = scores.max(axis=1, keepdims=True)
        logsumexp = np.log(np.exp(scores - top).sum(axis=1)) + top[:, 0]
        return float(np.mean(logsumexp - scores[np.arange(n), yn]) + REG * np.sum(Wt * Wt))

    check = gradcheck(Wn, Xn, yn, LossSpec("softmax", "ww", 1.0, REG), np.zeros_like(Wn), 18)
    assert check["sampled"] is False and len(check["entries"]) == 18
    for (i, j), numeric in zip(check["entries"], check["numeric"], strict=True):
        E = np.zeros_like(Wn)
        E[i, j] = 1e-5
        assert numeric == pytest.approx((loss(Wn + E) - loss(Wn - E)) / 2e-5, rel=1e-6, abs=1e-9)
