"""The page's one reader of answers (static/js/circuit/model.js): compact decodes to the verbose
answer in Chromium, and the page asks for compact and draws values, gradients and captions from it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_circuit_page import open_view, presets, wait_evaluated
from tests.test_compact_format import CASES

pytestmark = pytest.mark.browser

NEURON = "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))"
NEURON_INPUTS = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}


def answer(base_url: str, expression: str, inputs: dict[str, Any], fmt: str, **extra: Any) -> Any:
    response = httpx.post(
        f"{base_url}/api/v1/circuits/evaluate",
        json={"expression": expression, "inputs": inputs, "format": fmt, **extra},
    )
    response.raise_for_status()
    return response.json()


def test_the_js_reader_turns_compact_into_the_verbose_answer(page: Page, live_server: str) -> None:
    page.goto("/")
    wait_evaluated(page)
    # every preset, random scalar programs with ties and zeros, tensors, non-finite numbers, stages
    cases = [(p["expression"], p["inputs"]) for p in presets(live_server)] + CASES[-25:]
    for expression, inputs in cases:
        compact = answer(live_server, expression, inputs, "compact")
        verbose = answer(live_server, expression, inputs, "verbose")
        decoded = page.evaluate(
            """async ([c, expression]) => {
            const m = await import("/static/js/circuit/model.js");
            const circuit = m.readAnswer(c, expression);
            const first = circuit.nodes[0];
            // one shared index: the same object every module gets
            if (m.nodeById(circuit, first.id) !== first || m.indexOf(circuit) !== m.indexOf(circuit)) {
              throw new Error("index");
            }
            return JSON.stringify(circuit);
        }""",
            [compact, expression],
        )
        assert json.loads(decoded) == verbose, expression
    # an answer without the echo (echo_expression false, as the page asks) reads the same with
    # the request's expression, and without it is a clear error, not a guess
    bare = answer(live_server, NEURON, NEURON_INPUTS, "compact", echo_expression=False)
    assert "expression" not in bare
    read = page.evaluate(
        """async ([c, expression]) => {
        const m = await import("/static/js/circuit/model.js");
        let refused = "read";
        try { m.readAnswer(c); } catch (err) { refused = err.message; }
        return [JSON.stringify(m.readAnswer(c, expression)), refused];
    }""",
        [bare, NEURON],
    )
    assert json.loads(read[0]) == answer(live_server, NEURON, NEURON_INPUTS, "verbose")
    assert read[1] == (
        "readAnswer needs the request's expression to read a compact answer sent without it"
    )


def test_the_page_asks_for_compact_and_draws_from_it(page: Page, live_server: str) -> None:
    verbose = answer(live_server, NEURON, NEURON_INPUTS, "verbose")
    forward = sum(1 for n in verbose["nodes"] if n["kind"] == "gate")
    with page.expect_response("**/api/v1/circuits/evaluate") as caught:
        open_view(page, NEURON, NEURON_INPUTS, s=forward + 1)  # the first backward step
    response = caught.value
    sent = json.loads(response.request.post_data or "{}")
    assert sent["format"] == "compact" and sent["echo_expression"] is False
    assert response.json()["format"] == "compact" and "expression" not in response.json()

    # the output wire's full value and gradient, from the compact columns: σ(1) = 0.7311
    value = page.locator('.wire-label[data-edge="__output_wire"] .value title').text_content()
    assert value == f"value {verbose['output']['value']!r}"
    assert verbose["output"]["value"] == pytest.approx(0.7310585786300049)

    # every node's hover text carries its value, and its gradient once the backward pass has
    # brought it (cs231n: dw0 = -0.2, dx0 = 0.39): not yet at the first backward step
    def titles() -> list[str]:
        return list(
            page.eval_on_selector_all(
                "#circuit .node", "els => els.map(e => e.getAttribute('aria-label'))"
            )
        )

    assert len(titles()) == len(verbose["nodes"])
    grads = {n["symbol"]: n["grad"] for n in verbose["nodes"] if n["kind"] == "input"}
    assert grads["w0"] == pytest.approx(-0.19661193324148185)
    assert grads["x0"] == pytest.approx(0.3932238664829637)
    assert "w0: value 2" in titles()
    page.goto(page.url.replace(f"s={forward + 1}", f"s={2 * forward}"))  # the end
    page.wait_for_function(
        "t => document.getElementById('step-label').textContent === t",
        arg=f"step {2 * forward} / {2 * forward}",
    )
    assert f"w0: value 2, gradient {grads['w0']!r}" in titles()
    # the tooltip: a <title> made when the pointer first comes over the node, with the same words
    assert page.locator("#circuit .node > title").count() < len(verbose["nodes"])
    w0 = page.locator('#circuit .node[aria-label^="w0:"]')
    w0.hover()
    expect(w0.locator(":scope > title")).to_have_text(f"w0: value 2, gradient {grads['w0']!r}")
    page.goto(page.url.replace(f"s={2 * forward}", f"s={forward + 1}"))  # back to the step
    page.wait_for_function(
        "t => document.getElementById('step-label').textContent === t",
        arg=f"step {forward + 1} / {2 * forward}",
    )
    expect(w0.locator(":scope > title")).to_have_text("w0: value 2")  # it follows the step
    # the caption is the template filled from slots: the same words as the verbose rule
    lines = page.locator("#caption-lines li").all_inner_texts()
    assert lines[0] == verbose["backward"][0]["rule"]
    assert lines[0].startswith("divide gate")
