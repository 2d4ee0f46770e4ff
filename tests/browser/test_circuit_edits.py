"""Browser tests of the circuit page once a student leaves the presets (issue 12): a typed
expression opens at its own end, errors say their position once, the output-gradient field
refuses what is not a number, and the gradient check agrees with itself at a kink."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_circuit_page import (
    acknowledge_rejections,
    evaluations,
    open_view,
    step_label,
    visible_grads,
    wait_evaluated,
)

pytestmark = pytest.mark.browser


def type_expression(page: Page, expression: str) -> None:
    before = evaluations(page)
    page.fill("#expression", expression)
    wait_evaluated(page, before)


def test_a_typed_expression_opens_at_the_end_of_its_own_backward_pass(page: Page) -> None:
    page.goto("/")  # the default example, (x + y) * z, ends at step 4 / 4
    wait_evaluated(page)
    expect(page.locator("#preset-description")).not_to_have_text("")
    page.locator("#step-back").click()
    expect(page.locator("#step-label")).to_have_text("step 3 / 4")  # each lands a frame later
    page.locator("#step-back").click()
    expect(page.locator("#step-label")).to_have_text("step 2 / 4")
    type_expression(page, "a*b + b*c + c*a + a")
    # 3 multiplies and 3 adds: 6 forward steps and 6 backward steps, all shown
    expect(page.locator("#step-label")).to_have_text("step 12 / 12")
    # every wire's gradient is on screen, as at the end of the default example
    grads = visible_grads(page)
    wires = page.eval_on_selector_all("#circuit .wire-label", "els => els.length")
    assert len(grads) == wires > 0
    expect(page.locator("#preset-description")).to_have_text("")


def test_a_link_with_a_step_keeps_its_step(page: Page) -> None:
    open_view(page, "a*b + b*c + c*a + a", {"a": 1, "b": 2, "c": 3}, s=3)
    assert step_label(page) == (3, 12)


def test_a_parse_error_states_its_position_once_and_the_link_follows(page: Page) -> None:
    page.goto("/")
    wait_evaluated(page)
    page.fill("#expression", "x ^ 2")
    box = page.locator("#parse-error")
    expect(box).to_be_visible()
    expect(box.locator(".error-where")).to_have_text("Line 1, column 3:")
    # the server's message without its own "line 1, col 3: " prefix, and the token quoted once
    expect(box.locator(".error-message")).to_have_text(
        "'^' is not a power operator here: use ** (x**2)"
    )
    expect(box.locator(".error-caret")).to_have_text("  ^")
    link = page.input_value("#share-link")
    assert "e=x+%5E+2" in link or "e=x%20%5E%202" in link, link
    assert acknowledge_rejections(page) >= 1


def test_an_output_gradient_that_is_not_a_number_is_refused_in_words(page: Page) -> None:
    open_view(page, "x * y", {"x": 3, "y": -2}, g=2)
    page.locator(".options summary").click()
    field = page.locator("#output-grad")
    field.fill("abc")
    problem = page.locator("#output-grad-problem")
    expect(problem).to_be_visible()
    expect(problem).to_have_text("“abc” is not a finite number: the output gradient stays 2.")
    expect(field).to_have_attribute("aria-invalid", "true")
    # the diagram keeps the gradient 2: dx = y * 2 = -4, dy = x * 2 = 6
    expect(page.locator("#status")).to_contain_text("Output -6")
    grads = sorted(visible_grads(page).values())
    assert "-4" in grads and "6" in grads
    before = evaluations(page)
    field.fill("-1")
    wait_evaluated(page, before)
    expect(problem).to_be_hidden()
    expect(field).to_have_attribute("aria-invalid", "false")
    grads = sorted(visible_grads(page).values())
    assert "2" in grads and "-3" in grads  # dx = y * -1 = 2, dy = x * -1 = -3


def test_the_gradient_check_agrees_with_itself_at_a_kink(page: Page) -> None:
    # max(a, b) at a = b with "all to the first": analytic (1, 0), central differences
    # ((a+h) - a) / 2h = 0.5 for both. Both inputs sit on the kink: neither passes nor fails.
    open_view(page, "max(a, b)", {"a": 2, "b": 2}, gc=1, tie="first")
    summary = page.locator("#gradcheck .gradcheck-summary")
    expect(summary).to_contain_text("no input fails; 2 not compared at a kink")
    expect(summary).not_to_contain_text("all inputs pass")
    rows = page.locator("#gradcheck tbody tr")
    expect(rows).to_have_count(2)
    for i, (analytic, numeric) in enumerate([("1", "0.5"), ("0", "0.5")]):
        cells = rows.nth(i).locator("td, th").all_inner_texts()
        assert cells[1:3] == [analytic, numeric]
        assert cells[4] == "– at a kink: not compared"
    expect(page.locator("#gradcheck")).not_to_contain_text("FAIL")


def test_the_gradient_check_table_is_hidden_while_the_check_is_off(page: Page) -> None:
    open_view(page, "x * y", {"x": 3, "y": -2})
    expect(page.locator("#gradcheck table")).to_be_hidden()
    expect(page.locator("#gradcheck .gradcheck-summary")).to_contain_text("Turn on")


# Moves x's slider one step per animation frame, as a drag does, and counts the evaluations
# drawn while it is still moving; stops once three have been drawn (or after `limit` frames).
DRAG = """async (limit) => {
  const slider = document.querySelector("#inputs-body tr:first-child input[type=range]");
  const svg = document.getElementById("circuit");
  const drawn = () => Number(svg.dataset.evaluations || 0);
  const start = drawn();
  let frames = 0;
  while (frames < limit && drawn() - start < 3) {
    await new Promise(requestAnimationFrame);
    slider.value = String(Number(slider.value) + 0.01);
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    frames += 1;
  }
  return { frames, drawn: drawn() - start, last: Number(slider.value) };
}"""


def test_a_slider_drag_redraws_while_it_moves(page: Page) -> None:
    # before: every input event restarted a 100 ms timer, so a drag drew only at its end
    open_view(page, "x * y", {"x": 1, "y": 2})
    result = page.evaluate(DRAG, 3000)
    assert result["drawn"] >= 3, result
    assert result["frames"] < 3000, result
    # once the drag stops, the last values are drawn: x * y with y = 2
    last = result["last"]
    expect(page.locator("#status")).to_have_text(f"Output {round(2 * last, 4):g}")


def test_constants_get_no_gradient_row_caption_or_question(page: Page) -> None:
    # 2 * x + 1 at x = 3: dx = 2 (hand: d/dx (2x + 1) = 2); the constants 2 and 1 get nothing
    open_view(page, "2 * x + 1", {"x": 3}, sp=8)  # sp=8: the four steps below, faster
    assert step_label(page) == (4, 4)
    grads = page.eval_on_selector_all(
        "#circuit .wire-label",
        "els => els.map(e => [e.querySelector('.value').firstChild.textContent,"
        " e.querySelector('.grad').classList.contains('hidden') ? null"
        " : e.querySelector('.grad').firstChild.textContent])",
    )
    by_value = {value: grad for value, grad in grads}
    assert by_value["3"] == "2"  # x
    assert by_value["2"] is None and by_value["1"] is None  # the constants: value only
    assert by_value["6"] == "1"  # 2 * x
    # the steps table: one row per learnable input (2 * x at the add, x at the multiply)
    rows = page.locator("#steps-body tr")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).locator("td").nth(2).inner_text() for i in range(2)] == ["2 * x", "x"]
    # no caption line talks about d(2) or d(1), at any step
    page.click("#restart")
    expect(page.locator("#step-label")).to_have_text("step 0 / 4")
    seen = []
    for k in range(1, 5):
        page.click("#step-forward")
        # the caption is read once the step has landed (a click's redraw comes a frame later)
        expect(page.locator("#step-label")).to_have_text(f"step {k} / 4")
        seen.append(page.locator("#caption-lines").inner_text())
    text = "\n".join(seen)
    assert "dx += local gradient · upstream = 2 · 1 = 2" in text
    assert "d(2)" not in text and "d(1)" not in text and "d2" not in text
    # predict mode asks about x only at the multiply, and nothing about the 1 at the add
    open_view(page, "2 * x + 1", {"x": 3}, s=2, p=1)
    page.click("#play")
    form = page.locator("#predict-form")
    expect(form).to_be_visible()
    # one row (local gradient and contribution) for 2 * x; none for the constant 1
    expect(form.locator(".predict-row")).to_have_count(1)
    labels = form.locator(".predict-fields label")
    expect(labels).to_have_count(2)
    expect(labels.first).to_have_text("d(2 * x): local gradient ")


def test_negate_and_subtract_look_different_and_calls_have_no_extra_parentheses(
    page: Page,
) -> None:
    open_view(page, "exp(-x) - x", {"x": 1}, s=0, sp=8)  # sp=8: the steps below, faster
    symbols = page.eval_on_selector_all(
        "#circuit .node.kind-gate", "els => els.map(e => e.querySelector('text').textContent)"
    )
    assert sorted(symbols) == ["exp", "neg", "−"]
    lines = []
    for k in range(1, 4):
        page.click("#step-forward")
        # the caption is read once the step has landed (a click's redraw comes a frame later)
        expect(page.locator("#step-label")).to_have_text(f"step {k} / 6")
        lines.append(page.locator("#caption-lines").inner_text())
    # e^-1 = 0.36787944..., shown to 4 significant digits; 0.3679 - 1 = -0.6321
    assert lines == [
        "-x = neg(1) = -1",
        "exp(-x) = exp(-1) = 0.3679",
        "exp(-x) - x = 0.3679 − 1 = -0.6321",
    ]


def node_total(page: Page, symbol: str) -> tuple[str, str, bool]:
    """The total under the node drawn as `symbol`: its text, its tooltip, whether partial."""
    node = page.locator("#circuit .node", has=page.locator(f"text.symbol >> text='{symbol}'"))
    total = node.locator("text.node-total")
    shown = total.evaluate("t => t.firstChild.data")
    title = total.locator("title").text_content() or ""
    return shown, title, "partial" in (total.get_attribute("class") or "")


def test_gradients_add_up_at_a_fork_on_the_diagram(page: Page) -> None:
    # x*x + x at x = 3: the branches carry 3, 3 (the multiply swaps: x · 1 each) and 1 (the add);
    # dx = 3 + 3 + 1 = 7 (d/dx (x² + x) = 2x + 1 = 7)
    open_view(page, "x*x + x", {"x": 3})
    shown, title, partial = node_total(page, "x")
    assert shown == "dx = 7" and not partial
    assert title.startswith("dx = ") and title.endswith(" = 7")
    assert sorted(title.removeprefix("dx = ").removesuffix(" = 7").split(" + ")) == ["1", "3", "3"]
    # one step back: only the add's branch has arrived, and the total says more is to come
    page.click("#step-back")
    expect(page.locator("#step-label")).to_have_text("step 3 / 4")  # lands a frame later
    expect(page.locator("#circuit .node-total.partial")).to_have_count(1)
    assert node_total(page, "x") == ("dx = 1 + …", "dx = 1 so far (2 of 3 branches to come)", True)
    # before any gradient arrives, no total is shown
    page.click("#step-back")
    expect(page.locator("#circuit .node-total:not(.hidden)")).to_have_count(0)


def test_predict_mode_hides_the_answers_and_asks_without_a_silent_stop(page: Page) -> None:
    # (x + y) * z at -2, 5, -4 from the start: play runs the forward pass and goes straight
    # on to the first question; nothing on the page gives its answer away before it
    page.emulate_media(reduced_motion="reduce")
    open_view(page, "(x + y) * z", {"x": -2, "y": 5, "z": -4}, s=0, p=1)
    page.click("#play")
    while step_label(page)[0] < 2:  # the forward pass, a step at a time under reduced motion
        page.click("#play")
    form = page.locator("#predict-form")
    expect(form).to_be_visible()
    expect(page.locator("#step-label")).to_have_text("step 2 / 4")
    # the steps table shows "?" for every number of the steps not reached, tooltips included
    cells = page.locator("#steps-body td.num")
    expect(cells.first).to_have_text("?")
    assert set(cells.all_inner_texts()) == {"?"}
    assert all(c.get_attribute("title") is None for c in cells.all())
    # no gradient in a node's tooltip yet but the output's own 1 (d out / d out)
    titles = page.eval_on_selector_all(
        "#circuit .node", "els => els.map(e => e.getAttribute('aria-label'))"
    )
    assert [t for t in titles if "gradient" in t] == ["(x + y) * z: value -12, gradient 1"]
    # answer: all right
    for name, value in [
        ("predict-local-0", "-4"),
        ("predict-0", "-4"),
        ("predict-local-1", "3"),
        ("predict-1", "3"),
    ]:
        form.locator(f'input[name="{name}"]').fill(value)
    form.locator("button[type=submit]").click()
    expect(form.locator(".predict-line").last).to_have_text("Score: 4 of 4 right")
    # the answered step's numbers are shown now; the next step's still hidden
    expect(page.locator("#steps-body tr[data-step='2'] td.num").first).to_have_text("1")
    expect(page.locator("#steps-body tr[data-step='3'] td.num").first).to_have_text("?")
    # and once predict mode is off, every number is back
    page.locator(".options summary").click()
    page.locator("#predict-toggle").uncheck()
    expect(page.locator("#steps-body td.num", has_text="?")).to_have_count(0)
