"""Browser tests of the circuit page's panels: animation, steps table, nudge, gradient check, predict mode, layout, export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_circuit_page import (
    CURRENT_ROW_IN_VIEW,
    Reference,
    evaluate,
    evaluations,
    open_view,
    presets,
    step_label,
    wait_evaluated,
)

pytestmark = pytest.mark.browser


def test_animation_plays_pulses_to_the_end(page: Page, reference: Reference) -> None:
    example = reference["add_mul"]
    # At 0.5 steps a second a pulse is on screen for 8 s, so even a starved browser draws a
    # frame of it (at 8x the whole run is 0.5 s and may fit between two frames); then 8x.
    open_view(page, example["expression"], example["inputs"], s=0, sp=0.5)
    page.click("#play")
    page.wait_for_function("() => document.querySelector('#circuit .pulse:not(.hidden)') !== null")
    screenshot(page, "circuit-animating")
    page.select_option("#speed", "8")
    expect(page.locator("#step-label")).to_have_text("step 4 / 4")
    expect(page.locator("#circuit .pulse:not(.hidden)")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"[#&]s=4(&|$)"))


def test_table_row_jumps_to_its_step(page: Page, reference: Reference) -> None:
    example = reference["max_route"]
    open_view(page, example["expression"], example["inputs"], s=0)
    page.locator("#steps-body tr").nth(2).click()  # backward step 2 (the add gate), first row
    expect(page.locator("#step-label")).to_have_text(f"step {4 + 2} / 8")
    expect(page.locator("#steps-body tr.current")).to_have_count(2)
    expect(page.locator("#caption-heading")).to_contain_text("Backward step 2 of 4")
    expect(page.locator("#circuit .node.active")).to_have_count(1)


def test_nudge_raises_the_output_as_predicted(page: Page, reference: Reference) -> None:
    example = reference["add_mul"]
    open_view(page, example["expression"], example["inputs"])
    before = evaluations(page)
    page.click("#nudge")
    wait_evaluated(page, before)
    expect(page.locator("#nudge-result")).to_contain_text("output -12 → -11.59")
    expect(page.locator("#nudge-result")).to_contain_text("predicted +0.41")
    values = [
        page.input_value(f"#inputs-body tr:nth-child({i}) input.input-number") for i in (1, 2, 3)
    ]
    assert values == ["-2.04", "4.96", "-3.97"]


def test_gradient_check_panel(page: Page, reference: Reference) -> None:
    example = reference["sigmoid_neuron"]
    open_view(page, example["expression"], example["inputs"], gc=1)
    rows = page.locator("#gradcheck tbody tr")
    expect(rows).to_have_count(5)
    expect(page.locator("#gradcheck .gradcheck-summary")).to_contain_text("all inputs pass")
    first = rows.first.locator("td, th").all_inner_texts()
    assert first[0] == "w0" and first[1] == "-0.1966" and first[4].startswith("✓ pass")


def test_gradient_check_panel_marks_a_non_finite_gradient_not_compared(page: Page) -> None:
    # d/dx e^x at 1000 is Infinity: no difference can be compared with it (issue 10, item 10).
    open_view(page, "exp(x)", {"x": 1000}, gc=1)
    expect(page.locator("#gradcheck .gradcheck-summary")).to_contain_text(
        "no input fails; 1 not compared (a gradient is not finite)"
    )
    row = page.locator("#gradcheck tbody tr").first
    cells = row.locator("td, th").all_inner_texts()
    assert cells[0] == "x" and cells[3] == "—" and cells[4] == "– not compared"
    title = row.locator("td").last.get_attribute("title") or ""
    assert title.startswith("the analytic gradient is Infinity")


def test_predict_mode_checks_the_guess(page: Page, reference: Reference) -> None:
    example = reference["add_mul"]
    page.emulate_media(reduced_motion="reduce")
    open_view(page, example["expression"], example["inputs"], s=2, p=1)
    page.click("#step-forward")
    form = page.locator("#predict-form")
    expect(form).to_be_visible()
    expect(page.locator("#step-label")).to_have_text("step 2 / 4")  # not revealed before the guess
    # each input's local gradient and contribution: the multiply swaps, upstream 1
    fields = form.locator(".predict-fields input")
    expect(fields).to_have_count(4)
    form.locator('input[name="predict-local-0"]').fill("-4")  # d(x + y): local z = -4
    form.locator('input[name="predict-0"]').fill("-4")  # -4 · 1
    form.locator('input[name="predict-local-1"]').fill("3")  # dz: local x + y = 3
    form.locator('input[name="predict-1"]').fill("5")  # wrong: 3 · 1 = 3
    form.locator("button[type=submit]").click()
    lines = form.locator(".predict-result .predict-line")
    expect(lines).to_have_count(4)
    assert lines.all_inner_texts()[:2] == [
        "d(x + y): ✓ local gradient -4, ✓ contribution -4",
        "dz: ✓ local gradient 3, ✗ contribution is 3 (you said 5)",
    ]
    expect(lines.nth(2)).to_have_text(re.compile(r"^Rule: multiply gate swaps"))
    expect(lines.nth(3)).to_have_text("Score: 3 of 4 right")
    expect(page.locator("#step-label")).to_have_text("step 3 / 4")
    expect(form.locator("button[type=submit]")).to_be_disabled()  # one guess per step
    screenshot(page, "circuit-predict-mode")
    # the next step asks again, with a fresh form
    page.click("#step-forward")
    expect(form.locator("button[type=submit]")).to_be_enabled()
    expect(form.locator(".predict-heading")).to_contain_text("upstream gradient -4")
    expect(page.locator("#step-label")).to_have_text("step 3 / 4")


OVERLAPS = """() => {
    const boxes = [...document.querySelectorAll('#circuit text')]
      .filter(t => t.textContent.trim() !== '')
      .map(t => t.getBoundingClientRect());
    let hits = 0;
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5)
        hits++;
    }
    return hits;
}"""

CROSSINGS = """async (response) => {
    const m = await import('/static/js/circuit/layout.js');
    return m.countCrossings(m.layoutCircuit(response));
}"""


def is_tree(response: dict) -> bool:
    sources = [e["source"] for e in response["edges"]]
    return len(sources) == len(set(sources))


def balanced_sum(lo: int, hi: int) -> str:
    if hi - lo == 1:
        return f"a{lo}*b{lo}"
    mid = (lo + hi) // 2
    return f"({balanced_sum(lo, mid)} + {balanced_sum(mid, hi)})"


def test_no_label_overlaps_and_trees_have_no_crossings(page: Page, live_server: str) -> None:
    """At the default zoom, for every preset and for bigger circuits up to 50 gates."""
    cases = [(p["id"], p["expression"], p["inputs"]) for p in presets(live_server)]
    # a balanced tree of 31 gates, and 48 gates whose 12 terms share 6 inputs (forks)
    cases.append(
        ("tree31", balanced_sum(0, 16), {f"{v}{i}": (i % 5) - 2 for i in range(16) for v in "ab"})
    )
    terms = " + ".join(f"exp(-(a{i % 6} * b{(i * 5) % 6}))" for i in range(12))
    cases.append(
        (
            "forks48",
            f"({terms}) * c",
            {**{f"a{i}": i / 4 for i in range(6)}, **{f"b{i}": -i / 5 for i in range(6)}, "c": 2},
        )
    )
    for name, expression, inputs in cases:
        open_view(page, expression, inputs)
        response = evaluate(live_server, expression, inputs)
        gates = sum(n["kind"] == "gate" for n in response["nodes"])
        if gates > 50:
            continue
        assert page.evaluate(OVERLAPS) == 0, name
        if is_tree(response):
            assert page.evaluate(CROSSINGS, response) == 0, name
    assert gates == 48


def test_phone_width_has_no_sideways_scroll(browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto("/")
        wait_evaluated(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        expect(page.locator("#play")).to_be_visible()
        screenshot(page, "circuit-phone")
        assert errors == []
    finally:
        context.close()


def test_exports_download(page: Page, reference: Reference) -> None:
    example = reference["add_mul"]
    open_view(page, example["expression"], example["inputs"])
    with page.expect_download() as svg_download:
        page.click("#download-svg")
    svg = Path(svg_download.value.path()).read_text()
    assert svg.startswith("<svg") and "-12" in svg and "<style>" in svg
    with page.expect_download() as png_download:
        page.click("#download-png")
    assert Path(png_download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as json_download:
        page.click("#download-json")
    data = json.loads(Path(json_download.value.path()).read_text())
    assert data["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_tensor_wire_opens_heatmaps(page: Page, live_server: str) -> None:
    preset = next(p for p in presets(live_server) if p["id"] == "two_layer_net")
    open_view(page, preset["expression"], preset["inputs"])
    response = evaluate(live_server, preset["expression"], preset["inputs"])
    w1 = next(n for n in response["nodes"] if n["kind"] == "input" and n["symbol"] == "W1")
    edge = next(e for e in response["edges"] if e["source"] == w1["id"])
    label = page.locator(f'#circuit .wire-label[data-edge="{edge["id"]}"]')
    # a shape in brackets, never a bare number that reads as a value (issue 12, item 7)
    assert label.locator(".value").evaluate("e => e.firstChild.textContent") == "[4×3]"
    label.click()
    dialog = page.locator("#heatmap-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#heatmap-title")).to_have_text("Tensor wire W1: [4×3]")
    values, grads = dialog.locator("table.heatmap").all()
    expect(values.locator("tr")).to_have_count(4)
    first_row = values.locator("tr").first.locator("td").all_inner_texts()
    assert [float(t) for t in first_row] == pytest.approx(preset["inputs"]["W1"][0], abs=5e-3)
    grad_rows = [
        [float(t) for t in r.locator("td").all_inner_texts()] for r in grads.locator("tr").all()
    ]
    for shown, exact in zip(grad_rows, edge["grad"], strict=True):
        assert shown == pytest.approx(exact, abs=5e-4)
    screenshot(page, "circuit-tensor-heatmap")
    dialog.locator("button").click()
    expect(dialog).to_be_hidden()


def test_steps_table_scrolls_to_the_current_step(page: Page, live_server: str) -> None:
    preset = next(p for p in presets(live_server) if p["id"] == "staged")
    open_view(page, preset["expression"], preset["inputs"])  # at the end: the last step is current
    # Every check waits for the state it expects (never for time): the table scrolls when a
    # frame syncs it, and a frame may come on the next animation tick.
    page.wait_for_function("() => document.querySelector('.table-scroll').scrollTop > 0")
    page.wait_for_function(CURRENT_ROW_IN_VIEW)
    last_step = page.locator("#steps-body tr.current").first.get_attribute("data-step")
    assert last_step == "27"  # 14 forward and 14 backward steps; the last is index 27
    page.click("#restart")
    expect(page.locator("#step-label")).to_have_text("step 0 / 28")
    expect(page.locator("#steps-body tr.current")).to_have_count(0)
    page.locator("#caption").click()
    for _ in range(15):  # 14 forward steps, then the first backward step
        page.keyboard.press("ArrowRight")
    expect(page.locator("#step-label")).to_have_text("step 15 / 28")
    # the first backward step is current, at the top of the table, scrolled back into view
    expect(page.locator("#steps-body tr.current").first).to_have_attribute("data-step", "14")
    page.wait_for_function(CURRENT_ROW_IN_VIEW)
    page.wait_for_function("() => document.querySelector('.table-scroll').scrollTop === 0")


def test_options_tie_break_and_output_gradient(page: Page, live_server: str) -> None:
    expression, inputs = "3 * max(z, w)", {"z": 1.5, "w": 1.5}
    response = evaluate(live_server, expression, inputs)
    edge_of = {
        n["symbol"]: next(e["id"] for e in response["edges"] if e["source"] == n["id"])
        for n in response["nodes"]
        if n["kind"] == "input"
    }

    def grad_text(name: str) -> str:
        selector = f'#circuit .wire-label[data-edge="{edge_of[name]}"] .grad'
        return str(page.locator(selector).evaluate("e => e.firstChild.textContent"))

    open_view(page, expression, inputs)
    assert (grad_text("z"), grad_text("w")) == ("1.5", "1.5")  # a tie splits evenly
    open_view(page, expression, inputs, tie="first", g=2)
    assert (grad_text("z"), grad_text("w")) == ("6", "0")  # all to the first, times 3 · 2
    expect(page.locator("#tie-break")).to_have_value("first")
    expect(page.locator("#output-grad")).to_have_value("2")
    output = page.locator('#circuit .wire-label[data-edge="__output_wire"] .grad')
    assert output.evaluate("e => e.firstChild.textContent") == "2"
    before = evaluations(page)
    page.locator("details.options summary").click()
    page.select_option("#tie-break", "split")
    wait_evaluated(page, before)
    assert (grad_text("z"), grad_text("w")) == ("3", "3")
    assert "tie=" not in page.url and "g=2" in page.url


def test_named_stages_collapse_into_boxes(
    page: Page, live_server: str, reference: Reference
) -> None:
    preset = next(p for p in presets(live_server) if p["id"] == "staged")
    open_view(page, preset["expression"], preset["inputs"])
    expanded = page.locator("#circuit .node").count()
    page.locator("details.options summary").click()
    page.check("#collapse-toggle")
    # sigy = 1 / (1 + exp(-y)) (4 gates) and sigx are one box each now; gradients are unchanged
    boxes = page.eval_on_selector_all(
        "#circuit .node.kind-gate .symbol", "els => els.map(e => e.textContent)"
    )
    assert "sigy" in boxes and "sigx" in boxes and "exp" not in boxes
    assert page.locator("#circuit .node").count() < expanded
    assert "c=1" in page.url
    done, total = step_label(page)
    assert done == total == 16
    last_row = page.locator("#steps-body tr").last.locator("td").all_inner_texts()
    assert last_row[2] == "y" and last_row[-1] == f"{reference['staged']['grads']['y']:.4g}"
    expect(page.locator("#caption")).to_contain_text("stage sigy (4 gates, collapsed)")
    screenshot(page, "circuit-staged-collapsed")
    page.uncheck("#collapse-toggle")
    expect(page.locator("#circuit .node")).to_have_count(expanded)
