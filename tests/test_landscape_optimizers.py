"""SGD with momentum and Adam: their first steps against the update rule written out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.core.limits import Limits
from app.landscape.jobs import compute_comparison, compute_optimizer_path
from app.landscape.losses import LossSpec, loss_of_weights
from app.landscape.optimize import OPTIMIZERS, Walk, path_notes
from app.schemas.landscape import CompareRequest, OptimizeRequest
from tests.settings_override import overridden_settings

# The notes' three 1-D points (the cs231n-1d dataset), each with its own class.
X = np.array([[1.0], [-2.0], [0.5]])
Y = np.array([0, 1, 2])
W0 = np.array([[0.3], [-0.1], [0.6]])
REG = 0.1
SPEC = LossSpec("svm", "ww", 1.0, REG)


def svm_by_hand(W: np.ndarray, rows: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Weston-Watkins SVM with delta 1 and L2 reg: the loss and dW, one example at a time,
    over `rows` (a minibatch; every example when None)."""
    rows = np.arange(len(Y)) if rows is None else rows
    loss, grad = 0.0, np.zeros_like(W)
    for x, label in zip(X[rows], Y[rows], strict=True):
        scores = W @ x
        for j in range(W.shape[0]):
            if j == label:
                continue
            margin = scores[j] - scores[label] + 1.0
            if margin > 0:
                loss += margin
                grad[j] += x
                grad[label] -= x
    n = len(rows)
    return loss / n + REG * float(np.sum(W * W)), grad / n + 2 * REG * W


def rule(name: str):  # noqa: ANN201 - the row's step function
    return next(row.run for row in OPTIMIZERS if row.name == name)


def walk(step_size: float, momentum: float = 0.9) -> Walk:
    # batch = N: every minibatch is all three points, so the step's gradient is the full dW
    return Walk(X, Y, SPEC, np.random.default_rng(0), step_size, len(Y), momentum)


def run(name: str, w: Walk, steps: int) -> list[np.ndarray]:
    W, loss = W0.copy(), svm_by_hand(W0)[0]
    seen = [W]
    step = rule(name)
    for _ in range(steps):
        W, loss, _, _ = step(W, loss, w)
        seen.append(W)
        assert loss == pytest.approx(svm_by_hand(W)[0], rel=1e-12)
    return seen


def test_the_hand_gradient_is_the_one_the_margins_give() -> None:
    # scores x * (0.3, -0.1, 0.6). x = 1 (class 0): margins 0.6 and 1.3; x = -2 (class 1):
    # 0.2 (j = 0) and -0.4; x = 0.5 (class 2): 0.85 and 0.65. Data loss 3.6 / 3 = 1.2, reg
    # 0.1 * (0.09 + 0.01 + 0.36) = 0.046. dW before / 3: row 0 gets -2 (x0 twice), -2 (x1
    # active against class 1) and +0.5; row 1: +1, +2, +0.5; row 2: +1, -1.
    loss, grad = svm_by_hand(W0)
    assert loss == pytest.approx(1.246, rel=1e-12)
    expected = np.array([[-3.5], [3.5], [0.0]]) / 3 + 2 * REG * W0
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)


def test_momentum_keeps_a_velocity_from_step_to_step() -> None:
    lr, mu = 0.05, 0.9
    seen = run("momentum", walk(lr, mu), 3)
    # v1 = -lr g(W0); W1 = W0 + v1; v2 = mu v1 - lr g(W1); W2 = W1 + v2; and so on
    v = np.zeros_like(W0)
    W = W0.copy()
    for k in range(3):
        v = mu * v - lr * svm_by_hand(W)[1]
        W = W + v
        np.testing.assert_allclose(seen[k + 1], W, rtol=1e-12, atol=1e-15)
    # with momentum 0 it is plain gradient descent, step for step
    plain = run("momentum", walk(lr, 0.0), 2)
    np.testing.assert_allclose(plain[1], W0 - lr * svm_by_hand(W0)[1], rtol=1e-12)
    np.testing.assert_allclose(plain[2], plain[1] - lr * svm_by_hand(plain[1])[1], rtol=1e-12)


def test_a_new_walk_starts_with_no_velocity() -> None:
    first = run("momentum", walk(0.05), 2)
    again = run("momentum", walk(0.05), 2)  # a second run must not inherit the first's v
    np.testing.assert_array_equal(first[2], again[2])


def test_adams_first_step_moves_every_weight_by_the_step_size() -> None:
    lr = 0.01
    seen = run("adam", walk(lr), 1)
    g = svm_by_hand(W0)[1]
    # t = 1: m = 0.1 g, v = 0.001 g^2, so m_hat = g and v_hat = g^2: each weight moves by
    # lr * g / (|g| + 1e-8), that is lr against the sign of its gradient
    np.testing.assert_allclose(seen[1], W0 - lr * g / (np.abs(g) + 1e-8), rtol=1e-12)
    assert np.all(np.abs(np.abs(seen[1] - W0) - lr) < 1e-9)


def test_adams_later_steps_follow_the_bias_corrected_moments() -> None:
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    seen = run("adam", walk(lr), 4)
    m = np.zeros_like(W0)
    v = np.zeros_like(W0)
    W = W0.copy()
    for t in range(1, 5):
        g = svm_by_hand(W)[1]
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        W = W - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(seen[t], W, rtol=1e-12, atol=1e-15)


def test_each_new_row_writes_its_rule_out_and_names_its_parameter() -> None:
    rows = {row.name: row for row in OPTIMIZERS}
    assert "v = μ·v − step_size·dL/dW" in rows["momentum"].description
    assert "momentum" in rows["momentum"].options
    assert "m̂ = m / (1 − 0.9^t)" in rows["adam"].description
    assert "W −= step_size · m̂ / (√v̂ + 1e-8)" in rows["adam"].description


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("sgd", "this SGD is plain gradient descent"),
        ("momentum", "this is full-batch gradient descent with momentum"),
        ("adam", "this is full-batch Adam"),
    ],
)
def test_a_minibatch_rule_with_batch_of_all_of_n_says_so(name: str, plain: str) -> None:
    assert path_notes(name, 8, 3) == [
        f"batch 8 ≥ N = 3: every minibatch is all 3 examples, so {plain}"
    ]
    # exactly N is still all of it; N - 1 is a real minibatch, with nothing to say
    assert path_notes(name, 3, 3) == [
        f"batch 3 ≥ N = 3: every minibatch is all 3 examples, so {plain}"
    ]
    assert path_notes(name, 2, 3) == []


@pytest.mark.parametrize("name", ["gd", "random_search", "random_local_search"])
def test_rules_without_minibatches_have_no_batch_note(name: str) -> None:
    assert path_notes(name, 8, 3) == []


def test_the_api_runs_momentum_with_the_requests_mu(client: TestClient) -> None:
    body = {
        "dataset": {"name": "cs231n-1d"},
        "W": W0.tolist(),
        "reg": REG,
        "strategy": "momentum",
        "momentum": 0.5,
        "step_size": 0.05,
        "steps": 3,
        "batch_size": 8,
    }
    answer = client.post("/api/v1/landscape/optimize", json=body).json()
    v, W, expected = np.zeros_like(W0), W0.copy(), [svm_by_hand(W0)[0]]
    for _ in range(3):
        v = 0.5 * v - 0.05 * svm_by_hand(W)[1]
        W = W + v
        expected.append(svm_by_hand(W)[0])
    assert answer["losses"] == pytest.approx(expected, rel=1e-12)
    assert answer["notes"] == [
        "batch 8 ≥ N = 3: every minibatch is all 3 examples, so this is full-batch gradient "
        "descent with momentum"
    ]


@pytest.mark.parametrize("mu", [1.0, -0.1])
def test_a_momentum_outside_0_to_1_is_a_422_naming_it(client: TestClient, mu: float) -> None:
    body = {"dataset": {"name": "cs231n-1d"}, "strategy": "momentum", "momentum": mu}
    answer = client.post("/api/v1/landscape/optimize", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "momentum"


COMPARE = "/api/v1/landscape/compare"


def gd_losses_by_hand(step_size: float, steps: int) -> tuple[list[float], bool]:
    """Plain gradient descent with svm_by_hand, stopping at the first non-finite loss or W."""
    W, losses = W0.copy(), [svm_by_hand(W0)[0]]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            W = W - step_size * svm_by_hand(W)[1]
            loss = svm_by_hand(W)[0]
            if not (np.isfinite(loss) and np.isfinite(W).all()):
                return losses, True
            losses.append(loss)
    return losses, False


def test_compare_runs_every_step_size_from_the_same_start(client: TestClient) -> None:
    # reg 0.1: each step scales W by (1 - 0.2 * step_size) besides the bounded hinge part, so
    # step size 2000 multiplies W by about 400 a step and overflows W² within 60 steps
    sizes = [0.01, 0.1, 1.0, 2000.0]
    body = {
        "dataset": {"name": "cs231n-1d"},
        "W": W0.tolist(),
        "reg": REG,
        "strategies": ["gd"],
        "step_sizes": sizes,
        "steps": 60,
    }
    response = client.post(COMPARE, json=body)
    assert response.status_code == 200, response.text
    runs = response.json()["runs"]
    assert [(r["strategy"], r["step_size"]) for r in runs] == [("gd", s) for s in sizes]
    for run_answer, size in zip(runs, sizes, strict=True):
        losses, diverged = gd_losses_by_hand(size, 60)
        assert run_answer["losses"] == pytest.approx(losses, rel=1e-9)
        assert run_answer["diverged"] is diverged
        assert run_answer["steps_taken"] == len(losses) - 1
    assert runs[-1]["diverged"] and runs[-1]["steps_taken"] < 60
    assert not runs[0]["diverged"]


def test_compare_runs_every_strategy_with_every_step_size(client: TestClient) -> None:
    body = {
        "dataset": {"name": "cs231n-1d"},
        "W": W0.tolist(),
        "reg": REG,
        "strategies": ["gd", "momentum", "adam"],
        "step_sizes": [0.01, 0.05],
        "steps": 3,
        "batch_size": 3,
    }
    runs = client.post(COMPARE, json=body).json()["runs"]
    assert [(r["strategy"], r["step_size"]) for r in runs] == [
        ("gd", 0.01),
        ("gd", 0.05),
        ("momentum", 0.01),
        ("momentum", 0.05),
        ("adam", 0.01),
        ("adam", 0.05),
    ]
    # Adam's first step: m_hat = g, v_hat = g², so each weight moves by lr g / (|g| + 1e-8)
    g = svm_by_hand(W0)[1]
    W1 = W0 - 0.05 * g / (np.abs(g) + 1e-8)
    assert runs[5]["losses"][1] == pytest.approx(svm_by_hand(W1)[0], rel=1e-9)


def test_the_compare_job_runs_each_pair_in_order_from_the_same_start() -> None:
    # The job itself, in this process: the route always sends it to a job process (its memory
    # is not modelled), where mutation testing would not see it run.
    request = CompareRequest.model_validate(
        {
            "dataset": {"name": "cs231n-1d"},
            "W": W0.tolist(),
            "reg": REG,
            "strategies": ["gd", "sgd"],
            "step_sizes": [0.1, 2000.0],
            "steps": 60,
            "batch_size": 3,
        }
    )
    runs = compute_comparison(request, Limits())["runs"]
    assert [(r["strategy"], r["step_size"]) for r in runs] == [
        ("gd", 0.1),
        ("gd", 2000.0),
        ("sgd", 0.1),
        ("sgd", 2000.0),
    ]
    # a batch of all 3 examples is the whole data: SGD walks exactly as GD does
    for run_answer, size in zip(runs, [0.1, 2000.0, 0.1, 2000.0], strict=True):
        losses, diverged = gd_losses_by_hand(size, 60)
        assert run_answer["losses"] == pytest.approx(losses, rel=1e-9)
        assert (run_answer["diverged"], run_answer["steps_taken"]) == (diverged, len(losses) - 1)
    assert runs[1]["diverged"] and not runs[0]["diverged"]


def test_the_compare_job_passes_each_run_the_seed_and_the_momentum() -> None:
    # Minibatches of 2 of the 3 examples, drawn by numpy's generator from optimizer_seed (each
    # run starts its own generator from it); momentum 0.5, not the default 0.9.
    seed, mu, lr, steps = 7, 0.5, 0.2, 12
    request = CompareRequest.model_validate(
        {
            "dataset": {"name": "cs231n-1d"},
            "W": W0.tolist(),
            "reg": REG,
            "strategies": ["sgd", "momentum"],
            "step_sizes": [lr],
            "steps": steps,
            "batch_size": 2,
            "optimizer_seed": seed,
            "momentum": mu,
        }
    )
    sgd, momentum = compute_comparison(request, Limits())["runs"]
    for answer, mu_used in ((sgd, 0.0), (momentum, mu)):  # sgd is momentum with mu = 0
        rng = np.random.default_rng(seed)
        W, v = W0.copy(), np.zeros_like(W0)
        losses, batch_losses = [svm_by_hand(W)[0]], []
        for _ in range(steps):
            batch_loss, grad = svm_by_hand(W, rng.choice(3, size=2, replace=False))
            v = mu_used * v - lr * grad
            W = W + v
            losses.append(svm_by_hand(W)[0])
            batch_losses.append(batch_loss)
        assert answer["losses"] == pytest.approx(losses, rel=1e-12)
        assert answer["batch_losses"] == pytest.approx(batch_losses, rel=1e-12)
    assert sgd["losses"] != pytest.approx(momentum["losses"], rel=1e-6)


def test_the_optimize_job_draws_the_path_on_the_plane_of_two_axes() -> None:
    # The job itself, in this process (the route always sends it to a job process). Axis
    # directions W[0, 0] and W[1, 0]: the path's (a, b) are those weights' moves from W, and
    # its distance off the plane is how far W[2, 0] moved. Momentum 0.5 (not the default 0.9)
    # on full batches, so every step is v = mu v - lr dW(W), W += v, written out by hand.
    mu, lr, steps = 0.5, 0.3, 4
    request = OptimizeRequest.model_validate(
        {
            "dataset": {"name": "cs231n-1d"},
            "W": W0.tolist(),
            "reg": REG,
            "strategy": "momentum",
            "step_size": lr,
            "steps": steps,
            "batch_size": 3,
            "momentum": mu,
            "directions": ["axis", "axis"],
            "axes": [[0, 0], [1, 0]],
        }
    )
    answer = compute_optimizer_path(request, Limits())
    W, v = W0.copy(), np.zeros_like(W0)
    alphas, betas, off, losses = [0.0], [0.0], [0.0], [svm_by_hand(W0)[0]]
    for _ in range(steps):
        v = mu * v - lr * svm_by_hand(W)[1]
        W = W + v
        alphas.append(W[0, 0] - W0[0, 0])
        betas.append(W[1, 0] - W0[1, 0])
        off.append(abs(W[2, 0] - W0[2, 0]))
        losses.append(svm_by_hand(W)[0])
    path = answer["path"]
    assert sorted(path) == ["alphas", "betas", "off_plane"]
    assert path["alphas"] == pytest.approx(alphas, rel=1e-12, abs=1e-15)
    assert path["betas"] == pytest.approx(betas, rel=1e-12, abs=1e-15)
    assert path["off_plane"] == pytest.approx(off, rel=1e-12, abs=1e-15)
    assert answer["losses"] == pytest.approx(losses, rel=1e-12)
    assert off[-1] > 0.01  # the run leaves the plane, so off_plane is a real check
    # batch_size 3 = N: the answer says every minibatch is the whole data
    assert answer["notes"] == [
        "batch 3 ≥ N = 3: every minibatch is all 3 examples, so this is full-batch gradient "
        "descent with momentum"
    ]


def test_the_runs_limit_counts_strategies_times_step_sizes(client: TestClient) -> None:
    body = {
        "dataset": {"name": "cs231n-1d"},
        "strategies": ["gd", "adam"],
        "step_sizes": [0.1, 0.2, 0.3],
        "steps": 2,
    }
    with overridden_settings(max_compare_runs=6):
        assert client.post(COMPARE, json=body).status_code == 200
    with overridden_settings(max_compare_runs=5):
        answer = client.post(COMPARE, json=body)
        assert answer.status_code == 413
        detail = answer.json()["detail"][0]
        assert detail["setting"] == "max_compare_runs"
        assert (detail["got"], detail["limit"]) == (6, 5)


def test_the_work_limit_counts_every_run_before_any_starts(client: TestClient) -> None:
    # each run: steps × N × max(C, 10) × (D + 100) = 4 × 3 × 10 × 101 = 12,120; three runs
    body = {"dataset": {"name": "cs231n-1d"}, "step_sizes": [0.1, 0.2, 0.3], "steps": 4}
    with overridden_settings(max_optimize_work=36_360):
        assert client.post(COMPARE, json=body).status_code == 200
    with overridden_settings(max_optimize_work=36_359):
        answer = client.post(COMPARE, json=body)
        assert answer.status_code == 413
        detail = answer.json()["detail"][0]
        assert (detail["setting"], detail["got"]) == ("max_optimize_work", 36_360)


@pytest.mark.parametrize(
    "field, value", [("step_sizes", []), ("step_sizes", [0.0]), ("strategies", ["newton"])]
)
def test_a_bad_comparison_is_a_422_naming_the_field(
    client: TestClient, field: str, value: object
) -> None:
    answer = client.post(COMPARE, json={"dataset": {"name": "cs231n-1d"}, field: value})
    assert answer.status_code == 422
    assert field in answer.json()["detail"][0]["loc"]


@pytest.mark.parametrize("local", [False, True])
def test_random_search_keeps_a_candidate_only_when_it_is_strictly_better(local: bool) -> None:
    """Random search (the notes' strategy #1) draws W' = step_size · N(0, 1) each step; random
    local search (#2) draws W + step_size · N(0, 1). Each keeps W' only if its loss is lower.
    Redone here with the same generator and the hand-written loss."""
    name = "random_local_search" if local else "random_search"
    step = rule(name)
    w = walk(0.5)
    rng = np.random.default_rng(0)  # the walk's generator, replayed
    W, loss = W0.copy(), svm_by_hand(W0)[0]
    kept = 0
    for _ in range(12):
        noise = rng.standard_normal(W.shape) * 0.5
        candidate = W + noise if local else noise
        candidate_loss = svm_by_hand(candidate)[0]
        W_next, loss_next, tried, batch = step(W, loss, w)
        assert tried == pytest.approx(candidate_loss, rel=1e-12)
        assert batch is None
        if candidate_loss < loss:
            kept += 1
            np.testing.assert_array_equal(W_next, candidate)
            assert loss_next == tried
        else:
            assert W_next is W and loss_next == loss
        W, loss = W_next, loss_next
    assert 0 < kept < 12  # both branches ran


def test_random_search_keeps_the_old_point_on_a_tie() -> None:
    # A candidate exactly as good is not kept: W stays the very same array. With a step size of
    # 0 the local search's candidate is W itself (W + 0), so every step ties.
    step = rule("random_local_search")
    W = W0.copy()
    loss = loss_of_weights(W, X, Y, SPEC)  # the walk's own loss, so the tie is exact
    W_next, loss_next, tried, _ = step(W, loss, walk(0.0))
    assert tried == loss and W_next is W and loss_next == loss
