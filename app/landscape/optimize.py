"""The notes' optimization strategies, with the path projected onto a slice plane W0 + a*D1 + b*D2."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from app.core.choices import Choice, names
from app.landscape.losses import LossSpec, evaluate, loss_of_weights
from app.landscape.model import Setup
from app.landscape.plane import PathPlane, path_plane


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


@dataclass(frozen=True, slots=True)
class Walk:
    """What every step reads: the data and loss, the random stream, the step size and batch;
    `memory` is the run's own, for a rule that carries something from step to step (momentum's
    velocity, Adam's moments): a new walk per run starts it empty."""

    X: np.ndarray
    y: np.ndarray
    spec: LossSpec
    rng: np.random.Generator
    step_size: float
    batch: int
    momentum: float = 0.9
    memory: dict[str, Any] = field(default_factory=dict)


# Adam's constants, as Kingma & Ba (2015) recommend them.
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


# One step: (W, loss) -> (W, loss, the candidate's loss if one was tried, the minibatch's loss).
StepResult = tuple[np.ndarray, float, float | None, float | None]


def _search_step(local: bool, W: np.ndarray, loss: float, walk: Walk) -> StepResult:
    # bound with partial() in OPTIMIZERS, not made by a factory at import, so mutation testing
    # sees it run (it switches a function's mutants when the function is called)
    noise = walk.rng.standard_normal(W.shape) * walk.step_size
    candidate = W + noise if local else noise
    candidate_loss = loss_of_weights(candidate, walk.X, walk.y, walk.spec)
    if candidate_loss < loss:
        return candidate, candidate_loss, candidate_loss, None
    return W, loss, candidate_loss, None


def _gd_step(W: np.ndarray, loss: float, walk: Walk) -> StepResult:
    W = W - walk.step_size * evaluate(W, walk.X, walk.y, walk.spec).grad_W
    return W, loss_of_weights(W, walk.X, walk.y, walk.spec), None, None


def _minibatch(W: np.ndarray, walk: Walk) -> tuple[np.ndarray, float]:
    """dW and the loss on a random minibatch (without replacement) of the walk's data."""
    pick = walk.rng.choice(walk.y.size, size=walk.batch, replace=False)
    result = evaluate(W, walk.X[pick], walk.y[pick], walk.spec)
    return result.grad_W, result.loss


def _sgd_step(W: np.ndarray, loss: float, walk: Walk) -> StepResult:
    grad, batch_loss = _minibatch(W, walk)
    W = W - walk.step_size * grad
    return W, loss_of_weights(W, walk.X, walk.y, walk.spec), None, batch_loss


def _momentum_step(W: np.ndarray, loss: float, walk: Walk) -> StepResult:
    grad, batch_loss = _minibatch(W, walk)
    velocity = walk.momentum * walk.memory.get("v", 0.0) - walk.step_size * grad
    walk.memory["v"] = velocity
    W = W + velocity
    return W, loss_of_weights(W, walk.X, walk.y, walk.spec), None, batch_loss


def _adam_step(W: np.ndarray, loss: float, walk: Walk) -> StepResult:
    grad, batch_loss = _minibatch(W, walk)
    memory = walk.memory
    t = memory["t"] = memory.get("t", 0) + 1
    m = memory["m"] = ADAM_BETA1 * memory.get("m", 0.0) + (1 - ADAM_BETA1) * grad
    v = memory["v"] = ADAM_BETA2 * memory.get("v", 0.0) + (1 - ADAM_BETA2) * grad * grad
    # the moments start at 0, so early on they are biased toward 0: divided out here
    m_hat = m / (1 - ADAM_BETA1**t)
    v_hat = v / (1 - ADAM_BETA2**t)
    W = W - walk.step_size * m_hat / (np.sqrt(v_hat) + ADAM_EPS)
    return W, loss_of_weights(W, walk.X, walk.y, walk.spec), None, batch_loss


# The optimizers: the schema, the page's menu, the catalog and optimize() read this table.
OPTIMIZERS = (
    Choice(
        "random_search",
        "random search",
        "draw W = step_size · N(0, 1) each step and keep the best so far",
        ("step_size", "steps", "optimizer_seed"),
        partial(_search_step, False),
    ),
    Choice(
        "random_local_search",
        "random local search",
        "try W + step_size · N(0, 1), keep it only if the loss drops",
        ("step_size", "steps", "optimizer_seed"),
        partial(_search_step, True),
    ),
    Choice("gd", "gradient descent", "W -= step_size · dL/dW", ("step_size", "steps"), _gd_step),
    Choice(
        "sgd",
        "minibatch SGD",
        "gradient descent on a random minibatch each step",
        ("step_size", "steps", "batch_size", "optimizer_seed"),
        _sgd_step,
    ),
    Choice(
        "momentum",
        "SGD with momentum",
        "on a random minibatch each step: v = μ·v − step_size·dL/dW (v starts at 0), then "
        "W += v; μ is `momentum`",
        ("step_size", "steps", "batch_size", "optimizer_seed", "momentum"),
        _momentum_step,
    ),
    Choice(
        "adam",
        "Adam",
        "on a random minibatch each step, with g = dL/dW and t the step (from 1): "
        "m = 0.9·m + 0.1·g, v = 0.999·v + 0.001·g², m̂ = m / (1 − 0.9^t), "
        "v̂ = v / (1 − 0.999^t), W −= step_size · m̂ / (√v̂ + 1e-8)",
        ("step_size", "steps", "batch_size", "optimizer_seed"),
        _adam_step,
    ),
)
# The rules that draw a minibatch: with batch_size >= N each is its full-batch self.
MINIBATCH = ("sgd", "momentum", "adam")
STRATEGIES = names(OPTIMIZERS)
_STEPS: dict[str, Callable[..., StepResult]] = {
    choice.name: choice.run for choice in OPTIMIZERS if choice.run is not None
}


def optimize(
    setup: Setup,
    strategy: str,
    steps: int,
    step_size: float,
    batch_size: int,
    seed: int,
    D1: np.ndarray,
    D2: np.ndarray,
    momentum: float,
) -> dict[str, Any]:
    """Run `steps` steps from W; losses[t] is the full loss at the path's t-th point (t=0 is W).

    `strategy` is a row of OPTIMIZERS, whose description says what its step does. A run whose loss or weights stop being finite ends there with `diverged` set.
    """
    projector = PlaneProjector(setup.W, D1, D2)
    alphas, betas, off_plane = [], [], []

    def record(weights: np.ndarray) -> None:
        a, b, off = projector.project(weights)
        alphas.append(a)
        betas.append(b)
        off_plane.append(off)

    answer = _walk(setup, strategy, steps, step_size, batch_size, seed, record, momentum)
    answer["path"] = {"alphas": alphas, "betas": betas, "off_plane": off_plane}
    return answer


def optimize_in_its_plane(
    setup: Setup,
    strategy: str,
    steps: int,
    step_size: float,
    batch_size: int,
    seed: int,
    momentum: float,
) -> tuple[dict[str, Any], PathPlane]:
    """optimize(), projected on the plane of the path itself (app/landscape/plane.py): every
    W of the run is kept (the cost model counts them) until the plane is known."""
    kept: list[np.ndarray] = []
    answer = _walk(setup, strategy, steps, step_size, batch_size, seed, kept.append, momentum)
    plane = path_plane(setup.W, kept)
    projector = PlaneProjector(setup.W, plane.D1, plane.D2)
    alphas, betas, off_plane = zip(*(projector.project(W) for W in kept), strict=True)
    answer["path"] = {"alphas": list(alphas), "betas": list(betas), "off_plane": list(off_plane)}
    return answer, plane


def _walk(
    setup: Setup,
    strategy: str,
    steps: int,
    step_size: float,
    batch_size: int,
    seed: int,
    record: Callable[[np.ndarray], None],
    momentum: float,
) -> dict[str, Any]:
    """The run itself: `record` sees each point's W (the start first); the answer without `path`."""
    X, y, spec = setup.data.X, setup.data.y, setup.spec
    rng = np.random.default_rng(seed)
    W = setup.W.copy()
    loss = loss_of_weights(W, X, y, spec)
    losses = [loss]
    tried: list[float] = []
    batch_losses: list[float] = []
    record(W)
    walk = Walk(X, y, spec, rng, step_size, min(batch_size, y.size), momentum)
    step = _STEPS[strategy]
    diverged = False
    for _ in range(steps):
        W, loss, tried_loss, batch_loss = step(W, loss, walk)
        if tried_loss is not None:
            tried.append(tried_loss)
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
        "steps_taken": len(losses) - 1,
        "diverged": diverged,
    }
    if tried:
        answer["tried_losses"] = tried
    if batch_losses:
        answer["batch_losses"] = batch_losses
    answer["notes"] = path_notes(strategy, batch_size, y.size)
    return answer


def path_notes(strategy: str, batch_size: int, n: int) -> list[str]:
    """What a student should know about this run that its numbers do not say."""
    if strategy in MINIBATCH and batch_size >= n:
        # every minibatch is the whole data set (drawn in another order): the same gradient
        plain = {
            "sgd": "this SGD is plain gradient descent",
            "momentum": "this is full-batch gradient descent with momentum",
            "adam": "this is full-batch Adam",
        }[strategy]
        return [f"batch {batch_size} ≥ N = {n}: every minibatch is all {n} examples, so {plain}"]
    return []


def compare_runs(
    setup: Setup,
    runs: Sequence[tuple[str, float]],
    steps: int,
    batch_size: int,
    seed: int,
    momentum: float,
) -> list[dict[str, Any]]:
    """Each (strategy, step_size) run from the same W with the same seed: the loss per step of
    each, so step sizes and rules can be set side by side (a diverged run ends where it did)."""

    def forget(_W: np.ndarray) -> None:
        return None

    answers = []
    for strategy, step_size in runs:
        answer = _walk(setup, strategy, steps, step_size, batch_size, seed, forget, momentum)
        answers.append({"step_size": step_size, **answer})
    return answers
