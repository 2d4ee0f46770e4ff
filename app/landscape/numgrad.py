"""The notes' numerical-gradient lesson: the error of a finite difference against its step h.

A forward difference (L(W + h e) - L(W)) / h is off by about h·L''/2 (truncation, falling with
h) plus about eps·L/h (round-off, rising as h shrinks); a centred one (L(W + h e) -
L(W - h e)) / 2h by about h²·L'''/6 plus the same round-off, so its best h is larger and its
best error smaller. The relative error of each, the worst over the checked weights, is given
at log-spaced h, beside the h that /loss's gradient check uses. A piecewise-linear loss (the
SVM) has no truncation error between kinks: only round-off, and a jump where h reaches a kink.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.landscape.losses import (
    GRADCHECK_H,
    checked_entries,
    evaluate,
    nudged_losses,
    relative_errors,
)
from app.landscape.model import Setup


def step_errors(setup: Setup, hs: np.ndarray, max_entries: int) -> dict[str, Any]:
    """The worst relative error over the checked weights of each difference, at each h."""
    X, y, W, spec = setup.data.X, setup.data.y, setup.W, setup.spec
    result = evaluate(W, X, y, spec)
    entries, sampled = checked_entries(setup.W, max_entries)
    analytic = result.grad_W[entries[:, 0], entries[:, 1]]
    centred, forward = [], []
    for h in hs:
        up = nudged_losses(W, X, y, spec, entries, float(h))
        down = nudged_losses(W, X, y, spec, entries, -float(h))
        centred.append(float(relative_errors(analytic, (up - down) / (2 * h)).max()))
        forward.append(float(relative_errors(analytic, (up - result.loss) / h).max()))
    return {
        "hs": hs.tolist(),
        "centred": centred,
        "forward": forward,
        "check_h": GRADCHECK_H,
        "entries": len(entries),
        "sampled": sampled,
    }


__all__ = ["step_errors"]
