"""The page's one reader of answers (static/js/circuit/model.js): compact decodes to the verbose
answer in Chromium, and the page asks for compact and draws values, gradients and captions from it."""

from __future__ import annotations

import itertools
import json
import math
import random
import struct
import sys
from fractions import Fraction
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.engine.numbers import fmt
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
    for (expression, inputs), version in itertools.product(cases, (1, 2)):
        compact = answer(live_server, expression, inputs, "compact", compact_version=version)
        assert compact["version"] == version
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
        assert json.loads(decoded) == verbose, (expression, version)
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
    assert sent["compact_version"] == 2
    assert response.json()["format"] == "compact" and "expression" not in response.json()
    assert response.json()["version"] == 2

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


def _caption_number_cases() -> list[float]:
    """Floats where a JavaScript %.4g could part from Python's: exact ties (which Python rounds
    to even and toExponential up), the edges of plain notation, subnormals, the extremes, and
    random bit patterns across the whole exponent range."""
    rng = random.Random(20261130)
    cases = [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, -5e-324, 2.2250738585072014e-308]
    cases += [sys.float_info.max, -sys.float_info.max, 1e-4, 9.9995e-5, 9999.5, 9998.5, 9999.4]
    cases += [math.nextafter(1e-4, 0), math.nextafter(9999.5, 0), math.nextafter(9999.5, 1e9)]
    # exact ties d.ddd5 · 10^k that a float holds: every 5-digit mantissa ending in 5 whose
    # value is a dyadic rational (k ≥ 0 always; k < 0 when 5^-k divides it)
    for k in range(-8, 12):
        for mantissa in range(10005, 100000, 10):
            tie = Fraction(mantissa) * Fraction(10) ** (k - 4)
            if float(tie) == tie:
                cases += [float(tie), -float(tie)]
                cases += [math.nextafter(float(tie), 0), math.nextafter(float(tie), math.inf)]
    for _ in range(20_000):
        x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if math.isfinite(x):
            cases.append(x)
    for _ in range(20_000):
        cases.append(rng.choice([-1, 1]) * 10 ** rng.uniform(-7, 7))
    return cases


def test_caption_numbers_are_written_as_the_server_writes_them(
    page: Page, live_server: str
) -> None:
    # The compact answer's captions name their numbers and the page writes them: any digit of
    # difference from the server's fmt would be a caption that says another number.
    page.goto("/")
    cases = _caption_number_cases()
    ties = [x for x in cases if x and math.isfinite(x) and f"{abs(x):.15g}".rstrip("0")[-1] == "5"]
    assert len(cases) > 45_000 and len(ties) > 1_000
    bits = [list(struct.unpack("<II", struct.pack("<d", x))) for x in cases]
    written = page.evaluate(
        """async (bits) => {
        const { captionNumber } = await import("/static/js/circuit/format.js");
        const view = new DataView(new ArrayBuffer(8));
        return bits.map(([low, high]) => {
          view.setUint32(0, low, true);
          view.setUint32(4, high, true);
          return captionNumber(view.getFloat64(0, true));
        });
    }""",
        bits,
    )
    wrong = [(x, js, fmt(x)) for x, js in zip(cases, written, strict=True) if js != fmt(x)]
    assert wrong == [], wrong[:10]
    # by hand: exact ties go to the even digit (toExponential alone says 1.063, 1.235e4, -1.063)
    assert [fmt(x) for x in (1.0625, 12345.0, -1.0625, 1.1875, 2.5e-5)] == [
        "1.062",
        "1.234e4",
        "-1.062",
        "1.188",
        "2.5e-5",
    ]
