"""What one loss gives the landscape: LossKind, the entry kinks, slices, circuit and cost dispatch through.

A loss is a row of LOSSES (app/landscape/losses.py) whose `run` maps a LossSpec to its LossKind
(the SVM's depends on its variant). Everything the other modules need to know about a loss is a
field here, so none of them names a loss; adding one is its row, its module and its tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LossSpec:
    """Which loss (a name in LOSSES) and, for the SVM, which variant; margin delta and L2 reg."""

    loss: str = "svm"
    variant: str = "ww"
    delta: float = 1.0
    reg: float = 0.0


@dataclass
class LossParts:
    """A loss at one score matrix S (N x C), before the mean over examples and the regularizer."""

    per_example: np.ndarray  # (N,) L_i
    margins: np.ndarray  # (N, C): hinge arguments for SVM, s_j - s_y for softmax
    active: np.ndarray  # (N, C) bool: the terms that carry gradient
    dscores: np.ndarray  # (N, C): dL_i/dS, not yet divided by N
    probabilities: np.ndarray | None = None


# f(score matrices (..., N, C), labels (N,), spec) -> L_i (..., N)
PerExample = Callable[[np.ndarray, np.ndarray, LossSpec], np.ndarray]
# f(S0, S1, y, spec) -> intercepts and slopes (T, K) of the K lines each of T terms is the max of
LineTerms = Callable[[np.ndarray, np.ndarray, np.ndarray, LossSpec], tuple[np.ndarray, np.ndarray]]
# f(scores (steps, N, C), y, spec) -> [(i, j, values along the steps)] for each hinge term
TermValues = Callable[[np.ndarray, np.ndarray, LossSpec], list[tuple[int, int, np.ndarray]]]
# f(y, C, spec, literal) -> the program lines L{i} = ... (and any comment) from the scores s{i}_{j}
CircuitLines = Callable[[np.ndarray, int, LossSpec, Callable[[float], str]], list[str]]


@dataclass(frozen=True)
class LossKind:
    """One loss (for the SVM, one variant): its maths and what the landscape's modules need.

    `line_terms` makes the loss exact along a line (kinks.py): each term is the maximum of K
    lines b + m*a, with intercepts affine in the scores (their constant part is `delta`, so
    with delta = 0 they are the part linear in the scores). `hinge` says K = 2 with the zero
    line first, max(0, m0 + m1*a), which the 2-D grid computes without an envelope. Without
    `line_terms` the loss is sampled point by point. `grid_work` is the cost model's element
    operations (about 1 ns each) per score (N*C): per grid row when exact, and per class too
    when exact but not a hinge (an envelope of up to C lines per term); per grid point when
    sampled (app/landscape/cost.py).
    """

    heading: str  # how the circuit program's comment names it
    per_example: PerExample
    parts: Callable[[np.ndarray, np.ndarray, LossSpec], LossParts]
    grid_work: int
    line_terms: LineTerms | None = None
    hinge: bool = False
    term_values: TermValues | None = None  # the per-term lines of a 1-D slice (hinge terms)
    circuit: CircuitLines | None = None  # None: the loss has no circuit form (a 422)

    @property
    def exact(self) -> bool:
        return self.line_terms is not None


def score_name(i: int, j: int) -> str:
    """The circuit program's name of score S[i, j] (example i, class j)."""
    return f"s{i}_{j}"
