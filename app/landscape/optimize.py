"""The notes' optimization strategies, with the path projected onto a slice plane W0 + a*D1 + b*D2."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.choices import Choice, names
from app.landscape.losses import evaluate, loss_of_weights
from app.landscape.model import Setup

# The optimizers: the schema, the page's menu and the catalog read this table.
OPTIMIZERS = (
    Choice(
        "random_search",
        "random search",
        "draw W = step_size · N(0, 1) each step and keep the best so far",
        ("step_size", "steps"),
    ),
    Choice(
        "random_local_search",
        "random local search",
        "try W + step_size · N(0, 1), keep it only if the loss drops",
        ("step_size", "steps"),
    ),
    Choice("gd", "gradient descent", "W -= step_size · dL/dW", ("step_size", "steps")),
    Choice(
        "sgd",
        "minibatch SGD",
        "gradient descent on a random minibatch each step",
        ("step_size", "steps", "batch_size"),
    ),
)
STRATEGIES = names(OPTIMIZERS)


class PlaneProjector:
    """Least-squares (a, b) of W - W0 on span(D1, D2), and the distance left off that plane."""

    def __init__(self, W0: np.ndarray, D1: np.ndarray, D2: np.ndarray) -> None:
        self.W0 = W0
        self.basis = np.stack([D1.ravel(), D2.ravel()])  # (2, C*D)
        # pinv copes with parallel or zero directions (then the least-squares answer is the
        # minimum-norm one).
        self.solver = np.linalg.pinv(self.basis @ self.basis.T)

    def project(self, W: np.ndarray) -> tuple[float, float, float]:
        delta = (W - self.W0).ravel()
        a, b = self.solver @ (self.basis @ delta)
        residual = delta - a * self.basis[0] - b * self.basis[1]
        return float(a), float(b), float(np.linalg.norm(residual))


def optimize(
    setup: Setup,
    strategy: str,
    steps: int,
    step_size: float,
    batch_size: int,
    seed: int,
    D1: np.ndarray,
    D2: np.ndarray,
) -> dict[str, Any]:
    """Run `steps` steps from W; losses[t] is the full loss at the path's t-th point (t=0 is W).

    random_search: draw W' = step_size * N(0, 1) each step and keep the best so far.
    random_local_search: try W + step_size * N(0, 1), keep it only if the loss drops.
    gd: W -= step_size * dW on all examples. sgd: the same on a minibatch drawn each step.
    A run whose loss or weights stop being finite ends there with `diverged` set.
    """
    X, y, spec = setup.data.X, setup.data.y, setup.spec
    rng = np.random.default_rng(seed)
    projector = PlaneProjector(setup.W, D1, D2)
    W = setup.W.copy()
    loss = loss_of_weights(W, X, y, spec)
    losses, alphas, betas, off_plane = [loss], [], [], []
    tried: list[float] = []
    batch_losses: list[float] = []

    def record(weights: np.ndarray) -> None:
        a, b, off = projector.project(weights)
        alphas.append(a)
        betas.append(b)
        off_plane.append(off)

    record(W)
    n = y.size
    batch = min(batch_size, n)
    diverged = False
    for _ in range(steps):
        batch_loss = None
        if strategy in ("random_search", "random_local_search"):
            noise = rng.standard_normal(W.shape) * step_size
            candidate = noise if strategy == "random_search" else W + noise
            candidate_loss = loss_of_weights(candidate, X, y, spec)
            tried.append(candidate_loss)
            if candidate_loss < loss:
                W, loss = candidate, candidate_loss
        elif strategy == "gd":
            W = W - step_size * evaluate(W, X, y, spec).grad_W
            loss = loss_of_weights(W, X, y, spec)
        else:
            pick = rng.choice(n, size=batch, replace=False)
            result = evaluate(W, X[pick], y[pick], spec)
            batch_loss = result.loss
            W = W - step_size * result.grad_W
            loss = loss_of_weights(W, X, y, spec)
        if not (np.isfinite(loss) and np.isfinite(W).all()):
            diverged = True  # the step size is too large: stop at the last finite point
            break
        if batch_loss is not None:
            batch_losses.append(batch_loss)
        losses.append(loss)
        record(W)
    answer: dict[str, Any] = {
        "strategy": strategy,
        "losses": losses,
        "final_loss": losses[-1],
        "path": {"alphas": alphas, "betas": betas, "off_plane": off_plane},
        "steps_taken": len(losses) - 1,
        "diverged": diverged,
    }
    if tried:
        answer["tried_losses"] = tried
    if batch_losses:
        answer["batch_losses"] = batch_losses
    return answer
