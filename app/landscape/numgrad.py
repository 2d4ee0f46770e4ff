"""The notes' numerical-gradient lesson: the error of a finite difference against its step h.

A forward difference (L(W + h e) - L(W)) / h is off by about h·L''/2 (truncation, falling with
h) plus about eps·L/h (round-off, rising as h shrinks); a centred one (L(W + h e) -
L(W - h e)) / 2h by about h²·L'''/6 plus the same round-off, so its best h is larger and its
best error smaller. The relative error of each, the worst over the checked weights, is given
at log-spaced h, beside the h that /loss's gradient check uses. A piecewise-linear loss (the
SVM) has no truncation error between kinks: only round-off, and a jump where h reaches a kink.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from app.landscape.kinks import CHUNK_VALUES
from app.landscape.losses import data_loss_of_scores, evaluate, gradcheck, relative_errors
from app.landscape.model import Setup

# The gradient check's own step, read from its default so that it is set in one place.
CHECK_H: float = inspect.signature(gradcheck).parameters["h"].default


def checked_entries(W: np.ndarray, max_entries: int) -> tuple[np.ndarray, bool]:
    """The [c, d] pairs checked: every weight, or the gradient check's fixed-seed sample."""
    sampled = W.size > max_entries
    if sampled:
        flat = np.sort(np.random.default_rng(0).choice(W.size, size=max_entries, replace=False))
    else:
        flat = np.arange(W.size)
    return np.stack(np.unravel_index(flat, W.shape), axis=1), sampled


def nudged_losses(setup: Setup, entries: np.ndarray, step: float) -> np.ndarray:
    """L(W + step·E[c, d]) for each entry: the nudge moves only score column c, by step·X[:, d].

    The nudged score matrices are stacked, a chunk of about CHUNK_VALUES scores at a time, so
    the numpy calls are per chunk, not per weight (per weight they cost more than the loss).
    """
    X, y, W, spec = setup.data.X, setup.data.y, setup.W, setup.spec
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
        out[start : start + chunk] = data_loss_of_scores(stacked, y, spec).mean(axis=-1) + reg
    return out


def step_errors(setup: Setup, hs: np.ndarray, max_entries: int) -> dict[str, Any]:
    """The worst relative error over the checked weights of each difference, at each h."""
    result = evaluate(setup.W, setup.data.X, setup.data.y, setup.spec)
    entries, sampled = checked_entries(setup.W, max_entries)
    analytic = result.grad_W[entries[:, 0], entries[:, 1]]
    centred, forward = [], []
    for h in hs:
        up = nudged_losses(setup, entries, float(h))
        down = nudged_losses(setup, entries, -float(h))
        centred.append(float(relative_errors(analytic, (up - down) / (2 * h)).max()))
        forward.append(float(relative_errors(analytic, (up - result.loss) / h).max()))
    return {
        "hs": hs.tolist(),
        "centred": centred,
        "forward": forward,
        "check_h": CHECK_H,
        "entries": len(entries),
        "sampled": sampled,
    }


__all__ = ["CHECK_H", "checked_entries", "nudged_losses", "step_errors"]
