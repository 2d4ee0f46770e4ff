"""Browser tests of the circuit page at /: presets, the backward-pass animation, errors, URL state, keys."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

Reference = dict[str, Any]


def view_hash(expression: str, inputs: dict[str, Any], **extra: Any) -> str:
    """The URL hash the page reads its view state from (see static/js/circuit/state.js)."""
    params = {"e": expression, "in": json.dumps(inputs, separators=(",", ":"))}
    params.update({k: str(v) for k, v in extra.items()})
    return "#" + urlencode(params)


def evaluations(page: Page) -> int:
    return int(page.locator("#circuit").get_attribute("data-evaluations") or 0)


def wait_evaluated(page: Page, after: int = 0) -> None:
    """Waits until the page has drawn more than `after` successful evaluations."""
    page.wait_for_function(
        "n => Number(document.getElementById('circuit').dataset.evaluations || 0) > n", arg=after
    )


def open_view(page: Page, expression: str, inputs: dict[str, Any], **extra: Any) -> None:
    """Loads the page afresh at a view link (a bare hash change would keep the old counter)."""
    page.goto("about:blank")
    page.goto("/" + view_hash(expression, inputs, **extra))
    wait_evaluated(page)


def presets(base_url: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{base_url}/api/v1/presets").json()["presets"])


def evaluate(base_url: str, expression: str, inputs: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/api/v1/circuits/evaluate", json={"expression": expression, "inputs": inputs}
    )
    response.raise_for_status()
    return dict(response.json())


# true once the steps table's current row is inside its scroll box
CURRENT_ROW_IN_VIEW = """() => {
  const box = document.querySelector('.table-scroll');
  const row = document.querySelector('#steps-body tr.current');
  if (!box || !row) return false;
  const outer = box.getBoundingClientRect(), r = row.getBoundingClientRect();
  return r.top >= outer.top && r.bottom <= outer.bottom + 1;
}"""


def step_label(page: Page) -> tuple[int, int]:
    text = page.locator("#step-label").inner_text()  # "step 3 / 16"
    done, total = text.removeprefix("step ").split(" / ")
    return int(done), int(total)


def visible_grads(page: Page) -> dict[str, str]:
    """Edge id -> gradient text, for every wire whose gradient is shown."""
    return dict(
        page.eval_on_selector_all(
            "#circuit .wire-label .grad:not(.hidden)",
            "els => els.map(e => [e.parentNode.dataset.edge, e.firstChild.textContent])",
        )
    )


def acknowledge_rejections(page: Page, status: int = 422) -> int:
    """Chromium logs every 4xx answer as a console error; a test that provokes one on purpose
    takes exactly those off the page fixture's list (any other error still fails the test)."""
    watch = page.watch  # type: ignore[attr-defined]
    expected = f"the server responded with a status of {status}"
    ours = [m for m in watch.console_errors if expected in m]
    watch.console_errors[:] = [m for m in watch.console_errors if expected not in m]
    return len(ours)


def full_number(page: Page, selector: str) -> float:
    """The full value behind a rounded label: its <title> reads 'value -12' or 'gradient 1'."""
    title = page.locator(f"{selector} title").first.text_content() or ""
    return float(title.split()[-1])


def test_every_preset_renders(page: Page, live_server: str) -> None:
    open_view(page, "a * b", {"a": 1, "b": 2})  # no preset selected, so every choice is a change
    for preset in presets(live_server):
        before = evaluations(page)
        page.select_option("#preset", preset["id"])
        wait_evaluated(page, before)
        response = evaluate(live_server, preset["expression"], preset["inputs"])
        expect(page.locator("#circuit .node")).to_have_count(len(response["nodes"]))
        # one wire per edge, plus the output wire
        expect(page.locator("#circuit path.wire[data-edge]")).to_have_count(
            len(response["edges"]) + 1
        )
        output = full_number(page, '.wire-label[data-edge="__output_wire"] .value')
        assert output == pytest.approx(preset["expected"]["output"], rel=1e-12, abs=1e-12)
        for name, value in preset["inputs"].items():
            field = page.locator("#inputs-body tr", has=page.get_by_text(name, exact=True)).locator(
                "input.input-number"
            )
            assert (
                json.loads(field.input_value()) == pytest.approx(value)
                if not isinstance(value, list)
                else (json.loads(field.input_value()) == value)
            )
        # a field the preset has no numbers for is null in the answer (or, before 0.2.0, absent)
        for name, grad in (preset["expected"].get("gradients") or {}).items():
            assert response["gradients"][name] == pytest.approx(grad, rel=1e-9, abs=1e-12)
        for name, shape in (preset["expected"].get("grad_shapes") or {}).items():
            # a tensor wire is labelled with its shape, 5×3, instead of a number
            source = next(
                n["id"] for n in response["nodes"] if n["kind"] == "input" and n["symbol"] == name
            )
            labels = page.locator(f'#circuit .wire-label[data-source="{source}"] .value')
            assert labels.first.evaluate("e => e.firstChild.textContent") == "[{}]".format(
                "×".join(map(str, shape))
            )
        screenshot(page, f"circuit-preset-{preset['id']}")


def test_max_route_backward_pass_step_by_step(
    page: Page, live_server: str, reference: Reference
) -> None:
    """2 * (x*y + max(z, w)): the input wires receive -8, 6, 2 and 0, in the server's order."""
    example = reference["max_route"]
    response = evaluate(live_server, example["expression"], example["inputs"])
    names = {n["id"]: n["symbol"] for n in response["nodes"] if n["kind"] == "input"}
    edge_of_input = {e["id"]: names[e["source"]] for e in response["edges"] if e["source"] in names}

    page.emulate_media(reduced_motion="reduce")
    open_view(page, example["expression"], example["inputs"], s=0)
    done, total = step_label(page)
    assert (done, total) == (0, 4 + len(response["backward"]))  # 4 gates forward, 4 backward
    assert visible_grads(page) == {}

    revealed: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for _ in range(total):
        page.keyboard.press("ArrowRight")
        grads = visible_grads(page)
        new = {edge: text for edge, text in grads.items() if edge not in seen}
        seen.update(grads)
        revealed += [
            (edge_of_input[edge], text) for edge, text in new.items() if edge in edge_of_input
        ]
        if ("x", "-8") in revealed and len(revealed) == 2 + revealed.index(("x", "-8")):
            caption = page.locator("#caption").inner_text()
            assert "multiply gate swaps" in caption
            assert "-4 · 2 = -8" in caption and "3 · 2 = 6" in caption
            screenshot(page, "circuit-max-route-multiply-step")
        if ("z", "2") in revealed and ("w", "0") in revealed and len(revealed) == 2:
            assert "max gate routes" in page.locator("#caption").inner_text()
    assert step_label(page) == (total, total)

    expected_order = [
        (names[i["node"]], str(int(example["grads"][names[i["node"]]])))
        for b in response["backward"]
        for i in b["inputs"]
        if i["node"] in names
    ]
    assert revealed == expected_order
    assert sorted(revealed) == sorted([("x", "-8"), ("y", "6"), ("z", "2"), ("w", "0")])


def test_sigmoid_neuron_shows_reference_gate_values(
    page: Page, live_server: str, reference: Reference
) -> None:
    example = reference["sigmoid_neuron"]
    open_view(page, example["expression"], example["inputs"])
    wires = page.eval_on_selector_all(
        "#circuit .wire-label",
        """els => els.map(g => ({
            value: g.querySelector('.value').firstChild.textContent,
            grad: g.querySelector('.grad').firstChild.textContent,
            fullValue: Number(g.querySelector('.value title').textContent.split(' ').pop()),
            fullGrad: Number(g.querySelector('.grad title').textContent.split(' ').pop()),
        }))""",
    )
    for gate in example["gates"]:
        matches = [
            w
            for w in wires
            if w["fullValue"] == pytest.approx(gate["value"], abs=1e-12)
            and w["fullGrad"] == pytest.approx(gate["grad"], abs=1e-12)
        ]
        assert matches, f"no wire shows {gate}"
        shown = f"{gate['value']:.4g}"
        assert any(w["value"] == shown for w in matches), (gate, matches)
    # rounded on the wire, full on hover: the output wire
    output = page.locator('.wire-label[data-edge="__output_wire"] .value')
    assert output.evaluate("e => e.firstChild.textContent") == "0.7311"
    assert full_number(page, '.wire-label[data-edge="__output_wire"] .value') == example["output"]
    screenshot(page, "circuit-sigmoid-neuron")


def test_parse_error_is_shown_at_its_position(page: Page) -> None:
    open_view(page, "x*y", {"x": 3, "y": -4})
    nodes_before = page.locator("#circuit .node").count()
    page.fill("#expression", "x*y + ")
    error = page.locator("#parse-error")
    expect(error).to_be_visible()
    expect(error.locator(".error-where")).to_have_text("Line 1, column 6:")
    expect(error.locator(".error-message")).to_contain_text("the expression ends early")
    assert error.locator(".error-line").text_content() == "x*y + "
    assert error.locator(".error-caret").text_content() == "     ^"
    expect(page.locator("#expression")).to_have_attribute("aria-invalid", "true")
    # the last good circuit stays, dimmed
    expect(page.locator("#circuit")).to_have_class("stale")
    assert page.locator("#circuit .node").count() == nodes_before
    screenshot(page, "circuit-parse-error")

    before = evaluations(page)
    page.fill("#expression", "x*y + 1")
    wait_evaluated(page, before)
    expect(error).to_be_hidden()
    expect(page.locator("#circuit")).not_to_have_class("stale")
    assert acknowledge_rejections(page) >= 1  # the bad expression's 422, and nothing else


def test_url_round_trip_restores_the_view(
    page: Page, browser, live_server: str, reference: Reference
) -> None:
    example = reference["add_mul"]
    open_view(page, example["expression"], example["inputs"])
    before = evaluations(page)
    page.fill("#inputs-body tr:nth-child(1) input.input-number", "1.5")
    wait_evaluated(page, before)
    page.select_option("#speed", "2")
    page.locator("#caption").click()  # focus leaves the speed menu, whose arrows are its own
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => !location.hash.includes('s=4')")
    view = {
        "expression": page.input_value("#expression"),
        "x": page.input_value("#inputs-body tr:nth-child(1) input.input-number"),
        "step": step_label(page),
        "caption": page.locator("#caption").inner_text(),
        "speed": page.input_value("#speed"),
        "output": page.locator('.wire-label[data-edge="__output_wire"] .value').text_content(),
    }
    assert view["x"] == "1.5" and view["step"] == (2, 4) and view["output"].startswith("-26")
    link = page.url

    context = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=live_server)
    other = context.new_page()
    try:
        other.goto(link)
        wait_evaluated(other)
        restored = {
            "expression": other.input_value("#expression"),
            "x": other.input_value("#inputs-body tr:nth-child(1) input.input-number"),
            "step": step_label(other),
            "caption": other.locator("#caption").inner_text(),
            "speed": other.input_value("#speed"),
            "output": other.locator('.wire-label[data-edge="__output_wire"] .value').text_content(),
        }
        assert restored == view
    finally:
        context.close()


def test_keyboard_controls(page: Page, reference: Reference) -> None:
    example = reference["add_mul"]
    page.emulate_media(reduced_motion="reduce")
    open_view(page, example["expression"], example["inputs"], sp=4)
    assert step_label(page) == (4, 4)
    page.locator("#caption").click()
    page.keyboard.press("ArrowLeft")
    assert step_label(page) == (3, 4)
    page.keyboard.press("ArrowLeft")
    assert step_label(page) == (2, 4)
    expect(page.locator("#steps-body tr.current")).to_have_count(0)
    page.keyboard.press("ArrowRight")
    assert step_label(page) == (3, 4)
    expect(page.locator("#steps-body tr.current")).to_have_count(2)  # the x gate's two inputs
    # space plays to the end (reduced motion: it jumps from step to step)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert step_label(page) == (1, 4)
    page.keyboard.press(" ")
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(
        "() => document.getElementById('step-label').textContent === 'step 4 / 4'"
    )
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "false")
    # space at the end restarts, and space again pauses
    page.keyboard.press(" ")
    page.keyboard.press(" ")
    done, _ = step_label(page)
    assert done < 4
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "false")
    # keys typed into the editor stay in the editor
    page.locator("#expression").focus()
    page.keyboard.press("ArrowLeft")
    assert step_label(page) == (done, 4)
