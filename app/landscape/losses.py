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
    dscores: np.ndarray  # (N, C): dL/dS of the data loss (already divided by N)
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
        dscores=dS,
        grad_W=grad_W,
        probabilities=parts.probabilities,
    )


def numeric_gradient(
    W: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    spec: LossSpec,
    entries: np.ndarray,
    h: float = 1e-5,
) -> np.ndarray:
    """Central differences (L(W + h e) - L(W - h e)) / 2h for the (c, d) pairs in `entries`.

    Nudging W[c, d] moves only score column c, by h * X[:, d], so each entry costs O(N C).
    """
    S = X @ W.T
    base_sq = float(np.sum(W * W))
    out = np.empty(len(entries))
    for k, (c, d) in enumerate(entries):
        values = []
        for step in (h, -h):
            S_step = S.copy()
            S_step[:, c] += step * X[:, d]
            w = W[c, d]
            reg = spec.reg * (base_sq - w * w + (w + step) ** 2)
            values.append(data_loss_of_scores(S_step, y, spec).mean() + reg)
        out[k] = (values[0] - values[1]) / (2 * h)
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
    h: float = 1e-5,
) -> dict[str, object]:
    """Analytic vs numeric dW on every weight, or on a fixed-seed sample of max_entries weights."""
    num_classes, d = W.shape
    sampled = W.size > max_entries
    if sampled:
        flat = np.sort(np.random.default_rng(0).choice(W.size, size=max_entries, replace=False))
    else:
        flat = np.arange(W.size)
    entries = np.stack(np.unravel_index(flat, W.shape), axis=1)
    numeric = numeric_gradient(W, X, y, spec, entries, h)
    picked = analytic.ravel()[flat]
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
