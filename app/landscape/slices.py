"""1-D and 2-D slices W + a*D1 (+ b*D2) of the loss, from three score matrices S0, S1, S2.

Scores along a slice are S0 + a*S1 + b*S2 with S0 = X W^T, S1 = X D1^T, S2 = X D2^T, so no
matrix product is done per grid point. The L2 term reg*||W + a D1 + b D2||^2 is an exact
quadratic in (a, b) from five dot products.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.errors import LimitError
from app.core.limits import Limits
from app.landscape.data import as_matrix, problem
from app.landscape.kinks import CHUNK_VALUES, exact_line, grid_rows
from app.landscape.losses import LossSpec, data_loss_of_scores, evaluate, kind_of
from app.landscape.model import Setup


def make_direction(
    kind: Any,
    axis: Any,
    W: np.ndarray,
    rng: np.random.Generator,
    normalize: str,
    loc: tuple[str | int, ...],
    axis_loc: tuple[str | int, ...],
) -> np.ndarray:
    """A C x D direction: `random` (seeded Gaussian), `axis` (one weight [c, d]) or given."""
    if isinstance(kind, list):
        D = as_matrix(kind, "direction", loc)
        if D.shape != W.shape:
            raise problem(
                f"direction is {D.shape[0]}x{D.shape[1]} but W is {W.shape[0]}x{W.shape[1]}", loc
            )
        return D
    if kind == "axis":
        if axis is None or len(axis) != 2:
            raise problem("an `axis` direction needs axis = [c, d]", axis_loc)
        c, d = int(axis[0]), int(axis[1])
        if not (0 <= c < W.shape[0] and 0 <= d < W.shape[1]):
            raise problem(
                f"axis [{c}, {d}] is outside W, which is {W.shape[0]}x{W.shape[1]}", axis_loc
            )
        D = np.zeros_like(W)
        D[c, d] = 1.0
        return D
    if kind != "random":
        raise problem(f"direction must be 'random', 'axis' or a C x D list, got {kind!r}", loc)
    D = rng.standard_normal(W.shape)
    if normalize == "overall":
        D *= np.linalg.norm(W) / np.linalg.norm(D)
    elif normalize == "rows":
        D *= (np.linalg.norm(W, axis=1) / np.linalg.norm(D, axis=1))[:, None]
    return D


def directions_for(
    W: np.ndarray, kinds: list[Any], axes: list[Any] | None, normalize: str, seed: int
) -> list[np.ndarray]:
    """The slice directions in order; random ones come from one generator seeded with `seed`,
    so the first random direction of a 2-D plane is the 1-D slice's with the same seed."""
    rng = np.random.default_rng(seed)
    plural = len(kinds) > 1
    out = []
    for k, kind in enumerate(kinds):
        axis = axes[k] if axes is not None and k < len(axes) else None
        loc = ("body", "directions", k) if plural else ("body", "direction")
        axis_loc = ("body", "axes", k) if plural else ("body", "axis")
        out.append(make_direction(kind, axis, W, rng, normalize, loc, axis_loc))
    return out


def check_range(lo: float, hi: float, steps: int, limits: Limits, loc: tuple[str, ...]) -> None:
    if not lo < hi:
        raise problem(f"range must have lo < hi, got [{lo}, {hi}]", loc)
    if steps < 2:
        raise problem(f"steps must be at least 2, got {steps}", ("body", "steps"))
    if steps > limits.max_slice_steps:
        raise LimitError(
            "steps", steps, limits.max_slice_steps, "max_slice_steps", ("body", "steps")
        )


def quadratic(W: np.ndarray, D1: np.ndarray, reg: float) -> tuple[float, float, float]:
    """reg*||W + a*D1||^2 = q0 + q1*a + q2*a^2."""
    return (
        reg * float(np.sum(W * W)),
        2 * reg * float(np.sum(W * D1)),
        reg * float(np.sum(D1 * D1)),
    )


def scores_along(X: np.ndarray, W: np.ndarray, *directions: np.ndarray) -> list[np.ndarray]:
    """S0 = X W^T and S_k = X D_k^T from one matrix product with the matrices stacked."""
    stacked = X @ np.concatenate([W, *directions]).T
    return np.split(stacked, len(directions) + 1, axis=1)


def loss_at_origin(S0: np.ndarray, W: np.ndarray, y: np.ndarray, spec: LossSpec) -> float:
    return float(data_loss_of_scores(S0, y, spec).mean() + spec.reg * np.sum(W * W))


def direct_losses(
    S0: np.ndarray, S1: np.ndarray, alphas: np.ndarray, y: np.ndarray, spec: LossSpec
) -> np.ndarray:
    """Data loss at S0 + a*S1 for each a, evaluated directly in chunks of alphas."""
    out = np.empty(alphas.size)
    chunk = max(1, CHUNK_VALUES // S0.size)
    for start in range(0, alphas.size, chunk):
        a = alphas[start : start + chunk, None, None]
        losses = data_loss_of_scores(S0 + a * S1, y, spec)  # (chunk, N)
        out[start : start + chunk] = losses.mean(axis=1)
    return out


def term_lines(
    S0: np.ndarray, S1: np.ndarray, alphas: np.ndarray, y: np.ndarray, spec: LossSpec
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each hinge term's values and each example's L_i along the slice (not divided by N)."""
    scores = S0[None] + alphas[:, None, None] * S1[None]  # (steps, N, C)
    per_example = data_loss_of_scores(scores, y, spec)  # (steps, N)
    examples = [{"i": i, "values": per_example[:, i].tolist()} for i in range(y.size)]
    term_values = kind_of(spec).term_values
    terms: list[dict[str, Any]] = []
    if term_values is not None:
        terms = [
            {"i": i, "j": j, "values": values.tolist()}
            for i, j, values in term_values(scores, y, spec)
        ]
    return terms, examples


def _kinks_at_w(all_kinks: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """Where W is on the line: a = 0, or the lowest and highest kinks within rounding of it. W
    moved onto a kink (by a click on the page) lands there only up to float rounding, and the
    subgradient there is the kink's interval; the tolerance is the one that merges coincident
    kinks. Where several terms meet, rounding may put their kinks on both sides of a = 0: all
    of them are at W, so the interval runs from left of the lowest to right of the highest."""
    near = all_kinks[np.abs(all_kinks) <= 1e-12 * max(1.0, abs(lo), abs(hi))]
    return (float(near.min()), float(near.max())) if near.size else (0.0, 0.0)


def slice_1d(
    setup: Setup, D: np.ndarray, lo: float, hi: float, steps: int, limits: Limits
) -> dict[str, Any]:
    """The loss along W + a*D: sampled curve, and for a piecewise-linear loss (SVM) the exact
    kinks, subgradient and minimum."""
    X, y, W, spec = setup.data.X, setup.data.y, setup.W, setup.spec
    S0, S1 = scores_along(X, W, D)
    q = quadratic(W, D, spec.reg)
    alphas = np.linspace(lo, hi, steps)
    result: dict[str, Any] = {"alphas": alphas.tolist()}
    exact = kind_of(spec).exact
    if exact:
        line = exact_line(S0, S1, y, spec, lo, hi, q)
        losses = line.value(alphas)
        kinks = line.merged_kinks()
        lowest, highest = _kinks_at_w(line.all_kinks, lo, hi)
        left, right = line.one_sided_slopes(lowest)[0], line.one_sided_slopes(highest)[1]
        min_alpha, min_loss = line.minimum()
        result["exact"] = True
    else:
        losses = direct_losses(S0, S1, alphas, y, spec) + (q[0] + alphas * (q[1] + alphas * q[2]))
        kinks = []
        slope = float(np.sum(evaluate(W, X, y, spec).grad_W * D))
        left = right = slope
        best = int(np.argmin(losses))
        min_alpha, min_loss = float(alphas[best]), float(losses[best])
        result["exact"] = False
    result["losses"] = losses.tolist()
    result["kink_count"] = len(kinks)
    result["kinks_truncated"] = len(kinks) > limits.max_slice_kinks
    result["kinks"] = kinks[: limits.max_slice_kinks]
    result["subgradient"] = {"left": left, "right": right}
    result["minimum"] = {"alpha": min_alpha, "loss": min_loss}
    result["origin"] = {"loss": loss_at_origin(S0, W, y, spec)}
    if y.size * W.shape[0] <= limits.max_term_lines:
        terms, examples = term_lines(S0, S1, alphas, y, spec)
        result["terms"] = terms
        result["per_example"] = examples
    return result


def slice_2d(
    setup: Setup,
    D1: np.ndarray,
    D2: np.ndarray,
    alpha_range: tuple[float, float],
    beta_range: tuple[float, float],
    steps: int,
) -> dict[str, Any]:
    """The loss on the grid W + a*D1 + b*D2; rows of `losses` follow `betas`."""
    X, y, W, spec = setup.data.X, setup.data.y, setup.W, setup.spec
    S0, S1, S2 = scores_along(X, W, D1, D2)
    alphas = np.linspace(alpha_range[0], alpha_range[1], steps)
    betas = np.linspace(beta_range[0], beta_range[1], steps)
    exact = kind_of(spec).exact
    if exact:
        grid = grid_rows(S0, S1, S2, betas, y, spec, alpha_range[0], alpha_range[1], steps)
    else:
        grid = np.stack([direct_losses(S0 + b * S2, S1, alphas, y, spec) for b in betas])
    r = spec.reg
    a, b = alphas[None, :], betas[:, None]
    grid += r * (
        np.sum(W * W)
        + 2 * a * np.sum(W * D1)
        + 2 * b * np.sum(W * D2)
        + a * a * np.sum(D1 * D1)
        + b * b * np.sum(D2 * D2)
        + 2 * a * b * np.sum(D1 * D2)
    )
    row, col = np.unravel_index(int(np.argmin(grid)), grid.shape)
    return {
        "alphas": alphas.tolist(),
        "betas": betas.tolist(),
        "losses": grid.tolist(),
        "minimum": {
            "alpha": float(alphas[col]),
            "beta": float(betas[row]),
            "loss": float(grid[row, col]),
        },
        "origin": {"loss": loss_at_origin(S0, W, y, spec)},
        "exact": exact,
    }


__all__ = ["directions_for", "check_range", "slice_1d", "slice_2d"]
