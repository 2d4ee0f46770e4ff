"""The softmax cross-entropy loss: its maths and its circuit text (smooth, so sampled along a slice)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.landscape.loss_kind import LossKind, LossParts, LossSpec, score_name


def per_example(S: np.ndarray, y: np.ndarray, spec: LossSpec) -> np.ndarray:
    """L_i = log sum_j exp(s_j) - s_y, shifted by the row maximum so no exp overflows."""
    shifted = S - S.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=-1))
    return log_norm - shifted[..., np.arange(y.size), y]


def parts(S: np.ndarray, y: np.ndarray, spec: LossSpec) -> LossParts:
    """L_i, s_j - s_y, the probabilities and dL_i/dS = p - onehot(y)."""
    rows = np.arange(y.size)
    shifted = S - S.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    probabilities = exp / exp.sum(axis=1, keepdims=True)
    losses = np.log(exp.sum(axis=1)) - shifted[rows, y]
    margins = S - S[rows, y][:, None]
    dS = probabilities.copy()
    dS[rows, y] -= 1.0
    return LossParts(losses, margins, np.ones_like(S, dtype=bool), dS, probabilities)


def circuit_lines(
    y: np.ndarray, num_classes: int, spec: LossSpec, literal: Callable[[float], str]
) -> list[str]:
    """m{i} = max of the scores, then L{i} = m + log(sum exp(s - m)) - s_y."""
    lines = []
    for i in range(y.size):
        # The stable log-sum-exp, as the landscape computes it: m + log(sum exp(s - m)) never
        # overflows, where log(sum exp(s)) is Infinity at scores of 1000 and dW NaN.
        scores = [score_name(i, j) for j in range(num_classes)]
        top = f"m{i}"
        most = f"max({', '.join(scores)})" if num_classes > 1 else scores[0]
        lines.append(f"{top} = {most}")
        exps = " + ".join(f"exp({s} - {top})" for s in scores)
        lines.append(f"L{i} = {top} + log({exps}) - {score_name(i, int(y[i]))}")
    return lines


# A sampled grid point costs a log-sum-exp per score, about 20 ns measured (bench/landscape_cost.py).
SOFTMAX = LossKind(
    heading="softmax", per_example=per_example, parts=parts, grid_work=24, circuit=circuit_lines
)


def kind(spec: LossSpec) -> LossKind:
    return SOFTMAX
