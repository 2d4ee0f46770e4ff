"""Multiclass SVM (Weston-Watkins, one-vs-all, Crammer-Singer) and softmax losses with exact gradients.

Everything works on the score matrix S = X W^T (N x C), fully vectorized (no loop over examples).
Kink convention: a hinge term max(0, m) counts as active only when m > 0, so at a kink the
analytic gradient takes the subgradient in which that term contributes nothing. In the
structured variant a tie for the largest margin goes to the lowest class index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.choices import Choice, names

# The losses and the SVM's variants: the schema, the page's menus and the catalog read these.
LOSSES = (
    Choice(
        "svm",
        "multiclass SVM (hinge)",
        "sum over wrong classes of max(0, s_j - s_y + delta); piecewise linear, with kinks",
        ("variant", "delta"),
    ),
    Choice(
        "softmax",
        "softmax cross-entropy",
        "-log of the true class's softmax probability; smooth",
    ),
)
SVM_VARIANTS = (
    Choice("ww", "Weston–Watkins (the course's)", "one hinge per wrong class"),
    Choice("ova", "one-vs-all", "one hinge per class, +1 for the true class and -1 otherwise"),
    Choice(
        "structured",
        "structured (Crammer–Singer)",
        "one hinge on the largest wrong score; a tie goes to the lowest class index",
    ),
)
VARIANTS = names(SVM_VARIANTS)


@dataclass(frozen=True)
class LossSpec:
    """Which loss: `svm` with a variant, or `softmax`; margin delta and L2 strength reg."""

    loss: str = "svm"
    variant: str = "ww"
    delta: float = 1.0
    reg: float = 0.0

    @property
    def piecewise_linear(self) -> bool:
        return self.loss == "svm"


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


def signs(y: np.ndarray, num_classes: int) -> np.ndarray:
    """t_ij = +1 for the true class, -1 otherwise (one-vs-all targets)."""
    t = -np.ones((y.size, num_classes))
    t[np.arange(y.size), y] = 1.0
    return t


def hinge_margins(S: np.ndarray, y: np.ndarray, spec: LossSpec) -> np.ndarray:
    """The arguments m of every hinge max(0, m); the true-class entry is set to 0 for WW/structured.

    Works on any stack of score matrices (..., N, C).
    """
    rows = np.arange(y.size)
    if spec.variant == "ova":
        return spec.delta - signs(y, S.shape[-1]) * S
    correct = S[..., rows, y][..., None]
    margins = S - correct + spec.delta
    margins[..., rows, y] = 0.0
    return margins


def data_loss_of_scores(S: np.ndarray, y: np.ndarray, spec: LossSpec) -> np.ndarray:
    """Per-example data loss L_i for a stack of score matrices (..., N, C) -> (..., N)."""
    if spec.loss == "softmax":
        shifted = S - S.max(axis=-1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=-1))
        return log_norm - shifted[..., np.arange(y.size), y]
    margins = hinge_margins(S, y, spec)
    if spec.variant == "structured":
        return np.maximum(margins.max(axis=-1), 0.0)
    return np.maximum(margins, 0.0).sum(axis=-1)


def loss_of_weights(W: np.ndarray, X: np.ndarray, y: np.ndarray, spec: LossSpec) -> float:
    """The total loss at W, computed from scratch (what a naive landscape tool does per point)."""
    per_example = data_loss_of_scores(X @ W.T, y, spec)
    return float(per_example.mean() + spec.reg * np.sum(W * W))


def evaluate(W: np.ndarray, X: np.ndarray, y: np.ndarray, spec: LossSpec) -> LossResult:
    """Loss, its parts, and the analytic gradient dW = dS^T X + 2 reg W."""
    n, num_classes = X.shape[0], W.shape[0]
    rows = np.arange(n)
    S = X @ W.T
    probabilities = None
    if spec.loss == "softmax":
        shifted = S - S.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        probabilities = exp / exp.sum(axis=1, keepdims=True)
        per_example = np.log(exp.sum(axis=1)) - shifted[rows, y]
        margins = S - S[rows, y][:, None]
        active = np.ones_like(S, dtype=bool)
        dS = probabilities.copy()
        dS[rows, y] -= 1.0
    else:
        margins = hinge_margins(S, y, spec)
        dS = np.zeros_like(S)
        if spec.variant == "structured":
            masked = margins.copy()
            masked[rows, y] = -np.inf
            worst = masked.argmax(axis=1)
            top = masked[rows, worst]
            per_example = np.maximum(top, 0.0)
            violated = top > 0
            active = np.zeros_like(S, dtype=bool)
            active[rows[violated], worst[violated]] = True
            dS[rows[violated], worst[violated]] = 1.0
            dS[rows[violated], y[violated]] = -1.0
        else:
            active = margins > 0
            if spec.variant == "ww":
                active[rows, y] = False
                per_example = np.where(active, margins, 0.0).sum(axis=1)
                dS = active.astype(np.float64)
                dS[rows, y] = -active.sum(axis=1)
            else:  # ova: d/ds_j max(0, delta - t_j s_j) = -t_j when active
                per_example = np.where(active, margins, 0.0).sum(axis=1)
                dS = -signs(y, num_classes) * active
    dS /= n
    data_loss = float(per_example.mean())
    reg_loss = float(spec.reg * np.sum(W * W))
    grad_W = dS.T @ X + 2.0 * spec.reg * W
    return LossResult(
        loss=data_loss + reg_loss,
        data_loss=data_loss,
        reg_loss=reg_loss,
        per_example=per_example,
        margins=margins,
        active=active,
        dscores=dS,
        grad_W=grad_W,
        probabilities=probabilities,
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
