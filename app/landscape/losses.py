"""The loss table (LOSSES) and what every loss shares: mean, regularizer, gradient and its check.

A loss is a row here whose `run` maps a LossSpec to its LossKind (app/landscape/loss_kind.py),
with its maths in its own module (app/landscape/svm.py, app/landscape/softmax.py). The schema,
the page's menus, the catalog and the kinks, slices, circuit and cost modules all read this
table, so adding a loss is its row, its module and its tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.choices import Choice, names
from app.core.errors import Problem, ProblemError
from app.landscape import softmax, svm
from app.landscape.loss_kind import LossKind, LossSpec
from app.landscape.svm import SVM_VARIANTS, hinge_margins, signs

__all__ = ["LOSSES", "SVM_VARIANTS", "VARIANTS", "LossKind", "LossSpec", "hinge_margins", "signs"]

# The losses: the schema, the page's menus, the catalog and every landscape module read these.
# A list, so a loss registered later (register_loss) is seen by all of them.
LOSSES: list[Choice] = [
    Choice(
        "svm",
        "multiclass SVM (hinge)",
        "sum over wrong classes of max(0, s_j - s_y + delta); piecewise linear, with kinks",
        ("variant", "delta"),
        run=svm.kind,
    ),
    Choice(
        "softmax",
        "softmax cross-entropy",
        "-log of the true class's softmax probability; smooth",
        run=softmax.kind,
    ),
]
VARIANTS = names(SVM_VARIANTS)


def register_loss(choice: Choice) -> Choice:
    """Adds a loss row (its `run` maps a LossSpec to its LossKind); refuses a taken name."""
    if choice.run is None:
        raise ValueError(f"loss {choice.name!r} has no run (LossSpec -> LossKind)")
    if choice.name in names(LOSSES):
        raise ValueError(f"loss {choice.name!r} is already registered")
    LOSSES.append(choice)
    return choice


def unregister_loss(name: str) -> None:
    LOSSES[:] = [choice for choice in LOSSES if choice.name != name]


def kind_of(spec: LossSpec) -> LossKind:
    """The LossKind of the spec's loss: a 422 naming the field when the table has no such row
    (a job process that has not imported the module of a loss registered at run time)."""
    for choice in LOSSES:
        if choice.name == spec.loss and choice.run is not None:
            found: LossKind = choice.run(spec)
            return found
    raise ProblemError(
        Problem(
            f"loss {spec.loss!r} is not one of {', '.join(names(LOSSES))}", loc=("body", "loss")
        )
    )


@dataclass
class LossResult:
    loss: float
    data_loss: float
    reg_loss: float
    per_example: np.ndarray  # (N,)
    margins: np.ndarray  # (N, C): hinge arguments for SVM, s_j - s_y for softmax
    active: np.ndarray  # (N, C) bool: the terms that carry gradient
    grad_W: np.ndarray  # (C, D)
    probabilities: np.ndarray | None = None


def data_loss_of_scores(S: np.ndarray, y: np.ndarray, spec: LossSpec) -> np.ndarray:
    """Per-example data loss L_i for a stack of score matrices (..., N, C) -> (..., N)."""
    return kind_of(spec).per_example(S, y, spec)


def loss_of_weights(W: np.ndarray, X: np.ndarray, y: np.ndarray, spec: LossSpec) -> float:
    """The total loss at W, computed from scratch (what a naive landscape tool does per point)."""
    per_example = data_loss_of_scores(X @ W.T, y, spec)
    return float(per_example.mean() + spec.reg * np.sum(W * W))


def evaluate(W: np.ndarray, X: np.ndarray, y: np.ndarray, spec: LossSpec) -> LossResult:
    """Loss, its parts, and the analytic gradient dW = dS^T X + 2 reg W."""
    parts = kind_of(spec).parts(X @ W.T, y, spec)
    dS = parts.dscores / X.shape[0]
    data_loss = float(parts.per_example.mean())
    reg_loss = float(spec.reg * np.sum(W * W))
    grad_W = dS.T @ X + 2.0 * spec.reg * W
    return LossResult(
        loss=data_loss + reg_loss,
        data_loss=data_loss,
        reg_loss=reg_loss,
        per_example=parts.per_example,
        margins=parts.margins,
        active=parts.active,
        grad_W=grad_W,
        probabilities=parts.probabilities,
    )


# Work arrays hold about this many float64 values (1 MB) at a time: small enough to stay in
# cache and to reuse freed memory, which measured ~4x faster than 8 MB chunks here.
CHUNK_VALUES = 131_072

# The gradient check's step h (app/landscape/numgrad.py shows its error beside other steps).
GRADCHECK_H = 1e-5


def checked_entries(W: np.ndarray, max_entries: int) -> tuple[np.ndarray, bool]:
    """The [c, d] pairs a gradient check compares: every weight in order, or past max_entries
    a sample of max_entries distinct weights drawn with seed 0 (the same on every request)."""
    sampled = W.size > max_entries
    if sampled:
        flat = np.sort(np.random.default_rng(0).choice(W.size, size=max_entries, replace=False))
    else:
        flat = np.arange(W.size)
    return np.stack(np.unravel_index(flat, W.shape), axis=1), sampled


def nudged_losses(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, spec: LossSpec, entries: np.ndarray, step: float
) -> np.ndarray:
    """The whole loss L(W + step·E[c, d]) for each [c, d] entry. The nudge moves only score
    column c, by step·X[:, d], and the L2 term by (w + step)² - w².

    The nudged score matrices are stacked, a chunk of about CHUNK_VALUES scores at a time, so
    the numpy calls are per chunk, not per weight (per weight they cost more than the loss).
    """
    S = X @ W.T
    base_sq = float(np.sum(W * W))
    out = np.empty(len(entries))
    chunk = max(1, CHUNK_VALUES // S.size)
    rows = np.arange(S.shape[0])
    for start in range(0, len(entries), chunk):
        c, d = entries[start : start + chunk, 0], entries[start : start + chunk, 1]
        stacked = np.repeat(S[None], c.size, axis=0)  # (k, N, C)
        stacked[np.arange(c.size)[:, None], rows[None, :], c[:, None]] += step * X[:, d].T
        w = W[c, d]
        reg = spec.reg * (base_sq - w * w + (w + step) ** 2)
        out[start : start + chunk] = data_loss_of_scores(stacked, y, spec).mean(axis=1) + reg
    return out


def relative_errors(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """|a - n| / max(|a| + |n|, 1e-12): 0 when both are 0."""
    scale = np.maximum(np.abs(analytic) + np.abs(numeric), 1e-12)
    return np.abs(analytic - numeric) / scale


def gradcheck(
    W: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    spec: LossSpec,
    analytic: np.ndarray,
    max_entries: int,
) -> dict[str, object]:
    """Analytic vs numeric dW on every weight, or on a fixed-seed sample of max_entries weights:
    central differences (L(W + h e) - L(W - h e)) / 2h with h = GRADCHECK_H."""
    num_classes, d = W.shape
    entries, sampled = checked_entries(W, max_entries)
    h = GRADCHECK_H
    up = nudged_losses(W, X, y, spec, entries, h)
    down = nudged_losses(W, X, y, spec, entries, -h)
    numeric = (up - down) / (2 * h)
    picked = analytic[entries[:, 0], entries[:, 1]]
    errors = relative_errors(picked, numeric)
    return {
        "h": h,
        "entries": entries.tolist(),
        "analytic": picked.tolist(),
        "numeric": numeric.tolist(),
        "relative_errors": errors.tolist(),
        "max_relative_error": float(errors.max()),
        "sampled": sampled,
        "numeric_grad_W": None if sampled else numeric.reshape(num_classes, d).tolist(),
    }
