"""Open as circuit in Chromium: one example's L_i on the circuit page, its max gates routing, and why not when too big."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_landscape_page import api, open_page
from tests.browser.test_url_precision import full_number

pytestmark = pytest.mark.browser

OUTPUT = '.wire-label[data-edge="__output_wire"] .value'


def open_circuit(page: Page) -> None:
    """Clicks the button and waits for the circuit page to have drawn the program's answer."""
    with page.expect_response("**/api/v1/circuits/evaluate"):
        page.click("#ls-open-circuit")
    page.wait_for_url("**/#e=*")
    expect(page.locator(OUTPUT)).to_be_visible()


def drawn_nodes(page: Page) -> dict[str, tuple[float, float]]:
    """Each drawn node's text -> (value, gradient), from its accessible name (the full numbers)."""
    titles = page.eval_on_selector_all(
        "#circuit g.node", "els => els.map(e => e.getAttribute('aria-label'))"
    )
    nodes = {}
    for title in titles:
        match = re.fullmatch(r"(.*): value (\S+), gradient (\S+)", title)
        if match:
            nodes[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    return nodes


def test_an_inactive_margins_max_gate_routes_0_on_the_circuit_page(
    page: Page, live_server: str, reference: dict[str, Any]
) -> None:
    # W = (3.2, 5.1, -1.7) and x0 = 1: example 0's scores are the notes' (3.2, 5.1, -1.7) with
    # y = 0, so L_0 = max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9 + 0: the frog's
    # margin -3.9 is inactive, and its max gate routes 0 to the scores
    case = reference["svm_scores"]["cases"][0]
    open_page(page, "?winit=table&W=3.2;5.1;-1.7")
    note = page.locator("#ls-circuit-note")
    expect(note).to_contain_text("example 0: 1 of its 2 max gate(s) have margin ≤ 0")
    expect(page.locator("#ls-circuit-example")).to_have_value("0")
    landscape = api(
        live_server, "loss", {"dataset": {"name": "cs231n-1d"}, "W": [[3.2], [5.1], [-1.7]]}
    )
    open_circuit(page)
    assert "tie=first" in page.url  # a margin of exactly 0 counts inactive, as on the landscape
    output = full_number(page, OUTPUT)
    assert output == pytest.approx(landscape["per_example"][0], rel=1e-12)
    assert output == pytest.approx(case["loss"], rel=1e-12)
    nodes = drawn_nodes(page)
    # the frog's max gate: output 0, gradient 1 from the sum; its margin side gets 0
    assert nodes["max(0, s0_2 - s0_0 + 1)"] == pytest.approx((0.0, 1.0))
    assert nodes["s0_2 - s0_0 + 1"] == pytest.approx((-3.9, 0.0))
    # the car's passes its gradient on: its margin side gets 1
    assert nodes["max(0, s0_1 - s0_0 + 1)"] == pytest.approx((2.9, 1.0))
    assert nodes["s0_1 - s0_0 + 1"] == pytest.approx((2.9, 1.0))
    # the whole program is L_0: three scores, two max gates, their sum (no mean, no reg)
    assert sum(bool(re.fullmatch(r"max\(0, [^()]*\)", text)) for text in nodes) == 2
    screenshot(page, "landscape-open-circuit-example")


def test_the_chosen_example_opens_and_every_active_margin_is_said(
    page: Page, live_server: str
) -> None:
    # the seeded W (scale 0.01) leaves every score near 0, so every margin is about 1 > 0
    open_page(page)
    note = page.locator("#ls-circuit-note")
    expect(note).to_contain_text("every margin is active at this W")
    expect(note).to_contain_text("move W to see a max gate route 0")
    page.fill("#ls-circuit-example", "2")
    expect(note).to_have_attribute("data-example", "2")
    assert "cex=2" in page.url
    landscape = api(live_server, "loss", {"dataset": {"name": "cs231n-1d"}, "seed": 0})
    open_circuit(page)
    assert full_number(page, OUTPUT) == pytest.approx(landscape["per_example"][2], rel=1e-12)
    nodes = drawn_nodes(page)
    assert "max(0, s2_0 - s2_2 + 1)" in nodes and "max(0, s2_1 - s2_2 + 1)" in nodes


def test_too_big_is_unavailable_with_its_reason_before_any_click(page: Page) -> None:
    open_page(page, "?dataset=blobs&n=300&d=2&c=3&cscope=all")
    button = page.locator("#ls-open-circuit")
    expect(button).to_be_disabled()
    expect(page.locator("#ls-circuit-note")).to_have_text(
        "Open as circuit is unavailable: this data has 300 examples × 3 classes = 900 scores, "
        "and the circuit page draws the whole loss for at most 60: open a single example "
        "instead."
    )
    # one example of the same data is small: the button comes back
    page.select_option("#ls-circuit-scope", "example")
    expect(button).to_be_enabled()
    expect(page.locator("#ls-circuit-note")).not_to_contain_text("unavailable")
    screenshot(page, "landscape-open-circuit-unavailable")
