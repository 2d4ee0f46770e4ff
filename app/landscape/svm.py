"""The multiclass SVM (Weston-Watkins, one-vs-all, Crammer-Singer): its maths, lines and circuit text.

Kink convention: a hinge term max(0, m) counts as active only when m > 0, so at a kink the
analytic gradient takes the subgradient in which that term contributes nothing. In the
structured variant a tie for the largest margin goes to the lowest class index.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.core.choices import Choice
from app.landscape.loss_kind import LossKind, LossParts, LossSpec, score_name

SVM_VARIANTS = (
    Choice("ww", "Weston–Watkins (the course's)", "one hinge per wrong class"),
    Choice("ova", "one-vs-all", "one hinge per class, +1 for the true class and -1 otherwise"),
    Choice(
        "structured",
        "structured (Crammer–Singer)",
        "one hinge on the largest wrong score; a tie goes to the lowest class index",
    ),
)


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


def per_example(S: np.ndarray, y: np.ndarray, spec: LossSpec) -> np.ndarray:
    """L_i for a stack of score matrices (..., N, C) -> (..., N)."""
    margins = hinge_margins(S, y, spec)
    if spec.variant == "structured":
        return np.maximum(margins.max(axis=-1), 0.0)
    return np.maximum(margins, 0.0).sum(axis=-1)


def parts(S: np.ndarray, y: np.ndarray, spec: LossSpec) -> LossParts:
    """L_i, margins, the active terms and dL_i/dS at one score matrix."""
    rows = np.arange(y.size)
    margins = hinge_margins(S, y, spec)
    dS = np.zeros_like(S)
    if spec.variant == "structured":
        masked = margins.copy()
        masked[rows, y] = -np.inf
        worst = masked.argmax(axis=1)
        top = masked[rows, worst]
        losses = np.maximum(top, 0.0)
        violated = top > 0
        active = np.zeros_like(S, dtype=bool)
        active[rows[violated], worst[violated]] = True
        dS[rows[violated], worst[violated]] = 1.0
        dS[rows[violated], y[violated]] = -1.0
    else:
        active = margins > 0
        if spec.variant == "ww":
            active[rows, y] = False
            losses = np.where(active, margins, 0.0).sum(axis=1)
            dS = active.astype(np.float64)
            dS[rows, y] = -active.sum(axis=1)
        else:  # ova: d/ds_j max(0, delta - t_j s_j) = -t_j when active
            losses = np.where(active, margins, 0.0).sum(axis=1)
            dS = -signs(y, S.shape[1]) * active
    return LossParts(losses, margins, active, dS)


def line_terms(
    S0: np.ndarray, S1: np.ndarray, y: np.ndarray, spec: LossSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts and slopes (T, K) of the lines each loss term is the maximum of.

    WW: T = N*(C-1) hinge terms, one-vs-all: T = N*C; K = 2 (the zero line and the margin line).
    Structured: T = N examples, K = C (the true-class slot holds the zero line).
    """
    if spec.variant == "structured":
        return hinge_margins(S0, y, spec), hinge_margins(
            S1, y, LossSpec(variant="structured", delta=0.0)
        )
    if spec.variant == "ova":
        t = signs(y, S0.shape[-1])
        m0, m1 = spec.delta - t * S0, -t * S1
    else:  # the true-class slots are no terms at all
        live = np.ones(S0.shape, dtype=bool)
        live[np.arange(y.size), y] = False
        m0 = (S0 - S0[np.arange(y.size), y][:, None] + spec.delta)[live]
        m1 = (S1 - S1[np.arange(y.size), y][:, None])[live]
    m0, m1 = m0.reshape(-1), m1.reshape(-1)
    zeros = np.zeros_like(m0)
    return np.stack([zeros, m0], axis=1), np.stack([zeros, m1], axis=1)


def term_values(
    scores: np.ndarray, y: np.ndarray, spec: LossSpec
) -> list[tuple[int, int, np.ndarray]]:
    """Each hinge term max(0, m_ij) along the steps (WW skips the true class's slot)."""
    values = np.maximum(hinge_margins(scores, y, spec), 0.0)
    return [
        (i, j, values[:, i, j])
        for i in range(y.size)
        for j in range(scores.shape[-1])
        if not (spec.variant == "ww" and j == y[i])
    ]


def circuit_lines(
    y: np.ndarray, num_classes: int, spec: LossSpec, literal: Callable[[float], str]
) -> list[str]:
    """L{i} from the scores s{i}_{j}, one max(0, ...) per hinge as the variant has them."""
    delta = f" - {literal(-spec.delta)}" if spec.delta < 0 else f" + {literal(spec.delta)}"
    lines = []
    if spec.variant != "ova" and num_classes == 1:
        lines.append(
            "# one class: there is no margin, so every L_i is 0 for every W "
            "(0 * s keeps the weights inputs of the circuit)"
        )
    for i in range(y.size):
        yi = int(y[i])
        others = [j for j in range(num_classes) if j != yi]
        if not others and spec.variant != "ova":
            body = f"0 * {score_name(i, yi)}"
        elif spec.variant == "structured":
            margins = ", ".join(f"{score_name(i, j)} - {score_name(i, yi)}{delta}" for j in others)
            body = f"max(0, {margins})"
        elif spec.variant == "ova":
            terms = []
            for j in range(num_classes):
                sign = "-" if j == yi else "+"
                terms.append(f"max(0, {literal(spec.delta)} {sign} {score_name(i, j)})")
            body = " + ".join(terms)
        else:
            body = " + ".join(
                f"max(0, {score_name(i, j)} - {score_name(i, yi)}{delta})" for j in others
            )
        lines.append(f"L{i} = {body}")
    return lines


# Measured (bench/landscape_cost.py): an exact grid row costs about this per score for a hinge,
# and for the structured variant's envelope of C lines this per score and class (up to C - 1
# steps over the lines).
GRID_WORK = {"ww": 30, "ova": 30, "structured": 20}


def _variant(name: str) -> LossKind:
    return LossKind(
        heading=f"svm, {name}",
        per_example=per_example,
        parts=parts,
        grid_work=GRID_WORK[name],
        line_terms=line_terms,
        hinge=name != "structured",
        term_values=None if name == "structured" else term_values,
        circuit=circuit_lines,
    )


def kind(spec: LossSpec) -> LossKind:
    """The SVM's LossKind for the spec's variant (the schema has checked it is one of these).
    Made on each call (a small dataclass), not once at import: mutation testing switches a
    function's mutants when it is called, so a table built at import hid _variant's."""
    return _variant(spec.variant)
