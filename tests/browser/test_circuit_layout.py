"""Browser tests of the circuit page's layout and view (issue 12, items 12 to 14): the phone
layout, a 60-gate circuit opened whole with Options in reach, stepping back after a pause, the
zoom in the link, one way of writing infinity, and resetting nudged inputs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_circuit_page import (
    evaluations,
    open_view,
    step_label,
    view_hash,
    wait_evaluated,
)

pytestmark = pytest.mark.browser

Reference = dict[str, Any]

# Every box of the diagram that should be on screen, as [left, top, right, bottom] in CSS px,
# with the SVG frame's own box first.
BOXES = """(selector) => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return [box(document.getElementById("circuit")), ...[...document.querySelectorAll(selector)].map(box)];
}"""


def inside(inner: list[float], outer: list[float], slack: float = 0.5) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def transform(page: Page) -> tuple[float, float, float]:
    """The diagram's zoom as d3 writes it on the viewport group: translate(x,y) scale(k)."""
    text = page.locator("#circuit g.viewport").get_attribute("transform") or ""
    x, y, k = (float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", text))
    return k, x, y


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[Page]:
    """A 390x844 touch screen, as test_circuit_page_panels.py's phone test opens it."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        base_url=live_server,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == []


def test_phone_shows_the_diagram_first_with_readable_labels(phone: Page) -> None:
    # before: the diagram began about 1,100 px down (617 px here) and its labels were 8 px
    phone.goto("/")
    wait_evaluated(phone)
    frame = phone.locator("#circuit").bounding_box()
    assert frame is not None and frame["y"] < 400, frame
    assert frame["y"] + frame["height"] <= 844  # all of it on the first screen
    # the value labels' size on screen: their font size times the zoom the drawing is shown at
    sizes = phone.eval_on_selector_all(
        "#circuit .wire-label .value",
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize) * e.getScreenCTM().a)",
    )
    assert len(sizes) == 5 and min(sizes) >= 11 - 1e-6, sizes
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    # the controls come right under it, on the same screen
    play = phone.locator("#play").bounding_box()
    assert play is not None and play["y"] + play["height"] <= 844
    screenshot(phone, "circuit-phone-diagram-first")


def test_phone_keeps_the_active_gate_in_view_while_stepping(
    phone: Page, reference: Reference
) -> None:
    # the sigmoid neuron is three phone frames wide at readable size: stepping has to pan
    example = reference["sigmoid_neuron"]
    # at 8 steps a second (sp=8; the default 1 made this test wait 16 s): each step still
    # animates, and the view follows the gate when its step becomes active, at any speed
    phone.goto("/" + view_hash(example["expression"], example["inputs"], s=0, sp=8))
    wait_evaluated(phone)
    done, total = step_label(phone)
    assert (done, total) == (0, 16)  # 8 gates: 8 forward steps and 8 backward steps
    for step in range(1, total + 1):
        phone.locator("#step-forward").click()
        expect(phone.locator("#step-label")).to_have_text(f"step {step} / {total}")
        frame, *active = phone.evaluate(BOXES, "#circuit .node.active")
        assert len(active) == 1, step
        assert inside(active[0], frame), (step, active[0], frame)
        # and the diagram itself is still on the screen
        assert inside(frame, [0, 0, 390, 844]), (step, frame)
    # the circuit is the notes' neuron: output 1 / (1 + e^-1) = 0.7311
    assert float(phone.locator("#status").inner_text().split()[1]) == pytest.approx(
        example["output"], abs=5e-5
    )


def sixty_gates() -> tuple[str, dict[str, float]]:
    """15 terms exp(-(a_i * b_i)): 3 gates each and 14 additions, times c: 60 gates, 31 inputs."""
    terms = " + ".join(f"exp(-(a{i} * b{i}))" for i in range(15))
    inputs = {f"a{i}": round(0.1 * (i - 7), 1) for i in range(15)}
    inputs |= {f"b{i}": round(0.05 * i, 2) for i in range(15)}
    inputs["c"] = 0.5
    return f"({terms}) * c", inputs


def test_a_sixty_gate_circuit_opens_whole_and_fit_keeps_it_whole(page: Page) -> None:
    # before: the first view would not zoom out below 0.55, so most of the drawing left the frame
    expression, inputs = sixty_gates()
    open_view(page, expression, inputs)
    expect(page.locator("#circuit .node.kind-gate")).to_have_count(60)
    frame, *nodes = page.evaluate(BOXES, "#circuit .node")
    assert len(nodes) == 60 + 31
    assert all(inside(n, frame) for n in nodes), [n for n in nodes if not inside(n, frame)][:3]
    whole = transform(page)
    # zoomed in, parts leave the frame; "fit" brings the whole drawing back, at the same scale
    page.click("#zoom-in")
    page.click("#zoom-in")
    frame, *nodes = page.evaluate(BOXES, "#circuit .node")
    assert not all(inside(n, frame) for n in nodes)
    page.click("#zoom-fit")
    frame, *nodes = page.evaluate(BOXES, "#circuit .node")
    assert all(inside(n, frame) for n in nodes)
    assert transform(page) == pytest.approx(whole, abs=1e-3)


def test_options_are_in_reach_below_thirty_one_inputs(page: Page) -> None:
    # before: Options sat below every input row, 31 rows (about 900 px) down
    expression, inputs = sixty_gates()
    open_view(page, expression, inputs)
    expect(page.locator("#inputs-body tr")).to_have_count(31)
    assert page.evaluate("() => window.scrollY") == 0
    summary = page.locator(".options summary").bounding_box()
    assert summary is not None and summary["y"] + summary["height"] <= 720, summary
    page.locator(".options summary").click()
    expect(page.locator("#tie-break")).to_be_visible()
    # the last input is still reachable: its list scrolls
    last = page.locator("#inputs-body tr").last.locator("input.input-number")
    last.scroll_into_view_if_needed()
    expect(last).to_have_value("0.5")


def test_the_first_step_back_after_a_pause_mid_step_goes_back_one_step(page: Page) -> None:
    # half a step per second: after "step 2" shows, the pause lands inside step 3's motion
    open_view(page, "(x + y) * z", {"x": -2, "y": 5, "z": -4}, s=0, sp=0.5)
    page.click("#play")
    expect(page.locator("#step-label")).to_have_text("step 2 / 4", timeout=10_000)
    page.click("#play")  # pause
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "false")
    done, _ = step_label(page)
    assert done == 2
    # before: the first back went to the start of the motion, 2, and the counter did not move
    page.click("#step-back")
    expect(page.locator("#step-label")).to_have_text("step 1 / 4")  # lands a frame later
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#step-label")).to_have_text("step 0 / 4")


def test_the_link_keeps_the_zoom_and_pan(page: Page, browser: Browser, live_server: str) -> None:
    open_view(page, "(x + y) * z", {"x": -2, "y": 5, "z": -4})
    k0, _, _ = transform(page)
    assert "v=" not in page.url  # a fitted view is the default: the link leaves it out
    page.click("#zoom-in")
    page.click("#zoom-in")
    box = page.locator("#circuit").bounding_box()
    assert box is not None
    # drag the drawing 60 px left and 30 px down
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 30, cy + 15, steps=4)
    page.mouse.move(cx - 60, cy + 30, steps=4)
    page.mouse.up()
    page.wait_for_function("() => location.hash.includes('v=')")
    k, x, y = transform(page)
    assert k == pytest.approx(k0 * 1.25**2, rel=1e-3)  # two zoom-ins of 1.25 each
    link = page.input_value("#share-link")
    assert link == page.url

    context = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=live_server)
    other = context.new_page()
    try:
        other.goto(link)
        wait_evaluated(other)
        assert transform(other) == pytest.approx((k, x, y), abs=2e-3)
    finally:
        context.close()
    # "fit" is the default view again: the link drops its zoom
    page.click("#zoom-fit")
    page.wait_for_function("() => !location.hash.includes('v=')")
    assert transform(page)[0] == pytest.approx(k0, rel=1e-3)


def test_captions_and_status_write_infinity_one_way(page: Page) -> None:
    # exp(1000) overflows: the forward pass gives inf * 0 = NaN, and the backward pass dy = inf
    open_view(page, "exp(x) * y", {"x": 1000, "y": 0})
    texts = []
    done, total = step_label(page)
    assert (done, total) == (4, 4)  # exp and ×: two forward and two backward steps
    for step in range(total, -1, -1):
        if step < total:
            page.keyboard.press("ArrowLeft")
        # the key's redraw comes a frame later: wait for the step to land, then read
        expect(page.locator("#step-label")).to_have_text(f"step {step} / {total}")
        texts.append(page.locator("#caption").inner_text())
    texts.append(page.locator("#status").inner_text())
    # before: the server's rule text said "Infinity · 1 = Infinity" next to the page's "= ∞"
    assert not any("Infinity" in t for t in texts), [t for t in texts if "Infinity" in t]
    joined = "\n".join(texts)
    assert "y receives exp(x) · upstream = ∞ · 1 = ∞" in joined
    assert "produced ∞ in the forward pass" in joined


def input_values(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "#inputs-body input.input-number", "els => els.map(e => e.value)"
    )


def input_wire_values(page: Page) -> list[str]:
    """The values on the wires leaving x, y and z (n0, n1, n3 in (x + y) * z)."""
    return [
        page.locator(f'#circuit .wire-label[data-source="{n}"] .value').evaluate(
            "e => e.firstChild.textContent"
        )
        for n in ("n0", "n1", "n3")
    ]


@pytest.mark.parametrize("opened", ["preset", "link"])
def test_reset_inputs_after_nudging_restores_the_originals(page: Page, opened: str) -> None:
    if opened == "preset":
        page.goto("/")  # the default example, (x + y) * z at -2, 5, -4
        wait_evaluated(page)
    else:
        open_view(page, "(x + y) * z", {"x": -2, "y": 5, "z": -4})
    reset = page.locator("#reset-inputs")
    expect(reset).to_be_disabled()
    assert input_values(page) == ["-2", "5", "-4"]
    before = evaluations(page)
    page.click("#nudge")
    wait_evaluated(page, before)
    # by hand: each input moves by 0.01 · its gradient (-4, -4, 3), so the output is
    # (-2.04 + 4.96) * -3.97 = -11.5924
    assert input_values(page) == ["-2.04", "4.96", "-3.97"]
    expect(page.locator("#status")).to_have_text("Output -11.59")
    expect(reset).to_be_enabled()
    before = evaluations(page)
    reset.click()
    wait_evaluated(page, before)
    assert input_values(page) == ["-2", "5", "-4"]
    assert input_wire_values(page) == ["-2", "5", "-4"]
    expect(page.locator("#status")).to_have_text("Output -12")
    expect(page.locator("#nudge-result")).to_have_text("")
    expect(reset).to_be_disabled()


# Moves x's slider 0.01 every 5 ms for `count` events, faster than answers come back, so the
# last events arrive while a request is in flight; returns the last value.
FAST_DRAG = """async (count) => {
  const slider = document.querySelector("#inputs-body tr:first-child input[type=range]");
  slider.focus();
  for (let i = 0; i < count; i++) {
    slider.value = (Number(slider.value) + 0.01).toFixed(2);
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Number(slider.value);
}"""


def test_the_end_of_a_slider_drag_is_drawn(page: Page) -> None:
    # before: an answer that landed after the last input event set the inputs back to the values
    # it was computed from, so the drag's last position was never sent
    open_view(page, "x * y", {"x": 1, "y": 2})
    last = page.evaluate(FAST_DRAG, 60)
    assert last == pytest.approx(1.6)
    # x * y with y = 2, by hand: 2 * 1.6 = 3.2
    expect(page.locator("#status")).to_have_text("Output 3.2")
    expect(page.locator("#inputs-body tr:first-child input.input-number")).to_have_value("1.6")
    # the diagram's output label: its full value in the <title>
    output = page.locator('#circuit .wire-label[data-edge="__output_wire"] .value title')
    expect(output).to_have_text("value 3.2")


def test_new_values_leave_a_panned_view_alone_and_a_step_follows_again(
    page: Page, reference: Reference
) -> None:
    # at 1280 px the sigmoid neuron opens readable, wider than its frame, at its last step: the
    # first multiply (w0 * x0), at the far left, is the active gate
    example = reference["sigmoid_neuron"]
    open_view(page, example["expression"], example["inputs"])
    k, _, _ = transform(page)
    assert k == pytest.approx(11 / 12)
    box = page.locator("#circuit").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 250, cy, steps=5)
    page.mouse.move(cx - 500, cy, steps=5)
    page.mouse.up()
    page.wait_for_function("() => location.hash.includes('v=')")
    panned = transform(page)
    frame, active = page.evaluate(BOXES, "#circuit .node.active")
    assert not inside(active, frame)  # the reader looks elsewhere
    before = evaluations(page)
    page.fill("#inputs-body tr:nth-child(1) input.input-number", "2.5")
    wait_evaluated(page, before)
    assert transform(page) == pytest.approx(panned, abs=1e-3)
    # a step moves the active gate, and the view follows it again
    page.click("#step-back")
    frame, active = page.evaluate(BOXES, "#circuit .node.active")
    assert inside(active, frame)
