"""Hover linking in Chromium: a row, a point or an L_i line marks the same example in the table, the data view and the 1-D plot."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_landscape_dataview import POINTS, QUERY, W, with_bias
from tests.browser.test_landscape_figure import Pixels
from tests.browser.test_landscape_page import open_page

pytestmark = pytest.mark.browser

# the six points of test_landscape_dataview, the 1-D slice along W[0, 0] (the default) with each
# example's L_i and each hinge term
PAGE = f"{QUERY}&terms=1"
HOT = re.compile(r"\bhot\b")


def marked(page: Page) -> dict[str, list[str]]:
    """What carries the highlight now, in each of the three places."""
    return page.evaluate(
        """() => ({
          rows: [...document.querySelectorAll('#ls-examples tbody tr.hot')].map(r => r.dataset.i),
          points: [...document.querySelectorAll('.dataview circle.point.hot')].map(c => c.dataset.i),
          lines: [...document.querySelectorAll('.plot1d .example-line.hot')].map(p => p.dataset.example),
          terms: [...document.querySelectorAll('.plot1d .term-line.hot')].map(p => p.dataset.term),
        })"""
    )


def style(page: Page, selector: str) -> dict[str, str]:
    return page.locator(selector).evaluate(
        "el => { const s = getComputedStyle(el); return {width: s.strokeWidth, opacity: s.opacity}; }"
    )


def terms_of(i: int) -> list[str]:
    """Example i's hinge terms, one per class other than its own."""
    return [f"{i},{j}" for j in range(W.shape[0]) if j != POINTS[i][2]]


def expect_marked(page: Page, i: int) -> None:
    expect(page.locator("#ls-examples tbody tr.hot")).to_have_attribute("data-i", str(i))
    assert marked(page) == {
        "rows": [str(i)],
        "points": [str(i)],
        "lines": [str(i)],
        "terms": terms_of(i),
    }


def test_hovering_a_row_marks_its_point_and_lines_and_leaving_clears_them(page: Page) -> None:
    open_page(page, PAGE)
    rows = page.locator("#ls-examples tbody tr")
    expect(rows).to_have_count(len(POINTS))
    expect(page.locator(".plot1d .example-line")).to_have_count(len(POINTS))
    rows.nth(3).hover()
    expect_marked(page, 3)
    # on screen: the point is ringed and larger, L_3 and its terms are thick and opaque, the
    # other examples' lines fade
    assert page.locator('.dataview circle.point[data-i="3"]').get_attribute("r") == "8"
    assert page.locator('.dataview circle.point[data-i="2"]').get_attribute("r") == "6"
    assert style(page, '.plot1d .example-line[data-example="3"]') == {
        "width": "3.5px",
        "opacity": "1",
    }
    assert style(page, f'.plot1d .term-line[data-term="{terms_of(3)[0]}"]')["opacity"] == "1"
    assert style(page, '.plot1d .example-line[data-example="0"]')["opacity"] == "0.2"
    assert style(page, f'.plot1d .term-line[data-term="{terms_of(0)[0]}"]')["opacity"] == "0.2"
    page.mouse.move(2, 2)  # off the table, the view and the plot
    expect(page.locator("#ls-examples tbody tr.hot")).to_have_count(0)
    assert marked(page) == {"rows": [], "points": [], "lines": [], "terms": []}
    assert style(page, '.plot1d .example-line[data-example="0"]') == {
        "width": "1.6px",
        "opacity": "1",
    }


def test_hovering_a_point_or_an_l_i_line_marks_its_row(page: Page) -> None:
    open_page(page, PAGE)
    # each L_i along W[0, 0] + a, worked out here: s_0 of example i moves by a * x_i0
    X, y = with_bias(POINTS)
    alphas = np.round(
        np.arange(-2.7, 2.7001, 0.3), 10
    )  # inside the range, on its sample grid (201 over [-3, 3])
    lines, hinges = [], []
    for a in alphas:
        moved = W.copy()
        moved[0, 0] += a
        S = X @ moved.T
        margins = np.maximum(0.0, S - S[np.arange(len(y)), y][:, None] + 1.0)
        margins[np.arange(len(y)), y] = 0.0
        lines.append(margins.sum(axis=1))
        hinges.append(margins)
    per_example = np.array(lines)  # alphas x examples
    terms = np.array(hinges)  # alphas x examples x classes (0 at an example's own class)
    total = per_example.mean(axis=1)
    pixels = Pixels(page, W[0, 0])
    # the (a, i) whose L_i is farthest, in pixels, from every other example's lines and the
    # total (its own terms may touch it: they name the same example)
    best = None
    for k, a in enumerate(alphas):
        for i in range(len(POINTS)):
            others = [total[k]] + [
                v
                for e in range(len(POINTS))
                if e != i
                for v in (
                    per_example[k, e],
                    *(terms[k, e, int(t.split(",")[1])] for t in terms_of(e)),
                )
            ]
            gap = min(abs(pixels.y(per_example[k, i]) - pixels.y(v)) for v in others)
            if best is None or gap > best[0]:
                best = (gap, a, i)
    assert best is not None and best[0] > 20  # clear of the others by more than the snap of 10
    _, a, i = best
    j = (i + 1) % len(POINTS)  # a point of another example first
    page.locator(f'.dataview circle.point[data-i="{j}"]').hover()
    expect_marked(page, j)
    # the plot sits above the data view: bring the target to the viewport's middle, then move
    target = per_example[list(alphas).index(a), i]
    page.evaluate("dy => window.scrollBy(0, dy)", Pixels(page, W[0, 0]).on_page(a, target)[1] - 360)
    page.mouse.move(*Pixels(page, W[0, 0]).on_page(a, target))
    expect(page.locator(".plot1d .tooltip")).to_contain_text(
        re.compile(rf"nearest line: L_{i}(, term j=\d)? = ")
    )
    expect_marked(page, i)
    page.mouse.move(2, 2)
    expect(page.locator("#ls-examples tbody tr.hot")).to_have_count(0)
    assert marked(page) == {"rows": [], "points": [], "lines": [], "terms": []}


def test_keyboard_focus_marks_the_example_and_a_redraw_keeps_it(page: Page) -> None:
    open_page(page, f"{PAGE}&reg=0.1")  # every margin is met at W: only reg makes a step move it
    rows = page.locator("#ls-examples tbody tr")
    rows.nth(0).focus()
    expect_marked(page, 0)
    page.keyboard.press("Tab")  # rows are in the tab order, one after another
    expect(rows.nth(1)).to_be_focused()
    expect_marked(page, 1)
    # a training step redraws every view with the new W; the focused row and the marks stay
    before = page.locator(".plot1d .total-loss").get_attribute("d")
    page.locator("#ls-train-step").dispatch_event("click")  # a click that does not move focus
    # the step's loss is written once its W is drawn, every view included
    expect(page.locator("#ls-train-out")).to_have_text(re.compile(r"^step 1 / 1: loss"))
    assert page.locator(".plot1d .total-loss").get_attribute("d") != before
    expect(rows.nth(1)).to_be_focused()
    expect_marked(page, 1)
    assert style(page, '.plot1d .example-line[data-example="1"]')["width"] == "3.5px"
    page.keyboard.press("Shift+Tab")
    expect(rows.nth(0)).to_be_focused()
    expect_marked(page, 0)
    page.locator("#ls-train-step").focus()  # focus leaves the table: nothing is marked
    expect(page.locator("#ls-examples tbody tr.hot")).to_have_count(0)
    assert marked(page) == {"rows": [], "points": [], "lines": [], "terms": []}
