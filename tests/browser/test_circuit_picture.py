"""Browser tests of what the circuit page's picture says (issue 12, items 3, 4, 6, 9): arrowheads
and pulses show the direction, each colour and dash means one thing and the legend explains every
mark drawn, the steps table fits and names each node once, captions at ties; presentation mode."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_circuit_page import (
    evaluate,
    evaluations,
    open_view,
    presets,
    step_label,
    wait_evaluated,
)

pytestmark = pytest.mark.browser

SIGMOID = "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))"
SIGMOID_INPUTS = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}

# Each mark the diagram can draw: the selector that finds it, by the legend entry that explains it.
MARKS = {
    "value": "#circuit .wire-label .value:not(.hidden)",
    "grad": "#circuit .wire-label .grad:not(.hidden)",
    "arrow": "#circuit path.wire[marker-end]",
    "forward": "#circuit path.wire.active.forward",
    "backward": "#circuit path.wire.active.backward",
    "active": "#circuit .node.active",
    "pending": "#circuit .node.pending",
    "fork": "#circuit .fork-dot",
    "total": "#circuit .node-total:not(.hidden)",
    "const": "#circuit .node.kind-const",
    "cached": "#circuit .node.uses",
    "tensor": "#circuit .wire-label.tensor",
    "kink": "#circuit .kink-mark:not(.hidden)",
}

STYLE = """(el) => { const s = getComputedStyle(el);
  return [s.stroke, s.strokeDasharray, s.strokeWidth, s.fill, s.opacity]; }"""


def press(page: Page, key: str) -> None:
    """Presses a key on the page (not in a field) and waits for the step counter to move."""
    before = page.locator("#step-label").inner_text()
    page.keyboard.press(key)
    page.wait_for_function(
        "t => document.getElementById('step-label').textContent !== t", arg=before
    )


def marks_on_screen(page: Page) -> set[str]:
    return {mark for mark, selector in MARKS.items() if page.locator(selector).count() > 0}


def legend_shown(page: Page) -> set[str]:
    return set(
        page.eval_on_selector_all(
            "#legend li[data-mark]",
            "els => els.filter(e => e.checkVisibility()).map(e => e.dataset.mark)",
        )
    )


# ------------------------------------------------------------------ direction


def test_every_wire_ends_in_an_arrowhead_at_its_target(page: Page, live_server: str) -> None:
    open_view(page, SIGMOID, SIGMOID_INPUTS)
    marker = page.locator("#circuit defs marker#wire-arrow")
    expect(marker).to_have_count(1)
    assert marker.get_attribute("orient") == "auto"  # it turns with the wire's last segment
    answer = evaluate(live_server, SIGMOID, SIGMOID_INPUTS)
    wires = dict(
        page.eval_on_selector_all(
            "#circuit path.wire[data-edge]",
            "els => els.map(e => [e.dataset.edge, [e.getAttribute('marker-end'), e.getAttribute('d')]])",
        )
    )
    # one wire per edge of the circuit, and the output's
    assert set(wires) == {e["id"] for e in answer["edges"]} | {"__output_wire"}
    assert {marker_end for marker_end, _ in wires.values()} == {"url(#wire-arrow)"}
    centres = dict(
        page.eval_on_selector_all(
            "#circuit .node",
            "els => els.map(e => [e.dataset.node, e.transform.baseVal[0].matrix.e + ',' + e.transform.baseVal[0].matrix.f])",
        )
    )
    for edge in answer["edges"]:
        points = [
            tuple(map(float, p)) for p in re.findall(r"([-\d.]+),([-\d.]+)", wires[edge["id"]][1])
        ]
        target = tuple(map(float, centres[edge["target"]].split(",")))
        source = tuple(map(float, centres[edge["source"]].split(",")))
        # the arrowhead (the path's end) is at the target, which is further on (to the right)
        assert math.dist(points[-1], target) < math.dist(points[0], target), edge
        assert target[0] > source[0], edge


def pulse_heading(page: Page) -> tuple[float, float]:
    """The moving pulse's heading (unit vector from its rotate()) dotted with the direction (source
    to target) of the active wire it is on, there: positive when the pulse points along the wire,
    negative against it; and 1 for a forward step, -1 for a backward one."""
    page.wait_for_function("() => document.querySelector('#circuit .pulse:not(.hidden)') !== null")
    got = page.evaluate(
        """() => {
      const pulse = document.querySelector('#circuit .pulse:not(.hidden)');
      const m = /translate\\(([-\\d.]+),([-\\d.]+)\\) rotate\\(([-\\d.]+)\\)/.exec(pulse.getAttribute('transform'));
      const [x, y, angle] = m.slice(1).map(Number);
      // the active wire passing closest to the pulse, and its direction at that point
      let best = null;
      for (const wire of document.querySelectorAll('#circuit path.wire.active')) {
        const n = wire.getTotalLength();
        for (let d = 0; d <= n; d += 0.5) {
          const p = wire.getPointAtLength(d);
          const gap = Math.hypot(p.x - x, p.y - y);
          if (!best || gap < best.gap) best = { gap, wire, d, n };
        }
      }
      const { wire, d, n } = best;
      const a = wire.getPointAtLength(Math.max(0, d - 2)), b = wire.getPointAtLength(Math.min(n, d + 2));
      const len = Math.hypot(b.x - a.x, b.y - a.y);
      const rad = angle * Math.PI / 180;
      return [(Math.cos(rad) * (b.x - a.x) + Math.sin(rad) * (b.y - a.y)) / len,
              wire.classList.contains('forward') ? 1 : -1];
    }"""
    )
    return float(got[0]), float(got[1])


def test_pulses_point_forward_for_values_and_back_for_gradients(page: Page) -> None:
    # (x + y) * z: 2 forward steps, then 2 backward steps. At 0.25 steps a second each pulse is
    # on screen for 4 s, long enough to read it mid-way even on a busy machine.
    open_view(page, "(x + y) * z", {"x": -2, "y": 5, "z": -4}, s=0, sp=0.25)
    page.locator("#step-forward").click()
    along, phase = pulse_heading(page)
    assert phase == 1 and along > 0.9  # a value moves with the arrows
    open_view(page, "(x + y) * z", {"x": -2, "y": 5, "z": -4}, s=2, sp=0.25)
    page.locator("#step-forward").click()
    along, phase = pulse_heading(page)
    assert phase == -1 and along < -0.9  # a gradient moves against them


# ------------------------------------------------------------------ one meaning per mark


def test_forward_and_backward_active_wires_differ_and_match_the_legend(page: Page) -> None:
    # (x + y) * z: step 1 is the forward + gate, step 3 the backward × gate
    open_view(page, "(x + y) * z", {"x": -2, "y": 5, "z": -4}, s=1)
    forward = page.locator("#circuit path.wire.active").first.evaluate(STYLE)
    expect(page.locator("#circuit path.wire.active.backward")).to_have_count(0)
    open_view(page, "(x + y) * z", {"x": -2, "y": 5, "z": -4}, s=3)
    backward = page.locator("#circuit path.wire.active").first.evaluate(STYLE)
    expect(page.locator("#circuit path.wire.active.forward")).to_have_count(0)
    # green (--value) and solid while a value moves on; red (--grad) and dashed for a gradient
    assert forward[:2] == ["rgb(26, 127, 55)", "none"], forward
    assert backward[:2] == ["rgb(198, 40, 40)", "6px, 3px"], backward
    assert page.locator("#legend [data-mark=forward] path.wire").evaluate(STYLE) == forward
    assert page.locator("#legend [data-mark=backward] path.wire").evaluate(STYLE) == backward


def test_a_constant_and_a_cached_value_are_marked_differently(page: Page) -> None:
    # the last backward step, of x * y, uses the cached x and y; 2 is a constant
    open_view(page, "2 * (x * y) + x", {"x": 3, "y": -1})
    constant = page.locator("#circuit .node.kind-const .shape").evaluate(STYLE)
    cached = page.locator("#circuit .node.uses .shape")
    expect(cached).to_have_count(2)
    used = cached.first.evaluate(STYLE)
    assert constant != used
    assert constant[1] == "none" and used[1] == "none"  # a dashed line means a gradient moving back
    assert constant[0] != used[0]  # grey outline vs blue
    assert page.locator("#legend [data-mark=const] .shape").evaluate(STYLE) == constant
    # the cached mark is the outline (the box keeps its own fill: an input's is blue)
    assert page.locator("#legend [data-mark=cached] .shape").evaluate(STYLE)[:3] == used[:3]


@pytest.mark.parametrize(
    ("expression", "inputs", "drawn"),
    [
        # forks (x three times), a constant, cached values, totals; no tensor
        ("2 * (x * y) + x", {"x": 3, "y": -1}, {"fork", "const", "cached", "total"}),
        # a tensor circuit: shapes on its wires
        ("L = sum(W @ x)", {"W": [[1, 2], [3, 4]], "x": [1, -1]}, {"tensor"}),
        # a tie at max and relu at 0: kinks
        ("max(a, b) + relu(c)", {"a": 2, "b": 2, "c": 0}, {"kink", "cached"}),
    ],
)
def test_the_legend_explains_every_mark_drawn_at_every_step(
    page: Page, expression: str, inputs: dict[str, Any], drawn: set[str]
) -> None:
    # sp=8: each step still animates, at 8 steps a second rather than one (the marks are read
    # once a step has landed, so the speed only changes how long the test waits for it)
    open_view(page, expression, inputs, s=0, sp=8)
    page.locator("#caption").click()  # keys go to the page
    seen: set[str] = set()
    total = step_label(page)[1]
    for done in range(total + 1):
        on_screen = marks_on_screen(page)
        missing = on_screen - legend_shown(page)
        assert not missing, f"step {done}: drawn but not in the legend: {missing}"
        seen |= on_screen
        if done < total:
            press(page, "ArrowRight")
    # every mark this circuit draws was met, and the legend hides only marks it never draws
    assert drawn <= seen
    assert legend_shown(page) == seen, (legend_shown(page), seen)


def test_a_gate_on_a_kink_is_marked_while_the_values_sit_on_it(page: Page) -> None:
    open_view(page, "max(a, b) + relu(c)", {"a": 2, "b": 2, "c": 1}, tie="first")
    marks = page.locator("#circuit .kink-mark:not(.hidden)")
    expect(marks).to_have_count(1)  # max(2, 2) is a tie; relu(1) is smooth
    expect(marks.locator("xpath=..")).to_have_attribute("data-node", "n2")
    assert marks.locator("title").text_content() == (
        "kink (tie): ties send the whole gradient to the first tied input; any non-negative "
        "split that sums to 1 is a valid subgradient"
    )
    expect(page.locator("#legend [data-mark=kink]")).to_be_visible()
    # a moves off the tie: no kink left, and the legend drops its entry
    before = evaluations(page)
    page.locator("#inputs-body tr").first.locator("input.input-number").fill("3")
    wait_evaluated(page, before)
    expect(marks).to_have_count(0)
    expect(page.locator("#legend [data-mark=kink]")).to_be_hidden()


# ------------------------------------------------------------------ the steps table


def test_the_steps_table_shows_all_its_columns_at_1440(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    sigmoid = next(p for p in presets(live_server) if p["id"] == "sigmoid_neuron")
    open_view(page, sigmoid["expression"], sigmoid["inputs"])
    headers = page.locator(".steps-table thead th")
    expect(headers).to_have_count(7)
    box = page.locator(".table-scroll")
    sum_header = headers.nth(6)
    expect(sum_header).to_have_text("sum")
    right = sum_header.evaluate("e => e.getBoundingClientRect().right")
    frame = box.evaluate("e => e.getBoundingClientRect().right")
    assert right <= frame <= 1440, (right, frame)
    # and without scrolling sideways
    assert box.evaluate("e => e.scrollWidth <= e.clientWidth")
    # the sum of the last row is x0's gradient, 2 · 0.1966 = 0.3932 (CS231n notes)
    expect(page.locator(".steps-table tbody tr").last.locator("td").last).to_have_text("0.3932")


def input_cells(page: Page) -> list[dict[str, Any]]:
    """Each row's input cell: its text, tooltip, node, and whether the text is cut off on screen."""
    return list(
        page.eval_on_selector_all(
            ".steps-table tbody tr td:nth-child(4)",
            """els => els.map(e => ({text: e.textContent, title: e.title, node: e.dataset.node,
                                    cut: e.scrollWidth > e.clientWidth + 1}))""",
        )
    )


@pytest.mark.parametrize(
    ("expression", "inputs"),
    [
        (SIGMOID, SIGMOID_INPUTS),
        ("x*y + x*y", {"x": 2, "y": 3}),
        # a chain's nested sums read alike far into their text: x + x + … + x
        (" + ".join(["x"] * 40), {"x": 1}),
    ],
)
def test_two_different_nodes_never_share_a_label_in_the_table(
    page: Page, expression: str, inputs: dict[str, Any]
) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    open_view(page, expression, inputs)
    cells = input_cells(page)
    assert cells
    assert not [c for c in cells if c["cut"]], "a label is cut off on screen"
    # a label belongs to one node, and a node has one label
    owners: dict[str, set[str]] = {}
    for c in cells:
        owners.setdefault(c["text"], set()).add(c["node"])
    assert all(len(nodes) == 1 for nodes in owners.values()), owners
    assert len(owners) == len({c["node"] for c in cells})


def test_long_and_repeated_names_are_told_apart_in_the_table(page: Page) -> None:
    open_view(page, SIGMOID, SIGMOID_INPUTS)
    texts = [c["text"] for c in input_cells(page)]
    # w0*x0 + w1*x1 + w2 and w0*x0 + w1*x1 keep their different ends
    assert "w0*x0…+ w2" in texts and "w0*x0…w1*x1" in texts
    open_view(page, "x*y + x*y", {"x": 2, "y": 3})
    cells = input_cells(page)
    assert [c["text"] for c in cells[:2]] == ["x*y, 1st", "x*y, 2nd"]
    assert [c["title"] for c in cells[:2]] == [
        "x*y, 1st (line 1, columns 1–3)",
        "x*y, 2nd (line 1, columns 7–9)",
    ]


# ------------------------------------------------------------------ captions at ties


def test_a_tie_under_first_is_captioned_as_a_tie(page: Page) -> None:
    # max(a, b) at a = b = 2, all to the first: a gets the gradient 1, b gets 0
    open_view(page, "max(a, b)", {"a": 2, "b": 2}, tie="first")
    lines = page.locator("#caption-lines li").all_inner_texts()
    text = " ".join(lines)
    assert "larger input" not in text
    assert lines[0] == (
        "max gate has a tie at 2 between a and b: it sends the whole gradient 1 to a, the first "
        "tied input; b gets 0. Kink: ties send the whole gradient to the first tied input; any "
        "non-negative split that sums to 1 is a valid subgradient"
    )
    assert lines[1:3] == [
        "da += local gradient · upstream = 1 · 1 = 1",
        "db += local gradient · upstream = 0 · 1 = 0",
    ]


# ------------------------------------------------------------------ presentation mode


def caption_sizes(page: Page) -> tuple[float, float]:
    return (
        float(
            page.locator("#caption-heading").evaluate(
                "e => parseFloat(getComputedStyle(e).fontSize)"
            )
        ),
        float(
            page.locator("#caption-lines li").first.evaluate(
                "e => parseFloat(getComputedStyle(e).fontSize)"
            )
        ),
    )


def test_presentation_mode_by_link_keys_and_leaving(page: Page) -> None:
    open_view(page, "(x + y) * z", {"x": -2, "y": 5, "z": -4})
    normal = caption_sizes(page)
    expect(page.locator(".side-panel")).to_be_visible()
    open_view(page, "(x + y) * z", {"x": -2, "y": 5, "z": -4}, present=1)
    expect(page.locator("#present")).to_have_attribute("aria-pressed", "true")
    # the steps table, the options and the editor are out of sight; the diagram and caption stay
    for hidden in (".side-panel", ".steps-table", "details.options", "#expression"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#circuit")).to_be_visible()
    big = caption_sizes(page)
    assert big[0] >= 1.5 * normal[0] and big[1] >= 1.5 * normal[1], (normal, big)
    # keys only: ← and → step, space plays and pauses
    assert step_label(page) == (4, 4)
    press(page, "ArrowLeft")
    assert step_label(page) == (3, 4)
    expect(page.locator("#caption-heading")).to_contain_text("Backward step 1 of 2")
    press(page, "ArrowLeft")
    assert step_label(page) == (2, 4)
    press(page, "ArrowRight")
    assert step_label(page) == (3, 4)
    page.keyboard.press(" ")
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(
        "() => document.getElementById('step-label').textContent === 'step 4 / 4'"
    )
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "false")
    # Escape leaves: everything is back, and the link no longer presents
    page.keyboard.press("Escape")
    expect(page.locator(".side-panel")).to_be_visible()
    expect(page.locator("#expression")).to_be_visible()
    expect(page.locator("#present")).to_have_attribute("aria-pressed", "false")
    assert caption_sizes(page) == normal
    assert "present=" not in page.url


def test_presentation_mode_from_the_button_goes_into_the_link(page: Page) -> None:
    open_view(page, "(x + y) * z", {"x": -2, "y": 5, "z": -4})
    page.locator("#present").click()
    expect(page.locator(".side-panel")).to_be_hidden()
    assert "present=1" in page.url
    assert "present=1" in page.input_value("#share-link")
    # the link opens presenting, at the same step
    link = page.url
    page.goto("about:blank")
    page.goto(link)
    page.wait_for_function(
        "() => Number(document.getElementById('circuit').dataset.evaluations || 0) > 0"
    )
    expect(page.locator(".side-panel")).to_be_hidden()
    page.locator("#present").click()  # the button leaves as well
    expect(page.locator(".side-panel")).to_be_visible()
    assert "present=" not in page.url
