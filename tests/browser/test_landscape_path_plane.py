"""The landscape page's descent paths in Chromium: the plane of the path, the notes on a run, the names of its number.

Nothing here is fetched from the API: the gradient-descent path is worked out in the test from
the Weston-Watkins hinge (tests/test_landscape_plane.py), and its plane from the eigenvectors
of MᵀM, M's rows each W of the path minus the start.
"""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_landscape_page import axis_pixel, open_page, readout
from tests.test_landscape_plane import W0, descend, principal_plane

pytestmark = pytest.mark.browser

STEPS, STEP_SIZE = 50, 0.1


def query(**changes: object) -> str:
    state = {
        "view": "2d",
        "dataset": "cs231n-1d",
        "winit": "table",
        "W": ";".join(f"{w:g}" for w in W0.ravel()),
        "method": "gd",
        "lr": STEP_SIZE,
        "psteps": STEPS,
        "plane": "path",
        "lo": -1.5,
        "hi": 1.5,
        "grid": 31,
        **changes,
    }
    return "?" + urlencode(state)


def test_the_gd_path_lies_in_the_plane_of_the_path(page: Page) -> None:
    open_page(page, query())
    points, losses = descend(W0, STEP_SIZE, STEPS)
    values, _, coords, off = principal_plane(W0, points)
    scale = np.abs(coords).max()
    shares = values[:2] / values.sum()
    # what the page says the plane holds: the two shares, and the furthest point off it
    assert readout(page, "plane_captured") == pytest.approx(shares.sum(), abs=1e-12)
    assert readout(page, "plane_off") == pytest.approx(off.max(), abs=1e-12)
    text = page.locator('#ls-readout dd[data-key="plane_captured"]').text_content() or ""
    assert f"({100 * shares[0]:.4g}% + {100 * shares[1]:.4g}%)" in text
    assert readout(page, "path_start") == pytest.approx(losses[0], rel=1e-12)
    assert readout(page, "path_loss") == pytest.approx(losses[-1], rel=1e-12)
    # every point of the path is drawn where its (a, b) in the plane puts it, inside the plot
    circles = page.locator(".descent-path circle.path-point")
    expect(circles).to_have_count(STEPS + 1)
    drawn = circles.evaluate_all(
        "cs => cs.map(c => [c.cx.baseVal.value, c.cy.baseVal.value, c.classList.contains('off-plane')])"
    )
    x0, x_per = axis_pixel(page, ".plot2d", "axis-x")
    y0, y_per = axis_pixel(page, ".plot2d", "axis-y")
    box = page.locator(".plot2d .heatmap").evaluate(
        "img => [img.x.baseVal.value, img.y.baseVal.value, img.width.baseVal.value,"
        " img.height.baseVal.value]"
    )
    for (cx, cy, hollow), (a, b) in zip(drawn, coords / scale, strict=True):
        assert cx == pytest.approx(x0 + x_per * a, abs=0.6)
        assert cy == pytest.approx(y0 + y_per * b, abs=0.6)
        assert box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[3]
        assert not hollow  # on the plane: drawn solid
    expect(page.locator(".plot2d .axis-label-a")).to_have_text(
        "a (the path's first principal direction)"
    )
    # the path's plane is the path's own: a click does not move W
    url = page.url
    corner = page.locator(".plot2d .heatmap").bounding_box()
    assert corner is not None
    page.mouse.click(corner["x"] + 20, corner["y"] + 20)
    assert page.url == url
    screenshot(page, "landscape-path-plane")


def test_random_directions_leave_the_same_path_off_the_plane(page: Page) -> None:
    """The contrast the plane of the path removes: in a random plane the path's end is far off."""
    open_page(page, query(plane="random"))
    expect(page.locator('#ls-readout dd[data-key="plane_captured"]')).to_have_count(0)
    expect(page.locator(".descent-path circle.path-point.off-plane")).not_to_have_count(0)
    with page.expect_response("**/api/v1/landscape/slice") as answer:
        page.select_option("#ls-plane", "path")
    assert answer.value.request.post_data_json["plane"] == "path"
    page.wait_for_selector('#ls-readout dd[data-key="plane_captured"]')
    expect(page.locator(".descent-path circle.path-point.off-plane")).to_have_count(0)
    assert "plane=path" in page.url


def test_sgd_with_a_batch_of_n_or_more_says_so_beside_its_settings(page: Page) -> None:
    open_page(page, query(method="sgd", batch=8))
    notes = page.locator("#ls-path-notes")
    expect(notes).to_be_visible()
    expect(notes).to_have_text(
        "batch 8 ≥ N = 3: every minibatch is all 3 examples, so this SGD is plain gradient descent"
    )
    # the run is gradient descent's, step for step
    assert readout(page, "path_loss") == pytest.approx(descend(W0, STEP_SIZE, STEPS)[1][-1])
    page.fill('[data-state="batch"]', "2")
    expect(notes).to_be_hidden()


def test_the_number_of_random_search_is_named_the_scale_it_is(page: Page) -> None:
    open_page(page, query(method="random_search", lr=0.5))
    name = page.locator("#ls-lr-name")
    expect(name).to_have_text("scale of the random W")
    expect(page.locator("#ls-lr")).to_have_attribute(
        "title", "Each step draws a whole new W = scale · N(0, 1) and keeps the best W so far."
    )
    expect(page.locator("#ls-lr")).to_have_value("0.5")  # the old link key `lr` still sets it
    page.select_option("#ls-method", "random_local_search")
    expect(name).to_have_text("scale of the random step")
    page.select_option("#ls-method", "gd")
    expect(name).to_have_text("step size")
    expect(page.locator("#ls-lr")).to_have_attribute(
        "title", "The learning rate: each step does W -= step size · dL/dW."
    )
