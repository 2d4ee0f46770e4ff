"""The landscape page's 1-D figure in Chromium: named lines, its colours, legend, marks, axis, and clicks that move W.

Nothing here is fetched from the API: every line is the Weston-Watkins hinge worked out in the
test on the notes' three points (tests/browser/test_landscape_rays.py has the worked example:
W = (0.5, 1, -0.5), moving W[0, 0], kinks at a = -3, 0, 1 and 3/2).
"""

from __future__ import annotations

import json
from fractions import Fraction
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_landscape_page import axis_pixel, open_page, readout
from tests.browser.test_landscape_rays import X, Y, hinge_lines, kinks_in, loss_at, one_sided_slopes

pytestmark = pytest.mark.browser

W = [0.5, 1.0, -0.5]
VIEWBOX_WIDTH = 820


def query(weights: list[float] = W, **changes: object) -> str:
    state = {
        "dataset": "cs231n-1d",
        "winit": "table",
        "W": ";".join(f"{w:g}" for w in weights),
        "lo": -4,
        "hi": 4,
        "li": 1,
        "terms": 1,
        **changes,
    }
    return "?" + urlencode(state)


def term_value(weights: list[float], i: int, j: int, a: Fraction) -> Fraction:
    """max(0, s_j - s_y + 1) of example i at W + a·E[0, 0]: W[0, 0] moves, so s_0 of every
    example moves by a·x_i."""
    x, y = Fraction(X[i]), Y[i]
    scores = [Fraction(w) * x for w in weights]
    scores[0] += a * x
    return max(Fraction(0), scores[j] - scores[y] + 1)


def example_value(weights: list[float], i: int, a: Fraction) -> Fraction:
    return sum((term_value(weights, i, j, a) for j in range(3) if j != Y[i]), Fraction(0))


def fmt(value: float) -> str:
    """d3's ".4~g" for these numbers: 4 significant digits, no trailing zeros."""
    return f"{value:.4g}"


class Pixels:
    """From a value of a (and a loss) to the plot's own pixels and to the page's."""

    def __init__(self, page: Page, weight: float) -> None:
        zero, self.per_a = axis_pixel(page, ".plot1d", "axis-x")
        self.a_zero = zero + self.per_a * weight  # the axis shows the weight's value
        self.y_zero, self.per_loss = axis_pixel(page, ".plot1d", "axis-y")
        box = page.locator(".plot1d").bounding_box()
        assert box is not None
        self.box, self.scale = box, box["width"] / VIEWBOX_WIDTH

    def x(self, a: float) -> float:
        return self.a_zero + self.per_a * a

    def y(self, loss: float) -> float:
        return self.y_zero + self.per_loss * loss

    def on_page(self, a: float, loss: float) -> tuple[float, float]:
        return self.box["x"] + self.scale * self.x(a), self.box["y"] + self.scale * self.y(loss)


def test_every_line_is_named_in_the_legend_in_its_own_colour(page: Page) -> None:
    open_page(page, query())
    names = page.locator(".plot1d .legend .legend-row text").all_text_contents()
    examples = [f"L_{i}" for i in range(3)]
    terms = [f"L_{i}, term j={j}" for i in range(3) for j in range(3) if j != Y[i]]
    for name in examples + terms:
        assert name in names
    # the minimum, worked out here: the loss is piecewise linear, so it is at a kink or an end
    lines = hinge_lines(W, 0)
    candidates = [Fraction(-4), Fraction(4), *kinks_in(lines, -4, 4)]
    best = min(candidates, key=lambda a: loss_at(lines, a))
    assert f"minimum on the line ({fmt(float(loss_at(lines, best)))})" in names
    assert "W (W[0,0] = 0.5)" in names
    assert "kink (a hinge switches): 4" in names
    # each legend swatch has its line's colour and dash
    drawn = page.locator(".plot1d .example-line, .plot1d .term-line").evaluate_all(
        """ps => ps.map(p => [p.dataset.example !== undefined ? `L_${p.dataset.example}`
              : `term_${p.dataset.term.replace(',', '_')}`, getComputedStyle(p).stroke,
              p.getAttribute('stroke-dasharray')])"""
    )
    assert len(drawn) == 3 + 6
    swatches = dict(
        (key, (stroke, dash))
        for key, stroke, dash in page.locator(".plot1d .legend .legend-row").evaluate_all(
            """rs => rs.map(r => [r.dataset.key, getComputedStyle(r.querySelector('line')).stroke,
                  r.querySelector('line').getAttribute('stroke-dasharray')])"""
        )
    )
    for key, stroke, dash in drawn:
        assert swatches[key.replace("L_", "L_")] == (stroke, dash), key
    # no line reuses the rays' red, the kinks' orange or the minimum's green
    marks = page.evaluate(
        """() => {
            const s = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
            return [s('.plot1d .slope-ray', 'stroke'), s('.plot1d circle.kink', 'fill'),
                    s('.plot1d .minimum-mark', 'fill')];
        }"""
    )
    assert len(set(marks)) == 3
    assert not {stroke for _, stroke, _ in drawn} & set(marks)


def test_the_legend_sits_below_the_data_and_kinks_above_the_marks(page: Page) -> None:
    open_page(page, query())
    legend_top = page.locator(".plot1d .legend").evaluate("g => g.getBoundingClientRect().top")
    data_bottom = page.locator(".plot1d .hover-overlay").evaluate(
        "r => r.getBoundingClientRect().bottom"
    )
    assert legend_top > data_bottom
    want = [float(k) for k in kinks_in(hinge_lines(W, 0), -4, 4)]
    kinks = page.locator(".plot1d circle.kink")
    expect(kinks).to_have_count(len(want))  # the one under W (a = 0) too
    # drawn after W's and the minimum's marks, so on top of them
    order = page.evaluate(
        """() => {
            const k = document.querySelector('.plot1d g.kinks');
            const after = (sel) => Boolean(document.querySelector(sel).compareDocumentPosition(k)
                & Node.DOCUMENT_POSITION_FOLLOWING);
            return [after('.plot1d .origin-mark'), after('.plot1d .minimum-mark')];
        }"""
    )
    assert order == [True, True]
    pixels = Pixels(page, W[0])
    at_w = page.locator('.plot1d circle.kink[data-alpha="0"]')
    assert float(at_w.get_attribute("cx") or "nan") == pytest.approx(pixels.x(0), abs=0.6)
    origin_cx = float(page.locator(".plot1d .origin-mark").get_attribute("cx") or "nan")
    assert origin_cx == pytest.approx(pixels.x(0), abs=0.6)


def test_the_axis_is_the_weights_own_value(page: Page) -> None:
    open_page(page, query())
    expect(page.locator(".plot1d .axis-label-x")).to_have_text(
        "W[0,0]: the weight's value (now 0.5)"
    )
    # W sits at the axis's value 0.5, and the tick labelled 2 is the kink at a = 3/2
    zero, per_unit = axis_pixel(page, ".plot1d", "axis-x")
    ticks = dict(
        page.locator(".plot1d .axis-x .tick").evaluate_all(
            "ts => ts.map(t => [t.textContent.replace('\u2212', '-'),"
            " t.transform.baseVal.consolidate().matrix.e])"
        )
    )
    origin_cx = float(page.locator(".plot1d .origin-mark").get_attribute("cx") or "nan")
    assert zero + per_unit * 0.5 == pytest.approx(origin_cx, abs=0.6)
    kink = page.locator('.plot1d circle.kink[data-alpha="1.5"]')
    assert float(kink.get_attribute("cx") or "nan") == pytest.approx(ticks["2"], abs=0.6)
    page.select_option('[data-state="dir"]', "random")
    expect(page.locator(".plot1d .axis-label-x")).to_have_text(
        "a (step along the direction; W at a = 0)"
    )


def test_hover_names_the_line_under_the_pointer(page: Page) -> None:
    open_page(page, query())
    pixels = Pixels(page, W[0])
    a = Fraction(-7, 2)
    tooltip = page.locator(".plot1d .tooltip")
    # at a = -7/2: L_1 = 9 + 4 = 13, and L_0's term j=1 is 1.5 + 7/2 = 5, far from the others
    l1 = example_value(W, 1, a)
    term = term_value(W, 0, 1, a)
    assert (l1, term) == (13, 5)
    for name, value, line in (
        ("L_1", l1, lambda at: example_value(W, 1, at)),
        ("L_0, term j=1", term, lambda at: term_value(W, 0, 1, at)),
    ):
        page.mouse.move(*pixels.on_page(float(a), float(value)))
        expect(tooltip).to_contain_text(f"nearest line: {name} = ")
        # the pointer lands on a whole pixel: the tooltip's a is within a pixel of -7/2, and
        # its value is the line's at that a
        hover = json.loads(page.locator("#ls-plot1d").get_attribute("data-hover") or "{}")
        assert hover["line"] == name
        assert hover["alpha"] == pytest.approx(float(a), abs=2 / pixels.per_a)
        text = (tooltip.text_content() or "").replace("\u2212", "-")
        shown = float(text.split(f"nearest line: {name} = ")[1].split()[0])
        assert shown == pytest.approx(float(line(Fraction(hover["alpha"]))), rel=1e-3)
        assert f"W[0,0] = {fmt(W[0] + hover['alpha'])}" in text
    expect(page.locator(".plot1d .term-line.highlight")).to_have_attribute("data-term", "0,1")


def test_a_click_near_a_kink_moves_w_onto_it_and_the_fan_opens(page: Page) -> None:
    # W[0, 0] = 1 is no kink (the hinges switch at W[0, 0] = -2.5, 0.5, 1.5 and 2): no fan
    start = [1.0, 1.0, -0.5]
    assert 0 not in kinks_in(hinge_lines(start, 0), -4, 4) + [Fraction(-4)]
    open_page(page, query(start))
    expect(page.locator(".plot1d .fan")).to_have_count(0)
    pixels = Pixels(page, start[0])
    # W[0, 0] = 2 (a = 1) is a kink: a click 3 pixels off it moves W onto it exactly
    x, y = pixels.on_page(1.0, 2.0)
    page.mouse.click(x + 3 * pixels.scale, y)
    page.wait_for_url("**W=2%3B1%3B-0.5**")
    moved = [2.0, 1.0, -0.5]
    left, right = (float(s) for s in one_sided_slopes(hinge_lines(moved, 0)))
    assert left < right
    expect(page.locator(".plot1d .fan")).to_have_count(2)  # the new answer is drawn
    assert readout(page, "subgradient") == pytest.approx([left, right], rel=1e-12)
    assert readout(page, "loss") == pytest.approx(float(loss_at(hinge_lines(moved, 0), 0)))
    expect(page.locator(".plot1d .fan")).to_have_count(2)
    labels = page.locator(".plot1d .slope-label").all_text_contents()
    assert [label.replace("\u2212", "-") for label in labels] == [
        f"left slope {fmt(left)}",
        f"right slope {fmt(right)}",
    ]
    assert "subgradient interval (W at a kink)" in page.locator(".plot1d .legend").text_content()
    screenshot(page, "landscape-1d-fan")


def test_a_click_away_from_kinks_moves_w_there(page: Page) -> None:
    open_page(page, query())
    pixels = Pixels(page, W[0])
    url = page.url
    page.mouse.click(*pixels.on_page(-1.25, 3.0))
    page.wait_for_url(lambda now: now != url)
    state = parse_qs(urlsplit(page.url).query)
    w00, *rest = (float(v) for v in state["W"][0].split(";"))
    assert rest == W[1:]
    # one pixel of the plot is 8 / 732 of a unit of a
    assert w00 == pytest.approx(W[0] - 1.25, abs=8 / 732)
    expect(page.locator('#ls-wtable input[data-c="0"][data-d="0"]')).to_have_value(
        state["W"][0].split(";")[0]
    )


# ---------------------------------------------------------------- the numerical gradient's step h


def log_axis(page: Page, axis: str) -> tuple[float, float]:
    """(pixel of 10^0, pixels per decade) of a log axis of the numerical-gradient plot."""
    ticks = page.locator(f".plotgrad .{axis} .tick").evaluate_all(
        "ts => ts.map(t => [Number(t.textContent.replace('\u2212', '-')),"
        " t.transform.baseVal.consolidate().matrix.e, t.transform.baseVal.consolidate().matrix.f])"
    )
    (v0, x0, y0), (v1, x1, y1) = ticks[0], ticks[-1]
    p0, p1 = (x0, x1) if axis == "axis-x" else (y0, y1)
    per_decade = (p1 - p0) / (np.log10(v1) - np.log10(v0))
    return p0 - np.log10(v0) * per_decade, per_decade


def test_the_numerical_gradient_view_plots_both_errors_against_h(page: Page) -> None:
    from tests.test_landscape_numgrad import W as AT
    from tests.test_landscape_numgrad import softmax_grad, softmax_loss, worst_errors

    open_page(page, query([float(w) for w in AT.ravel()], view="grad", loss="softmax", reg=0.1))
    points = page.locator(".plotgrad circle.error-point")
    expect(points).to_have_count(2 * 37)
    drawn = points.evaluate_all(
        "ps => ps.map(p => [p.classList.contains('point-centred') ? 'centred' : 'forward',"
        " Number(p.dataset.h), Number(p.dataset.error), p.cx.baseVal.value, p.cy.baseVal.value])"
    )
    x0, x_per = log_axis(page, "axis-x")
    y0, y_per = log_axis(page, "axis-y")
    grad = softmax_grad(AT)
    for kind, h, error, cx, cy in drawn:
        want = dict(zip(("centred", "forward"), worst_errors(softmax_loss, grad, h), strict=True))
        # where truncation rules the page's error is the formula's; below, round-off of it
        if h >= (1e-3 if kind == "centred" else 1e-5):
            assert error == pytest.approx(want[kind], rel=1e-3), (kind, h)
        assert cx == pytest.approx(x0 + x_per * np.log10(h), abs=0.6)
        if error > 0:
            assert cy == pytest.approx(y0 + y_per * np.log10(error), abs=0.6)
    # the h of the gradient check is marked where it is on the axis
    mark = page.locator(".plotgrad .check-h line")
    assert float(mark.get_attribute("x1") or "nan") == pytest.approx(x0 + x_per * -5, abs=0.6)
    expect(page.locator(".plotgrad .check-h text")).to_have_text("the gradient check's h = 1e-5")
    assert readout(page, "grad_entries") == 3
    # the centred difference's best h is larger than the forward one's, its error smaller
    (h_c, e_c), (h_f, e_f) = readout(page, "grad_best_centred"), readout(page, "grad_best_forward")
    assert h_c > h_f and e_c < e_f
    assert "view=grad" in page.url
    screenshot(page, "landscape-numerical-gradient")
