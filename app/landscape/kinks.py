"""Exact piecewise-linear calculus of a loss along a line: kinks, slopes, values, grid rows.

Along W + a*D every score is linear in a, so for a piecewise-linear loss (one whose LossKind
has `line_terms`, such as the SVM) every term is a maximum of lines: a hinge max(0, m0 + m1*a)
is the maximum of two lines, and a Crammer-Singer L_i is the maximum of C lines. A maximum of lines is convex and piecewise
linear; `upper_envelope` finds where it switches lines (its kinks) and by how much the slope
grows there. Summing the examples, the loss is fixed by its value and slope at the left end of
the range plus the sorted kinks: prefix sums of the slope changes give its value anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.landscape.loss_kind import LineTerms, LossKind, LossSpec
from app.landscape.losses import CHUNK_VALUES, kind_of


def _line_terms(spec: LossSpec) -> tuple[LossKind, LineTerms]:
    kind = kind_of(spec)
    if kind.line_terms is None:
        raise ValueError(f"loss {spec.loss!r} is not piecewise linear: it has no exact line")
    return kind, kind.line_terms


def upper_envelope(B: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row's lines b + m*a (B, M: (T, K)), the envelope max_k as a -> -inf and its switches.

    Returns the slope at -inf (T,), and switch positions (T, K-1) (inf when unused, sorted per
    row) with the slope increase at each switch (T, K-1). Each step moves to the steeper line
    that overtakes the current one first (ties: the steepest), so at most K-1 switches.
    """
    T, K = B.shape
    rows = np.arange(T)
    flattest = M.min(axis=1, keepdims=True)
    current = np.where(flattest == M, B, -np.inf).argmax(axis=1)
    start_slope = M[rows, current]
    positions = np.full((T, max(K - 1, 1)), np.inf)
    increases = np.zeros((T, max(K - 1, 1)))
    previous = np.full(T, -np.inf)
    for step in range(K - 1):
        b_cur, m_cur = B[rows, current][:, None], M[rows, current][:, None]
        steeper = m_cur < M
        with np.errstate(divide="ignore", invalid="ignore"):
            overtakes = np.where(steeper, (b_cur - B) / np.where(steeper, M - m_cur, 1.0), np.inf)
        first = overtakes.min(axis=1)
        alive = np.isfinite(first)
        if not alive.any():
            break
        nxt = np.where(overtakes == first[:, None], M, -np.inf).argmax(axis=1)
        first = np.maximum(first, previous)  # rounding must not unsort a row's switches
        positions[alive, step] = first[alive]
        increases[alive, step] = (M[rows, nxt] - m_cur[:, 0])[alive]
        current = np.where(alive, nxt, current)
        previous = np.where(alive, first, previous)
    return start_slope, positions, increases


@dataclass
class ExactLine:
    """f(a) = (1/N) * (piecewise-linear sum of terms) + q0 + q1*a + q2*a^2 on [lo, hi], exactly.

    `value_lo`, `slope_lo` are the piecewise part's value at lo and slope just right of lo;
    `kinks` (sorted, in (lo, hi]) and `increases` its slope changes there (already / N).
    """

    lo: float
    hi: float
    value_lo: float
    slope_lo: float
    kinks: np.ndarray
    increases: np.ndarray
    quadratic: tuple[float, float, float]
    slope_minus_inf: float
    all_kinks: np.ndarray
    all_increases: np.ndarray

    def __post_init__(self) -> None:
        self._cum_inc = np.concatenate([[0.0], np.cumsum(self.increases)])
        self._cum_mom = np.concatenate([[0.0], np.cumsum(self.increases * (self.kinks - self.lo))])

    def q(self, a: np.ndarray | float) -> np.ndarray | float:
        q0, q1, q2 = self.quadratic
        return q0 + a * (q1 + a * q2)

    def value(self, a: np.ndarray) -> np.ndarray:
        """Exact loss at any a in [lo, hi] in O(log kinks) each."""
        a = np.asarray(a, dtype=np.float64)
        k = np.searchsorted(self.kinks, a, side="right")
        x = a - self.lo
        piecewise = self.value_lo + self.slope_lo * x + self._cum_inc[k] * x - self._cum_mom[k]
        return piecewise + self.q(a)

    def one_sided_slopes(self, a: float) -> tuple[float, float]:
        """f'(a-) and f'(a+) anywhere (not only in range), from all the switches."""
        q_slope = self.quadratic[1] + 2 * self.quadratic[2] * a
        left = self.slope_minus_inf + self.all_increases[self.all_kinks < a].sum()
        right = self.slope_minus_inf + self.all_increases[self.all_kinks <= a].sum()
        return float(left + q_slope), float(right + q_slope)

    def merged_kinks(self, rel_tol: float = 1e-12) -> list[dict[str, float]]:
        """Kinks in (lo, hi], coincident ones merged, each with its left and right slope."""
        if self.kinks.size == 0:
            return []
        scale = max(1.0, abs(self.lo), abs(self.hi))
        new_group = np.concatenate([[True], np.diff(self.kinks) > rel_tol * scale])
        starts = np.flatnonzero(new_group)
        alphas = self.kinks[starts]
        group_inc = np.add.reduceat(self.increases, starts)
        keep = group_inc > 0
        before = self.slope_lo + self._cum_inc[starts]
        q_slope = self.quadratic[1] + 2 * self.quadratic[2] * alphas
        return [
            {"alpha": float(a), "slope_left": float(sl), "slope_right": float(sl + inc)}
            for a, sl, inc in zip(
                alphas[keep], (before + q_slope)[keep], group_inc[keep], strict=True
            )
        ]

    def minimum(self) -> tuple[float, float]:
        """The exact minimum on [lo, hi]: at a kink, an end, or a segment's stationary point."""
        candidates = [np.array([self.lo, self.hi]), self.kinks]
        q1, q2 = self.quadratic[1], self.quadratic[2]
        if q2 > 0:
            edges = np.concatenate([[self.lo], self.kinks, [self.hi]])
            segment_slopes = self.slope_lo + self._cum_inc  # slope on each segment
            stationary = -(segment_slopes + q1) / (2 * q2)
            candidates.append(np.clip(stationary, edges[:-1], edges[1:]))
        points = np.concatenate(candidates)
        values = self.value(points)
        best = int(np.argmin(values))
        return float(points[best]), float(values[best])


def exact_line(
    S0: np.ndarray,
    S1: np.ndarray,
    y: np.ndarray,
    spec: LossSpec,
    lo: float,
    hi: float,
    quadratic: tuple[float, float, float],
) -> ExactLine:
    """The loss along scores S0 + a*S1 on [lo, hi], exactly (a loss with `line_terms`)."""
    n = y.size
    _, line_terms = _line_terms(spec)
    B, M = line_terms(S0, S1, y, spec)
    slope_inf, positions, increases = upper_envelope(B, M)
    used = np.isfinite(positions)
    all_kinks, all_inc = positions[used], increases[used]
    value_lo = float(np.max(B + M * lo, axis=1).sum())
    right_of_lo = all_kinks <= lo
    slope_lo = float(slope_inf.sum() + all_inc[right_of_lo].sum())
    inside = (all_kinks > lo) & (all_kinks <= hi)
    order = np.argsort(all_kinks[inside], kind="stable")
    return ExactLine(
        lo=lo,
        hi=hi,
        value_lo=value_lo / n,
        slope_lo=slope_lo / n,
        kinks=all_kinks[inside][order],
        increases=all_inc[inside][order] / n,
        quadratic=quadratic,
        slope_minus_inf=float(slope_inf.sum()) / n,
        all_kinks=all_kinks,
        all_increases=all_inc / n,
    )


def grid_rows(
    S0: np.ndarray,
    S1: np.ndarray,
    S2: np.ndarray,
    betas: np.ndarray,
    y: np.ndarray,
    spec: LossSpec,
    lo: float,
    hi: float,
    steps: int,
) -> np.ndarray:
    """The data loss on the grid (betas x alphas), each row an exact 1-D line.

    Row r is the line S0 + betas[r]*S2 + a*S1. Its kinks are bucketed to the first grid point at
    or past them (a counting sort) and the slope changes prefix-summed: a row costs
    O(T*K + steps), not O(steps*N*C). Rows are processed in chunks to bound memory.
    """
    n = y.size
    kind, line_terms = _line_terms(spec)
    B0, M = line_terms(S0, S1, y, spec)
    # with delta = 0 the intercepts are the part linear in the scores (LossKind.line_terms)
    B2, _ = line_terms(S2, S1, y, LossSpec(spec.loss, spec.variant, 0.0, 0.0))
    T, K = M.shape
    hinge = kind.hinge
    if hinge:  # K = 2 lines [0, m0 + m1*a]: the kink is at -m0/m1 and the slope grows by |m1|
        A0, A2, m1 = B0[:, 1], B2[:, 1], M[:, 1]
        with np.errstate(divide="ignore"):
            neg_inv = np.where(m1 != 0, -1.0 / np.where(m1 != 0, m1, 1.0), np.nan)
        grows = np.abs(m1)
    h = (hi - lo) / (steps - 1)
    offsets = np.arange(steps) * h
    out = np.empty((betas.size, steps))
    chunk = max(1, CHUNK_VALUES // max(1, T * K))
    for start in range(0, betas.size, chunk):
        b = betas[start : start + chunk]
        R = b.size
        if hinge:
            m0 = A0[None] + b[:, None] * A2[None]  # (R, T)
            value_lo = np.maximum(m0 + m1 * lo, 0.0).sum(axis=1)
            with np.errstate(invalid="ignore"):
                positions = m0 * neg_inv
                on_right_of_lo = np.where(m1 > 0, positions <= lo, positions > lo)
            slope_lo = on_right_of_lo @ m1
            increases = np.broadcast_to(grows, positions.shape)
        else:
            B = (B0[None] + b[:, None, None] * B2[None]).reshape(R * T, K)
            Mt = np.broadcast_to(M, (R, T, K)).reshape(R * T, K)
            slope_inf, positions, increases = upper_envelope(B, Mt)
            value_lo = np.max(B + Mt * lo, axis=1).reshape(R, T).sum(axis=1)
            slope_lo = slope_inf.reshape(R, T).sum(axis=1)
            slope_lo += np.where(positions <= lo, increases, 0.0).reshape(R, -1).sum(axis=1)
            positions, increases = positions.reshape(R, -1), increases.reshape(R, -1)
        out[start : start + R] = (
            _accumulate_rows(value_lo, slope_lo, positions, increases, lo, h, offsets) / n
        )
    return out


def _accumulate_rows(
    value_lo: np.ndarray,
    slope_lo: np.ndarray,
    positions: np.ndarray,
    increases: np.ndarray,
    lo: float,
    h: float,
    offsets: np.ndarray,
) -> np.ndarray:
    """Rows of f(lo + offsets) from each row's value and slope at lo and its kinks (R, P).

    A kink at p counts for grid point i once lo + i*h >= p, so it is bucketed at ceil((p-lo)/h);
    prefix sums over the buckets of the slope increase g and of g*(p - lo) give
    f_i = f(lo) + slope(lo)*x_i + sum_{p <= a_i} g*(x_i - (p - lo)), with x_i = i*h.
    """
    R, steps = value_lo.size, offsets.size
    with np.errstate(invalid="ignore"):
        later = np.isfinite(positions) & (positions > lo)  # no kink, or left of the range
        x = np.where(later, positions - lo, 0.0)
    bucket = np.minimum(np.ceil(x / h), steps).astype(np.int64)
    bucket[~later] = steps
    np.maximum(bucket, 1, out=bucket, where=later)
    bucket += (np.arange(R) * (steps + 1))[:, None]
    index = bucket.ravel()
    size = R * (steps + 1)
    grow = np.where(later, increases, 0.0)
    cum_inc = np.cumsum(np.bincount(index, grow.ravel(), size).reshape(R, steps + 1), axis=1)
    cum_mom = np.cumsum(np.bincount(index, (grow * x).ravel(), size).reshape(R, steps + 1), axis=1)
    return (
        value_lo[:, None]
        + (slope_lo + 0.0)[:, None] * offsets[None]
        + cum_inc[:, :steps] * offsets[None]
        - cum_mom[:, :steps]
    )
