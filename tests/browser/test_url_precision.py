"""The circuit page's link keeps every number bit for bit: inputs, output gradient and the result."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.test_circuit_page import evaluations, open_view, wait_evaluated

pytestmark = pytest.mark.browser

EXPRESSION = "x + y + z * w"
# What a student types; Python's float() and JavaScript's Number() both round to nearest.
TYPED = {"x": "0.1", "y": "0.2", "z": "1e-17", "w": "-123.456789012345678"}
OUTPUT_GRAD = "0.30000000000000004"


def hexes(values: dict[str, float]) -> dict[str, str]:
    return {name: float(v).hex() for name, v in values.items()}


def full_number(page: Page, selector: str) -> float:
    """The full number behind a rounded diagram label: its <title> reads 'value <number>'."""
    title = page.locator(f"{selector} title").first.text_content() or ""
    return float(title.split()[-1])


def shown(page: Page) -> dict[str, str]:
    """What the page shows in full: each input's field, the output and dx, as float.hex."""
    fields = {
        name: page.get_by_label(name, exact=True).input_value() for name in ("x", "y", "z", "w")
    }
    output = '.wire-label[data-edge="__output_wire"]'
    return {
        **{name: float(text).hex() for name, text in fields.items()},
        "output": full_number(page, f"{output} .value").hex(),
        "output_grad": float(page.input_value("#output-grad")).hex(),
        "dx": full_number(page, '.wire-label[data-source="n0"] .grad').hex(),
    }


def test_a_copied_link_reproduces_full_precision_numbers(page: Page, browser: Browser) -> None:
    # the output gradient comes in through a link (it sits in the closed Options panel)
    open_view(page, EXPRESSION, {"x": 1, "y": 1, "z": 1, "w": 1}, g=OUTPUT_GRAD)
    for name, text in TYPED.items():
        before = evaluations(page)
        page.get_by_label(name, exact=True).fill(text)
        wait_evaluated(page, before)
    page.click("#copy-link")
    link = page.input_value("#share-link")

    x, y, z, w = (float(TYPED[n]) for n in ("x", "y", "z", "w"))
    g = float(OUTPUT_GRAD)
    # Python float64 arithmetic, in the circuit's order: (x + y) + (z * w); dx = g for an add
    want = {
        **hexes({"x": x, "y": y, "z": z, "w": w}),
        "output": ((x + y) + (z * w)).hex(),
        "output_grad": g.hex(),
        "dx": g.hex(),
    }
    assert (x + y).hex() == (0.30000000000000004).hex() != (0.3).hex()
    assert shown(page) == want

    # the numbers in the link itself
    params = parse_qs(urlsplit(link).fragment)
    assert params["e"] == [EXPRESSION]
    in_link = json.loads(params["in"][0])
    assert hexes(in_link) == hexes({"x": x, "y": y, "z": z, "w": w})
    assert float(params["g"][0]).hex() == g.hex()

    # a fresh browser opening the link shows the same numbers, bit for bit
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    other = context.new_page()
    try:
        other.goto(link)
        wait_evaluated(other)
        assert other.input_value("#expression") == EXPRESSION
        assert shown(other) == want
        other.click("#copy-link")
        assert other.input_value("#share-link") == link  # and writes the same link again
    finally:
        context.close()
