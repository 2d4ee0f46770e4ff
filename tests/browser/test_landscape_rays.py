"""The landscape page's 1-D plot: the subgradient rays and the kinks, against the hinge formula.

Nothing here is fetched from the API: the loss along the slice is worked out in the test from
the Weston-Watkins hinge, L(a) = (1/N) Σ_i Σ_{j≠y_i} max(0, m0_ij + m1_ij·a).
"""

from __future__ import annotations

from fractions import Fraction
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_landscape_page import axis_pixel, open_page, readout

pytestmark = pytest.mark.browser

# The notes' 1-D data (dataset cs231n-1d): three points, one per class.
X = [1.0, -2.0, 0.5]
Y = [0, 1, 2]


def hinge_lines(W: list[float], axis_class: int) -> list[tuple[Fraction, Fraction]]:
    """(m0, m1) of every hinge term along W + a·E[axis_class, 0], exactly: the term's argument
    s_j - s_y + 1 at W, and how fast it moves with a (x_i, signed by which score moves)."""
    lines = []
    for x, y in zip(X, Y, strict=True):
        scores = [Fraction(w) * Fraction(x) for w in W]
        for j in range(len(W)):
            if j == y:
                continue
            m0 = scores[j] - scores[y] + 1
            m1 = Fraction(x) * ((j == axis_class) - (y == axis_class))
            lines.append((m0, m1))
    return lines


def loss_at(lines: list[tuple[Fraction, Fraction]], a: Fraction) -> Fraction:
    return sum((max(Fraction(0), m0 + m1 * a) for m0, m1 in lines), Fraction(0)) / len(X)


def one_sided_slopes(lines: list[tuple[Fraction, Fraction]]) -> tuple[Fraction, Fraction]:
    """Slopes just left and just right of a = 0: a term counts where its argument is positive
    there (at m0 = 0, on the side its slope points up from)."""
    left = sum((m1 for m0, m1 in lines if m0 > 0 or (m0 == 0 and m1 < 0)), Fraction(0))
    right = sum((m1 for m0, m1 in lines if m0 > 0 or (m0 == 0 and m1 > 0)), Fraction(0))
    return left / len(X), right / len(X)


def ww_loss(X: list[list[float]], Y: list[int], W: list[list[float]]) -> float:
    """The Weston-Watkins SVM loss (delta 1, no reg) of data X, Y at W, in exact arithmetic."""
    total = Fraction(0)
    for x, y in zip(X, Y, strict=True):
        scores = [sum(Fraction(w) * Fraction(v) for w, v in zip(row, x, strict=True)) for row in W]
        total += sum(max(Fraction(0), s - scores[y] + 1) for j, s in enumerate(scores) if j != y)
    return float(total / len(X))


def kinks_in(lines: list[tuple[Fraction, Fraction]], lo: float, hi: float) -> list[Fraction]:
    return sorted({-m0 / m1 for m0, m1 in lines if m1 != 0 and lo < -m0 / m1 <= hi})


# W = (0.5, 1, -0.5), moving W[0, 0]; scores s_i = W·x_i:
#   x = 1, y = 0:    s = (0.5, 1, -0.5);   j=1: 1.5 - a;      j=2: 0 - a   (a kink at W itself)
#   x = -2, y = 1:   s = (-1, -2, 1);      j=0: 2 - 2a;       j=2: 4
#   x = 0.5, y = 2:  s = (0.25, 0.5, -0.25); j=0: 1.5 + 0.5a; j=1: 1.75
# kinks at a = 1.5, 0, 1 and -3; at a = 0: loss (1.5 + 0 + 2 + 4 + 1.5 + 1.75)/3 = 43/12,
# right slope (-1 - 2 + 0.5)/3 = -5/6, left slope adds the j=2 term of the first point: -7/6.
W = [0.5, 1.0, -0.5]
QUERY = "?" + urlencode(
    {
        "dataset": "cs231n-1d",
        "winit": "table",
        "W": ";".join(f"{w:g}" for w in W),
        "lo": -4,
        "hi": 4,
    }
)


def test_the_worked_example_above_is_what_the_formula_gives() -> None:
    lines = hinge_lines(W, 0)
    assert loss_at(lines, Fraction(0)) == Fraction(43, 12)
    assert one_sided_slopes(lines) == (Fraction(-7, 6), Fraction(-5, 6))
    assert kinks_in(lines, -4, 4) == [-3, 0, 1, Fraction(3, 2)]


def ray(page: Page, side: str) -> dict[str, float]:
    line = page.locator(f".plot1d line.slope-ray.slope-{side}")
    expect(line).to_have_count(1)
    return {
        key: float(line.get_attribute(key) or "nan")
        for key in ("x1", "y1", "x2", "y2", "data-slope")
    }


def test_rays_show_the_left_and_right_slopes_on_their_own_sides(page: Page) -> None:
    open_page(page, QUERY)
    lines = hinge_lines(W, 0)
    left, right = (float(s) for s in one_sided_slopes(lines))
    assert readout(page, "loss") == pytest.approx(float(loss_at(lines, Fraction(0))), rel=1e-12)

    x_zero, x_per_unit = axis_pixel(page, ".plot1d", "axis-x")
    x_zero += x_per_unit * W[0]  # the axis shows W[0, 0]'s own value: a = 0 is W[0, 0]
    y_zero, y_per_unit = axis_pixel(page, ".plot1d", "axis-y")
    for side, slope, direction in (("left", left, -1), ("right", right, 1)):
        drawn = ray(page, side)
        assert drawn["data-slope"] == pytest.approx(slope, rel=1e-12), side
        # the drawn segment: it starts at W (a = 0) and heads to its own side
        a1, a2 = ((drawn[k] - x_zero) / x_per_unit for k in ("x1", "x2"))
        l1, l2 = ((drawn[k] - y_zero) / y_per_unit for k in ("y1", "y2"))
        assert a1 == pytest.approx(0.0, abs=0.02)  # ticks are placed half a pixel off
        assert (a2 - a1) * direction > 0, side
        assert (l2 - l1) / (a2 - a1) == pytest.approx(slope, rel=1e-9), side
    # at W the loss has a kink: the right slope is the larger one
    assert left < right


def test_kinks_are_drawn_where_the_hinges_switch(page: Page) -> None:
    open_page(page, QUERY)
    want = [float(k) for k in kinks_in(hinge_lines(W, 0), -4, 4)]
    circles = page.locator(".plot1d circle.kink")
    expect(circles).to_have_count(len(want))
    drawn = sorted(
        circles.evaluate_all("cs => cs.map(c => [Number(c.dataset.alpha), c.cx.baseVal.value])")
    )
    zero, per_unit = axis_pixel(page, ".plot1d", "axis-x")
    zero += per_unit * W[0]  # the axis shows W[0, 0]'s own value: a = 0 is W[0, 0]
    for (alpha, cx), kink in zip(drawn, want, strict=True):
        assert alpha == pytest.approx(kink, abs=1e-12)
        assert cx == pytest.approx(zero + per_unit * kink, abs=0.6)
    assert readout(page, "kink_count") == len(want)
    assert readout(page, "subgradient") == pytest.approx(
        [float(s) for s in one_sided_slopes(hinge_lines(W, 0))], abs=1e-12
    )
